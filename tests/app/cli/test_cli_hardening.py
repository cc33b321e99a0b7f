"""CLI misuse ends in a message and a non-zero exit, never a traceback (hostile probe
2026-12-01, findings 12, 29, 30, 31)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from app.cli import app
from tests.modeling.ingest.test_hardening import write

runner = CliRunner()


def flat(output: str) -> str:
    """The output as one line of words (rich wraps messages inside a box)."""
    return " ".join(output.replace("│", " ").split())


def _ok_dataset(tmp_path):
    out = tmp_path / "ds"
    result = runner.invoke(
        app, ["ingest", "canonical", str(write(tmp_path / "src")), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    return out


def test_f05_ingest_refuses_to_replace_without_overwrite(tmp_path):
    out = _ok_dataset(tmp_path)
    again = ["ingest", "canonical", str(tmp_path / "src"), "--out", str(out)]
    result = runner.invoke(app, again)
    assert result.exit_code == 2 and "--overwrite" in flat(result.output)
    assert runner.invoke(app, [*again, "--overwrite"]).exit_code == 0


def test_f12_validate_of_an_empty_manifest_is_a_message(tmp_path):
    out = _ok_dataset(tmp_path)
    (out / "manifest.json").write_text("")
    result = runner.invoke(app, ["validate", str(out)])
    assert result.exit_code == 2 and "empty or damaged" in flat(result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_f29_validate_exits_non_zero_on_problems(tmp_path):
    out = _ok_dataset(tmp_path)
    assert runner.invoke(app, ["validate", str(out)]).exit_code == 0
    with (out / "medical_claim.parquet").open("ab") as fh:
        fh.write(b"tampered")
    result = runner.invoke(app, ["validate", str(out)])
    assert result.exit_code == 1 and "sha256 differs" in flat(result.output)


def test_f29_validate_exits_non_zero_when_rows_fail(tmp_path):
    out = _ok_dataset(tmp_path)
    manifest = json.loads((out / "manifest.json").read_text())
    import polars as pl

    from modeling.dataset import write_manifest

    claims = pl.read_parquet(out / "medical_claim.parquet")
    claims.with_columns(pl.lit("Z").alias("person_id")).write_parquet(out / "medical_claim.parquet")
    write_manifest(out, manifest["source"], {t: e["rows"] for t, e in manifest["tables"].items()})
    result = runner.invoke(app, ["validate", str(out)])
    assert result.exit_code == 1 and "rows fail checks" in flat(result.output)


@pytest.mark.parametrize(
    "args",
    [
        ["synth", "--seed", "-1", "--members", "100", "--years", "1", "--no-report"],
        ["synth", "--last-year-of-life", "monthly", "--members", "100", "--no-report"],
        ["simulate", "--contract", "x.toml", "--draws", "2000000000"],
        ["simulate", "--contract", "x.toml", "--seed", "-1"],
        ["simulate", "--contract", "x.toml", "--cvar-limit", "nan"],
        ["hcc", "--out", "/nonexistent/x.parquet"],
        ["gaps", "--out", "/nonexistent/x.csv"],
        ["settle", "--contract", "x.toml", "--out", "/nonexistent/x.csv"],
        ["score", "--out", "/"],
        # the commands added after the probe (issue 15 re-check, 2026-12-01 afternoon)
        ["quality", "--out", "/nonexistent/x.csv"],
        ["quality", "--out", "/"],
        ["gaps-in-care", "--out", "/nonexistent/x.csv"],
        ["completion", "--as-of", "2025-06-30", "--out", "/nonexistent/x.csv"],
        ["completion", "--as-of", "2025-06-30", "--draws", "2000000000"],
        ["forecast", "--as-of", "2025-06-30", "--out", "/"],
        ["budget", "--budget", "b.csv", "--out", "/nonexistent/x.xlsx"],
        ["target", "--out", "/nonexistent/worklist.csv"],
        ["bundles", "episodes", "--out", "/nonexistent/e.csv"],
        ["bundles", "reconcile", "--out", "/nonexistent/r.csv"],
        ["bundles", "reconcile", "--draws", "2000000000"],
        ["bundles", "reconcile", "--seed", "-1"],
        ["reproduce", "mssp", "puf.csv", "--out", "/nonexistent/r.csv"],
        ["reproduce", "reach", "puf.csv", "--out", "/"],
    ],
)
def test_f30_f31_bad_options_are_refused_before_any_work(tmp_path, args):
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output


def test_f30_out_naming_an_existing_file(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    for args in (
        ["ingest", "canonical", str(write(tmp_path / "src")), "--out", str(afile)],
        ["ingest", "cclf", str(tmp_path), "--out", str(afile)],
        ["synth", "--out", str(afile), "--members", "100", "--years", "1", "--no-report"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 2 and "is a file" in flat(result.output), result.output


def test_f30_a_default_out_name_that_is_not_a_dataset_name(tmp_path):
    src = write(tmp_path / "my data")
    result = runner.invoke(
        app, ["ingest", "canonical", str(src), "--workspace", str(tmp_path / "ws")]
    )
    assert result.exit_code == 2 and "not allowed" in flat(result.output)


def test_f31_synth_size_is_bounded(tmp_path):
    result = runner.invoke(app, ["synth", "--members", "900000000", "--out", str(tmp_path / "s")])
    assert result.exit_code == 2 and not (tmp_path / "s").exists()


def test_f07_every_csv_and_excel_export_neutralizes_formulas():
    """Every CSV or workbook the CLI writes or a page offers goes through ``app.export`` (a
    guard over the sources: a new ``.write_csv(``/``.write_excel(`` on a raw frame fails it)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[3] / "app"
    raw = re.compile(r"(?<!neutralized\()\b[\w.()\[\]\"' ,]*\.(write_csv|write_excel)\(")
    offenders = []
    for path in sorted(root.rglob("*.py")):
        if path.name == "export.py":
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if raw.search(line) and "neutralized(" not in line:
                offenders.append(f"{path.relative_to(root)}:{n}: {line.strip()}")
    assert not offenders, offenders


def test_f07_finance_and_quality_files_neutralize_formulas(tmp_path):
    import polars as pl

    from app.cli.finance import write_table
    from app.cli.quality import _write

    frame = pl.DataFrame({"person_id": ["=cmd|' /C calc'!A0", "P2"], "paid": [-5.0, 1.0]})
    write_table(frame, tmp_path / "f.csv")
    _write(frame, tmp_path / "q.csv")
    for name in ("f.csv", "q.csv"):
        text = (tmp_path / name).read_text(encoding="utf-8-sig")
        assert "'=cmd" in text and ",-5.0" in text, text


def test_f16_user_csv_paths_are_taken_literally(tmp_path):
    """A budget, target-price or NDC-class path holding ``[1]`` never reads ``...1.csv``."""
    from app.cli.quality import _ndc
    from contracts.bundles.target_prices import load_target_price_file
    from contracts.year_end import read_budget
    from modeling.errors import VbcError

    (tmp_path / "b1.csv").write_text("service_category,pmpm\nall,100\n")
    for read in (
        lambda p: read_budget(p, calendar_year=2025),
        load_target_price_file,
        _ndc,
    ):
        with pytest.raises(VbcError):
            read(tmp_path / "b[1].csv")
    with pytest.raises(VbcError, match="is a folder"):
        read_budget(tmp_path, calendar_year=2025)
