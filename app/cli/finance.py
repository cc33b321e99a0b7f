"""Finance commands: completion of unpaid claims, the cost forecast, budget against actual with the
year end and its settlement. Each command arranges inputs and outputs around
``modeling.marts.finance`` and ``contracts.year_end``."""

from __future__ import annotations

import datetime as dt
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
from app.export import neutralized, record_file_export
from app.format import money, pct
from modeling.errors import ParameterError, VbcError

app = typer.Typer()

AsOf = Annotated[
    str,
    typer.Option(
        "--as-of",
        help="Valuation date (YYYY-MM-DD): only claims paid on or before it count.",
        show_default=False,
    ),
]


def _date(text: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ParameterError(f"{option} must be a date as YYYY-MM-DD (got {text!r}).") from None


def write_table(frame: pl.DataFrame, path: Path) -> None:
    """CSV (UTF-8 with a byte-order mark, so Excel reads it as is) or, for .xlsx, a workbook."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".xlsx":
        neutralized(frame).write_excel(path, autofit=True)
    else:
        neutralized(frame).write_csv(path, include_bom=True)
    record_file_export(frame, path)


def _completion(panel, as_of: dt.date, window: int, draws: int):
    from modeling.marts.finance.completion import CompletionOptions, complete

    with console.status("completing claims (lag triangles by service category)..."):
        return complete(panel, as_of=as_of, options=CompletionOptions(window=window, draws=draws))


@app.command()
def completion(
    dataset: DatasetArgument = None,
    as_of: AsOf = "",
    out: Annotated[
        Path | None,
        typer.Option(
            help="CSV (or .xlsx) to write, one row per incurred month and category.",
            callback=out_file,
        ),
    ] = None,
    window: Annotated[
        int, typer.Option(help="Latest diagonals averaged for the link factors.")
    ] = 12,
    draws: Annotated[
        int,
        typer.Option(
            help="Bootstrap draws for the interval (0: none; at most 10,000).", min=0, max=10_000
        ),
    ] = 500,
    detail: Annotated[
        bool, typer.Option(help="Also write lag, member months, PMPM and the bootstrap interval.")
    ] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Completed claims (IBNR) by incurred month and service category, and `all`, as of a date."""
    from modeling.core.panel import Panel
    from modeling.marts.finance.completion import ALL, TABLE_COLUMNS

    try:
        ws = open_workspace(workspace)
        ds = open_dataset(ws, dataset)
        when = _date(as_of, "--as-of") if as_of else None
        if when is None:
            raise ParameterError("Give the valuation date: --as-of YYYY-MM-DD.")
        done = _completion(Panel(ds), when, window, draws)
    except VbcError as exc:
        fail(exc)
    path = output(ws, ds, out, f"completion-{when.isoformat()}.csv")
    write_table(done.table if detail else done.table.select(TABLE_COLUMNS), path)
    recent = done.table.filter(pl.col("service_category") == ALL).sort("incurred_month").tail(8)
    table = Table(title=f"Completed claims, medical and pharmacy, as of {when} (paid through it)")
    for col in (
        "incurred",
        "lag",
        "paid to date",
        "completion",
        "estimated",
        "IBNR",
        "IBNR s.e.",
        "method",
    ):
        table.add_column(col, justify="left" if col in ("incurred", "method") else "right")
    for r in recent.iter_rows(named=True):
        table.add_row(
            r["incurred_month"].strftime("%Y-%m"),
            str(r["lag"]),
            money(r["paid_to_date"]),
            pct(r["completion_factor"]),
            money(r["estimated_incurred"]),
            money(r["ibnr"]),
            money(r["ibnr_se"]),
            r["method"],
        )
    wide().print(table)
    lags = done.factors.filter(pl.col("lag") <= 3).pivot(
        "lag", index="service_category", values="completion_factor"
    )
    factors = Table(
        title="Completion factors by lag (share of the ultimate paid by the end of lag k)"
    )
    factors.add_column("service category")
    for k in range(4):
        factors.add_column(f"lag {k}", justify="right")
    for r in lags.iter_rows():
        factors.add_row(r[0], *[pct(v) for v in r[1:]])
    wide().print(factors)
    speed = f"latest paid month at {done.payment_speed:.0%} of its expected payments" + (
        f"; processing backlog of {money(done.backlog)} restated as unpaid"
        if done.speed_adjusted
        else ""
    )
    console.print(f"[dim]{speed}; wrote {path}[/]")


@app.command("forecast")
def forecast_command(
    dataset: DatasetArgument = None,
    as_of: AsOf = "",
    months: Annotated[int, typer.Option(help="Months to forecast after the as-of date.")] = 18,
    out: Annotated[
        Path | None, typer.Option(help="CSV (or .xlsx) to write.", callback=out_file)
    ] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """PMPM and total cost by service category for the months after the as-of date, with
    backtest-calibrated 80% intervals, against seasonal naive."""
    from modeling.core.panel import Panel
    from modeling.marts.finance.forecast import (
        MIN_ESTIMATED_POINTS,
        ForecastOptions,
        backtest_summary,
        forecast,
    )
    from modeling.marts.finance.trend import monthly_cost

    try:
        ws = open_workspace(workspace)
        ds = open_dataset(ws, dataset)
        if not as_of:
            raise ParameterError("Give the valuation date: --as-of YYYY-MM-DD.")
        when = _date(as_of, "--as-of")
        panel = Panel(ds)
        done = _completion(panel, when, 12, 0)
        with console.status("forecasting (rolling-origin backtest, then the forecast)..."):
            history = monthly_cost(panel, completion=done)
            fc = forecast(history, panel, options=ForecastOptions(months=months))
    except VbcError as exc:
        fail(exc)
    path = output(ws, ds, out, f"forecast-{when.isoformat()}.csv")
    write_table(fc.table, path)
    total = fc.table.filter(pl.col("service_category") == "total")
    table = Table(title=f"Forecast PMPM and total cost (80% interval), as of {when}")
    for col in ("month", "PMPM", "80% interval", "seasonal naive", "member months", "total cost"):
        table.add_column(col, justify="left" if col == "month" else "right")
    for r in total.iter_rows(named=True):
        table.add_row(
            r["month"].strftime("%Y-%m"),
            money(r["pmpm"], cents=True),
            f"{money(r['pmpm_lo'])} - {money(r['pmpm_hi'])}",
            money(r["baseline_pmpm"], cents=True),
            f"{r['member_months']:,.0f}",
            money(r["total_cost"]),
        )
    wide().print(table)
    summary = backtest_summary(fc.backtest)
    if summary.height:
        engines = Table(
            title="Engine by series: Theta unless the rolling-origin backtest in the history "
            "shows another clearly better"
        )
        for col in ("series", "engine", "MAPE", "seasonal naive", "80% +- (1-3 mo)", "80% covers"):
            engines.add_column(col, justify="left" if col in ("series", "engine") else "right")
        # the stated interval of the first three forecast months, as the table has it
        near = (
            fc.table.sort("month")
            .group_by("service_category", maintain_order=True)
            .head(3)
            .group_by("service_category")
            .agg((pl.col("pmpm_hi") / pl.col("pmpm") - 1).mean().alias("near"))
        )
        j = fc.choice.join(
            summary.select("service_category", "coverage"), on="service_category", how="left"
        ).join(near, on="service_category", how="left")
        for r in j.iter_rows(named=True):
            engines.add_row(
                r["service_category"],
                ENGINE_NAMES.get(r["engine"], r["engine"]),
                pct(r["mape"]),
                pct(r["baseline_mape"]),
                pct(r["near"]),
                pct(r["coverage"]),
            )
        wide().print(engines)
        console.print(
            "[dim]Engines and coverage are in-sample (chosen on this backtest); the interval is the "
            "backtest's own error quantile: by horizon for the categories (pooled, each scaled by "
            "its own); for the total, of the forecasting procedure's own errors (the engine chosen "
            "at each origin from what was known then), widening with the horizon as much as those "
            f"errors grow (its engine's own interval while the backtest holds fewer than "
            f"{MIN_ESTIMATED_POINTS} of its points).[/]"
        )
    console.print(f"[dim]wrote {path}[/]")


ENGINE_NAMES = {
    "model": "AutoETS",
    "level": "ETS, no trend",
    "theta": "Theta",
    "combination": "AutoETS + seasonal naive",
    "SeasonalNaive": "seasonal naive",
}


@app.command()
def budget(
    dataset: DatasetArgument = None,
    budget_file: Annotated[
        Path | None,
        typer.Option(
            "--budget",
            help="CSV: service_category, pmpm [, member_months] for the year (or with a month column).",
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Valuation date (default: the last month end of the data)."),
    ] = None,
    contract: Annotated[
        str | None,
        typer.Option(
            help="Preset or spec file for the year-end settlement (default: MSSP BASIC E of the year)."
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="CSV (or .xlsx) of the variance by category.", callback=out_file),
    ] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Budget against completed actuals year to date (volume and rate variance), the run-rate to
    year end, and the contract settlement that year implies."""
    from contracts.history import panel_history
    from contracts.specs import load_spec
    from contracts.year_end import (
        budget_vs_actual,
        monthly_budget,
        read_budget,
        year_end,
        year_end_settlement,
    )
    from modeling.core.panel import Panel
    from modeling.marts.finance.forecast import ForecastOptions, forecast
    from modeling.marts.finance.trend import monthly_cost

    try:
        ws = open_workspace(workspace)
        ds = open_dataset(ws, dataset)
        if budget_file is None:
            raise ParameterError("Give the budget: --budget FILE (service_category, pmpm).")
        panel = Panel(ds)
        when = _date(as_of, "--as-of") if as_of else _last_month_end(panel)
        year = when.year
        bud = read_budget(budget_file, calendar_year=year)
        done = _completion(panel, when, 12, 200)
        with console.status("forecasting the rest of the year..."):
            history = monthly_cost(panel, completion=done)
            fc = forecast(
                history,
                panel,
                options=ForecastOptions(months=max(12 - when.month, 1) + 1),
            )
        through = history["incurred_month"].max()
        variance = budget_vs_actual(
            history,
            monthly_budget(bud, history, calendar_year=year),
            calendar_year=year,
            through=through,
        )
        outlook = year_end(done, fc, calendar_year=year)
        spec = load_spec(contract or f"mssp-basic-e-{year}")
        with console.status("reading the panel history for the settlement...") as status:
            hist = panel_history(panel, progress=lambda msg: status.update(msg))
        settled = year_end_settlement(spec, hist, outlook)
    except VbcError as exc:
        fail(exc)
    path = output(ws, ds, out, f"budget-{when.isoformat()}.csv")
    write_table(variance, path)
    table = Table(title=f"Budget vs completed actual, {year} to {through:%B} (as of {when})")
    for col in (
        "category",
        "actual PMPM",
        "budget PMPM",
        "actual",
        "budget",
        "volume",
        "rate",
        "variance",
    ):
        table.add_column(col, justify="left" if col == "category" else "right")
    for r in variance.iter_rows(named=True):
        table.add_row(
            r["service_category"],
            money(r["actual_pmpm"], cents=True),
            money(r["budget_pmpm"], cents=True),
            money(r["actual"]),
            money(r["budget"]),
            money(r["volume_variance"]),
            money(r["rate_variance"]),
            money(r["variance"]),
        )
    wide().print(table)
    console.print(
        f"Year-end {year}: {money(outlook.total)} (80% range {money(outlook.low)} - {money(outlook.high)}), "
        f"Parts A and B {money(outlook.medical)}, {outlook.member_months:,.0f} member months."
    )
    s = settled.summary
    console.print(
        f"{spec.name}: expected settlement of the projected year {money(settled.expected)}; "
        f"5th-95th percentile {money(s.p05)} to {money(s.p95)}; chance of shared savings {pct(s.p_shared_savings)}, "
        f"of owing losses {pct(s.p_owes_losses)}."
    )
    console.print(f"[dim]wrote {path}[/]")


def _last_month_end(panel) -> dt.date:
    """The end of the panel's last enrolled month."""
    last = panel.scan("member_months").select(pl.col("year_month").max()).collect().item()
    if last is None:
        raise ParameterError("The panel has no member months; give --as-of.")
    return dt.date(last.year + last.month // 12, last.month % 12 + 1, 1) - dt.timedelta(days=1)
