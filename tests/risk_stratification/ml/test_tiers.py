"""Risk tiers from a policy."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from risk_stratification.ml.tiers import TierPolicy, assign_tiers


def test_tier_policy():
    n = 1000
    scored = pl.DataFrame(
        {
            "person_id": [str(i) for i in range(n)],
            "pred_cost": np.arange(n, 0, -1) * 100.0,
            "cost_total": np.r_[np.full(500, 1e6), np.full(500, 10.0)],
            "months_enrolled": np.full(n, 12.0),
        }
    )
    tiers = assign_tiers(
        scored,
        TierPolicy(
            highest_share=0.01,
            high_share=0.04,
            moderate_share=0.2,
            rising_ratio=1.5,
            rising_min_percentile=0.0,
        ),
    )
    counts = dict(tiers["tier"].value_counts().iter_rows())
    assert counts["highest"] == 10 and counts["high"] == 40
    assert counts["rising"] == 500  # low current cost, predicted far above it, not already high
    assert counts["moderate"] == 200 and counts["low"] == 250
    with pytest.raises(Exception, match="Tier shares"):
        TierPolicy(highest_share=0.5, high_share=0.5, moderate_share=0.2)
