"""The first launch: one progress display with an honest estimate, and a workspace where every
page has something to show (panel, core, registered risk model)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app.state import FIRST_LAUNCH_MARKER, LAUNCH_STEPS, LaunchClock
from modeling.synth import SynthSpec
from modeling.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]


def test_launch_clock_reports_the_share_done_and_rescales_the_estimate():
    now = [0.0]
    seen = []
    clock = LaunchClock(10_000, lambda f, t: seen.append((f, t)), clock=lambda: now[0])
    expected = {s.key: s.seconds_per_10k for s in LAUNCH_STEPS}  # 10,000 members: as measured
    assert clock.total == pytest.approx(sum(expected.values()))
    clock.step("panel", 0.0)
    assert seen[-1][0] == 0.0 and f"Step 1 of {len(LAUNCH_STEPS)}" in seen[-1][1]
    assert clock.estimate_left() == pytest.approx(clock.total)  # nothing observed yet
    # the panel step done in twice its measured time: the rest is expected to go twice as slow
    now[0] = 2 * expected["panel"]
    clock.step("core", 0.0)
    assert seen[-1][0] == pytest.approx(expected["panel"] / clock.total)
    assert clock.estimate_left() == pytest.approx(2 * (clock.total - expected["panel"]))
    assert f"Step 2 of {len(LAUNCH_STEPS)}" in seen[-1][1] and "left" in seen[-1][1]
    clock.step("models", 0.5, "fitting cost")
    done = expected["panel"] + expected["core"] + expected["models"] / 2
    assert seen[-1][0] == pytest.approx(done / clock.total)
    assert "fitting cost" in seen[-1][1]
    clock.step("contracts", 1.0)
    assert seen[-1][0] == pytest.approx(1.0)


def test_first_launch_trains_and_registers_the_risk_models(tmp_path, monkeypatch):
    import app.state

    monkeypatch.setattr(app.state, "DEFAULT_PANEL", SynthSpec(1_200, 2023, 3, 4))
    monkeypatch.setenv("VBC_WORKSPACE", str(tmp_path / "fresh"))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "app" / "pages" / "risk_models.py"), default_timeout=300)
    at.run()
    assert not at.exception, at.exception
    ws = Workspace(tmp_path / "fresh")
    assert ws.dataset_names() == ["default"]
    assert not (ws.path / FIRST_LAUNCH_MARKER).exists()
    with ws.store() as store:
        assert [m.version for m in store.list_models()] == [1]
    # the Finance page's first view is kept for later launches, as are the Quality page's
    stored = {f.name.split("-")[0] for f in (ws.path / "results").iterdir()}
    assert any(n.startswith("finance_") for n in stored), stored
    assert any(n.startswith("quality_rows_") for n in stored), stored
    # the page shows the scored panel at once, not an invitation to train
    assert not at.info
    assert any("scored for" in m.value for m in at.markdown)


def test_an_interrupted_first_launch_resumes(tmp_path, monkeypatch, small_dataset):
    import shutil

    import app.state

    monkeypatch.setattr(app.state, "DEFAULT_PANEL", SynthSpec(300, 2023, 2, 1))
    ws = Workspace(tmp_path / "ws")
    shutil.copytree(small_dataset.path, ws.datasets_dir / "default")
    (ws.path / FIRST_LAUNCH_MARKER).write_text("started\n")  # the panel was made, then it stopped
    monkeypatch.setenv("VBC_WORKSPACE", str(ws.path))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "app" / "pages" / "overview.py"), default_timeout=300)
    at.run()
    assert not at.exception, at.exception
    assert not (ws.path / FIRST_LAUNCH_MARKER).exists()
    assert at.metric[0].label == "Members"
