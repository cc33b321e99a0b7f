"""Access: the settings of the two modes, roles, the page registry (every page of
streamlit_app.py tagged), refusals by URL, hidden person-level tabs and exports, the audit log,
and small cells on an aggregate page. The app runs under AppTest with ``at.user`` standing in
for the identity provider's answer (the browser test signs in through a real OIDC provider)."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app.access import (
    RIGHTS,
    AccessSettings,
    Right,
    Role,
    access_settings,
    role_of,
)
from modeling.errors import SettingsError
from modeling.synth import SynthSpec, generate
from modeling.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "a-long-random-secret-for-the-tests",
    "client_id": "vbc",
    "client_secret": "secret",
    "server_metadata_url": "http://localhost:9/.well-known/openid-configuration",
}
TEAM = """
[app]
mode = "team"

[auth]
redirect_uri = "http://localhost:8501/oauth2callback"
cookie_secret = "a-long-random-secret-for-the-tests"
client_id = "vbc"
client_secret = "secret"
server_metadata_url = "http://localhost:9/.well-known/openid-configuration"

[roles]
admin = ["ada@example.org"]
population_health = ["pat@example.org"]
finance = ["fin@example.org"]
board = ["bo@example.org"]
"""


# --- settings ---------------------------------------------------------------------------------


def test_no_settings_is_single_user_mode_without_suppression():
    s = access_settings({})
    assert s == AccessSettings() and not s.team and not s.suppress and s.min_cell == 11


def test_team_settings_map_emails_to_roles_and_suppress_by_default():
    import tomllib

    s = access_settings(tomllib.loads(TEAM))
    assert s.team and s.suppress and s.min_cell == 11
    assert s.members["fin@example.org"] is Role.FINANCE
    assert role_of(s, "Pat@Example.org ") is Role.POPULATION_HEALTH
    assert role_of(s, "stranger@example.org") is None
    assert role_of(s, None) is None
    assert role_of(s, "fin@example.org", verified=False) is None


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"app": {"mode": "multi"}}, "single"),
        ({"app": {"mode": "team"}, "auth": AUTH}, "at least one user"),
        ({"app": {"mode": "team"}, "roles": {"admin": ["a@x.org"]}}, "lacks redirect_uri"),
        ({"roles": {"doctor": ["a@x.org"]}}, "unknown role 'doctor'"),
        ({"roles": {"admin": "a@x.org"}}, "list of e-mails"),
        ({"roles": {"admin": ["nobody"]}}, "not an e-mail"),
        ({"roles": {"admin": ["a@x.org"], "finance": ["A@x.org"]}}, "both admin and finance"),
        ({"suppression": {"min_cell": 5}}, "at least 11"),
        ({"suppression": {"enabled": "yes"}}, "true or false"),
        ({"roles": ["a"]}, r"\[roles\] must be a table"),
    ],
)
def test_bad_settings_say_which_key(settings, message):
    with pytest.raises(SettingsError, match=message):
        access_settings(settings)


def test_minimum_necessary_rights():
    assert Right.PERSON_LEVEL not in RIGHTS[Role.FINANCE] | RIGHTS[Role.BOARD]
    assert Right.PERSON_LEVEL in RIGHTS[Role.POPULATION_HEALTH]
    assert Right.ADMIN not in RIGHTS[Role.POPULATION_HEALTH]
    assert all(Right.AGGREGATES in r for r in RIGHTS.values())


# --- the page registry --------------------------------------------------------------------------


def _registry() -> dict[str, str]:
    """script -> tag, from streamlit_app.py's (st.Page(...), Right.X) pairs."""
    tree = ast.parse((ROOT / "streamlit_app.py").read_text())
    pages, tagged = [], {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "Page":
            pages.append(ast.literal_eval(node.args[0]))
        if (
            isinstance(node, ast.Tuple)
            and len(node.elts) == 2
            and isinstance(node.elts[0], ast.Call)
            and getattr(node.elts[0].func, "attr", None) == "Page"
            and isinstance(node.elts[1], ast.Attribute)
            and getattr(node.elts[1].value, "id", None) == "Right"
        ):
            tagged[ast.literal_eval(node.elts[0].args[0])] = node.elts[1].attr
    assert pages, "streamlit_app.py has no st.Page"
    untagged = sorted(set(pages) - set(tagged))
    assert not untagged, f"pages without an access tag (Right.X) in streamlit_app.py: {untagged}"
    return tagged


def test_every_page_is_tagged_and_person_level_content_is_guarded():
    for script, tag in _registry().items():
        assert tag in Right.__members__, (script, tag)
        text = (ROOT / script).read_text()
        if tag == "AGGREGATES" and "record_view(" in text:
            # an aggregate page may show person-level data only in tabs hidden by access.tabs
            # (person-level exports hide themselves: offer_download(person_level=True))
            assert "person_level=[" in text, f"{script}: person-level content on an aggregate page"
        if tag in ("PERSON_LEVEL", "ADMIN"):
            assert "access.require(Right." in text, f"{script}: no access.require at its top"


def test_every_download_goes_through_the_export_helper():
    for page in sorted((ROOT / "app" / "pages").glob("*.py")):
        assert "download_button(" not in page.read_text(), (
            f"{page.name}: use app.export.offer_download (roles, suppression, audit)"
        )


# --- the app in team mode -----------------------------------------------------------------------


@pytest.fixture
def team(tmp_path, monkeypatch, small_dataset):
    ws = tmp_path / "ws"
    shutil.copytree(small_dataset.path, ws / "datasets" / "default")
    (ws / "settings.toml").write_text(TEAM)
    monkeypatch.setenv("VBC_WORKSPACE", str(ws))
    monkeypatch.delenv("VBC_SETTINGS", raising=False)
    monkeypatch.chdir(ROOT)
    return Workspace(ws)


def _app(email: str | None, page: str | None = None) -> AppTest:
    """The app as ``email`` sees it (None: not signed in), switched to ``page`` when given."""
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=180)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": False} if email is None else {"is_logged_in": True, "email": email}
    at.run()
    if page is not None:
        at.switch_page(f"app/pages/{page}").run()
    return at


