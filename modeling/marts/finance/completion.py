"""Completion of unpaid claims (IBNR) as of a valuation date, by incurred month and service category.

Per category (separate triangles, because payment lags differ: pharmacy completes almost at once,
inpatient and SNF slowest; ``modeling.marts.finance.triangles``):

- **development method** (``modeling.marts.finance.development``) where run-out is credible: an
  incurred month whose latest lag is ``development_min_lag`` or more, or whose completion factor
  is at least ``development_min_completion`` (ASOP No. 5 section 3.4.1);
- **Bornhuetter-Ferguson** for the latest months (ASOP No. 5 section 3.4.2, projection methods
  for the most recent incurral months; Friedland 2010 ch. 9): ``U = paid + (1 - CF) x a-priori``,
  the a-priori being the trended, seasonal PMPM x member months. The PMPM is fitted by least
  squares on the log completed PMPM of the development-method months (the latest
  ``prior_months``): a level, a linear trend and, with 24 months or more, a seasonal effect per
  calendar month; with fewer than 6 months, their mean;
- **errors**: Mack's standard error for development months; for BF months the standard
  deviation of the bootstrap BF reserve (the simulated completion factor of each pseudo triangle
  applied to the a-priori, plus gamma process noise; the a-priori itself is held fixed);
  the interval is the bootstrap's (``level``, e.g. 80%: its 10th and 90th percentiles);
- ``all``: medical and pharmacy together, the sum of the categories' rows (its standard error
  assumes the categories independent).

``completion_factor`` is the share of the ultimate paid by the month's lag in the category's
development pattern (``1 / CDF``); for ``all`` it is paid to date / estimated incurred.

A slow paid month (a processing backlog) would otherwise be read as low incurred claims: the
latest paid month's actual / expected payments over the medical categories (expected from each
incurred month's a-priori ultimate and the development pattern) measure its speed; beyond
``1 +- speed_tolerance`` the shortfall (or the excess of a catch-up month) is added back to the
paid to date before developing (ASOP No. 5 section 3.2, changes in claim processing).

The thresholds are parameters: ASOP No. 5 does not prescribe them. Results are for internal
management reporting (ASOP No. 5 section 3.3.1(a)); no margin for adverse deviation is added.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from modeling.core.panel import Panel
from modeling.core.service_categories import PHARMACY
from modeling.dataset import Dataset
from modeling.errors import DatasetError, ParameterError
from modeling.marts.finance.development import (
    Development,
    chain_ladder,
    develop,
    odp_bootstrap,
)
from modeling.marts.finance.triangles import (
    Triangle,
    Valuation,
    month_index,
    month_of_index,
    monthly_member_months,
    paid_cells,
    triangles,
)

ALL = "all"
DEVELOPMENT = "development"
BF = "bornhuetter-ferguson"
TABLE_COLUMNS = (
    "incurred_month",
    "service_category",
    "paid_to_date",
    "completion_factor",
    "estimated_incurred",
    "ibnr",
    "ibnr_se",
    "method",
)


@dataclass(frozen=True)
class CompletionOptions:
    """How completion is done (every threshold a parameter; defaults as the module says)."""

    window: int = 12  # latest diagonals averaged for the link factors
    development_min_lag: int = 3
    development_min_completion: float = 0.95
    prior_months: int = 24
    speed_tolerance: float = 0.05  # latest paid month's actual/expected beyond 1 +- this: adjust
    speed_lags: int = 6  # lags 1..this of the latest diagonal measure its payment speed
    calibrate_from: int = 6  # hindsight: valuations this many months back and more ...
    calibrate_valuations: int = 12  # ... this many of them (0: intervals as the bootstrap says)
    level: float = 0.80  # of the bootstrap interval
    draws: int = 500
    seed: int = 20

    def check(self) -> None:
        if self.window < 1:
            raise ParameterError(f"window must be at least 1 diagonal (got {self.window}).")
        if self.development_min_lag < 0:
            raise ParameterError("development_min_lag must be 0 or more months.")
        if not 0 < self.development_min_completion <= 1.5:
            raise ParameterError("development_min_completion is a completion factor in (0, 1].")
        if not 0 < self.level < 1:
            raise ParameterError(f"level must be between 0 and 1 (got {self.level}).")
        if self.draws < 0 or self.prior_months < 1:
            raise ParameterError("draws must be 0 or more and prior_months at least 1.")


@dataclass(frozen=True)
class Completion:
    """Completed claims as of ``as_of``.

    ``table``: one row per incurred month and service category (and ``all``): the
    ``TABLE_COLUMNS`` plus lag, member_months, paid and completed PMPM, a-priori PMPM and the
    bootstrap interval (ibnr_lo, ibnr_hi). ``factors``: service_category, lag, link_factor,
    sigma, link_se, completion_factor.
    """

    as_of: dt.date
    options: CompletionOptions
    table: pl.DataFrame
    factors: pl.DataFrame
    payment_speed: float  # actual / expected paid in the latest paid month (medical)
    speed_adjusted: bool  # whether the shortfall (or excess) was added back
    interval_scale: float = 1.0  # the hindsight calibration of the bootstrap interval


def _a_priori_pmpm(
    months: np.ndarray, pmpm: np.ndarray, use: np.ndarray, targets: np.ndarray, n_fit: int
) -> np.ndarray:
    """Trended, seasonal PMPM at ``targets`` (month indices) fitted on the ``use`` months."""
    x, y = months[use][-n_fit:], pmpm[use][-n_fit:]
    if len(x) == 0:
        return np.zeros(len(targets))
    if len(x) < 6 or (y <= 0).any():
        return np.full(len(targets), float(y.mean()))
    seasonal = len(x) >= 24

    def design(m: np.ndarray) -> np.ndarray:
        cols = [np.ones(len(m)), (m - x[-1]) / 12.0]
        if seasonal:
            cols += [(m % 12 == c).astype(float) for c in range(1, 12)]
        return np.column_stack(cols)

    beta, *_ = np.linalg.lstsq(design(x), np.log(y), rcond=None)
    return np.exp(design(targets) @ beta)


@dataclass(frozen=True)
class _Basis:
    """One category's development estimates and a-priori, before the payment-speed adjustment."""

    tri: Triangle
    dev: Development
    latest: np.ndarray
    lag: np.ndarray
    cf: np.ndarray
    mack_se: np.ndarray
    development_rows: np.ndarray
    prior: np.ndarray  # a-priori ultimate (PMPM x member months)

    def expected_latest(self) -> np.ndarray:
        """Expected paid in the latest paid month of each incurred month, from its a-priori
        ultimate: ``prior x (CF_k - CF_{k-1})`` (``prior x CF_0`` at lag 0)."""
        before = np.where(self.lag > 0, self.dev.completion[np.maximum(self.lag - 1, 0)], 0.0)
        return self.prior * (self.cf - before)


