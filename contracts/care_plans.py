"""A care-management plan's expected savings as the contract projection's initiative assumptions,
and plans saved as scenarios in the workspace store.

A plan (``risk_stratification.targeting``) expects to save S_c dollars in service category c,
with sd D_c. The projection applies initiatives as relative changes of each category's cost,
weighted by the category's share of the last data year's spending (``contracts.projection``);
the plan's change is therefore e_c = -S_c / T_c with sd D_c / T_c, T_c the category's spending
in the last data year, truncated as the contract truncates (the same totals the projection and
the Monte Carlo weight with). The Monte Carlo draws each category's effect from a normal with
that sd (``Assumptions.initiative_sd``); the categories are drawn independently, so the
correlation a program's shared engagement puts between its categories is not carried.

The plan's own cost (care managers, program fees) is not a Medicare expenditure and does not
enter the settlement: the organization's net is the settlement's change less that cost.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import polars as pl

from contracts.benchmark import truncate
from contracts.history import PanelHistory
from contracts.projection import Assumptions
from contracts.specs import ContractSpec
from modeling.core.service_categories import CATEGORIES
from modeling.errors import ParameterError
from modeling.store import Scenario, Store
from modeling.validation import require_columns

if TYPE_CHECKING:
    from risk_stratification.targeting.plan import TargetingPlan

KIND = "care_plan"


@dataclass(frozen=True)
class PlanInitiatives:
    """A plan's effect on each service category's cost (relative change, negative saves) and its
    sd, from its expected dollar savings; with the plan's cost and size."""

    effects: dict[str, float]
    sd: dict[str, float]
    savings: dict[str, float]
    program_cost: float
    members: int


def category_spending(history: PanelHistory, spec: ContractSpec | None = None) -> dict[str, float]:
    """Each service category's spending in the last data year, truncated as ``spec`` truncates
    (untruncated without a spec)."""
    last = history.expenditures.filter(pl.col("year") == history.years[-1])
    if spec is not None:
        last = truncate(last, spec.truncation_percentile, spec.stop_loss_attachment)
    totals = last.select([pl.col(c).sum() for c in CATEGORIES]).row(0)
    return {c: float(t) for c, t in zip(CATEGORIES, totals, strict=True)}


def plan_initiatives(
    savings_by_category: pl.DataFrame,
    history: PanelHistory,
    spec: ContractSpec | None = None,
    *,
    program_cost: float = 0.0,
    members: int = 0,
) -> PlanInitiatives:
    """The initiative effects of a plan's ``savings_by_category`` (service_category,
    expected_savings, sd; dollars a year), relative to the panel's spending (module docstring)."""
    require_columns(
        savings_by_category,
        ("service_category", "expected_savings", "sd"),
        where="plan_initiatives",
    )
    spending = category_spending(history, spec)
    effects, sds, savings = {}, {}, {}
    for r in savings_by_category.iter_rows(named=True):
        c, s, d = r["service_category"], float(r["expected_savings"]), float(r["sd"])
        if c not in spending:
            raise ParameterError(f"Unknown service category '{c}' in the plan's savings.")
        if s == 0 and d == 0:
            continue
        if spending[c] <= 0:
            raise ParameterError(
                f"The plan saves in '{c}', where the panel spent nothing last year."
            )
        effect = -s / spending[c]
        if not -1 < effect < 1:
            raise ParameterError(
                f"The plan's savings in '{c}' (${s:,.0f}) are not below the panel's spending in it (${spending[c]:,.0f})."
            )
        effects[c], sds[c], savings[c] = effect, d / spending[c], s
    return PlanInitiatives(effects, sds, savings, program_cost, members)


def initiatives_of_plan(
    plan: TargetingPlan, history: PanelHistory, spec: ContractSpec | None = None
) -> PlanInitiatives:
    """``plan_initiatives`` of a targeting plan: its savings by category, its cost and the
    members it assigns (what the Targeting page and ``vbc target`` settle the contract with)."""
    return plan_initiatives(
        plan.savings_by_category,
        history,
        spec,
        program_cost=plan.cost,
        members=plan.assignments.height,
    )