def _texts(at: AppTest) -> str:
    parts = (
        [e.value for e in at.markdown] + [e.value for e in at.title] + [e.value for e in at.error]
    )
    return "\n".join(str(p) for p in parts)


def _audit(ws: Workspace):
    with ws.store(read_only=True) as store:
        return store.audit_log(limit=1000)


def test_team_mode_asks_to_sign_in_and_shows_nothing_else(team):
    at = _app(None)
    assert not at.exception
    assert [b.label for b in at.button] == ["Sign in"]
    assert "Population overview" not in _texts(at)


def test_an_unknown_account_is_refused_and_the_refusal_audited(team):
    at = _app("stranger@example.org")
    assert not at.exception
    assert any("has no role" in e.value for e in at.error)
    assert "Population overview" not in _texts(at)
    assert [(e.actor, e.action) for e in _audit(team)] == [
        ("stranger@example.org", "refused_sign_in")
    ]


def test_finance_sees_aggregates_and_is_refused_person_level_pages_by_url(team):
    at = _app("fin@example.org")
    assert not at.exception and "Population overview" in _texts(at)
    assert [e.action for e in _audit(team)] == []  # aggregates are not audited
    for script in ("risk_adjustment.py", "risk_models.py", "care_targeting.py", "data.py"):
        # the page's script is not even registered for finance: its URL runs a refusal
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(f"app/pages/{script}")
    # and a page script run directly (no navigation) refuses on its own first line
    for script in ("risk_adjustment.py", "risk_models.py", "care_targeting.py", "data.py"):
        page = AppTest.from_file(str(ROOT / "app" / "pages" / script), default_timeout=180)
        page.secrets["auth"] = AUTH
        page.user = {"is_logged_in": True, "email": "fin@example.org"}
        page.run()
        assert not page.exception, script
        assert any("does not include" in e.value for e in page.error), script
        assert not page.title and not page.dataframe and not page.download_button, script
    refused = [e for e in _audit(team) if e.action == "refused"]
    assert len(refused) == 4 and {e.actor for e in refused} == {"fin@example.org"}


def test_finance_gets_no_person_level_tab_or_export_on_aggregate_pages(team):
    at = _app("fin@example.org", "quality_measures.py")
    assert not at.exception
    assert "Care gaps" not in [t.label for t in at.tabs]
    assert "Download the worklist (CSV)" not in [b.label for b in at.download_button]
    pat = _app("pat@example.org", "quality_measures.py")
    assert "Care gaps" in [t.label for t in pat.tabs]
    assert "Download the worklist (CSV)" in [b.label for b in pat.download_button]
    viewed = [e for e in _audit(team) if e.action == "view"]
    assert viewed and all(e.actor == "pat@example.org" for e in viewed)
    assert viewed[0].detail["people"] > 0 and "care-gap worklist" in viewed[0].detail["what"]


