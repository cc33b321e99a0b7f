"""Which members go into which program: a mixed-integer program, and the greedy rules it beats.

The MILP (``solve``), over x_ip in {0, 1} for each eligible (member i, program p):

    maximize    sum net_ip x_ip                          (expected net savings, ``benefit``)
    subject to  sum_p x_ip <= 1            for each member (at most one program)
                sum_i x_ip <= slots_p      for each program (capacity)
                sum cost_p x_ip <= budget                    (when a budget is given)
                sum_{i in g} x_ip >= share_g sum x_ip      for each equity floor g
                sum_p x_ip = 1             for each clinical must-include member

solved by cvxpy with HiGHS (the only MILP solver of cvxpy installed here besides SciPy's, which
is HiGHS too; SCIP and CBC are not). The optimality gap is HiGHS's: (bound - objective) /
|bound|, the bound being the best LP bound of its branch and bound.

Before solving, candidates are reduced without loss of optimality: a program's cost is the same
for every member, so within a program and within a group of members alike for every equity
floor (and not must-included), any member placed below the top K by net savings, K being the
total number of slots, can be swapped for a free member ranked above (at most K - 1 of those
are used anywhere) with no constraint broken and no objective lost. Pairs with no positive net
savings are dropped unless the member is must-included or in an equity-floor group (removing
any other such pair keeps every constraint and cannot lower the objective). The reduction is
tested against brute force on small instances (tests/risk_stratification/targeting).

HiGHS stops once within the tolerance; when the greedy list by net savings meets every
constraint and beats the incumbent HiGHS stopped at, that list is the plan (the bound, and so
the gap, stay HiGHS's): the optimizer is never worse than that greedy list on its own objective.

Marginal values (``marginal_values``) are measured by re-solving with one more care manager
(or 10 more slots), a larger budget, or a floor removed: a MILP has no exact dual prices.
"""

from __future__ import annotations

import io
import os
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace

import cvxpy as cp
import numpy as np
import polars as pl
import scipy.sparse as sp

from modeling.errors import ParameterError
from risk_stratification.ml.tiers import TIERS
from risk_stratification.targeting.programs import Program

SOLVER = "HIGHS"


@dataclass(frozen=True)
class EquityFloor:
    """Members with ``column`` true get at least ``share`` of the filled slots; None: their share
    of the members eligible for any program."""

    column: str
    share: float | None = None

    def __post_init__(self) -> None:
        if self.share is not None and not 0 <= self.share <= 1:
            raise ParameterError(
                f"Equity floor share for '{self.column}' must be from 0 to 1 (got {self.share})."
            )


@dataclass(frozen=True)
class Constraints:
    """The plan's constraints beyond capacity: total budget (dollars), equity floors, and the
    members who must be placed in some program (clinical must-includes)."""

    budget: float | None = None
    equity_floors: tuple[EquityFloor, ...] = ()
    must_include: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.budget is not None and self.budget < 0:
            raise ParameterError(f"The budget must not be negative (got {self.budget}).")


@dataclass(frozen=True)
class Solution:
    """A set of chosen (member, program) rows of the benefit frame and what they are worth."""

    method: str
    chosen: pl.DataFrame
    objective: float
    bound: float | None
    gap: float | None
    status: str
    seconds: float
    candidates: int
    pairs: int


def _floor_shares(
    benefit: pl.DataFrame, members: pl.DataFrame, floors: Sequence[EquityFloor]
) -> list[float]:
    eligible_people = benefit.select("person_id").unique().join(members, on="person_id")
    shares = []
    for f in floors:
        if f.column not in members.columns:
            raise ParameterError(
                f"Equity floor column '{f.column}' is not a member attribute; use e.g. 'dual'."
            )
        shares.append(
            f.share
            if f.share is not None
            else float(eligible_people[f.column].cast(pl.Float64).mean() or 0.0)
        )
    return shares


def _annotate(benefit: pl.DataFrame, members: pl.DataFrame, c: Constraints) -> pl.DataFrame:
    cols = [f.column for f in c.equity_floors]
    frame = (
        benefit.join(members.select("person_id", *cols), on="person_id", how="left")
        if cols
        else benefit
    )
    return frame.with_columns(
        pl.col("person_id").is_in(list(c.must_include)).alias("_must"),
        *[
            pl.col(col).fill_null(False).cast(pl.Boolean).alias(f"_g{k}")
            for k, col in enumerate(cols)
        ],
    )


