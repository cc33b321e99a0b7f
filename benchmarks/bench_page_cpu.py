"""Benchmark: the CPU seconds one page's script takes, cold (the first run in a new process, as
a later launch's first visit; imports included) and warm (run again in the same process),
through Streamlit's AppTest. CPU time, unlike the browser's wall-clock times, barely moves with
the load other processes put on the machine, so it compares code versions on a shared VM.

Usage:
    VBC_WORKSPACE=WS python benchmarks/bench_page_cpu.py PAGE [--first-launch]

WS holds the dataset ``default`` (and, for the Targeting page, a registered risk model). With
``--first-launch`` the first launch's step for PAGE (``app.state.warm_finance`` or
``warm_targeting``) runs first, in its own process, so the page then reads its stored results.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WARM_STEPS = {"finance.py": "finance", "care_targeting.py": "targeting"}


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def first_launch_step(page: str) -> None:
    import app.state as state
    from modeling.workspace import Workspace
    from risk_stratification.ml.pipeline import load_registered

    ws = Workspace.default()
    ds = ws.dataset("default")
    if WARM_STEPS[page] == "finance":
        state.warm_finance(ds)
    else:
        with ws.store(read_only=True) as store:
            trained, version = load_registered(store)
        state.warm_targeting(ds, trained, version)


def time_page(page: str) -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app" / "pages" / page), default_timeout=600)
    for label in ("cold (new process)", "warm (same process)"):
        cpu, wall = cpu_seconds(), time.perf_counter()
        at.run()
        print(
            f"{page} {label}: CPU {cpu_seconds() - cpu:.2f} s, wall {time.perf_counter() - wall:.2f} s"
            + (f", EXCEPTION {at.exception[0].value}" if at.exception else ""),
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", help="a script of app/pages, e.g. finance.py")
    parser.add_argument("--first-launch", action="store_true")
    parser.add_argument("--step-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.chdir(ROOT)
    if args.step_only:
        first_launch_step(args.page)
        return
    if args.first_launch:
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, __file__, args.page, "--step-only"], check=True, env=os.environ
        )
        print(f"first-launch step for {args.page}: {time.perf_counter() - started:.1f} s wall")
    time_page(args.page)


if __name__ == "__main__":
    main()
