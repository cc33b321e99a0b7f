"""Forecast of PMPM and total cost by service category, with intervals calibrated by backtest.

- **Series**: completed PMPM by incurred month and service category, and the total
  (``modeling.marts.finance.trend.monthly_cost`` with a completion), up to the last whole month
  of the valuation.
- **Seasonality**: two or three years of monthly data are too short for seasonal ETS/ARIMA
  (they need several seasons), so each series is first seasonally adjusted by classical
  multiplicative decomposition (ratios to a centred 2x12 moving average, averaged by calendar
  month and normalized to a mean of 1), as the M4 competition's statistical benchmarks do
  (Makridakis, Spiliotis & Assimakopoulos 2020, "The M4 Competition", section 3.2); a calendar
  month without a ratio gets index 1.
- **Models** (``statsforecast``, Nixtla): AutoETS (the default) and optionally AutoARIMA,
  fitted on the log of the seasonally adjusted PMPM; with both, the forecast is their mean in
  logs (a simple combination; Petropoulos & Svetunkov 2020); re-seasonalized. AutoARIMA's order
  search costs about 1 s per series here (AutoETS 0.01 s), too slow for a rolling backtest on
  every request, hence opt-in. Seasonal naive (the same month a year before) is the baseline.
- **Calibrated intervals**: model intervals are too narrow on 2-3 years of monthly data, so a
  rolling-origin backtest inside the history (``backtest_origins`` cut-offs, each fitted only on
  the months before it) measures the log errors at every horizon; the stated interval's
  half-width (log scale) is scaled by the ``level`` quantile of |error| / model half-width,
  pooled over series and horizons, so that the stated interval covers about ``level`` of the
  backtest outcomes.
- **Membership**: member months are projected from the panel's own flows, month by month:
  ``MM_t = MM_{t-1} (1 - attrition_m) + new_m``, with attrition (members of month t-1 not
  enrolled in month t) and new enrollees (members of month t not enrolled in t-1) averaged by
  calendar month over the history; total cost = PMPM x projected member months (the interval
  carries the PMPM's uncertainty only, not membership's).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass

import numpy as np
import polars as pl

from modeling.core.panel import Panel
from modeling.dataset import Dataset
from modeling.errors import ParameterError
from modeling.marts.finance.trend import TOTAL
from modeling.validation import require_columns

os.environ.setdefault("NIXTLA_ID_AS_COL", "1")

MIN_HISTORY = 13  # months: a season and one more
MODELS = ("AutoETS", "AutoARIMA")  # the models a forecast may combine
BASELINE = "SeasonalNaive"


@dataclass(frozen=True)
class ForecastOptions:
    months: int = 18
    level: float = 0.80
    backtest_origins: int = 6
    backtest_horizon: int = 12
    models: tuple[str, ...] = ("AutoETS",)

    def check(self) -> None:
        if not 1 <= self.months <= 36:
            raise ParameterError(f"months must be between 1 and 36 (got {self.months}).")
        if not 0.5 <= self.level < 1:
            raise ParameterError(f"level must be between 0.5 and 1 (got {self.level}).")
        if not self.models or set(self.models) - set(MODELS):
            raise ParameterError(f"models must be among {', '.join(MODELS)} (got {self.models}).")
        if self.backtest_origins < 0 or self.backtest_horizon < 1:
            raise ParameterError(
                "backtest_origins must be 0 or more and backtest_horizon 1 or more."
            )


@dataclass(frozen=True)
class Forecast:
    """``table``: service_category, month, pmpm, pmpm_lo, pmpm_hi, baseline_pmpm, member_months,
    total_cost, total_lo, total_hi. ``backtest``: service_category, origin, month, horizon,
    actual, forecast, baseline, lo, hi (calibrated). ``interval_scale``: the calibration factor."""

    table: pl.DataFrame
    backtest: pl.DataFrame
    interval_scale: float
    options: ForecastOptions


def pmpm_series(monthly: pl.DataFrame) -> pl.DataFrame:
    """unique_id (service category or ``total``), ds (month), y (PMPM), from ``monthly_cost``."""
    require_columns(
        monthly, ("service_category", "incurred_month", "member_months", "paid"), where="forecast"
    )
    total = monthly.group_by("incurred_month").agg(
        pl.lit(TOTAL).alias("service_category"),
        pl.col("member_months").first(),
        pl.col("paid").sum(),
    )
    both = pl.concat([monthly.select(total.columns), total])
    return (
        both.filter(pl.col("paid") > 0)
        .select(
            pl.col("service_category").alias("unique_id"),
            pl.col("incurred_month").alias("ds"),
            (pl.col("paid") / pl.col("member_months")).alias("y"),
        )
        .sort("unique_id", "ds")
    )


def seasonal_factors(series: pl.DataFrame) -> pl.DataFrame:
    """unique_id, m (calendar month), s (log seasonal index): classical multiplicative
    decomposition, ratio to the centred 2x12 moving average (see module)."""
    logy = pl.col("y").log()
    ma = (
        logy.exp().rolling_mean(12).over("unique_id")
        + logy.exp().rolling_mean(12).shift(-1).over("unique_id")
    ) / 2  # the mean of the 12 months ending at t and at t+1: centred on t+0.5 -> shift by 6
    ratios = (
        series.sort("unique_id", "ds")
        .with_columns(ma.shift(-6).over("unique_id").alias("_ma"))
        .filter(pl.col("_ma").is_not_null())
        .with_columns((pl.col("y") / pl.col("_ma")).alias("_r"), pl.col("ds").dt.month().alias("m"))
    )
    raw = ratios.group_by("unique_id", "m").agg(pl.col("_r").mean())
    grid = (
        series.select("unique_id")
        .unique()
        .join(pl.DataFrame({"m": list(range(1, 13))}, schema={"m": pl.Int8}), how="cross")
    )
    full = grid.join(
        raw.with_columns(pl.col("m").cast(pl.Int8)), on=["unique_id", "m"], how="left"
    ).with_columns(pl.col("_r").fill_null(1.0))
    return full.with_columns(
        (pl.col("_r").log() - pl.col("_r").log().mean().over("unique_id")).alias("s")
    ).select("unique_id", "m", "s")


def _fit(
    train: pl.DataFrame, h: int, level: float, models: tuple[str, ...] = ("AutoETS",)
) -> pl.DataFrame:
    """Forecasts of log PMPM: unique_id, ds, point, half (log scale), baseline."""
    from statsforecast import StatsForecast
    from statsforecast.models import AutoARIMA, AutoETS, SeasonalNaive

    pct = int(round(level * 100))
    season = seasonal_factors(train)
    month = pl.col("ds").dt.month().cast(pl.Int8).alias("m")
    adjusted = (
        train.with_columns(month)
        .join(season, on=["unique_id", "m"], how="left")
        .select("unique_id", "ds", (pl.col("y").log() - pl.col("s")).alias("y"))
    )
    engines = {
        "AutoETS": AutoETS(season_length=1),
        "AutoARIMA": AutoARIMA(season_length=1),
    }
    sf = StatsForecast(models=[engines[m] for m in models], freq="1mo", n_jobs=1)
    fc = sf.forecast(df=adjusted, h=h, level=[pct])
    naive = StatsForecast(models=[SeasonalNaive(season_length=12)], freq="1mo", n_jobs=1).forecast(
        df=train.with_columns(pl.col("y").log()), h=h
    )
    point = pl.mean_horizontal([pl.col(m) for m in models]) + pl.col("s")
    half = pl.mean_horizontal(
        [(pl.col(f"{m}-hi-{pct}") - pl.col(f"{m}-lo-{pct}")) / 2 for m in models]
    )
    return (
        fc.with_columns(month)
        .join(season, on=["unique_id", "m"], how="left")
        .join(naive, on=["unique_id", "ds"], how="left")
        .select(
            "unique_id",
            "ds",
            point.alias("point"),
            half.alias("half"),
            pl.col(BASELINE).alias("baseline"),
        )
    )


def _usable(series: pl.DataFrame) -> pl.DataFrame:
    n = series.group_by("unique_id").agg(pl.len().alias("n"))
    return series.join(n.filter(pl.col("n") >= MIN_HISTORY), on="unique_id", how="semi")


def backtest(series: pl.DataFrame, options: ForecastOptions) -> tuple[pl.DataFrame, float]:
    """Rolling-origin backtest of the history and the interval scale it implies (see module)."""
    months = series["ds"].unique().sort()
    rows = []
    for k in range(options.backtest_origins, 0, -1):
        cut = len(months) - k
        if cut < MIN_HISTORY:
            continue
        origin = months[cut - 1]
        train = _usable(series.filter(pl.col("ds") <= origin))
        if train.height == 0:
            continue
        h = min(options.backtest_horizon, len(months) - cut)
        fc = _fit(train, h, options.level, options.models)
        rows.append(
            fc.join(series, on=["unique_id", "ds"], how="inner").with_columns(
                pl.lit(origin).alias("origin"),
                pl.int_range(1, pl.len() + 1).over("unique_id").alias("horizon"),
            )
        )
    if not rows:
        return pl.DataFrame(), 1.0
    bt = pl.concat(rows)
    ratio = ((bt["y"].log() - bt["point"]).abs() / bt["half"]).to_numpy()
    ratio = ratio[np.isfinite(ratio)]
    scale = float(np.quantile(ratio, options.level)) if len(ratio) else 1.0
    out = bt.select(
        pl.col("unique_id").alias("service_category"),
        "origin",
        pl.col("ds").alias("month"),
        "horizon",
        pl.col("y").alias("actual"),
        pl.col("point").exp().alias("forecast"),
        pl.col("baseline").exp().alias("baseline"),
        (pl.col("point") - scale * pl.col("half")).exp().alias("lo"),
        (pl.col("point") + scale * pl.col("half")).exp().alias("hi"),
    )
    return out, scale


def membership_flows(member_months: pl.LazyFrame) -> pl.DataFrame:
    """month, members, new (enrolled this month, not the month before), leaving (enrolled the
    month before, not this month), from the core's member months (one row per person and month).

    Each person's months in order: a month is a start when the person's previous month is not
    the month before, an end when their next month is not the month after (one sort and two
    shifts, no self-joins)."""
    require_columns(member_months, ("person_id", "year_month"), where="membership flows")
    i = pl.col("year_month").dt.year().cast(pl.Int32) * 12 + pl.col("year_month").dt.month().cast(
        pl.Int32
    )
    person, month = pl.col("person_id"), pl.col("i")
    starts = ~((person == person.shift()) & (month == month.shift() + 1)).fill_null(False)
    ends = ~((person == person.shift(-1)) & (month + 1 == month.shift(-1))).fill_null(False)
    flows = (
        member_months.select("person_id", i.alias("i"))
        .sort("person_id", "i")
        .with_columns(starts.alias("new"), ends.alias("leaving_next"))
        .group_by("i")
        .agg(
            pl.len().alias("members"),
            pl.col("new").sum().cast(pl.UInt32),
            pl.col("leaving_next").sum().cast(pl.UInt32),
        )
        .sort("i")
        .collect()
    )
    return flows.with_columns(
        pl.date((pl.col("i") - 1) // 12, (pl.col("i") - 1) % 12 + 1, 1).alias("month"),
        pl.col("leaving_next").shift(1).alias("leaving"),
    ).select("month", "members", "new", "leaving")


def project_members(flows: pl.DataFrame, *, last: dt.date, months: int) -> pl.DataFrame:
    """month, member_months for the ``months`` after ``last``: attrition and new enrollees by
    calendar month, averaged over the history up to ``last`` (its first month has no flows)."""
    hist = flows.filter(pl.col("month") <= last).with_columns(
        (pl.col("leaving") / pl.col("members").shift(1)).alias("attrition"),
        pl.col("month").dt.month().alias("m"),
    )
    hist = hist.slice(1)
    rates = hist.group_by("m").agg(pl.col("attrition").mean(), pl.col("new").mean())
    by_m = {r["m"]: (r["attrition"], r["new"]) for r in rates.iter_rows(named=True)}
    mean_a = float(hist["attrition"].mean() or 0.0)  # type: ignore[arg-type]
    mean_n = float(hist["new"].mean() or 0.0)  # type: ignore[arg-type]
    current = float(flows.filter(pl.col("month") == last)["members"][0])
    out = []
    month = pl.Series([last]).dt.offset_by("1mo")[0]
    for _ in range(months):
        a, n = by_m.get(month.month, (mean_a, mean_n))
        current = current * (1 - (a if a is not None else mean_a)) + (
            n if n is not None else mean_n
        )
        out.append((month, current))
        month = pl.Series([month]).dt.offset_by("1mo")[0]
    return pl.DataFrame(out, schema={"month": pl.Date, "member_months": pl.Float64}, orient="row")


def credible_through(completion_table: pl.DataFrame) -> dt.date | None:
    """The last incurred month whose total is completed by the development method (the months
    after it rest mostly on the a-priori, a projection themselves, so the forecast is fitted
    only up to it)."""
    done = completion_table.filter(
        (pl.col("service_category") == "all") & (pl.col("method") == "development")
    )
    return _date(done["incurred_month"].max()) if done.height else None


def _date(value: object) -> dt.date:
    """A date scalar from polars (typed as a wide union)."""
    if not isinstance(value, dt.date):
        raise TypeError(f"expected a date, got {value!r}")
    return value


def forecast(
    monthly: pl.DataFrame,
    source: Panel | Dataset,
    *,
    options: ForecastOptions | None = None,
    train_through: dt.date | None = None,
) -> Forecast:
    """PMPM and total cost for ``options.months`` after the last month of ``monthly`` (completed
    history from ``monthly_cost``), by category and in total (see module). ``train_through``
    (e.g. ``credible_through(completion.table)``) fits the models only on the months up to it;
    the months between it and the end of ``monthly`` are forecast too but not reported."""
    opts = options or ForecastOptions()
    opts.check()
    full = _usable(pmpm_series(monthly))
    series = full if train_through is None else full.filter(pl.col("ds") <= train_through)
    if series.height == 0:
        raise ParameterError(
            f"A forecast needs at least {MIN_HISTORY} months of completed history; "
            "choose a later as-of date or a panel with more months."
        )
    bt, scale = backtest(series, opts)
    last = _date(full["ds"].max())
    gap = len(full.filter(pl.col("ds") > series["ds"].max())["ds"].unique())
    fc = _fit(series, opts.months + gap, opts.level, opts.models).filter(pl.col("ds") > last)
    members = project_members(
        membership_flows(Panel.of(source).scan("member_months")), last=last, months=opts.months
    )
    table = (
        fc.with_columns(
            pl.col("point").exp().alias("pmpm"),
            (pl.col("point") - scale * pl.col("half")).exp().alias("pmpm_lo"),
            (pl.col("point") + scale * pl.col("half")).exp().alias("pmpm_hi"),
            pl.col("baseline").exp().alias("baseline_pmpm"),
        )
        .rename({"unique_id": "service_category", "ds": "month"})
        .join(members, on="month", how="left")
        .with_columns(
            (pl.col("pmpm") * pl.col("member_months")).alias("total_cost"),
            (pl.col("pmpm_lo") * pl.col("member_months")).alias("total_lo"),
            (pl.col("pmpm_hi") * pl.col("member_months")).alias("total_hi"),
        )
        .select(
            "service_category",
            "month",
            "pmpm",
            "pmpm_lo",
            "pmpm_hi",
            "baseline_pmpm",
            "member_months",
            "total_cost",
            "total_lo",
            "total_hi",
        )
        .sort("service_category", "month")
    )
    return Forecast(table, bt, scale, opts)


def backtest_summary(bt: pl.DataFrame) -> pl.DataFrame:
    """service_category, points, mape, baseline_mape, mape_reduction, coverage: the backtest's
    accuracy against seasonal naive and the calibrated interval's coverage."""
    if bt.height == 0:
        return pl.DataFrame()
    ape = lambda c: (pl.col(c) / pl.col("actual") - 1).abs()  # noqa: E731
    return (
        bt.group_by("service_category")
        .agg(
            pl.len().alias("points"),
            ape("forecast").mean().alias("mape"),
            ape("baseline").mean().alias("baseline_mape"),
            ((pl.col("actual") >= pl.col("lo")) & (pl.col("actual") <= pl.col("hi")))
            .mean()
            .alias("coverage"),
        )
        .with_columns((1 - pl.col("mape") / pl.col("baseline_mape")).alias("mape_reduction"))
        .sort("service_category")
    )