def with_plan(
    assumptions: Assumptions, plan: PlanInitiatives, *, initiative_sd_share: float = 0.5
) -> Assumptions:
    """``assumptions`` with the plan's effects added to its initiatives. Where the user also set
    an effect for a category, the two add, and so do their variances (the user's sd being
    ``initiative_sd_share`` of their effect, as the Monte Carlo reads it)."""
    initiatives = dict(assumptions.initiatives)
    sd = dict(assumptions.initiative_sd)
    for c, e in plan.effects.items():
        own = initiatives.get(c, 0.0)
        own_sd = sd.get(c, abs(own) * initiative_sd_share)
        initiatives[c] = own + e
        sd[c] = math.sqrt(own_sd**2 + plan.sd[c] ** 2)
    return assumptions.model_copy(update={"initiatives": initiatives, "initiative_sd": sd})


@dataclass(frozen=True)
class SavedPlan:
    id: str
    name: str
    created_at: datetime
    dataset: str
    prediction_year: int
    savings_by_category: pl.DataFrame
    program_cost: float
    members: int
    expected_net_savings: float
    gap: float | None
    payload: dict[str, Any]


def save_plan(
    store: Store,
    name: str,
    *,
    dataset: str,
    prediction_year: int,
    savings_by_category: pl.DataFrame,
    program_cost: float,
    members: int,
    expected_net_savings: float,
    gap: float | None,
    programs: list[dict[str, Any]],
    constraints: dict[str, Any],
) -> Scenario:
    """Save a plan's inputs (programs, constraints) and results (savings by category, cost,
    size, value, gap) as a scenario of kind ``care_plan``."""
    require_columns(
        savings_by_category, ("service_category", "expected_savings", "sd"), where="save_plan"
    )
    payload = {
        "dataset": dataset,
        "prediction_year": prediction_year,
        "programs": programs,
        "constraints": constraints,
        "savings_by_category": savings_by_category.select(
            "service_category", "expected_savings", "sd"
        ).to_dicts(),
    }
    results = {
        "expected_net_savings": expected_net_savings,
        "program_cost": program_cost,
        "members": members,
        "gap": gap,
        "expected_gross_savings": float(savings_by_category["expected_savings"].sum()),
    }
    return store.save_scenario(name, KIND, payload, results)


def list_plans(store: Store) -> list[Scenario]:
    return store.list_scenarios(kind=KIND)


def load_plan(store: Store, scenario_id: str) -> SavedPlan:
    s = store.get_scenario(scenario_id)
    if s.kind != KIND:
        raise ParameterError(
            f"Scenario '{s.name}' is a {s.kind} scenario, not a care-management plan."
        )
    p, r = s.payload, s.results or {}
    return SavedPlan(
        id=s.id,
        name=s.name,
        created_at=s.created_at,
        dataset=p["dataset"],
        prediction_year=int(p["prediction_year"]),
        savings_by_category=pl.DataFrame(
            p["savings_by_category"],
            schema={
                "service_category": pl.String,
                "expected_savings": pl.Float64,
                "sd": pl.Float64,
            },
        ),
        program_cost=float(r.get("program_cost", 0.0)),
        members=int(r.get("members", 0)),
        expected_net_savings=float(r.get("expected_net_savings", 0.0)),
        gap=r.get("gap"),
        payload=p,
    )


def contract_effect(
    spec: ContractSpec,
    history: PanelHistory,
    plan: PlanInitiatives,
    assumptions: Assumptions | None = None,
    *,
    draws: int = 2_000,
    seed: int = 1,
) -> pl.DataFrame:
    """case ("without the plan", "with the plan"), deterministic settlement, expected settlement
    and chance of earning shared savings over ``draws`` simulated performance years (the same
    seed for both), the plan's cost, and the settlement change less that cost."""
    from contracts.projection import project
    from contracts.simulation import Uncertainty, simulate

    a = assumptions or Assumptions()
    rows: list[dict[str, Any]] = []
    for case, used in (("without the plan", a), ("with the plan", with_plan(a, plan))):
        projection = project(spec, history, used)
        result = simulate(
            spec, history, used, Uncertainty(), draws=draws, seed=seed, projection=projection
        )
        s = result.summary()
        rows.append(
            {
                "case": case,
                "settlement": projection.settlement.amount,
                "expected_settlement": s.expected_settlement,
                "p_shared_savings": s.p_shared_savings,
                "p_owes_losses": s.p_owes_losses,
                "program_cost": 0.0 if used is a else plan.program_cost,
            }
        )
    base = float(rows[0]["expected_settlement"])
    return pl.DataFrame(rows).with_columns(
        (pl.col("expected_settlement") - base - pl.col("program_cost")).alias("net_of_program_cost")
    )
