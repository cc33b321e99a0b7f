"""Planned joint replacements and post-acute care: skilled nursing and home health.

Members with osteoarthritis in good enough health have planned hip or knee replacements, as an
inpatient stay (MS-DRG 469/470) or outpatient surgery, each followed by ten sessions of outpatient
physical therapy. After a discharge to a skilled nursing facility the member has a SNF stay paid
at ``SNF_PER_DIEM`` less the daily coinsurance from day 21; after a discharge to home health,
and on referral from the community, 30-day home health periods at ``HH_PERIOD_PAYMENT``
(prorated when a period is cut short). Discharges to hospice are handed to the hospice line.

Home health begun before the panel: in the panel's first year, the members enrolled from its
first day also have the episodes that began in the ``HH_CARRY_IN_DAYS`` before it, at the first
year's own incidence (each of the year's episodes, with probability ``HH_CARRY_IN_DAYS`` / 365,
also begun on a uniform day of that window, with its number of periods), billed from the panel's
first day on (the context's ``CarryOver`` book and stream). Without them the first January's home
health was half of a steady month's.
"""

from __future__ import annotations

import numpy as np

from modeling.synth.arrays import ranks_within
from modeling.synth.people import day
from modeling.synth.services.base import (
    ServiceContext,
    condition_mask,
    counts,
    expand,
    paid,
    specialist,
)
from modeling.synth.services.inpatient import admit

SNF_PER_DIEM = 590.0  # approx. mean Medicare SNF PDPM payment per day, FY2024 (MedPAC March 2024 report, ch. 7)
HH_CARRY_IN_DAYS = 90  # an episode has at most 3 periods of 30 days (post_acute)
HH_PERIOD_PAYMENT = (
    2_600.0  # approx. mean 30-day home health period payment, CY2024 (MedPAC March 2024, ch. 8)
)


def joint_replacements(ctx: ServiceContext) -> None:
    """Planned hip and knee replacements (inpatient or outpatient), then outpatient therapy."""
    rng, b = ctx.rng, ctx.params.behaviour
    oa = condition_mask(ctx, "osteoarthritis")
    healthy_enough = ctx.people.health < b["joint_health_limit"]
    chance = np.where(
        oa & healthy_enough & ctx.yf.active & ~ctx.yf.dies,
        b["joint_replacement_rate"] * ctx.yf.exposure,
        0.0,
    )
    p = np.flatnonzero(rng.random(ctx.people.n) < chance)
    if len(p) == 0:
        return
    outpatient = rng.random(len(p)) < b["joint_outpatient_share"]
    drgs = ctx.params.drgs["drg_code"].to_list()
    ip = p[~outpatient]
    drg = np.where(ctx.people.health[ip] > 1.0, drgs.index("469"), drgs.index("470"))
    admit(
        ctx,
        ip,
        ctx.yf.dates(rng, ip),
        drg,
        via_ed=np.zeros(len(ip), dtype=bool),
        terminal=np.zeros(len(ip), dtype=bool),
    )
    op = p[outpatient]
    start = ctx.yf.dates(rng, op)
    code = rng.choice(["27447", "27130"], len(op), p=[0.7, 0.3])
    facility = ctx.pool.hospital_npi[ctx.people.hospital[op]]
    amount = paid(ctx, 12_400.0, 0.12, len(op))
    ctx.book.add(
        op,
        ctx.year,
        start,
        start,
        claim_type="institutional",
        bill_type_code="131",
        facility_npi=facility,
        billing_npi=facility,
        principal=np.where(code == "27447", "M1711", "M1611"),
        n_dx=3,
        lines=[
            dict(
                revenue_center_code="0360",
                hcpcs_code=code,
                service_unit_quantity=1.0,
                paid_amount=amount,
                allowed_amount=amount / 0.8,
            )
        ],
    )
    doc = specialist(ctx, len(op))
    ctx.book.add(
        op,
        ctx.year,
        start,
        start,
        claim_type="professional",
        place_of_service_code="22",
        rendering_npi=doc,
        billing_npi=doc,
        principal=np.where(code == "27447", "M1711", "M1611"),
        n_dx=2,
        lines=[
            dict(
                hcpcs_code=code,
                service_unit_quantity=1.0,
                paid_amount=1300.0,
                allowed_amount=1625.0,
            )
        ],
    )
    ctx.discharges.append((op, start, np.where(rng.random(len(op)) < 0.6, "06", "01")))
    # outpatient physical therapy after every replacement
    pt = np.repeat(p, 10)
    when = np.repeat(ctx.yf.dates(rng, p), 10) + np.tile(np.arange(10) * 4 + 14, len(p))
    npi = specialist(ctx, len(pt))
    ctx.book.add(
        pt,
        ctx.year,
        when,
        when,
        claim_type="professional",
        place_of_service_code="11",
        rendering_npi=npi,
        billing_npi=npi,
        principal="Z96651",
        n_dx=2,
        lines=[
            dict(
                hcpcs_code="97110",
                service_unit_quantity=3.0,
                paid_amount=paid(ctx, 90.0, 0.1, len(pt)),
                allowed_amount=112.5,
            )
        ],
    )


