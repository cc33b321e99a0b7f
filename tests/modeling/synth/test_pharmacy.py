from __future__ import annotations

import polars as pl


def test_fills_are_30_or_90_days_inside_enrollment_and_paid_at_85_percent(small_dataset):
    rx = small_dataset.read("pharmacy_claim")
    assert rx.height > 0
    assert set(rx["days_supply"].unique()) == {30, 90}
    assert rx["claim_id"].is_unique().all()
    spans = small_dataset.read("eligibility").select(
        "person_id", "enrollment_start_date", "enrollment_end_date"
    )
    inside = (
        rx.select("claim_id", "person_id", "dispensing_date")
        .join(spans, on="person_id")
        .group_by("claim_id")
        .agg(
            pl.col("dispensing_date")
            .is_between(pl.col("enrollment_start_date"), pl.col("enrollment_end_date"))
            .any()
        )
    )
    assert inside["dispensing_date"].all()
    # both rounded to cents from the unrounded allowed amount
    assert ((rx["paid_amount"] - rx["allowed_amount"] * 0.85).abs() < 0.01).all()
    # adjudicated at the point of sale, a few rebilled within 30 days (finance_patterns)
    lag = (rx["paid_date"] - rx["dispensing_date"]).dt.total_days()
    assert lag.is_between(0, 30).all()
    assert 0.94 < float(lag.eq(0).mean()) < 0.99
