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
