"""Part D fills (``pharmacy_claim``).

A member takes a drug of ``synth_drugs.csv`` while its condition is at the drug's minimum level
or above, if the member's fixed draw for that drug is below the drug's share; the member fills
it every 30 or 90 days (fixed per member and drug) stretched by imperfect adherence, from a
random first day, skipping any enrollment gap. Gross cost is the drug's cost per 30 days times
``part_d_cost_scale``; plan paid is 85% of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from modeling.synth.arrays import days_to_date, ranks_within
from modeling.synth.enrollment import MemberIds, YearFrame
from modeling.synth.params import SynthParams
from modeling.synth.people import People, ProviderPool


@dataclass(frozen=True)
class DrugUse:
    """Per drug (rows) and member (columns), fixed for the panel: the draw compared with the
    drug's share, and whether the member fills 90-day supplies."""

    draw: np.ndarray
    supply90: np.ndarray

    @classmethod
    def draw_for(cls, rng: np.random.Generator, params: SynthParams, n: int) -> DrugUse:
        drugs = params.drugs.height
        draw = rng.random((drugs, n))
        supply90 = rng.random((drugs, n)) < params.behaviour["ninety_day_supply_share"]
        return cls(draw, supply90)


def pharmacy_rows(
    rng: np.random.Generator,
    yf: YearFrame,
    levels: np.ndarray,
    *,
    params: SynthParams,
    pool: ProviderPool,
    people: People,
    drug_use: DrugUse,
    ids: MemberIds,
) -> pl.DataFrame:
    """Part D fills: each member on a drug for a condition fills it every 30 or 90 days, with imperfect adherence."""
    b = params.behaviour
    frames = []
    for d, drug in enumerate(params.drugs.iter_rows(named=True)):
        ci = params.condition_index(drug["condition"])
        who = np.flatnonzero(
            yf.active
            & (yf.days > 0)
            & (levels[ci] >= drug["min_level"])
            & (drug_use.draw[d] < drug["share"])
        )
        if len(who) == 0:
            continue
        supply = np.where(drug_use.supply90[d, who], 90, 30)
        adherence = rng.beta(b["adherence_beta_a"], b["adherence_beta_b"], len(who))
        interval = np.ceil(supply / adherence).astype(np.int64)
        fills = np.maximum(
            np.floor(yf.days[who] / interval).astype(np.int64),
            (rng.random(len(who)) < b["single_fill_share"]).astype(np.int64),
        )
        p = np.repeat(who, fills)
        k = ranks_within(fills)
        iv = np.repeat(interval, fills)
        first = np.repeat(rng.integers(0, np.maximum(interval, 1)), fills)
        date = yf.start[p] + np.minimum(
            first % np.maximum(yf.days[p], 1) + k * iv, np.maximum(yf.days[p] - 1, 0)
        )
        date = date + np.where(date >= yf.gap_start[p], yf.gap_len[p], 0)
        sup = np.repeat(supply, fills)
        cost = (
            drug["cost_per_30_days"]
            * sup
            / 30
            * b["part_d_cost_scale"]
            * rng.lognormal(-0.005, 0.1, len(p))
        )
        frames.append(
            pl.DataFrame(
                {
                    "person": p,
                    "dispensing_date": days_to_date(date),
                    "ndc_code": drug["ndc_code"],
                    "quantity": (sup * np.where(rng.random(len(p)) < 0.3, 2, 1)).astype(np.float64),
                    "days_supply": sup.astype(np.int32),
                    "allowed_amount": cost,
                }
            )
        )
    if not frames:
        return pl.DataFrame()
    f = pl.concat(frames).sort("person", "dispensing_date")
    pidx = f["person"].to_numpy()
    return f.with_columns(
        ids.person.gather(pidx).alias("person_id"),
        ids.member.gather(pidx).alias("member_id"),
        pl.lit(1, dtype=pl.Int32).alias("claim_line_number"),
        pl.lit("medicare part d").alias("payer"),
        pl.lit("part d").alias("plan"),
        pl.Series(pool.pcp_npi[people.pcp[pidx]]).alias("prescribing_provider_npi"),
        pl.Series(pool.pharmacy_npi[(pidx * 7 + 3) % len(pool.pharmacy_npi)]).alias(
            "dispensing_provider_npi"
        ),
        (pl.col("dispensing_date").cast(pl.Int32) + 14).cast(pl.Date).alias("paid_date"),
        (pl.col("allowed_amount") * 0.85).round(2).alias("paid_amount"),
        pl.col("allowed_amount").round(2),
        pl.lit("synthetic").alias("data_source"),
    ).drop("person")
