"""Demographic building blocks: age as of February 1 of the payment year."""

from __future__ import annotations

import datetime as dt

import polars as pl

from risk_stratification.hcc.demographics import age_as_of_february_1


def test_age_is_as_of_february_first_of_the_payment_year():
    births = pl.DataFrame({"b": [dt.date(1961, 2, 1), dt.date(1961, 2, 2), dt.date(1960, 12, 31)]})
    ages = births.select(age_as_of_february_1(pl.col("b"), 2026).alias("age"))["age"].to_list()
    assert ages == [65, 64, 65]
