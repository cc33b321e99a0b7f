from __future__ import annotations

import json

import polars as pl
import pytest

from modeling.dataset import Dataset
from modeling.errors import SchemaError
from modeling.ingest.canonical import ingest_canonical

ELIG_HEADER = "person_id,member_id,payer,payer_type,plan,gender,race,birth_date,death_date,enrollment_start_date,enrollment_end_date,original_reason_entitlement_code,dual_status_code,medicare_status_code,data_source"
CLAIM_HEADER = "claim_id,claim_line_number,claim_type,person_id,payer,plan,claim_start_date,claim_end_date,hcpcs_code,paid_amount,diagnosis_code_1,diagnosis_code_2"


def write(folder, eligibility: list[str], claims: list[str], claim_header: str = CLAIM_HEADER):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "eligibility.csv").write_text("\n".join([ELIG_HEADER, *eligibility]) + "\n")
    (folder / "medical_claim.csv").write_text("\n".join([claim_header, *claims]) + "\n")
    return folder


GOOD_ELIG = [
    "P1,M1,medicare,medicare,ffs,F,white,1950-03-01,,2023-01-01,2023-12-31,0,NA,10,src",
    "P2,M2,medicare,medicare,ffs,male,black,03/15/1948,,20230101,20231231,0,2,10,src",
]


def test_bad_rows_are_quarantined_and_counts_reconcile(tmp_path):
    elig = (
        GOOD_ELIG
        + [
            "P3,M3,medicare,medicare,ffs,female,white,1950-02-30,,2023-01-01,2023-12-31,0,NA,10,src",  # bad date
            "P4,M4,medicare,medicare,ffs,female,white,1951-01-01,,2023-06-01,2023-02-01,0,NA,10,src",  # negative-length span
        ]
    )
    claims = [
        "C1,1,professional,P1,medicare,ffs,2023-02-01,2023-02-01,99213,80.00,E11.9,I10",
        "C2,1,professional,P2,medicare,ffs,2023-02-01,2023-02-01,99214,$110.50,E119,",
        "C3,1,professional,P1,medicare,ffs,2023-03-01,2023-03-01,99213,80,11E.9,",  # malformed diagnosis (starts with a digit)
        "C4,1,professional,P3,medicare,ffs,2023-03-01,2023-03-01,99213,80,I10,",  # person quarantined -> no eligibility
        "C5,1,professional,P1,medicare,ffs,2023-13-01,2023-03-01,99213,80,I10,",  # bad date
        "C6,1,professional,P1,medicare,ffs,2023-03-01,2023-03-01,99213,80,I10,E11.9.9",  # a second decimal point
    ]
    src = write(tmp_path / "src", elig, claims)
    report = ingest_canonical(src, tmp_path / "out")
    e, m = report.results["eligibility"], report.results["medical_claim"]
    assert (e.rows_in, e.rows_accepted, e.rows_quarantined) == (4, 2, 2)
    assert (m.rows_in, m.rows_accepted, m.rows_quarantined) == (6, 2, 4)
    assert report.reconciled
    q = {
        r["person_id"] or r["claim_id"]: r["_reasons"]
        for r in report.quarantined("eligibility").iter_rows(named=True)
    }
    assert q["P3"] == "unparseable_date: birth_date '1950-02-30' is not a valid date"
    assert q["P4"].startswith(
        "end_before_start: enrollment_end_date 2023-02-01 is before enrollment_start_date 2023-06-01"
    )
    mq = dict(
        zip(
            report.quarantined("medical_claim")["claim_id"],
            report.quarantined("medical_claim")["_reasons"],
            strict=True,
        )
    )
    assert (
        mq["C3"]
        == "malformed_icd10: diagnosis_code_1 '11E9' is not a valid ICD-10-CM diagnosis code"
    )
    assert mq["C4"] == "no_eligibility: person_id 'P3' has no eligibility"
    assert mq["C5"].startswith("unparseable_date: claim_start_date '2023-13-01'")
    assert (
        report.quarantined("medical_claim").filter(pl.col("claim_id") == "C5")["_source_row"].item()
        == 5
    )
    assert (
        mq["C6"]
        == "malformed_icd10: diagnosis_code_2 'E11.9.9' is not a valid ICD-10-CM diagnosis code"
    )

    ds = Dataset(tmp_path / "out")
    assert ds.manifest["tables"]["medical_claim"]["rows"] == 2
    assert ds.read("medical_claim")["paid_amount"].to_list() == [80.0, 110.5]
    assert ds.read("eligibility")["gender"].to_list() == ["female", "male"]
    assert ds.read("eligibility")["dual_status_code"].to_list() == ["NA", "02"]
    assert ds.read("medical_claim")["diagnosis_code_1"].to_list() == ["E119", "E119"]
    assert ds.quarantine("medical_claim").height == 4
    saved = json.loads((tmp_path / "out" / "data_quality.json").read_text())
    assert saved["tables"]["medical_claim"]["checks"]["malformed_icd10"]["rows_failed"] == 2
    assert saved["reconciled"] is True
    assert ds.verify() == []


