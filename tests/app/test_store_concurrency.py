"""The app keeps working while a command uses the workspace store (issue 15, Deliver 3; hostile
probe 2026-12-01, finding 14): a process saving scenarios back to back, as a scripted `vbc`
run would, while the Contracts page (which reads the store for saved scenarios and care plans)
renders, and while the Contracts page saves a scenario of its own."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from modeling.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]
WRITER = """
import os, sys
from modeling.workspace import Workspace
store = Workspace.at(sys.argv[1]).store()
print("writing", flush=True)
i = 0
while not os.path.exists(sys.argv[2]):
    store.save_scenario(f"loop-{i}", "contracts", {"i": i})  # saved comparisons the page lists
    i += 1
print(i, flush=True)
"""


@pytest.fixture
def app_workspace(tmp_path, monkeypatch, small_dataset):
    shutil.copytree(small_dataset.path, tmp_path / "ws" / "datasets" / "default")
    monkeypatch.setenv("VBC_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.delenv("VBC_SETTINGS", raising=False)
    monkeypatch.chdir(ROOT)
    return tmp_path / "ws"


def test_the_contracts_page_works_while_another_process_keeps_writing(app_workspace, tmp_path):
    stop = tmp_path / "stop"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(app_workspace), str(stop)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "writing"
        at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=180).run()
        at.switch_page("app/pages/contract_scenarios.py").run()
        assert not at.exception, at.exception
        assert at.title[0].value == "Contracts"
        store_errors = [e.value for e in at.error if "store" in e.value or "busy" in e.value]
        assert store_errors == []  # (a small panel's contract messages are not the store's)
        assert at.selectbox(key="c_open_choice").options  # the saved scenarios were read
        during = len(Workspace.at(app_workspace).store(read_only=True).list_scenarios("contracts"))
    finally:
        stop.touch()
        out, _ = writer.communicate(timeout=120)
    assert writer.returncode == 0
    written = int(out.split()[-1])
    assert 0 < during <= written  # the writer was writing while the page read
    store = Workspace.at(app_workspace).store(read_only=True)
    assert len(store.list_scenarios("contracts")) == written  # and lost nothing
