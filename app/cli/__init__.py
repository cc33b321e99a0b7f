"""The ``vbc`` command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from modeling.dataset import Dataset
from modeling.errors import VbcError

app = typer.Typer(
    help="vbc-modeler: value-based care risk, contracts and cost of care.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
ingest_app = typer.Typer(help="Load source files into a validated dataset.", no_args_is_help=True)
app.add_typer(ingest_app, name="ingest")
contracts_app = typer.Typer(help="Contract presets and specs.", no_args_is_help=True)
app.add_typer(contracts_app, name="contracts")
console = Console()


def _fail(exc: VbcError) -> None:
    console.print(f"[bold red]error:[/] {exc}", soft_wrap=True)
    raise typer.Exit(code=2)


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
    out: Annotated[Path, typer.Option(help="Dataset folder to write.")],
    members: Annotated[int, typer.Option(help="Members enrolled in the first year.")] = 20_000,
    start_year: Annotated[int, typer.Option(help="First calendar year.")] = 2023,
    years: Annotated[int, typer.Option(help="Number of years.")] = 3,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same bytes).")] = 1,
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
) -> None:
    """Generate a synthetic Medicare fee-for-service population as a canonical dataset or as CCLF files."""
    import tempfile

    from modeling.synth import SynthSpec, generate
    from modeling.synth.calibration import measure

    if format not in ("canonical", "cclf"):
        _fail(VbcError(f"--format must be 'canonical' or 'cclf', not '{format}'."))
    scratch = tempfile.TemporaryDirectory(prefix="vbc-synth-") if format == "cclf" else None
    target = Path(scratch.name) / "dataset" if scratch else out
    try:
        spec = SynthSpec(members, start_year, years, seed)
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
        _fail(exc)
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
    out: Annotated[Path, typer.Option(help="Dataset folder to write.")],
) -> None:
    """Validate canonical files and write accepted rows, quarantine and data-quality report."""
    from modeling.ingest.canonical import ingest_canonical

    try:
        with console.status("ingesting...") as status:
            report = ingest_canonical(src, out, progress=lambda msg: status.update(msg))
    except VbcError as exc:
        _fail(exc)
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
    out: Annotated[Path, typer.Option(help="Dataset folder to write.")],
    enrollment: Annotated[
        Path | None,
        typer.Option(
            help="Optional CSV of enrollment spans (bene_mbi_id, enrollment_start_date, enrollment_end_date) instead of CCLF8 months."
        ),
    ] = None,
    layout_version: Annotated[
        str, typer.Option(help="CCLF Information Packet layout version.")
    ] = "v36",
) -> None:
    """Read CCLF files: MBI crosswalk, claim versions resolved, every line loaded or accounted for."""
    from modeling.ingest.cclf import ingest_cclf

    try:
        with console.status("ingesting CCLF...") as status:
            report = ingest_cclf(
                src,
                out,
                enrollment=enrollment,
                layout_version=layout_version,
                progress=lambda msg: status.update(msg),
            )
    except VbcError as exc:
        _fail(exc)
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
    Console(width=max(console.width, 120)).print(
        table
    )  # nine numeric columns: wider than an 80-column terminal
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
def validate(dataset: Annotated[Path, typer.Argument(help="Dataset folder.")]) -> None:
    """Re-run every validation check over a dataset and print the data-quality report."""
    from modeling.ingest.canonical import validate_dataset

    try:
        ds = Dataset(dataset)
        with console.status("validating...") as status:
            results = validate_dataset(ds, progress=lambda msg: status.update(msg))
    except VbcError as exc:
        _fail(exc)
    problems = ds.verify()
    from modeling.ingest.validate import reconcile

    print_quality(
        {
            "reconciled": reconcile(results.values()),
            "tables": {t: r.report() for t, r in results.items()},
        }
    )
    for p in problems:
        console.print(f"[red]{p}[/]")


@app.command()
def summary(dataset: Annotated[Path, typer.Argument(help="Dataset folder.")]) -> None:
    """Members, PMPM and utilization by year."""
    from modeling.marts.pmpm import overview

    try:
        with console.status("computing..."):
            result = overview(Dataset(dataset))
    except VbcError as exc:
        _fail(exc)
    s = result["summary"]
    table = Table(title=f"Overview: {dataset}")
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
    console.print(table)
    pm = result["pmpm"].pivot(on="year", index="service_category", values="pmpm")
    t2 = Table(title="PMPM by service category")
    for c in pm.columns:
        t2.add_column(str(c))
    for r in pm.iter_rows():
        t2.add_row(r[0], *[f"${v:,.2f}" for v in r[1:]])
    console.print(t2)


@app.command()
def hcc(
    dataset: Annotated[Path, typer.Argument(help="Dataset folder.")],
    payment_year: Annotated[
        int, typer.Option(help="Payment year; diagnoses come from the year before.")
    ] = 2026,
    out: Annotated[
        Path, typer.Option(help="Output file (.parquet or .csv) for per-person scores.")
    ] = Path("hcc_scores.parquet"),
) -> None:
    """CMS-HCC risk scores for every member: raw, normalized, blended and payment scores."""
    from risk_stratification.hcc.panel import score_panel

    try:
        with console.status("scoring...") as status:
            result = score_panel(
                Dataset(dataset), payment_year, progress=lambda msg: status.update(msg)
            )
    except VbcError as exc:
        _fail(exc)
    scores = result.scores
    flat = scores.with_columns(
        pl.col(c).list.join(" ") for c in scores.columns if c.startswith("hccs_")
    )
    if out.suffix == ".csv":
        flat.write_csv(out)
    else:
        scores.write_parquet(out)
    detail = out.with_name(out.stem + "_hcc_detail" + out.suffix)
    frames = []
    for model, r in result.by_model.items():
        dx = r.diagnoses.group_by("person_id", "cc").agg(
            pl.col("diagnosis_code").sort().str.join(" ").alias("diagnosis_codes")
        )
        frames.append(
            r.hcc_terms.join(dx, on=["person_id", "cc"], how="left").with_columns(
                pl.lit(model).alias("model")
            )
        )
    detail_frame = pl.concat(frames).sort("person_id", "model", "cc")
    detail_frame.write_csv(detail) if out.suffix == ".csv" else detail_frame.write_parquet(detail)
    table = Table(title=f"CMS-HCC payment year {payment_year} ({', '.join(result.by_model)})")
    for col in ("segment", "members", "mean payment score", "mean blended", "share with no HCC"):
        table.add_column(col)
    last = [m for m in result.by_model if not m.startswith("ESRD")][-1]
    summary = (
        scores.group_by("segment")
        .agg(
            pl.len().alias("n"),
            pl.col("payment_score").mean(),
            pl.col("blended_score").mean(),
            (pl.col(f"hccs_{last}").list.len() == 0).mean().alias("none"),
        )
        .sort("n", descending=True)
    )
    number = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
    for r in summary.iter_rows(named=True):
        table.add_row(
            r["segment"],
            f"{r['n']:,}",
            number(r["payment_score"]),
            number(r["blended_score"]),
            f"{r['none']:.1%}",
        )
    console.print(table)
    esrd = scores.filter(pl.col("payment_model") != "CMS-HCC")
    if esrd.height:
        unpaid = esrd["payment_score"].null_count()
        console.print(
            f"{esrd.height:,} members with ESRD are paid with the ESRD V24 model (segments DI ... GNE)"
            + (
                f"; {unpaid:,} have no payment score: no sourced ESRD normalization factor for {payment_year}"
                if unpaid
                else ""
            )
        )
    console.print(
        f"all members: mean payment score {number(scores['payment_score'].mean())}; wrote {out} and {detail}"
    )
    console.print("tables used: " + ", ".join(result.files))


@app.command()
def gaps(
    dataset: Annotated[Path, typer.Argument(help="Dataset folder.")],
    payment_year: Annotated[
        int,
        typer.Option(
            help="Payment year; gaps are prior-year HCCs missing from the year before it."
        ),
    ] = 2026,
    base_rate: Annotated[
        float,
        typer.Option(
            help="Annual per-capita base rate or benchmark ($) that prices one point of payment score."
        ),
    ] = 12_000.0,
    out: Annotated[
        Path,
        typer.Option(
            help="Output CSV of the gap worklist (by-person and by-provider files are written beside it)."
        ),
    ] = Path("recapture_gaps.csv"),
) -> None:
    """HCC recapture gaps: each gap's marginal payment score and annual dollar value, ranked."""
    from risk_stratification.hcc.gaps import recapture_gaps

    try:
        with console.status("finding and pricing recapture gaps..."):
            result = recapture_gaps(Dataset(dataset), payment_year, annual_base_rate=base_rate)
    except VbcError as exc:
        _fail(exc)
    result.gaps.write_csv(out)
    result.by_person.write_csv(out.with_name(out.stem + "_by_person.csv"))
    result.by_provider.write_csv(out.with_name(out.stem + "_by_provider.csv"))
    table = Table(
        title=f"Top recapture gaps, payment year {payment_year}, at ${base_rate:,.0f} per point"
    )
    for col in ("person", "HCC", "label", "prior-year codes", "marginal score", "annual value"):
        table.add_column(col)
    for r in result.gaps.head(15).iter_rows(named=True):
        table.add_row(
            r["person_id"],
            str(r["hcc"]),
            (r["label"] or "")[:40],
            r["prior_year_codes"],
            f"{r['marginal_payment_score']:.3f}",
            f"${r['annual_value']:,.0f}",
        )
    console.print(table)
    console.print(
        f"{result.gaps.height:,} gaps in {result.by_person.height:,} members worth ${result.by_person['annual_value'].sum():,.0f} a year "
        f"if all were closed; wrote {out} and the by-person and by-provider lists beside it."
    )


