"""Benchmark: care-management targeting. The MILP on a 100,000-member panel with 4 programs (to
within 0.1% of optimal, <= 30 s on 2 cores), and the re-plan the Targeting page does on the
default panel (<= 3 s).

Usage:
    python benchmarks/bench_targeting.py DATASET --scored SCORED.parquet [--scale 5]
        [--budget 2000000] [--rounds 3]
    python benchmarks/bench_targeting.py --app WS [--rounds 3]

With --app, the Targeting page is opened with Streamlit's AppTest on workspace WS (its
default dataset and a registered risk model), and each re-plan after a change of budget is
timed: the whole page run (plan, greedy lists, re-solves, worklist, contract effect).

SCORED is ``risk_stratification.ml.pipeline.score(DATASET, trained)`` written as Parquet (the
benchmark times the targeting, not the scoring). The preset programs' care managers are
multiplied by ``--scale`` (5 for a 100,000-member panel: the presets are sized for the default
20,000). The MILP is solved with a relative gap tolerance of 0.1%; its gap is HiGHS's, and it
is certified independently: the LP relaxation of the FULL problem (every eligible pair, no
reduction), solved by SciPy's HiGHS, bounds the optimum from above.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import polars as pl
import scipy.sparse as sp
from scipy.optimize import linprog

from modeling.dataset import Dataset
from risk_stratification.targeting import (
    Constraints,
    EquityFloor,
    expected_benefit,
    make_plan,
    member_inputs,
    preset_programs,
    solve,
)
from risk_stratification.targeting.optimize import GREEDY_ORDERS, greedy


def full_lp_bound(benefit: pl.DataFrame, programs, constraints: Constraints, share: float) -> float:
    """Upper bound on the MILP's optimum: its LP relaxation over every eligible pair."""
    n = benefit.height
    _, person = np.unique(benefit["person_id"].to_numpy(), return_inverse=True)
    prog = benefit["program_index"].to_numpy()
    ones = np.ones(n)
    rows = [
        sp.csr_matrix((ones, (person, np.arange(n)))),
        sp.csr_matrix((ones, (prog, np.arange(n))), shape=(len(programs), n)),
    ]
    ub = [np.ones(person.max() + 1), np.array([p.slots for p in programs], dtype=float)]
    if constraints.budget is not None:
        rows.append(sp.csr_matrix(benefit["cost"].to_numpy()))
        ub.append(np.array([constraints.budget]))
    if constraints.equity_floors:
        dual = benefit["dual"].cast(pl.Float64).to_numpy()
        rows.append(sp.csr_matrix(-(dual - share)))  # (dual - share) x >= 0
        ub.append(np.array([0.0]))
    res = linprog(
        -benefit["expected_net_savings"].to_numpy(),
        A_ub=sp.vstack(rows).tocsr(),
        b_ub=np.concatenate(ub),
        bounds=(0, 1),
        method="highs",
    )
    return -float(res.fun)


def app_replans(workspace: str, rounds: int) -> None:
    """Time the Targeting page's re-plan on a workspace's default dataset."""
    import os
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    root = Path(__file__).resolve().parents[1]
    os.environ["VBC_WORKSPACE"] = workspace
    os.chdir(root)
    started = time.perf_counter()
    at = AppTest.from_file(
        str(root / "app" / "pages" / "care_targeting.py"), default_timeout=600
    ).run()
    assert not at.exception, at.exception
    print(f"first open (scoring the panel, cached after): {time.perf_counter() - started:.2f} s")
    for k, budget in enumerate([500_000.0, 250_000.0, 0.0, 150_000.0][: max(rounds, 1) + 1]):
        started = time.perf_counter()
        at.number_input(key="tg_budget").set_value(budget).run()
        assert not at.exception, at.exception
        value = {m.label: m.value for m in at.metric}["Expected net savings"]
        print(
            f"re-plan {k + 1} (budget {budget:,.0f}): {time.perf_counter() - started:.2f} s, expected net savings {value}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", nargs="?")
    parser.add_argument("--scored")
    parser.add_argument("--app", help="workspace to time the Targeting page's re-plan on")
    parser.add_argument("--scale", type=float, default=5.0)
    parser.add_argument("--budget", type=float, default=2_000_000.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.app:
        app_replans(args.app, args.rounds)
        return
    if not args.dataset or not args.scored:
        parser.error("give DATASET and --scored, or --app WS")

    started = time.perf_counter()
    members = member_inputs(Dataset(args.dataset), pl.read_parquet(args.scored))
    print(f"member inputs: {members.height:,} members in {time.perf_counter() - started:.2f} s")
    programs = [
        p.with_care_managers((p.care_managers or 0) * args.scale) for p in preset_programs()
    ]
    constraints = Constraints(budget=args.budget, equity_floors=(EquityFloor("dual"),))
    started = time.perf_counter()
    benefit = expected_benefit(members, programs)
    print(
        f"expected benefit: {benefit.height:,} eligible pairs over {len(programs)} programs "
        f"({', '.join(f'{p.name} {p.slots:,} slots' for p in programs)}) in {time.perf_counter() - started:.2f} s"
    )
    for r in range(args.rounds):
        best = solve(benefit, members, programs, constraints, tolerance=1e-3)
        print(
            f"round {r + 1}: MILP {best.seconds:.2f} s (reduction + cvxpy + HiGHS), {best.candidates:,} candidate pairs, "
            f"objective ${best.objective:,.0f}, HiGHS bound ${best.bound:,.0f}, gap {best.gap:.5%}, status {best.status}"
        )
    eligible_dual = (
        benefit.select("person_id").unique().join(members, on="person_id")["dual"].mean()
    )
    started = time.perf_counter()
    bound = full_lp_bound(
        benefit.join(members.select("person_id", "dual"), on="person_id"),
        programs,
        constraints,
        float(eligible_dual),
    )
    print(
        f"LP relaxation of the full problem (every pair, SciPy HiGHS, {time.perf_counter() - started:.1f} s): "
        f"bound ${bound:,.0f}; the MILP is within {(bound - best.objective) / bound:.5%} of optimal"
    )
    for order in GREEDY_ORDERS:
        g = greedy(benefit, members, programs, constraints, order=order)
        print(
            f"{GREEDY_ORDERS[order]}: ${g.objective:,.0f} ({g.chosen.height:,} members, {g.seconds:.2f} s)"
        )
    started = time.perf_counter()
    plan = make_plan(members, programs, constraints, tolerance=1e-3)
    print(
        f"whole plan with greedy lists and {plan.marginal.height} re-solves: {time.perf_counter() - started:.2f} s"
    )


if __name__ == "__main__":
    main()
