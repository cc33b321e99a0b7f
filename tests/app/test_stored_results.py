"""Results the app keeps in the workspace: served back only for the same dataset content and the
same code, recomputed when unreadable, never written outside ``<workspace>/results``."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import app.state as state


@pytest.fixture
def ws(tmp_path, monkeypatch):
    monkeypatch.setenv("VBC_WORKSPACE", str(tmp_path / "ws"))
    return tmp_path / "ws"


def _ds(content_hash: str):
    return SimpleNamespace(manifest={"content_hash": content_hash})


def test_a_stored_result_is_read_back_for_the_same_content_and_code(ws, monkeypatch):
    calls = []
    compute = lambda: calls.append(1) or {"value": len(calls)}  # noqa: E731
    ds = _ds("ab" * 32)
    assert state.stored_result(ds, "quality_rows_2025", compute) == {"value": 1}
    assert state.stored_result(ds, "quality_rows_2025", compute) == {"value": 1}
    assert len(calls) == 1
    (stored,) = (ws / state.RESULTS_DIR).iterdir()
    assert stored.name == f"quality_rows_2025-{'ab' * 8}-{state.code_version()}.pkl"
    # other content, or other code: computed again
    assert state.stored_result(_ds("cd" * 32), "quality_rows_2025", compute) == {"value": 2}
    monkeypatch.setattr(state, "code_version", lambda: "0123456789abcdef")
    assert state.stored_result(ds, "quality_rows_2025", compute) == {"value": 3}


def test_an_unreadable_result_is_recomputed_and_replaced(ws):
    ds = _ds("ef" * 32)
    state.stored_result(ds, "quality_tiers_2025", lambda: [1, 2, 3])
    (stored,) = (ws / state.RESULTS_DIR).iterdir()
    stored.write_bytes(b"not a pickle")
    assert state.stored_result(ds, "quality_tiers_2025", lambda: [4]) == [4]
    assert state.stored_result(ds, "quality_tiers_2025", lambda: [5]) == [4]


def test_a_manifest_hash_that_is_not_hex_is_never_a_file_name(ws):
    for bad in ("../../outside", "", None):
        assert state.stored_result(_ds(bad), "quality_rows_2025", lambda: 7) == 7
    assert state.stored_result(_ds("ab" * 32), "../escape", lambda: 8) == 8
    assert not (ws / state.RESULTS_DIR).exists()


def test_the_code_version_follows_the_packages_files():
    assert state.code_version() == state.code_version(state.RESULT_PACKAGES)
    assert state.code_version(("modeling",)) != state.code_version()
