"""Monte Carlo simulator: one source of truth with the deterministic engine, convergence, seeds,
and the summary of the distribution."""

from __future__ import annotations

import numpy as np
import pytest

from contracts.projection import Assumptions, project
from contracts.simulation import SimulationSummary, Uncertainty, simulate
from contracts.specs import MsspSpec, RiskCorridorsSpec, preset

ZERO = Uncertainty(
    trend_sd=0,
    member_noise=False,
    attribution_sd=0,
    risk_score_sd=0,
    quality_sd=0,
    initiative_sd_share=0,
)
LINEAR = RiskCorridorsSpec(
    name="linear 50/50", performance_year=2025, corridors=[{"from": 0.0, "provider_share": 0.5}]
)


@pytest.mark.parametrize(
    "spec",
    [
        LINEAR,
        preset("commercial-corridors-2026").model_copy(update={"performance_year": 2025}),
        MsspSpec(name="E", performance_year=2025, track="BASIC", level="E", msr_mlr=0.0),
    ],
    ids=["linear", "corridors", "mssp-e"],
)
def test_zero_variance_is_exactly_the_deterministic_settlement(history, spec):
    a = Assumptions(attribution_scale=4, initiatives={"acute inpatient": -0.05})
    deterministic = project(spec, history, a).settlement.amount
    result = simulate(spec, history, a, ZERO, draws=25, seed=9)
    assert (result.amounts == deterministic).all() and result.deterministic == deterministic


def test_same_seed_same_results_and_seeds_matter(history):
    a = Assumptions(initiatives={"acute inpatient": -0.05})
    one, two = (
        simulate(LINEAR, history, a, draws=500, seed=4),
        simulate(LINEAR, history, a, draws=500, seed=4),
    )
    assert np.array_equal(one.amounts, two.amounts)
    assert not np.array_equal(one.amounts, simulate(LINEAR, history, a, draws=500, seed=5).amounts)


def test_mean_converges_to_the_deterministic_value_where_settlement_is_linear(history):
    """A 50% share of every dollar of savings or losses is linear in costs; every source of noise
    has mean one (trend shock off: its log-normal mean is not one), so the simulated mean must
    sit within four standard errors of the deterministic settlement."""
    u = Uncertainty(trend_sd=0.0, attribution_sd=0.05, risk_score_sd=0.02, quality_sd=0.05)
    result = simulate(LINEAR, history, Assumptions(), u, draws=20_000, seed=11)
    s = result.summary()
    assert abs(s.expected_settlement - s.deterministic_settlement) < 4 * s.standard_error
    assert s.standard_error > 0


def test_different_draws_give_consistent_estimates(history):
    a = Assumptions(attribution_scale=4)
    spec = MsspSpec(name="E", performance_year=2025, track="BASIC", level="E", msr_mlr=0.01)
    small, large = (
        simulate(spec, history, a, draws=2_000, seed=1).summary(),
        simulate(spec, history, a, draws=20_000, seed=2).summary(),
    )
    gap = abs(small.expected_settlement - large.expected_settlement)
    assert gap < 4 * np.hypot(small.standard_error, large.standard_error)
    assert 0 <= large.p_owes_losses <= 1 and large.cvar_95 >= large.value_at_risk_95
    conv = simulate(spec, history, a, draws=2_000, seed=1).convergence()
    assert conv["standard_error"][-1] < conv["standard_error"][0]


def test_break_even_distribution_centres_on_the_deterministic_break_even(history):
    """With only the trend shock, each simulated year's break-even (the change in its own costs at
    which it starts to pay) is the deterministic one moved by that year's shock; the median sits
    near the deterministic break-even and the spread follows the shock."""
    base = project(LINEAR, history, Assumptions())
    u = Uncertainty(
        trend_sd=0.02, member_noise=False, attribution_sd=0, risk_score_sd=0, quality_sd=0
    )
    result = simulate(LINEAR, history, Assumptions(), u, draws=2_000, seed=8, projection=base)
    assert len(result.break_even) == 100
    assert np.median(result.break_even) == pytest.approx(
        base.break_even.starts_paying_at, abs=0.005
    )
    assert result.break_even.std() > 0.01  # the trend shock moves it


def test_summary_is_typed_and_its_dict_keeps_the_saved_keys(history):
    result = simulate(LINEAR, history, Assumptions(), draws=500, seed=2)
    s = result.summary()
    assert isinstance(s, SimulationSummary)
    assert list(s.to_dict()) == [
        "expected_settlement",
        "standard_error",
        "deterministic_settlement",
        "p_shared_savings",
        "p_owes_losses",
        "p_hits_payment_limit",
        "p_hits_loss_cap",
        "value_at_risk_95",
        "cvar_95",
        "p05",
        "median",
        "p95",
        "expected_savings_rate",
        "break_even_median",
        "break_even_p10",
        "break_even_p90",
    ]
    assert (
        s.expected_settlement == float(result.amounts.mean()) == s.to_dict()["expected_settlement"]
    )
    with pytest.raises(AttributeError):
        s.median = 0.0  # frozen
