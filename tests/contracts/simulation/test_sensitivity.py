"""Deterministic sensitivity: the tornado and the two-way grid."""

from __future__ import annotations

from contracts.projection import Assumptions
from contracts.simulation import tornado, two_way_grid
from contracts.specs import RiskCorridorsSpec

LINEAR = RiskCorridorsSpec(
    name="linear 50/50", performance_year=2025, corridors=[{"from": 0.0, "provider_share": 0.5}]
)


def test_tornado_and_grid(history):
    sensitivity = tornado(LINEAR, history, Assumptions())
    base, bars = sensitivity.base, sensitivity.bars
    assert bars.height == 5 and bars["swing"].to_list() == sorted(
        bars["swing"].to_list(), reverse=True
    )
    trend = bars.filter(bars["assumption"] == "cost trend").row(0, named=True)
    assert (
        trend["settlement_low"] > base > trend["settlement_high"]
    )  # higher cost trend, lower settlement
    grid = two_way_grid(LINEAR, history, Assumptions(), trends=(0.0, 0.05), effects=(-0.1, 0.0))
    assert grid.height == 4
    assert (
        grid.filter((grid["cost_trend"] == 0.0) & (grid["inpatient_effect"] == -0.1))["settlement"][
            0
        ]
        == grid["settlement"].max()
    )
