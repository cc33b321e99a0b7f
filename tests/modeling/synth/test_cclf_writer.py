"""The CCLF writer: synthetic dataset -> CCLF deliveries -> ingest, and back to the same figures."""

from __future__ import annotations

import polars as pl
import pytest

from modeling.core.member_months import member_months
from modeling.core.service_categories import with_service_category
from modeling.ingest.cclf import ingest_cclf
from modeling.synth.cclf_writer import bill_as_medicare, write_cclf
from risk_stratification.hcc.panel import score_panel


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

    summary = overview(back).summary
    assert (
        summary["pmpm_pharmacy"].null_count() == summary.height
    )  # CCLF7 has no paid amount: unknown, not $0
    assert overview(small_dataset).summary["pmpm_pharmacy"].null_count() == 0
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


def test_every_claim_id_letter_of_the_generator_has_its_own_id_block(small_dataset):
    """CCLF's numeric claim ids keep the lines apart by the letter's block: a line whose letter
    has none would share block 0 with the main stream ("C") and collide with its ids. Only a
    letter's second stream shares its block ("D" in "Y"'s block 8, its chunk digits raised)."""
    from modeling.synth.cclf_writer.versions import ID_BLOCKS

    letters = set(
        small_dataset.read("medical_claim")["claim_id"].str.slice(0, 1).unique().to_list()
    )
    assert letters - {"C"} <= set(ID_BLOCKS), letters - {"C"} - set(ID_BLOCKS)
    blocks = list(ID_BLOCKS.values())
    assert 0 not in blocks
    assert {k for k, b in ID_BLOCKS.items() if blocks.count(b) > 1} == {"Y", "D"}


def test_claim_id_numbers_have_13_digits_and_no_two_streams_share_one():
    """Every stream's ids, at the first and the last chunk the generator can have and the
    lowest and highest number, give distinct numbers of at most 13 digits: the hip fractures'
    transitional care ("T9...", the transitions stream of chunk 9000 + chunk) took 14 and
    shifted its CCLF5 records by a character (7 records quarantined on ingest, 3,000 members)."""
    from modeling.synth.cclf_writer.versions import id_number
    from modeling.synth.generator import CHUNK_SIZE
    from modeling.synth.services.hip_fractures import TRANSITIONS_CHUNK
    from modeling.synth.spec import MAX_MEMBERS

    last = MAX_MEMBERS // CHUNK_SIZE - 1
    chunks = [(letter, c) for letter in "CBTWSQHPYD" for c in (0, last)]
    chunks += [("T", TRANSITIONS_CHUNK + c) for c in (0, last)]
    ids = [f"{letter}{c:04d}{n:09d}" for letter, c in chunks for n in (0, 10**9 - 1)]
    numbers = pl.select(id_number(pl.lit(pl.Series(ids)))).to_series().to_list()
    assert max(numbers) < 10**13
    assert len(set(numbers)) == len(ids)


def test_a_number_wider_than_its_field_is_an_error_not_a_shifted_record():
    from modeling.ingest.cclf.layouts import load_layouts
    from modeling.synth.cclf_writer.records import format_records

    layout = load_layouts()["CCLF5"]
    with pytest.raises(ValueError, match="CUR_CLM_UNIQ_ID: a value has 14 digits, the field 13"):
        format_records(pl.DataFrame({"CUR_CLM_UNIQ_ID": [11_000_000_000_002]}), layout)
