"""Monte Carlo simulation of a contract's settlement and what moves it.

- ``uncertainty``: how uncertain each assumption is (``Uncertainty``) and member-level cost
  noise, from the panel's own cost spread or a risk model's predictions (``MemberPredictions``);
- ``monte_carlo``: ``simulate`` (every scenario settled by ``contracts.settlement.settle``), its
  ``SimulationResult`` and ``SimulationSummary``, and ``histogram``;
- ``sensitivity``: the deterministic ``tornado`` and ``two_way_grid``;
- ``tail_risk``: ``cvar``, the exact worst-tail expectation (Rockafellar-Uryasev) that the summary,
  the options table and the risk-level linear program all use;
- ``risk_choice``: ``choose_risk_level`` (the best option and mix within a CVaR
  limit, and the efficient frontier).
"""

from contracts.simulation.monte_carlo import (
    SimulationResult,
    SimulationSummary,
    histogram,
    simulate,
)
from contracts.simulation.risk_choice import RiskChoice, choose_risk_level, cvar
from contracts.simulation.sensitivity import Tornado, tornado, two_way_grid
from contracts.simulation.uncertainty import MemberPredictions, Uncertainty, members_from_model

__all__ = [
    "MemberPredictions",
    "RiskChoice",
    "SimulationResult",
    "SimulationSummary",
    "Tornado",
    "Uncertainty",
    "choose_risk_level",
    "cvar",
    "histogram",
    "members_from_model",
    "simulate",
    "tornado",
    "two_way_grid",
]
