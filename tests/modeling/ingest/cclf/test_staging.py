"""CCLF staging: bad lines quarantined with file, line and reason; wrong files refused."""

from __future__ import annotations

from datetime import date

import polars as pl

from modeling.ingest.cclf import ingest_cclf
from tests.modeling.ingest.cclf.builders import (
    LAYOUTS,
    NEW,
    OTHER,
    beneficiary,
    delivery,
    header,
    line,
    part_b,
    records,
)


def test_bad_lines_are_quarantined_with_file_line_and_reason(tmp_path):
    src = tmp_path / "bad"
    good = records("CCLF8", [beneficiary(NEW)]).rstrip("\n")
    bad_date = good[:32] + "1950-13-01" + good[42:]
    bad_amount_line = records("CCLF1", [header(7, NEW, 10.0, "0", date(2024, 1, 31))]).rstrip("\n")
    amount_at = LAYOUTS["CCLF1"].fields[12]
    bad_amount = (
        bad_amount_line[: amount_at.start - 1]
        + "0000000000012x.00"
        + bad_amount_line[amount_at.end :]
    )
    unknown_type = bad_amount_line[:41] + "99" + bad_amount_line[43:]
    delivery(
        src,
        "D240131.T1200000",
        {
            "CCLF8": "\n".join([good, good[:-5], bad_date, "", good.replace("A", "\u00c4", 1)])
            + "\n",
            "CCLF1": "\n".join(
                [bad_amount_line, bad_amount, unknown_type, bad_amount_line[:200]]
            ),  # no final newline: truncated
        },
    )
    report = ingest_cclf(src, tmp_path / "ds")
    quarantine = pl.read_parquet(tmp_path / "ds" / "quarantine" / "cclf_lines.parquet").sort(
        "file", "line"
    )
    reasons = {
        (r["file"].split(".")[3], r["line"]): r["reason"] for r in quarantine.iter_rows(named=True)
    }
    assert reasons[("ZC8Y24", 2)] == "line has 544 characters; CCLF8 records have 549"
    assert (
        "BENE_DOB (positions 33-42): '1950-13-01' is not a YYYY-MM-DD date"
        in reasons[("ZC8Y24", 3)]
    )
    assert reasons[("ZC8Y24", 4)] == "blank line"
    assert "non-ASCII" in reasons[("ZC8Y24", 5)]
    assert (
        "CLM_PMT_AMT (positions 82-98): '0000000000012x.00' is not a signed amount"
        in reasons[("ZC1Y24", 2)]
    )
    assert "unknown claim type: CLM_TYPE_CD '99'" in reasons[("ZC1Y24", 3)]
    assert reasons[("ZC1Y24", 4)].startswith("truncated: the last record has 200 of 437 characters")
    by_type = {r["file_type"]: r for r in report.by_file_type().to_dicts()}
    assert (
        by_type["CCLF8"]["lines_read"] == 5
        and by_type["CCLF8"]["loaded"] == 1
        and by_type["CCLF8"]["quarantined"] == 4
    )
    assert (
        by_type["CCLF1"]["lines_read"] == 4
        and by_type["CCLF1"]["loaded"] == 1
        and by_type["CCLF1"]["quarantined"] == 3
    )
    assert report.reconciled


def test_wrong_file_type_binary_and_orphans_are_refused_or_quarantined(tmp_path):
    src = tmp_path / "wrong"
    delivery(
        src,
        "D240131.T1200000",
        {
            "CCLF1": records(
                "CCLF8", [beneficiary(NEW), beneficiary(OTHER)]
            ),  # beneficiary records under a Part A name
            "CCLF8": records("CCLF8", [beneficiary(NEW)]),
            "CCLF2": records(
                "CCLF2", [line(42, NEW, 5.0)]
            ),  # a revenue line whose header is nowhere
        },
    )
    (src / "P.A1234.ACO.ZC5Y24.D240131.T1200000").write_bytes("CCLF5".encode("utf-16"))
    # a later delivery with one good Part B claim: a dataset needs a loadable medical claim
    delivery(
        src,
        "D240229.T1200000",
        {"CCLF5": records("CCLF5", [part_b(10, NEW, 30.0, "0", date(2024, 2, 29))])},
    )
    report = ingest_cclf(src, tmp_path / "ds")
    refused = {f.file_type: f.refused for f in report.refused}
    assert (
        "549" in refused["CCLF1"] and "CCLF8" in refused["CCLF1"] and "misnamed" in refused["CCLF1"]
    )
    assert "NUL bytes" in refused["CCLF5"]
    by_type = {r["file_type"]: r for r in report.by_file_type().to_dicts()}
    assert by_type["CCLF2"]["quarantined"] == 1
    assert by_type["CCLF1"]["in_refused_file"] == 2 and by_type["CCLF1"]["loaded"] == 0
    assert report.reconciled and all(r["reconciles"] for r in by_type.values())
    quarantine = pl.read_parquet(tmp_path / "ds" / "quarantine" / "cclf_lines.parquet")
    assert (
        quarantine.filter(
            pl.col("reason").str.contains("no CCLF1 header has CUR_CLM_UNIQ_ID 0000000000042")
        ).height
        == 1
    )
