from __future__ import annotations

from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from app.cli import app

runner = CliRunner()


def test_synth_then_summary_and_validate(tmp_path):
    out = tmp_path / "d"
    result = runner.invoke(
        app,
        [
            "synth",
            "--out",
            str(out),
            "--members",
            "300",
            "--years",
            "2",
            "--seed",
            "3",
            "--no-report",
        ],
    )
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
    result = runner.invoke(
        app, ["hcc", str(small_dataset.path), "--payment-year", "2024", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert out.exists() and (tmp_path / "scores_hcc_detail.csv").exists()
    assert "mean payment score" in result.output


def test_contracts_list_and_settle(small_dataset, tmp_path):
    listed = runner.invoke(app, ["contracts", "list"])
    assert listed.exit_code == 0, listed.output
    assert "mssp-basic-a-2026" in listed.output and "commercial-corridors-2026" in listed.output
    assumptions = tmp_path / "assumptions.toml"
    assumptions.write_text(
        'attribution_scale = 4\nquality_score = 0.9\n[initiatives]\n"acute inpatient" = -0.05\n'
    )
    out = tmp_path / "settlement.csv"
    corridors = tmp_path / "corridors.toml"
    corridors.write_text(
        (
            Path(__file__).resolve().parents[3]
            / "contracts/data/presets/commercial-corridors-2026.toml"
        )
        .read_text()
        .replace("2026", "2025")
    )
    contracts = [c for level in "abcde" for c in ("--contract", f"mssp-basic-{level}-2025")] + [
        "--contract",
        "mssp-enhanced-2025",
        "--contract",
        str(corridors),
    ]
    result = runner.invoke(
        app,
        [
            "settle",
            "--dataset",
            str(small_dataset.path),
            *contracts,
            "--assumptions",
            str(assumptions),
            "--out",
            str(out),
        ],
        terminal_width=200,
    )
    assert result.exit_code == 0, result.output
    for level in "ABCDE":
        assert f"MSSP BASIC {level} (2025)" in result.output
    assert (
        "MSSP ENHANCED (2025)" in result.output
        and "Commercial two-sided corridors" in result.output
        and "Side by side" in result.output
    )
    lines = pl.read_csv(out)
    assert lines.filter(pl.col("key") == "settlement").height == 7
    bad = runner.invoke(
        app, ["settle", "--dataset", str(small_dataset.path), "--contract", "mssp-basic-a-2025"]
    )
    assert bad.exit_code == 2 and "below the 5,000" in bad.output


def test_simulate_prints_the_distribution_and_writes_the_scenario(small_dataset, tmp_path):
    import json

    spec = tmp_path / "linear.toml"
    spec.write_text(
        'family = "risk_corridors"\nname = "Linear"\nperformance_year = 2025\ncorridors = [{ from = 0.0, provider_share = 0.5 }]\n'
    )
    out = tmp_path / "scenario.json"
    result = runner.invoke(
        app,
        [
            "simulate",
            "--dataset",
            str(small_dataset.path),
            "--contract",
            str(spec),
            "--draws",
            "2000",
            "--seed",
            "3",
            "--out",
            str(out),
        ],
        terminal_width=200,
    )
    assert result.exit_code == 0, result.output
    assert (
        "Expected settlement" in result.output
        and "Chance of owing losses" in result.output
        and "What moves it" in result.output
    )
    saved = json.loads(out.read_text())
    assert saved["seed"] == 3 and saved["draws"] == 2000 and saved["contract"]["name"] == "Linear"
    assert "Expected settlement" in out.with_suffix(".md").read_text()
    again = runner.invoke(
        app,
        [
            "simulate",
            "--dataset",
            str(small_dataset.path),
            "--contract",
            str(spec),
            "--draws",
            "2000",
            "--seed",
            "3",
            "--out",
            str(tmp_path / "b.json"),
        ],
    )
    assert (
        again.exit_code == 0
        and json.loads((tmp_path / "b.json").read_text())["summary"] == saved["summary"]
    )  # same seed, same numbers


def test_simulate_gives_the_same_bytes_in_separate_processes(small_dataset, tmp_path):
    """Money is summed as integer cents, so parallel aggregation order cannot change a digit."""
    import subprocess
    import sys

    spec = tmp_path / "linear.toml"
    spec.write_text(
        'family = "risk_corridors"\nname = "Linear"\nperformance_year = 2025\ncorridors = [{ from = 0.0, provider_share = 0.5 }]\n'
    )
    outputs = []
    for run in (1, 2):
        out = tmp_path / f"run{run}.json"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "app.cli",
                "simulate",
                "--dataset",
                str(small_dataset.path),
                "--contract",
                str(spec),
                "--draws",
                "1000",
                "--seed",
                "5",
                "--out",
                str(out),
            ],
            check=True,
            capture_output=True,
        )
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]


