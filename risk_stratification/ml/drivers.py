"""Plain-words drivers from SHAP contributions: what pushes a person's prediction up, in words
an analyst or care manager reads (``driver_words``), and the features that matter most over a
panel (``global_importance``)."""

from __future__ import annotations

import numpy as np
import polars as pl

from risk_stratification.ml.features import COST_CATEGORIES

_WORDS = {  # feature -> (kind, words); kinds decide how the value is written
    "age": ("number", "age {}"),
    "female": ("flag", "female"),
    "full_dual": ("flag", "full Medicaid dual eligible"),
    "partial_dual": ("flag", "partial Medicaid dual eligible"),
    "disabled": ("flag", "entitled by disability"),
    "originally_disabled": ("flag", "originally entitled by disability"),
    "esrd": ("flag", "end-stage renal disease"),
    "long_term_institutional": ("flag", "long-term nursing home resident"),
    "new_enrollee": ("flag", "new to Medicare"),
    "v28_raw_score": ("score", "CMS-HCC risk score {}"),
    "hcc_count": ("count", "{} payment HCCs"),
    "chronic_condition_count": ("count", "{} chronic conditions"),
    "months_enrolled": ("count", "{} months enrolled"),
    "cost_total": ("dollars", "{} spent in the last 12 months"),
    "cost_medical": ("dollars", "{} medical spending in the last 12 months"),
    "cost_pharmacy": ("dollars", "{} on prescriptions in the last 12 months"),
    "cost_second_half": ("dollars", "{} spent in the last 6 months"),
    "cost_prior_year": ("dollars", "{} spent the year before"),
    "cost_change": ("change", "spending {} on the year before"),
    "inpatient_stays": ("count", "{} inpatient stays in the last 12 months"),
    "inpatient_days": ("count", "{} days in hospital in the last 12 months"),
    "readmissions": ("count", "{} readmissions in the last 12 months"),
    "days_since_discharge": ("count", "discharged {} days before year end"),
    "ed_visits": ("count", "{} ED visits in the last 12 months"),
    "ed_visits_last_6_months": ("count", "{} ED visits in the last 6 months"),
    "snf_stays": ("count", "{} skilled nursing stays in the last 12 months"),
    "pharmacy_fills": ("count", "{} prescription fills"),
    "distinct_drugs": ("count", "{} different drugs"),
    **{
        col: ("dollars", "{} on " + cat + " in the last 12 months")
        for cat, col in COST_CATEGORIES.items()
    },
}

_WHEN_MISSING = {  # features left empty on purpose: what the empty value means
    "days_since_discharge": "no hospital discharge in the last 12 months",
    "cost_prior_year": "no claims history for the year before",
    "cost_change": "no claims history for the year before",
}


def driver_words(feature: str, value: float | None, labels: dict[int, str] | None = None) -> str:
    """One driver in plain words: ``driver_words("inpatient_stays", 3)`` -> "3 inpatient stays in
    the last 12 months"; HCC and chronic-condition flags name the condition."""
    if feature.startswith("hcc_") and feature != "hcc_count":
        cc = int(feature[4:])
        label = (labels or {}).get(cc, "")
        return f"HCC {cc} {label}".strip() if value else f"no HCC {cc} {label}".strip()
    if feature.startswith("cc_"):
        name = feature[3:].replace("_", " ")
        return name if value else f"no {name}"
    kind, words = _WORDS.get(feature, ("number", feature.replace("_", " ") + " {}"))
    if value is None or value != value:
        return _WHEN_MISSING.get(feature) or words.format("unknown")
    if kind == "flag":
        return words if value else "not " + words
    if kind == "dollars":
        return words.format(f"${value:,.0f}")
    if kind == "change":
        return words.format(f"{'up' if value >= 0 else 'down'} ${abs(value):,.0f}")
    if kind == "score":
        return words.format(f"{value:.2f}")
    return words.format(f"{value:,.0f}")


def top_drivers(
    contributions: np.ndarray,
    frame: pl.DataFrame,
    features: list[str],
    *,
    n: int = 3,
    labels: dict[int, str] | None = None,
) -> pl.DataFrame:
    """person_id, driver_1..n (plain words) and driver_1..n_feature: the features that push each
    person's prediction up the most (largest positive SHAP contributions; the last column of
    ``contributions`` is the expected value and is ignored). Ties keep feature order."""
    contrib = contributions[:, : len(features)]
    n = min(n, len(features))
    rows = np.arange(len(frame))[:, None]
    order, remaining = np.empty((len(frame), n), dtype=np.intp), contrib.copy()
    for k in range(
        n
    ):  # the n largest, one argmax at a time (the first of equals wins: feature order breaks ties)
        order[:, k] = remaining.argmax(axis=1)
        remaining[rows[:, 0], order[:, k]] = -np.inf
    values, top = frame.select(features).to_numpy()[rows, order], contrib[rows, order]
    out: dict[str, pl.Series | list[str | None]] = {"person_id": frame["person_id"]}
    for k in range(n):
        names = [
            features[i] if c > 0 else None for i, c in zip(order[:, k], top[:, k], strict=True)
        ]
        out[f"driver_{k + 1}"] = [
            driver_words(f, v, labels) if f else None
            for f, v in zip(names, values[:, k], strict=True)
        ]
        out[f"driver_{k + 1}_feature"] = names
    return pl.DataFrame(
        out,
        schema={"person_id": pl.String}
        | {f"driver_{k + 1}{s}": pl.String for k in range(n) for s in ("", "_feature")},
    )


def global_importance(contributions: np.ndarray, features: list[str]) -> pl.DataFrame:
    """feature, mean |SHAP contribution| over the people scored, largest first."""
    mean_abs = np.abs(contributions[:, : len(features)]).mean(axis=0)
    return pl.DataFrame({"feature": features, "mean_abs_contribution": mean_abs}).sort(
        "mean_abs_contribution", descending=True
    )
