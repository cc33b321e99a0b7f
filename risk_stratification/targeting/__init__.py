"""Care-management targeting under capacity: programs as data (``programs``), the expected
benefit of each program for each member from the risk models' predictions (``benefit``), the
MILP that assigns members to programs and the greedy lists it is compared with (``optimize``),
the plan and its reports (``plan``) and the care managers' worklist (``worklist``)."""

from risk_stratification.targeting.benefit import expected_benefit, member_inputs, plan_uncertainty
from risk_stratification.targeting.optimize import Constraints, EquityFloor, Solution, greedy, solve
from risk_stratification.targeting.plan import TargetingPlan, make_plan
from risk_stratification.targeting.programs import (
    Program,
    load_programs,
    parse_programs,
    preset_programs,
)

__all__ = [
    "Constraints",
    "EquityFloor",
    "Program",
    "Solution",
    "TargetingPlan",
    "expected_benefit",
    "greedy",
    "load_programs",
    "make_plan",
    "member_inputs",
    "parse_programs",
    "plan_uncertainty",
    "preset_programs",
    "solve",
]
