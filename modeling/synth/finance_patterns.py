"""What finance needs from the synthetic population: realistic payment lags and winter admissions.

Three patterns, each drawn from its own random stream (the spec's seed and a fixed salt), so
every row and value the rest of the generator produces is the same with or without them; only
``paid_date`` changes, as the completion (IBNR) engine needs:

- **Payment lags by claim type.** A medical claim is paid the statutory 14-day floor after it is
  received (Social Security Act 1816(c)(3)(B), 1842(c)(3)(B)), and received a lognormal
  submission delay after the service ends, with a median by claim type (inpatient, SNF and home
  health later than professional claims); a share of claims is pended or rebilled and paid up to
  330 days later (providers may file up to a year after the service, 42 CFR 424.44). All lines of
  a claim share its paid date.
- **Slow-down months.** Now and then (``slowdown_rate`` per month, the same months for every
  member) the contractor's processing slows, and a share of the medical claims due that month is
  paid 12-35 days later.
- **Part D at the point of sale.** Fills are adjudicated the day they are dispensed, except a few
  reversed and rebilled within 30 days, so pharmacy completes almost at once.
- **Winter respiratory admissions.** Influenza, RSV and other respiratory-virus admissions
  (MS-DRG 193/194) at ``respiratory_rate`` per person-year with monthly shares peaking in
  December-February, added as extra claims (facility and physician claims as every admission,
  through ``modeling.synth.services.inpatient.admit``) with their own claim ids (``W`` prefix).

Numbers are data: ``modeling/data/synth_finance.csv``, each with its source or "assumption".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np
import polars as pl

from modeling.synth.claims import ClaimBook
from modeling.synth.params import read_coefficients
from modeling.synth.services.base import ServiceContext, counts, expand
from modeling.synth.services.inpatient import admit

LAG_SALT = 20_020  # the payment-lag stream: default_rng([seed, chunk, LAG_SALT])
RESPIRATORY_SALT = (
    20_021  # the winter-admission stream: default_rng([seed, chunk, RESPIRATORY_SALT])
)
SLOWDOWN_SALT = 20_022  # the slow-down months, one stream for the whole panel
EPOCH = np.datetime64("1970-01-01", "D")


def finance_params() -> Mapping[str, float]:
    """The coefficients of ``synth_finance.csv`` by name."""
    return read_coefficients("synth_finance.csv")


def lag_class() -> pl.Expr:
    """The payment-lag class of a medical claim line, from its claim type and type of bill."""
    bt = pl.col("bill_type_code").fill_null("").str.slice(0, 2)
    return (
        pl.when(pl.col("claim_type") != "institutional")
        .then(pl.lit("professional"))
        .when(bt == "11")
        .then(pl.lit("inpatient"))
        .when(bt.is_in(["18", "21"]))
        .then(pl.lit("snf"))
        .when(bt.is_in(["32", "33", "34"]))
        .then(pl.lit("home_health"))
        .when(bt.is_in(["81", "82"]))
        .then(pl.lit("hospice"))
        .otherwise(pl.lit("outpatient"))
    )


_TAIL = {
    "professional": "lag_tail_professional",
    "outpatient": "lag_tail_outpatient",
    "inpatient": "lag_tail_inpatient",
    "snf": "lag_tail_post_acute",
    "home_health": "lag_tail_post_acute",
    "hospice": "lag_tail_post_acute",
}


def slowdown_months(seed: int, start_year: int, years: int) -> np.ndarray:
    """Month starts (``datetime64[D]``) of the slow-down months from the panel's start through two
    years after its end (claims of the last year are paid into the next), the same for every chunk."""
    p = finance_params()
    months = np.arange(
        np.datetime64(f"{start_year}-01", "M"), np.datetime64(f"{start_year + years + 2}-01", "M")
    )
    rng = np.random.default_rng([seed, SLOWDOWN_SALT])
    return months[rng.random(len(months)) < p["slowdown_rate"]].astype("datetime64[D]")


def _slow_down(
    rng: np.random.Generator, paid: np.ndarray, slow_months: np.ndarray, p: Mapping[str, float]
) -> np.ndarray:
    """Paid days (since the epoch) with a share of those due in a slow-down month moved later."""
    if len(slow_months) == 0:
        return paid
    month = (EPOCH + paid.astype("timedelta64[D]")).astype("datetime64[M]").astype("datetime64[D]")
    slow = np.isin(month, slow_months) & (rng.random(len(paid)) < p["slowdown_share"])
    extra = rng.integers(int(p["slowdown_days_min"]), int(p["slowdown_days_max"]) + 1, len(paid))
    return paid + np.where(slow, extra, 0)


def medical_paid_dates(
    medical_claim: pl.DataFrame, rng: np.random.Generator, slow_months: np.ndarray
) -> pl.DataFrame:
    """``medical_claim`` with ``paid_date`` drawn again: claim end + 14-day floor + a lognormal
    submission delay by lag class (+ a late tail), then the slow-down months; one date per claim.
    Claim lines must be grouped by claim (as the generator writes them)."""
    if medical_claim.height == 0:
        return medical_claim
    p = finance_params()
    first = (pl.col("claim_id") != pl.col("claim_id").shift()).fill_null(True)
    claims = medical_claim.select(
        first.alias("_first"),
        lag_class().alias("_class"),
        pl.col("claim_end_date").cast(pl.Int32).alias("_end"),
    ).filter("_first")
    n = claims.height
    cls = claims["_class"].to_numpy()
    median = np.select(
        [cls == c for c in _TAIL], [p[f"lag_median_{c}"] for c in _TAIL], p["lag_median_outpatient"]
    )
    tail_share = np.select([cls == c for c in _TAIL], [p[_TAIL[c]] for c in _TAIL], 0.05)
    delay = rng.lognormal(np.log(median), p["lag_sigma"], n)
    late = rng.random(n) < tail_share
    extra = np.minimum(
        30 + np.round(rng.exponential(p["lag_tail_days_mean"], n)).astype(np.int64),
        int(p["lag_tail_days_max"]),
    )
    paid = (
        claims["_end"].to_numpy().astype(np.int64)
        + int(p["lag_floor_days"])
        + np.round(delay).astype(np.int64)
        + np.where(late, extra, 0)
    )
    paid = _slow_down(rng, paid, slow_months, p)
    claim_index = first.cum_sum() - 1
    return medical_claim.with_columns(
        pl.Series("_paid", paid, dtype=pl.Int32)
        .gather(medical_claim.select(claim_index.alias("i"))["i"])
        .cast(pl.Date)
        .alias("paid_date")
    )


def pharmacy_paid_dates(pharmacy_claim: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """``pharmacy_claim`` with ``paid_date`` the dispensing date (point-of-sale adjudication), or up
    to ``rx_rebill_days_max`` days later for the fills reversed and rebilled."""
    if pharmacy_claim.height == 0:
        return pharmacy_claim
    p = finance_params()
    n = pharmacy_claim.height
    rebill = rng.random(n) >= p["rx_same_day_share"]
    days = np.where(rebill, rng.integers(1, int(p["rx_rebill_days_max"]) + 1, n), 0)
    return pharmacy_claim.with_columns(
        (pl.col("dispensing_date").cast(pl.Int32) + pl.Series(days, dtype=pl.Int32))
        .cast(pl.Date)
        .alias("paid_date")
    )


def _seasonal_dates(
    ctx: ServiceContext, person: np.ndarray, shares: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Admission days for ``person``: uniform enrolled days accepted with the month's share over
    the largest share (thinning), so accepted days follow the monthly shares. Returns the
    accepted people and their days."""
    day = ctx.yf.dates(ctx.rng, person)
    month = (EPOCH + day.astype("timedelta64[D]")).astype("datetime64[M]").astype(int) % 12
    keep = ctx.rng.random(len(person)) < shares[month] / shares.max()
    return person[keep], day[keep]


