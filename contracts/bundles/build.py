"""Episodes of a panel with their spending: what the CLI, the page and the reconciliation read.

``panel_episodes(panel, spec)`` builds the triggers' episodes from the core (``claim_lines``)
and the canonical eligibility, adds spending by setting for kept episodes, the winsorized
total, the post-episode spending (the ``post_episode_days`` after the window, for the
post-episode spending test) and the episode's surgeon or attending (the rendering NPI of the
highest-paid professional claim dated within the anchor).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from contracts.bundles.definitions import EpisodeDefinition
from contracts.bundles.episodes import EPISODE_COLUMNS, KEPT, build_episodes, inpatient_claims
from contracts.bundles.parameters import parameter
from contracts.bundles.spending import (
    SPEND_COLUMNS,
    episode_claims,
    panel_gmlos,
    people_claims,
    spending_by_setting,
    winsorize,
)
from modeling.core.panel import Panel
from modeling.dataset import Dataset

OUTPUT_COLUMNS = (
    "episode_id",
    "person_id",
    "model",
    "episode_category",
    "anchor_type",
    "anchor_code",
    "facility_npi",
    "anchor_start",
    "anchor_end",
    "window_end",
    "status",
    "reason",
    "total_spending",
    *SPEND_COLUMNS,
    "winsorized_spending",
    "post_episode_spending",
    "surgeon_npi",
    "priced_as",
    "medical_surgical",
    "anchor_year",
)


@dataclass(frozen=True)
class EpisodeTable:
    """The episodes of one definition on one panel: ``episodes`` (one row per trigger, columns
    ``OUTPUT_COLUMNS``) and ``claims`` (one row per kept episode and claim in its window)."""

    spec: EpisodeDefinition
    episodes: pl.DataFrame
    claims: pl.DataFrame

    def counts(self) -> pl.DataFrame:
        """status, reason, episodes: how every trigger was accounted for."""
        return (
            self.episodes.group_by("status", "reason")
            .agg(pl.len().alias("episodes"))
            .sort("status", "episodes", descending=[False, True])
        )


def _winsor_bounds(spec: EpisodeDefinition) -> tuple[float | None, float | None]:
    if spec.model not in ("team", "bpci-advanced"):
        return None, None
    lo = parameter(spec.model, spec.performance_year, "winsor_lower").number
    hi = parameter(spec.model, spec.performance_year, "winsor_upper").number
    return lo, hi


def _post_episode_days(spec: EpisodeDefinition) -> int:
    if spec.model not in ("team", "bpci-advanced"):
        return 30
    return int(parameter(spec.model, spec.performance_year, "post_episode_days").value)


def episodes_with_spending(
    claim_lines: pl.LazyFrame,
    eligibility: pl.LazyFrame,
    spec: EpisodeDefinition,
    *,
    gmlos: pl.DataFrame | None = None,
) -> EpisodeTable:
    """Episodes (``build_episodes``) with spending by setting, winsorized totals, post-episode
    spending and surgeon."""
    episodes = build_episodes(claim_lines, eligibility, spec)
    days = _post_episode_days(spec)
    spans = people_claims(
        claim_lines, episodes, cms_exclusions=spec.cms_exclusions, after_days=days
    ).collect()
    table = gmlos.lazy() if gmlos is not None else panel_gmlos(inpatient_claims(claim_lines))
    claims = episode_claims(episodes, spans.lazy(), spec, gmlos=table).collect()
    wide = spending_by_setting(claims.lazy()).collect()
    kept = episodes.filter(pl.col("status") == KEPT)
    post = (
        kept.lazy()
        .select("episode_id", "person_id", "window_end")
        .join(spans.lazy().select("person_id", "start", "paid"), on="person_id", how="inner")
        .filter(
            (pl.col("start") > pl.col("window_end"))
            & (pl.col("start") <= pl.col("window_end") + pl.duration(days=days))
        )
        .group_by("episode_id")
        .agg(pl.col("paid").sum().alias("post_episode_spending"))
        .collect()
    )
    anchors = kept.select("episode_id", "anchor_start", "anchor_end")
    surgeon = (
        claims.filter(
            (pl.col("claim_type") == "professional") & pl.col("rendering_npi").is_not_null()
        )
        .join(anchors, on="episode_id")
        .filter(pl.col("start") <= pl.col("anchor_end"))
        .sort("paid", descending=True)
        .unique("episode_id", keep="first")
        .select("episode_id", pl.col("rendering_npi").alias("surgeon_npi"))
    )
    zero = {c: 0.0 for c in (*SPEND_COLUMNS, "total_spending")}
    frame = (
        episodes.join(wide, on="episode_id", how="left")
        .join(post, on="episode_id", how="left")
        .join(surgeon, on="episode_id", how="left")
        .with_columns(
            *[
                pl.when(pl.col("status") == KEPT)
                .then(pl.col(c).fill_null(v))
                .otherwise(pl.col(c))
                .alias(c)
                for c, v in zero.items()
            ],
            pl.when(pl.col("status") == KEPT)
            .then(pl.col("post_episode_spending").fill_null(0.0))
            .alias("post_episode_spending"),
            pl.col("anchor_end").dt.year().alias("anchor_year"),
        )
    )
    lo, hi = _winsor_bounds(spec)
    frame = winsorize(frame, lower=lo, upper=hi)
    columns = [c for c in OUTPUT_COLUMNS if c in frame.columns]
    rest = [c for c in EPISODE_COLUMNS if c not in columns and c != "anchor_claim_ids"]
    return EpisodeTable(spec, frame.select(*columns, *rest, "anchor_claim_ids"), claims)


def panel_episodes(
    source: Panel | Dataset, spec: EpisodeDefinition, *, gmlos: pl.DataFrame | None = None
) -> EpisodeTable:
    """``episodes_with_spending`` over a panel's core claim lines and eligibility."""
    panel = Panel.of(source)
    return episodes_with_spending(
        panel.scan("claim_lines"), panel.scan("eligibility"), spec, gmlos=gmlos
    )
