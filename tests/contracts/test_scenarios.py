"""Saved scenarios: simulations reopen identically and compare; comparisons save and load."""

from __future__ import annotations

import numpy as np
import pytest

from contracts.projection import Assumptions
from contracts.simulation import Uncertainty, simulate
from contracts.specs import RiskCorridorsSpec

LINEAR = RiskCorridorsSpec(
    name="linear 50/50", performance_year=2025, corridors=[{"from": 0.0, "provider_share": 0.5}]
)


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
        result.summary().expected_settlement
    )


def test_saved_comparison_loads_its_contracts_assumptions_and_settlements(history, tmp_path):
    from contracts.projection import project
    from contracts.scenarios import list_comparisons, load_comparison, save_comparison
    from contracts.specs import preset
    from modeling.errors import ParameterError
    from modeling.store import WorkspaceStore

    a = Assumptions(attribution_scale=4, quality_score=0.9)
    specs = [
        LINEAR,
        preset("commercial-corridors-2026").model_copy(update={"performance_year": 2025}),
    ]
    projections = [project(s, history, a) for s in specs]
    with WorkspaceStore.open(tmp_path / "ws.duckdb") as store:
        saved = save_comparison(
            store,
            name="2025 comparison",
            dataset="small",
            performance_year=2025,
            contracts=specs,
            assumptions=a,
            projections=projections,
            widgets={"a_quality": 0.9},
        )
        listed = list_comparisons(store)
        opened = load_comparison(store, saved.id)
        raw = store.get_scenario(saved.id)
        with pytest.raises(ParameterError, match="not a comparison"):
            other = store.save_scenario("sim", "simulation", {}, None)
            load_comparison(store, other.id)
    assert [s.id for s in listed] == [saved.id] and raw.kind == "contracts"
    assert list(raw.payload) == [
        "dataset",
        "performance_year",
        "contracts",
        "assumptions",
        "widgets",
    ]
    assert opened.contracts == tuple(specs) and opened.assumptions == a
    assert opened.performance_year == 2025 and opened.widgets == {"a_quality": 0.9}
    assert opened.settlements == {p.spec.name: p.settlement.amount for p in projections}
