"""Hospice and outpatient dialysis, both billed as one institutional claim per calendar month.

Hospice: decedents who do not die in hospital (more often with serious illness), seriously ill
members alive at year end (long stays and live discharges) and members discharged to hospice;
paid at the routine home care per diem, higher for the first 60 days of a stay
(``HOSPICE_RHC_DAY``); the month of death carries discharge status 40 (died), others 30 (still a
patient). A stay is drawn in the year of the death or of its start but is whole: a decedent's
stay begun the year before and a live stay running into the next year are billed in those years
too (the months outside the year go to the context's ``CarryOver`` book; clipped at the year's
bounds, every January lacked the stays begun before it and every December the stays of the next
year's decedents). In the panel's first year the live stays begun in the year before it are
billed from its first day (``_carried_in``). A member is on one stay at a time: the months of a
stay after its year are held until the next year's stays are drawn and bill the days up to the
member's first hospice day there (and the death, now known), and a stay reaching back into the
year before begins after the member's last hospice day billed in it (``HeldHospice``). Claims
outside the member's enrollment are dropped with every claim's. Dialysis: every enrolled member
with ESRD, about 13 treatments a month at ``DIALYSIS_PER_TREATMENT``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import polars as pl

from modeling.synth.arrays import days_to_date
from modeling.synth.claims import ClaimBook
from modeling.synth.people import day
from modeling.synth.services.base import NO_STAY, CarryOver, ServiceContext, condition_mask

HOSPICE_RHC_DAY = (
    218.0,
    172.0,
)  # routine home care per diem days 1-60 / 61+, FY2024 hospice final rule (approx.)
DIALYSIS_PER_TREATMENT = 285.0  # ESRD PPS base rate CY2024 $271.02 plus adjustments (approx.)


def _month_segments(frame: pl.DataFrame) -> pl.DataFrame:
    """Each ``start``-``end`` span cut at calendar months: columns ``s`` and ``e`` per month."""
    return (
        frame.with_columns(
            pl.date_ranges(pl.col("start").dt.month_start(), pl.col("end"), "1mo").alias("m")
        )
        .explode("m")
        .with_columns(
            pl.max_horizontal("start", "m").alias("s"),
            pl.min_horizontal("end", pl.col("m").dt.month_end()).alias("e"),
        )
        .filter(pl.col("s") <= pl.col("e"))
    )


def hospice(ctx: ServiceContext) -> None:
    """Hospice stays of decedents, of members alive at year end and after discharges to hospice."""
    rng, yf, people, b = ctx.rng, ctx.yf, ctx.people, ctx.params.behaviour
    dementia = condition_mask(ctx, "dementia", 2)
    cancer = condition_mask(ctx, "cancer_any")
    hf = condition_mask(ctx, "heart_failure", 2)
    serious = dementia | cancer | hf
    decedent = (
        yf.dies
        & ~ctx.terminal
        & (
            rng.random(people.n)
            < np.where(serious, b["hospice_decedent_serious"], b["hospice_decedent_other"])
        )
    )
    p = np.flatnonzero(decedent)
    los = np.clip(np.round(rng.lognormal(np.log(18), 1.6, len(p))), 1, 720).astype(np.int64)
    end = people.death_day[p]
    start = end - los
    # members on hospice who are alive at year end (long stays, live discharges)
    alive = np.flatnonzero(
        yf.active
        & ~yf.dies
        & serious
        & (rng.random(people.n) < b["hospice_live_rate"] * yf.exposure)
    )
    a_start = yf.dates(rng, alive)
    a_end = np.minimum(
        a_start + np.round(rng.lognormal(np.log(90), 0.8, len(alive))).astype(np.int64),
        np.minimum(people.death_day[alive], people.leave_day[alive] - 1),
    )
    extra_p, extra_start = ctx.hospice_from_discharge
    extra_end = np.minimum(
        extra_start + 20, np.minimum(people.death_day[extra_p], people.leave_day[extra_p] - 1)
    )
    p = np.concatenate([p, alive, extra_p])
    start = np.concatenate([start, a_start, extra_start])
    end = np.maximum(np.concatenate([end, a_end, np.maximum(extra_end, extra_start)]), start)
    if ctx.carry is not None and ctx.carry.held.billed_end is not None:
        # one stay at a time: a stay reaching back into last year begins after the member's
        # hospice days billed there (the year's claims keep their draws; only their first day)
        start = np.maximum(start, ctx.carry.held.billed_end[p] + 1)
    # the year's months in the year's book (the claims it always had: a stay after a discharge
    # was never cut at the year's end), the others carried
    drawn = np.arange(len(p)) < len(p) - len(extra_p)
    last = np.where(drawn, yf.end[p], end)
    inside = _spans(p, start, end, low=yf.start[p], high=last)
    _bill_hospice(ctx, _segments(inside), rng, ctx.book)
    if ctx.carry is not None:
        carried_in = _carried_in(ctx, ctx.carry, serious, on_hospice=p)
        _carry_hospice(
            ctx,
            ctx.carry,
            inside,
            before=_spans(p, start, end, low=None, high=yf.start[p] - 1),
            after=pl.concat([_spans(p, start, end, low=last + 1, high=None), carried_in.after]),
            carried_in=carried_in.inside,
        )


def _carry_hospice(
    ctx: ServiceContext,
    carry: CarryOver,
    inside: pl.DataFrame,
    *,
    before: pl.DataFrame,
    after: pl.DataFrame,
    carried_in: pl.DataFrame,
) -> None:
    """Bill in the carry-over book the months of stays outside the year that drew them, each day
    by one stay only (``HeldHospice``): the months held from last year up to the day before the
    member's first hospice day of this year (and the death, now known); the months of this
    year's stays before the year (those stays begin after the member's days billed last year);
    and the stays begun before the panel (``carried_in``). This year's months after the year
    are held for the next year, or billed now in the panel's last year."""
    held, people = carry.held, ctx.people
    this_year = pl.concat([inside, carried_in])
    now = [carried_in, before]
    if held.after is not None:
        first = this_year.group_by("person").agg(first=pl.col("lo").min())
        death = pl.Series("death", people.death_day[held.after["person"].to_numpy()])
        released = (
            held.after.with_columns(death)
            .join(first, on="person", how="left")
            .with_columns(hi=pl.min_horizontal("hi", pl.col("first") - 1, "death"))
            .filter(pl.col("lo") <= pl.col("hi"))
            .select("person", "lo", "hi", "stay_start")
        )
        now.append(released)
        this_year = pl.concat([this_year, released])
    if ctx.year == carry.end_year:
        now.append(after)
    _bill_hospice(ctx, _segments(pl.concat(now)), carry.rng, carry.book)
    held.after = after if ctx.year < carry.end_year else None
    last = this_year.group_by("person").agg(pl.col("hi").max())
    held.billed_end = np.full(people.n, NO_STAY, dtype=np.int64)
    held.billed_end[last["person"].to_numpy()] = last["hi"].to_numpy()


