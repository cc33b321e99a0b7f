"""The targeting MILP against hand-solved cases and brute force; the greedy lists it beats."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modeling.errors import ParameterError
from risk_stratification.targeting.optimize import (
    Constraints,
    EquityFloor,
    candidates,
    floor_report,
    greedy,
    marginal_values,
    solve,
)
from risk_stratification.targeting.programs import Program, parse_program


def program(
    name: str,
    *,
    slots: int,
    cost: float,
    care_managers: float | None = None,
    per: float | None = None,
    **eligibility,
) -> Program:
    capacity = (
        {"care_managers": care_managers, "members_per_care_manager": per}
        if care_managers is not None
        else {"slots": slots}
    )
    return parse_program(
        {
            "name": name,
            "eligibility": eligibility,
            "capacity": capacity,
            "cost": {"per_member": cost},
            "engagement": {"rate": 1.0},
            "effect": [{"category": "acute inpatient", "reduction": 0.1}],
        }
    )


def benefit_frame(
    rows: list[tuple[str, int, float, float]], programs: list[Program]
) -> pl.DataFrame:
    """(person, program index, net, cost) rows as the optimizer reads them."""
    return pl.DataFrame(
        {
            "person_id": [r[0] for r in rows],
            "program": [programs[r[1]].name for r in rows],
            "program_index": pl.Series([r[1] for r in rows], dtype=pl.Int32),
            "expected_gross_savings": [r[2] + r[3] for r in rows],
            "gross_savings_sd": [0.0] * len(rows),
            "cost": [r[3] for r in rows],
            "expected_net_savings": [r[2] for r in rows],
        },
        schema_overrides={
            "expected_net_savings": pl.Float64,
            "cost": pl.Float64,
            "expected_gross_savings": pl.Float64,
        },
    )


def members_frame(
    people: list[str],
    *,
    dual: list[bool] | None = None,
    cost: list[float] | None = None,
    tier: list[str] | None = None,
) -> pl.DataFrame:
    n = len(people)
    return pl.DataFrame(
        {
            "person_id": people,
            "dual": dual or [False] * n,
            "pred_cost": cost or [float(1000 * (n - k)) for k in range(n)],
            "pred_admission": [0.1] * n,
            "tier": tier or ["high"] * n,
            "prediction_year": [2026] * n,
        }
    )


def check_feasible(solution, programs, constraints, members):
    chosen = solution.chosen
    assert chosen["person_id"].n_unique() == chosen.height  # at most one program each
    used = chosen.group_by("program_index").len()
    for r in used.iter_rows(named=True):
        assert r["len"] <= programs[r["program_index"]].slots
    if constraints.budget is not None:
        assert chosen["cost"].sum() <= constraints.budget + 1e-6
    assert set(constraints.must_include) <= set(chosen["person_id"].to_list())
    if chosen.height:
        for f in constraints.equity_floors:
            share = f.share
            assert share is not None
            got = chosen.join(members, on="person_id")[f.column].cast(pl.Float64).mean()
            assert got >= share - 1e-9


def brute_force(benefit, programs, constraints, members):
    """The best objective over every assignment (None: no feasible one)."""
    people = sorted(set(benefit["person_id"].to_list()))
    options = {p: [None] for p in people}
    rows = benefit.to_dicts()
    for r in rows:
        options[r["person_id"]].append(r)
    dual = dict(zip(members["person_id"], members["dual"], strict=True))
    best = None
    for combo in itertools.product(*(options[p] for p in people)):
        picked = [r for r in combo if r is not None]
        counts = [0] * len(programs)
        for r in picked:
            counts[r["program_index"]] += 1
        if any(c > p.slots for c, p in zip(counts, programs, strict=True)):
            continue
        if (
            constraints.budget is not None
            and sum(r["cost"] for r in picked) > constraints.budget + 1e-9
        ):
            continue
        placed = {r["person_id"] for r in picked}
        if not set(constraints.must_include) <= placed:
            continue
        if picked and any(
            sum(dual[r["person_id"]] for r in picked) < f.share * len(picked) - 1e-9
            for f in constraints.equity_floors
        ):
            continue
        value = sum(r["expected_net_savings"] for r in picked)
        best = value if best is None or value > best else best
    return best


def test_a_hand_solved_case():
    # A is worth most in program 0, but B is worth only something in 0 and C fills program 1:
    # the best plan puts B in 0 and A in 1 (500 + 700 = 1200 > A in 0, C in 1: 900 + 100).
    programs = [program("p0", slots=1, cost=100.0), program("p1", slots=1, cost=100.0)]
    benefit = benefit_frame(
        [
            ("A", 0, 900.0, 100.0),
            ("A", 1, 700.0, 100.0),
            ("B", 0, 500.0, 100.0),
            ("C", 1, 100.0, 100.0),
        ],
        programs,
    )
    members = members_frame(["A", "B", "C"])
    best = solve(benefit, members, programs)
    assert sorted(zip(best.chosen["person_id"], best.chosen["program"], strict=True)) == [
        ("A", "p1"),
        ("B", "p0"),
    ]
    assert best.objective == pytest.approx(1200.0) and best.gap == pytest.approx(0.0, abs=1e-9)
    # greedy by predicted cost (A first, into its best program 0, then B finds 0 full) gets 1000
    g = greedy(benefit, members, programs, order="predicted_cost")
    assert g.objective == pytest.approx(1000.0)
    assert g.objective <= best.objective


def test_budget_and_must_include_by_hand():
    programs = [program("cheap", slots=5, cost=100.0), program("dear", slots=5, cost=1000.0)]
    benefit = benefit_frame(
        [
            ("A", 1, 2000.0, 1000.0),
            ("B", 0, 300.0, 100.0),
            ("C", 0, 250.0, 100.0),
            ("D", 1, -50.0, 1000.0),
        ],
        programs,
    )
    members = members_frame(["A", "B", "C", "D"])
    # a budget of 1,100 buys A (2000) and one cheap member: B (300)
    best = solve(benefit, members, programs, Constraints(budget=1100.0))
    assert set(best.chosen["person_id"]) == {"A", "B"} and best.objective == pytest.approx(2300.0)
    # D must be placed although it loses money; the budget then buys D and one cheap member
    forced = solve(benefit, members, programs, Constraints(budget=1100.0, must_include=("D",)))
    assert set(forced.chosen["person_id"]) == {"D", "B"} and forced.objective == pytest.approx(
        250.0
    )
    with pytest.raises(ParameterError, match="eligible for no program"):
        solve(benefit, members, programs, Constraints(must_include=("Z",)))
    with pytest.raises(ParameterError, match="No plan meets every constraint"):
        solve(benefit, members, programs, Constraints(budget=500.0, must_include=("D",)))


def test_the_equity_floor_holds_and_costs_what_brute_force_says():
    programs = [program("p", slots=2, cost=10.0)]
    benefit = benefit_frame(
        [("A", 0, 900.0, 10.0), ("B", 0, 800.0, 10.0), ("C", 0, 100.0, 10.0)], programs
    )
    members = members_frame(["A", "B", "C"], dual=[False, False, True])
    c = Constraints(equity_floors=(EquityFloor("dual", 0.5),))
    best = solve(benefit, members, programs, c)
    assert set(best.chosen["person_id"]) == {"A", "C"} and best.objective == pytest.approx(1000.0)
    assert floor_report(best, members, benefit, c)["holds"].all()
    marginal = marginal_values(benefit, members, programs, c, best)
    floor = marginal.filter(pl.col("constraint") == "equity floor: dual")
    assert floor["value"][0] == pytest.approx(700.0)  # without the floor: A and B, 1,700
    # the default floor share is the group's share of the eligible members (1 of 3)
    default = solve(benefit, members, programs, Constraints(equity_floors=(EquityFloor("dual"),)))
    assert default.objective == pytest.approx(1000.0)


def test_one_more_care_manager_is_measured_by_re_solving():
    cm = program("cm", slots=0, cost=100.0, care_managers=1, per=2)
    programs = [cm]
    benefit = benefit_frame(
        [
            (p, 0, v, 100.0)
            for p, v in zip("ABCDE", [500.0, 400.0, 300.0, 200.0, 50.0], strict=True)
        ],
        programs,
    )
    members = members_frame(list("ABCDE"))
    best = solve(benefit, members, programs)
    assert best.objective == pytest.approx(900.0)
    marginal = marginal_values(benefit, members, programs, None, best)
    row = marginal.row(0, named=True)
    assert row["change"] == "one more care manager" and row["value"] == pytest.approx(
        500.0
    )  # C and D


def test_the_reduction_keeps_only_what_an_optimum_can_use():
    programs = [program("p0", slots=1, cost=1.0), program("p1", slots=1, cost=1.0)]
    rows = [(f"M{k}", j, float(100 - k - j), 1.0) for k in range(10) for j in range(2)]
    rows.append(("NEG", 0, -5.0, 1.0))
    benefit = benefit_frame(rows, programs)
    members = members_frame([f"M{k}" for k in range(10)] + ["NEG"])
    kept = candidates(benefit, members, programs, Constraints())
    # total slots K = 2: the top 2 of each program, no pair without positive savings
    assert kept.height == 4 and "NEG" not in kept["person_id"].to_list()


@st.composite
def instances(draw):
    n_people = draw(st.integers(1, 6))
    n_programs = draw(st.integers(1, 3))
    costs = [draw(st.sampled_from([0.0, 50.0, 100.0, 400.0])) for _ in range(n_programs)]
    programs = [
        program(f"p{j}", slots=draw(st.integers(0, 3)), cost=costs[j]) for j in range(n_programs)
    ]
    people = [f"P{k}" for k in range(n_people)]
    rows = []
    for person in people:
        for j in range(n_programs):
            if draw(st.booleans()):
                net = float(draw(st.integers(-300, 1000)))
                rows.append((person, j, net, costs[j]))
    if not rows:
        rows.append((people[0], 0, 10.0, costs[0]))
    dual = [draw(st.booleans()) for _ in people]
    budget = draw(st.one_of(st.none(), st.sampled_from([0.0, 100.0, 250.0, 600.0, 1000.0])))
    floor = draw(st.one_of(st.none(), st.sampled_from([0.25, 0.5, 0.75])))
    eligible = sorted({r[0] for r in rows})
    must = tuple(draw(st.lists(st.sampled_from(eligible), max_size=2, unique=True)))
    constraints = Constraints(
        budget=budget,
        equity_floors=(EquityFloor("dual", floor),) if floor is not None else (),
        must_include=must,
    )
    return (
        benefit_frame(rows, programs),
        members_frame(people, dual=dual, cost=[float(draw(st.integers(0, 9))) for _ in people]),
        programs,
        constraints,
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_the_optimizer_finds_the_brute_force_optimum(case):
    benefit, members, programs, constraints = case
    best = brute_force(benefit, programs, constraints, members)
    if best is None:
        with pytest.raises(ParameterError):
            solve(benefit, members, programs, constraints)
        return
    found = solve(benefit, members, programs, constraints, tolerance=1e-9)
    check_feasible(found, programs, constraints, members)
    assert found.objective == pytest.approx(best, abs=1e-6)
    # never worse than a greedy list that meets the same constraints, on its own objective
    for order in ("predicted_cost", "risk_tier", "net_savings"):
        g = greedy(benefit, members, programs, constraints, order=order)
        g_ok = set(constraints.must_include) <= set(g.chosen["person_id"].to_list()) and (
            not constraints.equity_floors
            or floor_report(g, members, benefit, constraints)["holds"].all()
        )
        # greedy keeps capacity and budget always
        for r in g.chosen.group_by("program_index").len().iter_rows(named=True):
            assert r["len"] <= programs[r["program_index"]].slots
        if constraints.budget is not None:
            assert g.chosen["cost"].sum() <= constraints.budget + 1e-6
        if g_ok:
            assert g.objective <= found.objective + 1e-6


def test_greedy_order_must_be_known():
    programs = [program("p", slots=1, cost=1.0)]
    benefit = benefit_frame([("A", 0, 1.0, 1.0)], programs)
    with pytest.raises(ParameterError, match="Unknown greedy order"):
        greedy(benefit, members_frame(["A"]), programs, order="alphabetical")


def test_a_larger_instance_stays_within_capacity_and_beats_greedy():
    rng = np.random.default_rng(3)
    programs = [
        program(f"p{j}", slots=s, cost=c)
        for j, (s, c) in enumerate([(40, 3000.0), (90, 450.0), (25, 1200.0), (40, 600.0)])
    ]
    people = [f"P{k:05d}" for k in range(5000)]
    rows = [
        (p, j, float(rng.normal(200, 900)), programs[j].cost_per_member)
        for p in people
        for j in range(4)
        if rng.random() < 0.3
    ]
    benefit = benefit_frame(rows, programs)
    members = members_frame(
        people, dual=list(rng.random(5000) < 0.2), cost=list(rng.gamma(1, 10000, 5000))
    )
    c = Constraints(budget=150_000.0, equity_floors=(EquityFloor("dual"),))
    best = solve(benefit, members, programs, c)
    share = floor_report(best, members, benefit, c)["required_share"][0]
    check_feasible(
        best,
        programs,
        Constraints(budget=c.budget, equity_floors=(EquityFloor("dual", share),)),
        members,
    )
    assert best.gap <= 1e-3
    for order in ("predicted_cost", "risk_tier", "net_savings"):
        assert greedy(benefit, members, programs, c, order=order).objective <= best.objective + 1e-6
    # even stopped early, at a loose tolerance, the plan is no worse than the greedy list by net
    loose = solve(benefit, members, programs, Constraints(budget=60_000.0), tolerance=0.05)
    by_net = greedy(benefit, members, programs, Constraints(budget=60_000.0), order="net_savings")
    assert loose.objective >= by_net.objective - 1e-6 and loose.gap <= 0.05
