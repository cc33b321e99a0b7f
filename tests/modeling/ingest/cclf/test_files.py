"""CCLF files: names (CMS's and plain), folders and zips, and clear errors."""

from __future__ import annotations

import zipfile
from datetime import date

import pytest

from modeling.errors import DatasetError, SchemaError
from modeling.ingest.cclf import ingest_cclf
from modeling.ingest.cclf.files import find_cclf_files, recognize
from tests.modeling.ingest.cclf.builders import NEW, beneficiary, records


def test_file_names_cms_and_plain():
    cms = recognize("P.A1234.ACO.ZC1Y24.D240115.T1234567")
    assert (
        cms["file_type"] == "CCLF1"
        and cms["delivery"] == "monthly"
        and cms["file_date"] == date(2024, 1, 15)
        and cms["performance_year"] == 2024
    )
    assert recognize("P.A1234.ACO.ZC8R23.D240410.T0100000")["delivery"] == "runout"
    assert recognize("P.D0259.ACO.ZCAY24.D240115.T1234567")["file_type"] == "CCLFA"
    plain = recognize("cclf8_2024-03.txt")
    assert plain["file_type"] == "CCLF8" and plain["file_date"] == date(2024, 3, 1)
    assert recognize("CCLF1.txt")["delivery"] == "unknown"
    assert recognize("claims.csv") is None and recognize("CCLF12.txt") is None


def test_zip_source_and_clear_errors(two_deliveries, tmp_path):
    archive = tmp_path / "delivery.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in sorted(two_deliveries.iterdir()):
            zf.write(f, f.name)
    report = ingest_cclf(archive, tmp_path / "from_zip")
    assert report.dataset.read("medical_claim")["paid_amount"].sum() == pytest.approx(105.0)
    broken = tmp_path / "broken.zip"
    broken.write_bytes(archive.read_bytes()[:200])
    with pytest.raises(SchemaError, match="not a readable zip"):
        find_cclf_files(broken)
    with pytest.raises(SchemaError, match="no CCLF files found"):
        find_cclf_files(tmp_path / "from_zip")
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "CCLF8.txt").write_text(records("CCLF8", [beneficiary(NEW)]))
    # the only file is refused, so no required table has a row: no dataset, and the error
    # says which file was refused and why (issue 15: no dataset without a loadable table)
    with pytest.raises(DatasetError, match="no file gives table.*cannot tell which month"):
        ingest_cclf(plain, tmp_path / "plain_ds")
    assert not (tmp_path / "plain_ds").exists()
