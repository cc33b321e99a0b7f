from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from modeling.core.encounters import (
    ed_visits,
    home_health_episodes,
    inpatient_stays,
    joint_replacements,
    snf_stays,
)
from modeling.core.member_months import member_months, person_years
from modeling.core.service_categories import with_service_category
from modeling.schema import ELIGIBILITY, MEDICAL_CLAIM

D = dt.date


def elig(rows):
    base = {c: None for c in ELIGIBILITY.names}
    return pl.LazyFrame(
        [
            dict(
                base,
                payer="medicare",
                payer_type="medicare",
                plan="ffs",
                gender="female",
                birth_date=D(1950, 1, 1),
                **r,
            )
            for r in rows
        ],
        schema=ELIGIBILITY.polars_schema,
    )


def claims(rows):
    base = {c: None for c in MEDICAL_CLAIM.names}
    out = []
    for i, r in enumerate(rows):
        row = dict(
            base,
            claim_id=f"C{i}",
            claim_line_number=1,
            person_id="P1",
            payer="medicare",
            paid_amount=100.0,
        )
        row.update(r)
        out.append(row)
    return pl.LazyFrame(out, schema=MEDICAL_CLAIM.polars_schema)


def test_member_months_count_each_touched_month_once():
    e = elig(
        [
            dict(
                person_id="A",
                enrollment_start_date=D(2023, 1, 15),
                enrollment_end_date=D(2023, 3, 2),
                medicare_status_code="10",
                dual_status_code="NA",
            ),
            dict(
                person_id="A",
                enrollment_start_date=D(2023, 3, 10),
                enrollment_end_date=D(2023, 4, 30),
                medicare_status_code="10",
                dual_status_code="NA",
            ),
            dict(
                person_id="B",
                enrollment_start_date=D(2023, 12, 1),
                enrollment_end_date=D(2024, 2, 29),
                medicare_status_code="20",
                dual_status_code="02",
            ),
        ]
    )
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
        "acute inpatient",
        "skilled nursing facility",
        "home health",
        "hospice",
        "outpatient hospital",
        "emergency department",
        "ambulance",
        "durable medical equipment",
        "office/professional",
        "office/professional",
        "other",
    ]


def test_ed_revenue_line_makes_the_whole_outpatient_claim_ed():
    rows = [
        dict(
            claim_id="X",
            claim_line_number=1,
            claim_type="institutional",
            bill_type_code="131",
            revenue_center_code="0450",
            claim_start_date=D(2023, 1, 1),
        ),
        dict(
            claim_id="X",
            claim_line_number=2,
            claim_type="institutional",
            bill_type_code="131",
            revenue_center_code="0300",
            claim_start_date=D(2023, 1, 1),
        ),
    ]
    out = with_service_category(claims(rows)).collect()
    assert out["service_category"].to_list() == ["emergency department"] * 2
    assert ed_visits(claims(rows)).collect().height == 1


def stay(admit, discharge, disposition="01", **kw):
    return dict(
        claim_type="institutional",
        bill_type_code="111",
        admission_date=admit,
        discharge_date=discharge,
        claim_start_date=admit,
        claim_end_date=discharge,
        discharge_disposition_code=disposition,
        **kw,
    )


def test_stays_merge_transfers_and_flag_readmissions():
    rows = [
        stay(D(2023, 1, 1), D(2023, 1, 5), "02"),  # transfer...
        stay(D(2023, 1, 5), D(2023, 1, 9), "01"),  # ...continues the same stay
        stay(
            D(2023, 2, 1), D(2023, 2, 4), "01"
        ),  # 23 days after discharge: a readmission of the first stay
        stay(D(2023, 3, 10), D(2023, 3, 12), "07"),  # left against advice: not an index stay
        stay(
            D(2023, 3, 20), D(2023, 3, 22), "01", admit_type_code="3"
        ),  # planned: not a readmission
        stay(
            D(2023, 9, 1), D(2023, 9, 1), "20"
        ),  # died: not an index stay; same-day stay counts one day
    ]
    s = inpatient_stays(claims(rows), data_end=pl.lit(D(2023, 12, 31))).collect()
    assert s.height == 5
    assert s["length_of_stay"].to_list() == [8, 3, 2, 2, 1]
    assert s["readmitted_30d"].to_list() == [True, False, False, False, False]
    assert s["is_index"].to_list() == [True, True, False, True, False]


