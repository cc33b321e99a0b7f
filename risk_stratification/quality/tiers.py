"""Risk tiers for care-gap worklists, from the CMS-HCC payment score."""

from __future__ import annotations

import polars as pl

from modeling.core.panel import Panel
from modeling.dataset import Dataset
from risk_stratification.hcc.panel import score_panel

TIER_SHARES = (("highest", 0.01), ("high", 0.04), ("moderate", 0.20))
"""The ML tiers' default shares (``risk_stratification.ml.tiers.TierPolicy``), applied to the
CMS-HCC score ranking; everyone else is "low"."""


def hcc_risk_tiers(source: Panel | Dataset, year: int) -> pl.DataFrame:
    """person_id, risk_score, risk_tier: members ranked by their CMS-HCC payment score for
    payment year ``year`` (diagnoses of ``year - 1``), the top 1% "highest", the next 4% "high",
    the next 20% "moderate" and the rest "low"."""
    scores = score_panel(Panel.of(source), year).scores.select(
        "person_id", pl.col("payment_score").alias("risk_score")
    )
    n = scores.height
    rank = pl.col("risk_score").rank("ordinal", descending=True)
    tier = pl.lit("low")
    bound = 0.0
    expr = None
    for name, share in TIER_SHARES:
        bound += share
        cond = rank <= round(bound * n)
        expr = (
            pl.when(cond).then(pl.lit(name)) if expr is None else expr.when(cond).then(pl.lit(name))
        )
    assert expr is not None
    return scores.with_columns(expr.otherwise(tier).alias("risk_tier"))
