"""Spend by person and year: medical paid by service category and pharmacy paid, summed exactly.

Spending is paid amount by year of service (``claim_start_date`` for medical lines,
``dispensing_date`` for fills).
"""

from __future__ import annotations

import polars as pl

from modeling.core.service_categories import PHARMACY, with_service_category


def money_sum(column: str | pl.Expr) -> pl.Expr:
    """The exact sum of a dollar column (or expression): each amount taken to the cent and added
    as integer cents, so the total does not depend on the order in which parallel workers add rows."""
    amount = pl.col(column) if isinstance(column, str) else column
    return (amount * 100).round().cast(pl.Int64).sum() / 100


def medical_spend(medical_claim: pl.LazyFrame) -> pl.LazyFrame:
    """Paid amount by person, year of service and service category (``paid_amount``), and of it
    the paid amount of services that start in July-December (``paid_second_half``: the ML
    features' recent cost), both exact sums."""
    second_half = pl.when(pl.col("claim_start_date").dt.month() >= 7).then(pl.col("paid_amount"))
    return (
        with_service_category(medical_claim)
        .group_by(
            "person_id", pl.col("claim_start_date").dt.year().alias("year"), "service_category"
        )
        .agg(
            money_sum("paid_amount").alias("paid_amount"),
            money_sum(second_half.fill_null(0.0)).alias("paid_second_half"),
        )
    )


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