class _CarriedIn(NamedTuple):
    inside: pl.DataFrame
    after: pl.DataFrame


def _carried_in(
    ctx: ServiceContext, carry: CarryOver, serious: np.ndarray, *, on_hospice: np.ndarray
) -> _CarriedIn:
    """Live stays begun in the year before the panel, billed from its first day: drawn as the
    year's live stays are (the seriously ill enrolled from the panel's first day, the same rate,
    a start uniform over the year before it, the same length), for members with no hospice stay
    and no death in hospital this year (theirs are drawn by the year's own rules). Their spans
    in the panel's first year and after it; none in a later year."""
    if not carry.panel_start(ctx):
        none = np.empty(0, dtype=np.int64)
        return _CarriedIn(
            _spans_frame(none, none, none, none), _spans_frame(none, none, none, none)
        )
    crng, yf, people = carry.rng, ctx.yf, ctx.people
    ys = day(ctx.year)
    free = np.ones(people.n, dtype=bool)
    free[on_hospice] = False
    who = np.flatnonzero(
        yf.active
        & (yf.start == ys)
        & serious
        & free
        & ~ctx.terminal
        & (crng.random(people.n) < ctx.params.behaviour["hospice_live_rate"])
    )
    start = ys - crng.integers(1, 366, len(who))
    end = np.minimum(
        start + np.round(crng.lognormal(np.log(90), 0.8, len(who))).astype(np.int64),
        np.minimum(people.death_day[who], people.leave_day[who] - 1),
    )
    return _CarriedIn(
        _spans(who, start, end, low=np.full(len(who), ys), high=yf.end[who]),
        _spans(who, start, end, low=yf.end[who] + 1, high=None),
    )


