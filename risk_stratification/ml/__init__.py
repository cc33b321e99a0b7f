"""Machine-learned risk: LightGBM models of next-year cost, admission, ED visit and top-5% cost
(``models``), their held-out evaluation against CMS-HCC and prior cost (``evaluation``), risk
tiers (``tiers``) and plain-words drivers (``drivers``); ``features`` builds the modeling rows,
``readmission`` the discharge-level readmission model, and ``pipeline`` trains, registers and
scores them on a dataset.

The names below are imported from their modules on first use (PEP 562), so importing one module
of the package (``features`` for instance, which the core's consumers read) does not load
LightGBM and scikit-learn with ``models``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from risk_stratification.ml.drivers import driver_words, global_importance, top_drivers
    from risk_stratification.ml.evaluation import (
        Baselines,
        Evaluation,
        by_decile,
        cost_metrics,
        evaluate,
        event_metrics,
        residual_quantiles,
        subgroup,
    )
    from risk_stratification.ml.models import (
        MODEL_LABELS,
        TARGETS,
        RiskModels,
        calibrator,
        fit,
        validation_mask,
    )
    from risk_stratification.ml.pipeline import (
        TrainedRisk,
        explain,
        importance,
        load_registered,
        register,
        score,
        train,
    )
    from risk_stratification.ml.tiers import TIERS, TierPolicy, assign_tiers, tier_summary

_MODULE_OF = {
    **dict.fromkeys(("driver_words", "global_importance", "top_drivers"), "drivers"),
    **dict.fromkeys(
        (
            "Baselines",
            "Evaluation",
            "by_decile",
            "cost_metrics",
            "evaluate",
            "event_metrics",
            "residual_quantiles",
            "subgroup",
        ),
        "evaluation",
    ),
    **dict.fromkeys(
        ("MODEL_LABELS", "TARGETS", "RiskModels", "calibrator", "fit", "validation_mask"),
        "models",
    ),
    **dict.fromkeys(
        ("TrainedRisk", "explain", "importance", "load_registered", "register", "score", "train"),
        "pipeline",
    ),
    **dict.fromkeys(("TIERS", "TierPolicy", "assign_tiers", "tier_summary"), "tiers"),
}


def __getattr__(name: str) -> Any:
    if name in _MODULE_OF:
        return getattr(importlib.import_module(f"{__name__}.{_MODULE_OF[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "MODEL_LABELS",
    "TARGETS",
    "TIERS",
    "Baselines",
    "Evaluation",
    "RiskModels",
    "TierPolicy",
    "TrainedRisk",
    "assign_tiers",
    "by_decile",
    "calibrator",
    "cost_metrics",
    "driver_words",
    "evaluate",
    "event_metrics",
    "explain",
    "fit",
    "global_importance",
    "importance",
    "load_registered",
    "register",
    "residual_quantiles",
    "score",
    "subgroup",
    "tier_summary",
    "top_drivers",
    "train",
    "validation_mask",
]
