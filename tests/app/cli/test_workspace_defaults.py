"""Every command works with no dataset argument once the workspace has its default dataset, and
writes its default outputs into the workspace, never into the current directory."""

from __future__ import annotations

import shutil

import pytest
from typer.testing import CliRunner

from app.cli import app
from modeling.workspace import Workspace

runner = CliRunner()


@pytest.fixture
def launched(tmp_path, monkeypatch, three_year_dataset):
    """A workspace as the app leaves it after its first launch, and an empty current directory."""
    ws = Workspace(tmp_path / "ws")
    shutil.copytree(three_year_dataset.path, ws.dataset_path("default"))
    monkeypatch.setenv("VBC_WORKSPACE", str(ws.path))
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return ws, cwd


def _ok(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.output


def test_commands_use_the_active_dataset_and_write_into_the_workspace(launched):
    ws, cwd = launched
    assert "2025" in _ok(["summary"])
    assert "rows reconcile" in _ok(["validate"])
    _ok(["hcc", "--payment-year", "2025"])
    _ok(["gaps", "--payment-year", "2025"])
    _ok(["settle", "--contract", "commercial-corridors-2026"])
    _ok(["simulate", "--contract", "commercial-corridors-2026", "--draws", "200"])
    _ok(["train"])
    _ok(["score"])
    written = sorted(p.name for p in (ws.outputs_dir / "default").iterdir())
    assert written == [
        "hcc_scores_2025.parquet",
        "hcc_scores_2025_hcc_detail.parquet",
        "recapture_gaps_2025.csv",
        "recapture_gaps_2025_by_person.csv",
        "recapture_gaps_2025_by_provider.csv",
        "risk_model_report.csv",
        "risk_model_report.md",
        "risk_scores.parquet",
    ]
    assert list(cwd.iterdir()) == []
    # every file a command exported is in the workspace's audit log: who, which file, how many
    with ws.store(read_only=True) as store:
        exports = [e for e in store.audit_log(limit=100) if e.action == "export"]
    assert {e.detail["file"].rsplit("/", 1)[-1] for e in exports} == set(written)
    assert all(e.actor.startswith("cli:") and e.detail["via"] == "cli" for e in exports)
    by_file = {e.detail["file"].rsplit("/", 1)[-1]: e.detail for e in exports}
    scored = by_file["risk_scores.parquet"]
    assert scored["person_level"] and 0 < scored["people"] <= scored["rows"]
    assert by_file["risk_model_report.csv"]["people"] is None


def test_the_dataset_chosen_in_the_app_is_the_one_commands_use(launched, small_dataset):
    ws, _ = launched
    shutil.copytree(small_dataset.path, ws.dataset_path("small"))
    ws.set_active("small")
    assert ws.active_dataset_name() == "small"
    assert "2025" not in _ok(["summary"])  # the small panel covers 2023-2024
    assert "2025" in _ok(["summary", "default"])  # a workspace dataset by name


def test_an_explicit_workspace_and_a_missing_one(tmp_path):
    empty = tmp_path / "nothing-here"
    result = runner.invoke(app, ["summary", "--workspace", str(empty)])
    assert result.exit_code == 2
    assert "has no dataset yet" in result.output
    assert not empty.exists()  # a read-only command creates nothing
