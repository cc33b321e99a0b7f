"""Part D fills (``pharmacy_claim``).

A member takes a drug of ``synth_drugs.csv`` while its condition is at the drug's minimum level
or above, if the member's fixed draw for that drug is below the drug's share; the member fills
it every 30 or 90 days (fixed per member and drug) stretched by imperfect adherence (redrawn each
year), skipping any enrollment gap. Gross cost is the drug's cost per 30 days times
``part_d_cost_scale``; plan paid is 85% of it.

The refills follow one schedule across the panel's years (``RefillSchedule``): the next fill is
due one interval after the last, whichever year it falls in, so a member on a drug through 31
December refills in January exactly one interval after December's (or November's) fill. Only a
member-drug starting the drug (the panel's first year, or the year its condition reaches the
drug's level, or the member's first enrolled year) starts from a random day of one interval, the
stationary phase of a refill cycle; one enrolled too briefly for a full interval has a single
fill with probability ``single_fill_share``. (A schedule restarted each January at a random
offset, with floor(days / interval) fills, left the last weeks of every year short of fills:
December's fills per dispensing day were about half of the year's mean.)

Random draws: the adherence, the single-fill draw and the starting day come from the
generator's main stream as they always have; the per-fill cost and quantity draws from the
schedule's own stream (``default_rng([seed, chunk, SALT])``). The main stream still draws, and
discards, as many per-fill values as the year-by-year rule had fills, so every other line of the
generator draws what it drew before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from modeling.synth.arrays import days_to_date, ranks_within
from modeling.synth.enrollment import MemberIds, YearFrame
from modeling.synth.params import SynthParams
from modeling.synth.people import People, ProviderPool

SALT = 2024_1203  # the refill schedule's per-fill draws: default_rng([seed, chunk, SALT])


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


@dataclass
class RefillSchedule:
    """A chunk's refill schedule, carried from year to year: for each drug (rows) and member
    (columns) the enrolled day of the coming year on which the next fill is due (0 = 1 January
    when enrolled from it), or -1 when the member was not on the drug at the end of the last
    year; and the schedule's own random stream for the fills' cost and quantity."""

    due: np.ndarray
    rng: np.random.Generator

    @classmethod
    def start(cls, seed: int, chunk: int, drugs: int, n: int) -> RefillSchedule:
        return cls(
            np.full((drugs, n), -1, dtype=np.int64), np.random.default_rng([seed, chunk, SALT])
        )


def fill_offsets(
    days: np.ndarray,
    interval: np.ndarray,
    due: np.ndarray,
    phase: np.ndarray,
    single: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One year of a refill schedule, per member-drug: the number of fills, the enrolled day of
    the first, and the enrolled day of the next year on which the following fill is due.

    ``due`` is the day carried from the year before (-1: starting the drug this year), ``phase``
    a starting day in [0, interval) for those starting, ``single`` whether one starting and
    enrolled fewer days than the interval fills once (on day ``phase mod days``; otherwise it
    fills none and starts the next year at ``phase``, as a starter would). Fills fall on first,
    first + interval, ... while inside the ``days`` enrolled days.
    """
    starting = due < 0
    brief = starting & (days < interval)
    first = np.where(starting, phase, due)
    first = np.where(brief & single, phase % np.maximum(days, 1), first)
    skipped = brief & ~single
    fills = np.where(first < days, (np.maximum(days - 1 - first, 0) // interval) + 1, 0)
    fills = np.where(skipped | (days <= 0), 0, fills)
    carried = np.where(skipped, phase, first + fills * interval - days)
    return fills, first, carried


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
    schedule: RefillSchedule,
) -> pl.DataFrame:
    """Part D fills of the year: each member on a drug for a condition fills it every 30 or 90
    days stretched by imperfect adherence, continuing ``schedule`` (updated in place)."""
    b = params.behaviour
    frames = []
    fill_rng = schedule.rng
    for d, drug in enumerate(params.drugs.iter_rows(named=True)):
        ci = params.condition_index(drug["condition"])
        who = np.flatnonzero(
            yf.active
            & (yf.days > 0)
            & (levels[ci] >= drug["min_level"])
            & (drug_use.draw[d] < drug["share"])
        )
        if len(who) == 0:
            schedule.due[d] = -1
            continue
        supply = np.where(drug_use.supply90[d, who], 90, 30)
        adherence = rng.beta(b["adherence_beta_a"], b["adherence_beta_b"], len(who))
        interval = np.ceil(supply / adherence).astype(np.int64)
        single = rng.random(len(who)) < b["single_fill_share"]
        phase = rng.integers(0, np.maximum(interval, 1))
        # the main stream's per-fill draws of the year-by-year rule, drawn and discarded so
        # that every later draw of the main stream is what it was
        legacy = int(np.maximum(yf.days[who] // interval, single.astype(np.int64)).sum())
        rng.lognormal(-0.005, 0.1, legacy)
        rng.random(legacy)
        due = schedule.due[d]
        fills, first, carried = fill_offsets(yf.days[who], interval, due[who], phase, single)
        due[:] = -1
        due[who] = carried
        p = np.repeat(who, fills)
        k = ranks_within(fills)
        date = yf.start[p] + np.repeat(first, fills) + k * np.repeat(interval, fills)
        date = date + np.where(date >= yf.gap_start[p], yf.gap_len[p], 0)
        sup = np.repeat(supply, fills)
        cost = (
            drug["cost_per_30_days"]
            * sup
            / 30
            * b["part_d_cost_scale"]
            * fill_rng.lognormal(-0.005, 0.1, len(p))
        )
        frames.append(
            pl.DataFrame(
                {
                    "person": p,
                    "dispensing_date": days_to_date(date),
                    "ndc_code": drug["ndc_code"],
                    "quantity": (sup * np.where(fill_rng.random(len(p)) < 0.3, 2, 1)).astype(
                        np.float64
                    ),
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
