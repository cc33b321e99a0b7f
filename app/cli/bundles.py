"""Bundled-payment commands: episodes of a model on a dataset, and a hospital's reconciliation
with the tracks side by side and its distribution."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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
from app.export import write_csv
from app.format import count, loss, money, pct
from modeling.errors import VbcError

app = typer.Typer()
bundles_app = typer.Typer(
    help="Bundled payments: TEAM, BPCI Advanced or a commercial bundle (TOML).",
    no_args_is_help=True,
)
app.add_typer(bundles_app, name="bundles")

ModelOption = Annotated[
    str,
    typer.Option(
        "--model",
        help="team, bpci-advanced, or a commercial bundle file (.toml: name, window_days, anchor_drgs, anchor_hcpcs, price, ...).",
    ),
]
RulesYearOption = Annotated[
    int | None,
    typer.Option(
        "--rules-year",
        help="Model year whose rules apply (default: TEAM 2026, BPCI Advanced 2025).",
        show_default=False,
    ),
]


@bundles_app.command("episodes")
def episodes(
    dataset: DatasetArgument = None,
    model: ModelOption = "team",
    rules_year: RulesYearOption = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="CSV to write (default: <workspace>/outputs/<dataset>/episodes-MODEL.csv).",
            callback=out_file,
        ),
    ] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """One row per trigger: status (kept, cancelled, excluded) with its reason, dates, hospital
    and spending by setting."""
    from contracts.bundles.analysis import bundle_model
    from contracts.bundles.build import OUTPUT_COLUMNS, panel_episodes
    from modeling.core.panel import Panel

    try:
        ws = open_workspace(workspace)
        ds = open_dataset(ws, dataset)
        chosen = bundle_model(model, rules_year=rules_year)
        with console.status("building episodes...") as status:
            panel = Panel(ds, progress=lambda msg: status.update(msg))
            table = panel_episodes(panel, chosen.spec)
    except VbcError as exc:
        fail(exc)
    name = chosen.name.replace(" ", "_").replace("/", "_")
    path = output(ws, ds, out, f"episodes-{name}.csv")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_csv(table.episodes.select(OUTPUT_COLUMNS), path)
    _print_counts(table)
    _print_categories(table)
    console.print(f"wrote {table.episodes.height:,} episodes to {path}")


def _print_counts(table) -> None:  # noqa: ANN001
    import polars as pl

    summary = (
        table.episodes.with_columns(
            pl.col("reason").fill_null("").str.replace(r"episode \S+", "episode …").alias("reason")
        )
        .group_by("status", "reason")
        .agg(pl.len().alias("n"))
        .sort("status", "n", descending=[False, True])
    )
    t = Table(title=f"{table.spec.model}: every trigger accounted for")
    for c in ("status", "reason", "triggers"):
        t.add_column(c, justify="right" if c == "triggers" else "left")
    for r in summary.iter_rows(named=True):
        t.add_row(r["status"], r["reason"] or "-", count(r["n"]))
    t.add_row("[bold]all[/]", "", f"[bold]{count(table.episodes.height)}[/]")
    console.print(t)


def _print_categories(table) -> None:  # noqa: ANN001
    import polars as pl

    kept = table.episodes.filter(pl.col("status") == "kept")
    by = (
        kept.group_by("episode_category")
        .agg(
            pl.len().alias("n"),
            pl.col("total_spending").mean().alias("mean"),
            pl.col("spend_anchor").mean().alias("anchor"),
            pl.col("spend_readmission").mean().alias("readmission"),
            (pl.col("spend_snf") + pl.col("spend_irf") + pl.col("spend_home_health"))
            .mean()
            .alias("post_acute"),
        )
        .sort("n", descending=True)
    )
    t = Table(title="Kept episodes by category (mean paid per episode)")
    for c in ("category", "episodes", "total", "anchor", "readmissions", "SNF+IRF+HH"):
        t.add_column(c, justify="left" if c == "category" else "right")
    for r in by.iter_rows(named=True):
        t.add_row(
            r["episode_category"],
            count(r["n"]),
            money(r["mean"]),
            money(r["anchor"]),
            money(r["readmission"]),
            money(r["post_acute"]),
        )
    console.print(t)


@bundles_app.command("reconcile")
def reconcile(
    dataset: DatasetArgument = None,
    model: ModelOption = "team",
    track: Annotated[
        str | None,
        typer.Option(help="TEAM track 1, 2 or 3 (default 3); ignored for other models."),
    ] = None,
    rules_year: RulesYearOption = None,
    year: Annotated[
        int | None,
        typer.Option(
            "--year",
            help="Performance year: calendar year of the episodes reconciled (default: the last with kept episodes).",
            show_default=False,
        ),
    ] = None,
    hospital: Annotated[
        str | None,
        typer.Option(help="Facility NPI (default: the hospital with most episodes)."),
    ] = None,
    quality_score: Annotated[float, typer.Option(help="Composite quality score, 0-100.")] = 50.0,
    target_prices: Annotated[
        Path | None,
        typer.Option(
            help="CMS target-price CSV (priced_as, target_price[, facility_npi]); default: estimated from the panel."
        ),
    ] = None,
    draws: Annotated[
        int,
        typer.Option(
            help="Simulated performance years (0: none; at most 1,000,000).", min=0, max=1_000_000
        ),
    ] = 10_000,
    snf_cut: Annotated[
        float, typer.Option(help="Post-acute initiative: share of SNF spending cut, e.g. 0.10.")
    ] = 0.0,
    seed: Annotated[int, typer.Option(help="Random seed.", min=0, max=SEED_MAX)] = 1,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Write the reconciliation lines and tracks to this CSV.", callback=out_file
        ),
    ] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """A hospital's reconciliation, itemized: target vs spending, quality adjustment, stop-gain
    and stop-loss, post-episode test, payment or repayment; the tracks side by side; the
    distribution over simulated years."""
    from contracts.bundles.analysis import bundle_model, bundle_reconciliation
    from contracts.bundles.distribution import BundleUncertainty, simulate_reconciliation
    from modeling.core.panel import Panel

    try:
        ws = open_workspace(workspace)
        ds = open_dataset(ws, dataset)
        chosen = bundle_model(model, rules_year=rules_year)
        with console.status("building episodes and prices...") as status:
            panel = Panel(ds, progress=lambda msg: status.update(msg))
            result = bundle_reconciliation(
                panel,
                chosen,
                track=track,
                performance_year=year,
                facility_npi=hospital,
                quality_score=quality_score,
                target_price_file=target_prices,
            )
        sim = None
        if draws:
            u = BundleUncertainty(
                quality_score=quality_score, initiatives={"snf": snf_cut} if snf_cut else {}
            )
            sim = simulate_reconciliation(result.hospital, result.rules, u, draws=draws, seed=seed)
    except VbcError as exc:
        fail(exc)
    r = result.hospital.reconciliation
    steps = Table(
        title=f"Target price ({result.prices.method}), performance year {result.prices.performance_year}"
    )
    for c in ("step", "value", "note"):
        steps.add_column(c, justify="right" if c == "value" else "left")
    for row in result.prices.steps.iter_rows(named=True):
        steps.add_row(row["step"], row["value"], row["note"])
    console.print(steps)
    title = (
        f"{chosen.name} track {result.rules.track} — hospital {result.hospital.facility_npi}, "
        f"{result.prices.performance_year} (rules of {chosen.spec.performance_year or 'the bundle'})"
    )
    t = Table(title=title)
    for c in ("step", "amount", "note"):
        t.add_column(c, justify="right" if c == "amount" else "left")
    for row in r.lines().iter_rows(named=True):
        value = count(row["amount"]) if row["step"] == "episodes" else money(row["amount"])
        t.add_row(row["step"], value, row["note"])
    console.print(t)
    if result.tracks.height:
        tt = Table(title="Tracks side by side (same episodes and prices)")
        for c in (
            "track",
            "reconciliation",
            "quality-adjusted",
            "capped",
            "payment (+) / repayment (-)",
            "cap binds",
        ):
            tt.add_column(c, justify="left" if c == "track" else "right")
        for row in result.tracks.iter_rows(named=True):
            binds = (
                "stop-gain"
                if row["hits_stop_gain"]
                else ("stop-loss" if row["hits_stop_loss"] else "-")
            )
            tt.add_row(
                row["track"],
                money(row["reconciliation_amount"]),
                money(row["quality_adjusted"]),
                money(row["capped"]),
                money(row["amount"]),
                binds,
            )
        console.print(tt)
    if sim is not None:
        s = sim.summary()
        st = Table(title=f"Distribution over {draws:,} simulated years", show_header=False)
        st.add_column("figure")
        st.add_column("value", justify="right")
        for label, value in (
            ("expected payment (+) / repayment (-)", money(s.expected_settlement)),
            ("chance of a repayment", pct(s.p_owes_losses)),
            ("chance the stop-gain binds", pct(s.p_hits_payment_limit)),
            ("chance the stop-loss binds", pct(s.p_hits_loss_cap)),
            ("5th percentile", money(s.p05)),
            ("median", money(s.median)),
            ("95th percentile", money(s.p95)),
            ("VaR 95% (loss)", loss(s.value_at_risk_95)),
            ("CVaR 95% (mean loss in the worst 5%)", loss(s.cvar_95)),
        ):
            st.add_row(label, value)
        console.print(st)
    if out:
        import polars as pl

        lines = r.lines().with_columns(pl.lit("reconciliation").alias("section"))
        write_csv(lines, out)
        if result.tracks.height:
            write_csv(result.tracks, out.with_name(out.stem + "-tracks.csv"))
        console.print(f"wrote {out}")
