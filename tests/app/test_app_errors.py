"""App visitors see messages, not tracebacks (hostile probe 2026-12-01, findings 2's error
details, 12, 14)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def app_workspace(tmp_path, monkeypatch, small_dataset):
    shutil.copytree(small_dataset.path, tmp_path / "ws" / "datasets" / "default")
    monkeypatch.setenv("VBC_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.chdir(ROOT)
    return tmp_path / "ws"


def test_f02_error_details_are_hidden_from_visitors():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"


def test_f14_a_held_store_is_a_message_on_the_contracts_page(app_workspace, monkeypatch):
    import modeling.store

    monkeypatch.setattr(modeling.store, "OPEN_TIMEOUT", 0.5)
    store = app_workspace / "workspace.duckdb"
    modeling.store.WorkspaceStore.open(store).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb,sys,time; c=duckdb.connect(sys.argv[1]); print('held', flush=True); time.sleep(60)",
            str(store),
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"held"
        at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120).run()
        at.switch_page("app/pages/contract_scenarios.py").run()
        assert not at.exception and at.title[0].value == "Contracts"
        assert any("is busy" in e.value for e in at.error), [at.title, at.error, at.exception]
    finally:
        holder.kill()
        holder.wait()


def test_f12_a_half_written_dataset_is_a_message_on_every_page(app_workspace):
    half = app_workspace / "datasets" / "halfwritten"
    shutil.copytree(app_workspace / "datasets" / "default", half)
    (half / "manifest.json").write_text("")
    (app_workspace / "active_dataset").write_text("halfwritten\n")
    for page in ("overview.py", "data.py", "contract_scenarios.py"):
        at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120).run()
        at.switch_page(f"app/pages/{page}").run()
        assert not at.exception, page
        assert any("empty or damaged" in e.value for e in at.error), page
