"""Monte Carlo simulator: one source of truth with the deterministic engine, convergence, seeds."""

from __future__ import annotations

import numpy as np
import pytest

from contracts.projection import Assumptions, panel_history, project
from contracts.simulation import Uncertainty, simulate, tornado, two_way_grid
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


@pytest.fixture(scope="module")
def history(small_dataset):
    return panel_history(small_dataset)


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
    assert abs(s["expected_settlement"] - s["deterministic_settlement"]) < 4 * s["standard_error"]
    assert s["standard_error"] > 0


def test_different_draws_give_consistent_estimates(history):
    a = Assumptions(attribution_scale=4)
    spec = MsspSpec(name="E", performance_year=2025, track="BASIC", level="E", msr_mlr=0.01)
    small, large = (
        simulate(spec, history, a, draws=2_000, seed=1).summary(),
        simulate(spec, history, a, draws=20_000, seed=2).summary(),
    )
    gap = abs(small["expected_settlement"] - large["expected_settlement"])
    assert gap < 4 * np.hypot(small["standard_error"], large["standard_error"])
    assert 0 <= large["p_owes_losses"] <= 1 and large["cvar_95"] >= large["value_at_risk_95"]
    conv = simulate(spec, history, a, draws=2_000, seed=1).convergence()
    assert conv["standard_error"][-1] < conv["standard_error"][0]


def test_exact_member_draws_agree_with_the_fast_mode(history):
    """Bootstrap draws of every member vs the normal approximation of their sum: same spread."""
    u = Uncertainty(trend_sd=0, attribution_sd=0, risk_score_sd=0, quality_sd=0)
    fast = simulate(LINEAR, history, Assumptions(), u, draws=4_000, seed=3)
    exact = simulate(LINEAR, history, Assumptions(), u, draws=1_000, seed=3, exact_members=True)
    assert exact.amounts.std() == pytest.approx(fast.amounts.std(), rel=0.15)
    assert abs(exact.amounts.mean() - fast.amounts.mean()) < 4 * np.hypot(
        exact.summary()["standard_error"], fast.summary()["standard_error"]
    )


def test_tornado_and_grid(history):
    base, bars = tornado(LINEAR, history, Assumptions())
    assert bars.height == 5 and bars["swing"].to_list() == sorted(
        bars["swing"].to_list(), reverse=True
    )
    trend = bars.filter(bars["assumption"] == "cost trend").row(0, named=True)
    assert (
        trend["settlement_low"] > base > trend["settlement_high"]
    )  # higher cost trend, lower settlement
    grid = two_way_grid(LINEAR, history, Assumptions(), trends=(0.0, 0.05), effects=(-0.1, 0.0))
    assert grid.height == 4
    assert (
        grid.filter((grid["cost_trend"] == 0.0) & (grid["inpatient_effect"] == -0.1))["settlement"][
            0
        ]
        == grid["settlement"].max()
    )


def test_choice_of_risk_level_respects_the_cvar_limit(history):
    """BASIC A (one-sided) cannot lose; ENHANCED shares more of both sides. With a tight CVaR limit
    only the one-sided option qualifies; with a loose one the higher expected value wins; the mix
    never exceeds the limit and the frontier rises with the limit."""
    from contracts.simulation import choose_risk_level, cvar

    a = Assumptions(attribution_scale=4, initiatives={"acute inpatient": -0.08})
    specs = [
        MsspSpec(name="A", performance_year=2025, track="BASIC", level="A"),
        MsspSpec(name="ENHANCED", performance_year=2025, track="ENHANCED", msr_mlr=0.0),
    ]
    results = [simulate(s, history, a, draws=3_000, seed=5) for s in specs]
    one_sided, enhanced = results
    assert cvar(-one_sided.amounts) <= 0 < cvar(-enhanced.amounts)
    tight = choose_risk_level(results, cvar_limit=0.0)
    assert tight.best_single == "A" and tight.mix is not None and tight.mix_cvar <= 1e-6 + 0.0
    loose = choose_risk_level(results, cvar_limit=1e12)
    best = max(results, key=lambda r: r.amounts.mean()).contract
    assert loose.best_single == best
    assert loose.mix_expected == pytest.approx(max(r.amounts.mean() for r in results), rel=1e-4)
    f = loose.frontier
    values = f["expected"].to_list()
    assert f.height >= 2 and all(
        b >= a - 1e-6 * abs(a) for a, b in zip(values, values[1:], strict=False)
    )  # rises (or stays) with the limit
    assert (f["cvar_95"] <= f["cvar_limit"] + 1e-6 * f["cvar_limit"].abs().max()).all()
    mismatched = simulate(specs[0], history, a, draws=1_000, seed=6)
    with pytest.raises(Exception, match="same seed"):
        choose_risk_level([mismatched, enhanced], cvar_limit=0.0)


