"""CCLF ingest: layouts, names, claim versions across files, bad input, and the synth round trip."""

from __future__ import annotations

import zipfile
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from modeling.core.member_months import member_months
from modeling.core.service_categories import with_service_category
from modeling.errors import SchemaError
from modeling.ingest.cclf import ingest_cclf
from modeling.ingest.cclf.files import find_cclf_files, recognize
from modeling.ingest.cclf.layouts import load_layouts
from modeling.synth.cclf_writer import bill_as_medicare, format_records, write_cclf
from risk_stratification.hcc.panel import score_panel

LAYOUTS = load_layouts()
OLD, NEW, OTHER = "1AA0AA0AA00", "2BB0BB0BB00", "3CC0CC0CC00"


def records(file_type: str, rows: list[dict]) -> str:
    frame = pl.DataFrame(rows) if rows else pl.DataFrame()
    return "".join(r + "\n" for r in format_records(frame, LAYOUTS[file_type]).to_list())


def beneficiary(mbi: str, **kw) -> dict:
    return {
        "BENE_MBI_ID": mbi,
        "BENE_DOB": date(1950, 3, 1),
        "BENE_SEX_CD": "2",
        "BENE_RACE_CD": "1",
        "BENE_MDCR_STUS_CD": "10",
        "BENE_DUAL_STUS_CD": "NA",
        "BENE_ORGNL_ENTLMT_RSN_CD": "0",
        **kw,
    }


def header(
    claim: int, mbi: str, paid: float, adj: str, effective: date, provider: str = "100001", **kw
) -> dict:
    return {
        "CUR_CLM_UNIQ_ID": claim,
        "PRVDR_OSCAR_NUM": provider,
        "BENE_MBI_ID": mbi,
        "CLM_TYPE_CD": "40",
        "CLM_FROM_DT": date(2024, 1, 10),
        "CLM_THRU_DT": date(2024, 1, 10),
        "CLM_BILL_FAC_TYPE_CD": "1",
        "CLM_BILL_CLSFCTN_CD": "3",
        "CLM_BILL_FREQ_CD": "1",
        "PRNCPL_DGNS_CD": "E119",
        "CLM_PMT_AMT": paid,
        "CLM_ADJSMT_TYPE_CD": adj,
        "CLM_EFCTV_DT": effective,
        "CLM_BLG_PRVDR_OSCAR_NUM": provider,
        "CLM_BLG_PRVDR_NPI_NUM": "1234567893",
        "DGNS_PRCDR_ICD_IND": "0",
        **kw,
    }


def line(claim: int, mbi: str, paid: float, number: int = 1) -> dict:
    return {
        "CUR_CLM_UNIQ_ID": claim,
        "CLM_LINE_NUM": number,
        "BENE_MBI_ID": mbi,
        "CLM_TYPE_CD": "40",
        "CLM_LINE_FROM_DT": date(2024, 1, 10),
        "CLM_LINE_THRU_DT": date(2024, 1, 10),
        "CLM_LINE_PROD_REV_CTR_CD": "0510",
        "CLM_LINE_HCPCS_CD": "99213",
        "CLM_LINE_SRVC_UNIT_QTY": 1.0,
        "CLM_LINE_CVRD_PD_AMT": paid,
    }


def part_b(
    claim: int, mbi: str, paid: float, adj: str, effective: date, control: str = "CTL0001"
) -> dict:
    return {
        "CUR_CLM_UNIQ_ID": claim,
        "CLM_LINE_NUM": 1,
        "BENE_MBI_ID": mbi,
        "CLM_TYPE_CD": "71",
        "CLM_FROM_DT": date(2024, 1, 12),
        "CLM_THRU_DT": date(2024, 1, 12),
        "CLM_POS_CD": "11",
        "CLM_LINE_FROM_DT": date(2024, 1, 12),
        "CLM_LINE_THRU_DT": date(2024, 1, 12),
        "CLM_LINE_HCPCS_CD": "99214",
        "CLM_LINE_CVRD_PD_AMT": paid,
        "CLM_LINE_ALOWD_CHRG_AMT": paid * 1.25,
        "RNDRG_PRVDR_NPI_NUM": "1234567893",
        "CLM_ADJSMT_TYPE_CD": adj,
        "CLM_EFCTV_DT": effective,
        "CLM_CNTL_NUM": control,
        "CLM_DGNS_1_CD": "I10",
        "DGNS_PRCDR_ICD_IND": "0",
    }


