"""Quality commands: every measure with its benchmark, and the care-gap worklist."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.table import Table

from app.cli._common import (
    DatasetArgument,
    WorkspaceOption,
    console,
    fail,
    open_dataset,
    open_workspace,
    out_file,
    output,
    wide,
)
from app.export import write_csv, write_parquet
from app.format import count, number
from modeling.errors import ParameterError, VbcError

app = typer.Typer()

NdcOption = Annotated[
    Path | None,
    typer.Option(
        "--ndc-classes",
        help="CSV of ndc_code,drug_class (diabetes_noninsulin, insulin, ras, "
        "sacubitril_valsartan, statin); default: the synthetic panel's own table.",
        show_default=False,
    ),
]


def _ndc(path: Path | None) -> pl.DataFrame | None:
    if path is None:
        return None
    if not path.is_file():
        raise ParameterError(
            f"No NDC-to-class file at {path}; give a CSV with ndc_code,drug_class."
        )
    return pl.read_csv(path, infer_schema=False, glob=False)


def _write(frame: pl.DataFrame, out: Path) -> None:
    if out.suffix == ".csv":
        write_csv(
            frame.with_columns(
                pl.col(c).list.join(" ") for c, t in frame.schema.items() if isinstance(t, pl.List)
            ),
            out,
        )
    else:
        write_parquet(frame, out)


UNIT_MARK = {
    "per_100k_person_years": " /100k",
    "per_100_person_years": " /100",
    "percent": "%",
    "days": " d",
}


def _rate(unit: str, value: float | None) -> str:
    digits = {"per_100k_person_years": 1, "per_100_person_years": 1, "percent": 1, "days": 2}
    return number(value, digits=digits.get(unit, 2))


@app.command()
def quality(
    dataset: DatasetArgument = None,
    year: Annotated[int, typer.Option("--year", help="Measurement year.")] = 2024,
    by: Annotated[
        str, typer.Option("--by", help="panel (one row per measure) or provider.")
    ] = "panel",
    out: Annotated[
        Path | None,
        typer.Option(
            help="Output file (.csv or .parquet; default: quality_YEAR.parquet in the workspace's outputs).",
            show_default=False,
            callback=out_file,
        ),
    ] = None,
    suppress: Annotated[
        bool,
        typer.Option(help="Blank cells counting 1-10 in the file written (CMS's cell-size rule)."),
    ] = True,
    ndc_classes: NdcOption = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Every quality measure of a year with its rate, interval, O/E and benchmark position."""
    from modeling.marts.quality import measure_rows
    from modeling.marts.quality.engine import suppress_small_cells
    from risk_stratification.quality import adjusted_results

    try:
        ws = open_workspace(workspace)
        ds = open_dataset(ws, dataset)
        with console.status("computing quality measures..."):
            rows = measure_rows(ds, year, ndc_classes=_ndc(ndc_classes)).collect()
            results, fitted = adjusted_results(ds, year, by=by, measure_frame=rows)
    except VbcError as exc:
        fail(exc)
    target = output(ws, ds, out, f"quality_{year}.parquet")
    _write(suppress_small_cells(results) if suppress else results, target)
    shown = results if by == "panel" else results.filter(pl.col("provider_npi").is_null())
    if by == "provider":
        console.print(
            f"{results['provider_npi'].n_unique()} providers; the table shows the measures' "
            "first provider rows only in the file. Panel totals: vbc quality without --by."
        )
        shown = results.group_by("measure_id", maintain_order=True).head(1)
    table = Table(title=f"Quality measures, {year} ({ds.path.name})")
    for col in ("measure", "num.", "denom.", "rate", "95% CI", "O/E", "benchmark"):
        table.add_column(
            col,
            overflow="fold",
            no_wrap=col == "measure",  # a measure id is never split across lines
            justify="left" if col in ("measure", "benchmark") else "right",
        )
    for r in shown.iter_rows(named=True):
        table.add_row(
            f"{r['measure_id']}",
            count(r["numerator"]) if r["unit"] != "days" else number(r["numerator"], digits=0),
            number(r["denominator"], digits=1)
            if "person_years" in r["unit"]
            else count(r["denominator"]),
            _rate(r["unit"], r["rate"]) + UNIT_MARK.get(r["unit"], ""),
            f"{_rate(r['unit'], r['ci_low'])}-{_rate(r['unit'], r['ci_high'])}",
            number(r["observed_to_expected"], digits=2),
            r["benchmark"] or "-",
        )
    wide().print(table)  # seven columns
    console.print(
        "Rates: PQIs per 100,000 person-years, MCC admissions per 100 person-years, ALOS in "
        "days, the rest percent. O/E: AHRQ age/sex (PQIs), the panel's MS-DRG means (ALOS), the "
        "risk models below (readmission, mortality, MCC)."
    )
    for m, fit in fitted.items():
        console.print(
            f"{m}: {fit.model} model on {len(fit.features)} risk factors, "
            f"c-statistic {number(fit.c_statistic, digits=3)}"
        )
    console.print(f"wrote {target}")


@app.command("gaps-in-care")
def gaps_in_care(
    dataset: DatasetArgument = None,
    measure: Annotated[
        str, typer.Option("--measure", help="A process measure id, e.g. breast_cancer_screening.")
    ] = "breast_cancer_screening",
    year: Annotated[int, typer.Option("--year", help="Measurement year.")] = 2024,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Output file (.csv or .parquet; default: gaps_MEASURE_YEAR.csv in the workspace's outputs).",
            show_default=False,
            callback=out_file,
        ),
    ] = None,
    ndc_classes: NdcOption = None,
    workspace: WorkspaceOption = None,
) -> None:
    """The members in a process measure's denominator who have not met it, with their
    attributed provider and risk tier: a worklist."""
    from modeling.marts.quality import care_gaps
    from risk_stratification.quality.tiers import hcc_risk_tiers

    try:
        ws = open_workspace(workspace)
        ds = open_dataset(ws, dataset)
        with console.status("finding care gaps..."):
            tiers = hcc_risk_tiers(ds, year)
            gaps = care_gaps(ds, year, measure, ndc_classes=_ndc(ndc_classes), risk_tiers=tiers)
    except VbcError as exc:
        fail(exc)
    target = output(ws, ds, out, f"gaps_{measure}_{year}.csv")
    _write(gaps, target)
    table = Table(title=f"Care gaps: {measure}, {year} ({count(gaps.height)} members)")
    for col in ("provider", "members with a gap", "highest/high risk"):
        table.add_column(col)
    summary = (
        gaps.group_by("provider_npi")
        .agg(pl.len().alias("n"), pl.col("risk_tier").is_in(["highest", "high"]).sum().alias("hi"))
        .sort("n", descending=True)
        .head(10)
    )
    for r in summary.iter_rows(named=True):
        table.add_row(r["provider_npi"], count(r["n"]), count(r["hi"]))
    console.print(table)
    console.print(f"wrote {target} (the 10 providers with the most gaps shown)")
