"""Who may see what: the app's two modes, sign-in, roles, refusals, the audit of person-level
views, and small-cell suppression of what aggregate users see. Every page (through
``navigation``), every person-level section (``require``, ``tabs``) and every export
(``app.export.offer_download``) goes through this module, so the rules live here once.

Modes (the ``[app]`` table of the settings file, ``modeling.settings``):

- ``single`` (the default): one person on their own machine. The server listens on localhost
  only (``.streamlit/config.toml``), nobody signs in, the one user may do everything.
- ``team``: everyone signs in through Streamlit's ``st.login`` (OpenID Connect, configured by
  ``[auth]``); the e-mail the identity provider vouches for is looked up in ``[roles]``
  (role = list of e-mails); an e-mail that is not there is refused.

Roles follow HIPAA's minimum-necessary standard (45 CFR 164.502(b), 164.514(d)): population
health and the admin see person-level data; finance and the board see aggregates only, small
cells suppressed; only the admin manages datasets and models and reads the audit log.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NoReturn

import polars as pl
import streamlit as st

from modeling.errors import SettingsError, VbcError
from modeling.settings import read_settings, section, settings_path
from modeling.suppression import cell_size_policy, suppress_small_cells


class Right(StrEnum):
    """What a page, section or export needs (the tag of each page in streamlit_app.py)."""

    AGGREGATES = "aggregates"  # population figures, small cells suppressed in team mode
    PERSON_LEVEL = "person_level"  # lists, drill-downs and exports naming people
    ADMIN = "admin"  # datasets, models and the audit log


class Role(StrEnum):
    POPULATION_HEALTH = "population_health"
    FINANCE = "finance"
    BOARD = "board"
    ADMIN = "admin"
    OWNER = "owner"  # single-user mode: the one person on their own machine


RIGHTS: Mapping[Role, frozenset[Right]] = {
    Role.POPULATION_HEALTH: frozenset({Right.AGGREGATES, Right.PERSON_LEVEL}),
    Role.FINANCE: frozenset({Right.AGGREGATES}),
    Role.BOARD: frozenset({Right.AGGREGATES}),
    Role.ADMIN: frozenset({Right.AGGREGATES, Right.PERSON_LEVEL, Right.ADMIN}),
    Role.OWNER: frozenset({Right.AGGREGATES, Right.PERSON_LEVEL, Right.ADMIN}),
}
TEAM_ROLES = tuple(r for r in Role if r is not Role.OWNER)


@dataclass(frozen=True)
class User:
    """Who is using the app: an e-mail in team mode, the OS account in single-user mode."""

    id: str
    role: Role

    def may(self, right: Right) -> bool:
        return right in RIGHTS[self.role]


@dataclass(frozen=True)
class AccessSettings:
    """The ``[app]``, ``[auth]``, ``[roles]`` and ``[suppression]`` tables, checked."""

    mode: str = "single"
    members: Mapping[str, Role] = field(default_factory=dict)
    suppress: bool = False
    min_cell: int = 11
    provider: str | None = None  # a named ``[auth.<provider>]``, or None for ``[auth]`` itself

    @property
    def team(self) -> bool:
        return self.mode == "team"


def access_settings(settings: Mapping[str, Any]) -> AccessSettings:
    """The access settings from a parsed settings file; a ``SettingsError`` saying which key is
    wrong and what it may be.

    ``[app] mode`` is ``"single"`` (default) or ``"team"``. ``[roles]``: each role
    (population_health, finance, board, admin) a list of e-mails; an e-mail in two roles is
    refused as ambiguous. ``[suppression] enabled`` defaults to true in team mode and false in
    single mode; ``min_cell`` may raise the CMS threshold (11), never lower it. ``[app]
    auth_provider`` names an ``[auth.<name>]`` table when the ``[auth]`` table holds several.
    """
    app = section(settings, "app")
    mode = app.get("mode", "single")
    if mode not in ("single", "team"):
        raise SettingsError(f'Settings [app] mode must be "single" or "team", not {mode!r}.')
    members: dict[str, Role] = {}
    for role_name, emails in section(settings, "roles").items():
        if role_name not in {r.value for r in TEAM_ROLES}:
            raise SettingsError(
                f"Settings [roles] has an unknown role {role_name!r}; the roles are "
                f"{', '.join(r.value for r in TEAM_ROLES)}."
            )
        if not isinstance(emails, list) or not all(isinstance(e, str) for e in emails):
            raise SettingsError(
                f'Settings [roles] {role_name} must be a list of e-mails, e.g. ["ana@example.org"].'
            )
        for email in emails:
            key = email.strip().lower()
            if "@" not in key:
                raise SettingsError(f"Settings [roles] {role_name}: {email!r} is not an e-mail.")
            if key in members and members[key] != Role(role_name):
                raise SettingsError(
                    f"Settings [roles]: {email} is in both {members[key]} and {role_name}; "
                    "give each person one role."
                )
            members[key] = Role(role_name)
    if mode == "team" and not members:
        raise SettingsError(
            "Settings: team mode needs at least one user in [roles] (e.g. "
            'admin = ["you@example.org"]); nobody could sign in.'
        )
    policy = cell_size_policy()
    sup = section(settings, "suppression")
    enabled = sup.get("enabled", mode == "team")
    if not isinstance(enabled, bool):
        raise SettingsError("Settings [suppression] enabled must be true or false.")
    min_cell = sup.get("min_cell", policy.min_cell)
    if not isinstance(min_cell, int) or isinstance(min_cell, bool) or min_cell < policy.min_cell:
        raise SettingsError(
            f"Settings [suppression] min_cell must be a whole number of at least "
            f"{policy.min_cell} (CMS cell-size policy), not {min_cell!r}."
        )
    provider = app.get("auth_provider")
    if provider is not None and not isinstance(provider, str):
        raise SettingsError(
            "Settings [app] auth_provider must be the name of an [auth.<name>] table."
        )
    if mode == "team":
        _check_auth(section(settings, "auth"), provider)
    return AccessSettings(
        mode=mode, members=members, suppress=enabled, min_cell=min_cell, provider=provider
    )


AUTH_KEYS = ("client_id", "client_secret", "server_metadata_url")


def _check_auth(auth: Mapping[str, Any], provider: str | None) -> None:
    """Team mode: ``[auth]`` has what ``st.login`` needs (Streamlit 1.67's keys)."""
    where = auth if provider is None else {**auth, **section(auth, provider)}
    missing = [k for k in ("redirect_uri", "cookie_secret", *AUTH_KEYS) if not where.get(k)]
    if missing:
        table = "[auth]" if provider is None else f"[auth] / [auth.{provider}]"
        raise SettingsError(
            f"Settings: team mode signs people in through OpenID Connect and {table} lacks "
            f"{', '.join(missing)} (see docs/deployment.md, 'The identity provider')."
        )


def role_of(settings: AccessSettings, email: str | None, *, verified: object = True) -> Role | None:
    """The role of a signed-in e-mail, or None (refused): not in ``[roles]``, no e-mail, or one
    the identity provider says it has not verified (``email_verified`` false)."""
    if not email or verified is False:
        return None
    return settings.members.get(email.strip().lower())


# --- Streamlit side: everything below runs inside the app -------------------------------------


def _workspace():
    from app.state import workspace

    return workspace()


def current_settings() -> AccessSettings:
    return access_settings(read_settings(_workspace().path))


def sign_in() -> User:
    """The user of this session. Single-user mode: the OS account. Team mode: the signed-in
    e-mail and its role; someone not signed in sees only the sign-in button, someone signed in
    who has no role is refused (and the refusal is audited)."""
    settings = current_settings()
    if not settings.team:
        _require_local_server()
        user = User(id=_local_account(), role=Role.OWNER)
        st.session_state["vbc_user"] = user
        return user
    _require_auth_secrets()
    if not st.user.is_logged_in:
        st.title("vbc-modeler")
        st.write("This deployment is for its team: sign in with your organization's account.")
        if st.button("Sign in", type="primary"):
            st.login(settings.provider) if settings.provider else st.login()
        st.stop()
    email = st.user.get("email")
    role = role_of(settings, email, verified=st.user.get("email_verified", True))
    if role is None:
        _once(("refused_sign_in", email), lambda: audit("refused_sign_in", {}, actor=str(email)))
        st.error(
            f"{email or 'This account'} has no role in this deployment. Ask the administrator to "
            "add you to [roles] in the settings file."
        )
        st.button("Sign out", on_click=st.logout)
        st.stop()
    user = User(id=str(email).strip().lower(), role=role)
    st.session_state["vbc_user"] = user
    st.sidebar.caption(f"Signed in as {user.id} ({user.role.value.replace('_', ' ')})")
    st.sidebar.button("Sign out", on_click=st.logout)
    return user


def _local_account() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "local"


LOOPBACK = ("localhost", "127.0.0.1", "::1")


def _require_local_server() -> None:
    """Single-user mode has no sign-in, so it serves this machine only: a server that listens on
    another address (or on every interface) shows nothing."""
    from streamlit import runtime

    if not runtime.exists():  # AppTest, bare mode: no server listening at all
        return
    address = st.get_option("server.address")
    if address not in LOOPBACK:
        raise SettingsError(
            "Single-user mode has no sign-in, so it serves this machine only, but the server "
            f"listens on {address or 'every network interface'}. Start it with "
            "`--server.address localhost` (the default of .streamlit/config.toml), or set "
            '[app] mode = "team" in the settings file so that everyone signs in '
            "(docs/deployment.md)."
        )


def _require_auth_secrets() -> None:
    """Streamlit reads ``[auth]`` from its secrets; the settings file is made one of them by
    starting the app with ``--secrets.files <settings file>`` (docs/deployment.md)."""
    try:
        ok = "auth" in st.secrets
    except (FileNotFoundError, st.errors.StreamlitSecretNotFoundError):
        ok = False
    if not ok:
        path = settings_path(_workspace().path)
        raise SettingsError(
            "Team mode: Streamlit has no [auth] settings. Start the app with "
            f"`streamlit run streamlit_app.py --secrets.files {path}` so that st.login reads the "
            "[auth] table of the settings file."
        )


def current_user() -> User:
    user = st.session_state.get("vbc_user")
    return user if isinstance(user, User) else sign_in()


def navigation(user: User, tagged: Sequence[tuple[Any, Right]]):
    """``st.navigation`` over the pages ``user`` may open; every other page keeps its URL but
    runs a refusal instead of its script (a direct URL is refused, not merely not linked)."""
    pages = []
    for page, right in tagged:
        if not isinstance(right, Right):
            raise TypeError(f"{page.title}: tag it with an access.Right, not {right!r}")
        if user.may(right):
            pages.append(page)
        else:
            pages.append(
                st.Page(
                    _refusal(page.title, right),
                    title=page.title,
                    url_path=page.url_path or None,
                    default=page.url_path == "",
                    visibility="hidden",
                )
            )
    return st.navigation(pages)


def _refusal(title: str, right: Right) -> Callable[[], None]:
    def refused() -> None:
        refuse(f"the {title} page", right)

    refused.__name__ = f"refused_{right.value}"
    return refused


WHY = {
    Right.PERSON_LEVEL: "it shows person-level data, which your role does not need (minimum "
    "necessary)",
    Right.ADMIN: "it manages the deployment's datasets, models or audit log",
    Right.AGGREGATES: "it shows the population's figures",
}


def refuse(what: str, right: Right = Right.PERSON_LEVEL) -> NoReturn:
    """Say that this user's role may not see ``what``, audit the attempt, and stop the run."""
    user = current_user()
    _once(("refused", what), lambda: audit("refused", {"what": what, "needs": right.value}))
    st.error(
        f"Your role ({user.role.value.replace('_', ' ')}) does not include {what}: "
        f"{WHY[right]}. Ask the administrator if you need it."
    )
    st.stop()
    raise AssertionError("unreachable")  # st.stop raises


def require(right: Right, what: str) -> User:
    """The user, when their role has ``right``; otherwise ``refuse(what)``."""
    user = current_user()
    if not user.may(right):
        refuse(what, right)
    return user


def tabs(names: Sequence[str], *, person_level: Sequence[str] = ()) -> list:
    """``st.tabs`` without the person-level tabs for a role that may not see them. In their
    place stands a section that stops the run on entry, so its code never runs: person-level
    tabs therefore come last."""
    flags = [n in person_level for n in names]
    if any(flags) and flags.index(True) != len(flags) - sum(flags):
        raise ValueError(f"person-level tabs must come last: {list(names)}")
    may = current_user().may(Right.PERSON_LEVEL)
    shown = [n for n, f in zip(names, flags, strict=True) if may or not f]
    made = dict(zip(shown, st.tabs(shown), strict=True))
    return [made.get(n) or _Hidden() for n in names]


class _Hidden:
    """A tab the role may not see: entering it ends the run before its code computes anything."""

    def __enter__(self) -> None:
        st.stop()

    def __exit__(self, *exc: object) -> None:
        return None


# --- audit ----------------------------------------------------------------------------------


def audit(action: str, detail: Mapping[str, Any], *, actor: str | None = None) -> None:
    """One entry of the store's audit log: who (``actor``, else this session's user), when (the
    store stamps it), what (``action``, ``detail``). In team mode a view that cannot be
    recorded is not shown (the error stops the run); in single mode it is a warning. An export
    is recorded by its button's callback, once the browser has the file: a failure then is
    said on the page."""
    who = actor or current_user().id
    body = {**detail, "dataset": st.session_state.get("dataset")}
    try:
        with _workspace().store() as store:
            store.audit(action, body, actor=who)
    except VbcError as exc:
        if current_settings().team and action != "export":
            raise VbcError(f"Not shown: the audit log cannot be written ({exc}).") from None
        # an export's entry is written by its button's callback, after the file was sent
        (st.error if action == "export" else st.warning)(
            f"The audit log could not record this {action}: {exc}"
        )


def people_in(frame: pl.DataFrame) -> int:
    """How many people a frame describes: distinct ``person_id`` when it has one, else rows."""
    if "person_id" in frame.columns:
        return int(frame["person_id"].n_unique())
    return frame.height


def record_view(what: str, shown: pl.DataFrame | int) -> None:
    """Require the person-level right for ``what`` and audit the view (who, when, what, how
    many people); the same view in the same session is recorded once."""
    require(Right.PERSON_LEVEL, what)
    people = shown if isinstance(shown, int) else people_in(shown)
    _once(("view", what, people), lambda: audit("view", {"what": what, "people": people}))


def _once(key: tuple, write: Callable[[], None]) -> None:
    seen = st.session_state.setdefault("vbc_audited", set())
    mark = (st.session_state.get("dataset"), *key)
    if mark not in seen:
        write()
        seen.add(mark)


# --- small cells ----------------------------------------------------------------------------


def suppressing() -> bool:
    return current_settings().suppress


def aggregate(
    frame: pl.DataFrame,
    *,
    people: Sequence[str],
    partitions: Sequence[Sequence[str]] = (),
    keep: Sequence[str] = (),
    cells: Mapping[str, str | pl.Expr] | None = None,
    chart: bool = False,
) -> pl.DataFrame:
    """What an aggregate table shows: ``frame`` through ``modeling.suppression`` when the
    deployment suppresses small cells (team mode by default), else unchanged. ``chart``: the
    suppressed rows are left out (a chart has no blank cell to draw), without the flag."""
    settings = current_settings()
    if not settings.suppress:
        return frame
    out = suppress_small_cells(
        frame,
        people=people,
        partitions=partitions,
        keep=keep,
        cells=cells,
        min_cell=settings.min_cell,
    )
    return out.filter(~pl.col("suppressed")).drop("suppressed") if chart else out
