"""Contract engine: the worked cases to the cent, program parameters, specs, and invariants."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.parameters import mssp_rules, size_based_msr
from contracts.settlement import Performance, settle
from contracts.specs import (
    MaPercentOfPremiumSpec,
    MsspSpec,
    ReachSpec,
    RiskCorridorsSpec,
    SharedSavingsSpec,
    load_spec,
    parse_spec,
    preset,
    preset_names,
)
from modeling.errors import ParameterError

# the worked cases of shared/reference/contract_cases, copied into the repo so CI has them
CASES = json.loads(
    (Path(__file__).resolve().parent / "data" / "shared_savings_cases.json").read_text()
)["cases"]


def case_spec_and_performance(case: dict):
    i = case["inputs"]
    if case["program"] == "MSSP":
        spec = MsspSpec(
            name=case["id"], performance_year=2025, track=case["track"], level=case.get("level")
        )
        perf = Performance(
            benchmark_per_capita=i["benchmark_per_capita"],
            expenditure_per_capita=i["expenditure_per_capita"],
            person_years=i["person_years"],
            assigned_beneficiaries=i["assigned_beneficiaries"],
            meets_quality_standard=i["meets_quality_standard"],
            participant_ffs_revenue=i.get("participant_ffs_revenue"),
            msr=i.get("msr"),
            mlr=i.get("mlr"),
        )
    elif case["program"] == "commercial":
        spec = RiskCorridorsSpec(name=case["id"], performance_year=2025, corridors=i["corridors"])
        perf = Performance(i["target_pmpm"] * 12, i["actual_pmpm"] * 12, i["member_months"] / 12)
    else:
        spec = MaPercentOfPremiumSpec(
            name=case["id"],
            performance_year=2025,
            percent_of_premium=i["percent_of_premium"],
            premium_pmpm=i["premium_pmpm"],
            surplus_share=i["surplus_share"],
            deficit_share=i["deficit_share"],
        )
        perf = Performance(
            i["premium_pmpm"] * 12, i["medical_cost_pmpm"] * 12, i["member_months"] / 12
        )
    return spec, perf


def value(settlement, key: str):
    aliases = {"target_total": "benchmark_total", "provider_settlement": None}
    if key == "provider_settlement":
        return settlement.amount
    if key in ("shared_savings", "shared_losses") and settlement.get(key) is None:
        return (
            max(settlement.amount, 0.0) if key == "shared_savings" else max(-settlement.amount, 0.0)
        )
    return settlement[aliases.get(key, key)]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_worked_case_reproduces_every_expected_figure(case):
    spec, perf = case_spec_and_performance(case)
    result = settle(spec, perf)
    for key, expected in case["expected"].items():
        got = value(result, key)
        if isinstance(expected, bool):
            assert got is expected, key
        else:
            assert got == pytest.approx(expected, abs=0.005), key  # to the cent


def test_size_based_msr_interpolates_within_bands():
    assert size_based_msr(5000) == pytest.approx(0.039)
    assert size_based_msr(12000) == pytest.approx(0.0288)  # 3.0% - 0.3 points x 2,000/5,000
    assert size_based_msr(60000) == pytest.approx(0.02)
    assert size_based_msr(250000) == pytest.approx(0.02)
    rates = [size_based_msr(n) for n in range(5000, 61000, 250)]
    assert all(a >= b for a, b in zip(rates, rates[1:], strict=False))  # never rises with size
    with pytest.raises(ParameterError, match="below the 5,000"):
        size_based_msr(4999)


def test_mssp_uses_the_size_based_msr_and_the_elected_rate():
    perf = dict(
        benchmark_per_capita=12000,
        expenditure_per_capita=11700,
        person_years=11800,
        assigned_beneficiaries=12000,
        participant_ffs_revenue=5e7,
    )
    one_sided = settle(
        MsspSpec(name="A", performance_year=2025, track="BASIC", level="A"), Performance(**perf)
    )
    assert (
        one_sided["minimum_savings_rate"] == pytest.approx(0.0288) and one_sided.amount == 0
    )  # 2.5% < 2.88%
    elected = settle(
        MsspSpec(name="E", performance_year=2025, track="BASIC", level="E", msr_mlr=0.02),
        Performance(**perf),
    )
    assert elected["minimum_savings_rate"] == 0.02 and elected.amount == pytest.approx(
        0.025 * 12000 * 11800 * 0.5
    )
    small = settle(
        MsspSpec(name="E", performance_year=2025, track="BASIC", level="E", msr_mlr=0.0),
        Performance(
            **{**perf, "assigned_beneficiaries": 4500, "person_years": 4400}, msr=0.04, mlr=0.04
        ),
    )
    assert (
        small["minimum_savings_rate"] == 0.04
    )  # below 5,000 the elected rate gives way to CMS's size-based figure


def test_quality_sliding_scale_and_missing_standards():
    spec = MsspSpec(name="C", performance_year=2025, track="BASIC", level="C", msr_mlr=0.0)
    base = dict(
        benchmark_per_capita=10000,
        expenditure_per_capita=9500,
        person_years=10000,
        assigned_beneficiaries=10000,
        participant_ffs_revenue=5e7,
    )
    full = settle(spec, Performance(**base))
    scaled = settle(
        spec,
        Performance(
            **base,
            meets_quality_standard=False,
            meets_alternative_quality_standard=True,
            quality_score=0.6,
        ),
    )
    none = settle(spec, Performance(**base, meets_quality_standard=False))
    assert (
        full["final_sharing_rate"] == 0.5
        and scaled["final_sharing_rate"] == pytest.approx(0.3)
        and none.amount == 0
    )
    assert scaled.amount == pytest.approx(0.6 * full.amount)


def test_enhanced_loss_rate_follows_quality():
    spec = MsspSpec(name="EN", performance_year=2025, track="ENHANCED", msr_mlr=0.0)
    base = dict(
        benchmark_per_capita=10000,
        expenditure_per_capita=10500,
        person_years=10000,
        assigned_beneficiaries=10400,
    )
    assert (
        settle(spec, Performance(**base))["shared_loss_rate"] == 0.40
    )  # 1 - 75% below the 40% floor
    low = settle(
        spec,
        Performance(
            **base,
            meets_quality_standard=False,
            meets_alternative_quality_standard=True,
            quality_score=0.5,
        ),
    )
    assert low["shared_loss_rate"] == pytest.approx(0.625)  # 1 - 37.5%
    assert (
        settle(spec, Performance(**base, meets_quality_standard=False))["shared_loss_rate"] == 0.75
    )  # capped at 75%


def test_low_revenue_basic_aco_shares_half_below_the_msr():
    spec = MsspSpec(name="A", performance_year=2025, track="BASIC", level="A", low_revenue_aco=True)
    r = settle(spec, Performance(12000, 11700, 11800, assigned_beneficiaries=12000))
    assert r["final_sharing_rate"] == 0.2 and r.amount == pytest.approx(3540000 * 0.2)


def test_basic_two_sided_needs_participant_revenue():
    with pytest.raises(ParameterError, match="participant_ffs_revenue"):
        settle(
            MsspSpec(name="D", performance_year=2025, track="BASIC", level="D", msr_mlr=0.0),
            Performance(10000, 10500, 5000, assigned_beneficiaries=5100),
        )


def test_missing_performance_year_is_a_clear_error():
    with pytest.raises(ParameterError, match="mssp_parameters.csv"):
        mssp_rules(2019, "BASIC", "A")


def test_reach_discount_withhold_and_corridors():
    spec = ReachSpec(name="G", performance_year=2025, risk_option="global")
    r = settle(
        spec,
        Performance(
            benchmark_per_capita=10000,
            expenditure_per_capita=6000,
            person_years=1000,
            quality_score=0.5,
        ),
    )
    adjusted = 10000 * (1 - 0.04 - 0.02 + 0.02 * 0.5)  # 4% discount, 2% withhold, half earned back
    rate = (adjusted - 6000) / adjusted
    bands = (
        (min(rate, 0.25) * 1.0 + (min(rate, 0.35) - 0.25) * 0.5 + (rate - 0.35) * 0.25)
        * adjusted
        * 1000
    )
    assert r.amount == pytest.approx(bands)
    prof = settle(
        ReachSpec(name="P", performance_year=2025, risk_option="professional"),
        Performance(10000, 11000, 1000, quality_score=1.0),
    )
    # a 10% loss goes through the Professional corridors: 50% of the first 5 points, 35% of the next 5
    assert prof.amount == pytest.approx(-(0.05 * 0.50 + 0.05 * 0.35) * 10000 * 1000)
    assert prof["first_corridor_share"] == 0.5
    small = settle(
        ReachSpec(name="P", performance_year=2025, risk_option="professional"),
        Performance(10000, 9700, 1000, quality_score=1.0),
    )
    assert small.amount == pytest.approx(
        0.5 * 300 * 1000
    )  # inside the first corridor: the option's 50%
    with pytest.raises(ParameterError, match="first corridor from 25% to 10%"):
        settle(
            ReachSpec(name="G26", performance_year=2026, risk_option="global"),
            Performance(10000, 9000, 1000),
        )


def test_commercial_upside_gate_threshold_cap_and_fee():
    spec = SharedSavingsSpec(
        name="U",
        performance_year=2026,
        minimum_savings_rate=0.02,
        sharing_rate=0.5,
        quality_gate=0.6,
        payout_cap_pct_target=0.04,
        care_management_pmpm=2.0,
    )
    perf = dict(benchmark_per_capita=12000, expenditure_per_capita=11000, person_years=1000)
    fee = 2.0 * 12000
    passed = settle(spec, Performance(**perf, quality_score=0.7))
    assert passed["shared_savings"] == pytest.approx(min(1000 * 1000 * 0.5, 0.04 * 12e6))
    assert passed.amount == pytest.approx(
        passed["shared_savings"]
    )  # the fee is netted from savings above it
    failed = settle(spec, Performance(**perf, quality_score=0.5))
    assert failed.amount == pytest.approx(fee)  # gate missed: only the fee
    excess = settle(
        spec.model_copy(
            update={
                "share_from_first_dollar": False,
                "payout_cap_pct_target": None,
                "care_management_pmpm": 0.0,
            }
        ),
        Performance(**perf, quality_score=0.7),
    )
    assert excess.amount == pytest.approx((1e6 - 0.02 * 12e6) * 0.5)


def test_waterfall_ends_at_the_settlement():
    for case in CASES:
        spec, perf = case_spec_and_performance(case)
        r = settle(spec, perf)
        w = r.waterfall()
        assert w["amount"][:-1].sum() == pytest.approx(r.amount, abs=1e-6)


# ---------------------------------------------------------------------------- properties


def mssp_specs():
    levels = [("BASIC", lvl) for lvl in "ABCDE"] + [("ENHANCED", None)]
    return st.sampled_from(levels).map(
        lambda tl: MsspSpec(
            name="p", performance_year=2025, track=tl[0], level=tl[1], msr_mlr="size_based"
        )
    )


@settings(max_examples=300, deadline=None)
@given(
    spec=mssp_specs(),
    bench=st.floats(5000, 30000),
    e1=st.floats(0.5, 1.5),
    e2=st.floats(0.5, 1.5),
    assigned=st.integers(5000, 80000),
    quality=st.floats(0, 1),
    alt=st.booleans(),
    meets=st.booleans(),
)
def test_mssp_settlement_invariants(spec, bench, e1, e2, assigned, quality, alt, meets):
    person_years = assigned * 0.97
    revenue = bench * person_years * 0.4

    def perf(e):
        return Performance(
            bench,
            bench * e,
            person_years,
            assigned_beneficiaries=assigned,
            participant_ffs_revenue=revenue,  # noqa: E731
            quality_score=quality,
            meets_quality_standard=meets,
            meets_alternative_quality_standard=alt,
        )

    lo, hi = sorted((e1, e2))
    a, b = settle(spec, perf(hi)), settle(spec, perf(lo))
    assert a.amount <= b.amount + 1e-6  # more savings never pays less
    rules = mssp_rules(2025, spec.track, spec.level)
    total = bench * person_years
    for r in (a, b):
        assert r.amount <= rules.payment_limit_pct_benchmark * total + 1e-6
        if rules.two_sided:
            cap = min(
                c
                for c in (
                    rules.loss_cap_pct_benchmark * total,
                    (rules.loss_cap_pct_revenue or 1e18) * revenue,
                )
            )
            assert r.amount >= -cap - 1e-6
        else:
            assert r.amount >= 0
        msr = r["minimum_savings_rate"]
        rate = (r["benchmark_total"] - r["expenditure_total"]) / r["benchmark_total"]
        if -(r.get("minimum_loss_rate") or 0) < rate < msr:
            assert r.amount == 0  # between the thresholds nothing is shared
    sharing = settle(spec, perf(0.9))
    if meets:
        assert sharing["final_sharing_rate"] in (rules.max_sharing_rate, 0.0)
    elif alt:
        assert sharing["final_sharing_rate"] in (
            pytest.approx(rules.max_sharing_rate * quality),
            0.0,
        )


@settings(max_examples=200, deadline=None)
@given(e1=st.floats(0.6, 1.4), e2=st.floats(0.6, 1.4))
def test_corridor_settlement_is_monotone_and_continuous(e1, e2):
    spec = preset("commercial-corridors-2026")
    f = lambda e: settle(spec, Performance(12000, 12000 * e, 1000)).amount  # noqa: E731
    lo, hi = sorted((e1, e2))
    assert f(hi) <= f(lo) + 1e-6
    assert abs(f(e1 + 1e-7) - f(e1)) < 1.0  # no jumps: corridors are continuous


def test_mssp_first_dollar_jump_at_the_threshold():
    """Once the MSR is met savings are shared from the first dollar: the settlement jumps at the
    threshold by the rate x the savings at the MSR (the documented discontinuity)."""
    spec = MsspSpec(name="A", performance_year=2025, track="BASIC", level="A")
    msr = size_based_msr(12000)
    below = settle(
        spec, Performance(12000, 12000 * (1 - msr + 1e-9), 11800, assigned_beneficiaries=12000)
    )
    at = settle(spec, Performance(12000, 12000 * (1 - msr), 11800, assigned_beneficiaries=12000))
    assert below.amount == 0 and at.amount == pytest.approx(0.4 * msr * 12000 * 11800)


# --------------------------------------------------------------------------------- specs


def test_presets_load_and_cover_the_programs():
    names = preset_names()
    for year in (2024, 2025, 2026):
        for level in "abcde":
            assert f"mssp-basic-{level}-{year}" in names
        assert f"mssp-enhanced-{year}" in names and f"reach-global-{year}" in names
    for name in names:
        assert preset(name).name


def test_spec_errors_name_the_field_and_the_fix(tmp_path):
    with pytest.raises(ParameterError, match="level"):
        parse_spec({"family": "mssp", "name": "x", "performance_year": 2025, "track": "BASIC"})
    with pytest.raises(ParameterError, match="msr_mlr"):
        parse_spec(
            {
                "family": "mssp",
                "name": "x",
                "performance_year": 2025,
                "track": "BASIC",
                "level": "E",
                "msr_mlr": 0.03,
            }
        )
    with pytest.raises(ParameterError, match="contiguous"):
        parse_spec(
            {
                "family": "risk_corridors",
                "name": "x",
                "performance_year": 2025,
                "corridors": [
                    {"from": 0, "to": 0.02, "provider_share": 0},
                    {"from": 0.03, "provider_share": 0.5},
                ],
            }
        )
    with pytest.raises(ParameterError, match="family"):
        parse_spec({"name": "x"})
    bad = tmp_path / "bad.toml"
    bad.write_text(
        "family = 'shared_savings'\nname = 'x'\nperformance_year = 2026\nsharing_rate = 1.5\n"
    )
    with pytest.raises(ParameterError, match="sharing_rate"):
        load_spec(bad)
    good = tmp_path / "mine.json"
    good.write_text(
        json.dumps(
            {
                "family": "shared_savings",
                "name": "Mine",
                "performance_year": 2026,
                "sharing_rate": 0.4,
            }
        )
    )
    assert load_spec(good).sharing_rate == 0.4
    with pytest.raises(ParameterError, match="Presets"):
        load_spec(tmp_path / "nothing.toml")


# ------------------------------------------------------------------ benchmark and projection


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


@pytest.fixture(scope="module")
def history(small_dataset):
    from contracts.history import panel_history

    return panel_history(small_dataset, payment_score_years=(2025,))


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
