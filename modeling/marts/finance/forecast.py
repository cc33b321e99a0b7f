"""Forecast of PMPM and total cost by service category, with intervals calibrated by backtest.

- **Series**: completed PMPM by incurred month and service category, and the total
  (``modeling.marts.finance.trend.monthly_cost`` with a completion), up to the last whole month
  of the valuation.
- **Seasonality**: two or three years of monthly data are too short for seasonal ETS/ARIMA
  (they need several seasons), so each series is first seasonally adjusted by classical
  multiplicative decomposition (ratios to a centred 2x12 moving average, averaged by calendar
  month and normalized to a mean of 1), as the M4 competition's statistical benchmarks do
  (Makridakis, Spiliotis & Assimakopoulos 2020, "The M4 Competition", section 3.2). Within six
  months of either end of the series, where the centred average does not exist, the ratio is
  to the series' first or last 12 months, so every calendar month has a factor from 12 months
  of history on (``seasonal_factors``).
- **Engines** (``statsforecast``, Nixtla), on the log of the seasonally adjusted PMPM and
  re-seasonalized: AutoETS (``model``; optionally combined with AutoARIMA: their mean in logs;
  AutoARIMA's order search costs about 1 s per series here, AutoETS 0.01 s, hence opt-in),
  simple exponential smoothing (``level``: AutoETS "ANN", no trend), the Theta method
  (``theta``: SES with drift, Assimakopoulos & Nikolopoulos 2000, the M4 statistical
  benchmark), the combination of the model and seasonal naive (``combination``: their mean in
  logs; Petropoulos & Svetunkov 2020) and seasonal naive itself (the same month a year before,
  the baseline).
- **Engine by series, chosen by backtest**: a rolling-origin backtest inside the history
  (``backtest_origins`` cut-offs, each fitted only on the months before it, horizons up to
  ``backtest_horizon``) measures every engine's MAPE on every series. Each series keeps the
  default engine (``default_engine``, the Theta method: the most accurate method of the M3
  competition, Makridakis & Hibon 2000, and a statistical benchmark of the M4) unless the backtest
  shows another engine clearly better: its mean gain over the origins is more than
  ``switch_z`` (1.645, one-sided 5%) standard errors above 0 (``_pick``); then the best of those
  clearly better is taken. Taking the lowest backtest MAPE outright chose noise: at 18-24
  months of history the backtest has 2-8 origins, trained on 13-20 months, at horizons of 1-8
  (measured out of sample, see benchmarks/RESULTS.md, finance). Seasonal naive is among the
  candidates. Every origin with ``MIN_HISTORY`` training months takes part (the seasonal
  factors are whole from 12 months). The latest ``unscored_months`` months of the history are
  not scored: they are completed mostly by Bornhuetter-Ferguson, whose a-priori is itself a
  trended seasonal PMPM, so scoring forecasts against them would flatter the models. The
  choice is reported (``Forecast.choice``).
- **Calibrated intervals (empirical, split-conformal in spirit)**: the stated interval is the
  point forecast (log scale) +- an empirical quantile of the in-history backtest's |log error|:
  of the chosen engines for the categories, of the forecasting procedure for the total.
  - *Categories* (``interval_shape`` "buckets"): the ``level`` quantile by horizon bucket (1-3,
    4-6, 7-9, 10+ months; never narrower at a later horizon; buckets past the backtest's
    horizons take the last one's), pooled over the service categories. With
    ``interval_by_series`` (the default) each category's interval is multiplied by a scale of
    its own, the ``level`` quantile of its backtest errors relative to the categories' profile
    (a category with fewer than ``MIN_SCALE_POINTS`` points keeps 1), because the categories'
    noise differs several-fold (hospice and SNF against office visits). A category's error is
    mostly its monthly noise, which does not grow with the horizon.
  - *The total* (``total_interval_shape`` "estimated", the default): the interval is
    calibrated on the errors of the forecasting procedure itself, not of the engine finally
    chosen. In the in-history backtest the procedure's engine at each origin is the one the
    choice rule (``_pick``) takes from the forecasts known and scored by then
    (``procedure_errors``; the first origins keep the default); the engine chosen on all the
    origins was chosen for having the smallest errors there, and calibrating on those made the
    switched total's interval too narrow out of sample (the winner's curse: seasonal naive chosen
    for in-history errors whose 80% quantile was 3.3% erred 7.0% out of sample). The width's
    growth with the horizon is fitted to those errors, not taken from an engine's likelihood:
    Var(e_h) = noise + growth x h, a local level's law (the month's noise plus the level's drift
    over h months), its two terms by non-negative least squares on the squared errors; the
    half-width at h is the ``level`` quantile of the errors standardized by that law times
    sqrt(noise + growth x h) (``total_variance_law``). Measured out of sample on seven synthetic
    panels (benchmarks/RESULTS.md, issue 20, stop 25), the total's error at 20,000 members is
    mostly monthly noise, nearly flat from 1 to 12 months ahead, where Theta's own law widened
    1.6x from 1 to 6 months (so the "engine" shape over-covered late horizons and, scaled on a
    switched engine's optimistic errors, under-covered early ones). From
    ``MIN_ESTIMATED_POINTS`` (3) backtest points, i.e. 18 months of history; before that the
    engine's own interval.
  - *The total* (``total_interval_shape`` "engine", the method before): the chosen engine's
    own stated half-width at each horizon times one ``level`` quantile of the backtest's |log
    error| relative to that half-width, pooled over every horizon; with fewer than
    ``MIN_SCALE_POINTS`` backtest points, the engine's own interval (a quantile of 3-10 points
    scaling the engine's widening swung from +-3% to +-47% one month ahead). The engines' own
    intervals, uncalibrated, covered 55-92% (measured).
  The categories keep the buckets: their engines differ (seasonal naive's own interval is too
  wide, AutoETS's and Theta's too narrow for them), so a pool of errors relative to each
  engine's own width mixes incomparable scales (measured: 86-92% coverage). Measured out of
  sample: benchmarks/RESULTS.md, finance.
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
# training months of a backtest origin that may choose the engine: with the seasonal factors of
# ``seasonal_factors`` every origin with MIN_HISTORY months has a full seasonal decomposition
MIN_SELECTION_HISTORY = MIN_HISTORY
HORIZON_BUCKETS = (1, 4, 7, 10)  # first horizons of the interval's horizon profile buckets
MODELS = ("AutoETS", "AutoARIMA")  # the models a forecast may combine
BASELINE = "SeasonalNaive"
ESTIMATED = "estimated"  # the total's interval from the procedure's errors and their variance law
CATEGORY_SHAPES = ("buckets", "engine")  # the shapes ``interval_shape`` may take
INTERVAL_SHAPES = (*CATEGORY_SHAPES, ESTIMATED)  # and ``total_interval_shape``
# backtest points the total needs for an ``ESTIMATED`` interval (18 months of history give 3)
MIN_ESTIMATED_POINTS = 3
# the engine's own stated interval, uncalibrated: the total with fewer than MIN_SCALE_POINTS
# backtest points, or a series without a backtest
OWN = "own"


@dataclass(frozen=True)
class ForecastOptions:
    months: int = 18
    level: float = 0.80
    backtest_origins: int = 12
    backtest_horizon: int = 12
    models: tuple[str, ...] = ("AutoETS",)
    # each category's own scale on top of the categories' pooled horizon profile (see module)
    interval_by_series: bool = True
    # the latest months of the history are not scored in the backtest: they are completed
    # mostly by Bornhuetter-Ferguson, an estimate built from the trended PMPM itself
    unscored_months: int = 3
    # each series keeps this engine unless its backtest shows another clearly better (``_pick``)
    default_engine: str = "theta"
    switch_z: float = 1.645
    # how the interval widens with the horizon, for the categories and for the total: "buckets",
    # the backtest's error quantile by horizon bucket; "engine", the chosen engine's own stated
    # half-width (its shape by horizon) times the backtest's error quantile relative to it;
    # for the total only, "estimated": the forecasting procedure's own backtest errors, their
    # variance law in the horizon fitted to them (see module)
    interval_shape: str = "buckets"
    total_interval_shape: str = ESTIMATED

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
        if self.default_engine not in ENGINE_COLUMNS:
            raise ParameterError(
                f"default_engine must be one of {', '.join(ENGINE_COLUMNS)} "
                f"(got {self.default_engine!r})."
            )
        if self.switch_z < 0:
            raise ParameterError(f"switch_z must be 0 or more (got {self.switch_z}).")
        if self.interval_shape not in CATEGORY_SHAPES:
            raise ParameterError(
                f"interval_shape must be one of {', '.join(CATEGORY_SHAPES)} "
                f"(got {self.interval_shape!r})."
            )
        if self.total_interval_shape not in INTERVAL_SHAPES:
            raise ParameterError(
                f"total_interval_shape must be one of {', '.join(INTERVAL_SHAPES)} "
                f"(got {self.total_interval_shape!r})."
            )

        if self.unscored_months < 0:
            raise ParameterError(f"unscored_months must be 0 or more (got {self.unscored_months}).")


@dataclass(frozen=True)
class Forecast:
    """``table``: service_category, month, engine, pmpm, pmpm_lo, pmpm_hi, baseline_pmpm,
    member_months, total_cost, total_lo, total_hi. ``backtest``: service_category, origin,
    month, horizon, actual, forecast (the model), baseline, engine, chosen (the chosen
    engine's forecast), lo, hi (its calibrated interval). ``choice``: service_category, engine,
    mape, baseline_mape, points, interval_scale (the series' own, 1 unless
    ``interval_by_series``: the stated half-width in logs at horizon h is interval_scale x
    horizon_scale(kind, h), ``horizon_profile``'s)."""

    table: pl.DataFrame
    backtest: pl.DataFrame
    choice: pl.DataFrame
    horizon_profile: pl.DataFrame  # kind (total, category), bucket, horizon_scale (log scale)
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
    decomposition (see module). Each month's ratio is to the centred 2x12 moving average where
    the series has six months on both sides; within six months of either end, to the mean of
    the series' first or last 12 months (the nearest 12-month window holding it, off centre by
    up to six months), so that 12 months or more give every calendar month a ratio. Without
    them, the months at either end of a two-year series would have none and take index 1: the
    model would then miss the seasonality that seasonal naive keeps (measured, see
    benchmarks/RESULTS.md, finance). Ratios are averaged by calendar month, and the log indices
    centred on 0. The single-series form (``modeling.marts.finance.seasonality``, the
    completion's a-priori) is the same rule, tested equal."""
    y = pl.col("y")
    # the mean of the 12-month means ending at t+5 and at t+6: centred on t
    centred = ((y.rolling_mean(12) + y.rolling_mean(12).shift(-1)) / 2).shift(-5)
    first_year = y.head(12).mean()
    last_year = y.tail(12).mean()
    n = pl.len()
    row = pl.int_range(0, n)
    window = (
        pl.when(centred.is_not_null())
        .then(centred)
        .when(row < n // 2)
        .then(first_year)
        .otherwise(last_year)
    )
    ratios = (
        series.sort("unique_id", "ds")
        .with_columns(window.over("unique_id").alias("_ma"), pl.len().over("unique_id").alias("_n"))
        .filter(pl.col("_n") >= 12)
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
    from statsforecast.models import AutoARIMA, AutoETS, SeasonalNaive, Theta

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
    theta = Theta(season_length=1, alias=THETA)
    sf = StatsForecast(
        models=[*(engines[m] for m in models), level_model, theta], freq="1mo", n_jobs=1
    )
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
            (pl.col(THETA) + pl.col("s")).alias("theta_point"),
            ((pl.col(f"{THETA}-hi-{pct}") - pl.col(f"{THETA}-lo-{pct}")) / 2).alias("theta_half"),
            ((pl.col(f"{LEVEL}-hi-{pct}") - pl.col(f"{LEVEL}-lo-{pct}")) / 2).alias("level_half"),
            pl.col(BASELINE).alias("baseline"),
            ((pl.col(f"{BASELINE}-hi-{pct}") - pl.col(f"{BASELINE}-lo-{pct}")) / 2).alias(
                "baseline_half"
            ),
        )
        .with_columns(
            ((pl.col("point") + pl.col("baseline")) / 2).alias("combination"),
            ((pl.col("half") + pl.col("baseline_half")) / 2).alias("combination_half"),
        )
    )


def _usable(series: pl.DataFrame) -> pl.DataFrame:
    n = series.group_by("unique_id").agg(pl.len().alias("n"))
    return series.join(n.filter(pl.col("n") >= MIN_HISTORY), on="unique_id", how="semi")


MODEL = "model"  # the engine name of the statsforecast model (or combination)
LEVEL = "level"  # AutoETS without trend (ANN) on the seasonally adjusted series
THETA = "theta"  # the Theta method (SES with drift) on the seasonally adjusted series
COMBINATION = "combination"  # the mean in logs of the model and seasonal naive
ENGINE_COLUMNS = {
    MODEL: ("point", "half"),
    LEVEL: ("level_point", "level_half"),
    THETA: ("theta_point", "theta_half"),
    COMBINATION: ("combination", "combination_half"),
    BASELINE: ("baseline", "baseline_half"),
}


def _engine_expr(which: int) -> pl.Expr:
    """The chosen engine's point (``which`` 0) or half-width (1) column, by the ``engine`` column."""
    expr = pl.col(ENGINE_COLUMNS[BASELINE][which])
    for engine in (COMBINATION, THETA, LEVEL, MODEL):
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
    # the origins roll up to the last scored month: the latest ``unscored_months`` are neither
    # trained on nor scored (see module)
    scored = len(months) - options.unscored_months
    for k in range(options.backtest_origins, 0, -1):
        cut = scored - k
        if cut < MIN_HISTORY:
            continue
        origin = months[cut - 1]
        train = _usable(series.filter(pl.col("ds") <= origin))
        if train.height == 0:
            continue
        h = min(options.backtest_horizon, scored - cut)
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
    # only origins trained on as many months as a full seasonal decomposition needs choose the
    # engine: a model fitted on 13-23 months lacks its seasonal factors and would lose to
    # seasonal naive in the backtest for that reason alone
    informative = bt.filter(pl.col("train_months") >= MIN_SELECTION_HISTORY)
    errors = _mape(informative)
    picked = errors.join(
        _pick(informative, options.default_engine, options.switch_z), on="unique_id"
    )
    all_errors = _mape(bt)
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
    mape = pl.col(BASELINE)
    for engine in (COMBINATION, THETA, LEVEL, MODEL):
        mape = pl.when(pl.col("engine") == engine).then(pl.col(engine)).otherwise(mape)
    choice = measured.with_columns(
        mape.alias("mape"),
        pl.col(BASELINE).alias("baseline_mape"),
    ).select("unique_id", "engine", "mape", "baseline_mape")
    # the total's interval: with ``ESTIMATED``, from its procedure's finite backtest errors once
    # there are MIN_ESTIMATED_POINTS of them; with "engine", once it has as many backtest points
    # as a category needs for a scale of its own (one quantile of 3-10 relative errors, scaling
    # the engine's widening out to 12 months, made the default panel's total as of 2024-06-30
    # +-47% one month ahead); with fewer, its engine's own stated interval ("own")
    total_bt = bt.filter(pl.col("unique_id") == TOTAL)
    if options.total_interval_shape == ESTIMATED:
        # the points are the procedure's finite errors (a month with no cost has none)
        errors = procedure_errors(total_bt, options)
        enough = errors.height >= MIN_ESTIMATED_POINTS
        law = total_variance_law(errors, options) if enough else _NO_LAW
    else:
        enough, law = total_bt.height >= MIN_SCALE_POINTS, _NO_LAW
    shapes = pl.DataFrame(
        {
            "kind": ["category", TOTAL],
            "shape": [options.interval_shape, options.total_interval_shape if enough else OWN],
        }
    ).join(law, on="kind", how="left")
    chosen = (
        bt.join(choice.select("unique_id", "engine"), on="unique_id")
        .with_columns(_engine_expr(0).alias("p"), _bucket().alias("bucket"), _kind())
        .join(shapes, on="kind")
        .with_columns(_spread(["unique_id", "origin"]))
        .drop("kind", "shape", "noise", "growth", "scale")
    )
    # the interval is empirical: quantiles of the backtest's own |log error|, relative to the
    # chosen engine's own half-width with ``interval_shape`` "engine" (see module)
    ratio = (pl.col("y").log() - pl.col("p")).abs() / pl.col("spread")
    finite = chosen.with_columns(ratio.alias("ratio")).filter(pl.col("ratio").is_finite())
    profile = _horizon_profile(
        finite,
        options.level,
        by_horizon=set(shapes.filter(pl.col("shape") == "buckets")["kind"].to_list()),
    ).join(shapes, on="kind", how="left")
    # the engine's own interval: its half-width as it states it; the total's estimated one: the
    # quantile of the procedure's standardized errors (``total_variance_law``)
    profile = profile.with_columns(
        pl.when(pl.col("shape") == OWN)
        .then(pl.lit(1.0))
        .when(pl.col("shape") == ESTIMATED)
        .then(pl.col("scale"))
        .otherwise(pl.col("horizon_scale"))
        .alias("horizon_scale")
    ).drop("scale")
    rel = (
        finite.with_columns(_kind())
        .join(profile, on=["kind", "bucket"])
        .with_columns((pl.col("ratio") / pl.col("horizon_scale")).alias("rel"))
    )
    scales = rel.group_by("unique_id").agg(
        pl.col("rel").quantile(options.level).alias("own"), pl.len().alias("points")
    )
    choice = (
        choice.join(scales, on="unique_id", how="left")
        .with_columns(
            pl.when(
                (pl.col("points") >= MIN_SCALE_POINTS)
                & options.interval_by_series
                & (pl.col("unique_id") != TOTAL)
            )
            .then(pl.col("own"))
            .otherwise(1.0)
            .alias("interval_scale"),
            pl.col("points").fill_null(0),
        )
        .rename({"unique_id": "service_category"})
        .select(*CHOICE_COLUMNS)
        .sort("service_category")
    )
    chosen = (
        chosen.with_columns(_kind())
        .join(profile, on=["kind", "bucket"], how="left")
        .with_columns(pl.col("horizon_scale").fill_null(1.0))
    )
    out = (
        chosen.join(
            choice.select(pl.col("service_category").alias("unique_id"), "interval_scale"),
            on="unique_id",
        )
        .with_columns(
            (pl.col("interval_scale") * pl.col("horizon_scale") * pl.col("spread")).alias(
                "interval_scale"
            )
        )
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
            (pl.col("p") - pl.col("interval_scale")).exp().alias("lo"),
            (pl.col("p") + pl.col("interval_scale")).exp().alias("hi"),
        )
    )
    return out, choice, profile


def _pick(bt: pl.DataFrame, default: str, z: float) -> pl.DataFrame:
    """unique_id, engine: each series keeps the ``default`` engine unless the backtest shows
    another one clearly better, and then takes the best of those that are. Clearly: over the
    backtest's origins (each origin's mean APE over its horizons, one value per origin, since a
    forecast's errors at successive horizons move together), the mean gain over the default
    exceeds ``z`` standard errors of the mean gain (a one-sided paired comparison in the spirit
    of Diebold & Mariano 1995). Choosing the lowest backtest MAPE outright picks noise when the
    backtest is short (2-8 origins at 18-24 months of history)."""
    per_origin = bt.group_by("unique_id", "origin").agg(
        *(_ape(cols[0]).mean().alias(e) for e, cols in ENGINE_COLUMNS.items())
    )
    gains = per_origin.group_by("unique_id").agg(
        pl.len().alias("_n"),
        *(pl.col(e).mean().alias(e) for e in ENGINE_COLUMNS),
        *((pl.col(default) - pl.col(e)).mean().alias(f"_g_{e}") for e in ENGINE_COLUMNS),
        *((pl.col(default) - pl.col(e)).std().alias(f"_s_{e}") for e in ENGINE_COLUMNS),
    )
    pick, best = pl.lit(default), pl.col(default)
    for engine in ENGINE_COLUMNS:
        if engine == default:
            continue
        g, sd = pl.col(f"_g_{engine}"), pl.col(f"_s_{engine}").fill_null(0.0)
        clear = (pl.col("_n") >= 2) & (g > 0) & (g > z * sd / pl.col("_n").sqrt())
        better = clear & (pl.col(engine) < best)
        pick = pl.when(better).then(pl.lit(engine)).otherwise(pick)
        best = pl.when(better).then(pl.col(engine)).otherwise(best)
    return gains.select("unique_id", pick.alias("engine"))


def _mape(bt: pl.DataFrame) -> pl.DataFrame:
    """unique_id and each engine's backtest MAPE over every point of the backtest."""
    return bt.group_by("unique_id").agg(
        *(_ape(cols[0]).mean().alias(e) for e, cols in ENGINE_COLUMNS.items())
    )


def _ape(column: str) -> pl.Expr:
    """Absolute percentage error of a log-scale forecast column against ``y``."""
    return (pl.col(column).exp() / pl.col("y") - 1).abs()


CHOICE_COLUMNS = ("service_category", "engine", "mape", "baseline_mape", "points", "interval_scale")
_NO_PROFILE = pl.DataFrame(
    schema={"kind": pl.String, "bucket": pl.Int64, "horizon_scale": pl.Float64}
)


def _bucket() -> pl.Expr:
    """The horizon bucket (index into ``HORIZON_BUCKETS``) of the ``horizon`` column."""
    b = pl.lit(0, dtype=pl.Int64)
    for i, start in enumerate(HORIZON_BUCKETS[1:], start=1):
        b = pl.when(pl.col("horizon") >= start).then(pl.lit(i, dtype=pl.Int64)).otherwise(b)
    return b


def _kind() -> pl.Expr:
    """``total`` for the total series, ``category`` for every service category."""
    return (
        pl.when(pl.col("unique_id") == TOTAL)
        .then(pl.lit(TOTAL))
        .otherwise(pl.lit("category"))
        .alias("kind")
    )


def _horizon_profile(ratios: pl.DataFrame, level: float, *, by_horizon: set[str]) -> pl.DataFrame:
    """kind, bucket, horizon_scale: the ``level`` quantile of the backtest's ``ratio`` (|log
    error|, relative to the engine's own half-width with ``interval_shape`` "engine"), pooled
    over the categories and apart for the total (a sum, smoother than any of its parts: one
    pool would widen its interval by the categories' noise).

    ``by_horizon`` (``interval_shape`` "buckets"): one quantile per horizon bucket, a later
    bucket never below an earlier one (errors do not shrink with the horizon), buckets past the
    backtest's horizons taking the last one's. Otherwise one quantile over every horizon, the
    same in every bucket: the engine's half-width carries the widening with the horizon, so
    buckets the in-history backtest cannot reach (at 18-24 months of history it scores few
    forecasts more than 6 months ahead) are not left at the short horizons' width."""
    if ratios.height == 0:
        return _NO_PROFILE
    frames = []
    for (kind,), part in ratios.with_columns(_kind()).group_by("kind"):
        if kind in by_horizon:
            q = (
                part.group_by("bucket")
                .agg(pl.col("ratio").quantile(level).alias("horizon_scale"))
                .sort("bucket")
            )
            values = np.maximum.accumulate(q["horizon_scale"].to_numpy())
            full = {b: float(v) for b, v in zip(q["bucket"].to_list(), values, strict=True)}
        else:
            full = {0: float(part["ratio"].quantile(level) or 0.0)}
        out, current = [], full[min(full)]
        for b in range(len(HORIZON_BUCKETS)):
            current = full.get(b, current)
            out.append((kind, b, current))
        frames.append(
            pl.DataFrame(
                out,
                schema={"kind": pl.String, "bucket": pl.Int64, "horizon_scale": pl.Float64},
                orient="row",
            )
        )
    return pl.concat(frames).sort("kind", "bucket")


def _spread(by: list[str]) -> pl.Expr:
    """``spread``, the interval's shape by horizon (log scale), by the ``shape`` column (the
    series kind's, ``interval_shape`` for the categories, ``total_interval_shape`` for the
    total, ``OWN`` without enough backtest): "engine" and ``OWN``, the chosen engine's own
    stated half-width, never narrower than at an earlier horizon of the same forecast (``by``,
    rows in horizon order); ``ESTIMATED``, the standard deviation of the fitted variance law,
    sqrt(noise + growth x horizon) (``total_variance_law``); "buckets", 1, the profile's
    buckets carrying the shape."""
    return (
        pl.when(pl.col("shape").is_in(["engine", OWN]))
        .then(_engine_expr(1).cum_max().over(by, order_by="horizon"))
        .when(pl.col("shape") == ESTIMATED)
        .then((pl.col("noise") + pl.col("growth") * pl.col("horizon")).sqrt())
        .otherwise(pl.lit(1.0))
        .alias("spread")
    )


_NO_ERRORS = pl.DataFrame(
    schema={"origin": pl.Date, "horizon": pl.Int64, "engine": pl.String, "error": pl.Float64}
)
_NO_LAW = pl.DataFrame(
    schema={"kind": pl.String, "noise": pl.Float64, "growth": pl.Float64, "scale": pl.Float64}
)


def procedure_errors(total_bt: pl.DataFrame, options: ForecastOptions) -> pl.DataFrame:
    """origin, horizon, engine, error (log actual - log forecast): the in-history backtest's
    errors of the forecasting procedure itself, choice of engine included, for one series.

    At each origin the engine is the one ``_pick`` chooses from the backtest forecasts of the
    earlier origins whose outcomes were known and scored by then (target months at least
    ``unscored_months`` before the origin); the first origins, with fewer than two such
    forecasts, keep the default engine. The errors of the engine finally chosen are not used:
    it was chosen for having the smallest of them (the winner's curse; measured out of sample
    in benchmarks/RESULTS.md, issue 20)."""
    parts = [_NO_ERRORS]
    for origin in total_bt["origin"].unique().sort():
        seen = total_bt.filter(
            (pl.col("origin") < origin)
            & (pl.col("ds") <= pl.lit(origin).dt.offset_by(f"-{options.unscored_months}mo"))
            & (pl.col("train_months") >= MIN_SELECTION_HISTORY)
        )
        engine = (
            _pick(seen, options.default_engine, options.switch_z)["engine"][0]
            if seen.height
            else options.default_engine
        )
        parts.append(
            total_bt.filter(pl.col("origin") == origin).select(
                "origin",
                "horizon",
                pl.lit(engine).alias("engine"),
                (pl.col("y").log() - pl.col(ENGINE_COLUMNS[engine][0])).alias("error"),
            )
        )
    return pl.concat(parts, how="vertical_relaxed").filter(pl.col("error").is_finite())


def total_variance_law(errors: pl.DataFrame, options: ForecastOptions) -> pl.DataFrame:
    """kind (``total``), noise, growth, scale: the total's interval, half-width at horizon h
    scale x sqrt(noise + growth x h) (log scale), from the procedure's own backtest errors
    (``procedure_errors``: horizon, error; at least one).

    The variance law is a local level's: a forecast h months ahead errs by the month's own
    noise plus the level's drift over h months, Var(e_h) = noise + growth x h (for simple
    exponential smoothing sigma^2 (1 + (h - 1) alpha^2); Hyndman & Athanasopoulos, Forecasting:
    Principles and Practice, 3rd ed., section 8.7). Its two terms are fitted to the squared
    errors by non-negative least squares, so the data say how much the error grows with the
    horizon (measured on the synthetic panels: hardly at all at 20,000 members, where monthly
    noise dominates) instead of the engine's likelihood (Theta's widens 1.6x from 1 to 6 months
    ahead). ``scale`` is the ``level`` quantile of the errors standardized by that law, so the
    stated coverage is the backtest's, not the normal distribution's."""
    from scipy.optimize import nnls

    if errors.height == 0:
        raise ValueError("total_variance_law needs at least one backtest error.")
    e = errors["error"].to_numpy()
    h = errors["horizon"].to_numpy().astype(float)
    (noise, growth), _ = nnls(np.column_stack([np.ones_like(h), h]), e**2)
    sd = np.sqrt(noise + growth * h)
    if not np.all(sd > 0):  # every error exactly 0: nothing to scale
        noise, growth, scale = 0.0, 0.0, 0.0
    else:
        scale = float(np.quantile(np.abs(e) / sd, options.level, method="nearest"))
    return pl.DataFrame(
        {"kind": [TOTAL], "noise": [noise], "growth": [growth], "scale": [scale]},
        schema=_NO_LAW.schema,
    )


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
        .with_columns(_bucket().alias("bucket"), _kind())
        .join(backtest_profile, on=["kind", "bucket"], how="left")
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
    if "shape" not in by_engine.columns:  # no backtest at all
        by_engine = by_engine.with_columns(
            pl.lit(None, dtype=pl.String).alias("shape"),
            pl.lit(None, dtype=pl.Float64).alias("noise"),
            pl.lit(None, dtype=pl.Float64).alias("growth"),
        )
    # a series without backtest points has its engine's own interval
    by_engine = by_engine.with_columns(pl.col("shape").fill_null(OWN)).with_columns(
        _spread(["unique_id"])
    )
    p = _engine_expr(0)
    w = pl.col("interval_scale") * pl.col("horizon_scale") * pl.col("spread")
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
