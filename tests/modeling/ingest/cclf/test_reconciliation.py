"""Reconciliation: CCLF0's record counts compared with the files of its delivery."""

from __future__ import annotations

from modeling.ingest.cclf import ingest_cclf
from modeling.ingest.cclf.reconciliation import files_by_type, read_reconciliation


def test_cclf0_counts_are_compared(two_deliveries, tmp_path):
    (two_deliveries / "P.A1234.ACO.ZC0Y24.D240131.T1200000").write_text(
        "File Number  |File Description    |Total Records Count |Record Length\n"
        "CCLF1        |Part A Claims Header|2                   |437\n"
        "CCLF8        |Beneficiary Demogr  |3                   |549\n"
    )
    report = ingest_cclf(two_deliveries, tmp_path / "ds")
    counts = {c["file_type"]: c for c in report.record_counts}
    assert (
        counts["CCLF1"]["matches"]
        and not counts["CCLF8"]["matches"]
        and counts["CCLF8"]["lines_in_file"] == 2
    )


def test_every_line_is_counted_once_per_file(two_deliveries, tmp_path):
    report = ingest_cclf(two_deliveries, tmp_path / "ds")
    assert all(f.lines_read == f.accounted for f in report.files)
    saved = read_reconciliation(tmp_path / "ds")
    assert saved is not None and saved["files"] == [f.to_dict() for f in report.files]
    assert files_by_type(saved["files"]).equals(report.by_file_type())
