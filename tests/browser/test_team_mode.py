"""Team mode end to end in headless Chromium: a local OpenID Connect provider
(``oidc-provider-mock``, started here on localhost), the app started as docs/deployment.md says
(``--secrets.files <settings file>``), and three people signing in through the provider's own
form: population health (person-level pages, drill-downs and exports), finance (aggregates only:
refused by URL, no person-level tab, no person-level download) and the admin (the audit log shows
both).
"""

from __future__ import annotations

import csv
import shutil
import sys
import time

import pytest

from modeling.workspace import Workspace

harness = sys.modules["vbc_browser_harness"]  # loaded by conftest.py
PAT, FIN, ADA = "pat@example.org", "fin@example.org", "ada@example.org"
LOADED = 300  # seconds a page may take to settle (the Quality page computes its measures cold)
PERSON_LEVEL_PAGES = {
    "risk_adjustment": "Risk adjustment",
    "risk_stratification": "Risk stratification",
    "targeting": "Targeting",
    "data": "Data",
    "audit": "Audit log",
}


@pytest.fixture(scope="module")
def idp():
    """The identity provider: oidc-provider-mock on a free localhost port."""
    from oidc_provider_mock import run_server_in_thread

    with run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def team_app(tmp_path_factory, chromium_browser, shots, idp, small_dataset):
    root = tmp_path_factory.mktemp("team")
    ws = root / "workspace"
    shutil.copytree(small_dataset.path, ws / "datasets" / "default")
    settings = ws / "settings.toml"
    port = harness.free_port()
    settings.write_text(
        f"""
[app]
mode = "team"

[auth]
redirect_uri = "http://127.0.0.1:{port}/oauth2callback"
cookie_secret = "browser-test-cookie-secret-0123456789"
client_id = "vbc-modeler"
client_secret = "browser-test-client-secret"
server_metadata_url = "{idp}/.well-known/openid-configuration"

[roles]
admin = ["{ADA}"]
population_health = ["{PAT}"]
finance = ["{FIN}"]
"""
    )
    server = harness.AppServer(
        ws, shots / "team_server.log", port=port, extra_args=("--secrets.files", str(settings))
    )
    with server:
        yield server


def _signed_in(browser, app, idp, email: str, tmp_path) -> harness.Session:
    """A new browser session signed in as ``email`` through the provider's authorization form."""
    s = harness.Session(browser, app, downloads=tmp_path / email)
    s.open(timeout=LOADED)
    assert s.title() == "vbc-modeler" and s.button("Sign in").is_visible()
    assert not s.page.locator('[data-testid="stSidebarNav"]').count(), "pages shown before sign-in"
    s.button("Sign in").click()
    s.page.wait_for_url(f"{idp}/oauth2/authorize**", timeout=30_000)
    s.page.fill('input[name="sub"]', email)
    s.page.get_by_role("button", name="Authorize").click()
    s.page.wait_for_url(f"{app.url}/**", timeout=30_000)
    s.page.wait_for_function(harness._SETTLED, arg=0, timeout=LOADED * 1000, polling=25)
    s.check(f"signed in as {email}")
    assert email in s.page.locator('[data-testid="stSidebar"]').inner_text()
    return s


def _nav_titles(s) -> set[str]:
    nav = s.page.locator('[data-testid="stSidebarNav"]')
    more = nav.locator('[data-testid="stSidebarNavViewButton"]')
    if more.count() and "more" in more.inner_text().lower():
        more.click()
    links = nav.locator('[data-testid="stSidebarNavLink"]').all_inner_texts()
    return {t.strip().splitlines()[-1].strip() for t in links}  # the icon's name comes first


