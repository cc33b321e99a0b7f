"""On-time refills of the drugs the Part D adherence measures follow (``vbc synth``, added to the
pharmacy claims), so that the proportion of days covered comes near the published Part D rates.

The main stream's fills stretch every refill interval by a beta-distributed adherence (mean
0.8, ``pharmacy.py``), so only about 56-64% of members reach PDC >= 80% against Part D's
85-90%. Part D adherence is bimodal instead: most members refill on time and a minority lapse.
This line makes a share of the member-drug-years of the adherence drug classes (non-insulin
diabetes drugs, RAS antagonists, statins: ``synthetic_ndc_classes.csv``) the on-time ones: a
member refills a drug on time with probability ``adherence_refill_share``, drawn once per member
and drug (adherence is a lasting habit, the same every year), and each year of such a member and
drug gets the refills that close its gaps, one on every day its supply schedule from the year's
first fill (first fill + k x days' supply, through December 31) falls on a day that no fill of
the year covers. A refill copies the
drug, supply, amount, prescriber and payment lag of the fill before it.

The draws come from a stream of their own (``[seed, chunk, SALT]``, one draw per member and drug
in sorted order), so every row the generator produced before stays the same; the refills are
appended with claim ids starting "A" and, like every fill, kept only inside enrollment.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import polars as pl

from modeling.synth.params import SynthParams

SALT = 1820  # this module's own random stream
CLASSES = ("diabetes_noninsulin", "ras", "statin")
"""The drug classes of the Part D adherence measures (D08, D09, D10)."""
MEMBER_DRUG = ["person_id", "ndc_code"]
KEYS = [*MEMBER_DRUG, "year"]
REFILL_NUMBERS = 500_000_000
"""A refill's claim id is "A", the chunk and a number from this one on: its digits never equal a
main-stream fill's ("R", the chunk and a number from 0), as CCLF7's numeric reference needs."""


@cache
def adherence_ndcs() -> tuple[str, ...]:
    """The synthetic NDCs of the adherence measures' drug classes."""
    from modeling.marts.quality.definitions import synthetic_ndc_classes

    table = synthetic_ndc_classes()
    return tuple(table.filter(pl.col("drug_class").is_in(CLASSES))["ndc_code"].to_list())


def on_time_refills(
    pharmacy: pl.DataFrame, *, seed: int, chunk: int, params: SynthParams
) -> pl.DataFrame:
    """The chunk's added refills (the pharmacy table's columns, claim ids "A...")."""
    share = params.behaviour.get("adherence_refill_share")
    if share is None or pharmacy.is_empty():
        return pharmacy.clear()
    fills = pharmacy.filter(pl.col("ndc_code").is_in(adherence_ndcs())).with_columns(
        pl.col("dispensing_date").dt.year().alias("year")
    )
    # adherence is a member's habit with a drug: one draw per member and drug, for every year
    members = fills.select(MEMBER_DRUG).unique().sort(MEMBER_DRUG)
    rng = np.random.default_rng([seed, chunk, SALT])
    chosen = members.filter(pl.Series(rng.random(members.height) < float(share)))
    if chosen.is_empty():
        return pharmacy.clear()
    ordered = fills.join(chosen, on=MEMBER_DRUG, how="semi").sort([*KEYS, "dispensing_date"])
    last_day = pl.date(pl.col("year"), 12, 31)
    schedule = (
        ordered.group_by(KEYS)
        .agg(pl.col("dispensing_date", "days_supply").first())
        .with_columns(
            ((last_day - pl.col("dispensing_date")).dt.total_days() // pl.col("days_supply")).alias(
                "steps"
            )
        )
        .filter(pl.col("steps") >= 1)
        .with_columns(pl.int_ranges(1, pl.col("steps") + 1).alias("k"))
        .explode("k")
        .with_columns(
            (
                pl.col("dispensing_date")
                + pl.duration(days=pl.col("k") * pl.col("days_supply").cast(pl.Int64))
            ).alias("dispensing_date")
        )
    )
    return _uncovered(schedule, ordered, pharmacy, chunk)


def _uncovered(
    schedule: pl.LazyFrame | pl.DataFrame,
    ordered: pl.DataFrame,
    pharmacy: pl.DataFrame,
    chunk: int,
) -> pl.DataFrame:
    """The schedule's days that no fill of the same member-drug-year covers, as fills copying
    the fill before them."""
    days = schedule.lazy().select(*KEYS, "dispensing_date").sort("dispensing_date")
    before = ordered.lazy().rename({"dispensing_date": "last_fill"}).sort("last_fill")
    matched = days.join_asof(
        before,
        left_on="dispensing_date",
        right_on="last_fill",
        by=KEYS,
        strategy="backward",
        check_sortedness=False,
    ).filter(
        pl.col("dispensing_date") >= pl.col("last_fill") + pl.duration(days=pl.col("days_supply"))
    )
    added = (
        matched.sort("person_id", "ndc_code", "dispensing_date")
        .with_columns(
            # paid as the fill before it was, the same days after dispensing
            (pl.col("dispensing_date") + (pl.col("paid_date") - pl.col("last_fill"))).alias(
                "paid_date"
            ),
            pl.lit(1, dtype=pl.Int32).alias("claim_line_number"),
        )
        .collect()
    )
    if added.is_empty():
        return pharmacy.clear()
    added = added.with_columns(
        (
            pl.lit(f"A{chunk:04d}")
            + (pl.int_range(0, pl.len()) + REFILL_NUMBERS).cast(pl.String).str.zfill(9)
        ).alias("claim_id")
    )
    return added.select(pharmacy.columns).cast(pharmacy.schema)
