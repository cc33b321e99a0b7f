"""Choosing the store's backend in the settings file, and what each backend guarantees beyond
the interface: artifact checksums (both), the audit log refused change in the database
(PostgreSQL)."""

from __future__ import annotations

import pickle

import duckdb
import pytest

from modeling.errors import SettingsError, StoreError
from modeling.store import (
    WorkspaceStore,
    artifact_checksum,
    store_settings,
)
from modeling.workspace import Workspace


def test_the_default_is_duckdb_in_the_workspace(tmp_path, monkeypatch):
    monkeypatch.delenv("VBC_SETTINGS", raising=False)
    store = Workspace.at(tmp_path).store()
    assert store.backend == "duckdb"
    store.audit("hello", {})
    assert (tmp_path / "workspace.duckdb").is_file()


def test_the_settings_file_chooses_the_backend(store_target, tmp_path, monkeypatch):
    monkeypatch.delenv("VBC_SETTINGS", raising=False)
    ws = tmp_path / "team"
    ws.mkdir()
    if store_target.backend == "duckdb":
        ws = (tmp_path / "ws").resolve()  # the target's file is ws/workspace.duckdb
        ws.mkdir(exist_ok=True)
    (ws / "settings.toml").write_text(store_target.settings_toml)
    for name, value in store_target.env.items():
        monkeypatch.setenv(name, value)
    saved = Workspace.at(ws).store().save_scenario("via settings", "contract", {"a": 1})
    with store_target.open(read_only=True) as s:
        assert s.get_scenario(saved.id).name == "via settings"
    assert Workspace.at(ws).store().backend == store_target.backend


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"backend": "sqlite"}, "not one of duckdb, postgresql"),
        ({"backend": "postgresql"}, "needs exactly one of dsn_env"),
        ({"backend": "postgresql", "dsn": "host=db", "dsn_env": "X"}, "exactly one"),
        ({"backend": "postgresql", "dsn": "host=db password=hunter2"}, "holds a password"),
        ({"backend": "postgresql", "dsn": "postgresql://vbc:hunter2@db/vbc"}, "holds a password"),
        ({"backend": "postgresql", "dsn": "host=db = ="}, "not a PostgreSQL connection string"),
        ({"backend": "postgresql", "dsn_env": "VBC_NO_SUCH_VARIABLE"}, "is not set"),
        ({"backend": "postgresql", "dsn_env": ""}, "must name an environment variable"),
        ({"backend": "duckdb", "dsn": "host=db"}, 'is for backend = "postgresql"'),
        ({"backend": "duckdb", "timeout": -1}, "must be a number of seconds"),
        ({"backend": "duckdb", "timeout": True}, "must be a number of seconds"),
        ({"backend": "duckdb", "dns": "typo"}, "unknown key"),
    ],
)
def test_store_settings_are_validated(table, message, monkeypatch):
    monkeypatch.delenv("VBC_NO_SUCH_VARIABLE", raising=False)
    with pytest.raises(SettingsError, match=message) as err:
        store_settings(table)
    assert "hunter2" not in str(err.value)


def test_store_settings_read_the_dsn_from_the_named_variable(monkeypatch):
    monkeypatch.setenv("VBC_STORE_DSN", "host=db.example.org dbname=vbc user=vbc password=s3cret")
    chosen = store_settings({"backend": "postgresql", "dsn_env": "VBC_STORE_DSN", "timeout": 3})
    assert (chosen.backend, chosen.timeout) == ("postgresql", 3.0)
    assert chosen.dsn is not None and "s3cret" in chosen.dsn
    assert store_settings({}).backend == "duckdb"


def test_a_bad_store_section_from_the_settings_file_is_a_settings_error(tmp_path, monkeypatch):
    monkeypatch.delenv("VBC_SETTINGS", raising=False)
    (tmp_path / "settings.toml").write_text('[store]\nbackend = "oracle"\n')
    with pytest.raises(SettingsError, match="oracle"):
        Workspace.at(tmp_path).store()


def test_an_unreachable_postgresql_server_is_a_clear_store_error():
    store = WorkspaceStore.postgres(
        "host=127.0.0.1 port=1 dbname=vbc user=vbc password=hunter2", timeout=2
    )
    with pytest.raises(StoreError, match="Cannot connect to the PostgreSQL store 127.0.0.1:1/vbc"):
        store.list_scenarios()
    try:
        store.list_scenarios()
    except StoreError as exc:
        assert "hunter2" not in str(exc)


# --- artifacts: checksum kept and checked -------------------------------------------------------


def _tamper(target, sql: str, params: list) -> None:
    """Change the registry behind the store's back, as someone with write access could."""
    if target.backend == "duckdb":
        with duckdb.connect(target.location) as con:
            con.execute(sql, params)
        return
    import psycopg

    with psycopg.connect(target.location, autocommit=True) as con:
        con.execute(sql.replace("?", "%s"), params)


