"""Bad input to the bundle entry points is a VbcError naming what to fix."""

from __future__ import annotations

import polars as pl
import pytest

from contracts.bundles.analysis import bundle_model, bundle_reconciliation
from contracts.bundles.build import panel_episodes
from contracts.bundles.definitions import load_commercial_bundle
from contracts.bundles.distribution import simulate_reconciliation
from contracts.bundles.reconciliation import reconcile, reconciliation_rules
from contracts.bundles.target_prices import estimate_target_prices, load_target_price_file
from modeling.errors import ParameterError, SchemaError


def test_bundle_files(tmp_path):
    with pytest.raises(ParameterError, match="does not exist"):
        load_commercial_bundle(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[bundle\n")
    with pytest.raises(ParameterError, match="not valid TOML"):
        load_commercial_bundle(bad)
    prices = tmp_path / "p.csv"
    prices.write_text("priced_as\n470\n")
    with pytest.raises(SchemaError, match="target_price"):
        load_target_price_file(prices)
    prices.write_text("priced_as,target_price\n470,abc\n")
    with pytest.raises(ParameterError, match="non-negative number"):
        load_target_price_file(prices)


def test_negative_amounts_and_no_baseline():
    rules = reconciliation_rules("team", performance_year=2026, track="3")
    with pytest.raises(ParameterError, match="negative"):
        reconcile(target_amount=-1, spending=0, quality_score=50, rules=rules)
    episodes = pl.DataFrame(
        {
            "episode_id": ["e"],
            "status": ["kept"],
            "anchor_year": [2025],
            "episode_category": ["LEJR"],
            "priced_as": ["470"],
            "medical_surgical": ["surgical"],
            "winsorized_spending": [1.0],
        }
    )
    risk = pl.DataFrame(
        {"episode_id": ["e"], "hcc_count": [0], "age_band": ["65-74"], "economic": [False]}
    )
    with pytest.raises(ParameterError, match="No baseline episodes"):
        estimate_target_prices(episodes, risk, model="team", rules_year=2026, performance_year=2025)


def test_unknown_hospital_and_too_few_draws(small_dataset):
    team = panel_episodes(small_dataset, bundle_model("team").spec)
    with pytest.raises(ParameterError, match="no priced kept episodes"):
        bundle_reconciliation(small_dataset, bundle_model("team"), facility_npi="0", table=team)
    result = bundle_reconciliation(small_dataset, bundle_model("team"), table=team)
    with pytest.raises(ParameterError, match="draws"):
        simulate_reconciliation(result.hospital, result.rules, draws=1)
