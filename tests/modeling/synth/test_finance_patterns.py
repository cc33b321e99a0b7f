"""Calibration checks of what finance needs from the synthetic population (sources in
``modeling/data/synth_finance.csv`` and the README's calibration section)."""

from __future__ import annotations

import polars as pl

from modeling.core.service_categories import with_service_category
from modeling.synth.finance_patterns import finance_params, slowdown_months


def _lag_completion(claims: pl.DataFrame, start: str) -> pl.DataFrame:
    lag = (pl.col("paid_date").dt.year() * 12 + pl.col("paid_date").dt.month()) - (
        pl.col(start).dt.year() * 12 + pl.col(start).dt.month()
    )
    return claims.with_columns(lag.alias("lag"))


def test_paid_dates_by_claim_type(three_year_dataset):
    mc = three_year_dataset.read("medical_claim")
    assert (mc["paid_date"] >= mc["claim_end_date"]).all()
    # the 14-day payment floor (Social Security Act 1816(c)(3)(B), 1842(c)(3)(B))
    assert ((mc["paid_date"] - mc["claim_end_date"]).dt.total_days() >= 14).all()
    # one paid date per claim
    assert mc.group_by("claim_id").agg(pl.col("paid_date").n_unique())["paid_date"].max() == 1
    lines = with_service_category(mc.lazy()).collect()
    c = _lag_completion(lines, "claim_start_date")
    share = c.group_by("service_category").agg(
        (
            pl.col("paid_amount").filter(pl.col("lag") <= 0).sum() / pl.col("paid_amount").sum()
        ).alias("lag0"),
        (
            pl.col("paid_amount").filter(pl.col("lag") <= 3).sum() / pl.col("paid_amount").sum()
        ).alias("lag3"),
    )
    s = {r["service_category"]: r for r in share.iter_rows(named=True)}
    # inpatient and SNF pay slowest; professional claims fastest
    assert (
        s["skilled nursing facility"]["lag0"]
        < s["acute inpatient"]["lag0"]
        < s["office/professional"]["lag0"]
    )
    assert s["office/professional"]["lag3"] > 0.97
    assert s["skilled nursing facility"]["lag3"] < s["office/professional"]["lag3"]


def test_pharmacy_completes_almost_at_once(three_year_dataset):
    rx = _lag_completion(three_year_dataset.read("pharmacy_claim"), "dispensing_date")
    lag0 = rx.filter(pl.col("lag") == 0)["paid_amount"].sum() / rx["paid_amount"].sum()
    assert lag0 > 0.95


def test_winter_respiratory_admissions(three_year_dataset):
    mc = three_year_dataset.read("medical_claim")
    winter = mc.filter(
        pl.col("claim_id").str.starts_with("W") & (pl.col("bill_type_code") == "111")
    )
    assert winter.height > 0
    assert set(winter["drg_code"]) <= {"193", "194"}
    by_month = winter.group_by(pl.col("claim_start_date").dt.month().alias("m")).agg(
        pl.col("claim_id").n_unique()
    )
    counts = dict(zip(by_month["m"], by_month["claim_id"], strict=True))
    dec_feb = sum(counts.get(m, 0) for m in (12, 1, 2))
    jun_aug = sum(counts.get(m, 0) for m in (6, 7, 8))
    assert dec_feb > 4 * jun_aug
    # about respiratory_rate per person-year (a loose band: a small panel)
    person_years = three_year_dataset.read("eligibility").height  # spans ~ person-years here
    rate = winter["claim_id"].n_unique() / person_years
    assert (
        0.3 * finance_params()["respiratory_rate"] < rate < 3 * finance_params()["respiratory_rate"]
    )


def test_slowdown_months_are_the_same_for_every_chunk_and_rare():
    a, b = slowdown_months(5, 2023, 3), slowdown_months(5, 2023, 3)
    assert (a == b).all()
    assert len(slowdown_months(20240601, 2023, 10)) < 0.2 * 12 * 12
