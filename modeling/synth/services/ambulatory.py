"""Ambulatory care: office visits and annual wellness visits, the Part B / outpatient service
catalog (``synth_services.csv``), emergency department visits, ambulance transports and
observation stays.

Office E&M visits are elective (care seeking); long-term institutional members are seen in the
nursing facility (place of service 32, CPT 99309/99310). An ED visit that does not end in an
admission has a facility claim (with laboratory and imaging lines on some) and a professional
claim; some arrive by ambulance (base rate plus mileage).
"""

from __future__ import annotations

import numpy as np

from modeling.synth.claims import Pick
from modeling.synth.services.base import (
    ServiceContext,
    condition_code,
    condition_mask,
    counts,
    expand,
    paid,
    pick,
    specialist,
)


def office_visits(ctx: ServiceContext) -> None:
    """Office and nursing-facility E&M visits, then annual wellness visits. With
    ``ctx.lam_base`` (the months before a death, ``pre_death``) only the office visits' excess:
    the nursing-facility rounds and the wellness visit do not follow the cost intensity."""
    people, rng, b = ctx.people, ctx.rng, ctx.params.behaviour
    n_visits = counts(
        ctx, b["office_visit_rate"], b["office_visit_exponent"], care=b["office_visit_care"]
    )
    if ctx.lam_base is None:  # nursing-facility rounds do not follow the cost intensity
        n_visits += np.where(
            people.lti & ctx.yf.active,
            rng.poisson(b["nursing_facility_visit_rate"] * ctx.yf.exposure),
            0,
        )
    p = expand(ctx, n_visits)
    n = len(p)
    lti = people.lti[p]
    em_codes = ("99212", "99213", "99214", "99215", "99204", "99309", "99310")
    fee = np.array([50.0, 80.0, 114.0, 156.0, 138.0, 110.0, 160.0])
    code_idx = np.where(
        lti, 5 + (rng.random(n) < 0.3), rng.choice(5, n, p=[0.05, 0.40, 0.45, 0.07, 0.03])
    )
    codes = Pick(em_codes, code_idx)
    amount = fee[code_idx] * rng.lognormal(0, 0.05, n)
    pos = Pick(("11", "10", "32"), np.where(lti, 2, (rng.random(n) < 0.06).astype(np.int64)))
    n_pcp = len(ctx.pool.pcp_npi)
    doctors = np.concatenate([ctx.pool.pcp_npi, ctx.pool.specialist_npi])
    rendering = Pick(
        doctors,
        np.where(
            rng.random(n) < 0.55,
            people.pcp[p],
            n_pcp + rng.integers(0, len(ctx.pool.specialist_npi), n),
        ),
    )
    start = ctx.yf.dates(rng, p)
    routine = pick(ctx, ctx.visit_codes, n)
    principal = Pick(routine.values, np.where(rng.random(n) < 0.25, routine.index, -1))
    ctx.book.add(
        p,
        ctx.year,
        start,
        start,
        claim_type="professional",
        place_of_service_code=pos,
        rendering_npi=rendering,
        billing_npi=rendering,
        principal=principal,
        n_dx=rng.integers(1, 5, n),
        lines=[
            dict(
                hcpcs_code=codes,
                service_unit_quantity=1.0,
                paid_amount=amount,
                allowed_amount=amount / 0.8,
            )
        ],
    )
    if ctx.lam_base is not None:
        return  # the wellness visit is once a year, already drawn with the year's services
    # annual wellness visit, at the full rate for members enrolled two thirds of the year or more
    awv = expand(
        ctx,
        (
            ctx.yf.active
            & ~people.avoids_care
            & (
                rng.random(people.n)
                < b["wellness_visit_rate"] * np.minimum(ctx.yf.exposure * 1.5, 1)
            )
        ).astype(np.int64),
    )
    start = ctx.yf.dates(rng, awv)
    amount = paid(ctx, 130.0, 0.05, len(awv))
    npi = Pick(ctx.pool.pcp_npi, people.pcp[awv])
    ctx.book.add(
        awv,
        ctx.year,
        start,
        start,
        claim_type="professional",
        place_of_service_code="11",
        rendering_npi=npi,
        billing_npi=npi,
        principal="Z0000",
        n_dx=rng.integers(1, 4, len(awv)),
        lines=[
            dict(
                hcpcs_code="G0439",
                service_unit_quantity=1.0,
                paid_amount=amount,
                allowed_amount=amount / 0.8,
            )
        ],
    )


