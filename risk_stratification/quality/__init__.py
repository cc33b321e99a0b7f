"""Risk adjustment of the quality outcome measures (it reads the CMS-HCC engine)."""

from risk_stratification.quality.results import adjusted_results
from risk_stratification.quality.risk_adjustment import (
    OUTCOME_MEASURES,
    RiskAdjusted,
    by_unit,
    funnel_limits,
    risk_adjust,
)

__all__ = [
    "OUTCOME_MEASURES",
    "RiskAdjusted",
    "adjusted_results",
    "by_unit",
    "funnel_limits",
    "risk_adjust",
]
