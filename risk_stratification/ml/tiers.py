"""Risk tiers from a configurable policy, by predicted next-year cost."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from modeling.errors import ParameterError


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
