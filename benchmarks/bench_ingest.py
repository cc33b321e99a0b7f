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

INGEST = """
import json, resource, sys, time
from modeling.ingest.canonical import ingest_canonical
t0 = time.perf_counter()
report = ingest_canonical(sys.argv[1], sys.argv[2])
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": round(seconds, 2),
                  "peak_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024, 2),
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
    ap.add_argument("--dataset", type=Path, required=True)
    ap.add_argument("--members", type=int, default=10_000)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--code", type=Path, action="append", default=[])
    args = ap.parse_args()
    src = args.work / f"src{args.members}"
    write_source(args.dataset, args.members, src)
    size = sum(f.stat().st_size for f in src.iterdir()) / 1e6
    print(f"machine: {platform.node()} {os.cpu_count()} cores, python {platform.python_version()}")
    print(f"source: {src} ({size:,.0f} MB of CSV)")
    for code in args.code or [Path(__file__).resolve().parents[1]]:
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