def post_acute(ctx: ServiceContext) -> None:
    """SNF stays after discharges to a SNF; home health after discharges to home health and from
    the community; discharges to hospice left in the context for ``hospice``."""
    rng, b = ctx.rng, ctx.params.behaviour
    if not ctx.discharges:
        return
    person = np.concatenate([d[0] for d in ctx.discharges])
    discharge = np.concatenate([d[1] for d in ctx.discharges])
    disposition = np.concatenate([d[2] for d in ctx.discharges])
    last = np.minimum(ctx.people.death_day[person], ctx.people.leave_day[person] - 1)
    # skilled nursing after a qualifying stay
    s = disposition == "03"
    sp, start = person[s], discharge[s]
    days = np.clip(np.round(rng.gamma(1.6, 16.0, len(sp))), 3, 100).astype(np.int64)
    end = np.minimum(start + days, np.maximum(last[s], start))
    days = np.maximum(end - start, 1)
    per_diem = SNF_PER_DIEM * rng.lognormal(0, 0.12, len(sp))
    coins = ctx.cost_sharing["snf_daily_coinsurance_after_day_20"] * np.maximum(days - 20, 0)
    allowed = per_diem * days
    amount = np.maximum(allowed - coins, 0)
    snf = ctx.pool.snf_npi[rng.integers(0, len(ctx.pool.snf_npi), len(sp))]
    ctx.book.add(
        sp,
        ctx.year,
        start,
        end,
        claim_type="institutional",
        bill_type_code="211",
        facility_npi=snf,
        billing_npi=snf,
        admission=start,
        discharge=end,
        discharge_disposition_code=np.where(rng.random(len(sp)) < 0.6, "01", "06"),
        principal=None,
        n_dx=rng.integers(3, 9, len(sp)),
        lines=[
            dict(
                revenue_center_code="0022",
                service_unit_quantity=days.astype(float),
                paid_amount=amount,
                allowed_amount=allowed,
            ),
            dict(
                revenue_center_code="0120",
                service_unit_quantity=days.astype(float),
                paid_amount=0.0,
                allowed_amount=0.0,
            ),
        ],
    )
    # home health: after discharge to home health, and referred from the community
    h = disposition == "06"
    community = expand(
        ctx, counts(ctx, b["community_home_health_rate"], b["community_home_health_exponent"])
    )
    hp = np.concatenate([person[h], community])
    hstart = np.concatenate([discharge[h] + 1, ctx.yf.dates(rng, community)])
    periods = rng.choice([1, 2, 3], len(hp), p=[0.4, 0.3, 0.3])
    home_health(ctx, hp, hstart, periods)
    if ctx.carry is not None and ctx.carry.panel_start(ctx):
        crng, ys = ctx.carry.rng, day(ctx.year)
        before = (crng.random(len(hp)) < HH_CARRY_IN_DAYS / 365) & (ctx.yf.start[hp] == ys)
        begun = ys - crng.integers(1, HH_CARRY_IN_DAYS + 1, int(before.sum()))
        home_health(ctx, hp[before], begun, periods[before], from_day=ys, carried=True)
    ctx.hospice_from_discharge = (person[disposition == "50"], discharge[disposition == "50"])


def home_health(
    ctx: ServiceContext,
    p: np.ndarray,
    start: np.ndarray,
    periods: np.ndarray,
    *,
    from_day: int | None = None,
    carried: bool = False,
) -> None:
    """Consecutive 30-day home health periods from ``start``, ended by death or disenrollment;
    only those starting on ``from_day`` or later if given; ``carried``: into the context's
    carry-over book from its stream."""
    rng = ctx.carry.rng if carried and ctx.carry is not None else ctx.rng
    book = ctx.carry.book if carried and ctx.carry is not None else ctx.book
    pp = np.repeat(p, periods)
    k = ranks_within(periods)
    s = np.repeat(start, periods) + 30 * k
    last = np.minimum(ctx.people.death_day[pp], ctx.people.leave_day[pp] - 1)
    ok = s <= last
    if from_day is not None:
        ok &= s >= from_day
    pp, s, last = pp[ok], s[ok], last[ok]
    e = np.minimum(s + 29, last)
    amount = paid(ctx, HH_PERIOD_PAYMENT, 0.3, len(pp), rng) * np.clip((e - s + 1) / 30, 0.3, 1)
    hha = ctx.pool.hha_npi[rng.integers(0, len(ctx.pool.hha_npi), len(pp))]
    visits = np.maximum(1, rng.poisson(8, len(pp))).astype(float)
    book.add(
        pp,
        ctx.year,
        s,
        e,
        claim_type="institutional",
        bill_type_code="329",
        facility_npi=hha,
        billing_npi=hha,
        principal=None,
        n_dx=rng.integers(2, 7, len(pp)),
        lines=[
            dict(
                revenue_center_code="0023",
                service_unit_quantity=1.0,
                paid_amount=amount,
                allowed_amount=amount,
            ),
            dict(
                revenue_center_code="0551",
                service_unit_quantity=visits,
                paid_amount=0.0,
                allowed_amount=0.0,
            ),
        ],
    )
