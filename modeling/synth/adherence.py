"""On-time refills of the drugs the Part D adherence measures follow (``vbc synth``, added to the
pharmacy claims), so that the proportion of days covered comes near the published Part D rates.

The main stream's fills stretch every refill interval by a beta-distributed adherence (mean
0.8, ``pharmacy.py``), so only about 56-64% of members reach PDC >= 80% against Part D's
85-90%. Part D adherence is bimodal instead: most members refill on time and a minority lapse.
This line makes a share of the member-drug-years of the adherence drug classes (non-insulin
diabetes drugs, RAS antagonists, statins: ``synthetic_ndc_classes.csv``) the on-time ones: a
member refills a drug on time with probability ``adherence_refill_share``, drawn once per member
and drug (adherence is a lasting habit, the same every year), and such a member and drug gets
the refills that close its gaps, one on every day its supply schedule falls on a day that no
fill covers. The schedule is one across the panel's years (the member-drug's first fill + k x
days' supply, through 31 December of its last year with a fill): a member who refills on time
does not start over in January (a schedule restarted at each year's first fill left the days
from 1 January to that fill uncovered). A refill copies the drug, supply, amount, prescriber and
payment lag of the fill before it, of the same year or the one before.

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
    pharmacy: pl.DataFrame,
    *,
    seed: int,
    chunk: int,
    params: SynthParams,
    start_year: int | None = None,
) -> pl.DataFrame:
    """The chunk's added refills (the pharmacy table's columns, claim ids "A...").

    ``start_year``, the panel's first year: a member-drug whose first fill falls in it was on
    the drug before the panel, so its on-time cycle did not begin with that fill: the cycle's
    days are anchor + k x days' supply from 1 January of that year, the anchor a uniform number
    of days (below one supply) before the first fill; before the first fill, the days that the
    main stream's fill one interval earlier (the interval between its first two fills; none for
    a single fill) would have covered need no refill, and the others copy the first fill.
    (Anchored at the first fill, every member-drug's cycle began in the panel's first weeks
    together, and the first year's February had 18% more fills per day than its other months.)
    Other member-drugs start the drug with their first fill, and their cycle with it.
    """
    share = params.behaviour.get("adherence_refill_share")
    if share is None or pharmacy.is_empty():
        return pharmacy.clear()
    fills = pharmacy.filter(pl.col("ndc_code").is_in(adherence_ndcs()))
    # adherence is a member's habit with a drug: one draw per member and drug, for every year
    members = fills.select(MEMBER_DRUG).unique().sort(MEMBER_DRUG)
    rng = np.random.default_rng([seed, chunk, SALT])
    chosen = members.filter(pl.Series(rng.random(members.height) < float(share)))
    if chosen.is_empty():
        return pharmacy.clear()
    ordered = fills.join(chosen, on=MEMBER_DRUG, how="semi").sort([*MEMBER_DRUG, "dispensing_date"])
    first = ordered.group_by(MEMBER_DRUG, maintain_order=True).agg(
        pl.col("dispensing_date").first().alias("first_fill"),
        (pl.col("dispensing_date").get(1, null_on_oob=True) - pl.col("dispensing_date").first())
        .dt.total_days()
        .alias("gap"),
        pl.col("days_supply").first(),
        pl.date(pl.col("dispensing_date").max().dt.year(), 12, 31).alias("last_day"),
    )
    # carried in from before the panel: the on-time cycle's phase against the first fill is
    # uniform over one supply (drawn after the members' draws, in the same sorted order)
    carried = (
        first["first_fill"].dt.year() == start_year
        if start_year is not None
        else pl.Series([False] * first.height)
    )
    offset = np.where(
        carried.to_numpy(), np.floor(rng.random(first.height) * first["days_supply"].to_numpy()), 0
    )
    supply = pl.col("days_supply").cast(pl.Int64)
    schedule = (
        first.with_columns(pl.Series("offset", offset.astype(np.int64)))
        .with_columns(
            (pl.col("first_fill") - pl.duration(days=pl.col("offset"))).alias("anchor"),
            pl.Series("carried", carried),
        )
        .with_columns(
            pl.when(pl.col("carried"))
            .then(-((pl.col("anchor") - pl.date(start_year or 1, 1, 1)).dt.total_days() // supply))
            .otherwise(1)
            .alias("k_from"),
            ((pl.col("last_day") - pl.col("anchor")).dt.total_days() // supply).alias("k_to"),
        )
        .filter(pl.col("k_to") >= pl.col("k_from"))
        .with_columns(pl.int_ranges(pl.col("k_from"), pl.col("k_to") + 1).alias("k"))
        .explode("k")
        .with_columns(
            (pl.col("anchor") + pl.duration(days=pl.col("k") * supply)).alias("dispensing_date")
        )
        # before the first fill, the main stream's fill one interval before it (the interval of
        # its first and second fills) covered one supply: only the days after that need refills
        .filter(
            (pl.col("dispensing_date") > pl.col("first_fill"))
            | (
                pl.col("dispensing_date")
                >= pl.col("first_fill") - pl.duration(days=pl.col("gap") - supply)
            )
        )
    )
    return _uncovered(schedule, ordered, pharmacy, chunk)


def _uncovered(
    schedule: pl.LazyFrame | pl.DataFrame,
    ordered: pl.DataFrame,
    pharmacy: pl.DataFrame,
    chunk: int,
) -> pl.DataFrame:
    """The schedule's days that no fill of the same member and drug covers, as fills copying
    the fill before them (days before the member-drug's first fill copy the first fill)."""
    days = schedule.lazy().select(*MEMBER_DRUG, "dispensing_date").sort("dispensing_date")
    before = ordered.lazy().rename({"dispensing_date": "last_fill"}).sort("last_fill")
    after_first = days.join_asof(
        before,
        left_on="dispensing_date",
        right_on="last_fill",
        by=MEMBER_DRUG,
        strategy="backward",
        check_sortedness=False,
    )
    columns = after_first.collect_schema().names()
    lead = (
        after_first.filter(pl.col("last_fill").is_null())
        .select(*MEMBER_DRUG, "dispensing_date")
        .join(before.group_by(MEMBER_DRUG).first(), on=MEMBER_DRUG)
        .select(columns)
    )
    matched = pl.concat(
        [
            after_first.filter(
                pl.col("dispensing_date")
                >= pl.col("last_fill") + pl.duration(days=pl.col("days_supply"))
            ),
            lead,
        ]
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
