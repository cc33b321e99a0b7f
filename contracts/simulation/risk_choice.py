"""Choosing a risk level: options simulated on the same years (common random numbers) compared by
expected settlement under a limit on CVaR, the best single option, the best mix, and the
efficient frontier. CVaR is ``tail_risk.cvar`` throughout: the options table, the mix and the
linear program share one definition."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from contracts.simulation.monte_carlo import SimulationResult
from contracts.simulation.tail_risk import cvar
from modeling.errors import ParameterError


@dataclass(frozen=True)
class RiskChoice:
    """Options compared on the same simulated years (common random numbers)."""

    options: pl.DataFrame  # option, expected, cvar_95, p_owes_losses, within_limit
    best_single: (
        str | None
    )  # the option with the highest expected settlement whose CVaR is within the limit
    mix: (
        dict[str, float] | None
    )  # the weights of the best mix within the limit (None when infeasible)
    mix_expected: float | None
    mix_cvar: float | None
    frontier: pl.DataFrame  # cvar_limit, expected (the best mix at each CVaR limit)


def _best_mix(
    amounts: np.ndarray, limit: float, alpha: float
) -> tuple[np.ndarray | None, float | None]:
    """Weights w >= 0, sum 1, maximizing the mean of amounts @ w with CVaR_alpha(-amounts @ w) <=
    limit (Rockafellar-Uryasev linear program, solved with cvxpy)."""
    import cvxpy as cp

    n, k = amounts.shape
    scale = (
        float(np.abs(amounts).max()) or 1.0
    )  # dollars to order one: the solver's tolerances are relative
    worst = max(
        cvar(-amounts[:, j], alpha=alpha) for j in range(k)
    )  # a mix's CVaR never exceeds the worst option's
    limit = min(limit, worst) / scale
    amounts = amounts / scale
    w, t, excess = cp.Variable(k, nonneg=True), cp.Variable(), cp.Variable(n, nonneg=True)
    losses = -amounts @ w
    constraints = [
        cp.sum(w) == 1,
        excess >= losses - t,
        t + cp.sum(excess) / ((1 - alpha) * n) <= limit,
    ]
    problem = cp.Problem(cp.Maximize(cp.sum(amounts @ w) / n), constraints)
    try:
        problem.solve(solver=cp.CLARABEL)
    except cp.SolverError:
        problem.solve()
    if problem.status not in ("optimal", "optimal_inaccurate") or w.value is None:
        return None, None
    weights = np.clip(w.value, 0, None)
    return weights / weights.sum(), float(problem.value) * scale


def choose_risk_level(
    results: list[SimulationResult],
    cvar_limit: float,
    *,
    alpha: float = 0.95,
    frontier_points: int = 12,
) -> RiskChoice:
    """Among options simulated with the same seed (the same years for all), the option — and
    the mix of options, where a mix is meaningful (contracts across payers sharing one downside
    budget) — with the highest expected settlement whose CVaR stays within ``cvar_limit``;
    and the efficient frontier (best expected settlement at each CVaR limit)."""
    if len({r.draws for r in results}) != 1 or len({r.seed for r in results}) != 1:
        raise ParameterError(
            "Compare options simulated with the same number of draws and the same seed, so they share the simulated years."
        )
    amounts = np.column_stack([r.amounts for r in results])
    names = [r.contract for r in results]
    risks = [cvar(-r.amounts, alpha=alpha) for r in results]
    options = pl.DataFrame(
        {
            "option": names,
            "expected": [float(r.amounts.mean()) for r in results],
            "cvar_95": risks,
            "p_owes_losses": [float((r.amounts < 0).mean()) for r in results],
        }
    ).with_columns((pl.col("cvar_95") <= cvar_limit).alias("within_limit"))
    allowed = options.filter(pl.col("within_limit")).sort("expected", descending=True)
    best = allowed["option"][0] if allowed.height else None
    weights, value = _best_mix(amounts, cvar_limit, alpha)
    mix = (
        dict(zip(names, [float(x) for x in weights], strict=True)) if weights is not None else None
    )
    mix_cvar = cvar(-(amounts @ weights), alpha=alpha) if weights is not None else None
    low, high = min(risks), max(risks)
    rows = []
    for limit in np.linspace(low, high, frontier_points) if high > low else [low]:
        wts, val = _best_mix(amounts, float(limit), alpha)
        if wts is not None:
            rows.append(
                {
                    "cvar_limit": float(limit),
                    "expected": val,
                    "cvar_95": cvar(-(amounts @ wts), alpha=alpha),
                }
            )
    return RiskChoice(
        options,
        best,
        mix,
        value,
        mix_cvar,
        pl.DataFrame(
            rows, schema={"cvar_limit": pl.Float64, "expected": pl.Float64, "cvar_95": pl.Float64}
        ),
    )
