"""The store's interface, on both backends (the ``store`` fixture of tests/modeling/conftest.py
runs each test on DuckDB and on PostgreSQL)."""

from __future__ import annotations

import pytest

from modeling.errors import RecordNotFoundError, StoreError


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
    with pytest.raises(RecordNotFoundError, match="No record found"):
        store.get_scenario(saved.id)
    with pytest.raises(RecordNotFoundError):
        store.delete_scenario(saved.id)


def test_model_registry_versions_and_artifacts(store):
    first = store.register_model("cost", {"r2": 0.31, "features": ["age"]}, b"\x00model-bytes")
    second = store.register_model("cost", {"r2": 0.33})
    assert (first.version, second.version) == (1, 2)
    assert store.get_model("cost").card == {"r2": 0.33}
    assert store.get_model("cost", 1).artifact == b"\x00model-bytes"
    assert [(m.name, m.version) for m in store.list_models()] == [("cost", 1), ("cost", 2)]
    with pytest.raises(RecordNotFoundError, match="'cost' version 3"):
        store.get_model("cost", 3)
    with pytest.raises(RecordNotFoundError):
        store.get_model("other")


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


def test_data_survives_reopening(store_target):
    with store_target.open() as s:
        sid = s.save_scenario("keep", "contract", {"a": 1}).id
    with store_target.open(read_only=True) as s:
        assert s.get_scenario(sid).payload == {"a": 1}


def test_a_read_only_handle_refuses_writes(store_target):
    with store_target.open(read_only=True) as s:
        assert s.list_scenarios() == []
        with pytest.raises(StoreError, match="read-only"):
            s.save_scenario("x", "contract", {})


def test_a_saved_scenario_and_its_audit_line_land_together(store):
    saved = store.save_scenario("s", "contract", {"a": 1})
    assert [(a.action, a.detail["id"]) for a in store.audit_log()] == [("save_scenario", saved.id)]


def test_finish_run_of_an_unknown_run_is_not_found(store):
    with pytest.raises(RecordNotFoundError):
        store.finish_run("no-such-run", "succeeded")


def test_the_audit_log_has_no_way_to_change_it(store):
    assert not any(
        word in name for name in dir(store) for word in ("update_audit", "delete_audit", "edit")
    )
    entry = store.audit("view", {"people": 12}, actor="nurse")
    store.audit("export", {"people": 3}, actor="nurse")
    assert [e.action for e in store.audit_log()] == ["export", "view"]
    assert store.audit_log(limit=1)[0].id != entry.id
