"""The six worked cases of research/bundles.md section 4 (derived from the rules; where a case
rests on a number marked unconfirmed there, the test says so)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.bundles.definitions import CommercialTerms
from contracts.bundles.parameters import parameter
from contracts.bundles.reconciliation import (
    commercial_rules,
    reconcile,
    reconciliation_rules,
)
from contracts.bundles.target_prices import (
    preliminary_target_price,
    reconciliation_target_price,
)
from modeling.errors import ParameterError


def test_case_1_team_target_price_lejr():
    # rests on unconfirmed numbers: weights 17/33/50 and the +/-5% / +/-3% caps (kept as data)
    weights = [float(w) for w in parameter("team", 2026, "baseline_weights").value.split()]
    assert weights == [0.17, 0.33, 0.50]
    assert parameter("team", 2026, "baseline_weights").status.startswith("unconfirmed")
    discount = parameter("team", 2026, "discount", episode_category="LEJR").number
    benchmark, preliminary = preliminary_target_price(
        [21_500, 22_400, 23_000],
        [1.06, 1.03, 1.00],
        weights,
        prospective_trend=1.025,
        discount=discount or 0.0,
    )
    assert benchmark == pytest.approx(22_988.06, abs=0.005)
    assert preliminary == pytest.approx(23_091.51, abs=0.01)
    rtp = reconciliation_target_price(
        preliminary,
        1.08 * 1.03 * 1.02,
        prospective_normalization=0.98,
        final_normalization=0.92,
        normalization_cap=parameter("team", 2026, "normalization_cap").number,
        prospective_trend=1.025,
        final_trend=1.07,
        trend_cap=parameter("team", 2026, "retrospective_trend_cap").number,
    )
    assert rtp == pytest.approx(25_124.67, abs=0.05)


def test_case_2_team_track_3_savings():
    r = reconcile(
        target_amount=2_880_000,
        spending=2_700_000,
        quality_score=70,
        rules=reconciliation_rules("team", performance_year=2026, track="3"),
        episodes=120,
    )
    assert r.reconciliation_amount == pytest.approx(180_000)
    assert r.quality_adjusted == pytest.approx(174_600)
    assert r.stop_gain_limit == pytest.approx(576_000) and not r.hits_stop_gain
    assert r.amount == pytest.approx(174_600) and r.outcome == "reconciliation payment"


def test_case_3_track_2_vs_track_3_losses():
    # Track 2's 5% limits and 15% relief are unconfirmed (one secondary source says 10%)
    assert "unconfirmed" in parameter("team", 2027, "stop_loss", track="2").status
    t2 = reconcile(
        target_amount=1_800_000,
        spending=1_950_000,
        quality_score=40,
        rules=reconciliation_rules("team", performance_year=2027, track="2"),
    )
    assert t2.reconciliation_amount == pytest.approx(-150_000)
    assert t2.quality_adjusted == pytest.approx(-141_000)
    assert t2.hits_stop_loss and t2.amount == pytest.approx(-90_000)
    t3 = reconcile(
        target_amount=1_800_000,
        spending=1_950_000,
        quality_score=40,
        rules=reconciliation_rules("team", performance_year=2027, track="3"),
    )
    assert t3.amount == pytest.approx(-144_000) and not t3.hits_stop_loss
    assert t3.amount - t2.amount == pytest.approx(-54_000)  # Track 2 is worth $54,000


def test_case_4_track_1_stop_gain_and_no_downside():
    rules = reconciliation_rules("team", performance_year=2026, track="1")
    r = reconcile(target_amount=5_000_000, spending=4_300_000, quality_score=90, rules=rules)
    assert r.quality_adjusted == pytest.approx(693_000)
    assert r.hits_stop_gain and r.amount == pytest.approx(500_000)
    loss = reconcile(target_amount=5_000_000, spending=5_200_000, quality_score=90, rules=rules)
    assert loss.reconciliation_amount == pytest.approx(-200_000)
    assert loss.amount == 0 and loss.outcome == "no payment" and not loss.hits_stop_loss


def test_case_5_proration_is_tested_with_the_episode_rules():
    # worked case 5 lives in test_episodes.py (test_worked_case_5_proration_figures and
    # test_straddling_snf_and_ipps_stays_are_prorated_as_cms_does)
    assert parameter("team", 2026, "window_days").number == 30


def test_case_6_bpci_advanced_mjrle():
    rules = reconciliation_rules("bpci-advanced", performance_year=2025, track="*")
    discount = parameter("bpci-advanced", 2025, "discount", episode_category="surgical").number
    target = 150 * 25_000 * (1 - (discount or 0))
    assert target == pytest.approx(3_637_500)
    # "QA4" = positive x 0.96, negative x 0.94: CQS 60 under the linear mapping
    gain = reconcile(target_amount=target, spending=3_400_000, quality_score=60, rules=rules)
    assert gain.reconciliation_amount == pytest.approx(237_500)
    assert gain.amount == pytest.approx(228_000)
    assert gain.stop_gain_limit == pytest.approx(727_500)
    loss = reconcile(target_amount=target, spending=3_950_000, quality_score=60, rules=rules)
    assert loss.reconciliation_amount == pytest.approx(-312_500)
    assert loss.amount == pytest.approx(-293_750)


def test_post_episode_excess_is_outside_the_stop_loss():
    rules = reconciliation_rules("team", performance_year=2027, track="2")
    r = reconcile(
        target_amount=1_800_000,
        spending=1_950_000,
        quality_score=40,
        rules=rules,
        post_episode_excess=10_000,
    )
    assert r.capped == pytest.approx(-90_000) and r.amount == pytest.approx(-100_000)
    lines = r.lines()
    assert lines["amount"][-1] == pytest.approx(-100_000)
    assert set(lines["step"]) >= {"reconciliation amount", "capped amount (NPRA)", "repayment"}


def test_commercial_bundle_shares_and_caps():
    rules = commercial_rules(
        CommercialTerms(
            price=20_000, savings_share=0.5, loss_share=0.5, stop_gain=0.1, stop_loss=0.05
        ),
        name="Knee",
    )
    gain = reconcile(target_amount=1_000_000, spending=800_000, quality_score=100, rules=rules)
    assert gain.quality_adjusted == pytest.approx(100_000) and gain.amount == pytest.approx(100_000)
    loss = reconcile(target_amount=1_000_000, spending=1_200_000, quality_score=100, rules=rules)
    assert loss.quality_adjusted == pytest.approx(-100_000)
    assert loss.amount == pytest.approx(-50_000) and loss.hits_stop_loss


def test_unavailable_track_and_year_are_parameter_errors():
    with pytest.raises(ParameterError, match="no track '2'"):
        reconciliation_rules("team", performance_year=2026, track="2")
    with pytest.raises(ParameterError, match="parameters.csv"):
        reconciliation_rules("team", performance_year=2031, track="3")
    with pytest.raises(ParameterError, match="quality_score"):
        reconcile(
            target_amount=1.0,
            spending=1.0,
            quality_score=120,
            rules=reconciliation_rules("team", performance_year=2026, track="3"),
        )


@settings(max_examples=200, deadline=None)
@given(
    st.floats(1_000, 1e7),
    st.floats(0, 2e7),
    st.floats(0, 100),
    st.sampled_from(["1", "2", "3"]),
)
def test_caps_floor_and_monotonicity(target, spending, quality, track):
    from contracts.bundles.reconciliation import reconcile_arrays

    rules = reconciliation_rules("team", performance_year=2027, track=track)
    o = reconcile_arrays(target, spending, quality, rules)
    gain = rules.stop_gain * target
    loss = (rules.stop_loss or 0.0) * target
    assert -loss - 1e-6 <= float(o.capped) <= gain + 1e-6
    if track == "1":
        assert float(o.amount) >= 0
    more = reconcile_arrays(target, spending * 1.1 + 1, quality, rules)
    assert float(more.amount) <= float(o.amount) + 1e-6  # spending more never pays more
    assert np.sign(float(o.quality_adjusted)) == np.sign(float(o.reconciliation_amount))
