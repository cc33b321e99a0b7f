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
- **Engine by category, chosen by backtest**: a rolling-origin backtest inside the history
  (``backtest_origins`` cut-offs, each fitted only on the months before it, horizons up to
  ``backtest_horizon``) measures every series' MAPE with the model, with simple exponential
  smoothing of the seasonally adjusted series (AutoETS "ANN": a level, no trend) and with
  seasonal naive; each series (category or total) is forecast by the one with the lowest
  backtest MAPE, so seasonal naive is kept where it wins (a short or irregular series, e.g. a category still
  ramping up). The choice is reported (``Forecast.choice``).
- **Calibrated intervals**: model intervals are too narrow on 2-3 years of monthly data, so
  the stated interval half-width (log scale; the chosen engine's own) is scaled by the
  ``level`` quantile of backtest |log error| / half-width, by horizon bucket (1-3, 4-6, 7-9,
  10+ months; never narrower at a later horizon) pooled over every series, so that the stated
  interval covers about ``level`` of the backtest outcomes at each horizon.
  ``interval_by_series`` adds each series' own scale (the quantile of its errors relative to
  the profile; a series with fewer than ``MIN_SCALE_POINTS`` points keeps 1); it is off by
  default because out of sample it made the intervals too narrow (see ``ForecastOptions``).
- **Engine selection needs informative origins**: only backtest origins trained on
  ``MIN_SELECTION_HISTORY`` months or more (a full seasonal decomposition, as the final fit
  has) choose the engine; with a shorter history there is no such origin and the model is
  used for every series.
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
MIN_SCALE_POINTS = 12  # backtest points a series needs for an interval scale of its own
MIN_SELECTION_HISTORY = 24  # training months of a backtest origin that may choose the engine
HORIZON_BUCKETS = (1, 4, 7, 10)  # first horizons of the interval's horizon profile buckets
MODELS = ("AutoETS", "AutoARIMA")  # the models a forecast may combine
BASELINE = "SeasonalNaive"


@dataclass(frozen=True)
class ForecastOptions:
    months: int = 18
    level: float = 0.80
    backtest_origins: int = 12
    backtest_horizon: int = 12
    models: tuple[str, ...] = ("AutoETS",)
    # a scale of each series' own on top of the pooled horizon profile; off by default: on the
    # default panel's out-of-sample backtest it narrowed the intervals (coverage 55% by category
    # and 63% for the total against 62% and 74% pooled; benchmarks/RESULTS.md, finance)
    interval_by_series: bool = False

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
    """``table``: service_category, month, engine, pmpm, pmpm_lo, pmpm_hi, baseline_pmpm,
    member_months, total_cost, total_lo, total_hi. ``backtest``: service_category, origin,
    month, horizon, actual, forecast (the model), baseline, engine, chosen (the chosen
    engine's forecast), lo, hi (its calibrated interval). ``choice``: service_category, engine,
    mape, baseline_mape, points, interval_scale (the series' own, before the horizon profile:
    the stated half-width at horizon h is the engine's x interval_scale x horizon_scale(h))."""

    table: pl.DataFrame
    backtest: pl.DataFrame
    choice: pl.DataFrame
    horizon_profile: pl.DataFrame  # bucket, horizon_scale (``HORIZON_BUCKETS``)
    options: ForecastOptions

    @property
    def interval_scale(self) -> float:
        """The total's interval scale (1 without a backtest)."""
        row = self.choice.filter(pl.col("service_category") == TOTAL)
        return float(row["interval_scale"][0]) if row.height else 1.0


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
    """Forecasts of log PMPM: unique_id, ds, point, half (log scale: the models'),
    level_point, level_half (simple exponential smoothing, no trend), baseline, baseline_half
    (seasonal naive's)."""
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
    level_model = AutoETS(season_length=1, model="ANN", alias=LEVEL)
    sf = StatsForecast(models=[*(engines[m] for m in models), level_model], freq="1mo", n_jobs=1)
    fc = sf.forecast(df=adjusted, h=h, level=[pct])
    naive = StatsForecast(models=[SeasonalNaive(season_length=12)], freq="1mo", n_jobs=1).forecast(
        df=train.with_columns(pl.col("y").log()), h=h, level=[pct]
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
            (pl.col(LEVEL) + pl.col("s")).alias("level_point"),
            ((pl.col(f"{LEVEL}-hi-{pct}") - pl.col(f"{LEVEL}-lo-{pct}")) / 2).alias("level_half"),
            pl.col(BASELINE).alias("baseline"),
            ((pl.col(f"{BASELINE}-hi-{pct}") - pl.col(f"{BASELINE}-lo-{pct}")) / 2).alias(
                "baseline_half"
            ),
        )
    )


def _usable(series: pl.DataFrame) -> pl.DataFrame:
    n = series.group_by("unique_id").agg(pl.len().alias("n"))
    return series.join(n.filter(pl.col("n") >= MIN_HISTORY), on="unique_id", how="semi")


