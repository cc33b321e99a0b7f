from __future__ import annotations

import polars as pl

from modeling.marts.pmpm import overview, pmpm_by_category


def test_pmpm_equals_paid_over_member_months(small_dataset):
    pmpm = pmpm_by_category(small_dataset)
    claims = small_dataset.read("medical_claim").filter(
        pl.col("claim_start_date").dt.year() == 2023
    )
    mm = pmpm.filter(pl.col("year") == 2023)["member_months"][0]
    assert (
        abs(
            pmpm.filter(pl.col("year") == 2023)["paid_amount"].sum()
            - claims["paid_amount"].sum()
            - small_dataset.read("pharmacy_claim")
            .filter(pl.col("dispensing_date").dt.year() == 2023)["paid_amount"]
            .sum()
        )
        < 1e-3
    )
    # member months counted independently: every calendar month touched by a span, once per person
    months = set()
    for person, start, end in (
        small_dataset.read("eligibility")
        .select("person_id", "enrollment_start_date", "enrollment_end_date")
        .iter_rows()
    ):
        y, m = start.year, start.month
        while (y, m) <= (end.year, end.month):
            if y == 2023:
                months.add((person, m))
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    assert mm == len(months)


def test_overview_has_every_year_and_rates(small_dataset):
    data = overview(small_dataset)
    s = data.summary
    assert s["year"].to_list() == [2023, 2024]
    for col in (
        "admissions_per_1000",
        "ed_visits_per_1000",
        "readmission_rate",
        "pmpm_medical",
        "pmpm_pharmacy",
    ):
        assert s[col].null_count() == 0
    assert (s["pmpm_medical"] > 0).all()
