"""All measures on a synthetic panel: invariants, results, benchmarks, care gaps, errors."""

from __future__ import annotations

import polars as pl
import pytest

from modeling.core.panel import Panel
from modeling.errors import ParameterError
from modeling.marts.quality import (
    MEASURE_IDS,
    RESULT_COLUMNS,
    care_gaps,
    measure_rows,
    quality_results,
)
from modeling.marts.quality.definitions import check_ndc_classes, in_value_set, measure
from modeling.marts.quality.engine import benchmark_position


@pytest.fixture(scope="module")
def rows_2024(small_dataset):
    return measure_rows(Panel(small_dataset), 2024).collect()


def test_every_measure_has_rows_and_numerators_within_denominators(rows_2024):
    assert set(rows_2024["measure_id"].unique()) <= set(MEASURE_IDS)
    zero_one = rows_2024.filter(
        ~pl.col("measure_id").str.starts_with("pqi_")
        & ~pl.col("measure_id").is_in(["mcc_admissions", "alos"])
    )
    assert zero_one["numerator"].is_in([0.0, 1.0]).all()
    assert (zero_one["numerator"] <= zero_one["denominator"]).all()
    per = rows_2024.group_by("measure_id").agg(
        pl.col("numerator").sum(), pl.col("denominator").sum()
    )
    composite = per.filter(pl.col("measure_id") == "pqi_90")["numerator"][0]
    parts = per.filter(pl.col("measure_id").is_in(["pqi_91", "pqi_92"]))["numerator"].sum()
    assert composite == parts  # acute and chronic composites partition the overall one


def test_results_by_panel_and_provider(small_dataset, rows_2024):
    panel = quality_results(small_dataset, 2024, measure_frame=rows_2024)
    assert panel.columns == list(RESULT_COLUMNS)
    assert panel["measure_id"].to_list() == [m for m in MEASURE_IDS if m in panel["measure_id"]]
    ok = panel.filter(pl.col("denominator") > 0)
    assert ((ok["ci_low"] <= ok["rate"] + 1e-9) & (ok["rate"] <= ok["ci_high"] + 1e-9)).all()
    alos = panel.filter(pl.col("measure_id") == "alos")
    assert alos["observed_to_expected"][0] == pytest.approx(1.0)  # the reference population
    by = quality_results(small_dataset, 2024, by="provider", measure_frame=rows_2024)
    sums = by.group_by("measure_id").agg(pl.col("numerator").sum(), pl.col("denominator").sum())
    joined = sums.join(panel.select("measure_id", "numerator", "denominator"), on="measure_id")
    assert (joined["numerator"] == joined["numerator_right"]).all()
    assert (joined["denominator"] - joined["denominator_right"]).abs().max() < 1e-6


def test_benchmark_positions_from_published_cut_points():
    assert benchmark_position("breast_cancer_screening", 75.9).star == 3
    assert benchmark_position("breast_cancer_screening", 76.0).star == 4
    assert benchmark_position("pdc_statins", 50.0).star == 1
    # inverse measure: a rate at the published 50th percentile is the 50th performance percentile
    assert benchmark_position("readmission_30d", 15.07).percentile == pytest.approx(50.0)
    assert benchmark_position("readmission_30d", 13.43).percentile == pytest.approx(90.0)
    assert benchmark_position("readmission_30d", 16.12).percentile == pytest.approx(20.0)


def test_screening_shows_its_star_level_and_its_mips_ecqm_percentile():
    # MIPS PY2025 #112 eCQM deciles: P50 62.6, P60 68.22 (qpp-measures-data benchmarks/2025.json)
    at_median = benchmark_position("breast_cancer_screening", 62.6)
    assert at_median.percentile == pytest.approx(50.0)
    assert at_median.star == 2  # Stars 2026 C01: 58 <= rate < 71
    assert benchmark_position("breast_cancer_screening", 65.41).percentile == pytest.approx(55.0)
    assert "MIPS 2025" in at_median.text and "Stars 2026" in at_median.text
    # #113 eCQM: P80 73.82 (higher is better)
    assert benchmark_position("colorectal_cancer_screening", 73.82).percentile == pytest.approx(
        80.0
    )
    assert benchmark_position("colorectal_cancer_screening", 73.82).star == 4


def test_care_gaps_are_the_denominator_members_not_met(small_dataset, rows_2024):
    gaps = care_gaps(small_dataset, 2024, "breast_cancer_screening", measure_frame=rows_2024)
    bcs = rows_2024.filter(pl.col("measure_id") == "breast_cancer_screening")
    assert gaps.height == bcs.filter(pl.col("numerator") == 0).height
    assert set(gaps.columns) >= {"person_id", "provider_npi", "measure", "open_events"}
    tiers = pl.DataFrame({"person_id": gaps["person_id"], "risk_tier": "high"})
    with_tier = care_gaps(
        small_dataset, 2024, "breast_cancer_screening", measure_frame=rows_2024, risk_tiers=tiers
    )
    assert (with_tier["risk_tier"] == "high").all()


def test_bad_inputs_are_parameter_errors(small_dataset):
    with pytest.raises(ParameterError, match="not a process measure"):
        care_gaps(small_dataset, 2024, "pqi_90")
    with pytest.raises(ParameterError, match="no enrollment in 1999"):
        measure_rows(small_dataset, 1999)
    with pytest.raises(ParameterError, match="Unknown quality measure"):
        measure("pqi_99")
    with pytest.raises(ParameterError, match="unknown classes"):
        check_ndc_classes(pl.DataFrame({"ndc_code": ["1"], "drug_class": ["beta blocker"]}))
    with pytest.raises(ParameterError, match="by must be"):
        quality_results(small_dataset, 2024, by="county")
    with pytest.raises(ParameterError, match="No code list"):
        in_value_set("x", "nope")
