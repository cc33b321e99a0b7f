"""Claim versions: originals, adjustments and cancellations across deliveries."""

from __future__ import annotations

import polars as pl
import pytest

from modeling.core.member_months import member_months
from modeling.ingest.cclf import ingest_cclf
from tests.modeling.ingest.cclf.builders import NEW


def test_original_adjustment_and_cancellation_across_two_files(two_deliveries, tmp_path):
    report = ingest_cclf(two_deliveries, tmp_path / "ds")
    ds = report.dataset
    medical = ds.read("medical_claim")
    institutional = medical.filter(pl.col("claim_type") == "institutional")
    # claim 1: original $100 (old MBI) -> cancelled -> adjusted to $80 under the current MBI; claim 2 nets to nothing
    assert institutional["claim_id"].unique().to_list() == ["0000000000004"]
    assert institutional["paid_amount"].sum() == pytest.approx(80.0)
    assert sorted(institutional["paid_amount"].to_list()) == [
        0.0,
        80.0,
    ]  # header $80 vs lines $70: the $10 goes on line 1
    assert institutional["person_id"].unique().to_list() == [NEW]
    assert (
        institutional.row(0, named=True)["diagnosis_code_1"] == "E119"
        and institutional.row(0, named=True)["diagnosis_code_2"] == "I5022"
    )
    professional = medical.filter(pl.col("claim_type") == "professional")
    assert professional["paid_amount"].to_list() == [25.0] and professional[
        "claim_id"
    ].to_list() == ["CTL0001"]
    assert ds.read("pharmacy_claim").height == 0  # the fill was deleted
    counts = report.by_file_type().to_dicts()
    by_type = {r["file_type"]: r for r in counts}
    assert (
        by_type["CCLF1"]["loaded"],
        by_type["CCLF1"]["superseded"],
        by_type["CCLF1"]["cancelled"],
    ) == (1, 2, 2)
    assert (
        by_type["CCLF2"]["loaded"],
        by_type["CCLF2"]["superseded"],
        by_type["CCLF2"]["cancelled"],
    ) == (2, 2, 1)
    assert (by_type["CCLF5"]["loaded"], by_type["CCLF5"]["superseded"]) == (1, 1)
    assert by_type["CCLF7"]["cancelled"] == 2
    assert report.reconciled and all(r["reconciles"] for r in counts)
    # CCLF8: the old and new MBI are one beneficiary enrolled January and February, dual from February
    months = (
        member_months(ds.scan("eligibility"))
        .collect()
        .filter(pl.col("person_id") == NEW)
        .sort("year_month")
    )
    assert months["month"].to_list() == [1, 2] and months["dual_status_code"].to_list() == [
        "NA",
        "02",
    ]
    assert ds.read("eligibility")["person_id"].n_unique() == 2
