"""Plain-words drivers from SHAP contributions, and risk tiers from a configurable policy."""

from __future__ import annotations

from dataclasses import dataclass

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
    out = {"person_id": frame["person_id"]}
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


@dataclass(frozen=True)
class TierPolicy:
    """How the panel is sorted into tiers, by predicted next-year cost.

    The top ``highest_share`` of people are "highest", the next ``high_share`` "high"; of the
    rest, "rising" are those whose predicted cost is at least ``rising_ratio`` times their
    current annualized cost and above the panel's ``rising_min_percentile`` of predicted cost;
    the next ``moderate_share`` by predicted cost are "moderate" and everyone else "low".
    """

    highest_share: float = 0.01
    high_share: float = 0.04
    rising_ratio: float = 1.5
    rising_min_percentile: float = 0.8
    moderate_share: float = 0.20

    def __post_init__(self) -> None:
        from modeling.errors import ParameterError

        if not (
            self.highest_share >= 0
            and self.high_share >= 0
            and self.moderate_share >= 0
            and self.highest_share + self.high_share + self.moderate_share <= 1
        ):
            raise ParameterError(
                "Tier shares must be non-negative and add up to at most 100% of the panel."
            )
        if self.rising_ratio <= 1:
            raise ParameterError(
                f"The rising-risk ratio must be above 1 (got {self.rising_ratio})."
            )


TIERS = ("highest", "high", "rising", "moderate", "low")


def assign_tiers(scored: pl.DataFrame, policy: TierPolicy | None = None) -> pl.DataFrame:
    """Adds ``tier`` to a frame with pred_cost, cost_total and months_enrolled."""
    policy = policy or TierPolicy()
    n = scored.height
    rank = pl.col("pred_cost").rank("ordinal", descending=True)
    current = pl.col("cost_total") * 12 / pl.col("months_enrolled").clip(lower_bound=1)
    threshold = scored["pred_cost"].quantile(policy.rising_min_percentile, interpolation="linear")
    first = scored.with_columns(
        pl.when(rank <= round(policy.highest_share * n))
        .then(pl.lit("highest"))
        .when(rank <= round((policy.highest_share + policy.high_share) * n))
        .then(pl.lit("high"))
        .when(
            (pl.col("pred_cost") >= policy.rising_ratio * current)
            & (pl.col("pred_cost") >= threshold)
        )
        .then(pl.lit("rising"))
        .otherwise(None)
        .alias("tier")
    )
    rest_rank = (
        pl.when(pl.col("tier").is_null())
        .then(pl.col("pred_cost"))
        .otherwise(None)
        .rank("ordinal", descending=True)
    )
    return first.with_columns(
        pl.when(pl.col("tier").is_not_null())
        .then(pl.col("tier"))
        .when(rest_rank <= round(policy.moderate_share * n))
        .then(pl.lit("moderate"))
        .otherwise(pl.lit("low"))
        .alias("tier")
    )


def tier_summary(scored: pl.DataFrame) -> pl.DataFrame:
    """tier, members, share, mean predicted cost, mean cost last year, admission probability,
    share of predicted cost — in tier order."""
    total = scored["pred_cost"].sum()
    return (
        scored.group_by("tier")
        .agg(
            pl.len().alias("members"),
            pl.col("pred_cost").mean().alias("mean_predicted_cost"),
            pl.col("cost_total").mean().alias("mean_cost_last_year"),
            pl.col("pred_admission").mean().alias("admission_probability"),
            (pl.col("pred_cost").sum() / total).alias("share_of_predicted_cost"),
        )
        .with_columns((pl.col("members") / pl.col("members").sum()).alias("share_of_members"))
        .sort(pl.col("tier").replace_strict({t: i for i, t in enumerate(TIERS)}, default=9))
    )
