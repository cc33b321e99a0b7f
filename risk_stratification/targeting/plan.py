"""A care-management plan: the optimizer's assignment, what it is worth and how sure that is, how
it compares with greedy lists, what more capacity would be worth, and its savings by service
category (what the contract projection takes as initiative assumptions)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from modeling.errors import DatasetError
from modeling.progress import Progress, reporter
from risk_stratification.targeting.benefit import expected_benefit, plan_uncertainty
from risk_stratification.targeting.optimize import (
    GREEDY_ORDERS,
    Constraints,
    Solution,
    floor_report,
    greedy,
    marginal_values,
    solve,
)
from risk_stratification.targeting.programs import Program


@dataclass(frozen=True)
class TargetingPlan:
    """The optimizer's plan and everything reported about it."""

    programs: tuple[Program, ...]
    constraints: Constraints
    solution: Solution
    assignments: (
        pl.DataFrame
    )  # person_id, program, expected savings (gross, sd, net), cost, by category
    comparison: pl.DataFrame  # method, members, cost, expected_net_savings, shortfall vs optimizer
    capacity: pl.DataFrame  # program, slots, placed, cost, expected_net_savings
    marginal: pl.DataFrame | None  # constraint, change, objective, value (re-solved)
    savings_by_category: pl.DataFrame  # service_category, expected_savings, sd
    floors: pl.DataFrame  # group, required_share, achieved_share, holds
    prediction_year: int

    @property
    def expected_net_savings(self) -> float:
        return self.solution.objective

    @property
    def cost(self) -> float:
        return float(self.assignments["cost"].sum())

    @property
    def expected_gross_savings(self) -> float:
        return float(self.assignments["expected_gross_savings"].sum())


def _comparison(solutions: Sequence[Solution]) -> pl.DataFrame:
    best = solutions[0].objective
    return pl.DataFrame(
        [
            {
                "method": s.method,
                "members": s.chosen.height,
                "cost": float(s.chosen["cost"].sum()),
                "expected_gross_savings": float(s.chosen["expected_gross_savings"].sum()),
                "expected_net_savings": s.objective,
                "optimizer_advantage": best - s.objective,
            }
            for s in solutions
        ]
    )


def _capacity(chosen: pl.DataFrame, programs: Sequence[Program]) -> pl.DataFrame:
    used = chosen.group_by("program").agg(
        pl.len().alias("placed"), pl.col("cost").sum(), pl.col("expected_net_savings").sum()
    )
    return (
        pl.DataFrame(
            {
                "program": [p.name for p in programs],
                "label": [p.label for p in programs],
                "care_managers": [p.care_managers for p in programs],
                "slots": [p.slots for p in programs],
            },
            schema_overrides={"care_managers": pl.Float64},
        )
        .join(used, on="program", how="left")
        .with_columns(
            pl.col("placed").fill_null(0).cast(pl.Int64),
            pl.col("cost").fill_null(0.0),
            pl.col("expected_net_savings").fill_null(0.0),
        )
    )


def make_plan(
    members: pl.DataFrame,
    programs: Sequence[Program],
    constraints: Constraints | None = None,
    *,
    tolerance: float = 1e-3,
    with_marginal: bool = True,
    progress: Progress | None = None,
) -> TargetingPlan:
    """Plan ``programs`` over ``members`` (``benefit.member_inputs``): expected benefit of every
    eligible pair, the MILP's assignment, the greedy comparisons, and (``with_marginal``) the
    value of one more care manager per program, more budget and each floor, by re-solving."""
    say = reporter(progress)
    c = constraints or Constraints()
    if members.is_empty():
        raise DatasetError("No members to target.")
    say("expected benefit of each program for each eligible member")
    benefit = expected_benefit(members, programs)
    say(f"solving the MILP over {benefit.height:,} eligible (member, program) pairs")
    best = solve(benefit, members, programs, c, tolerance=tolerance)
    say("greedy comparisons")
    greedies = [greedy(benefit, members, programs, c, order=o) for o in GREEDY_ORDERS]
    marginal = None
    if with_marginal:
        say("re-solving for the value of capacity, budget and floors")
        marginal = marginal_values(benefit, members, programs, c, best, tolerance=tolerance)
    assignments = best.chosen.sort("expected_net_savings", descending=True)
    return TargetingPlan(
        programs=tuple(programs),
        constraints=c,
        solution=best,
        assignments=assignments,
        comparison=_comparison([best, *greedies]),
        capacity=_capacity(best.chosen, programs),
        marginal=marginal,
        savings_by_category=plan_uncertainty(best.chosen, members, programs),
        floors=floor_report(best, members, benefit, c),
        prediction_year=int(members["prediction_year"][0]),
    )
