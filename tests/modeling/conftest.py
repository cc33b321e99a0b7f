"""The store tests run against both backends: DuckDB (a file in the test's folder) and PostgreSQL
(a fresh schema per test in the server named by ``$VBC_TEST_POSTGRES_DSN``).

Without that variable the PostgreSQL cases skip, saying so; with ``VBC_REQUIRE_POSTGRES=1`` (set
by ``.ci/run``, which starts a server) a missing server is a failure instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from modeling.store import WorkspaceStore

POSTGRES_DSN_ENV = "VBC_TEST_POSTGRES_DSN"


def postgres_base_dsn() -> str:
    """The test server's DSN, or a skip (a failure under ``VBC_REQUIRE_POSTGRES=1``)."""
    dsn = os.environ.get(POSTGRES_DSN_ENV, "")
    if not dsn:
        reason = f"PostgreSQL store tests need a server: ${POSTGRES_DSN_ENV} is not set"
        if os.environ.get("VBC_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"VBC_REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(reason)
    return dsn


@dataclass(frozen=True)
class StoreTarget:
    """Where a test's store lives and how to open it (again, or from another process)."""

    backend: str
    location: str  # the DuckDB file, or the PostgreSQL DSN (with the test's own schema)
    open: Callable[..., WorkspaceStore]
    settings_toml: str  # a [store] table choosing this store, for Workspace.store()
    env: dict[str, str]  # environment the settings need (the DSN variable)


@contextmanager
def postgres_schema(base: str) -> Iterator[str]:
    """A fresh schema for one test; the DSN that makes it the store's (search_path)."""
    import psycopg
    from psycopg.conninfo import make_conninfo

    schema = f"vbc_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield make_conninfo(base, options=f"-c search_path={schema}")
    finally:
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


def _target(backend: str, location: str) -> StoreTarget:
    if backend == "duckdb":
        return StoreTarget(
            backend,
            location,
            lambda **kw: WorkspaceStore.open(location, **kw),
            "",
            {},
        )
    return StoreTarget(
        backend,
        location,
        lambda **kw: WorkspaceStore.postgres(location, **kw),
        '[store]\nbackend = "postgresql"\ndsn_env = "VBC_TEST_STORE_DSN"\n',
        {"VBC_TEST_STORE_DSN": location},
    )


@pytest.fixture(params=["duckdb", "postgresql"])
def store_target(request, tmp_path: Path) -> Iterator[StoreTarget]:
    """A fresh, empty store of each backend."""
    if request.param == "duckdb":
        yield _target("duckdb", str(tmp_path / "ws" / "workspace.duckdb"))
        return
    with postgres_schema(postgres_base_dsn()) as dsn:
        yield _target("postgresql", dsn)


@pytest.fixture
def postgres_target() -> Iterator[StoreTarget]:
    """A fresh PostgreSQL store, for what only PostgreSQL does."""
    with postgres_schema(postgres_base_dsn()) as dsn:
        yield _target("postgresql", dsn)


@pytest.fixture
def store(store_target: StoreTarget) -> Iterator[WorkspaceStore]:
    with store_target.open() as s:
        yield s
