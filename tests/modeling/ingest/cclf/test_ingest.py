"""The CCLF ingest end to end, through the command line."""

from __future__ import annotations


def test_cli_ingest_cclf_prints_the_reconciliation(two_deliveries, tmp_path):
    from typer.testing import CliRunner

    from app.cli import app

    result = CliRunner().invoke(
        app, ["ingest", "cclf", str(two_deliveries), "--out", str(tmp_path / "ds")]
    )
    assert result.exit_code == 0, result.output
    assert (
        "CCLF reconciliation" in result.output
        and "superseded" in result.output
        and "MISMATCH" not in result.output
    )
    missing = CliRunner().invoke(
        app, ["ingest", "cclf", str(tmp_path / "nowhere"), "--out", str(tmp_path / "ds2")]
    )
    assert missing.exit_code == 2 and "does not exist" in missing.output