def _basis(
    tri: Triangle, dev: Development, member_months: np.ndarray, opts: CompletionOptions
) -> _Basis:
    cl = chain_ladder(tri, dev)
    cf = dev.completion[cl.latest_lag]
    dev_rows = (cl.latest_lag >= opts.development_min_lag) | (cf >= opts.development_min_completion)
    months = tri.first + np.arange(tri.origins)
    with np.errstate(divide="ignore", invalid="ignore"):
        completed_pmpm = np.where(member_months > 0, cl.ultimate / member_months, 0.0)
    prior_pmpm = _a_priori_pmpm(months, completed_pmpm, dev_rows, months, opts.prior_months)
    return _Basis(
        tri, dev, cl.latest, cl.latest_lag, cf, cl.mack_se, dev_rows, prior_pmpm * member_months
    )


def payment_speed(bases: dict[str, _Basis], *, lags: int) -> float:
    """Actual / expected paid in the latest paid month over the medical categories, incurred
    months at lags 0 .. ``lags``: below 1 when processing slowed that month (claims due were not
    yet paid), above 1 in a catch-up month (ASOP No. 5 section 3.2, changes in claim processing)."""
    actual = expected = 0.0
    for category, b in bases.items():
        if category == PHARMACY:
            continue
        use = b.lag <= lags
        actual += float(b.tri.paid[np.arange(b.tri.origins), b.lag][use].sum())
        expected += float(b.expected_latest()[use].sum())
    return actual / expected if expected > 0 else 1.0


