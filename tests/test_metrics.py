from __future__ import annotations

import polars as pl

from modeling.metrics import overview, pmpm_by_category


def test_pmpm_equals_paid_over_member_months(small_dataset):
    pmpm = pmpm_by_category(small_dataset)
    claims = small_dataset.read("medical_claim").filter(pl.col("claim_start_date").dt.year() == 2023)
    mm = pmpm.filter(pl.col("year") == 2023)["member_months"][0]
    assert abs(pmpm.filter(pl.col("year") == 2023)["paid_amount"].sum() - claims["paid_amount"].sum() - small_dataset.read("pharmacy_claim").filter(pl.col("dispensing_date").dt.year() == 2023)["paid_amount"].sum()) < 1e-3
    assert mm == small_dataset.read("eligibility").height > 0 or mm > 0


def test_overview_has_every_year_and_rates(small_dataset):
    data = overview(small_dataset)
    s = data["summary"]
    assert s["year"].to_list() == [2023, 2024]
    for col in ("admissions_per_1000", "ed_visits_per_1000", "readmission_rate", "pmpm_medical", "pmpm_pharmacy"):
        assert s[col].null_count() == 0
    assert (s["pmpm_medical"] > 0).all()