def test_views_and_exports_are_audited_with_who_what_and_how_many(team):
    at = _app("pat@example.org", "risk_adjustment.py")
    assert not at.exception
    export = next(b for b in at.download_button if b.label.startswith("Download all member"))
    export.click().run()
    log = _audit(team)
    actions = {(e.actor, e.action) for e in log}
    assert ("pat@example.org", "view") in actions and ("pat@example.org", "export") in actions
    exported = next(e for e in log if e.action == "export")
    assert exported.detail["person_level"] is True and exported.detail["people"] > 100
    assert exported.detail["file"].startswith("hcc_scores_") and exported.detail["dataset"]
    # the admin's audit log page shows both users; finance may not open it
    ada = _app("ada@example.org", "audit_log.py")
    assert not ada.exception
    shown = ada.dataframe[0].value
    assert {"pat@example.org"} <= set(shown["who"])
    fin = _app("fin@example.org")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        fin.switch_page("app/pages/audit_log.py")
    page = AppTest.from_file(str(ROOT / "app" / "pages" / "audit_log.py"), default_timeout=60)
    page.secrets["auth"] = AUTH
    page.user = {"is_logged_in": True, "email": "fin@example.org"}
    page.run()
    assert any("does not include" in e.value for e in page.error) and not page.dataframe
    ada2 = _app("ada@example.org", "audit_log.py")
    assert {"pat@example.org", "fin@example.org"} <= set(ada2.dataframe[0].value["who"])


def test_a_small_dataset_has_its_small_cells_suppressed_in_team_mode(tmp_path, monkeypatch):
    ws = tmp_path / "ws"
    generate(SynthSpec(members=10, start_year=2023, years=2, seed=3), ws / "datasets" / "default")
    (ws / "settings.toml").write_text(TEAM)
    monkeypatch.setenv("VBC_WORKSPACE", str(ws))
    monkeypatch.delenv("VBC_SETTINGS", raising=False)
    monkeypatch.chdir(ROOT)
    at = _app("fin@example.org")
    assert not at.exception
    members = next(m for m in at.metric if m.label == "Members")
    assert members.value == "< 11: suppressed"
    table = at.dataframe[0].value
    assert table["members"].isna().all() and table["pmpm_medical"].isna().all()
    csv = next(b for b in at.download_button if "summary by year" in b.label)
    assert csv is not None
    assert csv.label.startswith("Download summary")


def _small_counts(frame, columns) -> int:
    """Rows of ``frame`` with a count from 1 to 10 in any of ``columns`` (CMS's small cells)."""
    return int(sum(((frame[c] >= 1) & (frame[c] <= 10)).sum() for c in columns))


@pytest.fixture(scope="module")
def panel_6k(tmp_path_factory):
    """A panel where suppression hides most providers and practices but not all of them."""
    out = tmp_path_factory.mktemp("synth6k") / "p6k"
    return generate(SynthSpec(members=6_000, start_year=2023, years=2, seed=11), out)


@pytest.mark.parametrize("email", ["fin@example.org", "bo@example.org"])
def test_team_mode_quality_funnel_shows_no_small_cell_and_pools_by_practice(
    tmp_path, monkeypatch, panel_6k, email
):
    from tests.app.test_pages import funnel_points

    ws = tmp_path / "ws"
    shutil.copytree(panel_6k.path, ws / "datasets" / "default")
    (ws / "settings.toml").write_text(TEAM)
    monkeypatch.setenv("VBC_WORKSPACE", str(ws))
    monkeypatch.delenv("VBC_SETTINGS", raising=False)
    monkeypatch.chdir(ROOT)
    at = _app(email, "quality_measures.py")
    assert not at.exception, at.exception
    compare = next(r for r in at.radio if r.label == "Compare")
    # on this small panel suppression hides most providers, so the practices are the default
    assert compare.value == "Practices (TIN)"
    caption = next(c.value for c in at.caption if c.value.startswith("Pooled by practice (TIN)"))
    assert "By provider," in caption and "would be hidden" in caption
    for view in ("Practices (TIN)", "Providers (NPI)"):
        compare = next(r for r in at.radio if r.label == "Compare")
        if compare.value != view:
            compare.set_value(view).run()
            assert not at.exception, at.exception
        unit = "provider_tin" if view.startswith("Practices") else "provider_npi"
        table = next(d.value for d in at.dataframe if unit in d.value.columns)
        shown = table[~table["suppressed"]]
        assert _small_counts(shown, ["numerator", "denominator"]) == 0, view
        assert table.loc[table["suppressed"], ["numerator", "denominator"]].isna().all().all()
        hidden = int(table["suppressed"].sum())
        assert 0 < hidden < len(table), view  # this panel has small cells and others
        points = funnel_points(at)
        assert _small_counts(points, ["observed", "events"]) == 0, view
        assert set(points[unit]) == set(shown[unit]), view
        assert any(f"{hidden:,} of {len(table):,}" in c.value for c in at.caption), view
    # the providers' export is the suppressed table (through app.export / access)
    assert any("small cells suppressed" in b.label for b in at.download_button)
