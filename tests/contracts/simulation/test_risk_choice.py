"""Choice of risk level: CVaR, the best option and mix within a limit, the frontier."""

from __future__ import annotations

import numpy as np
import pytest

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

    losses = np.arange(1.0, 101.0)  # 1 .. 100
    assert cvar(losses) == pytest.approx(np.mean(losses[losses >= np.quantile(losses, 0.95)]))
    with pytest.raises(ParameterError, match="at least one"):
        cvar(np.array([]))
    with pytest.raises(ParameterError, match="between 0 and 1"):
        cvar(losses, alpha=1.5)
