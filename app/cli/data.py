"""Data commands: make a dataset (synthetic or ingested), check it, summarize it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from app.cli._common import (
    SEED_MAX,
    DatasetArgument,
    WorkspaceOption,
    console,
    fail,
    open_dataset,
    open_workspace,
    out_folder,
    wide,
)
from modeling.errors import VbcError

app = typer.Typer()
ingest_app = typer.Typer(help="Load source files into a validated dataset.", no_args_is_help=True)
app.add_typer(ingest_app, name="ingest")


def _fmt(value: float | None, unit: str) -> str:
    if value is None or value != value:
        return "-"
    if unit == "dollars":
        return f"${value:,.0f}"
    if unit == "share":
        return f"{value:.1%}"
    if unit in ("rate", "days"):
        return f"{value:,.1f}"
    return f"{value:.3f}"


def print_calibration(report: pl.DataFrame) -> int:
    table = Table(title="Calibration: achieved vs target (shared/reference/calibration.md)")
    for col in ("section", "figure", "target", "tolerance", "achieved", ""):
        table.add_column(col)
    misses = 0
    for r in report.iter_rows(named=True):
        ok = r["within_tolerance"]
        misses += not ok
        table.add_row(
            r["section"],
            r["label"],
            _fmt(r["target"], r["unit"]),
            f"{_fmt(r['low'], r['unit'])} - {_fmt(r['high'], r['unit'])}",
            _fmt(r["achieved"], r["unit"]),
            "[green]ok[/]" if ok else "[red]MISS[/]",
        )
    console.print(table)
    console.print(f"{report.height - misses} of {report.height} figures within tolerance.")
    return misses


@app.command()
def synth(
    out: Annotated[
        Path | None,
        typer.Option(
            help="Folder to write (default: datasets/synth-MEMBERS-seedSEED in the workspace, or cclf/... for --format cclf).",
            show_default=False,
            callback=out_folder,
        ),
    ] = None,
    members: Annotated[
        int,
        typer.Option(
            help="Members enrolled in the first year (1 to 2,000,000; a million takes ~11 minutes).",
            min=1,
            max=2_000_000,  # SynthSpec.MAX_MEMBERS (the CCLF claim ids need it)
        ),
    ] = 20_000,
    start_year: Annotated[int, typer.Option(help="First calendar year.")] = 2023,
    years: Annotated[int, typer.Option(help="Number of years.")] = 3,
    seed: Annotated[
        int, typer.Option(help="Random seed (same seed, same bytes).", min=0, max=SEED_MAX)
    ] = 1,
    report: Annotated[
        bool, typer.Option(help="Measure and print every calibration figure.")
    ] = True,
    format: Annotated[
        str,
        typer.Option(
            "--format",
            help="canonical (a dataset folder) or cclf (CMS CCLF deliveries: monthly files, run-out, adjustments, MBI changes).",
        ),
    ] = "canonical",
    last_year_of_life: Annotated[
        str,
        typer.Option(
            help="When a decedent's raised spending of the last year of life begins: calendar (from 1 January of the year of death; the panel the published figures are measured on) or rolling (the 365 days ending on the death, across 1 January).",
        ),
    ] = "calendar",
    overwrite: Annotated[
        bool, typer.Option(help="Replace the dataset already at --out (never done otherwise).")
    ] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Generate a synthetic Medicare fee-for-service population as a canonical dataset or as CCLF files."""
    import tempfile

    from modeling.synth import SynthSpec, generate
    from modeling.synth.calibration import measure

    if format not in ("canonical", "cclf"):
        fail(VbcError(f"--format must be 'canonical' or 'cclf', not '{format}'."))
    try:  # checked before any work: SynthSpec is the one place its rules live
        spec = SynthSpec(
            members,
            start_year,
            years,
            seed,
            last_year_of_life=last_year_of_life,  # type: ignore[arg-type]  # checked by SynthSpec
        )
    except VbcError as exc:
        fail(exc)
    ws = open_workspace(workspace)
    if out is None:
        folder = ws.datasets_dir if format == "canonical" else ws.path / "cclf"
        out = folder / f"synth-{members}-seed{seed}"
    if format == "canonical" and (out / "manifest.json").exists() and not overwrite:
        fail(VbcError(f"{out} already holds a dataset; pass --overwrite to replace it."))
    scratch = tempfile.TemporaryDirectory(prefix="vbc-synth-") if format == "cclf" else None
    target = Path(scratch.name) / "dataset" if scratch else out
    try:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} chunks"),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
            task = bar.add_task(f"simulating {members:,} members x {years} years", total=None)
            dataset = generate(
                spec,
                target,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
        rows = ", ".join(f"{t} {e['rows']:,}" for t, e in dataset.manifest["tables"].items())
        if scratch:
            from modeling.synth.cclf_writer import write_cclf

            with console.status("writing CCLF deliveries...") as status:
                written = write_cclf(
                    dataset, out, seed=seed, progress=lambda msg: status.update(msg)
                )
            console.print(
                f"wrote {written.files:,} CCLF files ({written.lines:,} records) to {out} from {rows}; "
                f"{written.adjusted_claims:,} claims adjusted (original, cancellation, adjustment), {written.cancelled_claims:,} billed then cancelled, "
                f"{written.adjusted_fills:,} fills re-adjudicated, {written.deleted_fills:,} deleted, {written.mbi_changes:,} MBI changes, "
                f"{written.merged_claims:,} same-day institutional claims folded into the claim Medicare would pay."
            )
        else:
            console.print(f"wrote {out}: {rows}")
    except VbcError as exc:
        fail(exc)
    if report:
        with console.status("measuring calibration figures from the claims..."):
            result = measure(dataset)
        misses = print_calibration(result)
        if misses:
            raise typer.Exit(code=1)
    if scratch:
        scratch.cleanup()


@ingest_app.command("canonical")
def ingest_canonical_cmd(
    src: Annotated[
        Path,
        typer.Argument(
            help="Folder of Tuva-style CSV/Parquet files (eligibility, medical_claim, ...), or one file."
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            help="Dataset folder to write (default: datasets/<source name> in the workspace).",
            show_default=False,
            callback=out_folder,
        ),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option(help="Replace the dataset already at --out (never done otherwise).")
    ] = False,
    encoding: Annotated[
        str | None,
        typer.Option(
            help="Text encoding of the CSV files when not UTF-8 (e.g. cp1252, latin-1, utf-16).",
            show_default=False,
        ),
    ] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Validate canonical files and write accepted rows, quarantine and data-quality report."""
    from modeling.ingest.canonical import ingest_canonical

    try:
        out = out or open_workspace(workspace).dataset_path(src.stem)
        with console.status("ingesting...") as status:
            report = ingest_canonical(
                src,
                out,
                progress=lambda msg: status.update(msg),
                overwrite=overwrite,
                encoding=encoding,
            )
    except VbcError as exc:
        fail(exc)
    print_quality(report.to_dict())
    console.print(f"dataset written to {out}; quarantined rows in {out / 'quarantine'}")


@ingest_app.command("cclf")
def ingest_cclf_cmd(
    src: Annotated[
        Path,
        typer.Argument(
            help="Folder of CCLF files (CMS names or CCLF1.txt ...), a CMS delivery zip, or a folder of zips."
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            help="Dataset folder to write (default: datasets/<source name> in the workspace).",
            show_default=False,
            callback=out_folder,
        ),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option(help="Replace the dataset already at --out (never done otherwise).")
    ] = False,
    enrollment: Annotated[
        Path | None,
        typer.Option(
            help="Optional CSV of enrollment spans (bene_mbi_id, enrollment_start_date, enrollment_end_date) instead of CCLF8 months."
        ),
    ] = None,
    layout_version: Annotated[
        str, typer.Option(help="CCLF Information Packet layout version.")
    ] = "v36",
    workspace: WorkspaceOption = None,
) -> None:
    """Read CCLF files: MBI crosswalk, claim versions resolved, every line loaded or accounted for."""
    from modeling.ingest.cclf import ingest_cclf

    try:
        out = out or open_workspace(workspace).dataset_path(src.stem)
        with console.status("ingesting CCLF...") as status:
            report = ingest_cclf(
                src,
                out,
                enrollment=enrollment,
                layout_version=layout_version,
                progress=lambda msg: status.update(msg),
                overwrite=overwrite,
            )
    except VbcError as exc:
        fail(exc)
    table = Table(title=f"CCLF reconciliation ({len(report.files)} files)")
    cols = (
        "file_type",
        "files",
        "lines_read",
        "loaded",
        "superseded",
        "cancelled",
        "quarantined",
        "not_loaded",
        "in_refused_file",
    )
    for col in (*cols, ""):
        table.add_column(
            {"file_type": "type", "lines_read": "read", "in_refused_file": "refused"}.get(
                col, col.replace("_", " ")
            ),
            justify="left" if col == "file_type" else "right",
            no_wrap=True,
        )
    for r in report.by_file_type().iter_rows(named=True):
        table.add_row(
            *[f"{r[c]:,}" if isinstance(r[c], int) else str(r[c]) for c in cols],
            "[green]ok[/]" if r["reconciles"] else "[red]MISMATCH[/]",
        )
    wide().print(table)  # nine numeric columns: wider than an 80-column terminal
    mismatches = [c for c in report.record_counts if not c["matches"]]
    console.print(
        f"CCLF0 record counts: {len(report.record_counts) - len(mismatches)} of {len(report.record_counts)} match their files"
        + (
            ""
            if not mismatches
            else "; [red]differ:[/] "
            + ", ".join(
                f"{c['file_type']} of {c['delivery'][1]} says {c['records']:,}, file has {c['lines_in_file']}"
                for c in mismatches[:5]
            )
        )
    )
    for f in report.refused:
        console.print(f"[red]refused[/] {f.refused}", soft_wrap=True)
    for name in report.unrecognized:
        console.print(f"[red]not read[/] {name}", soft_wrap=True)
    print_quality({"reconciled": report.reconciled, "tables": report.to_dict()["canonical"]})
    console.print(
        f"dataset written to {out}; quarantined CCLF lines in {out / 'quarantine' / 'cclf_lines.parquet'}, report in {out / 'cclf_reconciliation.json'}"
    )


def print_quality(report: dict) -> None:
    table = Table(title="Data quality")
    for col in ("table", "rows in", "accepted", "quarantined", "failed checks"):
        table.add_column(col)
    for t, r in report["tables"].items():
        failed = ", ".join(
            f"{k} {v['rows_failed']:,}" for k, v in r["checks"].items() if v["rows_failed"]
        )
        table.add_row(
            t,
            f"{r['rows_in']:,}",
            f"{r['rows_accepted']:,}",
            f"{r['rows_quarantined']:,}",
            failed or "-",
        )
    console.print(table)
    console.print(
        "rows reconcile (in = accepted + quarantined)"
        if report["reconciled"]
        else "[red]rows do not reconcile[/]"
    )


@app.command()
def validate(dataset: DatasetArgument = None, workspace: WorkspaceOption = None) -> None:
    """Re-run every validation check over a dataset and print the data-quality report.

    Exits with code 1 when the files differ from the manifest or rows fail checks."""
    from modeling.ingest.canonical import validate_dataset

    try:
        ds = open_dataset(open_workspace(workspace), dataset)
        problems = ds.verify()
        if problems:  # checks over files that differ from the manifest would mislead
            for p in problems:
                console.print(f"[red]{p}[/]")
            console.print("[red]the dataset's files do not match its manifest[/]")
            raise typer.Exit(code=1)
        with console.status("validating...") as status:
            results = validate_dataset(ds, progress=lambda msg: status.update(msg))
    except VbcError as exc:
        fail(exc)
    from modeling.ingest.validate import reconcile

    print_quality(
        {
            "reconciled": reconcile(results.values()),
            "tables": {t: r.report() for t, r in results.items()},
        }
    )
    if any(r.rows_quarantined for r in results.values()):
        console.print("[red]rows fail checks (see the table above)[/]")
        raise typer.Exit(code=1)


@app.command()
def summary(dataset: DatasetArgument = None, workspace: WorkspaceOption = None) -> None:
    """Members, PMPM and utilization by year."""
    from modeling.marts.pmpm import overview

    try:
        with console.status("computing..."):
            ds = open_dataset(open_workspace(workspace), dataset)
            result = overview(ds)
    except VbcError as exc:
        fail(exc)
    s = result.summary
    table = Table(title=f"Overview: {ds.path}")
    cols = [
        ("year", "{}"),
        ("members", "{:,}"),
        ("member_months", "{:,}"),
        ("pmpm_medical", "${:,.0f}"),
        ("pmpm_pharmacy", "${:,.0f}"),
        ("admissions_per_1000", "{:,.0f}"),
        ("mean_length_of_stay", "{:.1f}"),
        ("readmission_rate", "{:.1%}"),
        ("ed_visits_per_1000", "{:,.0f}"),
    ]
    for name, _ in cols:
        table.add_column(name.replace("_", " "))
    for r in s.iter_rows(named=True):
        table.add_row(*[fmt.format(r[name]) if r[name] is not None else "-" for name, fmt in cols])
    wide().print(table)  # nine columns
    pm = result.pmpm.pivot(on="year", index="service_category", values="pmpm")
    t2 = Table(title="PMPM by service category")
    for c in pm.columns:
        t2.add_column(str(c))
    for r in pm.iter_rows():
        t2.add_row(r[0], *[f"${v:,.2f}" for v in r[1:]])
    console.print(t2)
