"""Fixtures of the browser tests: one app server per test process on a fresh workspace (its first
launch is the first flow), one headless Chromium, a new browser session per test.

The tests skip, with the reason, only when Chromium or Playwright is absent on a developer's
machine; with ``VBC_REQUIRE_BROWSER=1`` (set by .ci/run) that is a failure instead.
Screenshots go to ``$VBC_SCREENSHOTS`` or tests/browser/screenshots/ (ignored by git); the folder
and the measured times are printed at the end of the run.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
from pathlib import Path

import pytest


def _harness():
    name = "vbc_browser_harness"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("harness.py"))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


harness = _harness()
SHOTS = Path(os.environ.get("VBC_SCREENSHOTS", Path(__file__).with_name("screenshots")))
TIMINGS: dict[str, object] = {}


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


def pytest_terminal_summary(terminalreporter):
    if not TIMINGS:
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    out = SHOTS / f"timings{('_' + worker) if worker else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(TIMINGS, indent=2))
    terminalreporter.write_line(f"browser screenshots: {SHOTS}  (times: {out})")


@pytest.fixture(scope="session")
def shots() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


@pytest.fixture(scope="session")
def timings() -> dict:
    return TIMINGS


@pytest.fixture(scope="session")
def chromium_browser():
    reason = harness.browser_missing()
    if reason:
        if os.environ.get("VBC_REQUIRE_BROWSER") == "1":
            pytest.fail(f"VBC_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(f"browser tests need Chromium and Playwright: {reason}")
    with harness.chromium() as browser:
        yield browser


@pytest.fixture(scope="session")
def app(tmp_path_factory, chromium_browser, shots):
    """The app on a free port with an empty workspace (nothing generated yet)."""
    root = tmp_path_factory.mktemp("browser")
    server = harness.AppServer(root / "workspace", shots / "server.log")
    with server:
        yield server


@pytest.fixture(scope="session")
def first_launch(app, chromium_browser, shots, timings):
    """Open the app on the empty workspace and watch its first launch to the end: what the
    progress display said (sampled twice a second) and how long it took."""
    session = harness.Session(chromium_browser, app)
    said: list[str] = []
    started = time.perf_counter()
    session.page.goto(app.url)
    while time.perf_counter() - started < 900:
        try:
            session.page.wait_for_function(harness._SETTLED, arg=0, timeout=500, polling=25)
            break
        except harness.PlaywrightTimeout:
            bar = session.page.locator('[data-testid="stProgress"]')
            if bar.count():
                text = bar.first.inner_text().strip()
                if text and (not said or said[-1] != text):
                    said.append(text)
                if len(said) == 3:
                    session.screenshot(shots / "00_first_launch_progress.png")
    seconds = time.perf_counter() - started
    labels = session.page.locator('[data-testid="stExpander"]').all_inner_texts()
    session.check("first launch")
    session.screenshot(shots / "00_first_launch_done.png")
    timings["first_launch_seconds"] = round(seconds, 1)
    session.close()
    return {"seconds": seconds, "progress": said, "labels": labels}


@pytest.fixture
def session(app, chromium_browser, first_launch, tmp_path):
    """A new browser session on the app, opened on its default page and settled."""
    s = harness.Session(chromium_browser, app, downloads=tmp_path / "downloads")
    s.open()
    yield s
    s.close()