def test_missing_column_names_file_column_and_type(tmp_path):
    header = CLAIM_HEADER.replace(",paid_amount", "")
    src = write(
        tmp_path / "src",
        GOOD_ELIG,
        ["C1,1,professional,P1,medicare,ffs,2023-02-01,2023-02-01,99213,E119,"],
        claim_header=header,
    )
    with pytest.raises(SchemaError) as err:
        ingest_canonical(src, tmp_path / "out")
    message = str(err.value)
    assert (
        "medical_claim.csv" in message
        and "'paid_amount' (Float64)" in message
        and "Columns found" in message
    )
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_mistyped_column_is_refused_with_first_offending_rows(tmp_path):
    claims = [
        f"C{i},1,professional,P1,medicare,ffs,2023-02-01,2023-02-01,99213,eighty,E119,"
        for i in range(6)
    ]
    src = write(tmp_path / "src", GOOD_ELIG, claims)
    with pytest.raises(SchemaError) as err:
        ingest_canonical(src, tmp_path / "out")
    message = str(err.value)
    assert "column 'paid_amount' should be Float64" in message
    assert "6 of 6 values" in message and "row 1: 'eighty'" in message


def test_parquet_source_and_missing_required_table(tmp_path):
    src = write(
        tmp_path / "csv",
        GOOD_ELIG,
        ["C1,1,professional,P1,medicare,ffs,2023-02-01,2023-02-01,99213,80,E119,"],
    )
    pq_dir = tmp_path / "pq"
    pq_dir.mkdir()
    pl.read_csv(src / "eligibility.csv", infer_schema=False).write_parquet(
        pq_dir / "eligibility.parquet"
    )
    pl.read_csv(src / "medical_claim.csv", infer_schema=False).with_columns(
        pl.col("paid_amount").cast(pl.Float64)
    ).write_parquet(pq_dir / "medical_claim.parquet")
    report = ingest_canonical(pq_dir, tmp_path / "out")
    assert report.results["medical_claim"].rows_accepted == 1
    (pq_dir / "medical_claim.parquet").unlink()
    with pytest.raises(SchemaError, match="no file for required table"):
        ingest_canonical(pq_dir, tmp_path / "out2")


def test_write_dataset_round_trips_and_detects_changed_files(tmp_path):
    from modeling.dataset import write_dataset

    frame = pl.DataFrame(
        {
            "person_id": ["P1"],
            "payer": ["medicare"],
            "payer_type": ["medicare"],
            "gender": ["female"],
        }
    )
    ds = write_dataset(tmp_path / "d", {"eligibility": frame}, source={"kind": "test"})
    assert ds.read("eligibility")["person_id"].to_list() == ["P1"]
    assert ds.manifest["tables"]["medical_claim"]["rows"] == 0  # required tables always exist
    assert ds.verify() == []
    (tmp_path / "d" / "eligibility.parquet").write_bytes(b"changed")
    assert any("sha256 differs" in p for p in ds.verify())
