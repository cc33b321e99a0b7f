"""Benchmark and projection: the benchmark by hand, truncation, regional adjustments, and the
projection settling with the same code as ``settle``."""

from __future__ import annotations

import pytest

from contracts.settlement import settle
from contracts.specs import MsspSpec, preset
from modeling.errors import ParameterError


def test_benchmark_by_hand():
    """Two enrollment types, three baseline years: trend to BY3, weights 10/30/60, risk restatement
    to BY3 only where the year can be scored, update to PY with the capped risk ratio, and
    weighting by performance-year person-years."""
    import polars as pl

    from contracts.benchmark import build_benchmark

    baseline = pl.DataFrame(
        {
            "year": [2023, 2023, 2024, 2024, 2025, 2025],
            "enrollment_type": ["aged_non_dual", "disabled"] * 3,
            "person_years": [100.0, 50.0] * 3,
            "expenditures": [1e6, 6e5, 1.1e6, 6.6e5, 1.2e6, 7.2e5],
        }
    ).with_columns((pl.col("expenditures") / pl.col("person_years")).alias("per_capita"))
    risk = {
        2023: None,
        2024: pl.DataFrame({"enrollment_type": ["aged_non_dual", "disabled"], "risk": [0.95, 1.0]}),
        2025: pl.DataFrame({"enrollment_type": ["aged_non_dual", "disabled"], "risk": [1.0, 1.0]}),
        2026: pl.DataFrame({"enrollment_type": ["aged_non_dual", "disabled"], "risk": [1.10, 1.0]}),
    }
    py = pl.DataFrame(
        {"enrollment_type": ["aged_non_dual", "disabled"], "person_years": [90.0, 30.0]}
    )
    b = build_benchmark(
        baseline,
        performance_year=2026,
        weights=(0.1, 0.3, 0.6),
        annual_trend=0.05,
        risk=risk,
        risk_growth_cap=0.03,
        performance_person_years=py,
    )
    aged_hist = 0.1 * 10000 * 1.05**2 + 0.3 * 11000 * 1.05 * (1.0 / 0.95) + 0.6 * 12000
    dis_hist = 0.1 * 12000 * 1.05**2 + 0.3 * 13200 * 1.05 + 0.6 * 14400
    aggregate = (1.10 * 90 + 1.0 * 30) / 120  # 7.5% growth, capped at 3%
    scale = 1.03 / aggregate
    expected = (aged_hist * 1.05 * 1.10 * scale * 90 + dis_hist * 1.05 * 1.0 * scale * 30) / 120
    assert b.per_capita == pytest.approx(expected, rel=1e-12)
    assert b.risk_growth == pytest.approx(1.03)
    assert any("2023 cannot be risk-scored" in n for n in b.notes)
    acpt = build_benchmark(
        baseline,
        performance_year=2026,
        weights=(0.1, 0.3, 0.6),
        annual_trend=0.05,
        risk=risk,
        risk_growth_cap=0.03,
        performance_person_years=py,
        prospective_trend=0.02,
    )
    assert acpt.per_capita == pytest.approx(
        expected / 1.05 * (1 + (2 / 3) * 0.05 + (1 / 3) * 0.02), rel=1e-12
    )  # update blends in the ACPT


def test_truncation_caps_annualized_cost_and_applies_stop_loss():
    import polars as pl

    from contracts.benchmark import truncate

    frame = pl.DataFrame(
        {
            "person_id": list("abcde"),
            "year": [2025] * 5,
            "enrollment_type": ["aged_non_dual"] * 5,
            "months": [12, 12, 12, 12, 6],
            "paid": [1000.0, 2000.0, 3000.0, 400000.0, 100000.0],
        }
    )
    out = truncate(frame, 0.5, None)  # median of annualized (1k, 2k, 3k, 400k, 200k) = 3,000
    assert out["allowed_paid"].to_list() == [1000.0, 2000.0, 3000.0, 3000.0, 1500.0]
    assert truncate(frame, None, 150000.0)["allowed_paid"].to_list() == [
        1000.0,
        2000.0,
        3000.0,
        150000.0,
        100000.0,
    ]


def test_projection_settles_with_the_same_code_and_breaks_even_where_it_says(history):
    from dataclasses import replace

    from contracts.projection import Assumptions, project

    spec = MsspSpec(name="E", performance_year=2025, track="BASIC", level="E", msr_mlr=0.01)
    a = Assumptions(
        initiatives={"acute inpatient": -0.1}, quality_score=0.9, attribution_scale=4
    )  # 1,500 -> ~6,000 assigned
    p = project(spec, history, a)
    assert p.mode == "projected"
    assert p.settlement == settle(spec, p.performance)  # one source of truth
    be = p.break_even
    assert (
        be.starts_paying_at is not None
        and be.starts_costing_at is not None
        and be.starts_paying_at < be.starts_costing_at
    )

    def at(c):
        return settle(
            spec,
            replace(
                p.performance, expenditure_per_capita=p.performance.expenditure_per_capita * (1 + c)
            ),
        ).amount  # noqa: E731

    assert at(be.starts_paying_at - 1e-4) > 0 and at(be.starts_paying_at + 1e-4) == 0
    assert at(be.starts_costing_at - 1e-4) == 0 and at(be.starts_costing_at + 1e-4) < 0
    # the break-even reduction is the MSR measured against the projected expenditures
    expected = (
        p.performance.benchmark_per_capita * (1 - 0.01) / p.performance.expenditure_per_capita - 1
    )
    assert be.starts_paying_at == pytest.approx(expected, abs=1e-6)
    # initiatives lower projected expenditures
    assert (
        project(spec, history, Assumptions(attribution_scale=4)).performance.expenditure_per_capita
        > p.performance.expenditure_per_capita
    )


