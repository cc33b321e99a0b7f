"""The app in a real browser: `streamlit run streamlit_app.py` on a free port with a fresh
workspace, driven by Playwright through Debian's Chromium. Used by the browser tests
(tests/browser/) and by benchmarks/bench_browser.py, so both measure the same thing.

The pages are read from streamlit_app.py's navigation (every ``st.Page(...)`` call), so a page
added there is visited, checked and screenshotted without touching this file.

"Settled" means what a person waits for: the script run that the action started has finished
(the app's ``data-test-script-state`` went to ``running`` and back to ``notRunning``), no
spinner or running status is left, and every visible chart has drawn
(charts in a tab not shown are drawn when the tab is opened).
"""

from __future__ import annotations

import ast
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
except ImportError:  # the tests then skip (browser_missing says why)

    class PlaywrightTimeout(Exception):  # type: ignore[no-redef]
        pass


ROOT = Path(__file__).resolve().parents[2]
APP_FILE = ROOT / "streamlit_app.py"
CHROMIUM = Path(os.environ.get("VBC_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1440, "height": 1000}
ERROR_SELECTORS = {
    "exception": '[data-testid="stException"]',
    "error": '[data-testid="stAlertContentError"]',
}

# Installed in every document before the app's own scripts: counts script runs and remembers
# when the last one finished, from the app root's data-test-script-state attribute.
_OBSERVER = """
window.__vbc = {runs: 0, finishedAt: 0, actedAt: 0};
new MutationObserver((changes) => {
  for (const c of changes) {
    const state = c.target.getAttribute('data-test-script-state');
    if (state === 'running') window.__vbc.runs += 1;
    else if (state === 'notRunning') window.__vbc.finishedAt = performance.now();
  }
}).observe(document, {attributes: true, subtree: true, attributeFilter: ['data-test-script-state']});
"""

_SETTLED = """
(runsBefore) => {
  // runsBefore: the number of script runs seen before the action; the page settles once a
  // later run has finished. [runs, graceMs]: also settled when no run started within graceMs
  // of the action (an action that needs no run, such as clicking the page already shown).
  let grace = Infinity;
  if (Array.isArray(runsBefore)) { grace = runsBefore[1]; runsBefore = runsBefore[0]; }
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-connection-state') !== 'CONNECTED') return false;
  if (app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (window.__vbc.runs <= runsBefore && performance.now() - window.__vbc.actedAt < grace) return false;
  if (document.querySelector('[data-testid="stSpinner"], [data-testid="stExpanderIconSpinner"], [data-testid="stSkeleton"]')) return false;
  for (const chart of document.querySelectorAll('[data-testid="stVegaLiteChart"]')) {
    if (chart.checkVisibility() && !chart.querySelector('canvas, svg')) return false;
  }
  return true;
}
"""


@dataclass(frozen=True)
class AppPage:
    """A page of the app's navigation: its title (the sidebar link) and its script."""

    title: str
    script: str
    url_path: str
    default: bool


def navigation_pages(app_file: Path = APP_FILE) -> list[AppPage]:
    """Every ``st.Page(...)`` of the app's entry script, in navigation order."""
    tree = ast.parse(app_file.read_text())
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and _is_st_page(node.func)):
            continue
        script = ast.literal_eval(node.args[0])
        kw = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg}
        stem = Path(script).stem
        page = AppPage(
            title=kw.get("title", stem.replace("_", " ").title()),
            script=script,
            url_path="" if kw.get("default") else kw.get("url_path", stem),
            default=bool(kw.get("default")),
        )
        found.append(((node.lineno, node.col_offset), page))
    return [page for _, page in sorted(found, key=lambda f: f[0])]


def _is_st_page(func: ast.expr) -> bool:
    return isinstance(func, ast.Attribute) and func.attr == "Page"


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return 'Playwright is not installed (pip install -e ".[dev]")'
    if not CHROMIUM.is_file():
        return f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class AppServer:
    """``streamlit run streamlit_app.py`` on a free port, its workspace at ``workspace``."""

    def __init__(
        self,
        workspace: Path,
        log: Path,
        *,
        port: int | None = None,
        extra_args: tuple[str, ...] = (),
    ):
        self.workspace = workspace
        self.log = log
        self.extra_args = extra_args  # more `streamlit run` options (e.g. --secrets.files)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 90.0) -> AppServer:
        env = {
            **os.environ,
            "VBC_WORKSPACE": str(self.workspace),
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        }
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "streamlit",
                    "run",
                    str(APP_FILE),
                    "--server.port",
                    str(self.port),
                    "--server.address",
                    "127.0.0.1",
                    "--server.headless",
                    "true",
                    "--server.fileWatcherType",
                    "none",
                    "--server.runOnSave",
                    "false",
                    "--browser.gatherUsageStats",
                    "false",
                    *self.extra_args,
                ],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited at start:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"streamlit did not answer in {timeout:.0f} s:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> AppServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@contextmanager
