"""Episode spending by setting, prorated at the window's end and winsorized as the model does.

**Paid amounts, not standardized amounts.** CMS measures episode spending in *standardized*
Medicare payments: wage-index, IME/DSH and other policy add-ons removed (shadow bundles
``g1``-``g10``). Those come from CMS's payment files and the claims' pricing detail, which
claims extracts do not carry, so standardization is not reproducible here. Spending is the
claims' ``paid_amount``. Because target prices estimated here (``target_prices``) are built
from the same paid amounts of the same panel, the comparison of actual to target is like with
like; a CMS target-price file, which is in standardized dollars, compared with paid amounts
carries the wage-index and add-on difference of the hospital, which the reconciliation report
states.

**Which claims** (shadow bundles ``d1``; computed per claim line, see ``claim_spans``): professional and outpatient claims that start on or
after the day before the anchor (the extra day catches the ED visit and the surgeon's claim)
and on or before the window's end; every other claim that starts within the anchor start and
the window's end.

**Settings**: ``anchor`` (the anchor's own claims), ``readmission`` (other acute inpatient
stays, including LTCH), ``snf``, ``irf`` (inpatient claims with revenue center 0024),
``home_health``, ``outpatient`` (outpatient hospital and ED), ``professional``, ``other``
(DME, ambulance, hospice, anything else).

**Excluded**: readmission stays whose MS-DRG is on CMS's excluded list or in an excluded MDC,
with the professional claims during them; Part B drug and clotting-factor lines on CMS's lists.

**Proration of claims that run past the window's end** (shadow bundles ``d3``, ``d7``-``d9``;
TEAM 512.555, whose text was not retrieved, so its equivalence is unconfirmed):

- inpatient stays (readmissions, IRF): with ``overlap`` the days from the claim's start to the
  window's end inclusive and ``per_diem = non-outlier payment / GMLOS``, the full non-outlier
  payment when ``overlap >= GMLOS - 1``, else ``min((overlap + 1) x per_diem, payment)``; an
  outlier payment is prorated as ``outlier x overlap / claim length``;
- SNF, home health, hospice: ``paid x overlap / claim length`` (length = end - start + 1);
  CMS prorates a home-health LUPA period by its visits inside the window instead; claims do
  not flag LUPA periods here, so every period is prorated by days (a simplification);
- professional, outpatient, DME: dated services, not prorated.

GMLOS comes from a table the user supplies (CMS's IPPS Table 5: ``drg_code, gmlos``); without
one it is the geometric mean length of stay of each MS-DRG's stays in the panel itself. Paid
amounts do not separate outlier payments, so the whole payment is treated as non-outlier unless
the claims carry an ``outlier_amount`` column.

**Winsorization** (``g11_winsorize_episode_cost``): kept episodes' total spending is bounded to
the model's lower and upper percentiles within each episode type (category x priced MS-DRG or
HCPCS) and anchor year; TEAM caps the high side only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from contracts.bundles.definitions import SETTINGS, EpisodeDefinition
from contracts.bundles.episodes import KEPT, OUTPATIENT_CATEGORIES
from contracts.bundles.parameters import (
    excluded_hcpcs,
    excluded_mdc_drgs,
    excluded_readmission_drgs,
)
from modeling.core.acute_legs import IRF_REVENUE
from modeling.validation import require_columns

SPEND_COLUMNS = tuple(f"spend_{s}" for s in SETTINGS)
DAY_PRORATED = ("snf", "home_health", "hospice")
CATEGORY_SETTING = {
    "acute inpatient": "readmission",
    "skilled nursing facility": "snf",
    "home health": "home_health",
    "outpatient hospital": "outpatient",
    "emergency department": "outpatient",
    "office/professional": "professional",
}


def claim_spans(claim_lines: pl.LazyFrame, *, cms_exclusions: bool) -> pl.LazyFrame:
    """One row per claim line, with its claim's dates: person_id, claim_id, service_category,
    claim_type, start, end (admission/discharge, else the claim's dates), drg_code,
    rendering_npi, paid (0 for an excluded Part B drug line), excluded_drug_paid, is_irf.

    Spending stays at line level: the claim's header fields (dates, DRG) are on each of its
    lines (the canonical, Tuva-style layout) and every proration rule is proportional to the
    amount, so prorating lines and adding them up is prorating the claim. An IRF claim is one
    with any revenue center 0024 line (membership in those few claims' ids)."""
    drug = (
        pl.col("hcpcs_code").is_in(excluded_hcpcs()["hcpcs_code"].implode()).fill_null(False)
        if cms_exclusions
        else pl.lit(False)
    )
    irf_line = (pl.col("revenue_center_code") == IRF_REVENUE).fill_null(False)
    irf = pl.col("claim_id").is_in(pl.col("claim_id").filter(irf_line).unique().implode())
    passthrough = [c for c in ("_person",) if c in claim_lines.collect_schema().names()]
    return claim_lines.select(
        *passthrough,
        "claim_id",
        "person_id",
        "service_category",
        "claim_type",
        pl.coalesce("admission_date", "claim_start_date").alias("start"),
        pl.coalesce("discharge_date", "claim_end_date").alias("end"),
        "drg_code",
        "rendering_npi",
        pl.when(drug).then(0.0).otherwise(pl.col("paid_amount")).alias("paid"),
        pl.when(drug).then(pl.col("paid_amount")).otherwise(0.0).alias("excluded_drug_paid"),
        (irf & (pl.col("service_category") == "acute inpatient")).alias("is_irf"),
    )


def panel_gmlos(inpatient: pl.LazyFrame) -> pl.LazyFrame:
    """drg_code, gmlos: the geometric mean length of stay (days, at least 1) of each MS-DRG's
    acute inpatient claims (``episodes.inpatient_claims``), the stand-in for CMS's Table 5 when
    none is supplied."""
    ip = inpatient.filter(~pl.col("is_irf"))
    los = pl.max_horizontal((pl.col("end") - pl.col("start")).dt.total_days(), pl.lit(1))
    return ip.group_by("drg_code").agg(los.cast(pl.Float64).log().mean().exp().alias("gmlos"))


def prorated_amount(
    setting: pl.Expr,
    start: pl.Expr,
    end: pl.Expr,
    window_end: pl.Expr,
    paid: pl.Expr,
    gmlos: pl.Expr,
    outlier: pl.Expr,
) -> pl.Expr:
    """The part of a claim's payment inside an episode ending on ``window_end`` (rules in the
    module docstring). ``paid`` includes ``outlier``."""
    length = (end - start).dt.total_days() + 1
    overlap = (window_end - start).dt.total_days() + 1
    base = paid - outlier
    per_diem = base / gmlos
    inpatient = (
        pl.when(overlap >= gmlos - 1)
        .then(base)
        .otherwise(pl.min_horizontal((overlap + 1) * per_diem, base))
        + outlier * overlap / length
    )
    straddles = end > window_end
    return (
        pl.when(~straddles)
        .then(paid)
        .when(setting.is_in(["readmission", "irf"]))
        .then(inpatient)
        .when(setting.is_in(list(DAY_PRORATED)))
        .then(paid * overlap / length)
        .otherwise(paid)
    )


def people_claims(
    claim_lines: pl.LazyFrame, episodes: pl.DataFrame, *, cms_exclusions: bool, after_days: int
) -> pl.LazyFrame:
    """``claim_spans`` of the claims of people with a kept episode that start between the day
    before their first episode and ``after_days`` after their last episode's window."""
    bounds = (
        episodes.filter(pl.col("status") == KEPT)
        .group_by("person_id")
        .agg(
            (pl.col("anchor_start").min() - pl.duration(days=1)).alias("_from"),
            (pl.col("window_end").max() + pl.duration(days=after_days)).alias("_to"),
        )
        .sort("person_id")
        .with_row_index("_person", offset=1)
    )
    # membership first (cheap), then each person's own date bounds on the fewer lines left
    lines = (
        claim_lines.filter(pl.col("person_id").is_in(bounds["person_id"].implode()))
        .join(bounds.lazy(), on="person_id", how="inner")
        .filter(pl.col("claim_start_date").is_between("_from", "_to"))
    )
    return claim_spans(lines.drop("_from", "_to"), cms_exclusions=cms_exclusions)


@dataclass(frozen=True)
class PersonClaims:
    """``claim_spans`` of a set of people indexed for range look-ups: ``claims`` (with
    ``_person``, the person's ordinal), ``people`` (person_id, _person), ``keys`` (``_person``
    in the high 32 bits and the start day, offset to be positive, in the low 32 bits) sorted,
    and ``order`` the claims' rows in that order: one binary search finds a person's claims
    from a date to a date."""

    claims: pl.DataFrame
    people: pl.DataFrame
    keys: np.ndarray
    order: np.ndarray


def _day_key(person: pl.Expr, day: pl.Expr) -> pl.Expr:
    return person.cast(pl.Int64) * (1 << 32) + day.cast(pl.Int64) + (1 << 31)


def index_claims(spans: pl.DataFrame) -> PersonClaims:
    """``PersonClaims`` of ``claim_spans`` rows (with the person ordinal ``_person`` of
    ``people_claims`` when it has it). Only the keys are sorted (a stable sort, so equal keys
    keep the rows' order); the claims stay where they are until a look-up gathers them."""
    require_columns(spans, ("person_id", "claim_id", "start"), where="index_claims (claim spans)")
    if "_person" not in spans.columns:
        spans = spans.join(
            spans.select("person_id").unique().sort("person_id").with_row_index("_person", 1),
            on="person_id",
        )
    keys = spans.select(_day_key(pl.col("_person"), pl.col("start"))).to_series().to_numpy()
    order = np.argsort(keys, kind="stable")
    people = spans.select("person_id", "_person").unique("_person")
    return PersonClaims(spans, people, keys[order], order)


def window_pairs(
    index: PersonClaims, windows: pl.DataFrame, *, before_days: int, after_days: int
) -> pl.DataFrame:
    """Every (window, claim) of the window's person whose start is from ``before_days`` before
    ``anchor_start`` to ``after_days`` after ``window_end``: the columns of ``windows`` and of
    the claims side by side. Two binary searches per window over the sorted claim keys give
    the range of its claims, so the work is proportional to the pairs found, not to each
    person's claims times their windows (a join on the person)."""
    found = windows.join(index.people, on="person_id", how="inner")
    lo = found.select(
        _day_key(pl.col("_person"), pl.col("anchor_start") - pl.duration(days=before_days))
    ).to_series()
    hi = found.select(
        _day_key(pl.col("_person"), pl.col("window_end") + pl.duration(days=after_days))
    ).to_series()
    first = np.searchsorted(index.keys, lo.to_numpy(), side="left")
    last = np.searchsorted(index.keys, hi.to_numpy(), side="right")
    counts = last - first
    owner = np.repeat(np.arange(found.height), counts)
    within = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    rows = index.order[first[owner] + within]
    left = found.drop("_person", "person_id")[owner]
    right = index.claims.drop("_person", "person_id")[rows]
    return pl.concat([left, right], how="horizontal")


def episode_claims(
    episodes: pl.DataFrame,
    claims: PersonClaims,
    spec: EpisodeDefinition,
    *,
    gmlos: pl.LazyFrame,
    post_days: int = 0,
) -> pl.LazyFrame:
    """One row per (kept episode, claim line in its window, or starting in the ``post_days``
    after it: ``in_window`` false; ``in_anchor`` when it starts by the anchor's end):
    episode_id, claim_id, setting, paid,
    amount (prorated, 0 when excluded), excluded (reason or null). ``claims`` are the indexed
    ``claim_spans`` (of at least the episodes' people), ``gmlos`` has drg_code, gmlos."""
    kept = episodes.filter(pl.col("status") == KEPT)
    table = gmlos.select(pl.col("drg_code").cast(pl.String), pl.col("gmlos").cast(pl.Float64))
    windows = kept.select("episode_id", "person_id", "anchor_start", "anchor_end", "window_end")
    anchor = (
        kept.lazy()
        .select("episode_id", pl.col("anchor_claim_ids").alias("claim_id"))
        .explode("claim_id")
        .with_columns(pl.lit(True).alias("is_anchor"))
    )
    early = pl.col("claim_type").eq("professional") | pl.col("service_category").is_in(
        OUTPATIENT_CATEGORIES
    )
    first_day = (
        pl.when(early)
        .then(pl.col("anchor_start") - pl.duration(days=1))
        .otherwise(pl.col("anchor_start"))
    )
    joined = (
        window_pairs(claims, windows, before_days=1, after_days=post_days)
        .lazy()
        .filter(pl.col("start") >= first_day)
        .join(anchor, on=["episode_id", "claim_id"], how="left")
    )
    setting = (
        pl.when(pl.col("is_anchor").fill_null(False))
        .then(pl.lit("anchor"))
        .when(pl.col("is_irf"))
        .then(pl.lit("irf"))
        .otherwise(
            pl.col("service_category").replace_strict(
                CATEGORY_SETTING, default="other", return_dtype=pl.String
            )
        )
    )
    joined = joined.with_columns(
        setting.alias("setting"),
        (pl.col("service_category") == "hospice").alias("_hospice"),
    ).join(table, on="drg_code", how="left")
    out = pl.lit(0.0)
    amount = prorated_amount(
        pl.when(pl.col("_hospice")).then(pl.lit("hospice")).otherwise(pl.col("setting")),
        pl.col("start"),
        pl.col("end"),
        pl.col("window_end"),
        pl.col("paid"),
        pl.col("gmlos").fill_null(1.0),
        out,
    )
    joined = joined.with_columns(amount.alias("amount"))
    if spec.cms_exclusions:
        joined = _exclude_readmissions(joined)
    else:
        joined = joined.with_columns(pl.lit(None, dtype=pl.String).alias("excluded"))
    not_included = ~pl.col("setting").is_in(list(spec.included_settings))
    return (
        joined.with_columns(
            pl.when(not_included & pl.col("excluded").is_null())
            .then(pl.lit("setting not included in the bundle"))
            .otherwise("excluded")
            .alias("excluded"),
        )
        .with_columns(
            pl.when(pl.col("excluded").is_not_null())
            .then(0.0)
            .otherwise(pl.col("amount"))
            .alias("amount")
        )
        .select(
            "episode_id",
            "claim_id",
            (pl.col("start") <= pl.col("window_end")).alias("in_window"),
            (pl.col("start") <= pl.col("anchor_end")).alias("in_anchor"),
            "setting",
            "start",
            "end",
            "rendering_npi",
            "claim_type",
            "paid",
            "excluded_drug_paid",
            "amount",
            "excluded",
        )
    )


def _exclude_readmissions(joined: pl.LazyFrame) -> pl.LazyFrame:
    """Readmissions with an excluded MS-DRG or MDC, and professional claims during them."""
    bad = pl.concat(
        [excluded_readmission_drgs()["drg_code"], excluded_mdc_drgs()["drg_code"]]
    ).unique()
    excluded_stay = (pl.col("setting") == "readmission") & pl.col("drg_code").is_in(bad.implode())
    joined = joined.with_columns(
        pl.when(excluded_stay)
        .then(pl.concat_str(pl.lit("excluded readmission MS-DRG "), pl.col("drg_code")))
        .otherwise(pl.lit(None, dtype=pl.String))
        .alias("excluded")
    )
    stays = joined.filter(pl.col("excluded").is_not_null()).select(
        "episode_id", pl.col("start").alias("_from"), pl.col("end").alias("_to")
    )
    during = (
        joined.filter(pl.col("claim_type") == "professional")
        .select("episode_id", "claim_id", "start")
        .join(stays, on="episode_id", how="inner")
        .filter(pl.col("start").is_between("_from", "_to"))
        .select("episode_id", "claim_id", pl.lit(True).alias("_during"))
        .unique()
    )
    return (
        joined.join(during, on=["episode_id", "claim_id"], how="left")
        .with_columns(
            pl.when(pl.col("_during").fill_null(False) & pl.col("excluded").is_null())
            .then(pl.lit("professional claim during an excluded readmission"))
            .otherwise("excluded")
            .alias("excluded")
        )
        .drop("_during")
    )


def spending_by_setting(claims: pl.LazyFrame) -> pl.LazyFrame:
    """episode_id, spend_<setting> for every setting, total_spending."""
    wide = claims.group_by("episode_id").agg(
        [
            pl.col("amount").filter(pl.col("setting") == s).sum().alias(f"spend_{s}")
            for s in SETTINGS
        ]
    )
    return wide.with_columns(pl.sum_horizontal(SPEND_COLUMNS).alias("total_spending"))


def winsorize(
    frame: pl.DataFrame,
    *,
    lower: float | None,
    upper: float | None,
    by: tuple[str, ...] = ("episode_category", "priced_as", "anchor_year"),
    column: str = "total_spending",
) -> pl.DataFrame:
    """``column`` bounded to its ``lower``/``upper`` quantiles within ``by`` (kept episodes
    only, others left as they are), as ``winsorized_spending``; ``winsor_low``/``winsor_high``
    are the bounds used."""
    kept = pl.col("status") == KEPT
    group = list(by)
    lo = (
        pl.col(column).filter(kept).quantile(lower, "linear").over(group)
        if lower is not None
        else pl.lit(None, dtype=pl.Float64)
    )
    hi = (
        pl.col(column).filter(kept).quantile(upper, "linear").over(group)
        if upper is not None
        else pl.lit(None, dtype=pl.Float64)
    )
    out = frame.with_columns(lo.alias("winsor_low"), hi.alias("winsor_high"))
    clipped = pl.col(column).clip(pl.col("winsor_low"), pl.col("winsor_high"))
    return out.with_columns(
        pl.when(kept).then(clipped).otherwise(pl.col(column)).alias("winsorized_spending")
    )
