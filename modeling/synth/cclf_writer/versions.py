"""Claim versions: originals, cancellations and adjustments, as CMS delivers them in CCLF.

A share of claims is adjusted: an original with other amounts, its cancellation
(``CLM_ADJSMT_TYPE_CD`` 1), then the adjustment (2) with the true amounts. A share of phantom
claims is billed and then cancelled, so they must vanish on ingest. Each version has its own
``CUR_CLM_UNIQ_ID`` and takes effect (``CLM_EFCTV_DT``) on the claim's paid date, later for
cancellations and adjustments.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from modeling.synth.services.hip_fractures import TRANSITIONS_CHUNK

FIRST_NEW_ID = 9_000_000_000_000  # ids of the versions that are not in the dataset


# the generator's claim ids are a letter and 13 digits (chunk, then a 9-digit number), "C" for
# the main service lines; the lines appended from their own streams restart their numbers, so
# each letter has its place: a block (the first digit, ID_BLOCKS) and, for a letter's second
# stream, chunk digits raised by SECOND_STREAM_CHUNKS. Chunks stay below 500 (``SynthSpec``
# allows at most MAX_MEMBERS members, in chunks of 12,500), so the chunk digits stay below
# 1,000 and the first digit is free; 9 is FIRST_NEW_ID's.
ID_BLOCKS = {"B": 1, "T": 2, "W": 3, "S": 4, "Q": 5, "H": 6, "P": 7, "Y": 8, "D": 8}
# bundles, transitional care, winter, screening, repeat stays (outcomes.py), hip fractures
# (services/hip_fractures.py), PQI 07/16 admissions (pqi_admissions.py), the months of services
# outside the year that drew them (services/base.py CarryOver, "Y"), the months before a death
# (services/pre_death.py, "D", block 8's second stream). The transitional care after the hip
# fractures' discharges ("T9...", the transitions stream of chunk TRANSITIONS_CHUNK + chunk) is
# block 2's second stream. The refills of adherence.py ("A") stay in block 0 (CCLF7's reference
# number has 12 digits): their numbers start at REFILL_NUMBERS, above any main-stream fill
# number of a chunk
SECOND_STREAM_CHUNKS = 500
ID_BLOCK = 10**12
CHUNK_DIGITS = 10**9  # a claim id's number after its chunk has 9 digits (claims.py)


def id_number(claim_id: pl.Expr) -> pl.Expr:
    """A claim id as CCLF's numeric 13-digit ``CUR_CLM_UNIQ_ID``: its digits, with the block of
    its line's letter (``ID_BLOCKS``) in front and a second stream's chunk digits (the "D" line,
    the hip fractures' "T9..." transitional care) raised by ``SECOND_STREAM_CHUNKS``."""
    letter = claim_id.str.slice(0, 1)
    block = letter.replace_strict(ID_BLOCKS, default=0, return_dtype=pl.Int64)
    digits = claim_id.str.replace_all(r"\D", "").cast(pl.Int64)
    chunk = digits // CHUNK_DIGITS
    second = (letter == "D") | (chunk >= TRANSITIONS_CHUNK)
    chunk = chunk % TRANSITIONS_CHUNK + pl.when(second).then(SECOND_STREAM_CHUNKS).otherwise(0)
    return block * ID_BLOCK + chunk * CHUNK_DIGITS + digits % CHUNK_DIGITS


@dataclass(frozen=True)
class VersionPlan:
    """Random choices for versions, drawn once per claim from the seed."""

    adjusted: pl.Series
    phantom: pl.Series
    factor: pl.Series
    delay: pl.Series


def draw_plan(
    rng: np.random.Generator, n: int, *, adjust_share: float, cancel_share: float
) -> VersionPlan:
    """Which of ``n`` claims are adjusted and which are phantoms, the factor of an adjusted
    claim's original amounts and the days until its cancellation and adjustment take effect."""
    u = rng.random(n)
    return VersionPlan(
        pl.Series(u < adjust_share),
        pl.Series((u >= adjust_share) & (u < adjust_share + cancel_share)),
        pl.Series(np.round(rng.uniform(0.8, 1.2, n), 4)),
        pl.Series(rng.integers(15, 76, n)),
    )


def claim_versions(
    claims: pl.DataFrame,
    lines: pl.DataFrame,
    plan: VersionPlan,
    *,
    amount_cols: list[str],
    next_id: int,
) -> tuple[pl.DataFrame, int]:
    """Every version of every claim: lines carry CUR_CLM_UNIQ_ID, CLM_ADJSMT_TYPE_CD, CLM_EFCTV_DT.

    ``claims`` has one row per claim (claim_id, effective date); ``lines`` the claim's lines.
    Adjusted claims get original (amounts x factor) -> cancellation -> adjustment (true amounts);
    phantom claims get original -> cancellation under another provider (``_phantom``).
    """
    c = claims.with_columns(
        plan.adjusted.alias("_adjusted"),
        plan.phantom.alias("_phantom_claim"),
        plan.factor.alias("_factor"),
        plan.delay.alias("_delay"),
    )
    extra = c.filter(pl.col("_adjusted") | pl.col("_phantom_claim")).with_row_index("_k")
    n_extra = extra.height
    extra = extra.with_columns(
        (pl.lit(next_id) + 3 * pl.col("_k").cast(pl.Int64)).alias("_id_original"),
        (pl.lit(next_id + 1) + 3 * pl.col("_k").cast(pl.Int64)).alias("_id_cancel"),
        (pl.lit(next_id + 2) + 3 * pl.col("_k").cast(pl.Int64)).alias("_id_final"),
    )
    base = c.filter(~pl.col("_adjusted")).select(
        "claim_id",
        id_number(pl.col("claim_id")).alias("CUR_CLM_UNIQ_ID"),
        pl.lit("0").alias("CLM_ADJSMT_TYPE_CD"),
        pl.col("_effective").alias("CLM_EFCTV_DT"),
        pl.lit(False).alias("_phantom"),
    )
    later = pl.col("_effective") + pl.duration(days=pl.col("_delay"))
    adjusted = extra.filter(pl.col("_adjusted"))
    phantom = extra.filter(pl.col("_phantom_claim"))
    heads = pl.concat(
        [
            base,
            adjusted.select(
                "claim_id",
                pl.col("_id_original").alias("CUR_CLM_UNIQ_ID"),
                pl.lit("0").alias("CLM_ADJSMT_TYPE_CD"),
                pl.col("_effective").alias("CLM_EFCTV_DT"),
                pl.lit(False).alias("_phantom"),
                "_factor",
            ),
            adjusted.select(
                "claim_id",
                pl.col("_id_cancel").alias("CUR_CLM_UNIQ_ID"),
                pl.lit("1").alias("CLM_ADJSMT_TYPE_CD"),
                later.alias("CLM_EFCTV_DT"),
                pl.lit(False).alias("_phantom"),
                "_factor",
            ),
            adjusted.select(
                "claim_id",
                pl.col("_id_final").alias("CUR_CLM_UNIQ_ID"),
                pl.lit("2").alias("CLM_ADJSMT_TYPE_CD"),
                later.alias("CLM_EFCTV_DT"),
                pl.lit(False).alias("_phantom"),
            ),
            phantom.select(
                "claim_id",
                pl.col("_id_original").alias("CUR_CLM_UNIQ_ID"),
                pl.lit("0").alias("CLM_ADJSMT_TYPE_CD"),
                pl.col("_effective").alias("CLM_EFCTV_DT"),
                pl.lit(True).alias("_phantom"),
                "_factor",
            ),
            phantom.select(
                "claim_id",
                pl.col("_id_cancel").alias("CUR_CLM_UNIQ_ID"),
                pl.lit("1").alias("CLM_ADJSMT_TYPE_CD"),
                later.alias("CLM_EFCTV_DT"),
                pl.lit(True).alias("_phantom"),
                "_factor",
            ),
        ],
        how="diagonal",
    )
    out = lines.join(heads, on="claim_id", how="inner").with_columns(
        [
            pl.when(pl.col("_factor").is_not_null())
            .then((pl.col(a) * pl.col("_factor")).round(2))
            .otherwise(pl.col(a))
            .alias(a)
            for a in amount_cols
        ]
    )
    return out, next_id + 3 * n_extra


def effective_date() -> pl.Expr:
    """When a claim's original version takes effect: its paid date, else 14 days after it ends."""
    return pl.coalesce("paid_date", pl.col("claim_end_date") + pl.duration(days=14)).alias(
        "_effective"
    )


@dataclass(frozen=True)
class Written:
    """What writing a file family's claim versions gave: the next free claim id, and how many
    claims were adjusted and how many billed then cancelled."""

    next_id: int
    adjusted: int
    cancelled: int
