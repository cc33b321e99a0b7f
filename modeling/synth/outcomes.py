"""Practice effects on avoidable hospital use (``vbc synth``, added to the medical claims): some
PCPs' patients return to hospital more than their risk explains, so that the risk-standardized
provider rates of the outcome measures (30-day readmission, ambulatory-care-sensitive
admissions, MCC admissions) have real between-practice variance to find.

Each PCP has an effect ``e`` on the log scale, normal with standard deviation
``outcome_pcp_effect_sd``, fixed per PCP by the seed. An acute stay of the main stream (type
of bill 11x; not the other lines' stays, so that turning a line off leaves these rows as they
are) of a member attributed to the PCP in the discharge year, discharged alive, is followed with
probability ``outcome_repeat_stay_rate x max(exp(e) - 1, 0)`` (capped at 1) by a repeat stay:
an unplanned (emergency, admission type 1) copy of the stay's claim lines, same diagnoses,
procedures and DRG, admitted 1-30 days after the discharge (uniform) and as long as the stay.
So a practice with a positive effect has more readmissions, and, where the stay's principal
diagnosis is ambulatory-care sensitive, more PQI admissions; a practice with a zero or negative
effect gets none. The other side (``thinned_readmissions``): the main stream's 30-day
readmissions of members of a PCP with effect e are kept with probability
``min(exp(e - outcome_readmission_keep_shift), 1)``, so practices below the shift have fewer
readmissions than their patients' risk gives, and the panel's rate sits at the national mean.

The draws come from a stream of their own (``[seed, chunk, SALT]`` and ``[seed, SALT]`` for the
effects), so every row the generator produced before stays the same; the rows are appended with
claim ids starting "Q" and kept only inside enrollment.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from modeling.schema import MEDICAL_CLAIM
from modeling.synth.enrollment import covered
from modeling.synth.params import SynthParams
from modeling.synth.people import ProviderPool

SALT = 1821  # this module's own random stream
DIED = ("20", "40", "41", "42")
DATES = ("claim_start_date", "claim_end_date", "claim_line_start_date", "claim_line_end_date")


def discharge_year_pcp(
    stays: pl.DataFrame, attribution: pl.DataFrame, *, attributed_only: bool
) -> pl.DataFrame:
    """``stays`` (one row per stay, with ``person_id`` and ``discharge_date``) with ``year``, the
    discharge year, and ``provider_npi``, the member's PCP attributed in that year, in claim-id
    order (the order the lines draw their uniforms in). ``attributed_only``: drop the stays of
    members with no attribution that year (the repeat stays); otherwise keep them with a null
    PCP (the readmission thinning, where such a member counts as e = 0)."""
    return (
        stays.sort("claim_id")
        .with_columns(pl.col("discharge_date").dt.year().alias("year"))
        .join(
            attribution.select("person_id", "year", "provider_npi").unique(
                ["person_id", "year"], keep="first"
            ),
            on=["person_id", "year"],
            how="inner" if attributed_only else "left",
        )
        .sort("claim_id")
    )


def pcp_effect(provider_npi: pl.Series, effects: dict[str, float]) -> np.ndarray:
    """Each stay's PCP effect (``ProviderPool.pcp_effects``); 0 for a PCP without one or a
    stay with no PCP."""
    return np.array([effects.get(p, 0.0) for p in provider_npi.to_list()])


def repeat_probability(effect: np.ndarray, rate: float) -> np.ndarray:
    """The chance that a stay of a member of a PCP with ``effect`` is followed by a repeat
    stay: ``rate x max(exp(effect) - 1, 0)``, at most 1."""
    return np.minimum(rate * np.maximum(np.exp(effect) - 1.0, 0.0), 1.0)


def repeat_stays(
    medical: pl.DataFrame,
    eligibility: pl.DataFrame,
    attribution: pl.DataFrame,
    *,
    seed: int,
    chunk: int,
    params: SynthParams,
    pool: ProviderPool,
) -> pl.DataFrame:
    """The chunk's repeat stays (MEDICAL_CLAIM columns, claim ids "Q...")."""
    b = params.behaviour
    if "outcome_repeat_stay_rate" not in b or "outcome_pcp_effect_sd" not in b:
        return pl.DataFrame(schema=MEDICAL_CLAIM.polars_schema)
    rng = np.random.default_rng([seed, chunk, SALT])
    effects = pool.pcp_effects(seed, SALT, float(b["outcome_pcp_effect_sd"]))
    stays = (
        medical.filter(
            pl.col("claim_id").str.starts_with("C")  # the main stream's stays only
            & pl.col("bill_type_code").str.starts_with("11")
            & ~pl.col("discharge_disposition_code").fill_null("").is_in(DIED)
            & pl.col("admission_date").is_not_null()
            & pl.col("discharge_date").is_not_null()
        )
        .group_by("claim_id")
        .agg(pl.col("person_id", "admission_date", "discharge_date").first())
    )
    stays = discharge_year_pcp(stays, attribution, attributed_only=True)
    n = stays.height
    if n == 0:
        return pl.DataFrame(schema=MEDICAL_CLAIM.polars_schema)
    effect = pcp_effect(stays["provider_npi"], effects)
    u = rng.random(n)  # drawn for every stay: stable whatever the effects
    gap = rng.integers(1, 31, n)
    chosen = u < repeat_probability(effect, float(b["outcome_repeat_stay_rate"]))
    picked = stays.filter(pl.Series(chosen)).with_columns(
        pl.Series("gap", gap[chosen]),
        pl.format(
            "Q{}{}", pl.lit(f"{chunk:04d}"), pl.int_range(pl.len()).cast(pl.String).str.zfill(9)
        ).alias("new_id"),
    )
    if picked.is_empty():
        return pl.DataFrame(schema=MEDICAL_CLAIM.polars_schema)
    shift = (
        pl.col("discharge_date_stay")
        - pl.col("admission_date_stay")
        + pl.duration(days=pl.col("gap"))
    )
    lines = medical.join(
        picked.select(
            "claim_id",
            "new_id",
            "gap",
            pl.col("admission_date").alias("admission_date_stay"),
            pl.col("discharge_date").alias("discharge_date_stay"),
        ),
        on="claim_id",
        how="inner",
    ).with_columns(shift.alias("_shift"))
    moved_dates = [
        (pl.col(c) + pl.col("_shift")).alias(c)
        for c in (*DATES, "admission_date", "discharge_date", "paid_date")
    ]
    moved = lines.with_columns(
        *moved_dates,
        pl.col("new_id").alias("claim_id"),
        pl.lit("1").alias("admit_type_code"),
    )
    frame = covered(moved.select(MEDICAL_CLAIM.names), eligibility, "claim_start_date")
    return frame.cast(pl.Schema(MEDICAL_CLAIM.polars_schema))