def test_projection_actual_year_and_errors(history):
    from contracts.projection import Assumptions, parse_assumptions, project

    with pytest.raises(ParameterError, match="below the 5,000"):
        project(MsspSpec(name="A", performance_year=2024, track="BASIC", level="A"), history)
    actual = project(
        MsspSpec(name="A", performance_year=2024, track="BASIC", level="A"),
        history,
        Assumptions(minimum_savings_rate=0.05),
    )
    assert actual.settlement["minimum_savings_rate"] == 0.05
    assert actual.mode == "actual" and actual.benchmark.baseline_years == (2023,)
    assert any("renormalized" in n for n in actual.notes)
    with pytest.raises(ParameterError, match="project the year after"):
        project(MsspSpec(name="A", performance_year=2026, track="BASIC", level="A"), history)
    with pytest.raises(ParameterError, match="unknown service categories"):
        parse_assumptions({"initiatives": {"surgery": -0.1}})
    ma = project(preset("ma-global-85-2026").model_copy(update={"performance_year": 2025}), history)
    assert ma.performance.benchmark_per_capita == pytest.approx(
        1250 * 12 * history.mean_payment_score(2025)
    )


def test_regional_and_prior_savings_adjustments_by_hand():
    import polars as pl

    from contracts.benchmark import RegionalInputs, regional_adjustment

    hist = pl.DataFrame(
        {
            "enrollment_type": ["aged_non_dual", "disabled", "esrd", "aged_dual"],
            "historical_per_capita": [10000.0, 12000.0, 80000.0, 20000.0],
        }
    )
    national = {
        "aged_non_dual": 11000.0,
        "disabled": 11500.0,
        "esrd": 90000.0,
        "aged_dual": 21000.0,
    }
    regional = {
        "aged_non_dual": 11000.0,
        "disabled": 11000.0,
        "esrd": 100000.0,
        "aged_dual": 10000.0,
    }

    def adj(inputs):
        return dict(
            regional_adjustment(hist, inputs)
            .select("enrollment_type", "regional_adjustment")
            .iter_rows()
        )  # noqa: E731

    first = adj(RegionalInputs(1, regional, national))
    assert first["aged_non_dual"] == pytest.approx(
        0.35 * 1000
    )  # spends less than its region: 35% of the gap
    assert first["disabled"] == pytest.approx(
        -0.15 * 1000
    )  # spends more: 15%, inside the -1.5% cap (-172.50)
    assert first["esrd"] == pytest.approx(
        0.05 * 90000
    )  # 35% x 20,000 = 7,000 capped at 5% of national
    assert first["aged_dual"] == pytest.approx(
        -0.015 * 21000
    )  # 15% x -10,000 = -1,500 capped at -1.5% of national
    second = adj(RegionalInputs(2, regional, national))
    assert second["aged_non_dual"] == pytest.approx(500) and second["disabled"] == pytest.approx(
        -250 if -250 > -172.5 else -172.5
    )
    renewing = adj(RegionalInputs(1, regional, national, prior_savings_per_capita=400))
    assert renewing == pytest.approx(
        {"aged_non_dual": 350, "disabled": 200, "esrd": 4500, "aged_dual": 200}
    )  # the more favorable of the two
    with pytest.raises(ParameterError, match="missing"):
        regional_adjustment(hist, RegionalInputs(1, {"aged_non_dual": 1.0}, national))


def test_projection_applies_the_regional_adjustment(history):
    from contracts.projection import Assumptions, project

    spec = MsspSpec(name="E", performance_year=2025, track="BASIC", level="E", msr_mlr=0.0)
    base = project(spec, history, Assumptions(attribution_scale=4))
    types = base.benchmark.by_type["enrollment_type"].to_list()
    regional = {
        t: v * 1.2
        for t, v in zip(types, base.benchmark.by_type["historical_per_capita"], strict=True)
    }
    national = {
        t: v for t, v in zip(types, base.benchmark.by_type["historical_per_capita"], strict=True)
    }
    up = project(
        spec,
        history,
        Assumptions(
            attribution_scale=4, regional_per_capita=regional, national_per_capita=national
        ),
    )
    assert (
        up.benchmark.per_capita > base.benchmark.per_capita
    )  # spending below the region raises the benchmark
    adjustments = dict(
        up.benchmark.by_type.select("enrollment_type", "regional_adjustment").iter_rows()
    )
    assert adjustments == pytest.approx(
        {t: 0.05 * national[t] for t in types}
    )  # 35% x 20% = 7% of historical, capped at 5% of national
    with pytest.raises(ParameterError, match="national_per_capita"):
        project(spec, history, Assumptions(attribution_scale=4, regional_per_capita=regional))
