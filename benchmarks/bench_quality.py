"""Benchmark: every quality measure of one year on a panel (default /tmp/bench/p1m_v2), read from
the core. Run under the shared lock: ``flock /tmp/heavy.lock python benchmarks/bench_quality.py
[DATASET] [YEAR]``. The core tables the measures read are derived first (timed apart) so that
the figure is the measures' own time, as every later run sees it; CPU time (user + system, all
threads) is reported beside wall time, since the machine is shared."""

from __future__ import annotations

import os
import platform
import resource
import sys
import time

import polars as pl

from modeling.core.panel import Panel
from modeling.marts.quality import measure_rows, quality_results

QUALITY_TABLES = (
    "member_months",
    "claim_lines",
    "person_diagnoses",
    "inpatient_stays",
    "inpatient_stay_codes",
    "snf_stays",
)
"""The core tables the measures read."""


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    path = sys.argv[1] if len(sys.argv) > 1 else "/tmp/bench/p1m_v2"
    year = int(sys.argv[2]) if len(sys.argv) > 2 else 2024
    panel = Panel(path)
    t0 = time.perf_counter()
    panel.materialize(QUALITY_TABLES)
    t1, c1 = time.perf_counter(), _cpu()
    rows = measure_rows(panel, year).collect()
    t2, c2 = time.perf_counter(), _cpu()
    results = quality_results(panel, year, measure_frame=rows)
    by_provider = quality_results(panel, year, by="provider", measure_frame=rows)
    t3, c3 = time.perf_counter(), _cpu()
    members = (
        panel.scan("member_months")
        .filter(pl.col("year") == year)
        .select(pl.col("person_id").n_unique())
        .collect()
        .item()
    )
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, polars {pl.__version__}")
    print(f"dataset: {path}, year {year}, {members:,} members enrolled")
    print(f"core (derive or read): {t1 - t0:.1f} s")
    print(
        f"measure rows ({rows.height:,} rows, {results.height} measures): {t2 - t1:.1f} s "
        f"wall, {c2 - c1:.1f} s CPU"
    )
    print(
        f"aggregation by panel and by {by_provider['provider_npi'].n_unique()} providers: "
        f"{t3 - t2:.1f} s wall, {c3 - c2:.1f} s CPU"
    )
    print(f"all measures: {t3 - t1:.1f} s wall, {c3 - c1:.1f} s CPU")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    print(f"peak RSS of the process: {peak:.2f} GB")


if __name__ == "__main__":
    main()