THIN_SALT = 1823  # the thinning rule's own random stream


def keep_probability(effect: np.ndarray, shift: float) -> np.ndarray:
    """The chance that a main-stream 30-day readmission of a member of a PCP with ``effect`` is
    kept: ``min(exp(effect - shift), 1)``. A practice below ``shift`` keeps exp(e - shift) of
    the readmissions its patients' risk gives; ``shift`` sets the panel's level (the
    repeat-stay line adds readmissions above e = 0)."""
    return np.minimum(np.exp(effect - shift), 1.0)


def readmission_claim_ids(spans: list[tuple[int, int]], chunk: int) -> pl.Series:
    """The main book's claim ids ("C" + chunk + key, as ``ClaimBook.to_frame`` writes them) of
    the claim keys in ``spans`` (the readmissions' facility, physician, ED and ambulance
    claims)."""
    keys = [np.arange(a, b, dtype=np.int64) for a, b in spans if b > a]
    flat = np.concatenate(keys) if keys else np.empty(0, dtype=np.int64)
    return pl.DataFrame({"key": flat}).select(
        (pl.lit(f"C{chunk:04d}") + pl.col("key").cast(pl.String).str.zfill(9)).alias("claim_id")
    )["claim_id"]


def thinned_readmissions(
    medical: pl.DataFrame,
    attribution: pl.DataFrame,
    *,
    spans: list[tuple[int, int]],
    seed: int,
    chunk: int,
    params: SynthParams,
    pool: ProviderPool,
) -> pl.DataFrame:
    """``medical`` without the main-stream 30-day readmissions that the practice effects thin
    out: each readmission stay (a facility claim of type of bill 11x among the claims the
    readmission step wrote, ``spans``) of a member attributed in the discharge year to a PCP with
    effect e is dropped, with its physician, ED and ambulance claims (the claims of the step
    with the same member and start date), with probability ``1 - keep_probability(e, shift)``
    (``shift`` is ``outcome_readmission_keep_shift``; an unattributed member counts as e = 0).
    The effects are the repeat-stay line's (``repeat_stays``). One uniform is drawn per
    readmission stay in claim-id order from the stream ``[seed, chunk, THIN_SALT]`` whatever
    the effects; the rows that other lines derived from the dropped stays (post-acute care,
    transitional-care visits) are kept, so that no other line moves."""
    b = params.behaviour
    if not spans or "outcome_pcp_effect_sd" not in b or "outcome_readmission_keep_shift" not in b:
        return medical
    ids = readmission_claim_ids(spans, chunk)
    step = medical.filter(pl.col("claim_id").is_in(ids.implode()))
    stays = discharge_year_pcp(
        step.filter(pl.col("bill_type_code").str.starts_with("11"))
        .group_by("claim_id")
        .agg(pl.col("person_id", "claim_start_date", "discharge_date").first()),
        attribution,
        attributed_only=False,
    )
    if stays.is_empty():
        return medical
    rng = np.random.default_rng([seed, chunk, THIN_SALT])
    u = rng.random(stays.height)  # drawn for every readmission stay: stable whatever the effects
    effects = pool.pcp_effects(seed, SALT, float(b["outcome_pcp_effect_sd"]))
    effect = pcp_effect(stays["provider_npi"], effects)
    keep = keep_probability(effect, float(b["outcome_readmission_keep_shift"]))
    dropped = stays.filter(pl.Series(u >= keep)).select("person_id", "claim_start_date").unique()
    gone = step.join(dropped, on=["person_id", "claim_start_date"], how="semi")["claim_id"]
    return medical.filter(~pl.col("claim_id").is_in(gone.implode()))
