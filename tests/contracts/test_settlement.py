"""Settlement: the worked cases to the cent, each family's rules, the waterfall, and invariants."""

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
    preset,
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


def _steps(settlement):
    w = settlement.waterfall()
    return list(zip(w["step"], w["kind"], w["amount"], strict=True))


def test_waterfall_steps_on_hand_computed_cases():
    """Each step's value, worked by hand (person-years 1,000, so totals are 1,000 x per capita);
    the telescoping test above cannot see a step that is wrong in a way the next step undoes."""
    e = MsspSpec(name="E", performance_year=2025, track="BASIC", level="E")
    # 30% savings: gross $3,000,000; BASIC E shares 50% -> $1,500,000; the performance payment
    # limit is 10% of the $10,000,000 benchmark -> $1,000,000 paid
    capped = settle(e, Performance(10000, 7000, 1000, msr=0.02, mlr=0.02))
    assert _steps(capped) == [
        ("Benchmark - expenditures", "start", pytest.approx(3_000_000)),
        ("Medicare's share", "change", pytest.approx(-1_500_000)),
        ("Above the payment limit", "change", pytest.approx(-500_000)),
        ("Settlement", "total", pytest.approx(1_000_000)),
    ]
    # 10% losses: gross -$1,000,000; the shared loss rate is 30% -> $300,000; the loss cap is the
    # lower of 4% of the benchmark ($400,000) and 8% of $2,000,000 participant revenue ($160,000)
    owed = settle(
        e, Performance(10000, 11000, 1000, msr=0.02, mlr=0.02, participant_ffs_revenue=2e6)
    )
    assert _steps(owed) == [
        ("Benchmark - expenditures", "start", pytest.approx(-1_000_000)),
        ("Medicare's share of losses", "change", pytest.approx(700_000)),
        ("Beyond the loss cap", "change", pytest.approx(140_000)),
        ("Settlement", "total", pytest.approx(-160_000)),
    ]
    a = MsspSpec(name="A", performance_year=2025, track="BASIC", level="A")
    assert _steps(settle(a, Performance(10000, 9700, 1000, msr=0.05))) == [
        ("Benchmark - expenditures", "start", pytest.approx(300_000)),
        ("Below the minimum savings rate", "change", pytest.approx(-300_000)),
        ("Settlement", "total", 0.0),
    ]  # 3% savings under a 5% MSR
    assert _steps(settle(a, Performance(10000, 11000, 1000, msr=0.02))) == [
        ("Benchmark - expenditures", "start", pytest.approx(-1_000_000)),
        ("One-sided: losses not shared", "change", pytest.approx(1_000_000)),
        ("Settlement", "total", 0.0),
    ]
    # commercial, quality gate missed: nothing shared of the $1,000,000 gross; the $2 PMPM fee
    # (2 x 12 x 1,000 = $24,000) is paid regardless
    gated = SharedSavingsSpec(
        name="U", performance_year=2026, quality_gate=0.6, care_management_pmpm=2.0
    )
    assert _steps(settle(gated, Performance(12000, 11000, 1000, quality_score=0.5))) == [
        ("Benchmark - expenditures", "start", pytest.approx(1_000_000)),
        ("Not shared (threshold, rate, quality, cap)", "change", pytest.approx(-1_000_000)),
        ("Care-management fees, net", "change", pytest.approx(24_000)),
        ("Settlement", "total", pytest.approx(24_000)),
    ]
    # corridors: 0% of the first 2 points of a 10% savings rate, 50% of the other 8 points of the
    # $10,000,000 target -> $400,000 of the $1,000,000 gross
    corridors = RiskCorridorsSpec(
        name="C",
        performance_year=2025,
        corridors=[
            {"from": 0.0, "to": 0.02, "provider_share": 0.0},
            {"from": 0.02, "provider_share": 0.5},
        ],
    )
    assert _steps(settle(corridors, Performance(10000, 9000, 1000))) == [
        ("Benchmark - expenditures", "start", pytest.approx(1_000_000)),
        ("Not shared with the provider", "change", pytest.approx(-600_000)),
        ("Settlement", "total", pytest.approx(400_000)),
    ]


def test_typed_figures_and_missing_lines():
    e = MsspSpec(name="E", performance_year=2025, track="BASIC", level="E")
    capped = settle(e, Performance(10000, 7000, 1000, msr=0.02, mlr=0.02))
    f = capped.figures
    assert f.msr_met is True and f.mlr_met is None and not f.below_msr_low_revenue
    assert f.shared_savings_before_limit == pytest.approx(1_500_000)
    assert f.payment_limit == f.performance_payment_limit == pytest.approx(1_000_000)
    assert f.hits_payment_limit and not f.hits_loss_cap and f.loss_cap is None
    owed = settle(
        e, Performance(10000, 11000, 1000, msr=0.02, mlr=0.02, participant_ffs_revenue=2e6)
    )
    assert owed.figures.hits_loss_cap and owed.figures.loss_cap == pytest.approx(160_000)
    assert owed.figures.loss_before_cap == pytest.approx(300_000)
    commercial = settle(
        SharedSavingsSpec(name="U", performance_year=2026, payout_cap_pct_target=0.04),
        Performance(12000, 11000, 1000),
    )
    assert commercial.figures.performance_payment_limit is None
    assert commercial.figures.payment_limit == commercial["payout_cap"] == pytest.approx(480_000)
    assert commercial.figures.hits_payment_limit  # 50% of $1,000,000 is above the $480,000 cap
    with pytest.raises(ParameterError, match="no line 'nope'.*shared_savings_before_limit"):
        capped["nope"]
    assert capped.get("nope") is None and capped.get("nope", 1.0) == 1.0


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
