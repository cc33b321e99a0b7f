from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from modeling.ingest.validate import validate
from modeling.schema import ELIGIBILITY, MEDICAL_CLAIM, PHARMACY_CLAIM


def eligibility(**overrides) -> dict:
    row = dict(
        person_id="P1",
        member_id="M1",
        payer="medicare",
        payer_type="medicare",
        plan="ffs",
        gender="female",
        race="white",
        birth_date=dt.date(1950, 3, 1),
        death_date=None,
        enrollment_start_date=dt.date(2023, 1, 1),
        enrollment_end_date=dt.date(2023, 12, 31),
        original_reason_entitlement_code="0",
        dual_status_code="NA",
        medicare_status_code="10",
        data_source="test",
    )
    row.update(overrides)
    return row


def claim(**overrides) -> dict:
    row = {c: None for c in MEDICAL_CLAIM.names}
    row.update(
        claim_id="C1",
        claim_line_number=1,
        claim_type="professional",
        person_id="P1",
        payer="medicare",
        claim_start_date=dt.date(2023, 5, 1),
        claim_end_date=dt.date(2023, 5, 1),
        paid_amount=80.0,
        hcpcs_code="99213",
        diagnosis_code_1="E119",
    )
    row.update(overrides)
    return row


def frame(rows: list[dict], schema) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=schema.polars_schema)


def test_each_check_quarantines_with_its_reason():
    rows = [
        claim(claim_id="ok"),
        claim(claim_id="bad_dx", diagnosis_code_2="123.4"),
        claim(claim_id="bad_hcpcs", hcpcs_code="9921"),
        claim(claim_id="span", claim_end_date=dt.date(2023, 4, 1)),
        claim(claim_id="nan", paid_amount=float("nan")),
        claim(claim_id="who", person_id="nobody"),
        claim(claim_id="type", claim_type="dental"),
        claim(claim_id="ok"),  # duplicate key of the first row
        claim(claim_id="missing", payer=None),
        claim(
            claim_id="old", claim_start_date=dt.date(1850, 1, 1), claim_end_date=dt.date(1850, 1, 2)
        ),
    ]
    result = validate(frame(rows, MEDICAL_CLAIM), MEDICAL_CLAIM, eligible_ids=pl.Series(["P1"]))
    assert result.rows_in == 10
    assert result.rows_accepted == 1
    assert result.rows_quarantined == 9
    reasons = dict(zip(result.quarantined["claim_id"], result.quarantined["_reasons"], strict=True))
    assert reasons["bad_dx"].startswith("malformed_icd10: diagnosis_code_2 '123.4'")
    assert reasons["bad_hcpcs"].startswith("malformed_hcpcs")
    assert (
        "end_before_start: claim_end_date 2023-04-01 is before claim_start_date 2023-05-01"
        in reasons["span"]
    )
    assert reasons["nan"].startswith("non_finite_amount")
    assert reasons["who"] == "no_eligibility: person_id 'nobody' has no eligibility"
    assert reasons["type"].startswith("invalid_value: claim_type 'dental'")
    assert reasons["ok"].startswith("duplicate_key")
    assert reasons["missing"] == "missing_required: payer is required but empty"
    assert reasons["old"].startswith("implausible_date")
    assert result.check_counts["malformed_icd10"] == 1
    assert result.check_counts["duplicate_key"] == 1
    assert result.quarantined["_source_row"].to_list() == [2, 3, 4, 5, 6, 7, 8, 9, 10]


def test_several_reasons_are_all_reported():
    result = validate(
        frame([claim(diagnosis_code_1="??", paid_amount=float("inf"))], MEDICAL_CLAIM),
        MEDICAL_CLAIM,
    )
    reasons = result.quarantined["_reasons"].item()
    assert "malformed_icd10" in reasons and "non_finite_amount" in reasons


def test_eligibility_span_and_codes():
    rows = [
        eligibility(),
        eligibility(person_id="P2", enrollment_end_date=dt.date(2022, 12, 31)),
        eligibility(person_id="P3", gender="x"),
        eligibility(person_id="P4", dual_status_code="7"),
    ]
    result = validate(frame(rows, ELIGIBILITY), ELIGIBILITY)
    assert result.rows_accepted == 1
    assert result.check_counts["end_before_start"] == 1
    assert result.check_counts["invalid_value"] == 2


def test_ndc_must_be_eleven_digits():
    base = {c: None for c in PHARMACY_CLAIM.names}
    base.update(
        claim_id="R1",
        claim_line_number=1,
        person_id="P1",
        payer="part d",
        dispensing_date=dt.date(2023, 1, 5),
        paid_amount=10.0,
    )
    rows = [dict(base, ndc_code="00093721401"), dict(base, claim_id="R2", ndc_code="0093-7214")]
    result = validate(frame(rows, PHARMACY_CLAIM), PHARMACY_CLAIM)
    assert result.rows_accepted == 1
    assert result.quarantined["_reasons"].item().startswith("malformed_ndc")


codes = st.sampled_from(["E119", "I5022", "Z0000", "123", "E11.9", "", "J449", "ZZZ9"])
amounts = st.sampled_from([0.0, 12.5, -40.0, float("nan"), float("inf")])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(codes, amounts, st.booleans()), min_size=1, max_size=40))
def test_rows_in_equal_accepted_plus_quarantined(spec):
    rows = [
        claim(
            claim_id=f"C{i}",
            diagnosis_code_1=dx or None,
            paid_amount=amount,
            person_id="P1" if known else "P9",
        )
        for i, (dx, amount, known) in enumerate(spec)
    ]
    result = validate(frame(rows, MEDICAL_CLAIM), MEDICAL_CLAIM, eligible_ids=pl.Series(["P1"]))
    assert result.rows_in == len(rows) == result.rows_accepted + result.rows_quarantined
    expected_bad = sum(
        1
        for dx, amount, known in spec
        if (dx not in ("E119", "I5022", "Z0000", "J449", ""))
        or amount != amount
        or amount in (float("inf"),)
        or not known
    )
    assert result.rows_quarantined == expected_bad
    assert set(result.accepted["claim_id"]).isdisjoint(result.quarantined["claim_id"])
