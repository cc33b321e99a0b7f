"""Benchmark: `vbc ingest canonical` on CSV files written from a synthetic panel, for the cost of
issue 15's checks (text checked block by block, enrollment months, implausible amounts).

Usage: python benchmarks/bench_ingest.py --dataset DIR --members N --work DIR [--code DIR ...]
Writes the eligibility and medical claims of the panel's first N persons as CSV under --work
(once), then times the ingest in a fresh process for each --code checkout (its folder first on
PYTHONPATH), so a checkout before the change can be compared with this one on the same files.
Prints the figures to record in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

# Peak memory is the process's own high-water mark (VmHWM, reset by exec), not ru_maxrss: Linux
# keeps ru_maxrss across fork and exec, so a child started by a parent that had read the panel
# reported the parent's peak (the 4.53 GB of the 2026-12-01 morning figures below was that).
INGEST = """
import json, os, sys, time
from modeling.ingest.canonical import ingest_canonical
def hwm_gb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024 / 1024
t0, c0 = time.perf_counter(), os.times()
report = ingest_canonical(sys.argv[1], sys.argv[2])
seconds, c1 = time.perf_counter() - t0, os.times()
print(json.dumps({"seconds": round(seconds, 2),
                  "cpu_seconds": round(c1.user + c1.system - c0.user - c0.system, 2),
                  "peak_gb": round(hwm_gb(), 2),
                  "tables": {t: [r.rows_in, r.rows_accepted, r.rows_quarantined,
                                 {k: v for k, v in r.check_counts.items() if v}]
                             for t, r in report.results.items()}}))
"""


def write_source(dataset: Path, members: int, src: Path) -> None:
    import polars as pl

    if (src / "medical_claim.csv").exists():
        return
    src.mkdir(parents=True, exist_ok=True)
    elig = pl.scan_parquet(dataset / "eligibility.parquet", glob=False)
    persons = elig.select("person_id").unique().sort("person_id").head(members).collect()
    for table in ("eligibility", "medical_claim"):
        frame = pl.scan_parquet(dataset / f"{table}.parquet", glob=False).join(
            persons.lazy(), on="person_id", how="semi"
        )
        frame.sink_csv(src / f"{table}.csv")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", type=Path)
    ap.add_argument("--members", type=int, default=10_000)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--code", type=Path, action="append", default=[])
    ap.add_argument("--source", type=Path, help="time this folder of canonical files instead")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each checkout, interleaved")
    args = ap.parse_args()
    src = args.source or args.work / f"src{args.members}"
    if args.source is None:
        write_source(args.dataset, args.members, src)
    size = sum(f.stat().st_size for f in src.iterdir()) / 1e6
    print(f"machine: {platform.node()} {os.cpu_count()} cores, python {platform.python_version()}")
    print(f"source: {src} ({size:,.0f} MB of CSV)")
    codes = args.code or [Path(__file__).resolve().parents[1]]
    for code in [c for _ in range(args.repeat) for c in codes]:
        out = args.work / f"out-{code.name}"
        shutil.rmtree(out, ignore_errors=True)
        env = {**os.environ, "PYTHONPATH": str(code)}
        run = subprocess.run(
            [sys.executable, "-c", INGEST, str(src), str(out)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        print(f"{code}: {json.loads(run.stdout.strip().splitlines()[-1])}")


if __name__ == "__main__":
    main()
