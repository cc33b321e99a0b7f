"""Benchmark: the app's first look. Overview, Risk adjustment and Contracts rendered one after
the other (Streamlit's AppTest, in one fresh process, as a person opens them) on a workspace's
default dataset: cold (nothing derived yet) and warm (a later process: the core on disk), on
this code and on a checkout given with --baseline (e.g. commit a68c2ff, which re-derives).

Usage:
    python benchmarks/bench_app.py --workspace WS --baseline /path/to/checkout [--rounds 2]

WS must hold datasets/default (the app's first launch makes it). The workspace is copied for
each run, so the runs do not share files; rounds alternate the two codes.
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
PAGES = {
    "baseline": ["app/overview.py", "app/risk_adjustment.py", "app/contract_scenarios.py"],
    "current": [
        "app/pages/overview.py",
        "app/pages/risk_adjustment.py",
        "app/pages/contract_scenarios.py",
    ],
}
LOOK = """
import json, sys, time
from streamlit.testing.v1 import AppTest
seconds = []
for page in sys.argv[1:]:
    started = time.perf_counter()
    at = AppTest.from_file(page, default_timeout=600).run()
    assert not at.exception, at.exception
    seconds.append(time.perf_counter() - started)
print(json.dumps(seconds))
"""


def look(code_root: Path, pages: list[str], workspace: Path) -> list[float]:
    env = {**os.environ, "PYTHONPATH": str(code_root), "VBC_WORKSPACE": str(workspace)}
    out = subprocess.run(
        [sys.executable, "-c", LOOK, *pages],
        env=env,
        capture_output=True,
        text=True,
        cwd=code_root,
        check=False,
    )
    if out.returncode:
        raise SystemExit(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--baseline", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="vbc-bench-app-"))
    best: dict[tuple[str, str], list[float]] = {}
    for round_ in range(args.rounds):
        for code, root in (("baseline", args.baseline), ("current", ROOT)):
            ws = scratch / code
            shutil.rmtree(ws, ignore_errors=True)
            shutil.copytree(args.workspace, ws, ignore=shutil.ignore_patterns("core"))
            for kind in ("cold", "warm"):
                seconds = look(root, PAGES[code], ws)
                total = sum(seconds)
                key = (code, kind)
                if key not in best or total < sum(best[key]):
                    best[key] = seconds
                pages = ", ".join(f"{s:.1f}" for s in seconds)
                print(f"round {round_ + 1} {code:8} {kind}: {total:6.1f} s ({pages})", flush=True)
    print("\nbest of rounds: code | first look | Overview | Risk adjustment | Contracts")
    for (code, kind), seconds in sorted(best.items()):
        pages = " | ".join(f"{s:.1f}" for s in seconds)
        print(f"| {code} {kind} | {sum(seconds):.1f} | {pages} |")
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
