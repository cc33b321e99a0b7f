from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def workspace(tmp_path, monkeypatch, small_dataset):
    target = tmp_path / "ws" / "datasets" / "default"
    shutil.copytree(small_dataset.path, target)
    monkeypatch.setenv("VBC_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.chdir(ROOT)
    return tmp_path / "ws"


def test_bundles_page_renders_episodes_reconciliation_and_distribution(workspace):
    at = AppTest.from_file(str(ROOT / "app" / "pages" / "bundled_payments.py"), default_timeout=180)
    at.run()
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert "Kept episodes" in labels and "Chance of repayment" in labels
    assert int(at.metric[0].value.replace(",", "")) > 0
    at.selectbox[0].set_value("bpci-advanced").run()
    assert not at.exception
    assert any(m.label == "Chance a cap binds" for m in at.metric)