def part_d(claim: int, mbi: str, adj: str, effective: date, quantity: float) -> dict:
    return {
        "CUR_CLM_UNIQ_ID": claim,
        "BENE_MBI_ID": mbi,
        "CLM_LINE_NDC_CD": "00093505601",
        "CLM_TYPE_CD": "01",
        "CLM_LINE_FROM_DT": date(2024, 1, 15),
        "PRVDR_SRVC_ID_QLFYR_CD": "01",
        "CLM_SRVC_PRVDR_GNRC_ID_NUM": "1234567893",
        "CLM_LINE_SRVC_UNIT_QTY": quantity,
        "CLM_LINE_DAYS_SUPLY_QTY": 30,
        "CLM_ADJSMT_TYPE_CD": adj,
        "CLM_EFCTV_DT": effective,
        "CLM_LINE_RX_SRVC_RFRNC_NUM": 555,
        "CLM_LINE_RX_FILL_NUM": "0",
    }


def delivery(folder: Path, stamp: str, files: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for file_type, text in files.items():
        (folder / f"P.A1234.ACO.ZC{file_type[-1]}Y24.{stamp}").write_text(text)


@pytest.fixture
def two_deliveries(tmp_path) -> Path:
    """January: claim 1 original ($100, under the old MBI), claim 2 original ($50), a Part B line ($30), a fill.
    February: claim 1 cancelled and adjusted to $80, claim 2 cancelled, the Part B line adjusted to $25,
    the fill deleted, and the MBI change in CCLF9."""
    src = tmp_path / "cclf"
    jan, feb = date(2024, 1, 31), date(2024, 2, 29)
    delivery(
        src,
        "D240131.T1200000",
        {
            "CCLF1": records(
                "CCLF1",
                [
                    header(1, OLD, 100.0, "0", jan),
                    header(2, NEW, 50.0, "0", jan, provider="100002"),
                ],
            ),
            "CCLF2": records("CCLF2", [line(1, OLD, 100.0), line(2, NEW, 50.0)]),
            "CCLF4": records(
                "CCLF4",
                [
                    {
                        "CUR_CLM_UNIQ_ID": 1,
                        "BENE_MBI_ID": OLD,
                        "CLM_TYPE_CD": "40",
                        "CLM_PROD_TYPE_CD": "D",
                        "CLM_VAL_SQNC_NUM": 2,
                        "CLM_DGNS_CD": "I509",
                    }
                ],
            ),
            "CCLF5": records("CCLF5", [part_b(10, NEW, 30.0, "0", jan)]),
            "CCLF7": records("CCLF7", [part_d(20, NEW, "0", jan, 30.0)]),
            "CCLF8": records("CCLF8", [beneficiary(OLD), beneficiary(OTHER, BENE_SEX_CD="1")]),
        },
    )
    delivery(
        src,
        "D240229.T1200000",
        {
            "CCLF1": records(
                "CCLF1",
                [
                    header(3, NEW, 100.0, "1", feb),
                    header(4, NEW, 80.0, "2", feb),
                    header(5, NEW, 50.0, "1", feb, provider="100002"),
                ],
            ),
            "CCLF2": records(
                "CCLF2", [line(3, NEW, 100.0), line(4, NEW, 70.0), line(4, NEW, 0.0, number=2)]
            ),
            "CCLF4": records(
                "CCLF4",
                [
                    {
                        "CUR_CLM_UNIQ_ID": 4,
                        "BENE_MBI_ID": NEW,
                        "CLM_TYPE_CD": "40",
                        "CLM_PROD_TYPE_CD": "D",
                        "CLM_VAL_SQNC_NUM": 2,
                        "CLM_DGNS_CD": "I5022",
                    }
                ],
            ),
            "CCLF5": records("CCLF5", [part_b(11, NEW, 25.0, "2", feb)]),
            "CCLF7": records("CCLF7", [part_d(21, NEW, "1", feb, 30.0)]),
            "CCLF8": records(
                "CCLF8",
                [beneficiary(NEW, BENE_DUAL_STUS_CD="02"), beneficiary(OTHER, BENE_SEX_CD="1")],
            ),
            "CCLF9": records(
                "CCLF9",
                [
                    {
                        "HICN_MBI_XREF_IND": "M",
                        "CRNT_NUM": NEW,
                        "PRVS_NUM": OLD,
                        "PRVS_ID_EFCTV_DT": date(2024, 2, 1),
                    }
                ],
            ),
        },
    )
    return src


def test_layouts_are_contiguous_and_named_by_cms():
    assert LAYOUTS["CCLF1"].record_length == 437
    assert LAYOUTS["CCLF5"].record_length == 388
    assert LAYOUTS["CCLF8"].record_length == 549
    assert {f.kind for f in LAYOUTS["CCLF5"].fields if f.name.endswith("_AMT")} == {"amount"}
    with pytest.raises(SchemaError, match="Shipped versions: v36"):
        load_layouts("v99")


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


def test_original_adjustment_and_cancellation_across_two_files(two_deliveries, tmp_path):
    report = ingest_cclf(two_deliveries, tmp_path / "ds")
    ds = report.dataset
    medical = ds.read("medical_claim")
    institutional = medical.filter(pl.col("claim_type") == "institutional")
    # claim 1: original $100 (old MBI) -> cancelled -> adjusted to $80 under the current MBI; claim 2 nets to nothing
    assert institutional["claim_id"].unique().to_list() == ["0000000000004"]
    assert institutional["paid_amount"].sum() == pytest.approx(80.0)
    assert sorted(institutional["paid_amount"].to_list()) == [
        0.0,
        80.0,
    ]  # header $80 vs lines $70: the $10 goes on line 1
    assert institutional["person_id"].unique().to_list() == [NEW]
    assert (
        institutional.row(0, named=True)["diagnosis_code_1"] == "E119"
        and institutional.row(0, named=True)["diagnosis_code_2"] == "I5022"
    )
    professional = medical.filter(pl.col("claim_type") == "professional")
    assert professional["paid_amount"].to_list() == [25.0] and professional[
        "claim_id"
    ].to_list() == ["CTL0001"]
    assert ds.read("pharmacy_claim").height == 0  # the fill was deleted
    counts = report.by_file_type().to_dicts()
    by_type = {r["file_type"]: r for r in counts}
    assert (
        by_type["CCLF1"]["loaded"],
        by_type["CCLF1"]["superseded"],
        by_type["CCLF1"]["cancelled"],
    ) == (1, 2, 2)
    assert (
        by_type["CCLF2"]["loaded"],
        by_type["CCLF2"]["superseded"],
        by_type["CCLF2"]["cancelled"],
    ) == (2, 2, 1)
    assert (by_type["CCLF5"]["loaded"], by_type["CCLF5"]["superseded"]) == (1, 1)
    assert by_type["CCLF7"]["cancelled"] == 2
    assert report.reconciled and all(r["reconciles"] for r in counts)
    # CCLF8: the old and new MBI are one beneficiary enrolled January and February, dual from February
    months = (
        member_months(ds.scan("eligibility"))
        .collect()
        .filter(pl.col("person_id") == NEW)
        .sort("year_month")
    )
    assert months["month"].to_list() == [1, 2] and months["dual_status_code"].to_list() == [
        "NA",
        "02",
    ]
    assert ds.read("eligibility")["person_id"].n_unique() == 2


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
    report = ingest_cclf(plain, tmp_path / "plain_ds")
    assert "cannot tell which month" in report.refused[0].refused
    assert (
        report.refused[0].in_refused_file == report.refused[0].lines_read == 1 and report.reconciled
    )


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


def test_synth_to_cclf_to_ingest_round_trip(small_dataset, tmp_path):
    summary = write_cclf(small_dataset, tmp_path / "cclf", seed=3)
    assert (
        summary.adjusted_claims > 0
        and summary.cancelled_claims > 0
        and summary.mbi_changes > 0
        and summary.deleted_fills > 0
    )
    report = ingest_cclf(tmp_path / "cclf", tmp_path / "ds")
    back = report.dataset
    assert (
        report.reconciled and not report.refused and all(c["matches"] for c in report.record_counts)
    )
    assert all(r.rows_quarantined == 0 for r in report.results.values())
    ids = small_dataset.read("eligibility").select("person_id", "member_id").unique()
    assert sorted(back.read("eligibility")["person_id"].unique().to_list()) == sorted(
        ids["member_id"].to_list()
    )

    def months(ds, mapped):
        mm = member_months(ds.scan("eligibility")).collect()
        if mapped:
            mm = mm.join(ids, on="person_id").with_columns(pl.col("member_id").alias("person_id"))
        return mm.select(
            "person_id",
            "year_month",
            "dual_status_code",
            "medicare_status_code",
            "original_reason_entitlement_code",
        ).sort("person_id", "year_month")

    assert months(small_dataset, True).equals(months(back, False))

    def cents(medical: pl.LazyFrame, mapped: bool) -> pl.DataFrame:
        m = with_service_category(medical).collect()
        if mapped:
            m = m.join(ids, on="person_id").with_columns(pl.col("member_id").alias("person_id"))
        return (
            m.group_by("person_id", "service_category")
            .agg((pl.col("paid_amount") * 100).round(0).cast(pl.Int64).sum())
            .sort("person_id", "service_category")
        )

    billed, merged = bill_as_medicare(small_dataset.read("medical_claim"))
    assert merged == summary.merged_claims
    assert cents(billed.lazy(), True).equals(cents(back.scan("medical_claim"), False))
    original = (
        cents(small_dataset.scan("medical_claim"), True)
        .group_by("person_id")
        .agg(pl.col("paid_amount").sum())
        .sort("person_id")
    )
    assert original.equals(
        cents(back.scan("medical_claim"), False)
        .group_by("person_id")
        .agg(pl.col("paid_amount").sum())
        .sort("person_id")
    )

    def fills(ds, mapped):
        return (
            (
                ds.read("pharmacy_claim")
                .join(ids, on="person_id")
                .with_columns(pl.col("member_id").alias("person_id"))
                if mapped
                else ds.read("pharmacy_claim")
            )
            .group_by("person_id")
            .agg(  # noqa: E731
                pl.len(), pl.col("days_supply").sum(), pl.col("quantity").sum()
            )
            .sort("person_id")
        )

    assert fills(small_dataset, True).equals(fills(back, False))
    from modeling.marts.pmpm import overview

    summary = overview(back)["summary"]
    assert (
        summary["pmpm_pharmacy"].null_count() == summary.height
    )  # CCLF7 has no paid amount: unknown, not $0
    assert overview(small_dataset)["summary"]["pmpm_pharmacy"].null_count() == 0
    for year in (2024, 2025):
        source_scores = (
            score_panel(small_dataset, year)
            .scores.join(ids, on="person_id")
            .drop("person_id")
            .rename({"member_id": "person_id"})
            .sort("person_id")
        )
        round_trip = score_panel(back, year).scores.select(source_scores.columns).sort("person_id")
        assert source_scores.equals(round_trip)


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


def test_cli_ingest_cclf_prints_the_reconciliation(two_deliveries, tmp_path):
    from typer.testing import CliRunner

    from app.cli import app

    result = CliRunner().invoke(
        app, ["ingest", "cclf", str(two_deliveries), "--out", str(tmp_path / "ds")]
    )
    assert result.exit_code == 0, result.output
    assert (
        "CCLF reconciliation" in result.output
        and "superseded" in result.output
        and "MISMATCH" not in result.output
    )
    missing = CliRunner().invoke(
        app, ["ingest", "cclf", str(tmp_path / "nowhere"), "--out", str(tmp_path / "ds2")]
    )
    assert missing.exit_code == 2 and "does not exist" in missing.output
