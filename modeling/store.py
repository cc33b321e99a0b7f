"""The workspace store: what the product writes (saved scenarios, model registry entries, run
history, audit log), behind a small repository interface.

Two backends run the same plain SQL: an embedded DuckDB file per workspace (the single-user
default, ``workspace.duckdb``) and PostgreSQL (psycopg 3) for a team, chosen by the ``[store]``
table of the settings file (``store_settings``). Payloads are JSON text and ids are UUIDs made
here, so nothing depends on one database's sequences; ``BLOB`` becomes ``BYTEA`` on PostgreSQL.

Connections are never held. A ``WorkspaceStore`` is a handle: every operation opens a
connection, does its work in one short transaction and closes it, so a long command (``vbc
train``, ``vbc simulate --use-model``) that keeps a handle across its computation holds nothing,
and the app keeps working beside it.

Concurrency on DuckDB, which lets one process write a file at a time: every operation first takes
an advisory lock on ``<store>.lock`` beside the file (shared to read, exclusive to write; a
blocking ``flock``, so a reader is woken as soon as a writer's transaction ends instead of
polling for a gap between a busy writer's transactions), then opens the file read-only or
read-write; a file held by a process that does not take the lock (an external ``duckdb``) is
retried with backoff. Either wait ends after ``timeout`` seconds (default ``OPEN_TIMEOUT``) with
``StoreBusyError``. On PostgreSQL the server serializes; a registration holds a transaction-scoped
advisory lock of the store's schema while it allocates its version. Model versions are thus allocated without a race on both, and the
``(name, version)`` key stays as a guard.

Integrity: a registered artifact's SHA-256 is kept beside it and checked on every load (a
mismatch is a ``StoreError``); an artifact registered without one (by a version that pickled
them) is refused with a message to retrain. The audit log is append-only: the interface has no
update or delete for it, and on PostgreSQL a trigger refuses UPDATE, DELETE and TRUNCATE of
``audit_log`` in the database itself. (DuckDB has no triggers: the single-user file is its
user's own, protected by file permissions.)
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import duckdb

from modeling.errors import (
    RecordNotFoundError,
    SettingsError,
    StoreBusyError,
    StoreError,
    VbcError,
)

OPEN_TIMEOUT = 10.0  # seconds an operation waits for another process to release the store
STORE_FILE = "workspace.duckdb"
BACKENDS = ("duckdb", "postgresql")
CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "threads": 1,  # a store transaction is a handful of rows
}
_READY: set[str] = set()  # backends whose schema this process has checked
_READY_LOCK = threading.Lock()

TABLES = {
    "scenario": """CREATE TABLE IF NOT EXISTS scenario (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, created_at TIMESTAMP NOT NULL,
        payload TEXT NOT NULL, results TEXT)""",
    "model_registry": """CREATE TABLE IF NOT EXISTS model_registry (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, version INTEGER NOT NULL,
        created_at TIMESTAMP NOT NULL, card TEXT NOT NULL, artifact {blob},
        artifact_sha256 TEXT, UNIQUE (name, version))""",
    "run_history": """CREATE TABLE IF NOT EXISTS run_history (
        id TEXT PRIMARY KEY, command TEXT NOT NULL, started_at TIMESTAMP NOT NULL,
        finished_at TIMESTAMP, status TEXT NOT NULL, parameters TEXT NOT NULL, summary TEXT)""",
    "audit_log": """CREATE TABLE IF NOT EXISTS audit_log (
        id TEXT PRIMARY KEY, occurred_at TIMESTAMP NOT NULL, actor TEXT NOT NULL,
        action TEXT NOT NULL, detail TEXT NOT NULL)""",
}
# columns added after a table's first release: stores made before them get them on first use
MIGRATIONS = (  # (table, column, the statement that adds it)
    (
        "model_registry",
        "artifact_sha256",
        "ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS artifact_sha256 TEXT",
    ),
)
# PostgreSQL only: the audit log refuses change in the database, whoever connects
AUDIT_GUARD = (
    """CREATE OR REPLACE FUNCTION vbc_audit_log_is_append_only() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN
         RAISE EXCEPTION 'the audit log is append-only: % of audit_log is refused', TG_OP
           USING ERRCODE = 'insufficient_privilege';
       END $$""",
    """CREATE OR REPLACE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
       FOR EACH ROW EXECUTE FUNCTION vbc_audit_log_is_append_only()""",
    """CREATE OR REPLACE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
       FOR EACH STATEMENT EXECUTE FUNCTION vbc_audit_log_is_append_only()""",
)
MODEL_COLUMNS = "id, name, version, created_at, card, artifact, artifact_sha256"
PICKLE_PROTOCOL_MARK = b"\x80"  # the first byte of every pickle of protocol 2 or later


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def artifact_checksum(artifact: bytes) -> str:
    """The SHA-256 (hex) kept in the registry for an artifact and checked when it is loaded."""
    return hashlib.sha256(artifact).hexdigest()


@dataclass(frozen=True)
class Scenario:
    id: str
    name: str
    kind: str
    created_at: datetime
    payload: dict[str, Any]
    results: dict[str, Any] | None = None


@dataclass(frozen=True)
class ModelEntry:
    id: str
    name: str
    version: int
    created_at: datetime
    card: dict[str, Any]
    artifact: bytes | None = None
    artifact_sha256: str | None = None


@dataclass(frozen=True)
class RunRecord:
    id: str
    command: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    parameters: dict[str, Any]
    summary: dict[str, Any] | None = None


@dataclass(frozen=True)
class AuditEntry:
    id: str
    at: datetime
    actor: str
    action: str
    detail: dict[str, Any]


class Store(Protocol):
    """What the app, CLI and packages need from a workspace store."""

    def save_scenario(
        self, name: str, kind: str, payload: dict, results: dict | None = None
    ) -> Scenario: ...
    def get_scenario(self, scenario_id: str) -> Scenario: ...
    def list_scenarios(self, kind: str | None = None) -> list[Scenario]: ...
    def delete_scenario(self, scenario_id: str) -> None: ...
    def register_model(
        self, name: str, card: dict, artifact: bytes | None = None
    ) -> ModelEntry: ...
    def get_model(self, name: str, version: int | None = None) -> ModelEntry: ...
    def list_models(self) -> list[ModelEntry]: ...
    def start_run(self, command: str, parameters: dict) -> RunRecord: ...
    def finish_run(self, run_id: str, status: str, summary: dict | None = None) -> RunRecord: ...
    def list_runs(self, limit: int = 50) -> list[RunRecord]: ...
    def audit(self, action: str, detail: dict, actor: str = "system") -> AuditEntry: ...
    def audit_log(self, limit: int = 100) -> list[AuditEntry]: ...


# --- settings -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreSettings:
    """The ``[store]`` table: ``backend`` ("duckdb", the default, or "postgresql"); for
    PostgreSQL the connection string, from ``dsn_env`` (the name of an environment variable that
    holds it: the way to keep a password out of the file) or ``dsn`` (no password allowed in it:
    use ``dsn_env`` or ``~/.pgpass``); ``timeout``, seconds to wait for a busy store."""

    backend: str = "duckdb"
    dsn: str | None = None
    timeout: float | None = None


_STORE_KEYS = {"backend", "dsn", "dsn_env", "timeout"}


def store_settings(table: Mapping[str, Any]) -> StoreSettings:
    """Validate the settings file's ``[store]`` table (``modeling.settings.section``)."""
    unknown = sorted(set(table) - _STORE_KEYS)
    if unknown:
        raise SettingsError(
            f"Settings [store]: unknown key(s) {', '.join(unknown)}; the keys are "
            f"{', '.join(sorted(_STORE_KEYS))}."
        )
    backend = table.get("backend", "duckdb")
    if backend not in BACKENDS:
        raise SettingsError(
            f"Settings [store]: backend = {backend!r} is not one of {', '.join(BACKENDS)}."
        )
    timeout = table.get("timeout")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0
    ):
        raise SettingsError(
            f"Settings [store]: timeout = {timeout!r} must be a number of seconds (0 or more)."
        )
    if backend == "duckdb":
        extra = sorted({"dsn", "dsn_env"} & set(table))
        if extra:
            raise SettingsError(
                f'Settings [store]: {", ".join(extra)} is for backend = "postgresql"; the '
                f'DuckDB store is always {STORE_FILE} in the workspace. Set backend = "postgresql" '
                "or remove it."
            )
        return StoreSettings("duckdb", None, None if timeout is None else float(timeout))
    return StoreSettings(
        "postgresql", _postgres_dsn(table), None if timeout is None else float(timeout)
    )