def respiratory_admissions(ctx: ServiceContext, book: ClaimBook, *, chunk_seed: list[int]) -> None:
    """The year's winter respiratory admissions for the context's members, added to ``book`` (not
    the context's), drawn from the stream ``chunk_seed + [RESPIRATORY_SALT, year]``; the context
    is not changed."""
    p = finance_params()
    own = replace(
        ctx,
        rng=np.random.default_rng([*chunk_seed, RESPIRATORY_SALT, ctx.year]),
        book=book,
        discharges=[],
        terminal=np.zeros(ctx.people.n, dtype=bool),
        admitted=ctx.admitted.copy(),
    )
    shares = np.array([p[f"respiratory_month_{m}"] for m in range(1, 13)])
    # thinning keeps shares[month] / max(shares) of uniform days on average: draw 1/that more
    accept = float(shares.mean() / shares.max())
    person = expand(own, counts(own, p["respiratory_rate"] / accept, p["respiratory_exponent"]))
    person, day = _seasonal_dates(own, person, shares)
    drgs = ctx.params.drgs["drg_code"].to_list()
    drg = np.where(own.rng.random(len(person)) < 0.4, drgs.index("193"), drgs.index("194"))
    admit(
        own,
        person,
        day,
        drg,
        via_ed=own.rng.random(len(person)) < 0.75,
        terminal=np.zeros(len(person), dtype=bool),
    )
