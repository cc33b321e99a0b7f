from __future__ import annotations

import polars as pl
import pytest

from modeling.ingest.canonical import validate_dataset
from modeling.schema import DIAGNOSIS_COLUMNS
from modeling.synth import SynthSpec, generate
from modeling.synth.calibration import measure, targets
from modeling.synth.conditions import level_codes
from modeling.synth.params import load_params, v28_mapping


def test_same_seed_same_bytes(tmp_path):
    a = generate(SynthSpec(400, 2023, 2, 5), tmp_path / "a")
    b = generate(SynthSpec(400, 2023, 2, 5), tmp_path / "b")
    c = generate(SynthSpec(400, 2023, 2, 6), tmp_path / "c")
    assert a.manifest["tables"] == b.manifest["tables"]
    assert a.manifest["content_hash"] == b.manifest["content_hash"]
    assert a.manifest["content_hash"] != c.manifest["content_hash"]
    assert (tmp_path / "a" / "medical_claim.parquet").read_bytes() == (
        tmp_path / "b" / "medical_claim.parquet"
    ).read_bytes()


def test_generated_data_passes_every_validation_check(small_dataset):
    results = validate_dataset(small_dataset)
    for table, r in results.items():
        assert r.rows_quarantined == 0, (table, r.quarantined.head(3).to_dicts())
    assert small_dataset.verify() == []


def test_claims_fall_inside_enrollment(small_dataset):
    spans = small_dataset.read("eligibility").select(
        "person_id", "enrollment_start_date", "enrollment_end_date"
    )
    claims = (
        small_dataset.read("medical_claim")
        .select("claim_id", "person_id", "claim_start_date")
        .unique("claim_id")
    )
    inside = (
        claims.join(spans, on="person_id")
        .with_columns(
            pl.col("claim_start_date")
            .is_between(pl.col("enrollment_start_date"), pl.col("enrollment_end_date"))
            .alias("ok")
        )
        .group_by("claim_id")
        .agg(pl.col("ok").any())
    )
    assert inside["ok"].all()
    assert inside.height == claims.height


def test_every_claim_has_a_principal_diagnosis_and_hcc_codes_are_real(small_dataset):
    m = small_dataset.read("medical_claim")
    assert m["diagnosis_code_1"].null_count() == 0
    mapping = v28_mapping()
    for condition, levels in zip(load_params().conditions, level_codes(), strict=True):
        for level in levels:
            for code in level:
                assert len(code) >= 3, (condition.name, code)
    used = set(pl.concat([m[c] for c in DIAGNOSIS_COLUMNS]).drop_nulls().unique())
    hcc_codes = used & set(mapping)
    assert len(hcc_codes) > 100  # the panel carries many distinct V28 payment-HCC codes


def test_progress_is_told_chunks_done_and_in_all(tmp_path, monkeypatch):
    monkeypatch.setattr("modeling.synth.generator.CHUNK_SIZE", 150)
    told: list[tuple[int, int]] = []
    generate(SynthSpec(400, 2023, 1, 5), tmp_path / "p", progress=lambda d, t: told.append((d, t)))
    assert told == [(1, 3), (2, 3), (3, 3)]


@pytest.fixture(scope="module")
def calibration_50k(tmp_path_factory):
    out = tmp_path_factory.mktemp("cal") / "p50k"
    return measure(generate(SynthSpec(50_000, 2023, 3, 7), out))


@pytest.mark.slow
def test_calibration_figures_within_tolerance_on_50k_members(calibration_50k):
    misses = calibration_50k.filter(~pl.col("within_tolerance"))
    assert misses.is_empty(), misses.select(
        "figure", "target", "low", "high", "achieved"
    ).to_dicts()
    # every target of calibration_targets.csv is measured, once, in its order (60 figures; the
    # count 49 written here before was stale since the revert 3e3ede8, unseen while a figure failed)
    assert calibration_50k["figure"].to_list() == targets()["figure"].to_list()
