"""Bundles on a synthetic panel: rows reconcile, spending adds up, the reconciliation and its
distribution hold their invariants."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from contracts.bundles.analysis import bundle_model, bundle_reconciliation
from contracts.bundles.build import OUTPUT_COLUMNS, panel_episodes
from contracts.bundles.definitions import SETTINGS
from contracts.bundles.distribution import BundleUncertainty, simulate_reconciliation
from contracts.bundles.episodes import chained_stays, inpatient_claims
from contracts.bundles.parameters import triggers
from modeling.core.panel import Panel


@pytest.fixture(scope="module")
def team(small_dataset):
    return panel_episodes(small_dataset, bundle_model("team").spec)


def test_every_trigger_of_the_panel_is_a_row(small_dataset, team):
    lines = Panel(small_dataset).scan("claim_lines")
    drgs = triggers("team").filter(pl.col("anchor_type") == "inpatient")["code"]
    stays = chained_stays(inpatient_claims(lines)).collect()
    ip = stays.filter(pl.col("drg_code").is_in(drgs.implode())).height
    hcpcs = triggers("team").filter(pl.col("anchor_type") == "outpatient")["code"]
    op = (
        lines.filter(
            pl.col("service_category").is_in(["outpatient hospital", "emergency department"])
            & pl.col("hcpcs_code").is_in(hcpcs.implode())
            & (pl.col("paid_amount") > 0)
        )
        .select(pl.col("claim_id").n_unique())
        .collect()
        .item()
    )
    ep = team.episodes
    assert ep.height == ip + op > 0
    assert ep["episode_id"].is_unique().all()
    assert set(ep["status"]) <= {"kept", "cancelled", "excluded"}
    assert set(OUTPUT_COLUMNS) <= set(ep.columns)


def test_spending_adds_up_by_setting_and_claim(team):
    kept = team.episodes.filter(pl.col("status") == "kept")
    settings = kept.select(pl.sum_horizontal([f"spend_{s}" for s in SETTINGS])).to_series()
    assert np.allclose(settings.to_numpy(), kept["total_spending"].to_numpy())
    by_claim = team.claims.group_by("episode_id").agg(pl.col("amount").sum())
    joined = kept.join(by_claim, on="episode_id", how="left").fill_null(0.0)
    assert np.allclose(joined["amount"].to_numpy(), joined["total_spending"].to_numpy())
    # every kept episode has its anchor in its own claims
    anchors = team.claims.filter(pl.col("setting") == "anchor")["episode_id"].unique()
    assert set(kept["episode_id"]) == set(anchors)
    assert (kept["winsorized_spending"] <= kept["total_spending"] + 1e-9).all()


def test_reconciliation_and_distribution_on_the_panel(small_dataset, team):
    result = bundle_reconciliation(
        small_dataset,
        bundle_model("team", rules_year=2027),
        track="2",
        quality_score=60,
        table=team,
    )
    r = result.hospital.reconciliation
    assert r.episodes == result.hospital.episodes.height > 0
    assert r.target_amount == pytest.approx(result.hospital.episodes["target_price"].sum())
    assert set(result.tracks["track"]) == {"1", "2", "3"}
    sim = simulate_reconciliation(
        result.hospital, result.rules, BundleUncertainty(quality_score=60), draws=2_000, seed=3
    )
    again = simulate_reconciliation(
        result.hospital, result.rules, BundleUncertainty(quality_score=60), draws=2_000, seed=3
    )
    assert np.array_equal(sim.amounts, again.amounts)
    assert sim.deterministic == pytest.approx(r.amount)
    s = sim.summary()
    assert 0 <= s.p_owes_losses <= 1 and s.cvar_95 >= s.value_at_risk_95 - 1e-9
    # cutting SNF spending cannot lower the expected payment
    cut = simulate_reconciliation(
        result.hospital,
        result.rules,
        BundleUncertainty(quality_score=60, initiatives={"snf": 0.2}),
        draws=2_000,
        seed=3,
    )
    assert cut.summary().expected_settlement >= s.expected_settlement


def test_a_commercial_bundle_on_the_panel(small_dataset, tmp_path):
    path = tmp_path / "knee.toml"
    path.write_text(
        '[bundle]\nname = "Knee"\nwindow_days = 90\nanchor_drgs = ["470"]\n'
        'anchor_hcpcs = ["27447"]\nprice = 30000\nsavings_share = 0.5\nloss_share = 0.5\n'
        "stop_loss = 0.1\n"
    )
    model = bundle_model(str(path))
    result = bundle_reconciliation(small_dataset, model)
    r = result.hospital.reconciliation
    assert r.target_amount == pytest.approx(30000 * r.episodes)
    assert r.amount == pytest.approx(
        max(0.5 * (r.target_amount - r.spending), -0.1 * r.target_amount)
        if r.target_amount < r.spending
        else 0.5 * (r.target_amount - r.spending)
    )


def test_a_cms_target_price_file_is_used_as_given(small_dataset, team, tmp_path):
    path = tmp_path / "prices.csv"
    types = team.episodes.filter(pl.col("status") == "kept")["priced_as"].unique().to_list()
    rows = "\n".join(f"{t},{20000 + i}" for i, t in enumerate(types))
    path.write_text("priced_as,target_price\n" + rows + "\n")
    result = bundle_reconciliation(
        small_dataset, bundle_model("team"), target_price_file=path, table=team
    )
    own = result.hospital.episodes
    price = dict(zip(types, [20000 + i for i in range(len(types))], strict=True))
    expected = sum(price[t] for t in own["priced_as"].to_list())
    assert result.prices.method == "file"
    assert result.hospital.reconciliation.target_amount == pytest.approx(expected)