def _audit(app) -> list:
    deadline = time.monotonic() + 30
    while True:
        try:
            with Workspace(app.workspace).store(read_only=True) as store:
                return store.audit_log(limit=10_000)
        except Exception:  # the app may hold the store for a moment
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_two_roles_and_the_admin_through_a_real_identity_provider(
    team_app, chromium_browser, idp, shots, tmp_path
):
    # nobody signed in: the sign-in page only, even by a page's URL
    anon = harness.Session(chromium_browser, team_app)
    anon.open("risk_adjustment")
    assert anon.button("Sign in").is_visible() and anon.title() == "vbc-modeler"
    anon.screenshot(shots / "team_0_sign_in.png")
    anon.close()

    # population health: person-level pages, a drill-down and a person-level export
    pat = _signed_in(chromium_browser, team_app, idp, PAT, tmp_path)
    assert set(PERSON_LEVEL_PAGES.values()) - {"Data", "Audit log"} <= _nav_titles(pat)
    assert not {"Data", "Audit log"} & _nav_titles(pat)
    pat.open("risk_adjustment", timeout=LOADED)
    pat.check("population health: Risk adjustment")
    assert pat.title() == "Risk adjustment"
    exported = pat.download(pat.page.get_by_role("button", name="Download all member scores (CSV)"))
    with exported.open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) > 100 and rows[0]["person_id"]
    pat.screenshot(shots / "team_1_population_health_risk_adjustment.png")
    pat.open("quality", timeout=LOADED)
    assert pat.tab("Care gaps").is_visible()
    pat.close()

    # finance: aggregates; every person-level page refused by URL; no person-level tab/export
    fin = _signed_in(chromium_browser, team_app, idp, FIN, tmp_path)
    assert fin.title() == "Population overview"
    assert not set(PERSON_LEVEL_PAGES.values()) & _nav_titles(fin)
    for path, title in PERSON_LEVEL_PAGES.items():
        fin.open(path, timeout=LOADED)
        error = fin.page.locator(harness.ERROR_SELECTORS["error"])
        assert error.count() and "does not include" in error.first.inner_text(), path
        heading = fin.page.locator("h1").filter(has_text=title)
        assert not heading.count(), f"{path}: the page's own title was shown"
        assert not fin.page.locator('[data-testid="stDataFrame"]').count(), path
        assert not fin.page.locator('[data-testid="stDownloadButton"]').count(), path
    fin.screenshot(shots / "team_2_finance_refused_by_url.png")
    fin.open("quality", timeout=LOADED)
    fin.check("finance: Quality")
    assert fin.tab("All measures").is_visible() and not fin.tab("Care gaps").count()
    assert not fin.page.get_by_role("button", name="Download the worklist (CSV)").count()
    fin.open("bundles", timeout=LOADED)
    fin.check("finance: Bundles")
    if fin.tab("Export").count():
        fin.show(fin.tab("Export"))
        assert fin.page.get_by_role("button", name="Reconciliation (CSV)").is_visible()
    else:  # the small test panel: no hospital has 11 episodes, so none is reconciled on screen
        assert "enough episodes" in fin.page.locator('[data-testid="stAlert"]').first.inner_text()
    assert not fin.page.get_by_role("button", name="Episodes (CSV)").count()
    fin.screenshot(shots / "team_3_finance_bundles_export.png")
    fin.close()

    # the admin's audit log shows both people: the views and export of one, the refusals of
    # the other
    ada = _signed_in(chromium_browser, team_app, idp, ADA, tmp_path)
    ada.open("audit", timeout=LOADED)
    ada.check("admin: Audit log")
    assert ada.title() == "Audit log"
    by_person = ada.page.locator('[data-testid="stTable"]').inner_text()
    assert PAT in by_person and FIN in by_person, by_person
    ada.screenshot(shots / "team_4_admin_audit_log.png")
    ada.close()

    log = _audit(team_app)
    mine = {(e.actor, e.action) for e in log}
    assert {(PAT, "view"), (PAT, "export"), (FIN, "refused")} <= mine, mine
    export = next(e for e in log if e.actor == PAT and e.action == "export")
    assert export.detail["people"] == len({r["person_id"] for r in rows})
    refused = {e.detail["what"] for e in log if e.actor == FIN and e.action == "refused"}
    assert len(refused) == len(PERSON_LEVEL_PAGES), refused
    assert not any(e.actor == FIN and e.action in ("view", "export") for e in log)


def test_single_user_mode_shows_nothing_on_an_address_other_than_localhost(
    tmp_path, chromium_browser, shots, small_dataset
):
    """No sign-in in single-user mode, so a server listening elsewhere than localhost refuses
    (127.0.0.2 stands in for a network address: loopback still, but not what the mode allows)."""
    ws = tmp_path / "workspace"
    shutil.copytree(small_dataset.path, ws / "datasets" / "default")
    server = harness.AppServer(
        ws, shots / "single_open_server.log", extra_args=("--server.address", "127.0.0.2")
    )
    server.url = f"http://127.0.0.2:{server.port}"
    with server:
        s = harness.Session(chromium_browser, server)
        s.open(timeout=LOADED)
        error = s.page.locator(harness.ERROR_SELECTORS["error"])
        assert error.count() and "serves this machine only" in error.first.inner_text()
        assert "127.0.0.2" in error.first.inner_text()
        assert not s.page.locator('[data-testid="stSidebarNavLink"]').count()
        assert not s.page.locator('[data-testid="stDataFrame"], [data-testid="stMetric"]').count()
        s.screenshot(shots / "single_mode_refuses_other_address.png")
        s.close()