def _category_rows(
    b: _Basis, opts: CompletionOptions, rng: np.random.Generator | None, speed: float = 1.0
) -> pl.DataFrame:
    tri, dev, cf, dev_rows, prior = b.tri, b.dev, b.cf, b.development_rows, b.prior
    # a slow (or catch-up) latest paid month: the shortfall against its expected payments is
    # still to be paid (or was paid early), so it is added back before developing
    shortfall = (1 - speed) * b.expected_latest()
    ultimate = (b.latest + shortfall) * dev.cdf[b.lag]
    ibnr = np.where(dev_rows, ultimate - b.latest, shortfall + (1 - cf) * prior)
    se = b.mack_se.copy()
    lo = hi = np.full(tri.origins, np.nan)
    if rng is not None and opts.draws > 1:
        boot = odp_bootstrap(tri, dev, window=opts.window, draws=opts.draws, rng=rng)
        cf_sim = 1 / boot.cdf[:, b.lag]
        bf_mean = (1 - cf_sim) * prior[None, :]
        if boot.phi > 0:
            bf_sim = np.where(
                bf_mean > 0,
                rng.gamma(np.where(bf_mean > 0, bf_mean / boot.phi, 1.0), boot.phi),
                0.0,
            )
        else:
            bf_sim = bf_mean
        sims = np.where(dev_rows[None, :], boot.reserves, bf_sim)
        # the bootstrap's spread, centred on the point estimate
        centre = sims - sims.mean(axis=0, keepdims=True) + ibnr[None, :]
        tail = (1 - opts.level) / 2
        lo, hi = np.quantile(centre, [tail, 1 - tail], axis=0)
        se = np.where(dev_rows, b.mack_se, sims.std(axis=0, ddof=1))
    else:
        se = np.where(dev_rows, b.mack_se, np.nan)
    return pl.DataFrame(
        {
            "incurred": (tri.first + np.arange(tri.origins)).astype(np.int32),
            "service_category": tri.service_category,
            "lag": b.lag,
            "paid_to_date": b.latest,
            "completion_factor": cf,
            "ibnr": ibnr,
            "ibnr_se": se,
            "ibnr_lo": lo,
            "ibnr_hi": hi,
            "a_priori": prior,
            "method": np.where(dev_rows, DEVELOPMENT, BF),
        }
    )


def _factor_rows(category: str, dev: Development) -> pl.DataFrame:
    lags = len(dev.cdf)
    pad = lambda a: np.r_[a, np.nan] if lags else a  # noqa: E731
    return pl.DataFrame(
        {
            "service_category": category,
            "lag": np.arange(lags),
            "link_factor": pad(dev.link),
            "sigma": pad(dev.sigma),
            "link_se": pad(dev.link_se),
            "completion_factor": dev.completion,
        }
    )


def _all_rows(rows: pl.DataFrame) -> pl.DataFrame:
    return (
        rows.group_by("incurred")
        .agg(
            pl.lit(ALL).alias("service_category"),
            pl.col("lag").max(),
            pl.col("paid_to_date").sum(),
            pl.lit(np.nan).alias("completion_factor"),
            pl.col("ibnr").sum(),
            (pl.col("ibnr_se") ** 2).sum().sqrt(),
            (pl.col("ibnr") - pl.col("ibnr_lo")).pow(2).sum().sqrt().alias("_dlo"),
            (pl.col("ibnr_hi") - pl.col("ibnr")).pow(2).sum().sqrt().alias("_dhi"),
            pl.col("a_priori").sum(),
            pl.when(pl.col("method").n_unique() == 1)
            .then(pl.col("method").first())
            .otherwise(pl.lit("mixed"))
            .alias("method"),
        )
        .with_columns(
            (pl.col("ibnr") - pl.col("_dlo")).alias("ibnr_lo"),
            (pl.col("ibnr") + pl.col("_dhi")).alias("ibnr_hi"),
        )
        .drop("_dlo", "_dhi")
    )


