"""Benchmark and backtest of finance: completion, trend bridge and forecast.

Usage:
    python benchmarks/bench_finance.py DATASET [--as-of 2025-06-30] [--backtest]

Timing (the target: completion + trend bridge + forecast for 1,000,000 members x 3 years in
60 s or less on 2 cores): the core tables it reads (member months, claim lines) are derived
first and timed apart (once per dataset, shared by every engine); then, in one process, the
completion with its bootstrap, the completed monthly cost (dollar and claim-count triangles),
the risk input of the bridge (every member's CMS-HCC V28 score by year, from the claims, and
its monthly mean), the trend bridge by year and by month with the seasonal index, and the
18-month forecast with its rolling-origin backtest. Peak memory: run it under
``/usr/bin/time -v`` (its maximum resident set size); the script prints its own peak too.

``--backtest`` (the correctness targets; the synthetic panel is fully run out, so truth is
known): the completion cut at every month end from 2024-06 to 2025-09, each incurred month's
completed total against what was eventually paid; the forecast cut at month ends 2024-06 to
2024-12 and compared with the completed truth for up to 12 months after each cut (its 80%
intervals' coverage and MAPE against seasonal naive, 12-month horizon from 2024-12-31);
``--forecast-cuts 2025`` cuts at 2025-01 .. 2025-06 instead (6-11 months of truth each).
``--engines`` also forecasts from every cut with every candidate engine (Theta, SES, damped and
Holt's trend, their M4 Comb, a drift of the latest 12 months, Theta and SES's mean, seasonal
naive), the total both
directly and as the sum of its categories. The forecast backtest's headline figures carry
standard errors clustered by target month.
``--split 5 --split-out DIR`` also runs the completion backtest on five disjoint panels of the
dataset's people (the completion's noise by panel size: the oracle pattern's error spread
should grow as sqrt(5) from the whole to its fifths if the misses are sampling noise).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import time
import warnings

import polars as pl

from contracts.year_end import person_year_risk
from modeling.core.panel import Panel
from modeling.marts.finance.completion import ALL, CompletionOptions, complete, complete_cells
from modeling.marts.finance.forecast import (
    ForecastOptions,
    credible_through,
    forecast,
    pmpm_series,
)
from modeling.marts.finance.trend import bridge, monthly_cost, risk_by_month, seasonal_index
from modeling.marts.finance.triangles import (
    Valuation,
    month_index,
    monthly_member_months,
    paid_cells,
)

warnings.filterwarnings("ignore")
# fit on the development-method months only (``credible_through``): measured worse here
TRAIN_CREDIBLE = os.environ.get("TRAIN_CREDIBLE", "0") == "1"


def month_end(year: int, month: int) -> dt.date:
    return dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)


def timing(panel: Panel, as_of: dt.date) -> None:
    t0 = time.perf_counter()
    panel.materialize(("member_months", "claim_lines"))
    core = time.perf_counter() - t0
    steps: dict[str, tuple[float, float]] = {}

    def timed(name: str, run):  # type: ignore[no-untyped-def]
        wall, cpu = time.perf_counter(), time.process_time()
        out = run()
        steps[name] = (time.perf_counter() - wall, time.process_time() - cpu)
        return out

    done = timed(
        "completion (one read of the claim lines for dollars and claim counts; Mack, 500 bootstrap draws, hindsight calibration)",
        lambda: complete(panel, as_of=as_of, options=CompletionOptions(draws=500)),
    )
    monthly = timed(
        "completed monthly cost (claim-count triangles from the completion's cells)",
        lambda: monthly_cost(panel, completion=done),
    )
    risk = timed(
        "risk by month for the bridge (CMS-HCC V28 person-year scores from the claims)",
        lambda: risk_by_month(person_year_risk(panel, panel.years()), panel.scan("member_months")),
    )
    timed(
        "trend bridge (year and month, with the risk factor) and seasonal index",
        lambda: (
            bridge(monthly, risk=risk, grain="year"),
            bridge(monthly, risk=risk, grain="month"),
            seasonal_index(monthly),
        ),
    )
    timed(
        "forecast 18 months (12-origin backtest, engine per series, membership flows)",
        lambda: forecast(monthly, panel, options=ForecastOptions(months=18)),
    )
    wall = sum(v[0] for v in steps.values())
    cpu = sum(v[1] for v in steps.values())
    print(f"core tables derived (once per dataset, not counted): {core:.1f} s")
    for k, (w, c) in steps.items():
        print(f"  {k}: wall {w:.1f} s, CPU {c:.1f} s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    print(
        f"TOTAL completion + trend + forecast: wall {wall:.1f} s, CPU {cpu:.1f} s "
        f"(target <= 60 s); peak RSS {peak:.2f} GB; load average {os.getloadavg()[0]:.1f}"
    )


def completion_backtest(panel: Panel) -> None:
    mm = monthly_member_months(panel)
    first = int(mm["incurred"].min())
    cells = paid_cells(panel, Valuation.at(dt.date(2030, 12, 31)))
    truth = cells.group_by("incurred").agg(pl.col("paid").sum().alias("truth"))
    rows = []
    for y, m in [(2024, k) for k in range(6, 13)] + [(2025, k) for k in range(1, 10)]:
        v = Valuation.at(month_end(y, m))
        cut = cells.filter(pl.col("incurred") + pl.col("lag") <= v.paid_through)
        done = complete_cells(cut, mm, v, first=first, options=CompletionOptions(draws=500))
        t = (
            done.table.filter(pl.col("service_category") == ALL)
            .with_columns(month_index("incurred_month").alias("incurred"))
            .join(truth, on="incurred")
        )
        rows.append(t.with_columns(pl.lit(v.as_of).alias("as_of")))
    r = pl.concat(rows).with_columns(
        (pl.col("estimated_incurred") / pl.col("truth") - 1).alias("error"),
        (
            (pl.col("paid_to_date") + pl.col("ibnr_lo") <= pl.col("truth"))
            & (pl.col("truth") <= pl.col("paid_to_date") + pl.col("ibnr_hi"))
        ).alias("covered"),
    )
    ripe = r.filter(pl.col("lag").is_between(3, 12))
    latest = r.filter(pl.col("lag") == 0)
    oracle = _oracle_errors(cells, r.partition_by("as_of"))
    print(
        f"completion backtest: {r['as_of'].n_unique()} month-end cuts 2024-06 .. 2025-09, total (medical + pharmacy)"
    )
    print(
        f"  months with 3-12 months of run-out: {ripe.height}; |error| max {ripe['error'].abs().max():.2%}, "
        f"mean {ripe['error'].abs().mean():.2%}; within 1%: {(ripe['error'].abs() <= 0.01).mean():.1%}"
    )
    print(
        f"  latest month (lag 0): |error| max {latest['error'].abs().max():.2%}, mean {latest['error'].abs().mean():.2%}; "
        f"within 10%: {(latest['error'].abs() <= 0.10).mean():.1%}"
    )
    o_ripe = oracle.filter(pl.col("lag").is_between(3, 12))
    print(
        "  the same months completed with the oracle pattern (each category's own average "
        "development over its fully paid 2023-2024 incurred months, no estimation error): "
        f"within 1%: {(o_ripe['oracle_error'].abs() <= 0.01).mean():.1%}, "
        f"max {o_ripe['oracle_error'].abs().max():.2%}"
    )
    for lag in (3, 4, 5):
        x = oracle.filter(pl.col("lag") == lag)
        print(
            f"    lag {lag}: error sd {x['error'].std():.2%} (oracle {x['oracle_error'].std():.2%}); "
            f"still unpaid at the cut, mean {x['unpaid'].mean():.2%} of the month"
        )
    pooled = r.filter(pl.col("lag") <= 12)
    print(
        f"  80% interval coverage, every month with 0-12 months of run-out in every cut: "
        f"{pooled['covered'].mean():.1%} of {pooled.height}"
    )
    for lag in range(0, 4):
        x = r.filter(pl.col("lag") == lag)
        print(
            f"  lag {lag}: mean |error| {x['error'].abs().mean():.2%}, max {x['error'].abs().max():.2%}, "
            f"80% interval covers {x['covered'].mean():.0%}"
        )


def _oracle_errors(cells: pl.DataFrame, rows: list[pl.DataFrame]) -> pl.DataFrame:
    """Each cut's total error beside the error of an oracle completion: every category's paid to
    date divided by its true average completion at that lag (from the incurred months of
    2023-2024, fully paid), so the pattern has no estimation error; what is left is the
    variation of the payments still to come. as_of, incurred, lag, error, oracle_error, unpaid."""
    base = cells.filter(pl.col("incurred") < 2025 * 12)
    ultimate = base.group_by("service_category").agg(pl.col("paid").sum().alias("u"))
    pattern = (
        base.group_by("service_category", "lag")
        .agg(pl.col("paid").sum())
        .sort("service_category", "lag")
        .with_columns(pl.col("paid").cum_sum().over("service_category").alias("c"))
        .join(ultimate, on="service_category")
        .select("service_category", "lag", (pl.col("c") / pl.col("u")).alias("cf"))
    )
    truth = cells.group_by("service_category", "incurred").agg(pl.col("paid").sum().alias("t"))
    out = []
    for r in rows:
        cut = r["as_of"][0]
        v = Valuation.at(cut)
        paid = (
            cells.filter(pl.col("incurred") + pl.col("lag") <= v.paid_through)
            .group_by("service_category", "incurred")
            .agg(pl.col("paid").sum(), (v.paid_through - pl.col("incurred").first()).alias("lag"))
            .join(pattern, on=["service_category", "lag"], how="left")
            .join(truth, on=["service_category", "incurred"])
            .group_by("incurred")
            .agg(
                (pl.col("paid") / pl.col("cf").fill_null(1.0)).sum().alias("oracle"),
                pl.col("paid").sum(),
                pl.col("t").sum(),
            )
        )
        out.append(
            r.select("incurred", "lag", "error")
            .join(paid, on="incurred")
            .select(
                "incurred",
                "lag",
                "error",
                (pl.col("oracle") / pl.col("t") - 1).alias("oracle_error"),
                (1 - pl.col("paid") / pl.col("t")).alias("unpaid"),
            )
        )
    return pl.concat(out)


def forecast_backtest(
    panel: Panel,
    cuts: list[tuple[int, int]] | None = None,
    *,
    total_interval_shape: str = ForecastOptions.total_interval_shape,
) -> None:
    truth = pmpm_series(monthly_cost(panel)).rename(
        {"unique_id": "service_category", "ds": "month", "y": "truth"}
    )
    rows, totals = [], []
    for y, m in cuts or [(2024, k) for k in range(6, 13)]:
        as_of = month_end(y, m)
        done = complete(panel, as_of=as_of, options=CompletionOptions(draws=0))
        monthly = monthly_cost(panel, completion=done)
        fc = forecast(
            monthly,
            panel,
            options=ForecastOptions(months=12, total_interval_shape=total_interval_shape),
            train_through=credible_through(done.table) if TRAIN_CREDIBLE else None,
        )
        totals.append(
            fc.choice.filter(pl.col("service_category") == "total")
            .select("engine", "points")
            .with_columns(pl.lit(as_of).alias("as_of"))
        )
        rows.append(
            fc.table.join(truth, on=["service_category", "month"]).with_columns(
                pl.lit(as_of).alias("as_of"),
                pl.int_range(1, pl.len() + 1).over("service_category").alias("horizon"),
            )
        )
    r = pl.concat(rows).with_columns(
        (pl.col("pmpm") / pl.col("truth") - 1).abs().alias("ape"),
        (pl.col("baseline_pmpm") / pl.col("truth") - 1).abs().alias("ape_naive"),
        ((pl.col("truth") >= pl.col("pmpm_lo")) & (pl.col("truth") <= pl.col("pmpm_hi"))).alias(
            "covered"
        ),
    )
    dec = r.filter(pl.col("as_of") == dt.date(2024, 12, 31))
    cut_dates = sorted(set(r["as_of"].to_list()))
    print(
        f"forecast backtest: cuts at month ends {cut_dates[0]:%Y-%m} .. {cut_dates[-1]:%Y-%m}, "
        "up to 12 months each, against the fully paid truth"
    )
    print(
        f"  80% interval coverage, every category, horizon and cut: {r['covered'].mean():.1%} of {r.height}"
    )
    tot = r.filter(pl.col("service_category") == "total")
    print(f"  80% interval coverage, total: {tot['covered'].mean():.1%} of {tot.height}")
    # the total's interval cut by cut: its engine, its in-history backtest points (fewer than
    # MIN_SCALE_POINTS: the engine's own interval), half-widths and errors (log scale)
    per_cut = (
        tot.with_columns(
            ((pl.col("pmpm_hi") / pl.col("pmpm_lo")).log() / 2).alias("hw"),
            (pl.col("truth") / pl.col("pmpm")).log().abs().alias("err"),
        )
        .group_by("as_of")
        .agg(
            pl.col("hw").first().alias("hw1"),
            pl.col("hw").get(pl.min_horizontal(pl.len() - 1, 5)).alias("hw6"),
            pl.col("err").quantile(0.8).alias("err80"),
            pl.col("covered").mean().alias("covered"),
        )
        .join(pl.concat(totals), on="as_of")
        .sort("as_of")
    )
    print(
        "  the total by cut: engine, backtest points, half-width 1 and 6 months ahead, |error| 80% quantile, coverage"
    )
    for row in per_cut.iter_rows(named=True):
        print(
            f"    {row['as_of']:%Y-%m}  {row['engine']:<12} {row['points']:>3}  "
            f"{row['hw1']:.1%} {row['hw6']:.1%}  {row['err80']:.1%}  {row['covered']:.0%}"
        )
    bucket = ((pl.col("horizon") - 1) // 3 * 3 + 1).alias("from")
    for name, part in (
        ("categories", r.filter(pl.col("service_category") != "total")),
        ("total", tot),
    ):
        by_h = part.group_by(bucket).agg(pl.col("covered").mean(), pl.len()).sort("from")
        cells = ", ".join(
            f"{f}-{f + 2}: {c:.0%} ({n})"
            for f, c, n in by_h.select("from", "covered", "len").iter_rows()
        )
        print(f"  coverage by horizon, {name}: {cells}")
    if dec.height == 0:
        dec = r.filter(pl.col("as_of") == cut_dates[0])
    by = (
        r.group_by("service_category")
        .agg(
            pl.col("engine").mode().first().alias("engine"),
            pl.col("engine").n_unique().alias("engines"),
            pl.col("covered").mean().alias("coverage"),
            pl.col("ape").mean().alias("mape"),
            pl.col("ape_naive").mean().alias("mape_naive"),
            pl.len().alias("points"),
        )
        .join(
            dec.group_by("service_category").agg(
                pl.col("ape").mean().alias("mape12"), pl.col("ape_naive").mean().alias("naive12")
            ),
            on="service_category",
        )
        .sort("service_category")
    )
    print(
        "  by category, all cuts and horizons (engine chosen per cut by the in-history backtest;"
        " the most frequent shown):"
    )
    print(
        f"    {'category':<27} {'engine':<14} {'coverage':>8} {'MAPE':>7} {'naive':>7}"
        f" {'MAPE from ' + str(dec['as_of'][0])[:7]:>24} {'naive':>7}"
    )
    for row in by.iter_rows(named=True):
        engine = row["engine"] + ("*" if row["engines"] > 1 else "")
        print(
            f"    {row['service_category']:<27} {engine:<14} {row['coverage']:8.1%} {row['mape']:7.2%}"
            f" {row['mape_naive']:7.2%} {row['mape12']:24.2%} {row['naive12']:7.2%}"
        )
    at_least = (by["mape"] <= by["mape_naive"] + 1e-12).sum()
    print(
        f"  categories (and total) at least as good as seasonal naive over all cuts: {at_least} of {by.height}"
    )
    print(
        f"  all cuts, all categories: MAPE {r['ape'].mean():.2%} vs naive {r['ape_naive'].mean():.2%} "
        f"({1 - r['ape'].mean() / r['ape_naive'].mean():+.0%})"
    )
    _with_errors(r, tot)


def _cluster_mean(frame: pl.DataFrame, column: str) -> tuple[float, float, int]:
    """Mean of ``column`` and its standard error with the points clustered by target month:
    every cut's forecast of one month shares that month's outcome, so the points of a rolling
    backtest are far from independent (a cluster-robust, sandwich standard error of a mean).
    Returns mean, standard error, clusters."""
    g = frame.group_by("month").agg(pl.col(column).cast(pl.Float64).sum().alias("s"), pl.len())
    n = float(g["len"].sum())
    mean = float(g["s"].sum()) / n
    k = g.height
    resid = g["s"].to_numpy() - mean * g["len"].to_numpy()
    se = (k / (k - 1) * float((resid**2).sum())) ** 0.5 / n if k > 1 else float("nan")
    return mean, se, k


def _with_errors(r: pl.DataFrame, tot: pl.DataFrame) -> None:
    """The backtest's headline figures with standard errors clustered by target month."""
    c, cs, k = _cluster_mean(tot, "covered")
    a, as_, _ = _cluster_mean(r, "covered")
    m, ms, _ = _cluster_mean(tot, "ape")
    nv, ns, _ = _cluster_mean(tot, "ape_naive")
    g, gs, _ = _cluster_mean(
        tot.with_columns((pl.col("ape") - pl.col("ape_naive")).alias("d")), "d"
    )
    print(
        f"  with standard errors clustered by target month ({k} months): coverage, total "
        f"{c:.1%} +- {cs:.1%}, every series {a:.1%} +- {as_:.1%}; total MAPE {m:.2%} +- {ms:.2%} "
        f"vs seasonal naive {nv:.2%} +- {ns:.2%}, difference {g:+.2%} +- {gs:.2%} "
        f"(MAPE {1 - m / nv:.0%} below naive's)"
    )


