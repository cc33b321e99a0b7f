"""Saved scenarios in the workspace store, of two kinds:

- a *comparison* (kind ``"contracts"``): the contracts compared side by side for a performance
  year, the assumptions, each contract's settlement, and the app's control values so the page
  reopens as it was saved;
- a *simulation* (kind ``"simulation"``): what was simulated (dataset, contract spec,
  assumptions, uncertainty, seed, draws) and its summary figures; reopened by re-running the
  same inputs, and compared side by side.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl

from contracts.history import PanelHistory
from contracts.projection import Assumptions, Projection, parse_assumptions
from contracts.simulation import SimulationResult, Uncertainty, simulate
from contracts.specs import ContractSpec, parse_spec, spec_to_dict
from modeling.errors import ParameterError
from modeling.store import Scenario, Store

COMPARISON_KIND = "contracts"
KIND = "simulation"


# ----------------------------------------------------------------------------------- comparisons


@dataclass(frozen=True)
class SavedComparison:
    """A saved comparison, read back: its contracts parsed, its assumptions validated."""

    id: str
    name: str
    created_at: datetime
    dataset: str
    performance_year: int
    contracts: tuple[ContractSpec, ...]
    assumptions: Assumptions
    settlements: dict[str, float]  # contract name -> settlement when saved
    widgets: dict[str, Any]  # the app's control values (session key -> value)


def save_comparison(
    store: Store,
    *,
    name: str,
    dataset: str,
    performance_year: int,
    contracts: Sequence[ContractSpec],
    assumptions: Assumptions,
    projections: Sequence[Projection],
    widgets: Mapping[str, Any] | None = None,
) -> Scenario:
    """Save the contracts compared for ``performance_year`` under ``assumptions``; the results
    are each projected contract's settlement, by contract name."""
    payload = {
        "dataset": dataset,
        "performance_year": performance_year,
        "contracts": [spec_to_dict(s) for s in contracts],
        "assumptions": assumptions.model_dump(mode="json"),
        "widgets": dict(widgets or {}),
    }
    results = {p.spec.name: p.settlement.amount for p in projections}
    return store.save_scenario(name, COMPARISON_KIND, payload, results)


def list_comparisons(store: Store) -> list[Scenario]:
    """The saved comparisons, as the store lists them."""
    return store.list_scenarios(kind=COMPARISON_KIND)


def load_comparison(store: Store, scenario_id: str) -> SavedComparison:
    """A saved comparison with its contracts and assumptions validated again."""
    s = store.get_scenario(scenario_id)
    if s.kind != COMPARISON_KIND:
        raise ParameterError(f"Scenario '{s.name}' is a {s.kind} scenario, not a comparison.")
    p = s.payload
    where = f"saved scenario '{s.name}'"
    return SavedComparison(
        id=s.id,
        name=s.name,
        created_at=s.created_at,
        dataset=p["dataset"],
        performance_year=int(p["performance_year"]),
        contracts=tuple(parse_spec(c, where=where) for c in p["contracts"]),
        assumptions=parse_assumptions(p["assumptions"], where=where),
        settlements=dict(s.results or {}),
        widgets=dict(p.get("widgets", {})),
    )


# ----------------------------------------------------------------------------------- simulations


def save_simulation(
    store: Store,
    name: str,
    *,
    dataset: str,
    spec: ContractSpec,
    assumptions: Assumptions,
    uncertainty: Uncertainty,
    result: SimulationResult,
    exact_members: bool = False,
) -> Scenario:
    payload = {
        "dataset": dataset,
        "contract": spec_to_dict(spec),
        "assumptions": assumptions.model_dump(mode="json"),
        "uncertainty": uncertainty.model_dump(mode="json"),
        "draws": result.draws,
        "seed": result.seed,
        "exact_members": exact_members,
    }
    return store.save_scenario(name, KIND, payload, result.summary().to_dict())


def reopen_simulation(
    store: Store, scenario_id: str, history: PanelHistory
) -> tuple[SimulationResult, dict[str, Any]]:
    """Re-run a saved scenario's inputs; returns the result and the scenario's payload."""
    saved = store.get_scenario(scenario_id)
    p = saved.payload
    where = f"saved simulation '{saved.name}'"
    result = simulate(
        parse_spec(p["contract"], where=where),
        history,
        parse_assumptions(p["assumptions"], where=where),
        Uncertainty.model_validate(p["uncertainty"]),
        draws=p["draws"],
        seed=p["seed"],
        exact_members=p["exact_members"],
    )
    return result, p


def compare_saved(store: Store) -> pl.DataFrame:
    """One row per saved simulation: name, contract, draws, seed and its figures."""
    rows = []
    for s in store.list_scenarios(kind=KIND):
        r = s.results or {}
        rows.append(
            {
                "scenario": s.name,
                "id": s.id,
                "saved": s.created_at,
                "contract": s.payload["contract"]["name"],
                "draws": s.payload["draws"],
                "seed": s.payload["seed"],
                "expected_settlement": r.get("expected_settlement"),
                "p_shared_savings": r.get("p_shared_savings"),
                "p_owes_losses": r.get("p_owes_losses"),
                "value_at_risk_95": r.get("value_at_risk_95"),
                "cvar_95": r.get("cvar_95"),
            }
        )
    return (
        pl.DataFrame(rows)
        if rows
        else pl.DataFrame(schema={"scenario": pl.String, "id": pl.String})
    )


def export_json(store: Store, scenario_id: str) -> str:
    s = store.get_scenario(scenario_id)
    return json.dumps(
        {
            "name": s.name,
            "saved": s.created_at.isoformat(),
            "inputs": s.payload,
            "results": s.results,
        },
        indent=2,
        default=str,
    )
