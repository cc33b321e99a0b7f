"""Institutional claims billed as Medicare bills them: one claim per CCLF natural key."""

from __future__ import annotations

import polars as pl

from modeling.codes import ED_REVENUE
from modeling.core.service_categories import bill_type_prefix
from modeling.schema import DIAGNOSIS_COLUMNS, PROCEDURE_COLUMNS


def bill_as_medicare(medical_claim: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """Merge institutional claims sharing billing provider, person and from/thru dates into one.

    Returns the claim lines (professional lines unchanged) and how many source claims were folded
    into another. The leading claim (inpatient first, then one with an emergency revenue center,
    then the lowest claim id) gives the header; its lines come first and all lines are renumbered.
    """
    inst = medical_claim.filter(pl.col("claim_type") == "institutional")
    other = medical_claim.filter(pl.col("claim_type") != "institutional")
    key = ["person_id", "billing_npi", "claim_start_date", "claim_end_date"]
    ed = pl.col("revenue_center_code").is_in(ED_REVENUE).fill_null(False).any().over("claim_id")
    priority = pl.when(bill_type_prefix() == "11").then(0).when(ed).then(1).otherwise(2)
    inst = inst.with_columns(priority.alias("_priority")).sort(
        [*key, "_priority", "claim_id", "claim_line_number"]
    )
    inst = inst.with_columns(
        pl.col("claim_id").first().over(key).alias("_lead"),
        pl.int_range(1, pl.len() + 1).over(key).cast(pl.Int32).alias("_line"),
    )
    merged = (
        inst.filter(pl.col("claim_id") != pl.col("_lead"))
        .select(pl.col("claim_id").n_unique())
        .item()
    )
    if merged == 0:
        return medical_claim, 0
    header_cols = [
        c
        for c in medical_claim.columns
        if c
        not in (
            "claim_id",
            "claim_line_number",
            "claim_line_start_date",
            "claim_line_end_date",
            "revenue_center_code",
            "service_unit_quantity",
            "hcpcs_code",
            "paid_amount",
            "allowed_amount",
            *DIAGNOSIS_COLUMNS,
            *PROCEDURE_COLUMNS,
        )
    ]
    dx = inst.group_by("_lead", maintain_order=True).agg(
        pl.concat_list(DIAGNOSIS_COLUMNS)
        .list.explode(keep_nulls=False, empty_as_null=False)
        .drop_nulls()
        .unique(maintain_order=True)
        .alias("_dx"),
        pl.concat_list(PROCEDURE_COLUMNS)
        .list.explode(keep_nulls=False, empty_as_null=False)
        .drop_nulls()
        .unique(maintain_order=True)
        .alias("_px"),
    )
    lead_header = (
        inst.filter(pl.col("claim_id") == pl.col("_lead"))
        .group_by("_lead", maintain_order=True)
        .agg([pl.col(c).first() for c in header_cols if c not in key])
    )
    lines = inst.select(
        *key,
        "_lead",
        "_line",
        "claim_line_start_date",
        "claim_line_end_date",
        "revenue_center_code",
        "service_unit_quantity",
        "hcpcs_code",
        "paid_amount",
        "allowed_amount",
    )
    rebuilt = (
        lines.join(lead_header, on="_lead", how="left")
        .join(dx, on="_lead", how="left")
        .with_columns(
            pl.col("_lead").alias("claim_id"),
            pl.col("_line").alias("claim_line_number"),
            *[
                pl.col("_dx").list.get(i, null_on_oob=True).alias(c)
                for i, c in enumerate(DIAGNOSIS_COLUMNS)
            ],
            *[
                pl.col("_px").list.get(i, null_on_oob=True).alias(c)
                for i, c in enumerate(PROCEDURE_COLUMNS)
            ],
        )
        .select(medical_claim.columns)
    )
    return pl.concat([rebuilt, other], how="vertical").sort("claim_id", "claim_line_number"), merged
