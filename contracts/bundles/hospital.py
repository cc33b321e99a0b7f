"""One hospital's performance year: its episodes priced, reconciled, and the tracks compared.

``hospital_reconciliation`` sums the reconciliation target prices and winsorized spending of
the hospital's kept episodes anchored in the performance year, runs the post-episode spending
test against every hospital of the panel (the region) and reconciles under the rules given.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from contracts.bundles.episodes import KEPT
from contracts.bundles.parameters import tracks
from contracts.bundles.reconciliation import (
    Reconciliation,
    ReconciliationRules,
    post_episode_excess,
    reconcile,
    reconciliation_rules,
)
from contracts.bundles.target_prices import TargetPrices
from modeling.errors import ParameterError


@dataclass(frozen=True)
class HospitalYear:
    """A hospital's priced episodes (episode_id, category, target_price, winsorized_spending,
    spending by setting ...) and their reconciliation."""

    facility_npi: str
    performance_year: int
    episodes: pl.DataFrame
    reconciliation: Reconciliation


def priced_episodes(
    episodes: pl.DataFrame, prices: TargetPrices, *, facility_npi: str | None = None
) -> pl.DataFrame:
    """Kept episodes of the performance year with their target price (all hospitals, or one)."""
    perf = episodes.filter(
        (pl.col("status") == KEPT) & (pl.col("anchor_year") == prices.performance_year)
    )
    if facility_npi is not None:
        perf = perf.filter(pl.col("facility_npi") == facility_npi)
    return perf.join(prices.episodes, on="episode_id", how="inner")


def hospitals(episodes: pl.DataFrame, *, performance_year: int) -> pl.DataFrame:
    """facility_npi, episodes, spending of kept episodes in the year, most episodes first."""
    return (
        episodes.filter((pl.col("status") == KEPT) & (pl.col("anchor_year") == performance_year))
        .group_by("facility_npi")
        .agg(pl.len().alias("episodes"), pl.col("winsorized_spending").sum().alias("spending"))
        .sort("episodes", "facility_npi", descending=[True, False])
    )


def hospital_reconciliation(
    episodes: pl.DataFrame,
    prices: TargetPrices,
    *,
    facility_npi: str,
    rules: ReconciliationRules,
    quality_score: float,
) -> HospitalYear:
    """The hospital's reconciliation for ``prices.performance_year`` under ``rules``."""
    own = priced_episodes(episodes, prices, facility_npi=facility_npi)
    if own.is_empty():
        known = hospitals(episodes, performance_year=prices.performance_year)["facility_npi"]
        raise ParameterError(
            f"Hospital {facility_npi} has no priced kept episodes in {prices.performance_year}; "
            f"hospitals with episodes: {', '.join(known.head(8).to_list())}"
            f"{' ...' if known.len() > 8 else ''}."
        )
    year = episodes.filter(pl.col("anchor_year") == prices.performance_year)
    excess = post_episode_excess(
        year, facility_npi=facility_npi, sd_threshold=rules.post_episode_sd
    )
    result = reconcile(
        target_amount=float(own["target_price"].sum()),
        spending=float(own["winsorized_spending"].sum()),
        quality_score=quality_score,
        rules=rules,
        episodes=own.height,
        post_episode_excess=excess,
    )
    return HospitalYear(facility_npi, prices.performance_year, own, result)


def track_comparison(
    episodes: pl.DataFrame,
    prices: TargetPrices,
    *,
    facility_npi: str,
    model: str,
    rules_year: int,
    quality_score: float,
) -> pl.DataFrame:
    """track, reconciliation amount, quality-adjusted, capped, payment or repayment, limits
    binding: every track of the model's ``rules_year`` side by side for one hospital."""
    rows = []
    for track in tracks(model, rules_year):
        rules = reconciliation_rules(model, performance_year=rules_year, track=track)
        r = hospital_reconciliation(
            episodes, prices, facility_npi=facility_npi, rules=rules, quality_score=quality_score
        ).reconciliation
        rows.append(
            (
                track,
                r.episodes,
                r.target_amount,
                r.spending,
                r.reconciliation_amount,
                r.quality_adjusted,
                r.capped,
                r.post_episode_excess,
                r.amount,
                r.hits_stop_gain,
                r.hits_stop_loss,
            )
        )
    return pl.DataFrame(
        rows,
        schema=[
            "track",
            "episodes",
            "target_amount",
            "spending",
            "reconciliation_amount",
            "quality_adjusted",
            "capped",
            "post_episode_excess",
            "amount",
            "hits_stop_gain",
            "hits_stop_loss",
        ],
        orient="row",
    )
