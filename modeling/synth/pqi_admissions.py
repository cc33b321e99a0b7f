"""Admissions for the two Prevention Quality Indicators the main inpatient stream never reaches
(issue 18): PQI 07 (hypertension) and PQI 16 (lower-extremity amputation among patients with
diabetes).

The main stream draws its MS-DRGs from ``synth_drgs.csv``, which has no hypertension or
amputation DRG, so the default panel had no PQI 07 or PQI 16 stay. This line adds them as extra
claims, each chunk-year from its own stream ``default_rng([seed, chunk, SALT, year])``, through
``modeling.synth.services.inpatient.admit`` (facility, attending, surgeon, ED physician and
ambulance claims as every admission), with claim ids of their own (``P`` prefix); the other
lines' rows and values are the same with or without it.

Rate rule: AHRQ's expected annual probability of the PQI for an adult of that age category and
sex (the logistic model of ``pqi_covariates.csv``, PQI software v2025, HCUP 2022 reference
population -- the same expectation the quality engine divides by for O/E), spread over the
members who have the condition (hypertension for PQI 07, diabetes for PQI 16): in each age
category x sex cell of the chunk-year, a member with the condition is admitted at
``p(cell) x exposure(cell) / exposure of members with the condition(cell)`` per enrolled year
(Poisson, no cost-intensity or year shock), so the expected count equals AHRQ's expected count
and O/E is about 1 by construction. Age is the age at the year's start (the engine uses each
month's age, so members crossing an age category move a little expectation).

The stays' MS-DRGs, weights, mean stays, principal diagnoses and ICD-10-PCS amputation codes are
data: ``synth_pqi_admissions.csv`` (source and status per row; weights are approximate, see its
``status`` column). None carries a cardiac procedure (PQI 07's exclusion) or a traumatic
amputation (PQI 16's). The principal diagnoses of the amputation stays are diabetes codes, which
AHRQ also counts in PQI 03 (long-term complications), as it does in real data.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import numpy as np
import polars as pl

from modeling.errors import ParameterError
from modeling.marts.quality.pqi import AGE_BANDS, expected_probability
from modeling.synth.claims import ClaimBook
from modeling.synth.params import SynthParams, read_table
from modeling.synth.services.base import ServiceContext, condition_mask
from modeling.synth.services.inpatient import admit

SALT = (
    1824  # this line's stream: default_rng([seed, chunk, SALT, year]); claims: [seed, chunk, SALT]
)
PREFIX = "P"  # claim ids of this line (main "C", winter "W", bundles "B", ...)
TABLE = "synth_pqi_admissions.csv"
SCALE_KEY = "pqi_admission_scale"  # synth_behaviour.csv row; the line is off without it
VIA_ED_SHARE = 0.75  # assumption: most such admissions come through the emergency department


@lru_cache(maxsize=1)
def admission_table() -> pl.DataFrame:
    """``synth_pqi_admissions.csv``; each measure's DRG shares must add up to 1."""
    table = read_table(
        TABLE,
        schema_overrides={
            "drg_code": pl.String,
            "procedures": pl.String,
            "surgeon_paid": pl.Float64,
        },
    )
    sums = table.group_by("measure_id").agg(pl.col("share").sum())
    bad = sums.filter((pl.col("share") - 1.0).abs() > 1e-9)
    if bad.height:
        raise ParameterError(
            f"{TABLE}: the DRG shares of each measure must add up to 1 "
            f"(not: {', '.join(bad['measure_id'].to_list())}); fix the share column."
        )
    return table


def pqi_params(params: SynthParams) -> SynthParams:
    """The chunk's parameters with this line's MS-DRGs appended to the inpatient table (base share
    0, no condition, so no other line ever draws them)."""
    extra = admission_table().with_columns(
        pl.lit(0.0).alias("base_share"), pl.lit(None, pl.String).alias("condition")
    )
    drgs = pl.concat([params.drgs, extra.select(params.drgs.columns)], how="vertical_relaxed")
    return replace(params, drgs=drgs)


