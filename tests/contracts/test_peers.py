"""Peers: the published ACOs of a track and year, the panel's figures in the PUF's terms, and the
panel's place among them."""

from __future__ import annotations

import polars as pl
import pytest

from contracts.history import panel_history
from contracts.peers import SETTINGS, compare_to_peers, panel_metrics, peer_metrics, puf_tracks
from contracts.reproduce import sample_puf
from modeling.errors import ParameterError


def test_peers_of_a_track_and_year_and_the_percentile_rank():
    puf = sample_puf("mssp")
    peers = peer_metrics(puf, performance_year=2021, track="enhanced")
    assert peers.height == 34
    median = float(peers["savings_rate"].median())
    result = compare_to_peers(
        puf, {"savings_rate": median}, performance_year=2021, track="enhanced"
    )
    row = result.placement.filter(pl.col("metric") == "savings_rate").row(0, named=True)
    assert row["p50"] == pytest.approx(median)
    assert row["percentile_rank"] == pytest.approx(
        (peers["savings_rate"] <= median).sum() / peers.height
    )
    earned = peers["earned_per_capita"]
    raw = puf.filter(pl.col("performance_year") == "2021", pl.col("track") == "enhanced")
    assert earned[0] == pytest.approx(float(raw["earnsaveloss"][0]) / float(raw["n_ab"][0]))
    with pytest.raises(ParameterError, match="no basic_a ACOs in performance year 2014"):
        peer_metrics(puf, performance_year=2014, track="basic_a")
    assert puf_tracks(puf).height == 35


def test_the_panel_in_the_puf_terms(small_dataset):
    history = panel_history(small_dataset)
    year = history.years[-1]
    m = panel_metrics(small_dataset, history, calendar_year=year)
    settings = sum(m[k] or 0 for k in SETTINGS)
    assert 0 < settings <= m["expenditure_per_capita"] + 1e-6  # "other" is left out
    assert m["admissions_per_1000"] > 0 and m["ed_visits_per_1000"] > 0
    assert 0.3 < m["risk_score"] < 3
    with pytest.raises(ParameterError, match="has no 2030"):
        panel_metrics(small_dataset, history, calendar_year=2030)
