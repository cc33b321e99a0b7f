from __future__ import annotations

import pytest

from modeling.errors import VbcError
from modeling.store import WorkspaceStore


@pytest.fixture
def store(tmp_path):
    with WorkspaceStore.open(tmp_path / "ws" / "workspace.duckdb") as s:
        yield s


def test_scenarios_round_trip(store):
    saved = store.save_scenario(
        "BASIC E 2025",
        "contract",
        {"track": "BASIC", "level": "E", "trend": 0.045},
        {"settlement": 1_234_567.89},
    )
    got = store.get_scenario(saved.id)
    assert got == saved
    assert [s.id for s in store.list_scenarios("contract")] == [saved.id]
    assert store.list_scenarios("other") == []
    store.delete_scenario(saved.id)
    with pytest.raises(VbcError, match="No record found"):
        store.get_scenario(saved.id)


def test_model_registry_versions_and_artifacts(store):
    first = store.register_model("cost", {"r2": 0.31, "features": ["age"]}, b"\x00model-bytes")
    second = store.register_model("cost", {"r2": 0.33})
    assert (first.version, second.version) == (1, 2)
    assert store.get_model("cost").card == {"r2": 0.33}
    assert store.get_model("cost", 1).artifact == b"\x00model-bytes"
    assert [(m.name, m.version) for m in store.list_models()] == [("cost", 1), ("cost", 2)]


def test_run_history_and_audit_log(store):
    run = store.start_run("synth", {"members": 100})
    assert run.status == "running" and run.finished_at is None
    done = store.finish_run(run.id, "succeeded", {"rows": 42})
    assert (
        done.status == "succeeded"
        and done.summary == {"rows": 42}
        and done.finished_at >= done.started_at
    )
    assert store.list_runs()[0].id == run.id
    store.audit("login", {"user": "cmo"}, actor="cmo")
    assert store.audit_log()[0].action == "login"
    assert store.audit_log()[0].actor == "cmo"


def test_data_survives_reopening(tmp_path):
    path = tmp_path / "workspace.duckdb"
    with WorkspaceStore.open(path) as s:
        sid = s.save_scenario("keep", "contract", {"a": 1}).id
    with WorkspaceStore.open(path) as s:
        assert s.get_scenario(sid).payload == {"a": 1}