def test_an_irf_bill_is_not_part_of_the_acute_stay():
    """An inpatient rehabilitation bill (11x with a revenue center 0024 line) begun on the day
    of discharge is post-acute care: the acute stay keeps its own dates, MS-DRG and discharge
    status, and the IRF bill is no stay of its own."""
    rows = [
        stay(D(2023, 4, 1), D(2023, 4, 6), "62", drg_code="481", revenue_center_code="0120"),
        stay(D(2023, 4, 6), D(2023, 4, 18), "01", revenue_center_code="0024"),
    ]
    s = inpatient_stays(claims(rows), data_end=pl.lit(D(2023, 12, 31))).collect()
    assert s.height == 1
    assert s.row(0, named=True)["discharge_date"] == D(2023, 4, 6)
    assert s["drg_code"].to_list() == ["481"] and s["discharge_disposition_code"].to_list() == [
        "62"
    ]
    assert s["claim_ids"].to_list() == [["C0"]]
    # without the 0024 line the same bill continues the stay (interim bill or transfer)
    rows[1]["revenue_center_code"] = "0120"
    merged = inpatient_stays(claims(rows), data_end=pl.lit(D(2023, 12, 31))).collect()
    assert merged.height == 1 and merged["discharge_date"].to_list() == [D(2023, 4, 18)]


def test_index_requires_30_days_of_follow_up():
    s = inpatient_stays(
        claims([stay(D(2023, 12, 10), D(2023, 12, 12))]), data_end=pl.lit(D(2023, 12, 31))
    ).collect()
    assert s["is_index"].to_list() == [False]


def test_a_december_stay_discharged_in_january_is_no_index_stay_without_later_admissions():
    """The end of the observed data is the last admission that can be seen, not the last
    discharge: a stay admitted on 1 December and discharged on 3 January has no observed
    admission after its discharge, so it is no index stay, although another person's long stay
    admitted on 30 December runs to 10 February (the last discharge: its day minus 30 is after
    3 January). A stay discharged on 29 November, 31 days before the last admission, is one."""
    rows = [
        stay(D(2023, 11, 20), D(2023, 11, 29)),
        stay(D(2023, 12, 1), D(2024, 1, 3)),
        stay(D(2023, 12, 30), D(2024, 2, 10), person_id="P2"),
    ]
    s = inpatient_stays(claims(rows)).sort("person_id", "admission_date").collect()
    assert s["discharge_date"].to_list() == [D(2023, 11, 29), D(2024, 1, 3), D(2024, 2, 10)]
    assert s["is_index"].to_list() == [True, False, False]
    # the end given as the last observed admission is the same rule
    given_end = inpatient_stays(claims(rows), data_end=pl.lit(D(2023, 12, 30)))
    assert given_end.sort("person_id", "admission_date").collect()["is_index"].to_list() == [
        True,
        False,
        False,
    ]


def test_snf_home_health_and_joint_replacement_counts():
    rows = [
        dict(
            claim_type="institutional",
            bill_type_code="211",
            claim_start_date=D(2023, 1, 1),
            claim_end_date=D(2023, 1, 31),
        ),
        dict(
            claim_type="institutional",
            bill_type_code="211",
            claim_start_date=D(2023, 2, 1),
            claim_end_date=D(2023, 2, 10),
        ),
        dict(
            claim_type="institutional",
            bill_type_code="329",
            claim_start_date=D(2023, 3, 1),
            claim_end_date=D(2023, 3, 30),
        ),
        dict(
            claim_type="institutional",
            bill_type_code="329",
            claim_start_date=D(2023, 3, 31),
            claim_end_date=D(2023, 4, 29),
        ),
        dict(
            claim_type="institutional",
            bill_type_code="329",
            claim_start_date=D(2023, 8, 1),
            claim_end_date=D(2023, 8, 30),
        ),
        stay(D(2023, 5, 1), D(2023, 5, 3), drg_code="470"),
        dict(
            claim_type="institutional",
            bill_type_code="131",
            hcpcs_code="27447",
            claim_start_date=D(2023, 6, 1),
            claim_end_date=D(2023, 6, 1),
        ),
    ]
    assert snf_stays(claims(rows)).collect().height == 1
    assert home_health_episodes(claims(rows)).collect().height == 2
    assert joint_replacements(claims(rows)).collect().height == 2


