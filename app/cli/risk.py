"""Risk commands: CMS-HCC scores and recapture gaps, the machine-learned risk models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.table import Table

from app.cli._common import (
    SEED_MAX,
    DatasetArgument,
    WorkspaceOption,
    console,
    fail,
    open_dataset,
    open_workspace,
    out_file,
    output,
)
from app.export import write_csv, write_parquet, write_text
from app.format import count, number, pct
from modeling.errors import VbcError

app = typer.Typer()


@app.command()
def hcc(
    dataset: DatasetArgument = None,
    payment_year: Annotated[
        int, typer.Option(help="Payment year; diagnoses come from the year before.")
    ] = 2026,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Output file (.parquet or .csv) for per-person scores (default: hcc_scores.parquet in the workspace's outputs).",
            show_default=False,
            callback=out_file,
        ),
    ] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """CMS-HCC risk scores for every member: raw, normalized, blended and payment scores."""
    from risk_stratification.hcc.panel import score_panel

    try:
        ws = open_workspace(workspace)
        ds = open_dataset(ws, dataset)
        with console.status("scoring...") as status:
            result = score_panel(ds, payment_year, progress=lambda msg: status.update(msg))
    except VbcError as exc:
        fail(exc)
    scores = result.scores
    flat = scores.with_columns(
        pl.col(c).list.join(" ") for c in scores.columns if c.startswith("hccs_")
    )
    out = output(ws, ds, out, f"hcc_scores_{payment_year}.parquet")
    if out.suffix == ".csv":
        write_csv(flat, out)
    else:
        write_parquet(scores, out)
    detail = out.with_name(out.stem + "_hcc_detail" + out.suffix)
    detail_frame = result.hcc_detail()
    write_csv(detail_frame, detail) if out.suffix == ".csv" else write_parquet(detail_frame, detail)
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
    for r in summary.iter_rows(named=True):
        table.add_row(
            r["segment"],
            count(r["n"]),
            number(r["payment_score"]),
            number(r["blended_score"]),
            pct(r["none"]),
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
    dataset: DatasetArgument = None,
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
        Path | None,
        typer.Option(
            help="Output CSV of the gap worklist (by-person and by-provider files are written beside it; default: recapture_gaps.csv in the workspace's outputs).",
            show_default=False,
            callback=out_file,
        ),
    ] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """HCC recapture gaps: each gap's marginal payment score and annual dollar value, ranked."""
    from risk_stratification.hcc.gaps import recapture_gaps

    try:
        ws = open_workspace(workspace)
        ds = open_dataset(ws, dataset)
        with console.status("finding and pricing recapture gaps..."):
            result = recapture_gaps(ds, payment_year, annual_base_rate=base_rate)
    except VbcError as exc:
        fail(exc)
    out = output(ws, ds, out, f"recapture_gaps_{payment_year}.csv")
    write_csv(result.gaps, out)
    write_csv(result.by_person, out.with_name(out.stem + "_by_person.csv"))
    write_csv(result.by_provider, out.with_name(out.stem + "_by_provider.csv"))
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


@app.command()
def train(
    dataset: DatasetArgument = None,
    seed: Annotated[
        int, typer.Option(help="Random seed of the boosting.", min=0, max=SEED_MAX)
    ] = 0,
    report: Annotated[
        Path | None,
        typer.Option(
            help="Where to write the evaluation report (Markdown; a CSV of every metric is written beside it; default: risk_model_report.md in the workspace's outputs).",
            show_default=False,
        ),
    ] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Train the risk models (cost, admission, ED visit, top 5%, readmission), evaluate them on a
    held-out later year against CMS-HCC and prior cost, and register them in the workspace."""
    from app.reports.risk import evaluation_markdown
    from risk_stratification.ml.models import MODEL_LABELS
    from risk_stratification.ml.pipeline import register
    from risk_stratification.ml.pipeline import train as train_models

    try:
        ws = open_workspace(workspace)
        ds = open_dataset(ws, dataset)
        with console.status("training...") as status:
            trained = train_models(ds, seed=seed, progress=lambda msg: status.update(msg))
        with ws.store() as store:
            version = register(trained, store)
    except VbcError as exc:
        fail(exc)
    e = trained.evaluation
    report = output(ws, ds, report, "risk_model_report.md")
    write_text(evaluation_markdown(e), report)
    write_csv(e.summary, report.with_suffix(".csv"))
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
    cost = e.deciles.filter((pl.col("model") == "model") & (pl.col("target") == "cost"))
    widest = ((cost["ratio_high"] - cost["ratio_low"]) / 2).max()
    r = e.readmission
    auc = lambda m: r.filter((pl.col("model") == m) & (pl.col("metric") == "roc_auc"))["value"][0]  # noqa: E731
    console.print(
        f"cost predictive ratio {e.metric('model', 'cost', 'predictive_ratio'):.3f} on the held-out year; "
        f"by decile {cost['ratio'].min():.3f} - {cost['ratio'].max():.3f} "
        f"(sampling error up to +/-{widest:.3f}), {cost['normalized_ratio'].min():.3f} - "
        f"{cost['normalized_ratio'].max():.3f} over the year's level; "
        f"readmission ROC-AUC {auc('model'):.3f} vs LACE {auc('lace'):.3f}"
    )
    console.print(
        f"registered {trained.card['name']} version {version} ({trained.card['training_seconds']} s); report: {report} and {report.with_suffix('.csv')}"
    )


@app.command()
def score(
    dataset: DatasetArgument = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Output file (.parquet or .csv): predictions, tiers and drivers per member (default: risk_scores.parquet in the workspace's outputs).",
            show_default=False,
            callback=out_file,
        ),
    ] = None,
    version: Annotated[
        int | None, typer.Option(help="Registered model version (default: the latest).")
    ] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Score the panel with the registered risk models: next-year predictions, tier, top drivers."""
    from risk_stratification.ml.pipeline import load_registered
    from risk_stratification.ml.pipeline import score as score_panel_risk
    from risk_stratification.ml.tiers import TIERS

    try:
        ws = open_workspace(workspace)
        ds = open_dataset(ws, dataset)
        with ws.store(read_only=True) as store:
            trained, used = load_registered(store, version)
        with console.status("scoring...") as status:
            scored = score_panel_risk(ds, trained, progress=lambda msg: status.update(msg))
    except VbcError as exc:
        fail(exc)
    out = output(ws, ds, out, "risk_scores.parquet")
    write_csv(scored, out) if out.suffix == ".csv" else write_parquet(scored, out)
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
    order = {t: i for i, t in enumerate(TIERS)}
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
