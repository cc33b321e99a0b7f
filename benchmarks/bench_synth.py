"""Benchmark: `vbc synth` wall time and peak memory, then validation time of the written dataset.

Usage: python benchmarks/bench_synth.py --members 100000 [--years 3] [--out DIR] [--skip-validate]
Prints one line of figures per step; record them in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import tempfile
import time

from modeling.dataset import Dataset
from modeling.ingest.canonical import validate_dataset
from modeling.synth import SynthSpec, generate


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--start-year", type=int, default=2023)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", default=None)
    parser.add_argument("--skip-validate", action="store_true")
    args = parser.parse_args()
    out = args.out or tempfile.mkdtemp(prefix="vbc-bench-")
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cores, python {platform.python_version()}"
    )
    t0 = time.perf_counter()
    ds = generate(SynthSpec(args.members, args.start_year, args.years, args.seed), out)
    synth_s = time.perf_counter() - t0
    rows = {t: e["rows"] for t, e in ds.manifest["tables"].items()}
    size_mb = (
        sum(os.path.getsize(os.path.join(out, e["file"])) for e in ds.manifest["tables"].values())
        / 1e6
    )
    print(
        f"synth: members={args.members:,} years={args.years} wall={synth_s:.1f}s peak_rss={peak_rss_gb():.2f}GB rows={rows} parquet={size_mb:.0f}MB"
    )
    if not args.skip_validate:
        t0 = time.perf_counter()
        results = validate_dataset(Dataset(out))
        val_s = time.perf_counter() - t0
        quarantined = sum(r.rows_quarantined for r in results.values())
        print(
            f"validate: wall={val_s:.1f}s rows={sum(r.rows_in for r in results.values()):,} quarantined={quarantined} peak_rss={peak_rss_gb():.2f}GB"
        )
    if args.out is None:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
