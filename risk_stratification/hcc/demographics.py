"""Demographic building blocks shared by the CMS-HCC and ESRD models: age as of February 1 of
the payment year, CMS's age cells, the new-enrollee age cells, and the sex, entitlement, dual
and status flags every segment is chosen from.

Dual status codes: full-benefit duals 02, 04, 08; partial-benefit 01, 03, 05, 06; any Medicaid
01-10; the new-enrollee Medicaid cells count 01-06 and 08.
"""

from __future__ import annotations

import polars as pl
from polars.expr.whenthen import ChainedThen, Then

from modeling.codes import FULL_DUAL, PARTIAL_DUAL

ANY_MEDICAID = ("01", "02", "03", "04", "05", "06", "07", "08", "09", "10")
NE_MEDICAID = ("01", "02", "03", "04", "05", "06", "08")
AGE_CELLS = (
    (34, "0_34"),
    (44, "35_44"),
    (54, "45_54"),
    (59, "55_59"),
    (64, "60_64"),
    (69, "65_69"),
    (74, "70_74"),
    (79, "75_79"),
    (84, "80_84"),
    (89, "85_89"),
    (94, "90_94"),
)


def age_as_of_february_1(birth_date: pl.Expr, payment_year: int) -> pl.Expr:
    """Completed years of age on February 1 of the payment year (CMS's age for the demographic cell)."""
    had_birthday = (birth_date.dt.month() < 2) | (
        (birth_date.dt.month() == 2) & (birth_date.dt.day() <= 1)
    )
    return (
        pl.lit(payment_year) - birth_date.dt.year() - pl.when(had_birthday).then(0).otherwise(1)
    ).cast(pl.Int32)


def age_cell(age: pl.Expr) -> pl.Expr:
    """CMS's age band of the demographic cells: 0_34, 35_44, ..., 90_94, 95_GT."""
    expr: Then | ChainedThen = pl.when(age <= AGE_CELLS[0][0]).then(pl.lit(AGE_CELLS[0][1]))
    for upper, label in AGE_CELLS[1:]:
        expr = expr.when(age <= upper).then(pl.lit(label))
    return expr.otherwise(pl.lit("95_GT"))


def new_enrollee_cell(age: pl.Expr, orec: pl.Expr) -> pl.Expr:
    """NE cells split ages 65-69 by single year; a 64-year-old whose entitlement is by age falls in 65."""
    return (
        pl.when(age <= 59)
        .then(age_cell(age))
        .when((age <= 63) | ((age == 64) & (orec != "0")))
        .then(pl.lit("60_64"))
        .when(age <= 65)
        .then(pl.lit("65"))
        .when(age <= 69)
        .then(age.cast(pl.String))
        .otherwise(age_cell(age))
    )


def common_flags(people: pl.DataFrame | pl.LazyFrame, payment_year: int) -> pl.LazyFrame:
    """Age (February 1 of the payment year), sex, OREC, dual and status flags shared by every model."""
    lf = people.lazy()
    names = lf.collect_schema().names()
    age = (
        pl.col("age").cast(pl.Int32)
        if "age" in names
        else age_as_of_february_1(pl.col("birth_date"), payment_year)
    )
    return (
        lf.with_columns(
            age.alias("age"),
            pl.col("orec").fill_null("0").alias("orec"),
            pl.col("dual_status_code").fill_null("NA").alias("dual_status_code"),
        )
        .with_columns(
            (pl.col("gender") == "female").alias("female"),
            ((pl.col("age") < 65) & (pl.col("orec") != "0")).alias("disabled"),
            (pl.col("age") < 65).alias("nonaged"),
            pl.col("dual_status_code").is_in(FULL_DUAL).alias("full_dual"),
            pl.col("dual_status_code").is_in(PARTIAL_DUAL).alias("partial_dual"),
            pl.col("dual_status_code").is_in(ANY_MEDICAID).alias("medicaid"),
            pl.col("new_enrollee").fill_null(False),
            pl.col("lti").fill_null(False),
            (pl.col("snp") if "snp" in names else pl.lit(False)).fill_null(False).alias("snp"),
        )
        .with_columns(
            ((pl.col("orec") == "1") & ~pl.col("disabled") & ~pl.col("nonaged")).alias(
                "originally_disabled"
            )
        )
    )
