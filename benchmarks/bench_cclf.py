"""Benchmark: `vbc ingest cclf` on CCLF deliveries written from a synthetic panel.

Usage: python benchmarks/bench_cclf.py --dataset DIR [--cclf DIR]   (or --members N to generate one)
Writes the panel as CCLF (monthly deliveries, run-out, adjustments, cancellations, MBI changes),
then times the ingest in a fresh process so its peak memory is its own. Prints the figures to
record in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

INGEST = """
import json, resource, sys, time
from modeling.ingest.cclf import ingest_cclf
t0 = time.perf_counter()
report = ingest_cclf(sys.argv[1], sys.argv[2])
seconds = time.perf_counter() - t0
lines = sum(f.lines_read for f in report.files)
print(json.dumps({"seconds": seconds, "lines": lines, "reconciled": report.reconciled,
                  "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024,
                  "rows": {t: r.rows_accepted for t, r in report.results.items()}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", help="canonical dataset to write as CCLF")
    parser.add_argument(
        "--members",
        type=int,
        default=20_000,
        help="generate a panel of this size when --dataset is not given",
    )
    parser.add_argument("--cclf", help="where to write the CCLF files (default: a temp folder)")
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cores, python {platform.python_version()}"
    )
    work = Path(tempfile.mkdtemp(prefix="vbc-bench-cclf-"))
    dataset = args.dataset
    if dataset is None:
        from modeling.synth import SynthSpec, generate

        dataset = str(work / "panel")
        generate(SynthSpec(args.members, 2023, 3, 20240601), dataset)
    cclf = Path(args.cclf) if args.cclf else work / "cclf"
    if not cclf.exists() or not any(cclf.iterdir()):
        from modeling.synth.cclf_writer import write_cclf

        t0 = time.perf_counter()
        summary = write_cclf(dataset, cclf)
        print(
            f"write_cclf: {summary.files} files, {summary.lines:,} lines in {time.perf_counter() - t0:.1f} s"
        )
    size_gb = sum(f.stat().st_size for f in cclf.iterdir()) / 1e9
    out = subprocess.run(
        [sys.executable, "-c", INGEST, str(cclf), str(work / "ingested")],
        capture_output=True,
        text=True,
        check=True,
    )
    import json

    figures = json.loads(out.stdout.strip().splitlines()[-1])
    print(
        f"ingest: {figures['lines']:,} CCLF lines ({size_gb:.2f} GB) in {figures['seconds']:.1f} s "
        f"({figures['lines'] / figures['seconds']:,.0f} lines/s), peak RSS {figures['peak_gb']:.2f} GB, reconciled {figures['reconciled']}"
    )
    print("rows loaded: " + ", ".join(f"{t} {n:,}" for t, n in figures["rows"].items()))
    print(
        f"benchmark process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024:.2f} GB"
    )


if __name__ == "__main__":
    main()