ENGINES = ("theta", "ses", "damped", "holt", "shd", "drift12", "theta_ses", "naive")


def engines_backtest(panel: Panel, cuts: list[tuple[int, int]]) -> None:
    """Every candidate engine forecast out of sample from every cut (fitted on the completed
    history, as ``forecast`` fits), the total forecast directly and as the sum of the category
    forecasts, against the fully paid truth: MAPE per cut set with its standard error over the
    cuts (the mean of the cuts' MAPEs; cuts share target months, so it is optimistic) and as a
    share of seasonal naive's. Engines on the log of the seasonally adjusted PMPM
    (``seasonal_factors``): theta (the default), ses (AutoETS ANN), damped (AAdN), holt (AAN),
    shd (the mean of ses, holt and damped: the M4 competition's Comb benchmark), drift12 (the
    ses level plus the least-squares slope of the latest 12 months), theta_ses (the mean in logs
    of theta and ses), naive (seasonal naive)."""
    import numpy as np
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS, SeasonalNaive, Theta

    from modeling.marts.finance.forecast import seasonal_factors

    truth = pmpm_series(monthly_cost(panel)).rename({"y": "truth"})
    rows = []
    for y, m in cuts:
        as_of = month_end(y, m)
        done = complete(panel, as_of=as_of, options=CompletionOptions(draws=0))
        series = pmpm_series(monthly_cost(panel, completion=done))
        season = seasonal_factors(series)
        month = pl.col("ds").dt.month().cast(pl.Int8).alias("m")
        adj = (
            series.with_columns(month)
            .join(season, on=["unique_id", "m"])
            .select("unique_id", "ds", (pl.col("y").log() - pl.col("s")).alias("y"))
        )
        models = [
            Theta(season_length=1, alias="theta"),
            AutoETS(season_length=1, model="ANN", alias="ses"),
            AutoETS(season_length=1, model="AAN", damped=True, alias="damped"),
            AutoETS(season_length=1, model="AAN", damped=False, alias="holt"),
        ]
        fc = StatsForecast(models=models, freq="1mo", n_jobs=1).forecast(df=adj, h=12)
        naive = StatsForecast(
            models=[SeasonalNaive(season_length=12, alias="naive")], freq="1mo", n_jobs=1
        ).forecast(df=series.with_columns(pl.col("y").log()), h=12)
        slopes = {
            uid: float(np.polyfit(np.arange(12), part.sort("ds")["y"].tail(12).to_numpy(), 1)[0])
            for (uid,), part in adj.group_by("unique_id")
        }
        slope = pl.DataFrame({"unique_id": list(slopes), "b": list(slopes.values())})
        fc = (
            fc.with_columns(month, pl.int_range(1, pl.len() + 1).over("unique_id").alias("h"))
            .join(season, on=["unique_id", "m"])
            .join(naive, on=["unique_id", "ds"])
            .join(slope, on="unique_id")
            .with_columns(
                (pl.col("ses") + pl.col("b") * pl.col("h")).alias("drift12"),
                ((pl.col("ses") + pl.col("holt") + pl.col("damped")) / 3).alias("shd"),
                ((pl.col("theta") + pl.col("ses")) / 2).alias("theta_ses"),
            )
            .with_columns(*((pl.col(e) + pl.col("s")).exp() for e in ENGINES if e != "naive"))
            .with_columns(pl.col("naive").exp())
            .select("unique_id", "ds", *ENGINES)
        )
        rows.append(fc.with_columns(pl.lit(as_of).alias("as_of")))
    r = pl.concat(rows).join(truth, on=["unique_id", "ds"])
    bottom_up = (
        r.filter(pl.col("unique_id") != "total")
        .group_by("as_of", "ds")
        .agg(*(pl.col(e).sum() for e in (*ENGINES, "truth")))
        .with_columns(pl.lit("total, sum of categories").alias("unique_id"))
    )
    r = pl.concat([r.select(bottom_up.columns), bottom_up])
    print(
        f"engines out of sample: {len(cuts)} cuts {month_end(*cuts[0]):%Y-%m} .. "
        f"{month_end(*cuts[-1]):%Y-%m}, up to 12 months each; MAPE +- standard error over cuts "
        "(share of seasonal naive's)"
    )
    for uid in ("total", "total, sum of categories"):
        per = (
            r.filter(pl.col("unique_id") == uid)
            .group_by("as_of")
            .agg(*((pl.col(e) / pl.col("truth") - 1).abs().mean() for e in ENGINES))
        )
        k = per.height
        naive = per["naive"].mean()
        cells = "  ".join(
            f"{e} {per[e].mean():.2%} +- {(per[e].std() or 0.0) / k**0.5:.2%} "
            f"({per[e].mean() / naive:.2f})"  # type: ignore[operator]
            for e in ENGINES
        )
        print(f"  {uid}: {cells}")
    cats = r.filter(~pl.col("unique_id").str.starts_with("total"))
    by = cats.group_by("unique_id").agg(
        *((pl.col(e) / pl.col("truth") - 1).abs().mean() for e in ENGINES)
    )
    print(
        "  categories, mean of their MAPEs: "
        + "  ".join(f"{e} {by[e].mean():.2%}" for e in ENGINES)
    )


