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
import resource
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

# the derived tables each consumer reads, re-derived from the canonical tables (baseline code) or
# read from the core: the part of each consumer the core replaces
_OLD_CLAIMS = "c = ds.scan('medical_claim'); "
INPUTS = {
    "overview (PMPM, utilization)": (
        "from modeling.member_months import member_months; "
        "from modeling.service_categories import with_service_category as cat; "
        "from modeling.encounters import inpatient_stays, ed_visits, snf_stays, "
        "home_health_episodes, joint_replacements; " + _OLD_CLAIMS + "m = cat(c); "
        "member_months(ds.scan('eligibility')).collect(); m.collect(); "
        "[f(m).collect() for f in (inpatient_stays, ed_visits, snf_stays, "
        "home_health_episodes, joint_replacements)]",
        "from modeling.core.panel import Panel; p = Panel(ds); "
        "[p.read(t) for t in ('member_months', 'claim_lines', 'inpatient_stays', 'ed_visits', "
        "'snf_stays', 'home_health_episodes', 'joint_replacements')]",
    ),
    "CMS-HCC panel scores": (
        "from modeling.risk_adjustment import risk_adjustment_diagnoses as rad; "
        "from modeling.encounters import long_term_institutional as lti; "
        + _OLD_CLAIMS
        + "rad(c, y).collect(); lti(c).collect()",
        "from modeling.core.panel import Panel; "
        "from modeling.core.conditions import risk_adjustment_diagnoses_of as rad; p = Panel(ds); "
        "rad(p.scan('person_diagnoses', years=[y]), y).collect(); "
        "p.read('long_term_institutional', years=[y])",
    ),
    "recapture gaps": (
        "from modeling.risk_adjustment import risk_adjustment_diagnoses as rad; "
        "from modeling.encounters import long_term_institutional as lti; "
        + _OLD_CLAIMS
        + "rad(c, y).collect(); rad(c, y - 1).collect(); lti(c).collect()",
        "from modeling.core.panel import Panel; "
        "from modeling.core.conditions import risk_adjustment_diagnoses_of as rad; p = Panel(ds); "
        "rad(p.scan('person_diagnoses', years=[y]), y).collect(); "
        "rad(p.scan('person_diagnoses', years=[y - 1]), y - 1).collect(); "
        "p.read('long_term_institutional', years=[y])",
    ),
    "panel history (benchmark inputs)": (
        "from modeling.member_months import member_months; "
        "from modeling.metrics import medical_spend; "
        + _OLD_CLAIMS
        + "member_months(ds.scan('eligibility')).collect(); medical_spend(c).collect()",
        "from modeling.core.panel import Panel; from modeling.core.spend import medical_spend; "
        "p = Panel(ds); p.read('member_months'); medical_spend(p.scan('claim_lines')).collect()",
    ),
    "ML features": (
        "import polars as pl; from modeling.service_categories import with_service_category as cat; "
        "from modeling.risk_adjustment import person_diagnoses; "
        + _OLD_CLAIMS
        + "lines = cat(c.filter(pl.col('claim_start_date').dt.year() == y)).collect(); "
        "person_diagnoses(lines, y)",
        "import polars as pl; from modeling.core.panel import Panel; "
        "from modeling.core.conditions import person_diagnoses_of; p = Panel(ds); "
        "p.scan('claim_lines').filter(pl.col('claim_start_date').dt.year() == y).collect(); "
        "person_diagnoses_of(p.scan('person_diagnoses', years=[y]), y).collect()",
    ),
    "readmission discharges": (
        "from modeling.encounters import inpatient_stays, ed_visits; "
        "from modeling.schema import DIAGNOSIS_COLUMNS as D; "
        + _OLD_CLAIMS
        + "inpatient_stays(c).collect(); ed_visits(c).collect(); "
        "c.unique(subset=['claim_id']).select('person_id', 'claim_start_date', *D[:10])"
        ".unpivot(index=['person_id', 'claim_start_date']).drop_nulls('value').collect()",
        "from modeling.core.panel import Panel; p = Panel(ds); p.read('inpatient_stays'); "
        "p.read('ed_visits'); p.read('conditions', years=[y - 2, y - 1])",
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
    """The timed call's seconds and peak RSS, and the process's CPU time (user + sys, imports
    included: on a loaded machine the CPU time moves less than the wall time)."""
    env = {**os.environ, "PYTHONPATH": str(code_root)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(
        [sys.executable, "-c", source, str(dataset)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=code_root,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "cpu": cpu}


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
    best_cpu: dict[tuple[str, str], float] = {}

    def record(consumer: str, kind: str, seconds: float, cpu: float = float("nan")) -> None:
        key = (consumer, kind)
        best[key] = min(seconds, best.get(key, seconds))
        best_cpu[key] = min(cpu, best_cpu.get(key, cpu))
        print(f"  {consumer:34} {kind:9} {seconds:7.2f} s  cpu {cpu:7.2f} s", flush=True)

    for round_ in range(args.rounds):
        print(f"round {round_ + 1}", flush=True)
        for consumer, (old, new) in CONSUMERS.items():
            timed = run(args.baseline, TIMED.format(years=years, call=old), base_copy)
            record(consumer, "baseline", timed["seconds"], timed["cpu"])
            shutil.rmtree(ours, ignore_errors=True)
            shutil.copytree(args.dataset, ours, ignore=shutil.ignore_patterns("core"))
            cold = run(ROOT, TIMED.format(years=years, call=new), ours)
            record(consumer, "cold", cold["seconds"], cold["cpu"])
        shutil.rmtree(ours, ignore_errors=True)
        shutil.copytree(args.dataset, ours, ignore=shutil.ignore_patterns("core"))
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        derive = subprocess.run(
            [sys.executable, "-c", DERIVE, str(ours)], env=env, capture_output=True, text=True
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        record("deriving the whole core once", "derive", float(derive.stdout.strip()), cpu)
        for consumer, (_, new) in CONSUMERS.items():
            warm = run(ROOT, TIMED.format(years=years, call=new), ours)
            record(consumer, "warm", warm["seconds"], warm["cpu"])
        for consumer, (old, new) in INPUTS.items():
            rederive = run(args.baseline, TIMED.format(years=years, call=old), base_copy)
            record(consumer, "inputs-re", rederive["seconds"], rederive["cpu"])
            read = run(ROOT, TIMED.format(years=years, call=new), ours)
            record(consumer, "inputs-rd", read["seconds"], read["cpu"])
    print(
        "\nbest of rounds, seconds. Whole consumer: re-deriving (baseline) | core cold | core warm"
    )
    print(
        "| baseline / cold | baseline / warm; its derived inputs: re-derived (baseline) "
        "| read from the core | x"
    )
    kinds = ("baseline", "cold", "warm", "inputs-re", "inputs-rd")
    for label, table in (("wall", best), ("process CPU (user + sys)", best_cpu)):
        print(f"\n{label}")
        for consumer in CONSUMERS:
            b, c, w, ir, rd = (table[(consumer, k)] for k in kinds)
            print(
                f"| {consumer} | {b:.2f} | {c:.2f} | {w:.2f} | {b / c:.2f}x | {b / w:.1f}x "
                f"| {ir:.2f} | {rd:.2f} | {ir / rd:.1f}x |"
            )
        derive_s = table[("deriving the whole core once", "derive")]
        print(f"| deriving the whole core once | | {derive_s:.2f} | | | | | | |")
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
