from __future__ import annotations

import datetime as dt

import polars as pl

from modeling.encounters import (
    ed_visits,
    home_health_episodes,
    inpatient_stays,
    joint_replacements,
    snf_stays,
)
from modeling.member_months import member_months, person_years
from modeling.schema import ELIGIBILITY, MEDICAL_CLAIM
from modeling.service_categories import with_service_category

D = dt.date


def elig(rows):
    base = {c: None for c in ELIGIBILITY.names}
    return pl.LazyFrame([dict(base, payer="medicare", payer_type="medicare", plan="ffs", gender="female", birth_date=D(1950, 1, 1), **r) for r in rows], schema=ELIGIBILITY.polars_schema)


def claims(rows):
    base = {c: None for c in MEDICAL_CLAIM.names}
    out = []
    for i, r in enumerate(rows):
        row = dict(base, claim_id=f"C{i}", claim_line_number=1, person_id="P1", payer="medicare", paid_amount=100.0)
        row.update(r)
        out.append(row)
    return pl.LazyFrame(out, schema=MEDICAL_CLAIM.polars_schema)


def test_member_months_count_each_touched_month_once():
    e = elig([
        dict(person_id="A", enrollment_start_date=D(2023, 1, 15), enrollment_end_date=D(2023, 3, 2), medicare_status_code="10", dual_status_code="NA"),
        dict(person_id="A", enrollment_start_date=D(2023, 3, 10), enrollment_end_date=D(2023, 4, 30), medicare_status_code="10", dual_status_code="NA"),
        dict(person_id="B", enrollment_start_date=D(2023, 12, 1), enrollment_end_date=D(2024, 2, 29), medicare_status_code="20", dual_status_code="02"),
    ])
    mm = member_months(e).collect()
    assert mm.filter(pl.col("person_id") == "A")["month"].to_list() == [1, 2, 3, 4]
    assert mm.filter(pl.col("person_id") == "B")["year"].to_list() == [2023, 2024, 2024]
    assert set(mm.filter(pl.col("person_id") == "B")["enrollment_type"]) == {"disabled"}
    py = person_years(member_months(e)).collect()
    assert py.filter(pl.col("year") == 2023)["member_months"].item() == 5
    assert py.filter(pl.col("year") == 2024)["person_years"].item() == 2 / 12


def test_service_category_rules():
    rows = [
        dict(claim_type="institutional", bill_type_code="111"),
        dict(claim_type="institutional", bill_type_code="0211"),
        dict(claim_type="institutional", bill_type_code="329"),
        dict(claim_type="institutional", bill_type_code="812"),
        dict(claim_type="institutional", bill_type_code="131", revenue_center_code="0510"),
        dict(claim_type="institutional", bill_type_code="131", revenue_center_code="0450"),
        dict(claim_type="professional", hcpcs_code="A0427", place_of_service_code="41"),
        dict(claim_type="professional", hcpcs_code="E1390", place_of_service_code="12"),
        dict(claim_type="professional", hcpcs_code="99213", place_of_service_code="11"),
        dict(claim_type="institutional", bill_type_code="771"),
        dict(claim_type="institutional", bill_type_code="651"),
    ]
    got = with_service_category(claims(rows)).collect()["service_category"].to_list()
    assert got == [
        "acute inpatient", "skilled nursing facility", "home health", "hospice", "outpatient hospital", "emergency department",
        "ambulance", "durable medical equipment", "office/professional", "office/professional", "other",
    ]


def test_ed_revenue_line_makes_the_whole_outpatient_claim_ed():
    rows = [
        dict(claim_id="X", claim_line_number=1, claim_type="institutional", bill_type_code="131", revenue_center_code="0450", claim_start_date=D(2023, 1, 1)),
        dict(claim_id="X", claim_line_number=2, claim_type="institutional", bill_type_code="131", revenue_center_code="0300", claim_start_date=D(2023, 1, 1)),
    ]
    out = with_service_category(claims(rows)).collect()
    assert out["service_category"].to_list() == ["emergency department"] * 2
    assert ed_visits(claims(rows)).collect().height == 1


def stay(admit, discharge, disposition="01", **kw):
    return dict(claim_type="institutional", bill_type_code="111", admission_date=admit, discharge_date=discharge, claim_start_date=admit,
                claim_end_date=discharge, discharge_disposition_code=disposition, **kw)


def test_stays_merge_transfers_and_flag_readmissions():
    rows = [
        stay(D(2023, 1, 1), D(2023, 1, 5), "02"),  # transfer...
        stay(D(2023, 1, 5), D(2023, 1, 9), "01"),  # ...continues the same stay
        stay(D(2023, 2, 1), D(2023, 2, 4), "01"),  # 23 days after discharge: a readmission of the first stay
        stay(D(2023, 3, 10), D(2023, 3, 12), "07"),  # left against advice: not an index stay
        stay(D(2023, 3, 20), D(2023, 3, 22), "01", admit_type_code="3"),  # planned: not a readmission
        stay(D(2023, 9, 1), D(2023, 9, 1), "20"),  # died: not an index stay; same-day stay counts one day
    ]
    s = inpatient_stays(claims(rows), data_end=pl.lit(D(2023, 12, 31))).collect()
    assert s.height == 5
    assert s["length_of_stay"].to_list() == [8, 3, 2, 2, 1]
    assert s["readmitted_30d"].to_list() == [True, False, False, False, False]
    assert s["is_index"].to_list() == [True, True, False, True, False]


def test_index_requires_30_days_of_follow_up():
    s = inpatient_stays(claims([stay(D(2023, 12, 10), D(2023, 12, 12))]), data_end=pl.lit(D(2023, 12, 31))).collect()
    assert s["is_index"].to_list() == [False]


def test_snf_home_health_and_joint_replacement_counts():
    rows = [
        dict(claim_type="institutional", bill_type_code="211", claim_start_date=D(2023, 1, 1), claim_end_date=D(2023, 1, 31)),
        dict(claim_type="institutional", bill_type_code="211", claim_start_date=D(2023, 2, 1), claim_end_date=D(2023, 2, 10)),
        dict(claim_type="institutional", bill_type_code="329", claim_start_date=D(2023, 3, 1), claim_end_date=D(2023, 3, 30)),
        dict(claim_type="institutional", bill_type_code="329", claim_start_date=D(2023, 3, 31), claim_end_date=D(2023, 4, 29)),
        dict(claim_type="institutional", bill_type_code="329", claim_start_date=D(2023, 8, 1), claim_end_date=D(2023, 8, 30)),
        stay(D(2023, 5, 1), D(2023, 5, 3), drg_code="470"),
        dict(claim_type="institutional", bill_type_code="131", hcpcs_code="27447", claim_start_date=D(2023, 6, 1), claim_end_date=D(2023, 6, 1)),
    ]
    assert snf_stays(claims(rows)).collect().height == 1
    assert home_health_episodes(claims(rows)).collect().height == 2
    assert joint_replacements(claims(rows)).collect().height == 2
