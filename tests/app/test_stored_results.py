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


def test_the_finance_page_opens_on_what_the_first_launch_stored(
    tmp_path, monkeypatch, small_dataset
):
    """``warm_finance`` (a step of the first launch) keeps the Finance page's first view on disk;
    a new server process (caches empty) draws the page from it without completing claims or
    forecasting again. Another valuation date is computed, and not stored."""
    import shutil
    from pathlib import Path

    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from modeling.marts.finance import completion, forecast
    from modeling.workspace import Workspace

    root = Path(__file__).resolve().parents[2]
    shutil.copytree(small_dataset.path, tmp_path / "ws" / "datasets" / "default")
    monkeypatch.setenv("VBC_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.chdir(root)
    ds = Workspace(tmp_path / "ws").dataset()
    state.warm_finance(ds)
    as_of = state.finance_default_as_of(ds)
    (stored,) = (tmp_path / "ws" / state.RESULTS_DIR).glob("finance_*.pkl")
    assert stored.name.startswith(f"finance_{as_of:%Y%m%d}-")

    asked: list[str] = []

    def refuse(*args, **kwargs):
        asked.append("computed")
        raise AssertionError("the Finance page computed what the first launch stored")

    st.cache_data.clear()
    st.cache_resource.clear()
    monkeypatch.setattr(completion, "complete", refuse)
    monkeypatch.setattr(forecast, "forecast", refuse)
    at = AppTest.from_file(str(root / "app" / "pages" / "finance.py"), default_timeout=120).run()
    assert not at.exception, at.exception
    assert not asked and "Completed PMPM, latest month" in [m.label for m in at.metric]
    # another valuation date is not the stored first view: it is computed (and refused here)
    at.date_input[0].set_value(as_of.replace(month=3, day=31)).run()
    assert asked and at.exception
    assert len(list((tmp_path / "ws" / state.RESULTS_DIR).glob("finance_*.pkl"))) == 1
