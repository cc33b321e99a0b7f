"""The workspace store: what the product writes (saved scenarios, model registry entries, run
history, audit log), behind a small repository interface.

``WorkspaceStore`` speaks plain SQL over a DB-API connection. The embedded default is one DuckDB
file per workspace; the same statements run on PostgreSQL (``TEXT``, ``TIMESTAMP``, ``BLOB`` ->
``BYTEA`` is the one type to map) for a shared team deployment. Payloads are JSON text, ids are
UUIDs made here, so nothing depends on one database's sequences.

Concurrency: DuckDB lets one process write a file at a time. Opening waits for another process's
hold to end, retrying with backoff up to ``timeout`` seconds, then says the store is busy
(``StoreBusyError``); work that only reads opens it read-only. Model versions are allocated by
retrying on the (name, version) key, so concurrent registrations each get their own version. A
file that is not a DuckDB store, or a damaged one, is a ``StoreError`` that says so.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import duckdb

from modeling.errors import StoreBusyError, StoreError, VbcError

OPEN_TIMEOUT = 10.0  # seconds an open waits for another process to release the store
CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}
_SCHEMA_LOCK = threading.Lock()
_REGISTER_LOCK = threading.Lock()


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


SCHEMA = (
    """CREATE TABLE IF NOT EXISTS scenario (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, created_at TIMESTAMP NOT NULL,
        payload TEXT NOT NULL, results TEXT)""",
    """CREATE TABLE IF NOT EXISTS model_registry (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, version INTEGER NOT NULL, created_at TIMESTAMP NOT NULL,
        card TEXT NOT NULL, artifact BLOB, UNIQUE (name, version))""",
    """CREATE TABLE IF NOT EXISTS run_history (
        id TEXT PRIMARY KEY, command TEXT NOT NULL, started_at TIMESTAMP NOT NULL, finished_at TIMESTAMP,
        status TEXT NOT NULL, parameters TEXT NOT NULL, summary TEXT)""",
    """CREATE TABLE IF NOT EXISTS audit_log (
        id TEXT PRIMARY KEY, occurred_at TIMESTAMP NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, detail TEXT NOT NULL)""",
)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


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


class WorkspaceStore:
    """DB-API implementation of ``Store`` (DuckDB by default). Use as a context manager or call ``close``."""

    def __init__(self, connection, *, path: Path | None = None, read_only: bool = False) -> None:
        self._db = connection
        self._path = path or Path("workspace store")
        if read_only:
            return
        with _SCHEMA_LOCK:  # threads of one process creating a fresh store's tables
            for attempt in range(20):
                try:
                    for statement in SCHEMA:
                        self._db.execute(statement)
                    break
                except duckdb.TransactionException:  # another process created them meanwhile
                    time.sleep(0.05 * (attempt + 1))
                except duckdb.Error as exc:
                    raise _classify(self._path, exc) from exc

    @classmethod
    def open(
        cls, path: str | Path, *, read_only: bool = False, timeout: float | None = None
    ) -> WorkspaceStore:
        """The store at ``path`` (created when missing, unless ``read_only``; a read-only open of
        a store that does not exist yet opens it read-write, which creates it). Waits up to
        ``timeout`` seconds (default ``OPEN_TIMEOUT``) while another process holds it."""
        path = Path(path)
        if read_only and not path.exists():
            read_only = False
        if not read_only:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise _classify(path, exc) from exc
        deadline = time.monotonic() + (OPEN_TIMEOUT if timeout is None else timeout)
        delay = 0.05
        while True:
            try:
                connection = duckdb.connect(str(path), read_only=read_only, config=CONFIG)
                return cls(connection, path=path, read_only=read_only)
            except duckdb.ConnectionException as exc:
                if read_only:  # this process already has it open read-write: share that
                    read_only = False
                    continue
                error = _classify(path, exc)  # open read-only by another thread: wait for it
                if not isinstance(error, StoreBusyError) or time.monotonic() >= deadline:
                    raise error from exc
            except (duckdb.Error, OSError) as exc:
                error = _classify(path, exc)
                if not isinstance(error, StoreBusyError) or time.monotonic() >= deadline:
                    raise error from exc
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

    def _execute(self, sql: str, params: list | None = None):
        try:
            return self._db.execute(sql, params or [])
        except (duckdb.ConstraintException, duckdb.TransactionException):
            raise
        except duckdb.Error as exc:
            raise _classify(self._path, exc) from exc

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> WorkspaceStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _one(self, sql: str, params: list) -> tuple:
        row = self._execute(sql, params).fetchone()
        if row is None:
            raise VbcError(f"No record found for {params[0]!r}.")
        return row

    # scenarios
    def save_scenario(
        self, name: str, kind: str, payload: dict, results: dict | None = None
    ) -> Scenario:
        s = Scenario(str(uuid.uuid4()), name, kind, _now(), payload, results)
        self._execute(
            "INSERT INTO scenario VALUES (?, ?, ?, ?, ?, ?)",
            [
                s.id,
                s.name,
                s.kind,
                s.created_at,
                json.dumps(payload),
                json.dumps(results) if results is not None else None,
            ],
        )
        self.audit("save_scenario", {"id": s.id, "name": name, "kind": kind})
        return s

    def get_scenario(self, scenario_id: str) -> Scenario:
        return self._scenario(self._one("SELECT * FROM scenario WHERE id = ?", [scenario_id]))

    def list_scenarios(self, kind: str | None = None) -> list[Scenario]:
        sql, params = "SELECT * FROM scenario", []
        if kind is not None:
            sql, params = sql + " WHERE kind = ?", [kind]
        return [
            self._scenario(r)
            for r in self._execute(sql + " ORDER BY created_at DESC, name", params).fetchall()
        ]

    def delete_scenario(self, scenario_id: str) -> None:
        self.get_scenario(scenario_id)
        self._execute("DELETE FROM scenario WHERE id = ?", [scenario_id])
        self.audit("delete_scenario", {"id": scenario_id})

    @staticmethod
    def _scenario(r: tuple) -> Scenario:
        return Scenario(
            r[0], r[1], r[2], r[3], json.loads(r[4]), json.loads(r[5]) if r[5] is not None else None
        )

    # model registry
    def register_model(self, name: str, card: dict, artifact: bytes | None = None) -> ModelEntry:
        """A new version of model ``name``: one more than the latest, allocated by retrying on
        the (name, version) key, so concurrent registrations never share a version."""
        with _REGISTER_LOCK:
            for attempt in range(50):
                latest = self._execute(
                    "SELECT max(version) FROM model_registry WHERE name = ?", [name]
                ).fetchone()[0]
                entry = ModelEntry(
                    str(uuid.uuid4()), name, (latest or 0) + 1, _now(), card, artifact
                )
                try:
                    self._db.execute(
                        "INSERT INTO model_registry VALUES (?, ?, ?, ?, ?, ?)",
                        [
                            entry.id,
                            name,
                            entry.version,
                            entry.created_at,
                            json.dumps(card),
                            artifact,
                        ],
                    )
                    break
                except (duckdb.ConstraintException, duckdb.TransactionException):
                    time.sleep(0.01 * (attempt + 1))
            else:
                raise StoreBusyError(
                    f"Could not allocate a version of model '{name}' in {self._path}: others "
                    "kept registering at the same time. Try again."
                )
        self.audit("register_model", {"name": name, "version": entry.version})
        return entry

    def get_model(self, name: str, version: int | None = None) -> ModelEntry:
        if version is None:
            row = self._one(
                "SELECT * FROM model_registry WHERE name = ? ORDER BY version DESC LIMIT 1", [name]
            )
        else:
            row = self._one(
                "SELECT * FROM model_registry WHERE name = ? AND version = ?", [name, version]
            )
        return ModelEntry(
            row[0],
            row[1],
            row[2],
            row[3],
            json.loads(row[4]),
            bytes(row[5]) if row[5] is not None else None,
        )

    def list_models(self) -> list[ModelEntry]:
        rows = self._execute(
            "SELECT id, name, version, created_at, card FROM model_registry ORDER BY name, version"
        ).fetchall()
        return [ModelEntry(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]

    # run history
    def start_run(self, command: str, parameters: dict) -> RunRecord:
        run = RunRecord(str(uuid.uuid4()), command, _now(), None, "running", parameters)
        self._execute(
            "INSERT INTO run_history VALUES (?, ?, ?, NULL, ?, ?, NULL)",
            [run.id, command, run.started_at, run.status, json.dumps(parameters, default=str)],
        )
        return run

    def finish_run(self, run_id: str, status: str, summary: dict | None = None) -> RunRecord:
        self._one("SELECT id FROM run_history WHERE id = ?", [run_id])
        self._execute(
            "UPDATE run_history SET finished_at = ?, status = ?, summary = ? WHERE id = ?",
            [
                _now(),
                status,
                json.dumps(summary, default=str) if summary is not None else None,
                run_id,
            ],
        )
        return self._run(self._one("SELECT * FROM run_history WHERE id = ?", [run_id]))

    def list_runs(self, limit: int = 50) -> list[RunRecord]:
        rows = self._execute(
            "SELECT * FROM run_history ORDER BY started_at DESC LIMIT ?", [limit]
        ).fetchall()
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

    # audit log
    def audit(self, action: str, detail: dict, actor: str = "system") -> AuditEntry:
        entry = AuditEntry(str(uuid.uuid4()), _now(), actor, action, detail)
        self._execute(
            "INSERT INTO audit_log VALUES (?, ?, ?, ?, ?)",
            [entry.id, entry.at, actor, action, json.dumps(detail, default=str)],
        )
        return entry

    def audit_log(self, limit: int = 100) -> list[AuditEntry]:
        rows = self._execute(
            "SELECT * FROM audit_log ORDER BY occurred_at DESC LIMIT ?", [limit]
        ).fetchall()
        return [AuditEntry(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]