def candidates(
    benefit: pl.DataFrame, members: pl.DataFrame, programs: Sequence[Program], c: Constraints
) -> pl.DataFrame:
    """The (member, program) rows an optimal plan can need (module docstring), annotated with
    must-include and floor-group flags."""
    frame = _annotate(benefit, members, c)
    slots = sum(p.slots for p in programs)
    costs = [p.cost_per_member for p in programs if p.slots > 0]
    if c.budget is not None and costs and min(costs) > 0:
        slots = min(slots, int(c.budget // min(costs)))
    groups = ["_must", *[f"_g{k}" for k in range(len(c.equity_floors))]]
    protected = pl.any_horizontal(groups) if groups else pl.lit(False)
    rank = (
        pl.col("expected_net_savings").rank("ordinal", descending=True).over(["program", *groups])
    )
    return frame.filter(
        pl.col("_must") | ((rank <= slots) & ((pl.col("expected_net_savings") > 0) | protected))
    )


def _empty(benefit: pl.DataFrame, method: str, pairs: int, seconds: float) -> Solution:
    return Solution(method, benefit.head(0), 0.0, 0.0, 0.0, "optimal", seconds, 0, pairs)


@contextmanager
def _native_output_silenced() -> Iterator[None]:
    """HiGHS prints its banner from C++ to the process's standard output whenever a solver is
    created, whatever its options; this keeps it out of the CLI's and app's output."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, io.UnsupportedOperation, ValueError):
        yield  # no real file behind stdout (captured, as under pytest)
        return
    sys.stdout.flush()
    saved, devnull = os.dup(fd), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)


def solve(
    benefit: pl.DataFrame,
    members: pl.DataFrame,
    programs: Sequence[Program],
    constraints: Constraints | None = None,
    *,
    tolerance: float = 1e-3,
    time_limit: float = 30.0,
) -> Solution:
    """The MILP's plan (module docstring), to a relative gap of at most ``tolerance`` (0.1%) or
    until ``time_limit`` seconds, whichever comes first; ``gap`` is what was reached and
    ``status`` says which ("user_limit": the time limit)."""
    c = constraints or Constraints()
    started = time.perf_counter()
    missing = sorted(set(c.must_include) - set(benefit["person_id"].to_list()))
    if missing:
        raise ParameterError(
            f"{len(missing)} must-include members are eligible for no program ({', '.join(missing[:5])}"
            + ("..." if len(missing) > 5 else "")
            + "): widen a program's eligibility or drop them from the must-include list."
        )
    shares = _floor_shares(benefit, members, c.equity_floors)
    cand = candidates(benefit, members, programs, c)
    n = cand.height
    if n == 0:
        return _empty(benefit, "optimizer", benefit.height, time.perf_counter() - started)
    person_code = cand["person_id"].cast(pl.Categorical).to_physical().to_numpy()
    # dense person codes 0..m-1
    _, person_code = np.unique(person_code, return_inverse=True)
    prog = cand["program_index"].to_numpy()
    net = cand["expected_net_savings"].to_numpy()
    cost = cand["cost"].to_numpy()
    x = cp.Variable(n, boolean=True)
    ones = np.ones(n)
    one_each = sp.csr_matrix((ones, (person_code, np.arange(n))))
    by_program = sp.csr_matrix((ones, (prog, np.arange(n))), shape=(len(programs), n))
    cons = [by_program @ x <= np.array([p.slots for p in programs], dtype=float)]
    must = cand["_must"].to_numpy()
    if must.any():
        must_people = np.unique(person_code[must])
        free_people = np.setdiff1d(np.arange(one_each.shape[0]), must_people)
        cons.append(one_each[must_people] @ x == 1)
        if free_people.size:
            cons.append(one_each[free_people] @ x <= 1)
    else:
        cons.append(one_each @ x <= 1)
    if c.budget is not None:
        cons.append(cost @ x <= c.budget)
    for k, share in enumerate(shares):
        g = cand[f"_g{k}"].to_numpy().astype(float)
        cons.append((g - share) @ x >= 0)
    problem = cp.Problem(cp.Maximize(net @ x), cons)
    try:
        # HiGHS's presolve measured slower than none on these assignment-shaped problems
        with _native_output_silenced(), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # a time limit: the status says so
            problem.solve(
                solver=SOLVER,
                mip_rel_gap=tolerance,
                time_limit=time_limit,
                presolve="off",
                output_flag=False,
            )
    except cp.error.SolverError as exc:
        raise ParameterError(f"The optimizer failed: {exc}.") from None
    if problem.status in ("infeasible", "infeasible_inaccurate"):
        raise ParameterError(
            "No plan meets every constraint: the must-include members, equity floors, capacities and "
            "budget contradict each other. Add capacity or budget, or relax a floor."
        )
    if x.value is None:
        raise ParameterError(
            f"The optimizer stopped without a plan (status {problem.status}); raise the time limit."
        )
    chosen_mask = x.value > 0.5
    objective = float(net[chosen_mask].sum())
    info = problem.solver_stats.extra_stats
    bound = (
        -float(info.mip_dual_bound)
        if info is not None and np.isfinite(info.mip_dual_bound)
        else objective
    )
    flags = ["_must", *[f"_g{k}" for k in range(len(shares))]]
    chosen = cand.filter(pl.Series(chosen_mask)).drop(flags)
    status = str(problem.status)
    # HiGHS stops once within the tolerance; a greedy list by net savings that meets every
    # constraint can be better than the incumbent it stopped at: keep the better of the two
    plain = cand.drop(flags)
    g = greedy(plain, members, programs, c, order="net_savings")
    if g.objective > objective + 1e-9 and _meets(g, members, c, shares):
        chosen, objective, status = g.chosen, g.objective, f"{status} (greedy incumbent)"
    bound = max(bound, objective)
    gap = (bound - objective) / abs(bound) if bound > 0 else 0.0
    return Solution(
        "optimizer",
        chosen,
        objective,
        bound,
        gap,
        status,
        time.perf_counter() - started,
        n,
        benefit.height,
    )


def _meets(solution: Solution, members: pl.DataFrame, c: Constraints, shares: list[float]) -> bool:
    """Whether a greedy solution meets the must-includes and the equity floors (a greedy list
    keeps capacity and budget by construction)."""
    placed = set(solution.chosen["person_id"].to_list())
    if not set(c.must_include) <= placed:
        return False
    for f, share in zip(c.equity_floors, shares, strict=True):
        got = solution.chosen.join(members.select("person_id", f.column), on="person_id")[f.column]
        if got.len() and float(got.cast(pl.Float64).mean() or 0.0) < share - 1e-9:
            return False
    return True


GREEDY_ORDERS = {
    "predicted_cost": "greedy top-N by predicted cost",
    "risk_tier": "greedy by risk tier",
    "net_savings": "greedy by expected net savings",
}


def greedy(
    benefit: pl.DataFrame,
    members: pl.DataFrame,
    programs: Sequence[Program],
    constraints: Constraints | None = None,
    *,
    order: str = "predicted_cost",
) -> Solution:
    """A greedy plan, as common practice builds one: members in ``order`` ("predicted_cost":
    highest predicted cost first; "risk_tier": tier order highest, high, rising, moderate, low,
    then highest admission probability; "net_savings": (member, program) rows by expected net
    savings, positive only), must-includes first, each placed in the eligible program with room
    and budget left that saves most for them. Equity floors are not enforced (a greedy list does
    not know them); ``floor_report`` says whether they happen to hold."""
    if order not in GREEDY_ORDERS:
        raise ParameterError(
            f"Unknown greedy order '{order}'; use one of {', '.join(GREEDY_ORDERS)}."
        )
    c = constraints or Constraints()
    started = time.perf_counter()
    frame = benefit.join(
        members.select("person_id", "pred_cost", "pred_admission", "tier"),
        on="person_id",
        how="left",
    ).with_columns(
        pl.col("person_id").is_in(list(c.must_include)).alias("_must"),
        pl.col("tier")
        .replace_strict({t: i for i, t in enumerate(TIERS)}, default=len(TIERS))
        .alias("_tier"),
    )
    if order == "net_savings":
        frame = frame.filter((pl.col("expected_net_savings") > 0) | pl.col("_must")).sort(
            ["_must", "expected_net_savings"], descending=[True, True]
        )
    else:
        keys = ["pred_cost"] if order == "predicted_cost" else ["_tier", "pred_admission"]
        desc = [True] if order == "predicted_cost" else [False, True]
        frame = frame.sort(["_must", *keys, "expected_net_savings"], descending=[True, *desc, True])
    room = np.array([p.slots for p in programs], dtype=np.int64)
    budget = np.inf if c.budget is None else float(c.budget)
    person = frame["person_id"].to_list()
    prog = frame["program_index"].to_numpy()
    cost = frame["cost"].to_numpy()
    taken: set[str] = set()
    keep = np.zeros(frame.height, dtype=bool)
    for k in range(frame.height):  # a baseline list walk, stopped when every program is full
        if room.sum() == 0:
            break
        pid, p = person[k], prog[k]
        if pid in taken or room[p] == 0 or cost[k] > budget:
            continue
        keep[k] = True
        taken.add(pid)
        room[p] -= 1
        budget -= cost[k]
    chosen = frame.filter(pl.Series(keep)).select(benefit.columns)
    return Solution(
        GREEDY_ORDERS[order],
        chosen,
        float(chosen["expected_net_savings"].sum()),
        None,
        None,
        "heuristic",
        time.perf_counter() - started,
        frame.height,
        benefit.height,
    )


def floor_report(
    solution: Solution, members: pl.DataFrame, benefit: pl.DataFrame, constraints: Constraints
) -> pl.DataFrame:
    """group, required share of the filled slots, achieved share, and whether the floor holds."""
    shares = _floor_shares(benefit, members, constraints.equity_floors)
    rows = []
    for f, share in zip(constraints.equity_floors, shares, strict=True):
        placed = solution.chosen.join(members.select("person_id", f.column), on="person_id")
        achieved = float(placed[f.column].cast(pl.Float64).mean()) if placed.height else 0.0
        rows.append(
            {
                "group": f.column,
                "required_share": share,
                "achieved_share": achieved,
                "holds": achieved >= share - 1e-9,
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "group": pl.String,
            "required_share": pl.Float64,
            "achieved_share": pl.Float64,
            "holds": pl.Boolean,
        },
    )


def marginal_values(
    benefit: pl.DataFrame,
    members: pl.DataFrame,
    programs: Sequence[Program],
    constraints: Constraints | None,
    base: Solution,
    *,
    budget_step: float = 10_000.0,
    tolerance: float = 1e-3,
) -> pl.DataFrame:
    """constraint, change, objective with the change, and its value (the change in expected net
    savings), each measured by re-solving the MILP."""
    c = constraints or Constraints()
    rows = []

    def resolve(progs: Sequence[Program], cons: Constraints) -> float:
        return solve(benefit, members, progs, cons, tolerance=tolerance).objective

    for k, p in enumerate(programs):
        if p.members_per_care_manager is not None and p.care_managers is not None:
            more, change = p.with_care_managers(p.care_managers + 1), "one more care manager"
        else:
            more, change = p.with_slots(p.slots + 10), "10 more slots"
        progs = [*programs[:k], more, *programs[k + 1 :]]
        after = resolve(progs, c)
        rows.append(
            {
                "constraint": f"capacity: {p.label}",
                "change": change,
                "objective": after,
                "value": after - base.objective,
            }
        )
    if c.budget is not None:
        after = resolve(programs, replace(c, budget=c.budget + budget_step))
        rows.append(
            {
                "constraint": "budget",
                "change": f"${budget_step:,.0f} more budget",
                "objective": after,
                "value": after - base.objective,
            }
        )
    for k, f in enumerate(c.equity_floors):
        floors = c.equity_floors[:k] + c.equity_floors[k + 1 :]
        after = resolve(programs, replace(c, equity_floors=floors))
        rows.append(
            {
                "constraint": f"equity floor: {f.column}",
                "change": "floor removed",
                "objective": after,
                "value": after - base.objective,
            }
        )
    if c.must_include:
        after = resolve(programs, replace(c, must_include=()))
        rows.append(
            {
                "constraint": "clinical must-includes",
                "change": "must-includes removed",
                "objective": after,
                "value": after - base.objective,
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "constraint": pl.String,
            "change": pl.String,
            "objective": pl.Float64,
            "value": pl.Float64,
        },
    )
