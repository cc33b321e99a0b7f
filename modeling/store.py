"""The workspace store: what the product writes (saved scenarios, model registry entries, run
history, audit log), behind a small repository interface.

``WorkspaceStore`` speaks plain SQL over a DB-API connection. The embedded default is one DuckDB
file per workspace; the same statements run on PostgreSQL (``TEXT``, ``TIMESTAMP``, ``BLOB`` ->
``BYTEA`` is the one type to map) for a shared team deployment. Payloads are JSON text, ids are
UUIDs made here, so nothing depends on one database's sequences.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import duckdb

from modeling.errors import VbcError

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

    def __init__(self, connection) -> None:
        self._db = connection
        for statement in SCHEMA:
            self._db.execute(statement)

    @classmethod
    def open(cls, path: str | Path) -> WorkspaceStore:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return cls(duckdb.connect(str(path)))
        except duckdb.IOException as exc:
            raise VbcError(
                f"Cannot open the workspace store {path}: {exc}. Is another process using it?"
            ) from exc

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> WorkspaceStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _one(self, sql: str, params: list) -> tuple:
        row = self._db.execute(sql, params).fetchone()
        if row is None:
            raise VbcError(f"No record found for {params[0]!r}.")
        return row

    # scenarios
    def save_scenario(
        self, name: str, kind: str, payload: dict, results: dict | None = None
    ) -> Scenario:
        s = Scenario(str(uuid.uuid4()), name, kind, _now(), payload, results)
        self._db.execute(
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
            for r in self._db.execute(sql + " ORDER BY created_at DESC, name", params).fetchall()
        ]

    def delete_scenario(self, scenario_id: str) -> None:
        self.get_scenario(scenario_id)
        self._db.execute("DELETE FROM scenario WHERE id = ?", [scenario_id])
        self.audit("delete_scenario", {"id": scenario_id})

    @staticmethod
    def _scenario(r: tuple) -> Scenario:
        return Scenario(
            r[0], r[1], r[2], r[3], json.loads(r[4]), json.loads(r[5]) if r[5] is not None else None
        )

    # model registry
    def register_model(self, name: str, card: dict, artifact: bytes | None = None) -> ModelEntry:
        latest = self._db.execute(
            "SELECT max(version) FROM model_registry WHERE name = ?", [name]
        ).fetchone()[0]
        entry = ModelEntry(str(uuid.uuid4()), name, (latest or 0) + 1, _now(), card, artifact)
        self._db.execute(
            "INSERT INTO model_registry VALUES (?, ?, ?, ?, ?, ?)",
            [entry.id, name, entry.version, entry.created_at, json.dumps(card), artifact],
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
        rows = self._db.execute(
            "SELECT id, name, version, created_at, card FROM model_registry ORDER BY name, version"
        ).fetchall()
        return [ModelEntry(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]

    # run history
    def start_run(self, command: str, parameters: dict) -> RunRecord:
        run = RunRecord(str(uuid.uuid4()), command, _now(), None, "running", parameters)
        self._db.execute(
            "INSERT INTO run_history VALUES (?, ?, ?, NULL, ?, ?, NULL)",
            [run.id, command, run.started_at, run.status, json.dumps(parameters, default=str)],
        )
        return run

    def finish_run(self, run_id: str, status: str, summary: dict | None = None) -> RunRecord:
        self._one("SELECT id FROM run_history WHERE id = ?", [run_id])
        self._db.execute(
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
        rows = self._db.execute(
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
        self._db.execute(
            "INSERT INTO audit_log VALUES (?, ?, ?, ?, ?)",
            [entry.id, entry.at, actor, action, json.dumps(detail, default=str)],
        )
        return entry

    def audit_log(self, limit: int = 100) -> list[AuditEntry]:
        rows = self._db.execute(
            "SELECT * FROM audit_log ORDER BY occurred_at DESC LIMIT ?", [limit]
        ).fetchall()
        return [AuditEntry(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]
