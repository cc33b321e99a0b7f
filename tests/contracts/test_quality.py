"""Quality in the contracts: the standard by year, outcome percentiles, measured quality into a
settlement and a simulation."""

from __future__ import annotations

import numpy as np
import pytest

from contracts.projection import Assumptions, project
from contracts.quality import (
    entered_quality,
    measured_quality,
    performance_percentile,
    quality_standard,
    simulate_with_quality,
    with_quality,
)
from contracts.specs import MsspSpec
from modeling.errors import ParameterError


def test_the_standard_is_data_by_year():
    s = quality_standard(2026)
    assert s.qps_percentile == 40 and s.qps_score == 73.85
    assert "479" in s.outcome_measures and "484" in s.outcome_measures
    assert quality_standard(2025).outcome_measures == ("001", "236", "479")
    with pytest.raises(ParameterError, match="mssp_quality_standard.csv"):
        quality_standard(2031)


def test_outcome_rates_map_to_inverse_performance_percentiles():
    got = performance_percentile("readmission_30d", np.array([15.07, 16.71, 13.43, 20.0]))
    assert got.tolist() == pytest.approx([50.0, 10.0, 90.0, 10.0])
    assert performance_percentile("mcc_admissions", np.array([35.83]))[0] == pytest.approx(50.0)


@pytest.fixture(scope="module")
def measured(small_dataset):
    return measured_quality(small_dataset, 2024, quality_score=0.70, draws=50)


def test_measured_quality_from_the_panel(measured):
    assert measured.source == "measured panel"
    assert set(measured.outcome_rates) == {"479", "484"}
    for k, pct in measured.outcome_percentiles.items():
        assert 10.0 <= pct <= 90.0 or pct in (10.0, 90.0)
        assert measured.percentile_draws[k].shape == (50,)
    assert measured.meets_alternative_quality_standard == any(
        p >= 10 for p in measured.outcome_percentiles.values()
    )
    assert 0.0 <= measured.p_alternative_standard <= 1.0
    assert not measured.meets_quality_standard  # 70 < 77.05 (PY2024)
    assert set(measured.reach_measures) == {"ACR", "UAMCC", "TFU"}


def test_settlement_runs_on_the_measured_quality(history, measured):
    spec = MsspSpec(name="E", performance_year=2025, track="ENHANCED", msr_mlr=0.0)
    q = entered_quality(2025, quality_score=0.70, meets_alternative_quality_standard=True)
    a = with_quality(Assumptions(attribution_scale=4), q)
    assert a.quality_score == 0.70 and not a.meets_quality_standard
    assert a.meets_alternative_quality_standard
    p = project(spec, history, a)
    assert p.performance.quality_score == 0.70
    assert p.performance.meets_alternative_quality_standard
    m = with_quality(Assumptions(attribution_scale=4), measured)
    assert m.meets_alternative_quality_standard == measured.meets_alternative_quality_standard
    mix = simulate_with_quality(
        spec, history, Assumptions(attribution_scale=4), None, measured, draws=200
    )
    p_alt = measured.p_alternative_standard
    expected = (
        p_alt * mix.with_alternative.amounts.mean()
        + (1 - p_alt) * mix.without_alternative.amounts.mean()
    )
    assert mix.expected_settlement == pytest.approx(expected)
    with pytest.raises(ParameterError, match="fraction"):
        entered_quality(2025, quality_score=7.0)
