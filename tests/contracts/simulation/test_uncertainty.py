"""Member-level cost noise: exact draws against the fast approximation, around the panel's own
spread and around a risk model's predictions; the uncertainty's own validation."""

from __future__ import annotations

import numpy as np
import pytest

from contracts.history import panel_history
from contracts.projection import Assumptions
from contracts.simulation import Uncertainty, simulate
from contracts.specs import RiskCorridorsSpec
from modeling.errors import ParameterError

LINEAR = RiskCorridorsSpec(
    name="linear 50/50", performance_year=2025, corridors=[{"from": 0.0, "provider_share": 0.5}]
)


def test_exact_member_draws_agree_with_the_fast_mode(history):
    """Bootstrap draws of every member vs the normal approximation of their sum: same spread."""
    u = Uncertainty(trend_sd=0, attribution_sd=0, risk_score_sd=0, quality_sd=0)
    fast = simulate(LINEAR, history, Assumptions(), u, draws=4_000, seed=3)
    exact = simulate(LINEAR, history, Assumptions(), u, draws=1_000, seed=3, exact_members=True)
    assert exact.amounts.std() == pytest.approx(fast.amounts.std(), rel=0.15)
    assert abs(exact.amounts.mean() - fast.amounts.mean()) < 4 * np.hypot(
        exact.summary().standard_error, fast.summary().standard_error
    )


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


def test_uncertainty_out_of_range_is_a_parameter_error():
    with pytest.raises(ParameterError, match="trend_sd = -1"):
        Uncertainty(trend_sd=-1)
    with pytest.raises(ParameterError, match="member_noise"):
        Uncertainty(member_noise="sometimes")