def catalog_services(ctx: ServiceContext) -> None:
    """Every service of ``synth_services.csv`` at its rate, for members with its condition."""
    rng = ctx.rng
    care = ctx.params.behaviour["catalog_care"]
    for s in ctx.params.services.iter_rows(named=True):
        mask = condition_mask(ctx, s["condition"], int(s["min_level"] or 1))
        p = expand(ctx, counts(ctx, s["rate"], s["risk_exponent"], mask, care=care))
        n = len(p)
        if n == 0:
            continue
        start = ctx.yf.dates(rng, p)
        amount = paid(ctx, s["mean_paid"], s["paid_cv"], n) * s["units"]
        principal = condition_code(ctx, s["condition"], p)
        units = float(s["units"])
        if s["claim_type"] == "institutional":
            facility = Pick(ctx.pool.hospital_npi, ctx.people.hospital[p])
            ctx.book.add(
                p,
                ctx.year,
                start,
                start,
                claim_type="institutional",
                bill_type_code=s["bill_type_code"],
                facility_npi=facility,
                billing_npi=facility,
                principal=principal,
                n_dx=rng.integers(1, 5, n),
                lines=[
                    dict(
                        revenue_center_code=s["revenue_center_code"],
                        hcpcs_code=s["hcpcs_code"],
                        service_unit_quantity=units,
                        paid_amount=amount,
                        allowed_amount=amount / 0.8,
                    )
                ],
            )
        else:
            is_dme = s["place_of_service_code"] == "12"
            npi = (
                Pick(ctx.pool.supplier_npi, rng.integers(0, len(ctx.pool.supplier_npi), n))
                if is_dme
                else specialist(ctx, n)
            )
            ctx.book.add(
                p,
                ctx.year,
                start,
                start,
                claim_type="professional",
                place_of_service_code=s["place_of_service_code"],
                rendering_npi=npi,
                billing_npi=npi,
                principal=principal,
                n_dx=rng.integers(1, 4, n),
                lines=[
                    dict(
                        hcpcs_code=s["hcpcs_code"],
                        service_unit_quantity=units,
                        paid_amount=amount,
                        allowed_amount=amount / 0.8,
                    )
                ],
            )


def ed_visits(ctx: ServiceContext) -> None:
    """Treat-and-release ED visits: facility and professional claims; some arrive by ambulance."""
    rng, b = ctx.rng, ctx.params.behaviour
    p = expand(ctx, counts(ctx, b["ed_rate"], b["ed_exponent"], care=b["ed_care"]))
    n = len(p)
    start = ctx.yf.dates(rng, p)
    facility = Pick(ctx.pool.hospital_npi, ctx.people.hospital[p])
    level_idx = rng.choice(3, n, p=[0.3, 0.45, 0.25])
    level = Pick(("99283", "99284", "99285"), level_idx)
    fac_paid = np.array([260.0, 430.0, 640.0])[level_idx] * rng.lognormal(0, 0.1, n)
    principal = pick(ctx, ctx.ed_codes, n)
    lab, xray = rng.random(n) < 0.6, rng.random(n) < 0.45
    ctx.book.add(
        p,
        ctx.year,
        start,
        start,
        claim_type="institutional",
        bill_type_code="131",
        facility_npi=facility,
        billing_npi=facility,
        principal=principal,
        n_dx=rng.integers(1, 5, n),
        lines=[
            dict(
                revenue_center_code="0450",
                hcpcs_code=level,
                service_unit_quantity=1.0,
                paid_amount=fac_paid,
                allowed_amount=fac_paid / 0.8,
            ),
            dict(
                revenue_center_code="0300",
                hcpcs_code="80053",
                service_unit_quantity=1.0,
                paid_amount=paid(ctx, 28.0, 0.2, n),
                allowed_amount=35.0,
                mask=lab,
            ),
            dict(
                revenue_center_code="0320",
                hcpcs_code="71046",
                service_unit_quantity=1.0,
                paid_amount=paid(ctx, 62.0, 0.2, n),
                allowed_amount=77.5,
                mask=xray,
            ),
        ],
    )
    doc = specialist(ctx, n)
    prof = np.array([60.0, 95.0, 140.0])[level_idx]
    ctx.book.add(
        p,
        ctx.year,
        start,
        start,
        claim_type="professional",
        place_of_service_code="23",
        rendering_npi=doc,
        billing_npi=doc,
        principal=principal,
        n_dx=rng.integers(1, 4, n),
        lines=[
            dict(
                hcpcs_code=level,
                service_unit_quantity=1.0,
                paid_amount=prof,
                allowed_amount=prof / 0.8,
            )
        ],
    )
    by_ambulance = rng.random(n) < b["ed_ambulance_share"]
    ambulance(ctx, p[by_ambulance], start[by_ambulance])