def _postgres_dsn(table: Mapping[str, Any]) -> str:
    if ("dsn" in table) == ("dsn_env" in table):
        raise SettingsError(
            'Settings [store]: backend = "postgresql" needs exactly one of dsn_env (the name of '
            'an environment variable holding the connection string, e.g. dsn_env = "VBC_STORE_DSN")'
            ' or dsn (a connection string without a password, e.g. dsn = "host=db dbname=vbc").'
        )
    if "dsn_env" in table:
        name = table["dsn_env"]
        if not isinstance(name, str) or not name:
            raise SettingsError("Settings [store]: dsn_env must name an environment variable.")
        dsn = os.environ.get(name, "")
        if not dsn:
            raise SettingsError(
                f"Settings [store]: dsn_env = {name!r}, but the environment variable {name} is "
                "not set (or is empty). Set it to the PostgreSQL connection string."
            )
        _parse_dsn(dsn, f"${name}")
        return dsn
    dsn = table["dsn"]
    if not isinstance(dsn, str) or not dsn:
        raise SettingsError("Settings [store]: dsn must be a PostgreSQL connection string.")
    if "password" in _parse_dsn(dsn, "dsn"):
        raise SettingsError(
            "Settings [store]: dsn holds a password, which must not sit in the settings file. "
            'Put the connection string in an environment variable and name it with dsn_env = "...",'
            " or keep the password in ~/.pgpass."
        )
    return dsn


