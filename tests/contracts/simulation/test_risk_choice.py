"""Choice of risk level: CVaR, the best option and mix within a limit, the frontier."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.projection import Assumptions
from contracts.simulation import simulate
from contracts.specs import MsspSpec
from modeling.errors import ParameterError


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


def test_cvar_of_known_losses_and_of_nothing():
    from contracts.simulation import cvar

    losses = np.arange(1.0, 101.0)  # 1 .. 100: the worst 5 are 96 .. 100
    assert cvar(losses) == pytest.approx(98.0)
    assert cvar(losses, alpha=1.0) == 100.0 and cvar(losses, alpha=0.0) == pytest.approx(50.5)
    with pytest.raises(ParameterError, match="at least one"):
        cvar(np.array([]))
    with pytest.raises(ParameterError, match="between 0 and 1"):
        cvar(losses, alpha=1.5)
    with pytest.raises(ParameterError, match="finite"):
        cvar(np.array([1.0, np.nan]))


def test_cvar_is_the_exact_worst_tail_with_ties_and_a_fractional_boundary():
    """Hand-computed. 20 years, alpha 0.90: the worst 2 years exactly. Ten years of savings
    (loss -3), nine owing $0, one owing 4: CVaR = (4 + 0) / 2 = 2. Averaging every loss at or
    above the 90% quantile (which is 0) took all ten years >= 0: 0.4.
    30 years, alpha 0.95: m = 1.5 worst years, the worst (6) whole and the next (2) at half
    weight: (6 + 0.5 x 2) / 1.5 = 4.6667 (the quantile rule gave (6 + 2) / 2 = 4)."""
    from contracts.simulation import cvar

    tied = np.array([-3.0] * 10 + [0.0] * 9 + [4.0])
    assert cvar(tied, alpha=0.90) == pytest.approx(2.0)
    fractional = np.array([-1.0] * 20 + [0.0] * 8 + [2.0, 6.0])
    assert cvar(fractional, alpha=0.95) == pytest.approx(7.0 / 1.5)
    # 1,000 years, 970 owing $0: the worst 50 are the 30 losses and 20 of the zeros
    rng = np.random.default_rng(3)
    owed = rng.uniform(1, 5, size=30)
    years = np.concatenate([np.zeros(970), owed])
    assert cvar(years) == pytest.approx(owed.sum() / 50)


def _ru_objective_minimum(losses: np.ndarray, alpha: float) -> float:
    """min over t of t + E[(L - t)+] / (1 - alpha): piecewise linear and convex in t with its
    breakpoints at the draws, so the minimum over the draws is the minimum."""
    t = losses[:, None]
    return float(np.min(t[:, 0] + np.maximum(losses[None, :] - t, 0).mean(axis=1) / (1 - alpha)))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.integers(-5, 5).map(float) | st.floats(-1e6, 1e6, allow_nan=False),
        min_size=1,
        max_size=60,
    ),
    st.sampled_from([0.5, 0.8, 0.9, 0.95, 0.975, 0.99]),
)
def test_cvar_is_the_rockafellar_uryasev_minimum(values, alpha):
    """Differential: the sorted-tail formula against the minimization that defines CVaR (many
    tied draws among the integers); and CVaR lies between the mean and the worst draw."""
    from contracts.simulation import cvar

    losses = np.array(values)
    got = cvar(losses, alpha=alpha)
    assert got == pytest.approx(_ru_objective_minimum(losses, alpha), rel=1e-9, abs=1e-6)
    assert losses.mean() - 1e-6 * (1 + abs(losses).max()) <= got
    assert got <= losses.max() + 1e-6 * (1 + abs(losses).max())


def test_the_linear_program_and_the_options_table_agree_on_cvar():
    """A single option forced into the mix: the LP's CVaR constraint binds at exactly the CVaR of
    the options table, so an option at its own CVaR is feasible and just below it is not (the
    LP and the table use one definition; with ties the old quantile rule put the table lower)."""
    from contracts.simulation import cvar
    from contracts.simulation.risk_choice import _best_mix

    amounts = np.concatenate([np.zeros(960), -np.arange(1.0, 41.0) * 1_000])[:, None]
    amounts = np.hstack([amounts, amounts])  # two identical options: any mix is the option
    table = cvar(-amounts[:, 0])
    assert table == pytest.approx(np.arange(1.0, 41.0).sum() * 1_000 / 50)
    weights, _ = _best_mix(amounts, table * (1 + 1e-6), 0.95)
    assert weights is not None
    weights, _ = _best_mix(amounts, table * 0.98, 0.95)
    assert weights is None