def _band(age: np.ndarray) -> np.ndarray:
    """AHRQ's age category (0 for 18-24 ... 13 for 85+), -1 under 18."""
    return np.searchsorted(np.array(AGE_BANDS), age, side="right") - 1


@lru_cache(maxsize=4)
def expected_by_cell(measure_id: str) -> np.ndarray:
    """AHRQ's expected annual probability of ``measure_id`` by [age category, female]."""
    grid = pl.DataFrame(
        {"age": [*AGE_BANDS, *AGE_BANDS], "female": [False] * 14 + [True] * 14},
        schema={"age": pl.Int32, "female": pl.Boolean},
    )
    p = expected_probability(measure_id, pl.col("age"), pl.col("female"))
    if p is None:
        raise ParameterError(f"pqi_covariates.csv has no parameters for {measure_id}.")
    values = grid.select(p.alias("p"))["p"].to_numpy()
    return values.reshape(2, 14).T.copy()


def member_rates(ctx: ServiceContext, measure_id: str, condition: str) -> np.ndarray:
    """Each member's admission rate per enrolled year for ``measure_id``: 0 without the condition
    or under 18; else the cell's expected probability x the cell's exposure over the exposure of
    its members with the condition."""
    band = _band(ctx.yf.age)
    adult = (band >= 0) & ctx.yf.active
    has = condition_mask(ctx, condition) & adult
    cell = np.where(adult, band * 2 + ctx.people.female.astype(int), -1)
    exposure = np.bincount(cell[adult], weights=ctx.yf.exposure[adult], minlength=28)
    with_condition = np.bincount(cell[has], weights=ctx.yf.exposure[has], minlength=28)
    scale = np.divide(exposure, with_condition, out=np.zeros(28), where=with_condition > 0)
    p = expected_by_cell(measure_id)
    rate = np.zeros(ctx.people.n)
    b, f = band[has], ctx.people.female[has].astype(int)
    rate[has] = p[b, f] * scale[b * 2 + f]
    return rate


def pqi_admissions(ctx: ServiceContext, book: ClaimBook, *, chunk_seed: list[int]) -> None:
    """The year's PQI 07 and PQI 16 admissions for the context's members, added to ``book`` (not
    the context's), drawn from ``chunk_seed + [SALT, year]``, at ``pqi_admission_scale`` times
    AHRQ's expected rate (no admissions when that behaviour row is absent); the context is not
    changed."""
    scale = ctx.params.behaviour.get(SCALE_KEY)
    if scale is None:
        return
    own = replace(
        ctx,
        rng=np.random.default_rng([*chunk_seed, SALT, ctx.year]),
        params=pqi_params(ctx.params),
        book=book,
        discharges=[],
        terminal=np.zeros(ctx.people.n, dtype=bool),
        admitted=ctx.admitted.copy(),
    )
    table = admission_table()
    codes = own.params.drgs["drg_code"].to_list()
    offset = len(codes) - table.height  # this line's rows are the table's last
    for measure_id in table["measure_id"].unique(maintain_order=True).to_list():
        rows = table.with_row_index("j").filter(pl.col("measure_id") == measure_id)
        condition = rows["condition"][0]
        rate = scale * member_rates(own, measure_id, condition)
        n = own.rng.poisson(rate * own.yf.exposure)
        person = np.repeat(np.arange(own.people.n), n)
        day = own.yf.dates(own.rng, person)
        pick = own.rng.choice(rows.height, len(person), p=rows["share"].to_numpy())
        drg = offset + rows["j"].to_numpy()[pick]
        admit(
            own,
            person,
            day,
            drg,
            via_ed=own.rng.random(len(person)) < VIA_ED_SHARE,
            terminal=np.zeros(len(person), dtype=bool),
        )
