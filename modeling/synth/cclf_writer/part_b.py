"""Part B claims: physician and other professional lines (CCLF5) and DMEPOS lines (CCLF6,
the durable-medical-equipment category), one line per claim version.

CCLF5 lines carry the claim's 12 diagnoses and the line's own; CCLF6 has no diagnoses, and its
provider is the pay-to provider. A phantom professional claim is billed under another control
number (the claim id with an ``X``) and then cancelled.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from modeling.synth.cclf_writer.beneficiaries import MbiHistory
from modeling.synth.cclf_writer.deliveries import Deliveries
from modeling.synth.cclf_writer.versions import Written, claim_versions, draw_plan, effective_date


def write_part_b(
    medical: pl.DataFrame,
    rng: np.random.Generator,
    mbi: MbiHistory,
    deliveries: Deliveries,
    *,
    adjust_share: float,
    cancel_share: float,
    next_id: int,
) -> Written:
    """Every version of the professional claim lines in ``medical`` (with ``service_category``)
    into CCLF5 and CCLF6, new claim ids from ``next_id`` on."""
    prof = medical.filter(pl.col("claim_type") == "professional")
    prof_claims = (
        prof.group_by("claim_id", maintain_order=True)
        .agg(pl.col("paid_date").first(), pl.col("claim_end_date").first())
        .with_columns(effective_date())
        .sort("claim_id")
    )
    plan = draw_plan(rng, prof_claims.height, adjust_share=adjust_share, cancel_share=cancel_share)
    versions, next_id = claim_versions(
        prof_claims.select("claim_id", "_effective"),
        prof,
        plan,
        amount_cols=["paid_amount", "allowed_amount"],
        next_id=next_id,
    )
    versions = mbi.at(versions, "CLM_EFCTV_DT")
    # a phantom professional claim is billed under another control number, then cancelled
    control = (
        pl.when(pl.col("_phantom")).then(pl.col("claim_id") + "X").otherwise(pl.col("claim_id"))
    )
    common: list[str | pl.Expr] = [
        "CUR_CLM_UNIQ_ID",
        pl.col("claim_line_number").alias("CLM_LINE_NUM"),
        "BENE_MBI_ID",
        pl.col("claim_start_date").alias("CLM_FROM_DT"),
        pl.col("claim_end_date").alias("CLM_THRU_DT"),
        pl.col("place_of_service_code").alias("CLM_POS_CD"),
        pl.col("claim_line_start_date").alias("CLM_LINE_FROM_DT"),
        pl.col("claim_line_end_date").alias("CLM_LINE_THRU_DT"),
        pl.col("hcpcs_code").alias("CLM_LINE_HCPCS_CD"),
        pl.col("paid_amount").alias("CLM_LINE_CVRD_PD_AMT"),
        "CLM_ADJSMT_TYPE_CD",
        "CLM_EFCTV_DT",
        (pl.col("CLM_EFCTV_DT") + pl.duration(days=1)).alias("CLM_IDR_LD_DT"),
        control.alias("CLM_CNTL_NUM"),
        pl.col("allowed_amount").alias("CLM_LINE_ALOWD_CHRG_AMT"),
    ]
    dme = pl.col("service_category") == "durable medical equipment"
    cclf5 = versions.filter(~dme).select(
        *common,
        pl.lit("71").alias("CLM_TYPE_CD"),
        pl.col("diagnosis_code_1").alias("CLM_LINE_DGNS_CD"),
        pl.col("rendering_npi").alias("RNDRG_PRVDR_NPI_NUM"),
        pl.col("rendering_npi").alias("CLM_RNDRG_PRVDR_NPI_NUM"),
        pl.col("service_unit_quantity").alias("CLM_LINE_SRVC_UNIT_QTY"),
        pl.lit("0").alias("DGNS_PRCDR_ICD_IND"),
        *[pl.col(f"diagnosis_code_{i}").alias(f"CLM_DGNS_{i}_CD") for i in range(1, 13)],
    )
    deliveries.add(cclf5, "CCLF5", "CLM_EFCTV_DT")
    cclf6 = versions.filter(dme).select(
        *common,
        pl.lit("82").alias("CLM_TYPE_CD"),
        pl.col("billing_npi").alias("PAYTO_PRVDR_NPI_NUM"),
        pl.col("billing_npi").alias("CLM_BLG_PRVDR_NPI_NUM"),
    )
    deliveries.add(cclf6, "CCLF6", "CLM_EFCTV_DT")
    return Written(next_id, adjusted=int(plan.adjusted.sum()), cancelled=int(plan.phantom.sum()))