def ambulance(ctx: ServiceContext, p: np.ndarray, start: np.ndarray | None) -> None:
    """Ground ambulance transports (ALS or BLS base rate plus mileage) on ``start`` (or a random
    enrolled day)."""
    rng = ctx.rng
    n = len(p)
    if n == 0:
        return
    if start is None:
        start = ctx.yf.dates(rng, p)
    als = rng.random(n) < 0.55
    code = np.where(als, "A0427", "A0429")
    base = np.where(als, 490.0, 410.0) * rng.lognormal(0, 0.08, n)
    miles = np.maximum(1, rng.poisson(9, n)).astype(float)
    npi = Pick(ctx.pool.ambulance_npi, rng.integers(0, len(ctx.pool.ambulance_npi), n))
    ctx.book.add(
        p,
        ctx.year,
        start,
        start,
        claim_type="professional",
        place_of_service_code="41",
        rendering_npi=npi,
        billing_npi=npi,
        principal=pick(ctx, ctx.ed_codes, n),
        n_dx=1,
        lines=[
            dict(
                hcpcs_code=code,
                service_unit_quantity=1.0,
                paid_amount=base,
                allowed_amount=base / 0.8,
            ),
            dict(
                hcpcs_code="A0425",
                service_unit_quantity=miles,
                paid_amount=miles * 8.6,
                allowed_amount=miles * 10.75,
            ),
        ],
    )


def observation_stays(ctx: ServiceContext) -> None:
    """Outpatient observation stays of one or two days (G0378 hours plus an ED line)."""
    rng, b = ctx.rng, ctx.params.behaviour
    p = expand(ctx, counts(ctx, b["observation_rate"], b["observation_exponent"]))
    n = len(p)
    start = ctx.yf.dates(rng, p)
    end = start + rng.integers(0, 2, n)
    facility = ctx.pool.hospital_npi[ctx.people.hospital[p]]
    amount = paid(ctx, 2_450.0, 0.25, n)
    ctx.book.add(
        p,
        ctx.year,
        start,
        end,
        claim_type="institutional",
        bill_type_code="131",
        facility_npi=facility,
        billing_npi=facility,
        principal=pick(ctx, ctx.ed_codes, n),
        n_dx=rng.integers(2, 7, n),
        lines=[
            dict(
                revenue_center_code="0762",
                hcpcs_code="G0378",
                service_unit_quantity=rng.integers(12, 48, n).astype(float),
                paid_amount=amount * 0.8,
                allowed_amount=amount,
            ),
            dict(
                revenue_center_code="0450",
                hcpcs_code="99284",
                service_unit_quantity=1.0,
                paid_amount=amount * 0.2,
                allowed_amount=amount * 0.25,
            ),
        ],
    )
