from __future__ import annotations

import polars as pl
from typer.testing import CliRunner

from app.cli import app

runner = CliRunner()
ISSUE_COLUMNS = [
    "episode_id",
    "person_id",
    "model",
    "episode_category",
    "anchor_type",
    "anchor_code",
    "facility_npi",
    "anchor_start",
    "anchor_end",
    "window_end",
    "status",
    "reason",
    "total_spending",
]


def test_bundles_episodes_writes_one_row_per_trigger(small_dataset, tmp_path):
    out = tmp_path / "team.csv"
    result = runner.invoke(
        app, ["bundles", "episodes", str(small_dataset.path), "--model", "team", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "every trigger accounted for" in result.output
    frame = pl.read_csv(out)
    assert frame.columns[: len(ISSUE_COLUMNS)] == ISSUE_COLUMNS
    assert "spend_snf" in frame.columns and frame.height > 0


def test_bundles_reconcile_prints_the_waterfall_tracks_and_distribution(small_dataset, tmp_path):
    out = tmp_path / "recon.csv"
    result = runner.invoke(
        app,
        [
            "bundles",
            "reconcile",
            str(small_dataset.path),
            "--model",
            "team",
            "--rules-year",
            "2027",
            "--track",
            "2",
            "--draws",
            "500",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    for text in ("reconciliation amount", "Tracks side by side", "chance of a repayment"):
        assert text in result.output
    assert pl.read_csv(out)["step"].to_list()[0] == "episodes"


def test_bundles_errors_are_messages(small_dataset, tmp_path):
    bad = runner.invoke(app, ["bundles", "episodes", str(small_dataset.path), "--model", "cjr"])
    assert bad.exit_code == 2 and "Unknown bundle model" in bad.output
    prices = tmp_path / "p.csv"
    prices.write_text("drg,price\n470,1\n")
    bad = runner.invoke(
        app,
        ["bundles", "reconcile", str(small_dataset.path), "--target-prices", str(prices)],
    )
    assert bad.exit_code == 2 and "priced_as" in bad.output
    bad = runner.invoke(
        app, ["bundles", "reconcile", str(small_dataset.path), "--track", "2", "--draws", "0"]
    )
    assert bad.exit_code == 2 and "no track '2'" in bad.output
