"""Beneficiaries: eligibility months from CCLF8 or from an enrollment file."""

from __future__ import annotations

import polars as pl
import pytest

from modeling.core.member_months import member_months
from modeling.errors import SchemaError
from modeling.ingest.cclf import ingest_cclf
from tests.modeling.ingest.cclf.builders import NEW, OLD, OTHER


def test_enrollment_file_gives_the_months(two_deliveries, tmp_path):
    spans = tmp_path / "enrollment.csv"
    spans.write_text(
        f"bene_mbi_id,enrollment_start_date,enrollment_end_date\n{OLD},2024-01-01,2024-06-30\n{OTHER},2024-03-15,2024-03-20\n"
    )
    report = ingest_cclf(two_deliveries, tmp_path / "ds", enrollment=spans)
    months = member_months(report.dataset.scan("eligibility")).collect()
    assert months.filter(pl.col("person_id") == NEW)["month"].to_list() == [
        1,
        2,
        3,
        4,
        5,
        6,
    ]  # the old MBI is mapped through CCLF9
    assert months.filter(pl.col("person_id") == OTHER)["month"].to_list() == [3]
    bad = tmp_path / "bad.csv"
    bad.write_text("mbi,start\nX,2024-01-01\n")
    with pytest.raises(SchemaError, match="needs columns bene_mbi_id"):
        ingest_cclf(two_deliveries, tmp_path / "ds2", enrollment=bad)