def test_risk_adjustment_filter_and_person_diagnoses():
    from modeling.core.conditions import person_diagnoses, risk_adjustment_diagnoses

    rows = [
        # outpatient facility claim: one acceptable CPT line makes the whole claim count
        dict(
            claim_id="OP1",
            claim_line_number=1,
            claim_type="institutional",
            bill_type_code="131",
            hcpcs_code="99213",
            diagnosis_code_1="E1122",
        ),
        dict(
            claim_id="OP1",
            claim_line_number=2,
            claim_type="institutional",
            bill_type_code="131",
            hcpcs_code="80053",
            diagnosis_code_1="E1122",
            diagnosis_code_2="I5022",
        ),
        # outpatient facility claim with no acceptable line: does not count
        dict(
            claim_id="OP2",
            claim_line_number=1,
            claim_type="institutional",
            bill_type_code="0131",
            hcpcs_code="36415",
            diagnosis_code_1="J449",
        ),
        # inpatient: counts with no procedure code; dialysis facility (72x) never counts
        dict(
            claim_id="IP1",
            claim_line_number=1,
            claim_type="institutional",
            bill_type_code="111",
            diagnosis_code_1="N186",
        ),
        dict(
            claim_id="DI1",
            claim_line_number=1,
            claim_type="institutional",
            bill_type_code="721",
            hcpcs_code="99213",
            diagnosis_code_1="F329",
        ),
        # professional lines count one by one; an ambulance line does not
        dict(
            claim_id="PR1",
            claim_line_number=1,
            claim_type="professional",
            hcpcs_code="A0425",
            diagnosis_code_1="J449",
            diagnosis_code_2="C3490",
        ),
        dict(
            claim_id="PR2",
            claim_line_number=1,
            claim_type="professional",
            hcpcs_code="99213",
            diagnosis_code_1="C3490",
        ),
        # a professional claim sharing an id with OP2 does not make the facility claim count
        dict(
            claim_id="OP2",
            claim_line_number=9,
            claim_type="professional",
            hcpcs_code="99213",
            diagnosis_code_1="G20",
        ),
    ]
    lines = claims(
        [dict(r, claim_start_date=D(2024, 3, 1), claim_end_date=D(2024, 3, 1)) for r in rows]
    )
    ra = risk_adjustment_diagnoses(lines, 2024).collect()
    assert set(ra.select("claim_id", "diagnosis_code").iter_rows()) == {
        ("OP1", "E1122"),
        ("OP1", "I5022"),
        ("IP1", "N186"),
        ("PR2", "C3490"),
        ("OP2", "G20"),
    }
    per_person = dict(
        person_diagnoses(lines.collect(), 2024)
        .select("diagnosis_code", "risk_adjustment")
        .iter_rows()
    )
    assert per_person == {
        "E1122": True,
        "I5022": True,
        "N186": True,
        "C3490": True,
        "G20": True,
        "J449": False,
        "F329": False,
    }


def _enrollees_by_expanding(e: pl.LazyFrame, year: int) -> pl.DataFrame:
    return (
        member_months(e)
        .filter(pl.col("year") == year)
        .sort("person_id", "year_month")
        .group_by("person_id")
        .agg(
            pl.len().cast(pl.UInt32).alias("months"),
            pl.col("month").max().alias("last_month"),
            pl.col("birth_date").last(),
            pl.col("gender").last(),
            pl.col("original_reason_entitlement_code").last(),
            pl.col("dual_status_code").last(),
            pl.col("medicare_status_code").last(),
        )
        .filter(pl.col("last_month") == 12)
        .drop("last_month")
        .sort("person_id")
        .collect()
    )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from("ABC"),
            st.integers(0, 40),
            st.integers(0, 20),
            st.sampled_from(["NA", "02", "03"]),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_december_enrollees_equal_expanded_member_months(spans):
    from modeling.core.member_months import december_enrollees, years_enrolled

    start = D(2023, 1, 1)
    rows = []
    for person, offset, length, dual in spans:  # spans over 2023-2026, overlapping at random
        first = start + dt.timedelta(days=30 * offset + 7)
        rows.append(
            dict(
                person_id=person,
                enrollment_start_date=first,
                enrollment_end_date=first + dt.timedelta(days=30 * length + 3),
                medicare_status_code="10",
                dual_status_code=dual,
                original_reason_entitlement_code="0",
            )
        )
    e = elig(rows)
    assert years_enrolled(e) == sorted(
        member_months(e).select(pl.col("year").unique()).collect()["year"].to_list()
    )
    for year in (2023, 2024, 2025):
        got = december_enrollees(e, year).collect().sort("person_id")
        assert got.equals(_enrollees_by_expanding(e, year).select(got.columns))


def test_empty_columns_are_served_as_typed_nulls(tmp_path):
    from modeling.dataset import empty_columns, write_dataset
    from modeling.schema import PHARMACY_CLAIM

    rows = claims([dict(claim_start_date=D(2024, 1, 2), diagnosis_code_1="E119")]).collect()
    pharmacy = pl.DataFrame(schema=PHARMACY_CLAIM.polars_schema)
    ds = write_dataset(
        tmp_path / "d",
        {"medical_claim": rows, "pharmacy_claim": pharmacy, "eligibility": elig([]).collect()},
        {"kind": "test"},
    )
    path = ds.path / "medical_claim.parquet"
    empty = empty_columns(path)
    assert (
        "diagnosis_code_2" in empty and "diagnosis_code_1" not in empty and "claim_id" not in empty
    )
    scanned = ds.scan("medical_claim").collect()
    assert scanned.equals(pl.read_parquet(path)) and scanned.schema == pl.read_parquet(path).schema
    assert empty_columns(ds.path / "pharmacy_claim.parquet") == ()  # no rows: nothing to replace
