"""Benchmark: episodes of every bundle model (TEAM, BPCI Advanced and a commercial knee bundle)
on a panel, then one hospital's reconciliation with 10,000 simulated years.

Usage: python benchmarks/bench_bundles.py DATASET [--draws 10000]

The panel's core claim lines must exist (``vbc summary`` or any engine derives them once); the
benchmark reads the core and the canonical eligibility only.
"""

from __future__ import annotations

import argparse
import resource
import time

import polars as pl

from contracts.bundles.analysis import bundle_model, target_prices_for
from contracts.bundles.build import panel_episode_tables
from contracts.bundles.definitions import parse_commercial_bundle
from contracts.bundles.distribution import BundleUncertainty, simulate_reconciliation
from contracts.bundles.hospital import hospital_reconciliation, hospitals
from contracts.bundles.reconciliation import reconciliation_rules
from modeling.core.panel import Panel

KNEE = {
    "bundle": {
        "name": "commercial knee",
        "window_days": 90,
        "anchor_drgs": ["469", "470"],
        "anchor_hcpcs": ["27447"],
        "price": 28_000,
    }
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset")
    parser.add_argument("--draws", type=int, default=10_000)
    args = parser.parse_args()
    panel = Panel(args.dataset)
    start, cpu = time.perf_counter(), time.process_time()
    panel.materialize(("claim_lines", "acute_legs"))
    print(
        f"core claim lines and acute legs ready: {time.perf_counter() - start:.1f} s "
        f"({time.process_time() - cpu:.1f} s CPU; 0 when already derived)"
    )
    specs = [
        bundle_model("team", rules_year=2026).spec,
        bundle_model("bpci-advanced").spec,
        parse_commercial_bundle(KNEE)[0],
    ]
    start, cpu = time.perf_counter(), time.process_time()
    tables = panel_episode_tables(panel, specs)
    took, took_cpu = time.perf_counter() - start, time.process_time() - cpu
    for t in tables:
        kept = t.episodes.filter(pl.col("status") == "kept").height
        print(
            f"{t.spec.model}: {t.episodes.height:,} triggers, {kept:,} kept, {t.claims.height:,} episode claim lines"
        )
    print(f"episodes of every model: {took:.1f} s ({took_cpu:.1f} s CPU)")
    team = tables[0]
    year = int(team.episodes.filter(pl.col("status") == "kept")["anchor_year"].max())  # type: ignore[arg-type]
    start = time.perf_counter()
    prices = target_prices_for(panel, team, bundle_model("team"), performance_year=year)
    print(
        f"TEAM target prices estimated (risk factors, baseline, steps): {time.perf_counter() - start:.1f} s"
    )
    npi = str(hospitals(team.episodes, performance_year=year)["facility_npi"][0])
    rules = reconciliation_rules("team", performance_year=2027, track="2")
    for _ in range(2):
        start, cpu = time.perf_counter(), time.process_time()
        hy = hospital_reconciliation(
            team.episodes, prices, facility_npi=npi, rules=rules, quality_score=60
        )
        sim = simulate_reconciliation(
            hy,
            rules,
            BundleUncertainty(quality_score=60, initiatives={"snf": 0.1}),
            draws=args.draws,
        )
        s = sim.summary()
        print(
            f"reconciliation + {args.draws:,} simulated years, hospital {npi} ({hy.episodes.height} episodes): "
            f"{time.perf_counter() - start:.2f} s ({time.process_time() - cpu:.2f} s CPU; expected ${s.expected_settlement:,.0f}, "
            f"P(repay) {s.p_owes_losses:.1%}, P(stop-loss) {s.p_hits_loss_cap:.1%})"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    print(f"peak resident memory: {peak:.1f} GB")


if __name__ == "__main__":
    main()
