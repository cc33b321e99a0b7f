"""Regression tests of the hostile probe of 2026-12-01 (issue 15) on the CCLF connector."""

from __future__ import annotations

import json
import zipfile

from modeling.ingest.canonical import ingest_canonical
from modeling.ingest.cclf import ingest_cclf
from tests.modeling.ingest.test_hardening import write


def test_f27_unrecognized_files_and_nested_zips_are_reported(two_deliveries, tmp_path):
    (two_deliveries / "ZC5Y23.D230131.T1200001").write_text("")
    with zipfile.ZipFile(two_deliveries / "extra.zip", "w") as zf:
        zf.writestr("inner.zip", b"PK")
    report = ingest_cclf(two_deliveries, tmp_path / "out")
    assert not report.reconciled
    assert any("not a CCLF file name" in u for u in report.unrecognized)
    assert any("zip inside a zip" in u for u in report.unrecognized)
    saved = json.loads((tmp_path / "out" / "cclf_reconciliation.json").read_text())
    assert saved["reconciled"] is False and len(saved["unrecognized_files"]) == 2


def test_f28_reingesting_leaves_no_stale_report_or_table(two_deliveries, tmp_path):
    out = tmp_path / "out"
    ingest_cclf(two_deliveries, out)
    assert (out / "cclf_reconciliation.json").exists()
    ingest_canonical(write(tmp_path / "src"), out, overwrite=True)
    assert not (out / "cclf_reconciliation.json").exists()
    assert not (out / "pharmacy_claim.parquet").exists()
    assert not (out / "quarantine" / "cclf_lines.parquet").exists()


def test_f28_cclf_staging_scratch_is_gone_after_ingest(two_deliveries, tmp_path):
    ingest_cclf(two_deliveries, tmp_path / "out")
    assert not any(p.name == "_cclf_staging" for p in tmp_path.rglob("*"))


def _delivery_with_an_unenrolled_person(folder):
    from datetime import date

    from tests.modeling.ingest.cclf.builders import (
        NEW,
        OTHER,
        beneficiary,
        delivery,
        header,
        line,
        part_b,
        part_d,
        records,
    )

    jan = date(2024, 1, 31)
    delivery(
        folder,
        "D240131.T1200000",
        {
            "CCLF1": records(
                "CCLF1", [header(1, NEW, 100.0, "0", jan), header(2, OTHER, 60.0, "0", jan)]
            ),
            "CCLF2": records(
                "CCLF2", [line(1, NEW, 100.0), line(2, OTHER, 40.0), line(2, OTHER, 20.0, number=2)]
            ),
            "CCLF5": records(
                "CCLF5",
                [
                    part_b(10, NEW, 30.0, "0", jan),
                    part_b(11, OTHER, 30.0, "0", jan, control="CTL0002"),
                ],
            ),
            "CCLF7": records(
                "CCLF7",
                [
                    part_d(20, NEW, "0", jan, 30.0),
                    {**part_d(21, OTHER, "0", jan, 10.0), "CLM_LINE_RX_SRVC_RFRNC_NUM": 556},
                ],
            ),
            "CCLF8": records("CCLF8", [beneficiary(NEW)]),  # OTHER is never enrolled
        },
    )
    return folder


def test_f26_loaded_counts_only_lines_that_reached_the_dataset(tmp_path):
    src = _delivery_with_an_unenrolled_person(tmp_path / "cclf")
    report = ingest_cclf(src, tmp_path / "out")
    assert report.reconciled
    by_type = {r["file_type"]: r for r in report.by_file_type().iter_rows(named=True)}
    # OTHER's header and both its lines, its Part B line and its fill are quarantined
    assert (by_type["CCLF1"]["loaded"], by_type["CCLF1"]["quarantined"]) == (1, 1)
    assert (by_type["CCLF2"]["loaded"], by_type["CCLF2"]["quarantined"]) == (1, 2)
    assert (by_type["CCLF5"]["loaded"], by_type["CCLF5"]["quarantined"]) == (1, 1)
    assert (by_type["CCLF7"]["loaded"], by_type["CCLF7"]["quarantined"]) == (1, 1)
    rows = report.results
    assert (
        rows["medical_claim"].rows_accepted
        == by_type["CCLF2"]["loaded"] + by_type["CCLF5"]["loaded"]
    )
    assert rows["pharmacy_claim"].rows_accepted == by_type["CCLF7"]["loaded"]
    import polars as pl

    lines = pl.read_parquet(tmp_path / "out" / "quarantine" / "cclf_lines.parquet")
    assert lines.filter(pl.col("reason").str.contains("no_eligibility")).height == 5
