"""The core's ``inpatient_stay_codes``: hand-built stays and their claims' codes."""

from __future__ import annotations

import datetime as dt

import polars as pl

from modeling.core.encounters import inpatient_stays
from modeling.core.stay_codes import STAY_CODE_COLUMNS, inpatient_stay_codes
from modeling.schema import MEDICAL_CLAIM

D = dt.date


def _claims(rows: list[dict]) -> pl.LazyFrame:
    base = {c: None for c in MEDICAL_CLAIM.names}
    out = []
    for r in rows:
        row = dict(
            base,
            claim_line_number=1,
            person_id="P1",
            payer="medicare",
            paid_amount=100.0,
            claim_type="institutional",
            bill_type_code="111",
            claim_start_date=r["admission_date"],
            claim_end_date=r["discharge_date"],
            discharge_disposition_code="01",
        )
        row.update(r)
        out.append(row)
    return pl.LazyFrame(out, schema=MEDICAL_CLAIM.polars_schema)


def _codes(rows: list[dict]) -> pl.DataFrame:
    claims = _claims(rows)
    stays = inpatient_stays(claims, data_end=pl.lit(D(2023, 12, 31)))
    return inpatient_stay_codes(stays, claims).sort("person_id", "admission_date").collect()


def test_a_transfer_chain_is_one_stay_with_the_first_claims_admission_codes():
    rows = [
        # the second claim of the stay (later admission) carries another principal diagnosis
        dict(
            claim_id="B",
            admission_date=D(2023, 1, 5),
            discharge_date=D(2023, 1, 9),
            admit_source_code="4",
            diagnosis_code_1="I5023",
            diagnosis_code_2="E119",
            procedure_code_1="02703ZZ",
        ),
        dict(
            claim_id="A",
            admission_date=D(2023, 1, 1),
            discharge_date=D(2023, 1, 5),
            discharge_disposition_code="02",
            admit_source_code=None,
            diagnosis_code_1="J441",
            diagnosis_code_2="E119",
        ),
        # a line of claim A without codes: the first line's codes are the claim's
        dict(
            claim_id="A",
            claim_line_number=2,
            admission_date=D(2023, 1, 1),
            discharge_date=D(2023, 1, 5),
            admit_source_code="1",
        ),
        dict(
            claim_id="C",
            admission_date=D(2023, 3, 1),
            discharge_date=D(2023, 3, 3),
            admit_source_code="1",
            diagnosis_code_1="N390",
        ),
    ]
    out = _codes(rows)
    assert out.columns == list(STAY_CODE_COLUMNS)
    assert out.height == 2
    first, second = out.row(0, named=True), out.row(1, named=True)
    assert first["admission_date"] == D(2023, 1, 1)
    # the stay's first claim (A) admits it: A's first source on record, A's principal diagnosis
    assert first["admit_source_code"] == "1"
    assert first["principal_diagnosis"] == "J441"
    assert first["diagnosis_codes"] == ["E119", "I5023", "J441"]
    assert first["procedure_codes"] == ["02703ZZ"]
    assert second["principal_diagnosis"] == "N390"
    assert second["diagnosis_codes"] == ["N390"]
    assert second["procedure_codes"] == []


def test_other_peoples_and_non_stay_claims_never_lend_their_codes():
    rows = [
        dict(
            claim_id="A",
            admission_date=D(2023, 1, 1),
            discharge_date=D(2023, 1, 3),
            diagnosis_code_1="J441",
        ),
        # an outpatient claim of the same person in the stay's dates
        dict(
            claim_id="O",
            bill_type_code="131",
            admission_date=D(2023, 1, 2),
            discharge_date=D(2023, 1, 2),
            diagnosis_code_1="Z1231",
        ),
        dict(
            claim_id="Q",
            person_id="P2",
            admission_date=D(2023, 1, 1),
            discharge_date=D(2023, 1, 3),
            diagnosis_code_1="I10",
        ),
    ]
    out = _codes(rows)
    by_person = {r["person_id"]: r["diagnosis_codes"] for r in out.iter_rows(named=True)}
    assert by_person == {"P1": ["J441"], "P2": ["I10"]}