def chromium() -> Iterator:
    """A headless Chromium (Debian's, not Playwright's download)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class AppError(AssertionError):
    """The page shows an exception or an error element."""


class Session:
    """One browser tab on the app (one Streamlit session), with settling, timing, checks and
    screenshots."""

    def __init__(self, browser, server: AppServer, *, downloads: Path | None = None):
        self.server = server
        self.context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
        self.context.add_init_script(_OBSERVER)
        self.page = self.context.new_page()
        self.page.set_default_timeout(60_000)
        self.downloads = downloads

    def close(self) -> None:
        self.context.close()

    # --- settling and timing -------------------------------------------------------------
    def runs(self) -> int:
        return int(self.page.evaluate("window.__vbc ? window.__vbc.runs : 0"))

    def act(
        self, action: Callable[[], object], *, timeout: float = 60.0, grace: float | None = None
    ) -> float:
        """Do ``action`` (a click, a key, a navigation) and wait until the run it starts has
        settled; returns the seconds from the action to the settled page. With ``grace``, an
        action that starts no run within ``grace`` seconds counts as settled then."""
        before = self.runs()
        self.page.evaluate("window.__vbc.actedAt = performance.now()")
        started = time.perf_counter()
        action()
        arg = before if grace is None else [before, grace * 1000]
        self.page.wait_for_function(_SETTLED, arg=arg, timeout=timeout * 1000, polling=25)
        return time.perf_counter() - started

    def show(self, locator, *, timeout: float = 60.0) -> float:
        """Click something that changes the page without running the script (a tab, an
        expander) and wait until what it shows has drawn."""
        started = time.perf_counter()
        locator.click()
        self.page.wait_for_function(_SETTLED, arg=-1, timeout=timeout * 1000, polling=25)
        return time.perf_counter() - started

    def open(self, path: str = "", *, timeout: float = 60.0) -> float:
        """Load the app at ``path`` (a new session) and wait until it has settled."""
        started = time.perf_counter()
        self.page.goto(f"{self.server.url}/{path}")
        self.page.wait_for_function(_SETTLED, arg=0, timeout=timeout * 1000, polling=25)
        return time.perf_counter() - started

    def reload(self, *, timeout: float = 60.0) -> float:
        started = time.perf_counter()
        self.page.reload()
        self.page.wait_for_function(_SETTLED, arg=0, timeout=timeout * 1000, polling=25)
        return time.perf_counter() - started

    def visit(self, page: AppPage) -> float:
        """Click the page's link in the sidebar navigation (same session) and wait until settled."""
        nav = self.page.locator('[data-testid="stSidebarNav"]')
        more = nav.locator('[data-testid="stSidebarNavViewButton"]')
        if more.count() and "more" in more.inner_text().lower():
            more.click()
        link = nav.locator('[data-testid="stSidebarNavLink"]').filter(
            has=self.page.get_by_text(page.title, exact=True)
        )
        if self.page.url.rstrip("/") == f"{self.server.url}/{page.url_path}".rstrip("/"):
            return self.act(link.click, grace=3.0)  # already shown: Streamlit may not rerun
        return self.act(link.click)

    # --- what is on the page -------------------------------------------------------------
    def problems(self) -> list[str]:
        """The text of every exception and error element on the page."""
        found = []
        for kind, selector in ERROR_SELECTORS.items():
            for element in self.page.locator(selector).all():
                found.append(f"{kind}: {element.inner_text()[:2000]}")
        return found

    def check(self, where: str) -> None:
        problems = self.problems()
        if problems:
            raise AppError(f"{where}: " + "\n".join(problems))

    def title(self) -> str:
        return self.page.locator("h1").first.inner_text()

    def metric(self, label: str) -> str:
        metric = self.page.locator('[data-testid="stMetric"]').filter(
            has=self.page.locator('[data-testid="stMetricLabel"]', has_text=label)
        )
        return metric.first.locator('[data-testid="stMetricValue"]').inner_text()

    def slider(self, label: str):
        return (
            self.page.locator('[data-testid="stSlider"]')
            .filter(has_text=label)
            .first.get_by_role("slider")
        )

    def slider_value(self, label: str) -> str:
        """The value a slider shows on its thumb."""
        box = self.page.locator('[data-testid="stSlider"]').filter(has_text=label).first
        return box.locator('[data-testid="stSliderThumbValue"]').first.inner_text().strip()

    def button(self, label: str):
        return self.page.get_by_role("button", name=label, exact=True)

    def tab(self, label: str):
        return self.page.get_by_role("tab", name=label, exact=True)

    def screenshot(self, path: Path) -> Path:
        """The whole page (the app scrolls inside its main block, so the viewport is grown to
        the block's height for the shot)."""
        height = int(
            self.page.evaluate(
                'Math.max(...[...document.querySelectorAll(\'[data-testid="stMain"], '
                '[data-testid="stSidebar"] > div\')].map(e => e.scrollHeight), 600)'
            )
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.set_viewport_size({"width": VIEWPORT["width"], "height": min(height, 12_000)})
        try:
            self.page.wait_for_timeout(300)  # charts re-lay out to the new size
            self.page.screenshot(path=str(path), full_page=True)
        finally:
            self.page.set_viewport_size(VIEWPORT)
        return path

    def element_png(self, locator) -> bytes:
        locator.scroll_into_view_if_needed()
        return locator.screenshot()

    def download(self, button) -> Path:
        """Click a download button; the file it gives, saved under ``downloads``."""
        with self.page.expect_download() as info:
            self.act(button.click, grace=1.0)  # a download button may rerun the script
        d = info.value
        target = (self.downloads or Path(d.path()).parent) / d.suggested_filename
        target.parent.mkdir(parents=True, exist_ok=True)
        d.save_as(str(target))
        return target


def slug(title: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in title.lower()).strip("_")


def fresh_workspace(root: Path) -> Path:
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    return root
