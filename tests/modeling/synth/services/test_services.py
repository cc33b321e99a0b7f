from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from modeling.synth import conditions as cond
from modeling.synth.claims import ClaimBook
from modeling.synth.enrollment import cost_intensity, year_frame
from modeling.synth.params import load_params
from modeling.synth.people import make_people, provider_pool
from modeling.synth.services import SERVICE_LINES, ServiceContext, generate_services
from modeling.synth.services.base import condition_mask, counts, expand


@pytest.fixture
def ctx() -> ServiceContext:
    params = load_params()
    pool = provider_pool(1)
    rng = np.random.default_rng(4)
    people = make_people(rng, 2_000, 2024, 1, len(pool.pcp_npi), len(pool.hospital_npi))
    yf = year_frame(rng, people, 2024, params)
    noise = rng.standard_normal((len(params.conditions), people.n))
    tau = cond.reference_thresholds()
    levels = cond.initial_levels(rng, params, people, yf.age, noise, thresholds=tau)
    return ServiceContext.start(
        rng,
        params=params,
        pool=pool,
        people=people,
        yf=yf,
        levels=levels,
        intensity=cost_intensity(people, yf, levels, params),
        book=ClaimBook(),
    )


def test_service_lines_run_in_the_order_that_fixes_the_bytes():
    assert [f.__name__ for f in SERVICE_LINES] == [
        "office_visits",
        "catalog_services",
        "ed_visits",
        "observation_stays",
        "inpatient",
        "catastrophic_stays",
        "joint_replacements",
        "post_acute",
        "hospice",
        "dialysis",
    ]


def test_counts_are_zero_outside_enrollment_and_the_mask(ctx):
    mask = condition_mask(ctx, "diabetes")
    n = counts(ctx, 5.0, 1.0, mask)
    assert (n[~ctx.yf.active] == 0).all()
    assert (n[~mask] == 0).all()
    assert n[ctx.yf.active & mask].sum() > 0
    assert expand(ctx, np.array([0, 2, 1] + [0] * (ctx.people.n - 3))).tolist() == [1, 1, 2]


def test_every_line_adds_claims_and_leaves_discharges_for_post_acute_care(ctx):
    generate_services(ctx)
    ids = pl.Series([f"P{i}" for i in range(ctx.people.n)], dtype=pl.String)
    no_codes = pl.DataFrame(schema={"person": pl.Int64, "code": pl.String, "year": pl.Int32})
    claims = ctx.book.to_frame(no_codes, chunk=0, person_ids=ids, member_ids=ids, rng=ctx.rng)
    assert ctx.discharges and ctx.admitted.any()
    bill_types = set(claims["bill_type_code"].drop_nulls())
    # inpatient, SNF, home health, hospice, dialysis, outpatient
    assert {"111", "211", "329", "812", "721", "131"} <= bill_types
