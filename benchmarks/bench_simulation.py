"""Benchmark: 10,000 simulated performance years of a contract for a panel (fast mode: member
noise from the exact mean and variance of the panel's sum), after the panel has been read.

Usage: python benchmarks/bench_simulation.py DATASET [--draws 10000] [--contract mssp-basic-e-2026]
"""

from __future__ import annotations

import argparse
import time

from contracts.history import panel_history
from contracts.projection import Assumptions, project
from contracts.simulation import simulate
from contracts.specs import load_spec
from modeling.dataset import Dataset


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset")
    parser.add_argument("--draws", type=int, default=10_000)
    parser.add_argument("--contract", default="mssp-basic-e-2026")
    args = parser.parse_args()
    start = time.perf_counter()
    history = panel_history(Dataset(args.dataset))
    print(
        f"reading the panel (expenditures and risk by year, once per dataset): {time.perf_counter() - start:.1f} s"
    )
    spec, a = load_spec(args.contract), Assumptions(initiatives={"acute inpatient": -0.05})
    start = time.perf_counter()
    base = project(spec, history, a)
    print(
        f"deterministic projection ({base.performance.person_years:,.0f} person-years): {time.perf_counter() - start:.2f} s"
    )
    for _ in range(2):
        start = time.perf_counter()
        result = simulate(spec, history, a, draws=args.draws, seed=1, projection=base)
        print(
            f"{args.draws:,} scenarios: {time.perf_counter() - start:.2f} s (expected settlement ${result.summary().expected_settlement:,.0f})"
        )


if __name__ == "__main__":
    main()