def split_panel(dataset: str, parts: int, out: str) -> list[str]:
    """``parts`` disjoint datasets of the people of ``dataset`` (``person_id`` hash mod
    ``parts``), written under ``out``: panels that differ from the whole only in size, for the
    completion's noise by panel size (``--split``)."""
    import json
    from pathlib import Path

    from modeling.dataset import write_dataset

    src = Path(dataset)
    source = json.loads((src / "manifest.json").read_text())["source"]
    tables = ("eligibility", "medical_claim", "pharmacy_claim", "provider_attribution")
    paths = []
    for k in range(parts):
        target = Path(out) / f"part{k}"
        if not (target / "manifest.json").exists():
            keep = pl.col("person_id").hash(7) % parts == k
            frames = {
                t: pl.scan_parquet(src / f"{t}.parquet").filter(keep).collect() for t in tables
            }
            write_dataset(
                target, frames, {**source, "subset": f"person_id hash(7) % {parts} == {k}"}
            )
        paths.append(str(target))
    return paths


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dataset")
    ap.add_argument("--as-of", default="2025-06-30")
    ap.add_argument("--backtest", action="store_true")
    ap.add_argument(
        "--completion-only", action="store_true", help="with --backtest: skip the forecast's"
    )
    ap.add_argument("--no-timing", action="store_true")
    ap.add_argument(
        "--forecast-cuts",
        choices=("2024", "2025"),
        default="2024",
        help="with --backtest: the forecast's cuts, month ends 2024-06 .. 2024-12 (12 months of "
        "truth after each) or 2025-01 .. 2025-06 (6-11 months)",
    )
    ap.add_argument(
        "--split",
        type=int,
        default=0,
        help="with --backtest: also cut the dataset into this many disjoint panels of its "
        "people (written under --split-out) and run the completion backtest on each",
    )
    ap.add_argument("--split-out", default=None)
    ap.add_argument(
        "--total-interval-shape",
        choices=("estimated", "engine", "buckets"),
        default=ForecastOptions.total_interval_shape,
        help="with --backtest: ForecastOptions.total_interval_shape for the forecast's cuts",
    )
    ap.add_argument(
        "--engines",
        action="store_true",
        help="with --backtest: also every candidate engine out of sample (the total direct "
        "and as the sum of the categories), with standard errors",
    )
    args = ap.parse_args()
    print(f"dataset {args.dataset}, cores {os.cpu_count()}, {dt.datetime.now():%Y-%m-%d %H:%M}")
    panel = Panel(args.dataset)
    if not args.no_timing:
        timing(panel, dt.date.fromisoformat(args.as_of))
    if args.backtest:
        completion_backtest(panel)
        if args.split:
            if not args.split_out:
                ap.error("--split needs --split-out DIR (outside the dataset)")
            for part in split_panel(args.dataset, args.split, args.split_out):
                print(f"part {part}:")
                completion_backtest(Panel(part))
        if not args.completion_only:
            cuts = (
                [(2024, k) for k in range(6, 13)]
                if args.forecast_cuts == "2024"
                else [(2025, k) for k in range(1, 7)]
            )
            forecast_backtest(panel, cuts, total_interval_shape=args.total_interval_shape)
            if args.engines:
                engines_backtest(panel, cuts)


if __name__ == "__main__":
    main()