def test_saved_scenario_reopens_identically_and_compares(history, tmp_path):
    import json

    from contracts.scenarios import compare_saved, export_json, reopen_simulation, save_simulation
    from modeling.store import WorkspaceStore

    a, u = Assumptions(initiatives={"acute inpatient": -0.05}), Uncertainty(trend_sd=0.03)
    result = simulate(LINEAR, history, a, u, draws=1_500, seed=21)
    with WorkspaceStore.open(tmp_path / "ws.duckdb") as store:
        saved = save_simulation(
            store,
            "board: linear",
            dataset="small",
            spec=LINEAR,
            assumptions=a,
            uncertainty=u,
            result=result,
        )
        save_simulation(
            store,
            "other seed",
            dataset="small",
            spec=LINEAR,
            assumptions=a,
            uncertainty=u,
            result=simulate(LINEAR, history, a, u, draws=1_500, seed=22),
        )
        again, payload = reopen_simulation(store, saved.id, history)
        table = compare_saved(store)
        exported = json.loads(export_json(store, saved.id))
    assert np.array_equal(again.amounts, result.amounts) and payload["seed"] == 21
    assert table.height == 2 and set(table["scenario"]) == {"board: linear", "other seed"}
    assert exported["results"]["expected_settlement"] == pytest.approx(
        result.summary()["expected_settlement"]
    )


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


def test_member_noise_around_model_predictions(history):
    """Costs drawn as prediction x held-out ratio: the fast mode's spread matches exact draws, and
    predictions that explain members' costs leave less noise than the panel's raw spread."""
    from contracts.simulation import MemberPredictions

    rng = np.random.default_rng(0)
    last = history.expenditures.filter(history.expenditures["year"] == history.years[-1])
    predicted = np.maximum(last["paid"].to_numpy() * 12 / last["months"].to_numpy(), 500.0)
    ratios = rng.gamma(2.0, 0.5, 1000)  # mean 1, heavy right tail
    members = MemberPredictions(predicted, np.sort(ratios))
    u = Uncertainty(trend_sd=0, attribution_sd=0, risk_score_sd=0, quality_sd=0)
    fast = simulate(
        LINEAR, history, Assumptions(), u, draws=3_000, seed=4, members=members, break_even_sample=0
    )
    exact = simulate(
        LINEAR,
        history,
        Assumptions(),
        u,
        draws=600,
        seed=4,
        members=members,
        exact_members=True,
        break_even_sample=0,
    )
    assert exact.amounts.std() == pytest.approx(fast.amounts.std(), rel=0.2)
    tight = MemberPredictions(
        predicted, np.full(1000, 1.0)
    )  # perfect predictions: no member noise at all
    none = simulate(
        LINEAR, history, Assumptions(), u, draws=200, seed=4, members=tight, break_even_sample=0
    )
    assert none.amounts.std() < 1e-6 * abs(none.deterministic) + 1e-6


def test_residual_quantiles_are_weighted():
    from risk_stratification.ml.evaluation import residual_quantiles

    q = residual_quantiles(
        np.array([1.0, 3.0]), np.array([1.0, 1.0]), np.array([3.0, 1.0]), points=4
    )
    assert list(q[:3]) == [1.0, 1.0, 1.0]  # three quarters of the weight at ratio 1
    assert 1.0 < q[3] <= 3.0


def test_members_from_a_trained_model(three_year_dataset):
    """The registered model's predictions and held-out residuals feed the member noise."""
    from contracts.simulation import members_from_model
    from risk_stratification.ml.pipeline import train

    trained = train(three_year_dataset, seed=1)
    assert (
        trained.evaluation.residual_ratios is not None
        and len(trained.evaluation.residual_ratios) == 1000
    )
    assert (
        0.7 < float(np.mean(trained.evaluation.residual_ratios)) < 1.4
    )  # actual / predicted is about one on average
    members = members_from_model(three_year_dataset, trained)
    history = panel_history(three_year_dataset)
    spec = LINEAR.model_copy(update={"performance_year": 2026})
    result = simulate(spec, history, Assumptions(), draws=500, seed=2, members=members)
    assert len(members.predicted) > 2000 and result.amounts.std() > 0