def complete_cells(
    cells: pl.DataFrame,
    member_months: pl.DataFrame,
    valuation: Valuation,
    *,
    first: int,
    options: CompletionOptions,
) -> Completion:
    """Completion from paid cells (``triangles.paid_cells``) and monthly member months."""
    options.check()
    tris = triangles(cells, valuation, first)
    if not tris:
        raise DatasetError(f"No claims paid on or before {valuation.as_of}.")
    n = valuation.last_incurred - first + 1
    mm = (
        pl.DataFrame({"incurred": np.arange(first, first + n, dtype=np.int32)})
        .join(member_months, on="incurred", how="left")
        .with_columns(pl.col("member_months").fill_null(0.0))
    )
    mm_arr = mm["member_months"].to_numpy().astype(float)
    rng = np.random.default_rng(options.seed) if options.draws > 1 else None
    bases = {
        c: _basis(t, develop(t, window=options.window), mm_arr, options) for c, t in tris.items()
    }
    speed = payment_speed(bases, lags=options.speed_lags)
    adjust = abs(speed - 1) > options.speed_tolerance
    rows, factors = [], []
    for category, b in bases.items():
        s = speed if adjust and category != PHARMACY else 1.0
        rows.append(_category_rows(b, options, rng, s))
        factors.append(_factor_rows(category, b.dev))
    by_cat = pl.concat(rows)
    table = (
        pl.concat([by_cat, _all_rows(by_cat).select(by_cat.columns)])
        .join(mm, on="incurred", how="left")
        .with_columns((pl.col("paid_to_date") + pl.col("ibnr")).alias("estimated_incurred"))
        .with_columns(
            pl.when(pl.col("service_category") != ALL)
            .then(pl.col("completion_factor"))
            .when(pl.col("estimated_incurred") != 0)
            .then(pl.col("paid_to_date") / pl.col("estimated_incurred"))
            .otherwise(1.0)
            .alias("completion_factor"),
            (pl.col("paid_to_date") / pl.col("member_months")).alias("paid_pmpm"),
            (pl.col("estimated_incurred") / pl.col("member_months")).alias("completed_pmpm"),
            (pl.col("a_priori") / pl.col("member_months")).alias("a_priori_pmpm"),
            month_of_index("incurred").alias("incurred_month"),
        )
        .sort("service_category", "incurred")
    )
    scale = 1.0
    if options.calibrate_valuations > 0 and options.draws > 1:
        scale = _interval_scale(cells, member_months, valuation, first, options, table)
        table = table.with_columns(
            (pl.col("ibnr") - scale * (pl.col("ibnr") - pl.col("ibnr_lo"))).alias("ibnr_lo"),
            (pl.col("ibnr") + scale * (pl.col("ibnr_hi") - pl.col("ibnr"))).alias("ibnr_hi"),
        )
    extra = (
        "lag",
        "member_months",
        "paid_pmpm",
        "completed_pmpm",
        "a_priori_pmpm",
        "ibnr_lo",
        "ibnr_hi",
    )
    return Completion(
        valuation.as_of,
        options,
        table.select(*TABLE_COLUMNS, *extra),
        pl.concat(factors),
        speed,
        adjust,
        scale,
    )


def _interval_scale(
    cells: pl.DataFrame,
    member_months: pl.DataFrame,
    valuation: Valuation,
    first: int,
    options: CompletionOptions,
    now: pl.DataFrame,
) -> float:
    """Hindsight calibration of the interval (ASOP No. 5 section 3.5, follow-up studies): at
    ``calibrate_valuations`` earlier valuations (``calibrate_from`` months back and more, so that
    their recent months have run out since), each category's estimate for its latest six months
    against today's estimate of the same months; the ``level`` quantile of |error| / interval
    half-width scales today's interval (1 when there is no history to learn from)."""
    inner = CompletionOptions(**{**options.__dict__, "calibrate_valuations": 0})
    ratios = []
    current = now.filter(pl.col("service_category") != ALL).select(
        "service_category", "incurred", pl.col("estimated_incurred").alias("now")
    )
    for back in range(
        options.calibrate_from, options.calibrate_from + options.calibrate_valuations
    ):
        past = Valuation(
            valuation.as_of,
            valuation.shift_days,
            valuation.last_incurred - back,
            valuation.paid_through - back,
        )
        if past.last_incurred - first < 12:
            break
        cut = cells.filter(pl.col("incurred") + pl.col("lag") <= past.paid_through)
        then = complete_cells(cut, member_months, past, first=first, options=inner).table
        j = (
            then.filter((pl.col("service_category") != ALL) & (pl.col("lag") <= 5))
            .with_columns(month_index("incurred_month").alias("incurred"))
            .join(current, on=["service_category", "incurred"])
            .with_columns(
                pl.when(pl.col("now") > pl.col("estimated_incurred"))
                .then(pl.col("ibnr_hi") - pl.col("ibnr"))
                .otherwise(pl.col("ibnr") - pl.col("ibnr_lo"))
                .alias("half")
            )
            .filter(pl.col("half") > 0)
        )
        ratios.append(((j["now"] - j["estimated_incurred"]).abs() / j["half"]).to_numpy())
    if not ratios:
        return 1.0
    pooled = np.concatenate(ratios)
    pooled = pooled[np.isfinite(pooled)]
    return max(float(np.quantile(pooled, options.level)), 1.0) if len(pooled) >= 20 else 1.0


