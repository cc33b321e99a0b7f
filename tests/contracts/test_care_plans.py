"""A care-management plan's savings as initiative assumptions: the effects by hand, the
projection moving with them, their sd in the Monte Carlo, and plans saved as scenarios."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from contracts.benchmark import truncate
from contracts.care_plans import (
    category_spending,
    contract_effect,
    list_plans,
    load_plan,
    plan_initiatives,
    save_plan,
    with_plan,
)
from contracts.projection import Assumptions, parse_assumptions, project
from contracts.simulation import Uncertainty, simulate
from contracts.specs import RiskCorridorsSpec
from modeling.errors import ParameterError

LINEAR = RiskCorridorsSpec(
    name="linear 50/50", performance_year=2025, corridors=[{"from": 0.0, "provider_share": 0.5}]
)
ONLY_INITIATIVES = Uncertainty(
    trend_sd=0,
    member_noise=False,
    attribution_sd=0,
    risk_score_sd=0,
    quality_sd=0,
    initiative_sd_share=0,
)


def savings(inpatient: float, sd: float) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "service_category": ["acute inpatient", "home health"],
            "expected_savings": [inpatient, 0.0],
            "sd": [sd, 0.0],
        }
    )


def test_effects_are_the_savings_over_the_categorys_truncated_spending(history):
    last = history.expenditures.filter(pl.col("year") == history.years[-1])
    spent = float(
        truncate(last, LINEAR.truncation_percentile, LINEAR.stop_loss_attachment)[
            "acute inpatient"
        ].sum()
    )
    assert category_spending(history, LINEAR)["acute inpatient"] == pytest.approx(spent)
    plan = plan_initiatives(
        savings(50_000.0, 10_000.0), history, LINEAR, program_cost=20_000.0, members=40
    )
    assert plan.effects == {"acute inpatient": pytest.approx(-50_000.0 / spent)}
    assert plan.sd == {"acute inpatient": pytest.approx(10_000.0 / spent)}
    assert plan.program_cost == 20_000.0 and plan.members == 40
    with pytest.raises(ParameterError, match="not below the panel's spending"):
        plan_initiatives(savings(spent * 2, 0.0), history, LINEAR)


def test_the_projection_moves_by_the_plans_share_weighted_effect(history):
    plan = plan_initiatives(savings(80_000.0, 20_000.0), history, LINEAR)
    base = project(LINEAR, history, Assumptions())
    moved = project(LINEAR, history, with_plan(Assumptions(), plan))
    spending = category_spending(history, LINEAR)
    share = spending["acute inpatient"] / sum(spending.values())
    factor = 1 + share * plan.effects["acute inpatient"]
    assert moved.performance.expenditure_per_capita == pytest.approx(
        base.performance.expenditure_per_capita * factor
    )
    assert moved.settlement.amount > base.settlement.amount


def test_with_plan_adds_effects_and_variances():
    plan_like = type(
        "P", (), {"effects": {"acute inpatient": -0.02}, "sd": {"acute inpatient": 0.005}}
    )()
    a = Assumptions(initiatives={"acute inpatient": -0.04, "home health": -0.01})
    combined = with_plan(a, plan_like, initiative_sd_share=0.5)
    assert combined.initiatives["acute inpatient"] == pytest.approx(-0.06)
    assert combined.initiatives["home health"] == -0.01
    assert combined.initiative_sd["acute inpatient"] == pytest.approx(np.sqrt(0.02**2 + 0.005**2))
    assert "home health" not in combined.initiative_sd


def test_the_monte_carlo_draws_the_plans_sd(history):
    plan = plan_initiatives(savings(80_000.0, 20_000.0), history, LINEAR)
    a = with_plan(Assumptions(), plan)
    result = simulate(LINEAR, history, a, ONLY_INITIATIVES, draws=20_000, seed=3)
    base = project(LINEAR, history, a)
    # the linear 50/50 corridor pays half the savings: the settlement's sd is half the sd of
    # the expenditure total, which is share x sd_effect x (expenditures without the plan)
    spending = category_spending(history, LINEAR)
    share = spending["acute inpatient"] / sum(spending.values())
    p = base.performance
    total_without = (
        p.expenditure_per_capita * p.person_years / (1 + share * plan.effects["acute inpatient"])
    )
    expected_sd = 0.5 * share * plan.sd["acute inpatient"] * total_without
    assert result.amounts.std() == pytest.approx(expected_sd, rel=0.03)
    assert result.amounts.mean() == pytest.approx(base.settlement.amount, rel=0.01)


def test_assumptions_without_initiative_sd_simulate_as_before(history):
    a = Assumptions(initiatives={"acute inpatient": -0.05})
    same = parse_assumptions({"initiatives": {"acute inpatient": -0.05}, "initiative_sd": {}})
    u = Uncertainty()
    np.testing.assert_array_equal(
        simulate(LINEAR, history, a, u, draws=500, seed=4).amounts,
        simulate(LINEAR, history, same, u, draws=500, seed=4).amounts,
    )
    with pytest.raises(ParameterError, match="initiative_sd"):
        parse_assumptions({"initiative_sd": {"acute inpatient": 2.0}})
    with pytest.raises(ParameterError, match="unknown service categories"):
        parse_assumptions({"initiative_sd": {"spa": 0.1}})


def test_contract_effect_compares_with_and_without(history):
    plan = plan_initiatives(savings(80_000.0, 20_000.0), history, LINEAR, program_cost=30_000.0)
    effect = contract_effect(LINEAR, history, plan, draws=400, seed=2)
    without, with_ = effect.row(0, named=True), effect.row(1, named=True)
    assert without["case"] == "without the plan" and with_["program_cost"] == 30_000.0
    assert with_["settlement"] > without["settlement"]
    assert with_["net_of_program_cost"] == pytest.approx(
        with_["expected_settlement"] - without["expected_settlement"] - 30_000.0
    )


def test_a_plan_saves_and_loads_as_a_scenario(tmp_path):
    from modeling.store import WorkspaceStore

    with WorkspaceStore.open(tmp_path / "ws.duckdb") as store:
        saved = save_plan(
            store,
            "Monday plan",
            dataset="small",
            prediction_year=2025,
            savings_by_category=savings(80_000.0, 20_000.0),
            program_cost=30_000.0,
            members=60,
            expected_net_savings=50_000.0,
            gap=0.0,
            programs=[{"name": "copd", "slots": 60, "cost_per_member": 500.0}],
            constraints={"budget": None},
        )
        assert [s.id for s in list_plans(store)] == [saved.id]
        back = load_plan(store, saved.id)
        assert back.name == "Monday plan" and back.members == 60 and back.program_cost == 30_000.0
        assert back.savings_by_category["expected_savings"].to_list() == [80_000.0, 0.0]
        other = store.save_scenario("x", "simulation", {}, {})
        with pytest.raises(ParameterError, match="not a care-management plan"):
            load_plan(store, other.id)
