"""Part A claims: headers (CCLF1), revenue-center lines (CCLF2), procedures (CCLF3) and
diagnoses (CCLF4), one set per claim version.

Institutional claims are written with a CMS certification number per billing provider, the
claim type of their type of bill (inpatient 60, swing-bed SNF 30, SNF 20, home health 10,
hospice 50, other outpatient 40), the header payment the sum of the version's line payments,
and the principal diagnosis first among the CCLF4 diagnoses (``CLM_PROD_TYPE_CD`` P, then D).
A phantom claim is billed under another provider (``999999``) and then cancelled.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from modeling.core.service_categories import bill_type, bill_type_prefix
from modeling.schema import DIAGNOSIS_COLUMNS, PROCEDURE_COLUMNS
from modeling.synth.cclf_writer.beneficiaries import MbiHistory
from modeling.synth.cclf_writer.deliveries import Deliveries
from modeling.synth.cclf_writer.versions import (
    FIRST_NEW_ID,
    Written,
    claim_versions,
    draw_plan,
    effective_date,
)


def write_part_a(
    medical: pl.DataFrame,
    rng: np.random.Generator,
    mbi: MbiHistory,
    deliveries: Deliveries,
    *,
    adjust_share: float,
    cancel_share: float,
) -> Written:
    """Every version of the institutional claims in ``medical`` (billed as Medicare does) into
    CCLF1-4; the first new claim ids are ``FIRST_NEW_ID`` on."""
    inst = medical.filter(pl.col("claim_type") == "institutional")
    ccn = (
        inst.select(pl.col("billing_npi").unique().sort())
        .with_row_index("_rank")
        .select(
            "billing_npi",
            (pl.col("_rank").cast(pl.Int64) + 100_000).cast(pl.String).str.zfill(6).alias("ccn"),
        )
    )
    heads = (
        inst.group_by("claim_id", maintain_order=True)
        .agg(pl.all().first())
        .join(ccn, on="billing_npi", how="left")
        .with_columns(effective_date())
        .sort("claim_id")
    )
    plan = draw_plan(rng, heads.height, adjust_share=adjust_share, cancel_share=cancel_share)
    head_versions, next_id = claim_versions(
        heads.select("claim_id", "_effective"),
        heads.drop("_effective"),
        plan,
        amount_cols=[],
        next_id=FIRST_NEW_ID,
    )
    line_versions, _ = claim_versions(
        heads.select("claim_id", "_effective"),
        inst,
        plan,
        amount_cols=["paid_amount"],
        next_id=FIRST_NEW_ID,
    )
    version_paid = line_versions.group_by("CUR_CLM_UNIQ_ID").agg(
        pl.col("paid_amount").sum().round(2).alias("CLM_PMT_AMT")
    )
    head_versions = head_versions.join(version_paid, on="CUR_CLM_UNIQ_ID", how="left")
    head_versions = mbi.at(head_versions, "CLM_EFCTV_DT")
    type_code = _claim_type_code()
    bt = bill_type()
    provider = pl.when(pl.col("_phantom")).then(pl.lit("999999")).otherwise(pl.col("ccn"))
    cclf1 = head_versions.select(
        "CUR_CLM_UNIQ_ID",
        provider.alias("PRVDR_OSCAR_NUM"),
        "BENE_MBI_ID",
        type_code.alias("CLM_TYPE_CD"),
        pl.col("claim_start_date").alias("CLM_FROM_DT"),
        pl.col("claim_end_date").alias("CLM_THRU_DT"),
        bt.str.slice(0, 1).alias("CLM_BILL_FAC_TYPE_CD"),
        bt.str.slice(1, 1).alias("CLM_BILL_CLSFCTN_CD"),
        bt.str.slice(2, 1).alias("CLM_BILL_FREQ_CD"),
        pl.col("diagnosis_code_1").alias("PRNCPL_DGNS_CD"),
        "CLM_PMT_AMT",
        pl.col("discharge_disposition_code").alias("BENE_PTNT_STUS_CD"),
        pl.col("drg_code").alias("DGNS_DRG_CD"),
        pl.col("facility_npi").alias("FAC_PRVDR_NPI_NUM"),
        pl.col("rendering_npi").alias("ATNDG_PRVDR_NPI_NUM"),
        "CLM_ADJSMT_TYPE_CD",
        "CLM_EFCTV_DT",
        (pl.col("CLM_EFCTV_DT") + pl.duration(days=1)).alias("CLM_IDR_LD_DT"),
        pl.col("admit_type_code").alias("CLM_ADMSN_TYPE_CD"),
        pl.col("admit_source_code").alias("CLM_ADMSN_SRC_CD"),
        pl.lit("0").alias("DGNS_PRCDR_ICD_IND"),
        provider.alias("CLM_BLG_PRVDR_OSCAR_NUM"),
        pl.col("billing_npi").alias("CLM_BLG_PRVDR_NPI_NUM"),
        pl.col("claim_id").alias("CLM_CNTL_NUM"),
    )
    deliveries.add(cclf1, "CCLF1", "CLM_EFCTV_DT")
    version_keys = head_versions.select(
        "claim_id",
        "CUR_CLM_UNIQ_ID",
        "BENE_MBI_ID",
        "CLM_EFCTV_DT",
        type_code.alias("CLM_TYPE_CD"),
        provider.alias("_provider"),
    )
    lines = line_versions.drop("BENE_MBI_ID", strict=False).join(
        version_keys.select("CUR_CLM_UNIQ_ID", "BENE_MBI_ID", "CLM_TYPE_CD", "_provider"),
        on="CUR_CLM_UNIQ_ID",
        how="left",
    )
    cclf2 = lines.select(
        "CUR_CLM_UNIQ_ID",
        pl.col("claim_line_number").alias("CLM_LINE_NUM"),
        "BENE_MBI_ID",
        "CLM_TYPE_CD",
        pl.col("claim_line_start_date").alias("CLM_LINE_FROM_DT"),
        pl.col("claim_line_end_date").alias("CLM_LINE_THRU_DT"),
        pl.col("revenue_center_code").alias("CLM_LINE_PROD_REV_CTR_CD"),
        pl.col("claim_line_start_date").alias("CLM_LINE_INSTNL_REV_CTR_DT"),
        pl.col("hcpcs_code").alias("CLM_LINE_HCPCS_CD"),
        pl.col("_provider").alias("PRVDR_OSCAR_NUM"),
        pl.col("claim_start_date").alias("CLM_FROM_DT"),
        pl.col("claim_end_date").alias("CLM_THRU_DT"),
        pl.col("service_unit_quantity").alias("CLM_LINE_SRVC_UNIT_QTY"),
        pl.col("paid_amount").alias("CLM_LINE_CVRD_PD_AMT"),
        pl.col("_provider").alias("CLM_FAC_PRVDR_OSCAR_NUM"),
        "CLM_EFCTV_DT",
    )
    deliveries.add(cclf2, "CCLF2", "CLM_EFCTV_DT")
    codes_by_version = head_versions.select(
        "CUR_CLM_UNIQ_ID",
        "BENE_MBI_ID",
        type_code.alias("CLM_TYPE_CD"),
        provider.alias("PRVDR_OSCAR_NUM"),
        pl.col("claim_start_date").alias("CLM_FROM_DT"),
        pl.col("claim_end_date").alias("CLM_THRU_DT"),
        "CLM_EFCTV_DT",
        pl.concat_list(DIAGNOSIS_COLUMNS).list.drop_nulls().alias("_dx"),
        pl.concat_list(PROCEDURE_COLUMNS).list.drop_nulls().alias("_px"),
    )
    dx = (
        codes_by_version.explode("_dx")
        .filter(pl.col("_dx").is_not_null())
        .with_columns(
            pl.int_range(1, pl.len() + 1).over("CUR_CLM_UNIQ_ID").alias("CLM_VAL_SQNC_NUM")
        )
    )
    cclf4 = dx.select(
        "CUR_CLM_UNIQ_ID",
        "BENE_MBI_ID",
        "CLM_TYPE_CD",
        pl.when(pl.col("CLM_VAL_SQNC_NUM") == 1)
        .then(pl.lit("P"))
        .otherwise(pl.lit("D"))
        .alias("CLM_PROD_TYPE_CD"),
        "CLM_VAL_SQNC_NUM",
        pl.col("_dx").alias("CLM_DGNS_CD"),
        "PRVDR_OSCAR_NUM",
        "CLM_FROM_DT",
        "CLM_THRU_DT",
        pl.lit("0").alias("DGNS_PRCDR_ICD_IND"),
        pl.col("PRVDR_OSCAR_NUM").alias("CLM_BLG_PRVDR_OSCAR_NUM"),
        "CLM_EFCTV_DT",
    )
    deliveries.add(cclf4, "CCLF4", "CLM_EFCTV_DT")
    px = (
        codes_by_version.explode("_px")
        .filter(pl.col("_px").is_not_null())
        .with_columns(
            pl.int_range(1, pl.len() + 1).over("CUR_CLM_UNIQ_ID").alias("CLM_VAL_SQNC_NUM")
        )
    )
    cclf3 = px.select(
        "CUR_CLM_UNIQ_ID",
        "BENE_MBI_ID",
        "CLM_TYPE_CD",
        "CLM_VAL_SQNC_NUM",
        pl.col("_px").alias("CLM_PRCDR_CD"),
        pl.col("CLM_FROM_DT").alias("CLM_PRCDR_PRFRM_DT"),
        "PRVDR_OSCAR_NUM",
        "CLM_FROM_DT",
        "CLM_THRU_DT",
        pl.lit("0").alias("DGNS_PRCDR_ICD_IND"),
        pl.col("PRVDR_OSCAR_NUM").alias("CLM_BLG_PRVDR_OSCAR_NUM"),
        "CLM_EFCTV_DT",
    )
    deliveries.add(cclf3, "CCLF3", "CLM_EFCTV_DT")
    return Written(next_id, adjusted=int(plan.adjusted.sum()), cancelled=int(plan.phantom.sum()))


def _claim_type_code() -> pl.Expr:
    bt = bill_type_prefix()
    return (
        pl.when(bt == "11")
        .then(pl.lit("60"))
        .when(bt.is_in(["18"]))
        .then(pl.lit("30"))
        .when(bt.is_in(["21", "22", "23"]))
        .then(pl.lit("20"))
        .when(bt.is_in(["32", "33", "34"]))
        .then(pl.lit("10"))
        .when(bt.is_in(["81", "82"]))
        .then(pl.lit("50"))
        .otherwise(pl.lit("40"))
    )
