from __future__ import annotations

import polars as pl
from typer.testing import CliRunner

from app.cli import app
from modeling.marts.quality import MEASURE_IDS

runner = CliRunner()


def test_quality_prints_every_measure_with_its_benchmark(small_dataset, tmp_path):
    out = tmp_path / "q.csv"
    result = runner.invoke(
        app,
        ["quality", str(small_dataset.path), "--year", "2024", "--out", str(out)],
        env={"COLUMNS": "160"},
    )
    assert result.exit_code == 0, result.output
    written = pl.read_csv(out)
    assert written["measure_id"].to_list() == list(MEASURE_IDS)
    for col in (
        "measure_id",
        "measure",
        "year",
        "provider_npi",
        "numerator",
        "denominator",
        "rate",
        "expected",
        "observed_to_expected",
        "ci_low",
        "ci_high",
        "benchmark_percentile",
    ):
        assert col in written.columns
    text = " ".join(written["benchmark"].drop_nulls().to_list())
    assert "Stars 2026" in text and "MIPS 2024" in text and "AHRQ ref." in text
    assert "c-statistic" in result.output
    for m in ("pqi_90", "readmission_30d", "pdc_statins"):
        assert m in result.output
    small = written.filter(pl.col("suppressed"))
    assert small["numerator"].null_count() == small.height  # cells of 1-10 blanked


def test_quality_by_provider_and_gaps_worklist(small_dataset, tmp_path):
    out = tmp_path / "p.parquet"
    result = runner.invoke(
        app,
        [
            "quality",
            str(small_dataset.path),
            "--year",
            "2024",
            "--by",
            "provider",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert pl.read_parquet(out)["provider_npi"].n_unique() > 10
    gaps = tmp_path / "g.csv"
    result = runner.invoke(
        app,
        [
            "gaps-in-care",
            str(small_dataset.path),
            "--measure",
            "pdc_statins",
            "--year",
            "2024",
            "--out",
            str(gaps),
        ],
    )
    assert result.exit_code == 0, result.output
    g = pl.read_csv(gaps)
    assert {"person_id", "provider_npi", "risk_tier", "measure"} <= set(g.columns)
    assert g.height > 0


def test_quality_errors_are_messages(small_dataset, tmp_path):
    result = runner.invoke(app, ["gaps-in-care", str(small_dataset.path), "--measure", "pqi_90"])
    assert result.exit_code == 2 and "not a process measure" in result.output
    result = runner.invoke(app, ["quality", str(tmp_path / "none")])
    assert result.exit_code == 2