MODEL = "model"  # the engine name of the statsforecast model (or combination)
LEVEL = "level"  # AutoETS without trend (ANN) on the seasonally adjusted series
ENGINE_COLUMNS = {
    MODEL: ("point", "half"),
    LEVEL: ("level_point", "level_half"),
    BASELINE: ("baseline", "baseline_half"),
}


def _engine_expr(which: int) -> pl.Expr:
    """The chosen engine's point (``which`` 0) or half-width (1) column, by the ``engine`` column."""
    expr = pl.col(ENGINE_COLUMNS[BASELINE][which])
    for engine in (LEVEL, MODEL):
        expr = (
            pl.when(pl.col("engine") == engine)
            .then(pl.col(ENGINE_COLUMNS[engine][which]))
            .otherwise(expr)
        )
    return expr


def backtest(
    series: pl.DataFrame, options: ForecastOptions
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Rolling-origin backtest of the history, each series' engine and interval scale (see
    module). Returns the backtest (``Forecast.backtest``), the choice (``Forecast.choice``) and
    the horizon profile (``Forecast.horizon_profile``)."""
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
                pl.lit(cut).alias("train_months"),
                pl.int_range(1, pl.len() + 1).over("unique_id").alias("horizon"),
            )
        )
    ids = series["unique_id"].unique().sort()
    if not rows:
        choice = pl.DataFrame(
            {"service_category": ids, "engine": MODEL, "interval_scale": 1.0},
            schema_overrides={"interval_scale": pl.Float64},
        )
        empty = choice.with_columns(
            pl.lit(None, dtype=pl.Float64).alias("mape"),
            pl.lit(None, dtype=pl.Float64).alias("baseline_mape"),
            pl.lit(0, dtype=pl.UInt32).alias("points"),
        ).select(*CHOICE_COLUMNS)
        return pl.DataFrame(), empty, _NO_PROFILE
    bt = pl.concat(rows)
    ape = lambda c: (pl.col(c).exp() / pl.col("y") - 1).abs()  # noqa: E731
    # only origins trained on as many months as a full seasonal decomposition needs choose the
    # engine: a model fitted on 13-23 months lacks its seasonal factors and would lose to
    # seasonal naive in the backtest for that reason alone
    informative = bt.filter(pl.col("train_months") >= MIN_SELECTION_HISTORY)
    errors = informative.group_by("unique_id").agg(
        *(ape(cols[0]).mean().alias(e) for e, cols in ENGINE_COLUMNS.items())
    )
    best = pl.min_horizontal(*(pl.col(e) for e in ENGINE_COLUMNS))
    pick = pl.lit(BASELINE)
    for engine in (LEVEL, MODEL):  # ties go to the model, then to the level
        pick = pl.when(pl.col(engine) == best).then(pl.lit(engine)).otherwise(pick)
    picked = errors.with_columns(pick.alias("engine"))
    all_errors = bt.group_by("unique_id").agg(
        *(ape(cols[0]).mean().alias(e) for e, cols in ENGINE_COLUMNS.items())
    )
    # the MAPEs reported are those the choice was made on (all origins where none qualified)
    measured = pl.concat(
        [
            picked,
            all_errors.join(picked, on="unique_id", how="anti").with_columns(
                pl.lit(MODEL).alias("engine")
            ),
        ],
        how="diagonal_relaxed",
    )
    choice = measured.with_columns(
        pl.when(pl.col("engine") == MODEL)
        .then(pl.col(MODEL))
        .when(pl.col("engine") == LEVEL)
        .then(pl.col(LEVEL))
        .otherwise(pl.col(BASELINE))
        .alias("mape"),
        pl.col(BASELINE).alias("baseline_mape"),
    ).select("unique_id", "engine", "mape", "baseline_mape")
    chosen = bt.join(choice.select("unique_id", "engine"), on="unique_id").with_columns(
        _engine_expr(0).alias("p"), _engine_expr(1).alias("w"), _bucket().alias("bucket")
    )
    ratio = (pl.col("y").log() - pl.col("p")).abs() / pl.col("w")
    finite = chosen.with_columns(ratio.alias("ratio")).filter(pl.col("ratio").is_finite())
    profile = _horizon_profile(finite, options.level)
    rel = finite.join(profile, on="bucket").with_columns(
        (pl.col("ratio") / pl.col("horizon_scale")).alias("rel")
    )
    scales = rel.group_by("unique_id").agg(
        pl.col("rel").quantile(options.level).alias("own"), pl.len().alias("points")
    )
    choice = (
        choice.join(scales, on="unique_id", how="left")
        .with_columns(
            pl.when((pl.col("points") >= MIN_SCALE_POINTS) & options.interval_by_series)
            .then(pl.col("own"))
            .otherwise(1.0)
            .alias("interval_scale"),
            pl.col("points").fill_null(0),
        )
        .rename({"unique_id": "service_category"})
        .select(*CHOICE_COLUMNS)
        .sort("service_category")
    )
    chosen = chosen.join(profile, on="bucket", how="left").with_columns(
        pl.col("horizon_scale").fill_null(1.0)
    )
    out = (
        chosen.join(
            choice.select(pl.col("service_category").alias("unique_id"), "interval_scale"),
            on="unique_id",
        )
        .with_columns((pl.col("interval_scale") * pl.col("horizon_scale")).alias("interval_scale"))
        .select(
            pl.col("unique_id").alias("service_category"),
            "origin",
            pl.col("ds").alias("month"),
            "horizon",
            pl.col("y").alias("actual"),
            pl.col("point").exp().alias("forecast"),
            pl.col("baseline").exp().alias("baseline"),
            "engine",
            pl.col("p").exp().alias("chosen"),
            (pl.col("p") - pl.col("interval_scale") * pl.col("w")).exp().alias("lo"),
            (pl.col("p") + pl.col("interval_scale") * pl.col("w")).exp().alias("hi"),
        )
    )
    return out, choice, profile


CHOICE_COLUMNS = ("service_category", "engine", "mape", "baseline_mape", "points", "interval_scale")
_NO_PROFILE = pl.DataFrame(schema={"bucket": pl.Int64, "horizon_scale": pl.Float64})


def _bucket() -> pl.Expr:
    """The horizon bucket (index into ``HORIZON_BUCKETS``) of the ``horizon`` column."""
    b = pl.lit(0, dtype=pl.Int64)
    for i, start in enumerate(HORIZON_BUCKETS[1:], start=1):
        b = pl.when(pl.col("horizon") >= start).then(pl.lit(i, dtype=pl.Int64)).otherwise(b)
    return b


def _horizon_profile(ratios: pl.DataFrame, level: float) -> pl.DataFrame:
    """bucket, horizon_scale: the ``level`` quantile of |log error| / half-width pooled over
    every series, by horizon bucket (a later bucket never below an earlier one: errors do not
    shrink with the horizon; buckets past the backtest's horizons take the last one's)."""
    if ratios.height == 0:
        return _NO_PROFILE
    q = (
        ratios.group_by("bucket")
        .agg(pl.col("ratio").quantile(level).alias("horizon_scale"))
        .sort("bucket")
    )
    values = np.maximum.accumulate(q["horizon_scale"].to_numpy())
    last = q["bucket"].to_list()
    full = {b: float(v) for b, v in zip(last, values, strict=True)}
    out, current = [], float(values[0])
    for b in range(len(HORIZON_BUCKETS)):
        current = full.get(b, current)
        out.append((b, current))
    return pl.DataFrame(out, schema={"bucket": pl.Int64, "horizon_scale": pl.Float64}, orient="row")


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
    bt, choice, backtest_profile = backtest(series, opts)
    last = _date(full["ds"].max())
    gap = len(full.filter(pl.col("ds") > series["ds"].max())["ds"].unique())
    fc = (
        _fit(series, opts.months + gap, opts.level, opts.models)
        .with_columns(pl.int_range(1, pl.len() + 1).over("unique_id").alias("horizon"))
        .with_columns(_bucket().alias("bucket"))
        .join(backtest_profile, on="bucket", how="left")
        .with_columns(pl.col("horizon_scale").fill_null(1.0))
        .filter(pl.col("ds") > last)
    )
    members = project_members(
        membership_flows(Panel.of(source).scan("member_months")), last=last, months=opts.months
    )
    by_engine = fc.join(
        choice.select(pl.col("service_category").alias("unique_id"), "engine", "interval_scale"),
        on="unique_id",
        how="left",
    ).with_columns(
        pl.col("engine").fill_null(MODEL),
        pl.col("interval_scale").fill_null(1.0),
    )
    p = _engine_expr(0)
    w = _engine_expr(1) * pl.col("interval_scale") * pl.col("horizon_scale")
    table = (
        by_engine.with_columns(
            p.exp().alias("pmpm"),
            (p - w).exp().alias("pmpm_lo"),
            (p + w).exp().alias("pmpm_hi"),
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
            "engine",
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
    return Forecast(table, bt, choice, backtest_profile, opts)


def backtest_summary(bt: pl.DataFrame) -> pl.DataFrame:
    """service_category, points, engine, mape (the chosen engine's), model_mape, baseline_mape,
    mape_reduction, coverage: the backtest's accuracy against seasonal naive and the calibrated
    interval's coverage (in the backtest the engine and the scale were chosen on: read the
    out-of-sample figures of ``benchmarks/bench_finance.py --backtest`` for honest ones)."""
    if bt.height == 0:
        return pl.DataFrame()
    ape = lambda c: (pl.col(c) / pl.col("actual") - 1).abs()  # noqa: E731
    return (
        bt.group_by("service_category")
        .agg(
            pl.len().alias("points"),
            pl.col("engine").first(),
            ape("chosen").mean().alias("mape"),
            ape("forecast").mean().alias("model_mape"),
            ape("baseline").mean().alias("baseline_mape"),
            ((pl.col("actual") >= pl.col("lo")) & (pl.col("actual") <= pl.col("hi")))
            .mean()
            .alias("coverage"),
        )
        .with_columns((1 - pl.col("mape") / pl.col("baseline_mape")).alias("mape_reduction"))
        .sort("service_category")
    )
