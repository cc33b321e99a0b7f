"""The plan's reports and the worklist built from it."""

from __future__ import annotations

import polars as pl
import pytest

from modeling.errors import SchemaError
from risk_stratification.targeting.benefit import base_column
from risk_stratification.targeting.optimize import Constraints
from risk_stratification.targeting.plan import make_plan
from risk_stratification.targeting.programs import parse_program
from risk_stratification.targeting.worklist import WORKLIST_COLUMNS, worklist

IP = base_column("acute inpatient")


def members():
    return pl.DataFrame(
        {
            "person_id": ["A", "B", "C", "D"],
            "tier": ["highest", "high", "rising", "low"],
            "pred_cost": [90_000.0, 60_000.0, 30_000.0, 5_000.0],
            "pred_admission": [0.8, 0.6, 0.4, 0.05],
            "dual": [False, True, False, True],
            "condition_list": [["copd"], ["copd", "heart_failure"], ["copd"], []],
            "days_since_discharge": [40, 3, None, None],
            "prediction_year": [2026] * 4,
            "provider_npi": ["1", "2", "3", "4"],
            "provider_name": ["Dr A", "Dr B", "Dr C", "Dr D"],
            "driver_1": ["3 inpatient stays", "HCC 85", None, None],
            IP: [20_000.0, 8_000.0, 6_000.0, 500.0],
        }
    )


def programs():
    return [
        parse_program(
            {
                "name": "copd",
                "label": "COPD disease management",
                "eligibility": {"conditions": ["copd"]},
                "capacity": {"care_managers": 1, "members_per_care_manager": 2},
                "cost": {"per_member": 500},
                "engagement": {"rate": 0.5},
                "effect": [{"category": "acute inpatient", "reduction": 0.25}],
            }
        )
    ]


def test_the_plan_reports_value_comparison_capacity_and_category_savings():
    plan = make_plan(members(), programs(), Constraints())
    # nets: A 0.5*0.25*20000-500 = 2000, B 500, C 250: two slots take A and B
    assert set(plan.assignments["person_id"]) == {"A", "B"}
    assert plan.expected_net_savings == pytest.approx(2500.0) and plan.cost == 1000.0
    cap = plan.capacity.row(0, named=True)
    assert (cap["slots"], cap["placed"]) == (2, 2)
    ip = plan.savings_by_category.filter(pl.col("service_category") == "acute inpatient")
    assert ip["expected_savings"][0] == pytest.approx(0.5 * 0.25 * 28_000)
    comp = plan.comparison
    assert comp["method"][0] == "optimizer" and (comp["optimizer_advantage"] >= -1e-9).all()
    marg = plan.marginal.row(0, named=True)
    assert marg["change"] == "one more care manager" and marg["value"] == pytest.approx(
        250.0
    )  # C joins


def test_the_worklist_orders_explains_and_marks_changes():
    m = members()
    plan = make_plan(m, programs(), Constraints())
    gaps = pl.DataFrame({"person_id": ["A", "A"], "gap": ["A1c test", "eye exam"]})
    previous = pl.DataFrame({"person_id": ["A"], "tier": ["high"]})
    w = worklist(plan, m, previous=previous, gaps=gaps)
    assert w.columns[: len(WORKLIST_COLUMNS)] == list(WORKLIST_COLUMNS)
    # B was discharged 3 days before the data end: first, though A saves more
    assert w["person_id"].to_list() == ["B", "A"] and w["priority"].to_list() == [1, 2]
    b, a = w.row(0, named=True), w.row(1, named=True)
    assert "discharged 3 days before the data end" in b["reasons"] and "copd" in b["reasons"]
    assert (
        "open care gaps: A1c test; eye exam" in a["reasons"] and "3 inpatient stays" in a["reasons"]
    )
    assert b["new_since_last_plan"] and not a["new_since_last_plan"]
    assert a["tier_changed"] and a["previous_tier"] == "high" and not b["tier_changed"]
    assert a["provider_npi"] == "1"
    plain = worklist(plan, m)
    assert plain["new_since_last_plan"].null_count() == plain.height
    with pytest.raises(SchemaError, match="gap"):
        worklist(plan, m, gaps=pl.DataFrame({"person_id": ["A"]}))