@contracts_app.command("list")
def contracts_list() -> None:
    """The shipped contract presets, by program and performance year."""
    from contracts.specs import preset, preset_names

    table = Table(title="Contract presets (use the name with vbc settle --contract)")
    for col in ("preset", "family", "performance year", "name"):
        table.add_column(col, no_wrap=col == "preset")
    for name in preset_names():
        spec = preset(name)
        table.add_row(name, spec.family, str(spec.performance_year), spec.name)
    console.print(table)
    console.print(
        "A spec file (TOML or JSON) you write is used the same way: vbc settle --contract my_contract.toml ..."
    )


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:+.2%}"


def _money(v: float) -> str:
    return f"-${-v:,.0f}" if v < 0 else f"${v:,.0f}"


@app.command()
def settle(
    dataset: Annotated[Path, typer.Option("--dataset", help="Dataset folder.")],
    contract: Annotated[
        list[str] | None,
        typer.Option(
            "--contract",
            help="Preset name or spec file (TOML/JSON); repeat to compare. Default: every MSSP level, ENHANCED and the commercial corridors for the year after the data.",
        ),
    ] = None,
    assumptions: Annotated[
        Path | None,
        typer.Option(
            help="Assumptions file (TOML/JSON): cost_trend, initiatives, coding_risk_change, attribution_scale, quality_score..."
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Write every line of every settlement to this CSV.")
    ] = None,
) -> None:
    """Itemized settlement of one or more contracts on a dataset's panel: actual when the
    performance year is in the data, projected for the year after it."""
    from contracts.projection import (
        Assumptions,
        load_assumptions,
        panel_history,
        project,
        settlement_lines,
    )
    from contracts.specs import load_spec, preset_names

    try:
        a = load_assumptions(assumptions) if assumptions else Assumptions()
        with console.status("reading the panel...") as status:
            history = panel_history(Dataset(dataset), progress=lambda msg: status.update(msg))
        if not contract:
            year = history.years[-1] + 1
            contract = [
                n
                for n in preset_names()
                if n.endswith(f"-{year}")
                and (n.startswith("mssp-") or n.startswith("commercial-corridors"))
            ]
            if not contract:
                raise VbcError(
                    f"No presets for {year}; name the contracts with --contract (see vbc contracts list)."
                )
        results = [project(load_spec(c), history, a) for c in contract]
    except VbcError as exc:
        _fail(exc)
    for p in results:
        table = Table(
            title=f"{p.spec.name} — performance year {p.spec.performance_year} ({p.mode})",
            show_header=False,
        )
        table.add_column("line")
        table.add_column("value", justify="right")
        for row in p.settlement.table().iter_rows(named=True):
            table.add_row(row["line"], row["value"])
        verdict = (
            "paid to the provider"
            if p.settlement.amount > 0
            else ("owed by the provider" if p.settlement.amount < 0 else "no payment either way")
        )
        table.add_row("[bold]Settlement[/]", f"[bold]{_money(p.settlement.amount)}[/] ({verdict})")
        console.print(table)
    shown = set()
    for p in results:
        for note in p.notes:
            if note not in shown:
                console.print(f"[dim]- {note}[/]", soft_wrap=True)
                shown.add(note)
    compare = Table(title="Side by side")
    for col in (
        "contract",
        "benchmark / person-year",
        "expenditures / person-year",
        "savings rate",
        "settlement",
        "pays once costs change by",
        "costs once costs change by",
    ):
        compare.add_column(col, justify="right" if col != "contract" else "left")
    for p in results:
        perf = p.performance
        rate = 1 - perf.expenditure_per_capita / perf.benchmark_per_capita
        compare.add_row(
            p.spec.name,
            f"${perf.benchmark_per_capita:,.0f}",
            f"${perf.expenditure_per_capita:,.0f}",
            f"{rate:.2%}",
            _money(p.settlement.amount),
            _pct(p.break_even.starts_paying_at),
            _pct(p.break_even.starts_costing_at),
        )
    console.print(compare)
    if out:
        settlement_lines(results).write_csv(out)
        console.print(f"wrote {out}")


@app.command()
def train(
    dataset: Annotated[Path, typer.Argument(help="Dataset folder with at least three years.")],
    seed: Annotated[int, typer.Option(help="Random seed of the boosting.")] = 0,
    report: Annotated[
        Path,
        typer.Option(
            help="Where to write the evaluation report (Markdown; a CSV of every metric is written beside it)."
        ),
    ] = Path("risk_model_report.md"),
) -> None:
    """Train the risk models (cost, admission, ED visit, top 5%, readmission), evaluate them on a
    held-out later year against CMS-HCC and prior cost, and register them in the workspace."""
    from modeling.workspace import Workspace
    from risk_stratification.ml.models import MODEL_LABELS
    from risk_stratification.ml.pipeline import register
    from risk_stratification.ml.pipeline import train as train_models

    try:
        with console.status("training...") as status:
            trained = train_models(
                Dataset(dataset), seed=seed, progress=lambda msg: status.update(msg)
            )
        with Workspace.default().store() as store:
            version = register(trained, store)
    except VbcError as exc:
        _fail(exc)
    e = trained.evaluation
    report.write_text(e.to_markdown())
    e.summary.write_csv(report.with_suffix(".csv"))
    table = Table(
        title=f"Held-out evaluation: trained {e.train_year} -> {e.train_year + 1}, tested {e.test_year} -> {e.test_year + 1}"
    )
    for col in ("target", "metric", *MODEL_LABELS.values()):
        table.add_column(col, justify="right" if col not in ("target", "metric") else "left")
    for target, metric in (
        ("cost", "r2"),
        ("cost", "mae"),
        ("cost", "share_of_cost_top_5pct"),
        ("admission", "roc_auc"),
        ("admission", "pr_auc"),
        ("ed_visit", "roc_auc"),
        ("top5", "roc_auc"),
        ("top5", "ppv_top_5pct"),
    ):
        table.add_row(
            target, metric, *[f"{e.metric(m, target, metric):,.4f}" for m in MODEL_LABELS]
        )
    console.print(table)
    deciles = e.deciles.filter((pl.col("model") == "model") & (pl.col("target") == "cost"))["ratio"]
    r = e.readmission
    auc = lambda m: r.filter((pl.col("model") == m) & (pl.col("metric") == "roc_auc"))["value"][0]  # noqa: E731
    console.print(
        f"cost predictive ratio by decile: {deciles.min():.3f} - {deciles.max():.3f}; readmission ROC-AUC {auc('model'):.3f} vs LACE {auc('lace'):.3f}"
    )
    console.print(
        f"registered {trained.card['name']} version {version} ({trained.card['training_seconds']} s); report: {report} and {report.with_suffix('.csv')}"
    )


@app.command()
def score(
    dataset: Annotated[Path, typer.Argument(help="Dataset folder.")],
    out: Annotated[
        Path,
        typer.Option(
            help="Output file (.parquet or .csv): predictions, tiers and drivers per member."
        ),
    ] = Path("risk_scores.parquet"),
    version: Annotated[
        int | None, typer.Option(help="Registered model version (default: the latest).")
    ] = None,
) -> None:
    """Score the panel with the registered risk models: next-year predictions, tier, top drivers."""
    from modeling.workspace import Workspace
    from risk_stratification.ml.pipeline import load_registered
    from risk_stratification.ml.pipeline import score as score_panel_risk

    try:
        with Workspace.default().store() as store:
            trained, used = load_registered(store, version)
        with console.status("scoring...") as status:
            scored = score_panel_risk(
                Dataset(dataset), trained, progress=lambda msg: status.update(msg)
            )
    except VbcError as exc:
        _fail(exc)
    scored.write_csv(out) if out.suffix == ".csv" else scored.write_parquet(out)
    summary = scored.group_by("tier").agg(
        pl.len().alias("members"),
        pl.col("pred_cost").mean(),
        pl.col("cost_total").mean(),
        pl.col("pred_admission").mean(),
    )
    table = Table(title=f"Risk tiers for {scored['prediction_year'][0]} (model version {used})")
    for col in (
        "tier",
        "members",
        "mean predicted cost",
        "mean cost last year",
        "admission probability",
    ):
        table.add_column(col, justify="right" if col != "tier" else "left")
    order = {t: i for i, t in enumerate(("highest", "high", "rising", "moderate", "low"))}
    for r in sorted(summary.iter_rows(named=True), key=lambda r: order[r["tier"]]):
        table.add_row(
            r["tier"],
            f"{r['members']:,}",
            f"${r['pred_cost']:,.0f}",
            f"${r['cost_total']:,.0f}",
            f"{r['pred_admission']:.1%}",
        )
    console.print(table)
    top = scored.head(5)
    for r in top.iter_rows(named=True):
        console.print(
            f"{r['person_id']} ({r['tier']}, ${r['pred_cost']:,.0f}): "
            + "; ".join(d for d in (r["driver_1"], r["driver_2"], r["driver_3"]) if d)
        )
    console.print(f"wrote {scored.height:,} members to {out}")


@app.command()
def simulate(
    dataset: Annotated[Path, typer.Option("--dataset", help="Dataset folder.")],
    contract: Annotated[
        list[str],
        typer.Option(
            "--contract",
            help="Preset name or spec file (TOML/JSON); repeat to compare risk levels on the same simulated years.",
        ),
    ],
    draws: Annotated[int, typer.Option(help="Number of simulated performance years.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same results).")] = 1,
    assumptions: Annotated[
        Path | None, typer.Option(help="Assumptions file (TOML/JSON), as for vbc settle.")
    ] = None,
    exact: Annotated[
        bool,
        typer.Option(
            help="Redraw every member's cost in every scenario instead of the fast sum approximation."
        ),
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Write the scenario (spec, assumptions, seed, draws, summary, histogram, tornado) as JSON, and a one-page Markdown summary beside it."
        ),
    ] = None,
    cvar_limit: Annotated[
        float | None,
        typer.Option(
            help="With several contracts: the largest CVaR (95%) loss you accept, in dollars; picks the best option and mix within it."
        ),
    ] = None,
    use_model: Annotated[
        bool,
        typer.Option(
            help="Draw member costs around the registered risk model's predictions with its held-out residuals (vbc train first)."
        ),
    ] = False,
) -> None:
    """The distribution of a contract's settlement: expected value, chance of savings and of
    losses, value at risk, and the assumptions that move it most."""
    import json

    from contracts.projection import Assumptions, load_assumptions, panel_history
    from contracts.simulation import histogram, summary_markdown, tornado
    from contracts.simulation import simulate as run_simulation
    from contracts.specs import load_spec, spec_to_dict

    if draws < 2:
        _fail(VbcError(f"--draws must be at least 2 (got {draws})."))
    if len(contract) > 1:
        _compare_risk_levels(dataset, contract, draws, seed, assumptions, cvar_limit)
        return
    try:
        spec = load_spec(contract[0])
        a = load_assumptions(assumptions) if assumptions else Assumptions()
        with console.status("reading the panel...") as status:
            history = panel_history(Dataset(dataset), progress=lambda msg: status.update(msg))
            members = None
            if use_model:
                from contracts.simulation import members_from_model
                from modeling.workspace import Workspace
                from risk_stratification.ml.pipeline import load_registered

                status.update("scoring members with the registered risk model")
                with Workspace.default().store() as store:
                    trained, _ = load_registered(store)
                members = members_from_model(Dataset(dataset), trained)
            status.update(f"simulating {draws:,} performance years")
            result = run_simulation(
                spec, history, a, draws=draws, seed=seed, exact_members=exact, members=members
            )
            status.update("sensitivity: each assumption low and high")
            _, bars = tornado(spec, history, a)
    except VbcError as exc:
        _fail(exc)
    s = result.summary()
    source = (
        "the risk model's predictions and held-out residuals"
        if use_model
        else "the panel's own cost spread by enrollment type"
    )
    table = Table(
        title=f"{spec.name}: {draws:,} simulated performance years (seed {seed}; member noise from {source})",
        show_header=False,
    )
    table.add_column("figure")
    table.add_column("value", justify="right")
    rows = [
        (
            "Expected settlement",
            f"{_money(s['expected_settlement'])} (standard error {_money(s['standard_error'])})",
        ),
        ("Deterministic projection", _money(s["deterministic_settlement"])),
        ("Chance of earning shared savings", f"{s['p_shared_savings']:.1%}"),
        ("Chance of owing losses", f"{s['p_owes_losses']:.1%}"),
        ("Chance of hitting the payment limit", f"{s['p_hits_payment_limit']:.1%}"),
        ("Chance of hitting the loss cap", f"{s['p_hits_loss_cap']:.1%}"),
        ("Value at risk (95%)", _money(s["value_at_risk_95"])),
        ("CVaR (95%)", _money(s["cvar_95"])),
        (
            "5th / 50th / 95th percentile",
            f"{_money(s['p05'])} / {_money(s['median'])} / {_money(s['p95'])}",
        ),
        ("Expected savings rate", f"{s['expected_savings_rate']:.2%}"),
        (
            "Starts to pay once costs change by (median, 10th-90th pct)",
            f"{s['break_even_median']:+.2%} ({s['break_even_p10']:+.2%} to {s['break_even_p90']:+.2%})",
        ),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    hist = histogram(result, bins=12)
    peak = max(hist["scenarios"].max(), 1)
    for r in hist.iter_rows(named=True):
        console.print(
            f"{_money(r['bin_start']):>14} .. {_money(r['bin_end']):>14} {'#' * round(40 * r['scenarios'] / peak)} {r['scenarios']:,}"
        )
    tor = Table(title="What moves it (deterministic, one assumption at a time)")
    for col in ("assumption", "low", "settlement", "high", "settlement "):
        tor.add_column(col, justify="left" if col in ("assumption", "low", "high") else "right")
    for r in bars.iter_rows(named=True):
        tor.add_row(
            r["assumption"],
            r["low"],
            _money(r["settlement_low"]),
            r["high"],
            _money(r["settlement_high"]),
        )
    console.print(tor)
    if out:
        scenario = {
            "dataset": str(dataset),
            "contract": spec_to_dict(spec),
            "assumptions": a.model_dump(mode="json"),
            "seed": seed,
            "draws": draws,
            "exact_members": exact,
            "summary": s,
            "histogram": histogram(result).to_dicts(),
            "tornado": bars.to_dicts(),
        }
        out.write_text(json.dumps(scenario, indent=2))
        out.with_suffix(".md").write_text(summary_markdown(result, bars))
        console.print(f"wrote {out} and {out.with_suffix('.md')}")


def _compare_risk_levels(
    dataset: Path,
    contracts: list[str],
    draws: int,
    seed: int,
    assumptions: Path | None,
    cvar_limit: float | None,
) -> None:
    from contracts.projection import Assumptions, load_assumptions, panel_history
    from contracts.simulation import choose_risk_level
    from contracts.simulation import simulate as run_simulation
    from contracts.specs import load_spec

    try:
        specs = [load_spec(c) for c in contracts]
        a = load_assumptions(assumptions) if assumptions else Assumptions()
        with console.status("reading the panel...") as status:
            history = panel_history(Dataset(dataset), progress=lambda msg: status.update(msg))
            results = []
            for spec in specs:
                status.update(f"simulating {spec.name}")
                results.append(run_simulation(spec, history, a, draws=draws, seed=seed))
            limit = cvar_limit if cvar_limit is not None else 0.0
            status.update("choosing the risk level (CVaR-constrained)")
            choice = choose_risk_level(results, limit)
    except VbcError as exc:
        _fail(exc)
    table = Table(
        title=f"Options on the same {draws:,} simulated years (seed {seed}); CVaR limit {_money(limit)}"
    )
    for col in (
        "option",
        "expected settlement",
        "CVaR (95%)",
        "chance of owing",
        "within the limit",
    ):
        table.add_column(col, justify="left" if col == "option" else "right")
    for r in choice.options.iter_rows(named=True):
        table.add_row(
            r["option"],
            _money(r["expected"]),
            _money(r["cvar_95"]),
            f"{r['p_owes_losses']:.1%}",
            "yes" if r["within_limit"] else "no",
        )
    console.print(table)
    console.print(f"best single option within the limit: [bold]{choice.best_single or 'none'}[/]")
    if choice.mix is not None:
        weights = ", ".join(f"{k} {v:.0%}" for k, v in choice.mix.items() if v > 0.005)
        console.print(
            f"best mix (e.g. across payers sharing one downside budget): {weights}; expected {_money(choice.mix_expected)}, CVaR {_money(choice.mix_cvar)}"
        )
    frontier = Table(title="Efficient frontier: the best expected settlement for each CVaR limit")
    frontier.add_column("CVaR limit", justify="right")
    frontier.add_column("expected settlement", justify="right")
    for r in choice.frontier.iter_rows(named=True):
        frontier.add_row(_money(r["cvar_limit"]), _money(r["expected"]))
    console.print(frontier)
    if cvar_limit is None:
        console.print(
            "(no --cvar-limit given: a limit of $0, no loss in the worst years, was used)"
        )
