"""Conditional value at risk of simulated years: the one definition the simulation summary, the
risk-level options table and the risk-level linear program all use."""

from __future__ import annotations

import numpy as np

from modeling.errors import ParameterError

# (1 - alpha) x draws within this of a whole number is that whole number: 0.05 x 1,000 is
# 50.000000000000043 in floating point, and the 51st-worst year must get no weight.
_WHOLE = 1e-9


def cvar(losses: np.ndarray, *, alpha: float = 0.95) -> float:
    """CVaR_alpha of equally likely ``losses`` (positive = money owed): the expected loss in the
    worst (1 - alpha) share of the years, exactly that share and no more.

    This is Rockafellar and Uryasev's CVaR, min over t of t + E[(L - t)+] / (1 - alpha)
    (R. T. Rockafellar, S. Uryasev, "Optimization of conditional value-at-risk", Journal of
    Risk 2(3), 2000, Theorem 1; for distributions with atoms, such as sampled years,
    "Conditional value-at-risk for general loss distributions", Journal of Banking & Finance
    26, 2002). For n draws of weight 1/n the minimum is the mean
    of the worst m = (1 - alpha) n draws, the draw on the boundary counted with its fractional
    weight m - floor(m): the same value the linear program of ``choose_risk_level`` reaches, so
    a mix the program finds within a limit is within it here too. Ties at the boundary (many
    years owing exactly $0) do not widen the tail, unlike averaging every loss at or above the
    alpha quantile. alpha = 1 is the worst draw; alpha = 0 the mean."""
    values = np.asarray(losses, dtype=float).ravel()
    if values.size == 0:
        raise ParameterError("CVaR needs at least one simulated outcome (got none).")
    if not 0 <= alpha <= 1:
        raise ParameterError(f"The CVaR level alpha is a share between 0 and 1 (got {alpha}).")
    if not np.isfinite(values).all():
        raise ParameterError(
            "CVaR needs finite simulated outcomes: some are NaN or infinite "
            "(check the simulation's inputs)."
        )
    worst = np.sort(values)[::-1]
    m = (1 - alpha) * values.size
    if abs(m - round(m)) <= _WHOLE * max(1.0, m):
        m = float(round(m))
    if m == 0:
        return float(worst[0])
    whole = int(np.floor(m))
    tail = worst[:whole].sum()
    if whole < worst.size:
        tail += (m - whole) * worst[whole]
    return float(tail / m)
