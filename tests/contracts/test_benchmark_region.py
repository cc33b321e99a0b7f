"""The benchmark with a region: the regional adjustment on the region's weighted, trended
expenditures and the national-regional growth in place of the panel's own, by hand; and the
default-style panel settling to a spread of outcomes."""

from __future__ import annotations

import polars as pl
import pytest

from contracts.benchmark import RegionalInputs, build_benchmark
from contracts.history import panel_history
from contracts.projection import project
from contracts.specs import default_presets, preset
from modeling.errors import ParameterError
from modeling.synth import SynthSpec, generate


def _baseline() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "year": [2023, 2024],
            "enrollment_type": ["aged_non_dual"] * 2,
            "person_years": [100.0, 100.0],
            "expenditures": [100_000.0, 105_000.0],
            "per_capita": [1000.0, 1050.0],
        }
    )


def _region(**kw) -> RegionalInputs:
    base = dict(
        agreement_period=1,
        regional_per_capita={},
        national_per_capita={},
        regional_by_year={2023: {"aged_non_dual": 1100.0}, 2024: {"aged_non_dual": 1155.0}},
        national_by_year={2024: {"aged_non_dual": 1000.0}},
        growth_by_year={2024: 0.05, 2025: 0.04},
    )
    return RegionalInputs(**(base | kw))


def test_the_regional_adjustment_and_the_blended_trend_by_hand():
    b = build_benchmark(
        _baseline(),
        performance_year=2025,
        weights=(0.4, 0.6),
        annual_trend=None,
        risk=None,
        risk_growth_cap=None,
        performance_person_years=pl.DataFrame(
            {"enrollment_type": ["aged_non_dual"], "person_years": [100.0]}
        ),
        regional=_region(),
    )
    historical = 0.4 * 1000 * 1.05 + 0.6 * 1050  # 1,050: BY1 trended at the region's 2024 growth
    regional = 0.4 * 1100 * 1.05 + 0.6 * 1155  # 1,155, weighted and trended the same way
    adjustment = min(0.35 * (regional - historical), 0.05 * 1000)  # first agreement, ACO below
    assert b.per_capita == pytest.approx((historical + adjustment) * 1.04)  # 2025 growth 4%
    assert b.annual_trend == pytest.approx(0.05)
    # with the ACPT (one-third from 2024), the update blends the growth factors
    acpt = build_benchmark(
        _baseline(),
        performance_year=2025,
        weights=(0.4, 0.6),
        annual_trend=None,
        risk=None,
        risk_growth_cap=None,
        performance_person_years=pl.DataFrame(
            {"enrollment_type": ["aged_non_dual"], "person_years": [100.0]}
        ),
        regional=_region(),
        prospective_trend=0.01,
    )
    blend = 2 / 3 * 1.04 + 1 / 3 * 1.01
    assert acpt.per_capita == pytest.approx((historical + adjustment) * blend)


def test_a_region_without_a_baseline_year_is_a_clear_error():
    with pytest.raises(ParameterError, match="baseline year 2023"):
        build_benchmark(
            _baseline(),
            performance_year=2025,
            weights=(0.4, 0.6),
            annual_trend=None,
            risk=None,
            risk_growth_cap=None,
            performance_person_years=pl.DataFrame(
                {"enrollment_type": ["aged_non_dual"], "person_years": [100.0]}
            ),
            regional=_region(regional_by_year={2024: {"aged_non_dual": 1155.0}}),
        )
    with pytest.raises(ParameterError, match="national_regional_growth"):
        RegionalInputs.from_region({"regional_per_capita": {}}, agreement_period=1)


def test_the_default_presets_settle_to_a_spread_of_outcomes(tmp_path_factory):
    # the default panel's generator at 6,000 members (enough for the size-based MSR)
    out = tmp_path_factory.mktemp("region") / "p"
    ds = generate(SynthSpec(members=6_000, start_year=2023, years=3, seed=20240601), out)
    history = panel_history(ds)
    assert history.region is not None
    names = [n for n in default_presets(history.years[-1] + 1) if n.startswith("mssp-")]
    amounts = {n: project(preset(n), history).settlement.amount for n in names}
    assert all(a != 0 for a in amounts.values()), amounts
    assert len({round(a) for a in amounts.values()}) >= 3  # 40%, 50% and 75% sharing differ
    p = project(preset(names[0]), history).performance
    rate = (p.benchmark_per_capita - p.expenditure_per_capita) / p.benchmark_per_capita
    assert 0.007 <= rate <= 0.058  # inside the published PY2021 interquartile range
