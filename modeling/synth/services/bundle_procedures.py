"""Surgical episodes for bundled payments that the other service lines do not produce: CABG
(MS-DRG 231-236), spinal fusion (453-455, 459, 460, 471-473, remapped to MS-DRG v42 codes for
discharges from 1 October 2024), major bowel procedures with CC or without CC/MCC (330, 331)
and hip replacement for a hip fracture (521, 522), with their readmissions, SNF and home health.

Rates, weights and lengths of stay are data (``modeling/data/synth_bundle_procedures.csv``,
each row with its source). The line draws from its **own** random stream (the chunk's seed with
``SALT``) into its own ``ClaimBook`` whose claim keys start at ``KEY_OFFSET``, so the rows every
other service line writes, and their values, are exactly what they were without it. Admissions
reuse the inpatient line's ``admit`` (facility, attending, surgeon claims and discharge status),
their facility claims paid at the table's sourced ``stay_payment`` per MS-DRG rather than at the
inpatient line's all-DRG ``IPPS_BASE_RATE`` per unit of weight, and the post-acute line's SNF
and home-health care after discharge (community home health is left to the main stream).
Readmissions are medical admissions of the inpatient table, paid as the inpatient line pays
them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import polars as pl

from modeling.synth.params import SynthParams, read_table
from modeling.synth.services.base import ServiceContext, condition_mask, counts
from modeling.synth.services.inpatient import admit, choose_drg
from modeling.synth.services.post_acute import post_acute

SALT = 190_019  # issue 19's stream: default_rng([seed, chunk, SALT])
KEY_OFFSET = 900_000_000  # claim keys of this line's book: far above any chunk's own claims
V42_FROM = (dt.date(2024, 10, 1) - dt.date(1970, 1, 1)).days
V42_REMAP = {"453": "426", "454": "427", "455": "428", "459": "447", "460": "451"}
SURGICAL_EXPONENT = 0.3  # intensity^0.3: sicker members somewhat more likely to have surgery


def procedure_table() -> pl.DataFrame:
    """The line's MS-DRGs with the inpatient table's columns, rate_per_1000 and source."""
    return read_table(
        "synth_bundle_procedures.csv",
        schema_overrides={"drg_code": pl.String, "condition": pl.String, "procedures": pl.String},
    )


def bundle_params(params: SynthParams) -> SynthParams:
    """The chunk's parameters with this line's MS-DRGs appended to the inpatient table (their
    base share 0, so medical admissions never draw them) and no community home health."""
    extra = procedure_table().with_columns(pl.lit(0.0).alias("base_share"))
    drgs = pl.concat([params.drgs, extra.select(params.drgs.columns)], how="vertical_relaxed")
    behaviour = {**params.behaviour, "community_home_health_rate": 0.0}
    return replace(params, drgs=drgs, behaviour=behaviour)


def rng_for(seed: int, chunk: int) -> np.random.Generator:
    return np.random.default_rng([seed, chunk, SALT])


def bundle_procedures(ctx: ServiceContext) -> None:
    """The year's procedures (Poisson per member at each DRG's rate), their admissions, one
    round of 30-day readmissions and post-acute care. ``ctx`` must carry ``bundle_params``."""
    table = procedure_table()
    codes = ctx.params.drgs["drg_code"].to_list()
    rng = ctx.rng
    level = ctx.params.behaviour["price_level"]
    people, when, drg_idx, ratio, price = [], [], [], [], []
    for row in table.iter_rows(named=True):
        mask = condition_mask(ctx, row["condition"]) & ~ctx.yf.dies
        n = counts(ctx, row["rate_per_1000"] / 1000, SURGICAL_EXPONENT, mask)
        p = np.repeat(np.arange(ctx.people.n), n)
        people.append(p)
        when.append(ctx.yf.dates(rng, p))
        drg_idx.append(np.full(len(p), codes.index(row["drg_code"])))
        ratio.append(np.full(len(p), float(row["readmission_ratio"])))
        price.append(np.full(len(p), stay_payment(row, level)))
    p, day, idx, again, pay = (np.concatenate(x) for x in (people, when, drg_idx, ratio, price))
    if len(p) == 0:
        return
    admit(
        ctx,
        p,
        day,
        idx,
        via_ed=np.zeros(len(p), dtype=bool),
        terminal=np.zeros(len(p), dtype=bool),
        stay_payment=pay,
    )
    readmissions(ctx, again)
    post_acute(ctx)


def stay_payment(row: Mapping[str, Any], price_level: float) -> float:
    """A procedure's mean facility payment before the generator's price level: the table's
    ``stay_payment`` (MS-DRG 480's national mean Medicare payment per discharge per unit of its
    weight, times this MS-DRG's weight; sources in the table) divided by ``price_level``, which
    the claim book multiplies back, so the claims carry the table's dollars."""
    return float(row["stay_payment"]) / price_level


def readmissions(ctx: ServiceContext, ratio: np.ndarray) -> None:
    """One round of 30-day readmissions after the procedures' discharges: the inpatient line's
    member-health risk (``readmission_base`` x exp(``readmission_health`` x health), at most
    ``readmission_cap``) times each procedure's ``readmission_ratio`` (data, with its source:
    spinal fusion's published 30-day readmission rate is well below the all-admission rate the
    behaviour parameters are calibrated to)."""
    b, people, rng = ctx.params.behaviour, ctx.people, ctx.rng
    person, discharge, disposition = ctx.discharges[-1]
    alive = ~np.isin(disposition, ["20", "50", "07"])
    risk = ratio * np.clip(
        b["readmission_base"]
        * np.exp(b["readmission_health"] * np.clip(people.health[person], -3, 3)),
        0,
        b["readmission_cap"],
    )
    again = alive & (rng.random(len(person)) < risk)
    rp = person[again]
    day = discharge[again] + rng.integers(1, 31, len(rp))
    ok = day <= np.minimum(
        np.minimum(people.death_day[rp], people.leave_day[rp] - 1), ctx.yf.end[rp] + 40
    )
    rp, day = rp[ok], day[ok]
    admit(
        ctx,
        rp,
        day,
        choose_drg(ctx, rp),
        via_ed=rng.random(len(rp)) < b["readmission_via_ed"],
        terminal=np.zeros(len(rp), dtype=bool),
    )


def remap_v42(medical: pl.DataFrame) -> pl.DataFrame:
    """Spinal-fusion MS-DRGs of discharges from 1 October 2024 in their v42 codes."""
    late = pl.col("discharge_date") >= dt.date(2024, 10, 1)
    return medical.with_columns(
        pl.when(late & pl.col("drg_code").is_in(list(V42_REMAP)))
        .then(pl.col("drg_code").replace_strict(V42_REMAP, default=pl.col("drg_code")))
        .otherwise(pl.col("drg_code"))
        .alias("drg_code")
    )