def test_a_registered_artifact_carries_its_sha256(store):
    entry = store.register_model("risk", {"k": 1}, b"model text")
    assert entry.artifact_sha256 == artifact_checksum(b"model text")
    got = store.get_model("risk")
    assert (got.artifact, got.artifact_sha256) == (b"model text", entry.artifact_sha256)


def test_a_tampered_artifact_is_refused(store_target):
    store_target.open().register_model("risk", {"k": 1}, b"model text")
    _tamper(store_target, "UPDATE model_registry SET artifact = ? WHERE version = 1", [b"evil"])
    with pytest.raises(StoreError, match="does not match the SHA-256"):
        store_target.open().get_model("risk")
    assert store_target.open().list_models()[0].version == 1  # the card still lists


def test_an_artifact_without_a_checksum_is_refused_and_a_pickle_says_so(store_target):
    store = store_target.open()
    store.register_model("risk", {"k": 1}, b"model text")
    legacy = pickle.dumps({"models": b"..."})
    _tamper(
        store_target,
        "UPDATE model_registry SET artifact = ?, artifact_sha256 = NULL WHERE version = 1",
        [legacy],
    )
    with pytest.raises(StoreError, match="Python pickle.*Retrain.*vbc train"):
        store.get_model("risk", 1)
    store.register_model("risk", {"k": 2}, b"model text")
    _tamper(store_target, "UPDATE model_registry SET artifact_sha256 = NULL WHERE version = 2", [])
    with pytest.raises(StoreError, match="without a checksum"):
        store.get_model("risk", 2)


def test_an_old_duckdb_store_gains_the_checksum_column(tmp_path):
    path = tmp_path / "workspace.duckdb"
    with duckdb.connect(str(path)) as con:  # the registry as the previous release made it
        con.execute(
            "CREATE TABLE model_registry (id TEXT PRIMARY KEY, name TEXT NOT NULL, version "
            "INTEGER NOT NULL, created_at TIMESTAMP NOT NULL, card TEXT NOT NULL, artifact BLOB, "
            "UNIQUE (name, version))"
        )
        con.execute(
            "INSERT INTO model_registry VALUES ('x', 'risk', 1, now(), '{}', ?)",
            [pickle.dumps({"old": True})],
        )
    store = WorkspaceStore.open(path)
    with pytest.raises(StoreError, match="pickle"):
        store.get_model("risk")
    assert store.register_model("risk", {}, b"new").version == 2
    assert store.get_model("risk").artifact == b"new"


# --- the audit log is append-only in the database (PostgreSQL) ----------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET actor = 'someone else'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ],
)
def test_postgresql_refuses_changing_the_audit_log(postgres_target, statement):
    """DuckDB has no triggers: its audit log is append-only by the interface only."""
    import psycopg

    store = postgres_target.open()
    store.audit("export", {"people": 40}, actor="analyst")
    with (
        psycopg.connect(postgres_target.location, autocommit=True) as con,
        pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"),
    ):
        con.execute(statement)
    assert [(e.actor, e.action) for e in store.audit_log()] == [("analyst", "export")]


def test_postgresql_store_runs_under_a_role_that_may_only_read_and_write(postgres_target):
    """The least-privilege set-up of docs/deployment.md: the tables made by their owner, the
    app's role granted row access only. The store then runs no DDL, registers without a table
    lock, and the role cannot alter the audit log or drop its guard."""
    import uuid

    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    postgres_target.open().audit("set up", {})  # the owner's first use makes the tables
    role, password = f"vbc_app_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    schema = conninfo_to_dict(postgres_target.location)["options"].split("=")[-1]
    with psycopg.connect(postgres_target.location, autocommit=True) as owner:
        owner.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        for grant in (
            f"GRANT USAGE ON SCHEMA {schema} TO {role}",
            f"GRANT SELECT, INSERT ON {schema}.audit_log, {schema}.model_registry TO {role}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON {schema}.scenario, {schema}.run_history "
            f"TO {role}",
        ):
            owner.execute(grant)
    app_dsn = make_conninfo(postgres_target.location, user=role, password=password)
    try:
        store = WorkspaceStore.postgres(app_dsn)
        saved = store.save_scenario("s", "contract", {"a": 1})
        store.delete_scenario(saved.id)
        run = store.start_run("train", {})
        assert store.finish_run(run.id, "succeeded").status == "succeeded"
        assert [store.register_model("risk", {}, b"x").version for _ in range(2)] == [1, 2]
        assert store.get_model("risk").artifact == b"x"
        store.audit("export", {"people": 20}, actor="analyst")
        with psycopg.connect(app_dsn, autocommit=True) as app:
            for statement in (
                "UPDATE audit_log SET actor = 'x'",
                "DELETE FROM audit_log",
                "DROP TRIGGER audit_log_no_change ON audit_log",
            ):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    app.execute(statement)
        assert {e.action for e in store.audit_log()} >= {"set up", "export", "save_scenario"}
    finally:
        with psycopg.connect(postgres_target.location, autocommit=True) as owner:
            owner.execute(f"DROP OWNED BY {role}")
            owner.execute(f"DROP ROLE {role}")
