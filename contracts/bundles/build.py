"""Episodes of a panel with their spending: what the CLI, the page and the reconciliation read.

``panel_episodes(panel, spec)`` builds the triggers' episodes from the core (``claim_lines``)
and the canonical eligibility, adds spending by setting for kept episodes, the winsorized
total, the post-episode spending (the ``post_episode_days`` after the window, for the
post-episode spending test) and the episode's surgeon or attending (the rendering NPI of the
highest-paid professional claim dated within the anchor).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from contracts.bundles.definitions import EpisodeDefinition
from contracts.bundles.episodes import (
    EPISODE_COLUMNS,
    KEPT,
    anchor_sources,
    build_episodes,
    inpatient_claims,
)
from contracts.bundles.parameters import parameter
from contracts.bundles.spending import (
    SPEND_COLUMNS,
    PersonClaims,
    episode_claims,
    index_claims,
    panel_gmlos,
    people_claims,
    spending_by_setting,
    winsorize,
)
from modeling.core.panel import SLICE_LINES, Panel
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


def _unwinsorized(
    episodes: pl.DataFrame,
    spans: PersonClaims,
    spec: EpisodeDefinition,
    gmlos: pl.LazyFrame,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Episodes with spending by setting, post-episode spending and surgeon; and their claims."""
    days = _post_episode_days(spec)
    both = episode_claims(episodes, spans, spec, gmlos=gmlos, post_days=days).collect()
    claims = both.filter(pl.col("in_window")).drop("in_window", "in_anchor")
    wide = spending_by_setting(claims.lazy()).collect()
    post = (
        both.filter(~pl.col("in_window"))
        .group_by("episode_id")
        .agg(pl.col("paid").sum().alias("post_episode_spending"))
    )
    surgeon = (
        both.filter(
            pl.col("in_anchor")
            & (pl.col("claim_type") == "professional")
            & pl.col("rendering_npi").is_not_null()
        )
        .sort("paid", "claim_id", descending=[True, False])
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
    return frame, claims


def _finish(spec: EpisodeDefinition, frame: pl.DataFrame, claims: pl.DataFrame) -> EpisodeTable:
    lo, hi = _winsor_bounds(spec)
    frame = winsorize(frame, lower=lo, upper=hi)
    columns = [c for c in OUTPUT_COLUMNS if c in frame.columns]
    rest = [c for c in EPISODE_COLUMNS if c not in columns and c != "anchor_claim_ids"]
    ordered = frame.select(*columns, *rest, "anchor_claim_ids").sort(
        "person_id", "anchor_start", "episode_id"
    )
    return EpisodeTable(spec, ordered, claims)


def _slice_tables(
    claim_lines: pl.LazyFrame,
    eligibility: pl.LazyFrame,
    specs: list[EpisodeDefinition],
    *,
    gmlos: pl.LazyFrame,
    data_end: dt.date | None,
    legs: pl.LazyFrame | None = None,
) -> list[tuple[pl.DataFrame, pl.DataFrame]]:
    """Every spec's unwinsorized episodes and claims over one set of people, the claims of
    the people with a kept episode of any spec read once; ``legs`` the core's acute legs of
    those people when there is a core."""
    codes = sorted(
        {c for s in specs for c in s.triggers.filter(pl.col("anchor_type") == "outpatient")["code"]}
    )
    sources = anchor_sources(claim_lines, codes, legs=legs)
    people = eligibility.collect().lazy()
    built = [
        build_episodes(claim_lines, people, s, data_end=data_end, sources=sources) for s in specs
    ]
    days = max(_post_episode_days(s) for s in specs)
    union = pl.concat(
        [e.select("person_id", "status", "anchor_start", "window_end") for e in built]
    )
    exclusions = any(s.cms_exclusions for s in specs)
    spans = index_claims(
        people_claims(claim_lines, union, cms_exclusions=exclusions, after_days=days).collect()
    )
    return [_unwinsorized(e, spans, s, gmlos) for e, s in zip(built, specs, strict=True)]


def episodes_with_spending(
    claim_lines: pl.LazyFrame,
    eligibility: pl.LazyFrame,
    spec: EpisodeDefinition,
    *,
    gmlos: pl.DataFrame | None = None,
) -> EpisodeTable:
    """Episodes (``build_episodes``) with spending by setting, winsorized totals, post-episode
    spending and surgeon, from claim lines and eligibility frames."""
    table = gmlos.lazy() if gmlos is not None else panel_gmlos(inpatient_claims(claim_lines))
    ((frame, claims),) = _slice_tables(claim_lines, eligibility, [spec], gmlos=table, data_end=None)
    return _finish(spec, frame, claims)


def _people_ranges(panel: Panel) -> list[tuple[str, str]]:
    """Ranges of person ids holding about ``SLICE_LINES`` claim lines each (as the core)."""
    people = (panel.scan("eligibility").select("person_id").unique().sort("person_id").collect())[
        "person_id"
    ]
    if people.is_empty():
        return []
    lines = int(panel.manifest["tables"].get("medical_claim", {}).get("rows", 0))
    size = -(-people.len() // max(1, -(-lines // SLICE_LINES)))
    return [
        (people[i], people[min(i + size, people.len()) - 1]) for i in range(0, people.len(), size)
    ]


def panel_episode_tables(
    source: Panel | Dataset,
    specs: list[EpisodeDefinition],
    *,
    gmlos: pl.DataFrame | None = None,
) -> list[EpisodeTable]:
    """The episodes of every spec on a panel, computed a slice of people at a time (episodes
    are person-local; GMLOS, the end of the data and winsorization are the whole panel's), the
    claims of each slice read once for all specs."""
    panel = Panel.of(source)
    lines = panel.scan("claim_lines")
    table = (
        gmlos.lazy()
        if gmlos is not None
        else panel_gmlos(panel.scan("acute_legs")).collect().lazy()
    )
    data_end = (
        panel.scan("eligibility").select(pl.col("enrollment_end_date").max()).collect().item()
    )
    parts: list[list[tuple[pl.DataFrame, pl.DataFrame]]] = []
    for first, last in _people_ranges(panel):
        view = panel.for_people(first, last)
        parts.append(
            _slice_tables(
                view.scan("claim_lines"),
                view.scan("eligibility"),
                specs,
                gmlos=table,
                data_end=data_end,
                legs=view.scan("acute_legs"),
            )
        )
    out = []
    for i, spec in enumerate(specs):
        if parts:
            frame = pl.concat([p[i][0] for p in parts], how="vertical_relaxed")
            claims = pl.concat([p[i][1] for p in parts], how="vertical_relaxed")
        else:
            frame, claims = _slice_tables(
                lines,
                panel.scan("eligibility"),
                [spec],
                gmlos=table,
                data_end=data_end,
                legs=panel.scan("acute_legs"),
            )[0]
        out.append(_finish(spec, frame, claims))
    return out


def panel_episodes(
    source: Panel | Dataset, spec: EpisodeDefinition, *, gmlos: pl.DataFrame | None = None
) -> EpisodeTable:
    """One spec's episodes on a panel (``panel_episode_tables``)."""
    return panel_episode_tables(source, [spec], gmlos=gmlos)[0]
