from __future__ import annotations

from typer.testing import CliRunner

from modeling.cli import app

runner = CliRunner()


def test_synth_then_summary_and_validate(tmp_path):
    out = tmp_path / "d"
    result = runner.invoke(app, ["synth", "--out", str(out), "--members", "300", "--years", "2", "--seed", "3", "--no-report"])
    assert result.exit_code == 0, result.output
    assert "medical_claim" in result.output
    result = runner.invoke(app, ["summary", str(out)])
    assert result.exit_code == 0, result.output
    assert "2024" in result.output
    result = runner.invoke(app, ["validate", str(out)])
    assert result.exit_code == 0 and "rows reconcile" in result.output


def test_errors_are_messages_not_tracebacks(tmp_path):
    result = runner.invoke(app, ["summary", str(tmp_path / "nothing")])
    assert result.exit_code == 2
    assert "is not a dataset" in result.output
    src = tmp_path / "src"
    src.mkdir()
    (src / "eligibility.csv").write_text("person_id\nP1\n")
    (src / "medical_claim.csv").write_text("claim_id\nC1\n")
    result = runner.invoke(app, ["ingest", "canonical", str(src), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "missing required column" in result.output


def test_hcc_command_writes_scores_and_detail(small_dataset, tmp_path):
    out = tmp_path / "scores.csv"
    result = runner.invoke(app, ["hcc", str(small_dataset.path), "--payment-year", "2024", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.exists() and (tmp_path / "scores_hcc_detail.csv").exists()
    assert "mean payment score" in result.output
