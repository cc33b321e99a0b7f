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


def _deliveries_with_spans_the_checks_refuse(folder):
    """Two monthly deliveries: NEW enrolled both months; OTHER listed both months with a death
    date before their birth (one span, quarantined whole); OLD died on 2024-01-15 yet is listed
    in February under another dual status (two spans: January's stands, February's starts after
    the death and is quarantined)."""
    from datetime import date

    from tests.modeling.ingest.cclf.builders import (
        NEW,
        OLD,
        OTHER,
        beneficiary,
        delivery,
        part_b,
        records,
    )

    jan, feb = date(2024, 1, 31), date(2024, 2, 29)
    bad_death = {"BENE_DOB": date(1950, 3, 1), "BENE_DEATH_DT": date(1949, 1, 1)}
    died = {"BENE_DEATH_DT": date(2024, 1, 15)}
    for stamp, effective, old_dual in (
        ("D240131.T1200000", jan, "NA"),
        ("D240229.T1200000", feb, "02"),
    ):
        delivery(
            folder,
            stamp,
            {
                "CCLF5": records(
                    "CCLF5", [part_b(10 + effective.month, NEW, 30.0, "0", effective)]
                ),
                "CCLF8": records(
                    "CCLF8",
                    [
                        beneficiary(NEW),
                        beneficiary(OTHER, **bad_death),
                        beneficiary(OLD, BENE_DUAL_STUS_CD=old_dual, **died),
                    ],
                ),
            },
        )
    return folder


def test_f26_cclf8_lines_of_quarantined_spans_are_quarantined_not_loaded(tmp_path):
    import polars as pl

    from tests.modeling.ingest.cclf.builders import NEW, OLD, OTHER

    report = ingest_cclf(
        _deliveries_with_spans_the_checks_refuse(tmp_path / "cclf"), tmp_path / "out"
    )
    assert report.reconciled
    eligibility = report.results["eligibility"]
    assert (eligibility.rows_in, eligibility.rows_accepted, eligibility.rows_quarantined) == (
        4,
        2,
        2,
    )
    cclf8 = report.by_file_type().filter(pl.col("file_type") == "CCLF8").row(0, named=True)
    # six CCLF8 lines: NEW's two and OLD's January line reached the dataset
    assert (cclf8["lines_read"], cclf8["loaded"], cclf8["quarantined"]) == (6, 3, 3)
    assert cclf8["loaded"] == 3 and eligibility.rows_accepted == 2  # NEW's one span, OLD's January
    lines = pl.read_parquet(tmp_path / "out" / "quarantine" / "cclf_lines.parquet")
    cclf8_lines = lines.filter(pl.col("file").str.contains("ZC8Y24"))
    assert cclf8_lines.height == 3
    reasons = cclf8_lines.get_column("reason").to_list()
    assert sum(f"eligibility of {OTHER} from 2024-01-01" in r for r in reasons) == 2
    assert sum(f"eligibility of {OLD} from 2024-02-01" in r for r in reasons) == 1
    assert all("death_out_of_order" in r for r in reasons)
    assert not any(NEW in r for r in reasons)
    # each quarantined line is the February file's OLD line or one of OTHER's two
    feb_old = cclf8_lines.filter(pl.col("reason").str.contains(OLD))
    assert feb_old.get_column("file").str.contains("D240229").all()
    kept = report.dataset.read("eligibility")
    assert sorted(kept.get_column("person_id").to_list()) == sorted([NEW, OLD])


def test_f16_a_cclf_target_named_with_glob_characters_is_read_literally(two_deliveries, tmp_path):
    """The staging folder is named after the target (``.ds[1].staging-...``); its staged parts
    are listed and read literally, so the dataset is the same as under a plain name."""
    plain = ingest_cclf(two_deliveries, tmp_path / "ds1")
    odd = ingest_cclf(two_deliveries, tmp_path / "ds[1]")
    assert odd.reconciled
    for table in ("eligibility", "medical_claim"):
        assert odd.dataset.read(table).equals(plain.dataset.read(table))
