"""Deterministic sensitivity: how the settlement moves when one assumption (tornado) or two
(the cost trend x the inpatient initiative grid) change, each case settled with ``project``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from contracts.history import PanelHistory
from contracts.projection import Assumptions, project
from contracts.specs import ContractSpec


@dataclass(frozen=True)
class Tornado:
    """The deterministic settlement (``base``) and one row per assumption moved to a low and a
    high value, one at a time (``bars``: assumption, low, high, settlement_low, settlement_high,
    swing), the largest swing first."""

    base: float
    bars: pl.DataFrame


def tornado(
    spec: ContractSpec, history: PanelHistory, assumptions: Assumptions | None = None
) -> Tornado:
    """The deterministic settlement, and how it moves when each assumption goes to a low and a
    high value (one at a time): assumption, low, high, settlement at each, swing."""
    a = assumptions or Assumptions()
    base = project(spec, history, a)
    trend = base.cost_trend if base.cost_trend is not None else 0.0
    # name -> (update for the low case, update for the high case, low label, high label)
    cases: dict[str, tuple[dict[str, Any], dict[str, Any], str, str]] = {
        "cost trend": (
            {"cost_trend": trend - 0.02},
            {"cost_trend": trend + 0.02},
            f"{trend - 0.02:.1%}",
            f"{trend + 0.02:.1%}",
        ),
        "inpatient cost": (
            {
                "initiatives": {
                    **a.initiatives,
                    "acute inpatient": a.initiatives.get("acute inpatient", 0.0) - 0.05,
                }
            },
            {
                "initiatives": {
                    **a.initiatives,
                    "acute inpatient": a.initiatives.get("acute inpatient", 0.0) + 0.05,
                }
            },
            "-5%",
            "+5%",
        ),
        "coding (risk score)": (
            {"coding_risk_change": max(a.coding_risk_change - 0.01, -0.4)},
            {"coding_risk_change": a.coding_risk_change + 0.01},
            "-1%",
            "+1%",
        ),
        "attribution": (
            {"attribution_scale": a.attribution_scale * 0.9},
            {"attribution_scale": a.attribution_scale * 1.1},
            "-10%",
            "+10%",
        ),
        "quality score": (
            {
                "quality_score": max(a.quality_score - 0.1, 0.0),
                "meets_quality_standard": False,
                "meets_alternative_quality_standard": True,
            },
            {"quality_score": min(a.quality_score + 0.1, 1.0)},
            "-0.10 (alternative standard only)",
            "+0.10",
        ),
    }
    rows = []
    for name, (lo, hi, lo_label, hi_label) in cases.items():
        low = project(spec, history, a.model_copy(update=lo)).settlement.amount
        high = project(spec, history, a.model_copy(update=hi)).settlement.amount
        rows.append(
            {
                "assumption": name,
                "low": lo_label,
                "high": hi_label,
                "settlement_low": low,
                "settlement_high": high,
                "swing": abs(high - low),
            }
        )
    return Tornado(base.settlement.amount, pl.DataFrame(rows).sort("swing", descending=True))


def two_way_grid(
    spec: ContractSpec,
    history: PanelHistory,
    assumptions: Assumptions | None = None,
    *,
    trends: tuple[float, ...] = (0.0, 0.02, 0.04, 0.06, 0.08),
    effects: tuple[float, ...] = (-0.15, -0.10, -0.05, 0.0),
) -> pl.DataFrame:
    """Settlement for each cost trend x inpatient initiative effect (deterministic)."""
    a = assumptions or Assumptions()
    rows = []
    for t in trends:
        for e in effects:
            case = a.model_copy(
                update={"cost_trend": t, "initiatives": {**a.initiatives, "acute inpatient": e}}
            )
            rows.append(
                {
                    "cost_trend": t,
                    "inpatient_effect": e,
                    "settlement": project(spec, history, case).settlement.amount,
                }
            )
    return pl.DataFrame(rows)