def _first_month(member_months: pl.DataFrame) -> int:
    if member_months.height == 0:
        raise DatasetError("The panel has no member months.")
    return int(member_months["incurred"].min())  # type: ignore[arg-type]


def complete(
    source: Panel | Dataset, *, as_of: dt.date, options: CompletionOptions | None = None
) -> Completion:
    """Completed claims of every whole incurred month up to ``as_of``, counting only claims paid on
    or before it (see the module for the rules)."""
    panel = Panel.of(source)
    opts = options or CompletionOptions()
    opts.check()
    valuation = Valuation.at(as_of)
    mm = monthly_member_months(panel)
    return complete_cells(
        paid_cells(panel, valuation), mm, valuation, first=_first_month(mm), options=opts
    )


def hindsight(
    source: Panel | Dataset,
    *,
    as_of: dt.date,
    valuations: int = 12,
    options: CompletionOptions | None = None,
) -> pl.DataFrame:
    """Past estimates against what was later paid (ASOP No. 5 section 3.5, follow-up studies).

    For each of the ``valuations`` month ends before ``as_of``: the total (``all``) estimated
    incurred of each incurred month then, and what had been paid for it by ``as_of``. Columns:
    valuation_date, incurred_month, lag, estimated_then, paid_then, paid_by_as_of,
    estimate_error (estimated_then / paid_by_as_of - 1; still incomplete by ``as_of`` itself,
    so read it with the later run-out in mind)."""
    panel = Panel.of(source)
    opts = options or CompletionOptions(draws=0)
    opts = CompletionOptions(**{**opts.__dict__, "draws": 0})
    mm = monthly_member_months(panel)
    first = _first_month(mm)
    now = Valuation.at(as_of)
    cells_now = paid_cells(panel, Valuation.at(_month_end_before(as_of, 0)))
    paid_now = (
        paid_cells(panel, now).group_by("incurred").agg(pl.col("paid").sum().alias("paid_by_as_of"))
    )
    out = []
    for back in range(1, valuations + 1):
        end = _month_end_before(as_of, back)
        v = Valuation.at(end)
        if v.last_incurred < first + 1:
            break
        month = v.paid_through
        cells = cells_now.filter(pl.col("incurred") + pl.col("lag") <= month)
        done = complete_cells(cells, mm, v, first=first, options=opts).table
        out.append(
            done.filter(pl.col("service_category") == ALL).select(
                pl.lit(end).alias("valuation_date"),
                "incurred_month",
                pl.col("lag"),
                pl.col("estimated_incurred").alias("estimated_then"),
                pl.col("paid_to_date").alias("paid_then"),
                month_index("incurred_month").alias("incurred"),
            )
        )
    if not out:
        raise DatasetError(f"No month end before {as_of} with a whole incurred month to test.")
    return (
        pl.concat(out)
        .join(paid_now, on="incurred", how="left")
        .with_columns(
            (pl.col("estimated_then") / pl.col("paid_by_as_of") - 1).alias("estimate_error")
        )
        .drop("incurred")
        .sort("valuation_date", "incurred_month")
    )


def _month_end_before(day: dt.date, back: int) -> dt.date:
    """The end of the month ``back`` months before the last whole month on or before ``day``."""
    index = day.year * 12 + day.month - 1 - (0 if _is_month_end(day) else 1) - back + 1
    return dt.date(index // 12, index % 12 + 1, 1) - dt.timedelta(days=1)


def _is_month_end(day: dt.date) -> bool:
    return (day + dt.timedelta(days=1)).day == 1