def _spans_frame(
    person: np.ndarray, lo: np.ndarray, hi: np.ndarray, stay_start: np.ndarray
) -> pl.DataFrame:
    return pl.DataFrame(
        {"person": person, "lo": lo, "hi": hi, "stay_start": stay_start},
        schema={"person": pl.Int64, "lo": pl.Int64, "hi": pl.Int64, "stay_start": pl.Int64},
    )


def _spans(
    p: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    *,
    low: np.ndarray | None,
    high: np.ndarray | None,
) -> pl.DataFrame:
    """Each stay's days between ``low`` and ``high`` (either open; none left out when empty):
    the person, the first and last day (``lo``, ``hi``, days since 1970) and the stay's own
    first day (``stay_start``)."""
    lo = start if low is None else np.maximum(start, low)
    hi = end if high is None else np.minimum(end, high)
    keep = lo <= hi
    return _spans_frame(p[keep], lo[keep], hi[keep], start[keep])


def _segments(spans: pl.DataFrame) -> pl.DataFrame:
    """The calendar-month segments (``s``, ``e``) of ``spans``, with the person and the stay's
    own first day."""
    dated = spans.with_columns(
        start=pl.col("lo").cast(pl.Int32).cast(pl.Date),
        end=pl.col("hi").cast(pl.Int32).cast(pl.Date),
    )
    return _month_segments(dated).select("person", "s", "e", "stay_start")


def _bill_hospice(
    ctx: ServiceContext, seg: pl.DataFrame, rng: np.random.Generator, book: ClaimBook
) -> None:
    """One hospice claim per segment, paid by the days since the stay's start."""
    people = ctx.people
    sp = seg["person"].to_numpy()
    s = seg["s"].cast(pl.Int32).to_numpy().astype(np.int64)
    e = seg["e"].cast(pl.Int32).to_numpy().astype(np.int64)
    stay_start = seg["stay_start"].to_numpy().astype(np.int64)
    days = (e - s + 1).astype(float)
    early = np.clip(60 - (s - stay_start), 0, days)
    amount = early * HOSPICE_RHC_DAY[0] + (days - early) * HOSPICE_RHC_DAY[1]
    hospice_npi = ctx.pool.hospice_npi[(sp * 13 + 5) % len(ctx.pool.hospice_npi)]
    is_last = e == people.death_day[sp]
    book.add(
        sp,
        ctx.year,
        s,
        e,
        claim_type="institutional",
        bill_type_code="812",
        facility_npi=hospice_npi,
        billing_npi=hospice_npi,
        admission=stay_start,
        discharge_disposition_code=np.where(is_last, "40", "30"),
        principal=None,
        n_dx=rng.integers(1, 5, len(sp)),
        lines=[
            dict(
                revenue_center_code="0651",
                service_unit_quantity=days,
                paid_amount=amount,
                allowed_amount=amount,
            )
        ],
    )


def dialysis(ctx: ServiceContext) -> None:
    """Monthly outpatient dialysis claims for every enrolled member with ESRD."""
    yf, people = ctx.yf, ctx.people
    p = np.flatnonzero(yf.active & people.esrd & (yf.days > 0))
    if len(p) == 0:
        return
    frame = pl.DataFrame(
        {"person": p, "start": days_to_date(yf.start[p]), "end": days_to_date(yf.end[p])}
    )
    seg = _month_segments(frame)
    sp = seg["person"].to_numpy()
    s = seg["s"].cast(pl.Int32).to_numpy().astype(np.int64)
    e = seg["e"].cast(pl.Int32).to_numpy().astype(np.int64)
    sessions = np.maximum(1, np.round((e - s + 1) / 30 * 13)).astype(float)
    amount = sessions * DIALYSIS_PER_TREATMENT * ctx.rng.lognormal(0, 0.05, len(sp))
    npi = ctx.pool.dialysis_npi[(sp * 11) % len(ctx.pool.dialysis_npi)]
    ctx.book.add(
        sp,
        ctx.year,
        s,
        e,
        claim_type="institutional",
        bill_type_code="721",
        facility_npi=npi,
        billing_npi=npi,
        principal="N186",
        n_dx=3,
        lines=[
            dict(
                revenue_center_code="0821",
                hcpcs_code="90999",
                service_unit_quantity=sessions,
                paid_amount=amount,
                allowed_amount=amount / 0.8,
            )
        ],
    )