def _parse_dsn(dsn: str, where: str) -> dict[str, Any]:
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict

    try:
        return conninfo_to_dict(dsn)
    except ProgrammingError as exc:
        raise SettingsError(
            f"Settings [store]: {where} is not a PostgreSQL connection string "
            f"({str(exc).splitlines()[0]}). Example: host=db.example.org dbname=vbc user=vbc"
        ) from None


# --- backends -------------------------------------------------------------------------------


class _Session(Protocol):
    """One open transaction: ``execute`` returns a cursor-like object with fetchone/fetchall."""

    def execute(self, sql: str, params: list | None = None) -> Any: ...


def _classify(path: Path, exc: Exception) -> StoreError:
    """The user's message for a DuckDB error on the store file at ``path``."""
    text = str(exc)
    if (
        "Could not set lock" in text
        or "Conflicting lock" in text
        or "different configuration" in text
    ):
        return StoreBusyError(
            f"The workspace store {path} is busy: another process (a `vbc` command, or another "
            "app) is writing it. Try again when it has finished."
        )
    if "Permission denied" in text or "Operation not permitted" in text or "Read-only" in text:
        return StoreError(
            f"The workspace store {path} cannot be written (the file or folder is read-only). "
            "Make the workspace writable, or use a workspace of your own (--workspace / "
            "$VBC_WORKSPACE)."
        )
    if "Is a directory" in text or path.is_dir():
        return StoreError(f"The workspace store {path} is a folder, not a file. Move it aside.")
    return StoreError(
        f"The workspace store {path} is damaged or not a DuckDB store ({exc.__class__.__name__}). "
        "Move it aside (a new, empty store is then created: saved scenarios and models in the "
        "old one are not carried over) or restore it from a backup."
    )


def _busy(where: str) -> StoreBusyError:
    return StoreBusyError(
        f"The workspace store {where} is busy: another process (a `vbc` command, or another "
        "app) is writing it. Try again when it has finished."
    )


