"""Benchmark: the app as a person feels it, in headless Chromium (the browser tests' harness,
tests/browser/harness.py). On a fresh workspace: the first launch; then each page of the
navigation cold (first visit in a browser session) and warm (visited again); the time from
moving a contract assumption (the Contracts page's "Inpatient cost change" slider) to the
changed settlement figure and to the settled page, and from pressing "Simulate these
assumptions" and "Compare risk levels for these assumptions" (the sections below the
settlement, computed on request after a move) to the settled page; then a later launch (a new server process on
the same workspace): time to the first settled page and each page's first visit.

Usage:
    python benchmarks/bench_browser.py [--workspace DIR] [--moves 4] [--out FILE.json]

Without --workspace a temporary one is used (and the first launch is timed); with an existing
filled workspace, the first launch is skipped. Needs /usr/bin/chromium and playwright.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location(
    "vbc_browser_harness", ROOT / "tests/browser/harness.py"
)
assert spec is not None and spec.loader is not None
h = importlib.util.module_from_spec(spec)
sys.modules["vbc_browser_harness"] = h
spec.loader.exec_module(h)

FIRST_METRIC = '[data-testid="stMain"] [data-testid="stMetricValue"]'


def first_launch(session: h.Session) -> float:
    started = time.perf_counter()
    session.page.goto(session.server.url)
    session.page.wait_for_function(h._SETTLED, arg=0, timeout=1_800_000, polling=100)
    session.check("first launch")
    return time.perf_counter() - started


def pages_cold_and_warm(session: h.Session) -> dict[str, dict[str, float]]:
    times: dict[str, dict[str, float]] = {}
    for page in h.navigation_pages():
        times[page.title] = {"cold": session.visit(page)}
        session.check(page.title)
    for page in h.navigation_pages():
        times[page.title]["warm"] = session.visit(page)
        session.check(page.title)
    return times


def assumption_moves(session: h.Session, moves: int) -> list[dict[str, float]]:
    contracts = next(p for p in h.navigation_pages() if p.title == "Contracts")
    session.visit(contracts)
    slider = session.slider("Inpatient cost change")
    out = []
    for i in range(moves):
        before = session.page.locator(FIRST_METRIC).first.inner_text()
        runs = session.runs()
        slider.focus()
        started = time.perf_counter()
        slider.press("Home" if i % 2 == 0 else "End")
        session.page.wait_for_function(
            "([sel, before]) => { const e = document.querySelector(sel); return e && e.innerText !== before; }",
            arg=[FIRST_METRIC, before],
            timeout=60_000,
            polling=10,
        )
        figure = time.perf_counter() - started
        session.page.wait_for_function(h._SETTLED, arg=runs, timeout=120_000, polling=25)
        out.append({"figure": figure, "settled": time.perf_counter() - started})
        session.check("after an assumption change")
    return out


def on_request(session: h.Session) -> dict[str, float]:
    """Seconds from pressing each on-request button of the Contracts page to the settled page."""
    out = {}
    for label in ("Simulate these assumptions", "Compare risk levels for these assumptions"):
        button = session.button(label)
        button.scroll_into_view_if_needed()
        out[label] = session.act(button.click, timeout=300)
        session.check(label)
    return out


def _rounded(value):
    if isinstance(value, float):
        return round(value, 2)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workspace", type=Path)
    ap.add_argument("--moves", type=int, default=4)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    missing = h.browser_missing()
    if missing:
        raise SystemExit(missing)
    tmp = tempfile.TemporaryDirectory(prefix="vbc-bench-browser-")
    ws = args.workspace or Path(tmp.name) / "workspace"
    log = Path(tmp.name) / "server.log"
    result: dict[str, object] = {"workspace": str(ws)}
    with h.chromium() as browser:
        with h.AppServer(ws, log) as server:
            s = h.Session(browser, server)
            result["first_launch"] = first_launch(s)
            s.close()
            s = h.Session(browser, server)
            result["open_new_session"] = s.open()
            result["pages"] = pages_cold_and_warm(s)
            result["assumption_moves"] = assumption_moves(s, args.moves)
            result["on_request"] = on_request(s)
            s.close()
        with h.AppServer(ws, log) as server:  # a later launch: a new process, caches empty
            s = h.Session(browser, server)
            result["later_launch_open"] = s.open()
            result["later_launch_pages"] = {
                p.title: s.visit(p) for p in h.navigation_pages() if not p.default
            }
            s.check("later launch")
            s.close()
    text = json.dumps(_rounded(result), indent=2)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
