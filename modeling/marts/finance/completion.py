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
  calendar month; with 12-23 months the seasonal effects of the classical decomposition
  (``modeling.marts.finance.seasonality``) and level and trend on the adjusted months; with
  fewer than 6 months, their mean;
- **errors**: Mack's standard error for development months; for BF months the standard
  deviation of the bootstrap BF reserve (the simulated completion factor of each pseudo triangle
  applied to the a-priori, plus gamma process noise; the a-priori itself is held fixed);
  the interval is the bootstrap's (``level``, e.g. 80%: its 10th and 90th percentiles);
- ``all``: medical and pharmacy together, the sum of the categories' rows (its standard error
  assumes the categories independent).

``completion_factor`` is the share of the ultimate paid by the month's lag in the category's
development pattern (``1 / CDF``); for ``all`` it is paid to date / estimated incurred.

A slow paid month (a processing backlog) would otherwise be read as low incurred claims, both in
the paid to date and in the link factors of the latest diagonal (ASOP No. 5 section 3.2, changes
in claim processing). Each of the latest ``speed_diagonals`` paid months' medical payments at
lags 0..``speed_lags`` are compared with their expectation ``U x (CF_k - CF_{k-1})`` (``U`` the
development ultimate where credible, the a-priori elsewhere); a one-sided CUSUM with allowance
``speed_tolerance`` finds whether a backlog is outstanding at the valuation (a catch-up month
that pays a slow month's claims closes the episode), and the episode's whole shortfall is the
backlog (``payment_speed``). It is spread over the medical categories' incurred months in
proportion to their expected payments in the episode's months and restated onto the latest
diagonal; the factors are re-estimated from the restated triangle and every method develops it
(a calendar-period adjustment; Friedland 2010 ch. 13, changes in claim settlement rates). The
backlog is part of the IBNR; the paid to date stays what was paid.

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
from modeling.marts.finance.seasonality import MIN_MONTHS as SEASONAL_MIN_MONTHS
from modeling.marts.finance.seasonality import log_seasonal_index
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
RESTATE_PASSES = 4  # backlog measured and restated at most this many times (a fixed point)
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
    speed_tolerance: float = 0.05  # CUSUM allowance: a paid month's shortfall beyond this share
    speed_lags: int = 6  # lags 0..this of each paid month measure its payment speed
    speed_diagonals: int = 24  # the latest paid months the backlog CUSUM runs over
    distorted_month: float = 0.10  # a paid month's actual/expected beyond 1 +- this: left out
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
        if self.speed_diagonals < 1 or self.speed_lags < 1:
            raise ParameterError("speed_diagonals and speed_lags must be 1 or more.")
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
    speed_adjusted: bool  # whether the backlog (or excess) was restated
    interval_scales: pl.DataFrame | None = None  # kind, bucket (lag), scale: the hindsight
    # calibration of the bootstrap interval (``_interval_scales``)
    cells: pl.DataFrame | None = None  # the paid cells completed (dollars and claim counts)
    backlog: float = 0.0  # the outstanding processing backlog restated (medical, dollars)


def _a_priori_pmpm(
    months: np.ndarray, pmpm: np.ndarray, use: np.ndarray, targets: np.ndarray, n_fit: int
) -> np.ndarray:
    """Trended, seasonal PMPM at ``targets`` (month indices) fitted on the ``use`` months: with
    24 months or more, level, trend and a seasonal effect per calendar month jointly; with 12-23
    (too few for 11 seasonal effects beside a trend) the seasonal effects are the classical
    decomposition's (``seasonality.log_seasonal_index``) and level and trend are fitted to the
    seasonally adjusted months (without them a series with a strong yearly cycle, such as
    hospice on the synthetic panel, would carry its mid-year level into January: measured, see
    benchmarks/RESULTS.md, finance); under 12, level and trend only."""
    x, y = months[use][-n_fit:], pmpm[use][-n_fit:]
    if len(x) == 0:
        return np.zeros(len(targets))
    if len(x) < 6 or (y <= 0).any():
        return np.full(len(targets), float(y.mean()))
    seasonal = len(x) >= 24
    consecutive = bool((np.diff(x) == 1).all())
    index = (
        log_seasonal_index(y, x % 12 + 1)
        if not seasonal and len(x) >= SEASONAL_MIN_MONTHS and consecutive
        else np.zeros(12)
    )

    def design(m: np.ndarray) -> np.ndarray:
        cols = [np.ones(len(m)), (m - x[-1]) / 12.0]
        if seasonal:
            cols += [(m % 12 == c).astype(float) for c in range(1, 12)]
        return np.column_stack(cols)

    beta, *_ = np.linalg.lstsq(design(x), np.log(y) - index[x % 12], rcond=None)
    return np.exp(design(targets) @ beta + index[targets % 12])


@dataclass(frozen=True)
class _Basis:
    """One category's development estimates and a-priori (``tri`` restated for a backlog, if
    any: ``backlog`` is what was added to each incurred month's latest cell)."""

    tri: Triangle
    dev: Development
    latest: np.ndarray  # paid to date (as paid, without the backlog)
    lag: np.ndarray
    cf: np.ndarray
    mack_se: np.ndarray
    development_rows: np.ndarray
    prior: np.ndarray  # a-priori ultimate (PMPM x member months)
    backlog: np.ndarray
    ultimate: np.ndarray  # development ultimate where credible, the a-priori elsewhere
    exclude: tuple[int, ...] = ()  # diagonals left out of the link factors

    def expected(self, diagonals: int) -> tuple[np.ndarray, np.ndarray]:
        """Expected and actual paid of each incurred month in each of the latest ``diagonals``
        paid months: ``U x (CF_k - CF_{k-1})`` (``U x CF_0`` at lag 0), ``U`` the development
        ultimate where it is credible and the a-priori elsewhere (not conditional on the
        previous cell, which a slow month leaves short: a catch-up would then look fast)."""
        rows = np.arange(self.tri.origins)
        lags = self.tri.paid.shape[1]
        cf = self.dev.completion
        exp = np.zeros((diagonals, self.tri.origins))
        act = np.zeros_like(exp)
        for d in range(diagonals):
            k = self.tri.valuation - d - rows
            ok = (k >= 0) & (k < lags)
            kk = np.clip(k, 0, lags - 1)
            share = cf[kk] - np.where(kk > 0, cf[np.maximum(kk - 1, 0)], 0.0)
            exp[d] = np.where(ok, self.ultimate * share, 0.0)
            # as paid: the latest diagonal without the backlog restated onto it
            paid = self.tri.paid[rows, kk] - (self.backlog if d == 0 else 0.0)
            act[d] = np.where(ok, paid, 0.0)
        return exp, act


def _basis(
    tri: Triangle,
    member_months: np.ndarray,
    opts: CompletionOptions,
    backlog: np.ndarray | None = None,
    exclude: tuple[int, ...] = (),
) -> _Basis:
    """Develop ``tri`` (its latest cells restated by ``backlog`` first, if given; the link
    ratios ending on the ``exclude`` diagonals left out)."""
    paid_latest = tri.latest()
    if backlog is not None:
        paid = tri.paid.copy()
        paid[np.arange(tri.origins), tri.latest_lag()] += backlog
        tri = Triangle(tri.service_category, tri.first, tri.valuation, paid)
    else:
        backlog = np.zeros(tri.origins)
    dev = develop(tri, window=opts.window, exclude=exclude)
    cl = chain_ladder(tri, dev)
    cf = dev.completion[cl.latest_lag]
    dev_rows = (cl.latest_lag >= opts.development_min_lag) | (cf >= opts.development_min_completion)
    months = tri.first + np.arange(tri.origins)
    with np.errstate(divide="ignore", invalid="ignore"):
        completed_pmpm = np.where(member_months > 0, cl.ultimate / member_months, 0.0)
    prior_pmpm = _a_priori_pmpm(months, completed_pmpm, dev_rows, months, opts.prior_months)
    return _Basis(
        tri,
        dev,
        paid_latest,
        cl.latest_lag,
        cf,
        cl.mack_se,
        dev_rows,
        prior_pmpm * member_months,
        backlog,
        np.where(dev_rows, cl.ultimate, prior_pmpm * member_months),
        exclude,
    )


@dataclass(frozen=True)
class PaymentSpeed:
    """Medical payments of the latest paid months against their expectation (index 0 = the
    latest paid month): ``expected``, ``actual``; the outstanding ``backlog`` (dollars) and the
    paid months of its episode (``episode``: 0 when no backlog is outstanding)."""

    expected: np.ndarray
    actual: np.ndarray
    backlog: float
    episode: int

    def distorted(self, valuation: int, threshold: float) -> tuple[int, ...]:
        """The paid months (diagonal indices counted as ``valuation``) whose actual / expected
        is beyond ``1 +- threshold``, and the month after each slow one (its catch-up, even when
        a slow-down of its own hides it): slow-downs and their catch-ups."""
        e = self.expected
        ratio = np.where(e > 0, self.actual / np.where(e > 0, e, 1.0), 1.0)
        off = set(np.flatnonzero(np.abs(ratio - 1) > threshold).tolist())
        off |= {d - 1 for d in np.flatnonzero(ratio < 1 - threshold).tolist() if d >= 1}
        return tuple(sorted(int(valuation - d) for d in off))

    @property
    def latest(self) -> float:
        """Actual / expected paid in the latest paid month."""
        return float(self.actual[0] / self.expected[0]) if self.expected[0] > 0 else 1.0


def payment_speed(
    bases: dict[str, _Basis], *, lags: int, diagonals: int, tolerance: float
) -> PaymentSpeed:
    """The outstanding processing backlog (ASOP No. 5 section 3.2, changes in claim processing).

    Per paid month ``t`` (the latest ``diagonals``, oldest first), the medical categories' actual
    and expected payments at lags 0..``lags`` (``_Basis.expected``) feed a one-sided cumulative
    sum ``b_t = max(0, b_{t-1} + E_t - A_t - tolerance x E_t)`` (Page's CUSUM; the tolerance
    absorbs ordinary month-to-month noise). While ``b`` is above 0 at the valuation, the backlog
    is the whole shortfall since the episode began, ``sum (E_t - A_t)`` over its months: a
    catch-up month that pays a slow month's claims brings ``b`` back to 0, so only what is still
    unpaid counts."""
    n = diagonals
    exp_t, act_t = np.zeros(n), np.zeros(n)
    for category, b in bases.items():
        if category == PHARMACY:
            continue
        exp, act = b.expected(n)
        k = b.tri.valuation - np.arange(n)[:, None] - np.arange(b.tri.origins)[None, :]
        use = (k >= 0) & (k <= lags)
        exp_t += np.where(use, exp, 0.0).sum(axis=1)
        act_t += np.where(use, act, 0.0).sum(axis=1)
    cusum, start = 0.0, n
    for d in range(n - 1, -1, -1):  # oldest paid month first
        cusum = max(0.0, cusum + exp_t[d] - act_t[d] - tolerance * exp_t[d])
        if cusum == 0.0:
            start = d
    # the classic CUSUM decision interval: a backlog counts once it exceeds ``tolerance`` of the
    # latest month's expected payments (smaller ones are within ordinary noise)
    episode = start if cusum > tolerance * exp_t[0] else 0
    backlog = float((exp_t[:episode] - act_t[:episode]).sum()) if episode else 0.0
    return PaymentSpeed(exp_t, act_t, max(backlog, 0.0), episode)


def _shortfall(b: _Basis, episode: int) -> np.ndarray:
    """Each incurred month's expected less actual payments over the episode's paid months, not
    below 0: a slow month's unpaid claims show there, and its catch-up's payments of them."""
    exp, act = b.expected(episode)
    return np.clip((exp - act).sum(axis=0), 0.0, None)


def _backlog(b: _Basis, speed: PaymentSpeed, total: float) -> np.ndarray:
    """Each incurred month's part of the backlog: its shortfall (``_shortfall``) over the
    medical categories' ``total`` shortfall, times the backlog."""
    share = _shortfall(b, speed.episode)
    return speed.backlog * share / total if total > 0 else share * 0.0


def _restated(
    tris: dict[str, Triangle], member_months: np.ndarray, v: int, opts: CompletionOptions
) -> tuple[dict[str, _Basis], PaymentSpeed]:
    """Every category developed, the medical ones with the processing backlog restated and the
    distorted paid months left out of their factors (see module). The raw triangles find the
    distorted months; without them the expectations, hence the backlog, are measured and
    restated; the restated triangles give better expectations (their a-priori no longer
    pulled down by the short diagonal), so the backlog is measured again, ``RESTATE_PASSES``
    times at most."""

    def speed_of(bases: dict[str, _Basis]) -> PaymentSpeed:
        return payment_speed(
            bases,
            lags=opts.speed_lags,
            diagonals=min(opts.speed_diagonals, v + 1),
            tolerance=opts.speed_tolerance,
        )

    def medical(
        backlog: dict[str, np.ndarray] | None, exclude: tuple[int, ...]
    ) -> dict[str, _Basis]:
        return {
            c: raw[c]
            if c == PHARMACY
            else _basis(tris[c], member_months, opts, (backlog or {}).get(c), exclude)
            for c in tris
        }

    raw = {c: _basis(t, member_months, opts) for c, t in tris.items()}
    first = speed_of(raw)
    exclude = first.distorted(v, opts.distorted_month) if opts.distorted_month > 0 else ()
    if not exclude and first.backlog == 0:
        return raw, first
    bases = medical(None, exclude)
    speed = speed_of(bases)
    for _ in range(RESTATE_PASSES):
        if speed.backlog == 0:
            break
        total = sum(
            float(_shortfall(b, speed.episode).sum()) for c, b in bases.items() if c != PHARMACY
        )
        backlog = {c: _backlog(bases[c], speed, total) for c in tris if c != PHARMACY}
        bases = medical(backlog, exclude)
        speed = speed_of(bases)
    return bases, speed


def _category_rows(
    b: _Basis, opts: CompletionOptions, rng: np.random.Generator | None
) -> pl.DataFrame:
    tri, dev, cf, dev_rows, prior = b.tri, b.dev, b.cf, b.development_rows, b.prior
    # the triangle is restated for an outstanding backlog: it is unpaid, so part of the IBNR
    ultimate = (b.latest + b.backlog) * dev.cdf[b.lag]
    ibnr = np.where(dev_rows, ultimate - b.latest, b.backlog + (1 - cf) * prior)
    se = b.mack_se.copy()
    lo = hi = np.full(tri.origins, np.nan)
    if rng is not None and opts.draws > 1:
        boot = odp_bootstrap(
            tri, dev, window=opts.window, draws=opts.draws, rng=rng, exclude=b.exclude
        )
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
    bases, speed = _restated(tris, mm_arr, valuation.paid_through - first, options)
    adjust = speed.backlog > 0
    rows, factors = [], []
    for category, b in bases.items():
        rows.append(_category_rows(b, options, rng))
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
    scales = _NO_SCALES
    if options.calibrate_valuations > 0 and options.draws > 1:
        scales = _interval_scales(cells, member_months, valuation, first, options, table)
        scale = pl.col("scale").fill_null(1.0)
        table = (
            table.with_columns(_scale_keys())
            .join(scales, on=["kind", "bucket"], how="left")
            .with_columns(
                (pl.col("ibnr") - scale * (pl.col("ibnr") - pl.col("ibnr_lo"))).alias("ibnr_lo"),
                (pl.col("ibnr") + scale * (pl.col("ibnr_hi") - pl.col("ibnr"))).alias("ibnr_hi"),
            )
            .drop("kind", "bucket", "scale")
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
        speed.latest,
        adjust,
        scales,
        cells,
        speed.backlog,
    )


SCALE_LAGS = 13  # hindsight scales for lags 0..12; lag 12's applies to the older months
_NO_SCALES = pl.DataFrame(schema={"kind": pl.String, "bucket": pl.Int64, "scale": pl.Float64})


def _scale_keys() -> list[pl.Expr]:
    """The calibration cell of a row: ``all`` or a category, and its lag (0..12, 12 = 12 or more)."""
    return [
        pl.when(pl.col("service_category") == ALL)
        .then(pl.lit(ALL))
        .otherwise(pl.lit("category"))
        .alias("kind"),
        pl.col("lag").clip(0, SCALE_LAGS - 1).cast(pl.Int64).alias("bucket"),
    ]


def _interval_scales(
    cells: pl.DataFrame,
    member_months: pl.DataFrame,
    valuation: Valuation,
    first: int,
    options: CompletionOptions,
    now: pl.DataFrame,
) -> pl.DataFrame:
    """Hindsight calibration of the interval (ASOP No. 5 section 3.5, follow-up studies).

    At ``calibrate_valuations`` earlier valuations (``calibrate_from`` months back and more, so
    that their recent months have run out since), the estimate of each of their latest 13
    incurred months against today's estimate of the same month; per lag (0..12) and separately
    for the categories (pooled) and for ``all`` (whose errors are correlated across categories,
    a slow-down or a common trend moving them together, so the categories' independent
    combination is too narrow), the ``level`` quantile of |error| / interval half-width scales
    today's interval at that lag (widening or narrowing it: a calibration both ways). A
    cell with fewer than 8 past errors takes its kind's pooled scale; none at all, 1. Returns
    kind, bucket, scale."""
    inner = CompletionOptions(**{**options.__dict__, "calibrate_valuations": 0})
    parts = []
    current = now.select("service_category", "incurred", pl.col("estimated_incurred").alias("now"))
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
        parts.append(
            then.filter(pl.col("lag") < SCALE_LAGS)
            .with_columns(month_index("incurred_month").alias("incurred"), *_scale_keys())
            .join(current, on=["service_category", "incurred"])
            .with_columns(
                pl.when(pl.col("now") > pl.col("estimated_incurred"))
                .then(pl.col("ibnr_hi") - pl.col("ibnr"))
                .otherwise(pl.col("ibnr") - pl.col("ibnr_lo"))
                .alias("half")
            )
            .filter(pl.col("half") > 0)
            .select(
                "kind",
                "bucket",
                ((pl.col("now") - pl.col("estimated_incurred")).abs() / pl.col("half")).alias(
                    "ratio"
                ),
            )
        )
    if not parts:
        return _NO_SCALES
    r = pl.concat(parts).filter(pl.col("ratio").is_finite())
    q = options.level
    pooled = r.group_by("kind").agg(
        pl.col("ratio").quantile(q).alias("pooled"), pl.len().alias("n_kind")
    )
    return (
        r.group_by("kind", "bucket")
        .agg(pl.col("ratio").quantile(q).alias("own"), pl.len().alias("n"))
        .join(pooled, on="kind")
        .with_columns(
            pl.when(pl.col("n") >= 8)
            .then(pl.col("own"))
            .when(pl.col("n_kind") >= 8)
            .then(pl.col("pooled"))
            .otherwise(1.0)
            .alias("scale")
        )
        .select("kind", "bucket", "scale")
        .sort("kind", "bucket")
    )


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
