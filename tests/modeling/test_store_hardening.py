"""The workspace store under concurrency and damage (hostile probe 2026-12-01, findings 14, 15, 33)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from modeling.errors import StoreBusyError, StoreError
from modeling.store import WorkspaceStore

ROOT = Path(__file__).resolve().parents[2]
SAVER = """
import sys
from modeling.store import WorkspaceStore
for i in range(int(sys.argv[2])):
    with WorkspaceStore.open(sys.argv[1]) as s:
        s.save_scenario(f"{sys.argv[3]}-{i}", "test", {"i": i})
"""


def test_f14_saves_from_two_processes_all_land(tmp_path):
    path = tmp_path / "workspace.duckdb"
    WorkspaceStore.open(path).close()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen([sys.executable, "-c", SAVER, str(path), "15", tag], env=env)
        for tag in ("a", "b")
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    with WorkspaceStore.open(path, read_only=True) as s:
        assert len(s.list_scenarios("test")) == 30


def test_f14_concurrent_registrations_get_distinct_versions(tmp_path):
    path = tmp_path / "fresh.duckdb"  # a fresh store: the first opens race to create the tables
    versions: list[int] = []
    errors: list[BaseException] = []

    def register() -> None:
        try:
            with WorkspaceStore.open(path) as s:
                versions.append(s.register_model("risk", {"k": 1}).version)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=register) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(versions) == list(range(1, 9))


HOLDER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("held", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def _hold(path: Path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), str(seconds)], stdout=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"held"
    return proc


def test_f14_a_store_held_by_another_process_is_waited_for_then_busy(tmp_path):
    path = tmp_path / "workspace.duckdb"
    WorkspaceStore.open(path).close()
    holder = _hold(path, 1.5)
    with WorkspaceStore.open(path, timeout=20) as s:  # waits for the hold to end
        s.save_scenario("after", "test", {})
    holder.wait()
    holder = _hold(path, 30)
    try:
        with pytest.raises(StoreBusyError, match="busy"):
            WorkspaceStore.open(path, timeout=0.5)
    finally:
        holder.kill()
        holder.wait()


def test_f15_a_truncated_store_is_a_clear_error(tmp_path):
    path = tmp_path / "workspace.duckdb"
    with WorkspaceStore.open(path) as s:
        for i in range(200):
            s.save_scenario(f"s{i}", "test", {"blob": "x" * 2000})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(StoreError, match="damaged"), WorkspaceStore.open(path) as s:
        s.list_scenarios()


@pytest.mark.parametrize("kind", ["random", "empty_dir", "text", "sqlite"])
def test_f33_a_corrupt_store_says_so_not_another_process(tmp_path, kind):
    path = tmp_path / "workspace.duckdb"
    if kind == "random":
        path.write_bytes(os.urandom(50_000))
    elif kind == "empty_dir":
        path.mkdir()
    elif kind == "text":
        path.write_text("hello\n" * 1000)
    else:
        sqlite3.connect(path).execute("create table t (x)").connection.commit()
    with pytest.raises(StoreError) as err:
        WorkspaceStore.open(path, timeout=0.2).list_scenarios()
    message = str(err.value)
    assert "another process" not in message and "duckdb.org" not in message
    assert "damaged" in message or "folder" in message


def test_f33_a_read_only_workspace_still_serves_reads(tmp_path):
    path = tmp_path / "workspace.duckdb"
    with WorkspaceStore.open(path) as s:
        s.save_scenario("kept", "test", {})
    path.chmod(0o444)
    try:
        with WorkspaceStore.open(path, read_only=True) as s:
            assert [x.name for x in s.list_scenarios()] == ["kept"]
    finally:
        path.chmod(0o644)


def test_f14_read_only_and_read_write_opens_in_one_process_coexist(tmp_path):
    path = tmp_path / "workspace.duckdb"
    WorkspaceStore.open(path).close()
    reader = WorkspaceStore.open(path, read_only=True)
    done: list[str] = []

    def write() -> None:
        with WorkspaceStore.open(path, timeout=10) as s:  # waits for the reader to close
            done.append(s.save_scenario("w", "test", {}).name)

    t = threading.Thread(target=write)
    t.start()
    reader.list_scenarios()
    reader.close()
    t.join()
    assert done == ["w"]
    with WorkspaceStore.open(path) as rw, WorkspaceStore.open(path, read_only=True) as ro:
        assert [s.name for s in ro.list_scenarios()] == ["w"]  # shares the writer's instance
        assert rw.list_scenarios()