class _FileLock:
    """An advisory ``flock`` on ``<store>.lock``, shared or exclusive, waited for with a deadline.

    The wait is a blocking ``flock`` in a helper thread (Python has no timed ``flock``), so the
    waiter is woken the moment the holder lets go; on timeout the helper, once it gets the lock,
    releases it. Each acquisition opens its own file description, so threads of one process
    exclude each other as processes do. A folder where the lock file cannot be made (a
    read-only workspace) gets no advisory lock: DuckDB's own lock still applies."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def held(self, *, exclusive: bool, timeout: float, where: str) -> Iterator[None]:
        fd = self._open()
        if fd is None:
            yield
            return
        if not self._acquire(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH, timeout):
            raise _busy(where)
        try:
            yield
        finally:
            os.close(fd)  # closing the description releases the lock

    def _open(self) -> int | None:
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError:
            try:
                return os.open(self.path, os.O_RDONLY)
            except OSError:
                return None

    @staticmethod
    def _acquire(fd: int, mode: int, timeout: float) -> bool:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            pass
        got, guard, abandoned = threading.Event(), threading.Lock(), [False]

        def wait() -> None:
            fcntl.flock(fd, mode)
            with guard:
                if abandoned[0]:
                    os.close(fd)
                else:
                    got.set()

        threading.Thread(target=wait, name="vbc-store-lock", daemon=True).start()
        if got.wait(timeout):
            return True
        with guard:
            if got.is_set():
                return True
            abandoned[0] = True  # the helper closes fd when it finally gets the lock
        return False


class DuckDBBackend:
    """One DuckDB file; each session a connection of its own, under the advisory lock."""

    kind = "duckdb"

    def __init__(self, path: Path, *, timeout: float | None = None) -> None:
        self.path = path
        self.timeout = timeout
        self._lock = _FileLock(path.with_name(path.name + ".lock"))

    @property
    def key(self) -> str:
        """The file, by path and inode: a store moved aside and made anew is checked anew."""
        try:
            return f"duckdb:{self.path}:{self.path.stat().st_ino}"
        except OSError:
            return f"duckdb:{self.path}:missing"

    def can_write(self) -> bool:
        return not self.path.exists() or os.access(self.path, os.W_OK)

    def describe(self) -> str:
        return str(self.path)

    def _deadline(self) -> float:
        return time.monotonic() + (OPEN_TIMEOUT if self.timeout is None else self.timeout)

    @contextmanager
    def session(self, *, write: bool) -> Iterator[_Session]:
        deadline = self._deadline()
        if not write and not self.path.exists():
            write = True  # the first use of a workspace creates its store
        if write:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise _classify(self.path, exc) from exc
        with self._lock.held(
            exclusive=write,
            timeout=max(0.0, deadline - time.monotonic()),
            where=self.describe(),
        ):
            connection = self._connect(read_only=not write, deadline=deadline)
            try:
                yield from self._transaction(connection, write=write)
            finally:
                connection.close()

    def _transaction(self, connection, *, write: bool) -> Iterator[_Session]:
        session = _DuckDBSession(connection, self.path)
        if not write:
            yield session
            return
        try:
            connection.begin()
            yield session
            connection.commit()
        except BaseException:
            with suppress(duckdb.Error):  # a failed statement may have ended it already
                connection.rollback()
            raise

    def _connect(self, *, read_only: bool, deadline: float):
        delay = 0.02
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=read_only, config=CONFIG)
            except (duckdb.Error, OSError) as exc:
                error = _classify(self.path, exc)
                if not isinstance(error, StoreBusyError) or time.monotonic() >= deadline:
                    raise error from exc
            time.sleep(delay)  # held by a process outside the advisory lock (a raw duckdb)
            delay = min(delay * 2, 0.25)

    def create_schema(self, session: _Session) -> None:
        for statement in TABLES.values():
            session.execute(statement.format(blob="BLOB"))
        for _table, _column, statement in MIGRATIONS:
            session.execute(statement)

    def lock_registry(self, session: _Session) -> None:
        """Nothing to do: a write session holds the whole file exclusively."""

    def is_key_conflict(self, exc: Exception) -> bool:
        return isinstance(exc, duckdb.ConstraintException)


class _DuckDBSession:
    def __init__(self, connection, path: Path) -> None:
        self._db = connection
        self._path = path

    def execute(self, sql: str, params: list | None = None):
        try:
            return self._db.execute(sql, params or [])
        except duckdb.ConstraintException:
            raise
        except duckdb.Error as exc:
            raise _classify(self._path, exc) from exc


class PostgresBackend:
    """A PostgreSQL database; each session a connection and one transaction of its own."""

    kind = "postgresql"

    def __init__(self, dsn: str, *, timeout: float | None = None) -> None:
        self.dsn = dsn
        self.timeout = timeout

    @property
    def key(self) -> str:
        return f"postgresql:{self.dsn}"

    def can_write(self) -> bool:
        return True

    def describe(self) -> str:
        """host:port/dbname of the DSN (never its password)."""
        from psycopg.conninfo import conninfo_to_dict

        try:
            parts = conninfo_to_dict(self.dsn)
        except Exception:  # noqa: BLE001 - a malformed DSN is reported when connecting
            return "PostgreSQL store"
        where = f"{parts.get('host') or 'localhost'}:{parts.get('port') or 5432}"
        return f"PostgreSQL store {where}/{parts.get('dbname') or parts.get('user') or ''}"

    @contextmanager
    def session(self, *, write: bool) -> Iterator[_Session]:
        import psycopg

        wait = OPEN_TIMEOUT if self.timeout is None else self.timeout
        try:
            connection = psycopg.connect(self.dsn, connect_timeout=max(2, int(wait)))
        except psycopg.Error as exc:
            raise StoreError(
                f"Cannot connect to the {self.describe()}: {_first_line(exc)}. Check that the "
                "server is running and the [store] settings (dsn / dsn_env) name it."
            ) from None
        try:
            with connection:  # commits on success, rolls back on an exception
                if not write:
                    connection.execute("SET TRANSACTION READ ONLY")
                connection.execute(
                    "SELECT set_config('lock_timeout', %s, true)", [f"{max(1, int(wait * 1000))}ms"]
                )
                yield _PostgresSession(connection, self)
        finally:
            connection.close()

    def create_schema(self, session: _Session) -> None:
        """Only what is missing, one process at a time: a role that may only read and write the
        tables (set up by their owner, docs/deployment.md) runs no DDL at all."""
        session.execute(
            "SELECT pg_advisory_xact_lock(hashtext('vbc-modeler schema ' || current_schema()))"
        )
        tables = {
            r[0]
            for r in session.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema()"
            ).fetchall()
        }
        for name, statement in TABLES.items():
            if name not in tables:
                session.execute(statement.format(blob="BYTEA"))
        columns = {
            (r[0], r[1])
            for r in session.execute(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema()"
            ).fetchall()
        }
        for table, column, statement in MIGRATIONS:
            if (table, column) not in columns:
                session.execute(statement)
        guards = session.execute(
            "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE c.oid = to_regclass('audit_log') "
            "AND t.tgname IN ('audit_log_no_change', 'audit_log_no_truncate')"
        ).fetchone()[0]
        if guards < 2:
            for statement in AUDIT_GUARD:
                session.execute(statement)

    def lock_registry(self, session: _Session) -> None:
        """Registrations of one store run one at a time, by a transaction-scoped advisory lock
        (no table privilege needed; readers are not blocked)."""
        session.execute(
            "SELECT pg_advisory_xact_lock(hashtext('vbc-modeler registry ' || current_schema()))"
        )

    def is_key_conflict(self, exc: Exception) -> bool:
        import psycopg

        return isinstance(exc, psycopg.errors.UniqueViolation)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__


class _PostgresSession:
    def __init__(self, connection, backend: PostgresBackend) -> None:
        self._db = connection
        self._backend = backend

    def execute(self, sql: str, params: list | None = None):
        import psycopg

        try:
            if not params:  # no parameters: the SQL is sent as written (a % stays a %)
                return self._db.execute(sql)
            return self._db.execute(sql.replace("?", "%s"), params)
        except psycopg.errors.UniqueViolation:
            raise
        except psycopg.errors.LockNotAvailable:
            raise _busy(self._backend.describe()) from None
        except psycopg.errors.InsufficientPrivilege as exc:
            raise StoreError(
                f"The {self._backend.describe()} refused: {_first_line(exc)}."
            ) from None
        except psycopg.Error as exc:
            raise StoreError(
                f"The {self._backend.describe()} failed ({exc.__class__.__name__}: "
                f"{_first_line(exc)})."
            ) from None


class _Backend(Protocol):
    kind: str

    @property
    def key(self) -> str: ...
    def describe(self) -> str: ...
    def can_write(self) -> bool: ...
    def session(self, *, write: bool) -> Any: ...
    def create_schema(self, session: _Session) -> None: ...
    def lock_registry(self, session: _Session) -> None: ...
    def is_key_conflict(self, exc: Exception) -> bool: ...


# --- the store ------------------------------------------------------------------------------


class WorkspaceStore:
    """``Store`` over a backend. Holds no connection: each method is one short transaction.

    Use ``open`` (a DuckDB file), ``postgres`` (a DSN) or ``Workspace.store()`` (what the
    settings choose). A context manager for symmetry with file handles; ``close`` has nothing to
    release. ``read_only=True`` refuses writes (for work that only reads)."""

    def __init__(self, backend: _Backend, *, read_only: bool = False) -> None:
        self._backend = backend
        self._read_only = read_only

    @classmethod
    def open(
        cls, path: str | Path, *, read_only: bool = False, timeout: float | None = None
    ) -> WorkspaceStore:
        """The DuckDB store at ``path`` (created on first use, even by a read). Each operation
        waits up to ``timeout`` seconds (default ``OPEN_TIMEOUT``) while another process
        writes it."""
        path = Path(path)
        if path.is_dir():
            raise StoreError(f"The workspace store {path} is a folder, not a file. Move it aside.")
        return cls(DuckDBBackend(path, timeout=timeout), read_only=read_only)

    @classmethod
    def postgres(
        cls, dsn: str, *, read_only: bool = False, timeout: float | None = None
    ) -> WorkspaceStore:
        """The store in the PostgreSQL database named by ``dsn`` (tables made on first use)."""
        return cls(PostgresBackend(dsn, timeout=timeout), read_only=read_only)

    @property
    def backend(self) -> str:
        """ "duckdb" or "postgresql"."""
        return self._backend.kind

    def describe(self) -> str:
        return self._backend.describe()

    def close(self) -> None:
        """Nothing is held between operations; kept so handles read like files."""

    def __enter__(self) -> WorkspaceStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def _session(self, *, write: bool) -> Iterator[_Session]:
        if write and self._read_only:
            raise StoreError(
                f"The workspace store {self.describe()} was opened read-only; this work writes it."
            )
        self._ensure_schema()
        with self._backend.session(write=write) as session:
            yield session

    def _ensure_schema(self) -> None:
        """Create missing tables and columns, once per process and backend (a store this
        process cannot write, such as a read-only workspace's, is read as it is)."""
        key = self._backend.key
        if key in _READY or not self._backend.can_write():
            return
        with _READY_LOCK:
            if key in _READY:
                return
            with self._backend.session(write=True) as session:
                self._backend.create_schema(session)
            _READY.add(self._backend.key)  # a DuckDB file just made has its inode now

    def _read(self, sql: str, params: list | None = None) -> list[tuple]:
        with self._session(write=False) as s:
            return list(s.execute(sql, params).fetchall())

    @staticmethod
    def _one(rows: list[tuple], what: str) -> tuple:
        if not rows:
            raise RecordNotFoundError(f"No record found for {what}.")
        return rows[0]

    # scenarios
    def save_scenario(
        self, name: str, kind: str, payload: dict, results: dict | None = None
    ) -> Scenario:
        s = Scenario(str(uuid.uuid4()), name, kind, _now(), payload, results)
        with self._session(write=True) as session:
            session.execute(
                "INSERT INTO scenario (id, name, kind, created_at, payload, results) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    s.id,
                    s.name,
                    s.kind,
                    s.created_at,
                    json.dumps(payload),
                    json.dumps(results) if results is not None else None,
                ],
            )
            self._audit(session, "save_scenario", {"id": s.id, "name": name, "kind": kind})
        return s

    def get_scenario(self, scenario_id: str) -> Scenario:
        rows = self._read("SELECT * FROM scenario WHERE id = ?", [scenario_id])
        return self._scenario(self._one(rows, repr(scenario_id)))

    def list_scenarios(self, kind: str | None = None) -> list[Scenario]:
        sql, params = "SELECT * FROM scenario", []
        if kind is not None:
            sql, params = sql + " WHERE kind = ?", [kind]
        return [
            self._scenario(r) for r in self._read(sql + " ORDER BY created_at DESC, name", params)
        ]

    def delete_scenario(self, scenario_id: str) -> None:
        with self._session(write=True) as session:
            found = session.execute("SELECT id FROM scenario WHERE id = ?", [scenario_id])
            self._one(list(found.fetchall()), repr(scenario_id))
            session.execute("DELETE FROM scenario WHERE id = ?", [scenario_id])
            self._audit(session, "delete_scenario", {"id": scenario_id})

    @staticmethod
    def _scenario(r: tuple) -> Scenario:
        return Scenario(
            r[0], r[1], r[2], r[3], json.loads(r[4]), json.loads(r[5]) if r[5] is not None else None
        )

    # model registry
    def register_model(self, name: str, card: dict, artifact: bytes | None = None) -> ModelEntry:
        """A new version of model ``name``: one more than the latest, allocated inside the
        registering transaction (which excludes other registrations), with the artifact's
        SHA-256 kept beside it."""
        checksum = artifact_checksum(artifact) if artifact is not None else None
        for attempt in range(20):
            try:
                with self._session(write=True) as session:
                    self._backend.lock_registry(session)
                    latest = session.execute(
                        "SELECT max(version) FROM model_registry WHERE name = ?", [name]
                    ).fetchone()[0]
                    entry = ModelEntry(
                        str(uuid.uuid4()),
                        name,
                        (latest or 0) + 1,
                        _now(),
                        card,
                        artifact,
                        checksum,
                    )
                    session.execute(
                        f"INSERT INTO model_registry ({MODEL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [
                            entry.id,
                            name,
                            entry.version,
                            entry.created_at,
                            json.dumps(card),
                            artifact,
                            checksum,
                        ],
                    )
                    self._audit(session, "register_model", {"name": name, "version": entry.version})
                return entry
            except VbcError:
                raise
            except Exception as exc:
                if not self._backend.is_key_conflict(exc):
                    raise
                time.sleep(0.01 * (attempt + 1))  # a writer outside this protocol took it
        raise StoreBusyError(
            f"Could not allocate a version of model '{name}' in {self.describe()}: others kept "
            "registering at the same time. Try again."
        )

    def get_model(self, name: str, version: int | None = None) -> ModelEntry:
        """A registered model (the latest version when ``version`` is None), its artifact
        checked against the SHA-256 recorded when it was registered."""
        if version is None:
            rows = self._read(
                f"SELECT {MODEL_COLUMNS} FROM model_registry WHERE name = ? "
                "ORDER BY version DESC LIMIT 1",
                [name],
            )
        else:
            rows = self._read(
                f"SELECT {MODEL_COLUMNS} FROM model_registry WHERE name = ? AND version = ?",
                [name, version],
            )
        what = repr(name) if version is None else f"{name!r} version {version}"
        row = self._one(rows, what)
        artifact = bytes(row[5]) if row[5] is not None else None
        entry = ModelEntry(row[0], row[1], row[2], row[3], json.loads(row[4]), artifact, row[6])
        if artifact is not None:
            self._check_artifact(entry, artifact)
        return entry

    def _check_artifact(self, entry: ModelEntry, artifact: bytes) -> None:
        where = f"model '{entry.name}' version {entry.version} in {self.describe()}"
        if entry.artifact_sha256 is None:
            kind = (
                "a Python pickle, which is refused because loading one can run any code"
                if artifact.startswith(PICKLE_PROTOCOL_MARK)
                else "without a checksum"
            )
            raise StoreError(
                f"The artifact of {where} was stored by an earlier version of vbc-modeler as "
                f"{kind}. Retrain to register a new version: `vbc train` (or Train on the Risk "
                "stratification page)."
            )
        if artifact_checksum(artifact) != entry.artifact_sha256:
            raise StoreError(
                f"The artifact of {where} does not match the SHA-256 recorded when it was "
                "registered: it was altered or damaged since. It is not loaded. Retrain to "
                "register a new version (`vbc train`), or restore the store from a backup."
            )

    def list_models(self) -> list[ModelEntry]:
        rows = self._read(
            "SELECT id, name, version, created_at, card FROM model_registry ORDER BY name, version"
        )
        return [ModelEntry(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]

    # run history
    def start_run(self, command: str, parameters: dict) -> RunRecord:
        run = RunRecord(str(uuid.uuid4()), command, _now(), None, "running", parameters)
        with self._session(write=True) as session:
            session.execute(
                "INSERT INTO run_history (id, command, started_at, status, parameters) "
                "VALUES (?, ?, ?, ?, ?)",
                [run.id, command, run.started_at, run.status, json.dumps(parameters, default=str)],
            )
        return run

    def finish_run(self, run_id: str, status: str, summary: dict | None = None) -> RunRecord:
        with self._session(write=True) as session:
            found = session.execute("SELECT id FROM run_history WHERE id = ?", [run_id])
            self._one(list(found.fetchall()), repr(run_id))
            session.execute(
                "UPDATE run_history SET finished_at = ?, status = ?, summary = ? WHERE id = ?",
                [
                    _now(),
                    status,
                    json.dumps(summary, default=str) if summary is not None else None,
                    run_id,
                ],
            )
            row = session.execute("SELECT * FROM run_history WHERE id = ?", [run_id]).fetchone()
        return self._run(row)

    def list_runs(self, limit: int = 50) -> list[RunRecord]:
        rows = self._read("SELECT * FROM run_history ORDER BY started_at DESC LIMIT ?", [limit])
        return [self._run(r) for r in rows]

    @staticmethod
    def _run(r: tuple) -> RunRecord:
        return RunRecord(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            json.loads(r[5]),
            json.loads(r[6]) if r[6] is not None else None,
        )

    # audit log: append and read, nothing else
    def audit(self, action: str, detail: dict, actor: str = "system") -> AuditEntry:
        with self._session(write=True) as session:
            return self._audit(session, action, detail, actor)

    @staticmethod
    def _audit(session: _Session, action: str, detail: dict, actor: str = "system") -> AuditEntry:
        entry = AuditEntry(str(uuid.uuid4()), _now(), actor, action, detail)
        session.execute(
            "INSERT INTO audit_log (id, occurred_at, actor, action, detail) VALUES (?, ?, ?, ?, ?)",
            [entry.id, entry.at, actor, action, json.dumps(detail, default=str)],
        )
        return entry

    def audit_log(self, limit: int = 100) -> list[AuditEntry]:
        rows = self._read("SELECT * FROM audit_log ORDER BY occurred_at DESC LIMIT ?", [limit])
        return [AuditEntry(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]


def open_store(
    workspace: Path, settings: StoreSettings, *, read_only: bool = False
) -> WorkspaceStore:
    """The store the settings choose for the workspace at ``workspace``."""
    if settings.backend == "postgresql":
        assert settings.dsn is not None
        return WorkspaceStore.postgres(settings.dsn, read_only=read_only, timeout=settings.timeout)
    return WorkspaceStore.open(
        workspace / STORE_FILE, read_only=read_only, timeout=settings.timeout
    )


__all__ = [
    "AuditEntry",
    "ModelEntry",
    "RunRecord",
    "Scenario",
    "Store",
    "StoreSettings",
    "WorkspaceStore",
    "artifact_checksum",
    "open_store",
    "store_settings",
]