def test_simulate_compares_risk_levels_under_a_cvar_limit(small_dataset, tmp_path):
    specs = []
    for name, share in (("Half", 0.5), ("Quarter", 0.25)):
        path = tmp_path / f"{name}.toml"
        path.write_text(
            f'family = "risk_corridors"\nname = "{name}"\nperformance_year = 2025\ncorridors = [{{ from = 0.0, provider_share = {share} }}]\n'
        )
        specs += ["--contract", str(path)]
    result = runner.invoke(
        app,
        [
            "simulate",
            "--dataset",
            str(small_dataset.path),
            *specs,
            "--draws",
            "1000",
            "--cvar-limit",
            "1",
        ],
        terminal_width=200,
    )
    assert result.exit_code == 0, result.output
    assert (
        "Efficient frontier" in result.output
        and "best single option within the limit" in result.output
    )


def test_reproduce_prints_the_share_by_year_and_track(tmp_path):
    from importlib.resources import files

    puf = files("contracts").joinpath("data", "puf")
    out = tmp_path / "r.csv"
    result = runner.invoke(
        app, ["reproduce", "mssp", str(puf / "mssp_aco_puf_2014_2021.csv"), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "2019" in result.output and "track_1_plus" in result.output and "99.94%" in result.output
    assert "not published" in result.output  # the exception and its reason
    import polars as pl

    rows = pl.read_csv(out)
    assert rows.columns[:8] == [
        "performance_year",
        "aco_id",
        "aco_name",
        "published_amount",
        "computed_amount",
        "difference",
        "reproduced",
        "note",
    ]
    assert rows.height == 1775
    reach = runner.invoke(
        app, ["reproduce", "reach", str(puf / "reach_financial_puf_2021_2023.csv")]
    )
    assert reach.exit_code == 0 and "100.00%" in reach.output
    bad = tmp_path / "bad.csv"
    bad.write_text("ACO_Name,N_AB\nx,1\n")
    failed = runner.invoke(app, ["reproduce", "mssp", str(bad)])
    assert (
        failed.exit_code == 2
        and "abtotbnchmk" in failed.output
        and "Traceback" not in failed.output
    )


def test_finance_commands_on_a_panel(small_dataset, tmp_path):
    out = tmp_path / "completion.csv"
    result = runner.invoke(
        app,
        [
            "completion",
            str(small_dataset.path),
            "--as-of",
            "2024-06-30",
            "--out",
            str(out),
            "--draws",
            "50",
        ],
    )
    assert result.exit_code == 0, result.output
    table = pl.read_csv(out)
    assert table.columns == [
        "incurred_month",
        "service_category",
        "paid_to_date",
        "completion_factor",
        "estimated_incurred",
        "ibnr",
        "ibnr_se",
        "method",
    ]
    assert {"pharmacy", "all"} <= set(table["service_category"])
    fc = tmp_path / "forecast.xlsx"
    result = runner.invoke(
        app,
        [
            "forecast",
            str(small_dataset.path),
            "--as-of",
            "2024-06-30",
            "--months",
            "6",
            "--out",
            str(fc),
        ],
    )
    assert result.exit_code == 0, result.output
    assert fc.stat().st_size > 0
    result = runner.invoke(app, ["completion", str(small_dataset.path), "--as-of", "June"])
    assert result.exit_code == 2 and "YYYY-MM-DD" in result.output
    result = runner.invoke(app, ["budget", str(small_dataset.path)])
    assert result.exit_code == 2 and "--budget" in result.output
