"""Member months from eligibility spans.

A person counts one member month for each calendar month that any of their enrollment spans
touches (the convention of the Tuva Project's member-months mart and of most PMPM reporting).
Overlapping spans for the same month count once. Each month carries the attributes of the span
that covers it: dual status, Medicare status, entitlement reason, and the Medicare enrollment
type used by the Shared Savings Program (ESRD, disabled, aged/dual, aged/non-dual).
"""

from __future__ import annotations

import polars as pl

from modeling.codes import DISABLED_MEDICARE_STATUS, ESRD_MEDICARE_STATUSES, FULL_OR_PARTIAL_DUAL
from modeling.validation import require_columns

ELIGIBILITY_SPAN_COLUMNS = (
    "person_id",
    "payer",
    "plan",
    "gender",
    "birth_date",
    "death_date",
    "original_reason_entitlement_code",
    "dual_status_code",
    "medicare_status_code",
    "enrollment_start_date",
    "enrollment_end_date",
)
ENROLLMENT_TYPES = ("esrd", "disabled", "aged_dual", "aged_non_dual")


def enrollment_type() -> pl.Expr:
    """MSSP enrollment type from Medicare status and dual status (42 CFR 425.601(a)(2))."""
    status = pl.col("medicare_status_code")
    dual = pl.col("dual_status_code").is_in(FULL_OR_PARTIAL_DUAL)
    return (
        pl.when(status.is_in(ESRD_MEDICARE_STATUSES))
        .then(pl.lit("esrd"))
        .when(status == DISABLED_MEDICARE_STATUS)
        .then(pl.lit("disabled"))
        .when(dual)
        .then(pl.lit("aged_dual"))
        .otherwise(pl.lit("aged_non_dual"))
    )


def member_months(eligibility: pl.LazyFrame) -> pl.LazyFrame:
    """One row per person and month enrolled: person_id, year_month (first of month), year, month, attributes."""
    require_columns(eligibility, ELIGIBILITY_SPAN_COLUMNS, where="member_months")
    spans = eligibility.select(
        "person_id",
        "payer",
        "plan",
        "gender",
        "birth_date",
        "death_date",
        "original_reason_entitlement_code",
        "dual_status_code",
        "medicare_status_code",
        pl.date_ranges(
            pl.col("enrollment_start_date").dt.month_start(),
            pl.col("enrollment_end_date").dt.month_start(),
            "1mo",
        ).alias("year_month"),
    )
    return (
        spans.explode("year_month")
        .unique(subset=["person_id", "year_month"], keep="first", maintain_order=True)
        .with_columns(
            pl.col("year_month").dt.year().alias("year"),
            pl.col("year_month").dt.month().alias("month"),
            enrollment_type().alias("enrollment_type"),
        )
    )


def years_enrolled(eligibility: pl.LazyFrame) -> list[int]:
    """The calendar years with member months (every year an enrollment span touches), sorted,
    read from the spans without expanding them into months."""
    years = eligibility.select(
        pl.int_ranges(
            pl.col("enrollment_start_date").dt.year(), pl.col("enrollment_end_date").dt.year() + 1
        ).alias("year")
    )
    return sorted(
        years.select(pl.col("year").explode().unique().drop_nulls()).collect()["year"].to_list()
    )


def person_years(member_months_lf: pl.LazyFrame, by: list[str] | None = None) -> pl.LazyFrame:
    """Members and person-years (member months / 12) by year and any other columns."""
    keys = ["year", *(by or [])]
    return (
        member_months_lf.group_by(keys)
        .agg(pl.col("person_id").n_unique().alias("members"), pl.len().alias("member_months"))
        .with_columns((pl.col("member_months") / 12).alias("person_years"))
        .sort(keys)
    )


def december_enrollees(eligibility: pl.LazyFrame, year: int) -> pl.LazyFrame:
    """The members enrolled in December of ``year``: person_id, months (member months in
    ``year``) and the attributes of their December (birth_date, gender,
    original_reason_entitlement_code, dual_status_code, medicare_status_code).

    The same figures as ``member_months`` filtered to the year, read from the spans without
    expanding them: each span's months within the year become a 12-bit mask, a person's masks
    are OR-ed (overlapping spans count a month once) and the bits counted; December's attributes
    are those of the first span in the table that covers it, as ``member_months`` keeps them.
    """
    require_columns(eligibility, ELIGIBILITY_SPAN_COLUMNS, where="december_enrollees")
    first, last = year * 12, year * 12 + 11

    def month_index(c):
        return pl.col(c).dt.year().cast(pl.Int32) * 12 + pl.col(c).dt.month().cast(pl.Int32) - 1  # noqa: E731

    spans = (
        eligibility.with_row_index("_order")
        .with_columns(
            month_index("enrollment_start_date").alias("_from"),
            month_index("enrollment_end_date").alias("_to"),
        )
        .filter((pl.col("_from") <= last) & (pl.col("_to") >= first))
        .with_columns(
            pl.max_horizontal("_from", pl.lit(first)).alias("_from"),
            pl.min_horizontal("_to", pl.lit(last)).alias("_to"),
        )
    )
    months = spans.group_by("person_id").agg(
        # bits from..to set: 2^(to+1) - 2^from, exact in floating point for 12 bits
        (pl.lit(2.0).pow(pl.col("_to") - first + 1) - pl.lit(2.0).pow(pl.col("_from") - first))
        .cast(pl.UInt16)
        .bitwise_or()
        .bitwise_count_ones()
        .cast(pl.UInt32)
        .alias("months")
    )
    december = (
        spans.filter(pl.col("_to") == last)
        .sort("_order")
        .unique("person_id", keep="first")
        .select(
            "person_id",
            "birth_date",
            "gender",
            "original_reason_entitlement_code",
            "dual_status_code",
            "medicare_status_code",
        )
    )
    return december.join(months, on="person_id", how="left").select(
        "person_id", "months", pl.exclude("person_id", "months")
    )
