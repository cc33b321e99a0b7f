"""Benchmark: what the core saves. Each consumer of a dataset's derived tables, timed in a fresh
process, on code that re-derives them (a checkout given with --baseline, e.g. commit a68c2ff)
and on this code, cold (no core yet: the first consumer derives what it reads) and warm (the
core already on disk, as every later process finds it).

Usage:
    python benchmarks/bench_core.py --dataset DIR --baseline /path/to/checkout [--rounds 2]

The dataset is copied twice (one copy per code), so neither run sees the other's files. Rounds
alternate baseline and current runs, since this machine's speed drifts between runs; the
figures printed are the best of the rounds. Record them in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# consumer -> (call on the baseline code, call on this code); ``ds`` is the dataset, ``y`` the
# last data year. Each is run alone in a fresh interpreter.
CONSUMERS = {
    "overview (PMPM, utilization)": (
        "from modeling.metrics import overview; overview(ds)",
        "from modeling.marts.pmpm import overview; overview(ds)",
    ),
    "CMS-HCC panel scores": (
        "from risk_stratification.panel import score_panel; score_panel(ds, y + 1)",
        "from risk_stratification.hcc.panel import score_panel; score_panel(ds, y + 1)",
    ),
    "recapture gaps": (
        "from risk_stratification.gaps import recapture_gaps; "
        "recapture_gaps(ds, y + 1, annual_base_rate=12000)",
        "from risk_stratification.hcc.gaps import recapture_gaps; "
        "recapture_gaps(ds, y + 1, annual_base_rate=12000)",
    ),
    "panel history (benchmark inputs)": (
        "from contracts.projection import panel_history; panel_history(ds)",
        "from contracts.history import panel_history; panel_history(ds)",
    ),
    "ML features": (
        "from risk_stratification.features import features; features(ds, y)",
        "from risk_stratification.ml.features import features; features(ds, y)",
    ),
    "readmission discharges": (
        "from risk_stratification.readmission import discharges; discharges(ds, y - 1)",
        "from risk_stratification.ml.readmission import discharges; discharges(ds, y - 1)",
    ),
}

TIMED = """
import json, resource, sys, time
from modeling.dataset import Dataset
ds = Dataset(sys.argv[1])
y = max(int(t) for t in {years})
started = time.perf_counter()
{call}
print(json.dumps({{"seconds": time.perf_counter() - started,
                  "rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024}}))
"""

DERIVE = """
import sys, time
from modeling.core.panel import Panel
started = time.perf_counter()
Panel(sys.argv[1]).materialize()
print(time.perf_counter() - started)
"""


def run(code_root: Path, source: str, dataset: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(code_root)}
    out = subprocess.run(
        [sys.executable, "-c", source, str(dataset)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=code_root,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def data_years(dataset: Path) -> list[int]:
    import polars as pl

    spans = pl.read_parquet(dataset / "eligibility.parquet", columns=["enrollment_end_date"])
    last = spans["enrollment_end_date"].dt.year().max()
    return [int(last)]  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--baseline", type=Path, required=True, help="checkout that re-derives")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    years = data_years(args.dataset)
    scratch = Path(tempfile.mkdtemp(prefix="vbc-bench-core-"))
    base_copy, ours = scratch / "baseline", scratch / "current"
    shutil.copytree(args.dataset, base_copy, ignore=shutil.ignore_patterns("core"))
    best: dict[tuple[str, str], float] = {}

    def record(consumer: str, kind: str, seconds: float) -> None:
        key = (consumer, kind)
        best[key] = min(seconds, best.get(key, seconds))
        print(f"  {consumer:34} {kind:9} {seconds:7.2f} s", flush=True)

    for round_ in range(args.rounds):
        print(f"round {round_ + 1}", flush=True)
        for consumer, (old, new) in CONSUMERS.items():
            timed = run(args.baseline, TIMED.format(years=years, call=old), base_copy)
            record(consumer, "baseline", timed["seconds"])
            shutil.rmtree(ours, ignore_errors=True)
            shutil.copytree(args.dataset, ours, ignore=shutil.ignore_patterns("core"))
            cold = run(ROOT, TIMED.format(years=years, call=new), ours)
            record(consumer, "cold", cold["seconds"])
        shutil.rmtree(ours, ignore_errors=True)
        shutil.copytree(args.dataset, ours, ignore=shutil.ignore_patterns("core"))
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        derive = subprocess.run(
            [sys.executable, "-c", DERIVE, str(ours)], env=env, capture_output=True, text=True
        )
        record("deriving the whole core once", "derive", float(derive.stdout.strip()))
        for consumer, (_, new) in CONSUMERS.items():
            warm = run(ROOT, TIMED.format(years=years, call=new), ours)
            record(consumer, "warm", warm["seconds"])
    print(
        "\nbest of rounds (seconds): consumer | re-deriving (baseline) | core cold | core warm | x"
    )
    for consumer in CONSUMERS:
        b, c, w = (best[(consumer, k)] for k in ("baseline", "cold", "warm"))
        print(f"| {consumer} | {b:.2f} | {c:.2f} | {w:.2f} | {b / w:.1f}x |")
    print(
        f"| deriving the whole core once | | {best[('deriving the whole core once', 'derive')]:.2f} | | |"
    )
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
