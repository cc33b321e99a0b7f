"""Saved simulation scenarios: what was simulated (dataset, contract spec, assumptions,
uncertainty, seed, draws) and what came out, in the workspace store; reopened by re-running the
same inputs, and compared side by side."""

from __future__ import annotations

import json

import polars as pl

from contracts.history import PanelHistory
from contracts.projection import Assumptions
from contracts.simulation import SimulationResult, Uncertainty, simulate
from contracts.specs import ContractSpec, parse_spec, spec_to_dict

KIND = "simulation"


def save_simulation(
    store,
    name: str,
    *,
    dataset: str,
    spec: ContractSpec,
    assumptions: Assumptions,
    uncertainty: Uncertainty,
    result: SimulationResult,
    exact_members: bool = False,
):
    payload = {
        "dataset": dataset,
        "contract": spec_to_dict(spec),
        "assumptions": assumptions.model_dump(mode="json"),
        "uncertainty": uncertainty.model_dump(mode="json"),
        "draws": result.draws,
        "seed": result.seed,
        "exact_members": exact_members,
    }
    return store.save_scenario(name, KIND, payload, result.summary())


def reopen_simulation(
    store, scenario_id: str, history: PanelHistory
) -> tuple[SimulationResult, dict]:
    """Re-run a saved scenario's inputs; returns the result and the scenario's payload."""
    saved = store.get_scenario(scenario_id)
    p = saved.payload
    result = simulate(
        parse_spec(p["contract"]),
        history,
        Assumptions.model_validate(p["assumptions"]),
        Uncertainty.model_validate(p["uncertainty"]),
        draws=p["draws"],
        seed=p["seed"],
        exact_members=p["exact_members"],
    )
    return result, p


def compare_saved(store) -> pl.DataFrame:
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


def export_json(store, scenario_id: str) -> str:
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
