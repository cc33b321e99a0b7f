"""Transitional care after discharge (``vbc synth``, added to the medical claims): TCM visits
(CPT 99496 within 7 days, 99495 within 14 days) and CPT II 1111F medication reconciliation on
an office visit within 30 days, billed by the member's attributed PCP, with a PCP-level
quality effect so that practices really differ.

Each acute discharge home (discharge status 01 or 06) of a member enrolled on the visit day
gets a TCM visit with probability ``expit(logit(tcm_rate) + effect)`` and, failing that, a
reconciliation visit with probability ``expit(logit(reconciliation_rate) + effect)``; the
PCP's effect is normal with standard deviation ``pcp_effect_sd`` on the logit scale, fixed per
PCP by the seed. The draws come from a stream of their own (``[seed, chunk, SALT]`` and
``[seed, SALT]`` for the effects), so every row the generator produced before stays the same;
these rows are appended with claim ids starting "T". Rates are parameters with their sources
in ``synth_behaviour.csv`` (rows ``transition_*``).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from modeling.schema import MEDICAL_CLAIM
from modeling.synth.enrollment import covered
from modeling.synth.params import SynthParams
from modeling.synth.people import ProviderPool

SALT = 1818  # this module's own random stream
HOME = ("01", "06")


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p: float) -> float:
    return float(np.log(p / (1.0 - p)))


def transition_claims(
    medical: pl.DataFrame,
    eligibility: pl.DataFrame,
    attribution: pl.DataFrame,
    *,
    seed: int,
    chunk: int,
    params: SynthParams,
    pool: ProviderPool,
) -> pl.DataFrame:
    """The chunk's TCM and reconciliation claim lines (MEDICAL_CLAIM columns)."""
    b = params.behaviour
    keys = ("transition_tcm_rate", "transition_reconciliation_rate", "transition_pcp_effect_sd")
    if not all(k in b for k in keys):
        return pl.DataFrame(schema=MEDICAL_CLAIM.polars_schema)
    rng = np.random.default_rng([seed, chunk, SALT])
    effects = pool.pcp_effects(seed, SALT, float(b["transition_pcp_effect_sd"]))
    discharges = (
        medical.filter(
            pl.col("bill_type_code").str.starts_with("11")
            & pl.col("discharge_disposition_code").is_in(HOME)
        )
        .group_by("claim_id")
        .agg(pl.col("person_id", "member_id", "discharge_date").first())
        .sort("claim_id")
        .with_columns(pl.col("discharge_date").dt.year().alias("year"))
        .join(
            attribution.select("person_id", "year", "provider_npi"),
            on=["person_id", "year"],
            how="inner",
        )
    )
    n = discharges.height
    if n == 0:
        return pl.DataFrame(schema=MEDICAL_CLAIM.polars_schema)
    effect = np.array([effects.get(p, 0.0) for p in discharges["provider_npi"].to_list()])
    u_tcm, u_rec = rng.random(n), rng.random(n)
    tcm = u_tcm < _expit(_logit(float(b["transition_tcm_rate"])) + effect)
    rec = ~tcm & (u_rec < _expit(_logit(float(b["transition_reconciliation_rate"])) + effect))
    high = rng.random(n) < 0.5  # 99496 (high complexity, within 7 days) vs 99495 (within 14)
    tcm_day = np.where(high, rng.integers(2, 8, n), rng.integers(2, 15, n))
    rec_day = rng.integers(3, 31, n)
    day = np.where(tcm, tcm_day, rec_day)
    code = np.where(tcm, np.where(high, "99496", "99495"), "1111F")
    allowed = np.where(tcm, np.where(high, 280.0, 205.0), 0.0) * rng.lognormal(-0.005, 0.1, n)
    keep = tcm | rec
    picked = discharges.filter(pl.Series(keep))
    if picked.height == 0:
        return pl.DataFrame(schema=MEDICAL_CLAIM.polars_schema)
    on = (picked["discharge_date"].cast(pl.Int32) + pl.Series(day[keep]).cast(pl.Int32)).cast(
        pl.Date
    )
    frame = pl.DataFrame(
        {
            "claim_id": [f"T{chunk:04d}{i:09d}" for i in range(picked.height)],
            "claim_line_number": 1,
            "claim_type": "professional",
            "person_id": picked["person_id"],
            "member_id": picked["member_id"],
            "payer": "medicare",
            "plan": "original medicare",
            "claim_start_date": on,
            "claim_end_date": on,
            "claim_line_start_date": on,
            "claim_line_end_date": on,
            "place_of_service_code": "11",
            "service_unit_quantity": 1.0,
            "hcpcs_code": code[keep],
            "rendering_npi": picked["provider_npi"],
            "billing_npi": picked["provider_npi"],
            "allowed_amount": np.round(allowed[keep], 2),
            "diagnosis_code_type": "icd-10-cm",
            "diagnosis_code_1": "Z09",
            "data_source": "synthetic",
        }
    ).with_columns(
        (pl.col("claim_start_date") + pl.duration(days=30)).alias("paid_date"),
        (pl.col("allowed_amount") * 0.8).round(2).alias("paid_amount"),
    )
    frame = covered(frame, eligibility, "claim_start_date")
    missing = [pl.lit(None).alias(c) for c in MEDICAL_CLAIM.names if c not in frame.columns]
    return (
        frame.with_columns(missing)
        .select(MEDICAL_CLAIM.names)
        .cast(pl.Schema(MEDICAL_CLAIM.polars_schema))
    )
