"""Spend by person and year: medical paid by service category and pharmacy paid, summed exactly.

Spending is paid amount by year of service (``claim_start_date`` for medical lines,
``dispensing_date`` for fills).
"""

from __future__ import annotations

import polars as pl

from modeling.core.service_categories import (
    CODE_COLUMN,
    PHARMACY,
    category_name,
    with_service_category,
)

# the claim-line columns ``medical_spend`` reads of lines without their category
MEDICAL_SPEND_COLUMNS = (
    "person_id",
    "claim_id",
    "claim_type",
    "claim_start_date",
    "bill_type_code",
    "revenue_center_code",
    "hcpcs_code",
    "place_of_service_code",
    "paid_amount",
)


def money_sum(column: str | pl.Expr) -> pl.Expr:
    """The exact sum of a dollar column (or expression): each amount taken to the cent and added
    as integer cents, so the total does not depend on the order in which parallel workers add rows."""
    amount = pl.col(column) if isinstance(column, str) else column
    return (amount * 100).round().cast(pl.Int64).sum() / 100


def medical_spend(
    medical_claim: pl.LazyFrame, *, ed_claim_ids: pl.Series | None = None
) -> pl.LazyFrame:
    """Paid amount by person, year of service and service category (``paid_amount``), and of it
    the paid amount of services that start in July-December (``paid_second_half``: the ML
    features' recent cost), both exact sums. ``medical_claim``: lines with or without their
    ``service_category`` (``ed_claim_ids`` as for ``with_service_category``)."""
    second_half = pl.when(pl.col("claim_start_date").dt.month() >= 7).then(pl.col("paid_amount"))
    lines = with_service_category(medical_claim, ed_claim_ids=ed_claim_ids, coded=True)
    key = (
        "service_category" if "service_category" in lines.collect_schema().names() else CODE_COLUMN
    )
    spend = lines.group_by(
        "person_id", pl.col("claim_start_date").dt.year().alias("year"), key
    ).agg(
        money_sum("paid_amount").alias("paid_amount"),
        money_sum(second_half.fill_null(0.0)).alias("paid_second_half"),
    )
    if key == CODE_COLUMN:  # named once per group rather than once per line
        spend = spend.with_columns(category_name(pl.col(CODE_COLUMN)).alias("service_category"))
    return spend.select("person_id", "year", "service_category", "paid_amount", "paid_second_half")


def pharmacy_use(pharmacy_claim: pl.LazyFrame) -> pl.LazyFrame:
    """Fills by person and dispensing year: paid and allowed amounts (exact sums), the number of
    fills and of distinct NDCs (a missing NDC counts as one)."""
    return pharmacy_claim.group_by(
        "person_id", pl.col("dispensing_date").dt.year().cast(pl.Int32).alias("year")
    ).agg(
        money_sum("paid_amount").alias("paid_amount"),
        money_sum("allowed_amount").alias("allowed_amount"),
        pl.len().alias("fills"),
        pl.col("ndc_code").n_unique().alias("distinct_drugs"),
    )


def pharmacy_spend(pharmacy_claim: pl.LazyFrame) -> pl.LazyFrame:
    return (
        pharmacy_claim.group_by("person_id", pl.col("dispensing_date").dt.year().alias("year"))
        .agg(
            money_sum("paid_amount").alias("paid_amount"),
            money_sum("allowed_amount").alias("allowed_amount"),
        )
        .with_columns(pl.lit(PHARMACY).alias("service_category"))
    )
