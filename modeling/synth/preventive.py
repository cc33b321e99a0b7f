"""Preventive screening by the attributed PCP (``vbc synth``, added to the medical claims):
screening mammograms (CPT 77067) for women 50-74 and fecal immunochemical tests (CPT 82274) for
members 45-75, so that the claims-based screening measures come near their published national
rates, with a PCP-level effect so that practices really differ.

Each member-year with the age at December 31 in the range gets the test with probability
``expit(logit(rate) + effect)`` on a random day of the year (dropped when the member is not
enrolled that day); the PCP's effect is normal with standard deviation ``preventive_pcp_effect_sd``
on the logit scale, fixed per PCP by the seed. The draws come from a stream of their own
(``[seed, chunk, SALT]``, ``[seed, SALT]`` for the effects), so every row the generator produced
before stays the same; the rows are appended with claim ids starting "S". Rates are parameters
with their sources in ``synth_behaviour.csv`` (rows ``preventive_*``).

What this stands in for: in Medicare most members up to date on colorectal screening had a
colonoscopy in the 9 years before the measurement year, which a panel of two or three years of
claims cannot show; the FIT line carries the share the published rate implies instead, so the
measure's rate, not the mix of tests, is what is calibrated.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from modeling.schema import MEDICAL_CLAIM
from modeling.synth.enrollment import covered
from modeling.synth.params import SynthParams
from modeling.synth.people import ProviderPool

SALT = 1819  # this module's own random stream
TESTS = (  # (rate parameter, CPT, ages at December 31, women only, allowed amount, diagnosis)
    ("preventive_mammogram_rate", "77067", (50, 74), True, 125.0, "Z1231"),
    ("preventive_fit_rate", "82274", (45, 75), False, 18.0, "Z1211"),
)


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def screening_claims(
    eligibility: pl.DataFrame,
    attribution: pl.DataFrame,
    *,
    seed: int,
    chunk: int,
    params: SynthParams,
    pool: ProviderPool,
) -> pl.DataFrame:
    """The chunk's screening claim lines (MEDICAL_CLAIM columns)."""
    b = params.behaviour
    keys = [t[0] for t in TESTS] + ["preventive_pcp_effect_sd"]
    if not all(k in b for k in keys) or attribution.is_empty():
        return pl.DataFrame(schema=MEDICAL_CLAIM.polars_schema)
    rng = np.random.default_rng([seed, chunk, SALT])
    effects = pool.pcp_effects(seed, SALT, float(b["preventive_pcp_effect_sd"]))
    people = (
        eligibility.sort("person_id", "enrollment_start_date")
        .group_by("person_id", maintain_order=True)
        .agg(pl.col("member_id", "gender", "birth_date").last())
    )
    years = (
        attribution.select("person_id", "year", "provider_npi")
        .unique(["person_id", "year"], keep="first")
        .sort("person_id", "year")
        .join(people, on="person_id", how="inner")
        .with_columns(
            (pl.col("year") - pl.col("birth_date").dt.year()).alias("age"),  # at December 31
        )
    )
    effect = np.array([effects.get(p, 0.0) for p in years["provider_npi"].to_list()])
    frames = []
    for name, code, (low, high), women, allowed, dx in TESTS:
        rate = float(b[name])
        u = rng.random(years.height)  # drawn for every member-year: stable across eligibility
        day = rng.integers(0, 365, years.height)
        eligible = years["age"].is_between(low, high).to_numpy()
        if women:
            eligible &= (years["gender"] == "female").to_numpy()
        logit = np.log(rate / (1.0 - rate)) + effect
        keep = eligible & (u < _expit(logit))
        picked = years.filter(pl.Series(keep)).with_columns(
            pl.Series("_day", day[keep], dtype=pl.Int32),
            pl.Series("allowed_amount", allowed * rng.lognormal(-0.005, 0.1, int(keep.sum()))),
        )
        frames.append(
            picked.select(
                "person_id",
                "member_id",
                (pl.date(pl.col("year"), 1, 1).cast(pl.Int32) + pl.col("_day"))
                .cast(pl.Date)
                .alias("claim_start_date"),
                "provider_npi",
                pl.lit(code).alias("hcpcs_code"),
                pl.lit(dx).alias("diagnosis_code_1"),
                pl.col("allowed_amount").round(2),
            )
        )
    found = pl.concat(frames).sort("person_id", "claim_start_date", "hcpcs_code")
    if found.is_empty():
        return pl.DataFrame(schema=MEDICAL_CLAIM.polars_schema)
    frame = found.with_columns(
        (pl.lit(f"S{chunk:04d}") + pl.int_range(0, pl.len()).cast(pl.String).str.zfill(9)).alias(
            "claim_id"
        ),
        pl.lit(1).alias("claim_line_number"),
        pl.lit("professional").alias("claim_type"),
        pl.lit("medicare").alias("payer"),
        pl.lit("original medicare").alias("plan"),
        pl.col("claim_start_date").alias("claim_end_date"),
        pl.col("claim_start_date").alias("claim_line_start_date"),
        pl.col("claim_start_date").alias("claim_line_end_date"),
        pl.lit("11").alias("place_of_service_code"),
        pl.lit(1.0).alias("service_unit_quantity"),
        pl.col("provider_npi").alias("rendering_npi"),
        pl.col("provider_npi").alias("billing_npi"),
        pl.lit("icd-10-cm").alias("diagnosis_code_type"),
        pl.lit("synthetic").alias("data_source"),
        (pl.col("claim_start_date") + pl.duration(days=30)).alias("paid_date"),
        (pl.col("allowed_amount") * 0.8).round(2).alias("paid_amount"),
    ).drop("provider_npi")
    frame = covered(frame, eligibility, "claim_start_date")
    missing = [pl.lit(None).alias(c) for c in MEDICAL_CLAIM.names if c not in frame.columns]
    return (
        frame.with_columns(missing)
        .select(MEDICAL_CLAIM.names)
        .cast(pl.Schema(MEDICAL_CLAIM.polars_schema))
    )
