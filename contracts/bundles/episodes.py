"""Episodes from claims: triggers, transfer chaining, beneficiary inclusion, death, overlap and
the episode window, one row per trigger with its status (kept, cancelled, excluded) and reason.

The rules, as CMS's published episode code builds BPCI Advanced episodes (CMMI shadow bundles,
2025-01-21: ``c3``, ``c4``, ``c5``, ``c6``, ``e1``) and TEAM's 42 CFR 512.525-512.537:

- **Inpatient anchors.** Acute inpatient claims (type of bill 11x, not IRF: revenue center 0024)
  of a person are chained into one anchor stay while the next admission is on or before the
  latest discharge so far (a transfer: admission on the previous discharge day, or an interim
  bill). The anchor runs from the first admission to the last discharge and triggers on the
  final leg's MS-DRG; the episode is attributed to the final leg's hospital. It is priced as
  that MS-DRG, remapped to its baseline code when the grouper changed it (``drg_remap.csv``,
  512.540(a)(1)).
- **Outpatient anchors.** An outpatient hospital line with a trigger HCPCS and a positive paid
  amount; when a claim has several, the highest-paid line (then the lowest line number). The
  anchor is the one day of the procedure.
- **Outpatient procedure followed by admission** (TEAM): an inpatient anchor of the same
  category admitted on the day of, or within ``outpatient_to_admission_days`` after, an
  outpatient anchor starts on the procedure day; the outpatient trigger is excluded as part of
  it.
- **Window.** Day 1 is the day of discharge (or of the procedure); the window ends on day
  ``window_days``: ``window_end = anchor_end + window_days - 1``.
- **Beneficiary inclusion** (512.535; shadow bundles c6): at the anchor's start the person is
  enrolled with a payer type of the model (Medicare FFS: Parts A and B) and, where the model
  excludes it, not ESRD (Medicare status 11, 21, 31). Failing at the start excludes the trigger;
  failing later in the window (enrollment ends, ESRD, Medicare Advantage) cancels the episode.
  The canonical schema has no Part A/B or Medicare-secondary-payer flags: a Medicare FFS span
  is taken as Parts A and B with Medicare primary (stated in every reason that relies on it).
- **Exclusions.** Anchor stays longer than ``max_anchor_los`` days; a leg in an excluded MDC
  (02, 14, 15, 25); death during the anchor (discharge status 20, 40-42 or a death date on or
  before discharge) cancels (TEAM) or excludes (BPCI Advanced) the trigger; a window that ends
  after the last eligibility date of the data is excluded as incomplete.
- **Overlap** (after the exclusions above, person by person in order of anchor start): a
  trigger that starts inside the window of the episode kept before it is excluded, the earlier
  one kept (TEAM, ``keep_prior``). BPCI Advanced (``e1_resolve_bpcia_overlap``) keeps the later
  one instead when both are major joint replacement of the lower extremity, or the earlier is
  PCI and the later TAVR.
- **Death after the anchor** truncates the window at the date of death (both models as
  configured; a definition may cancel instead).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from contracts.bundles.definitions import EpisodeDefinition
from contracts.bundles.parameters import bundle_csv, excluded_mdc_drgs
from modeling.codes import ESRD_MEDICARE_STATUSES
from modeling.core.acute_legs import acute_legs
from modeling.validation import require_columns

KEPT, CANCELLED, EXCLUDED = "kept", "cancelled", "excluded"
DIED_DISPOSITIONS = ("20", "40", "41", "42")
OUTPATIENT_CATEGORIES = ("outpatient hospital", "emergency department")
# BPCI Advanced overlap exceptions (e1_resolve_bpcia_overlap.sas): the later episode is kept
BPCI_MJRLE = "MS-Major joint replacement of the lower extremity"
BPCI_PCI = ("IP-Percutaneous coronary intervention", "OP-Percutaneous coronary intervention")
BPCI_TAVR = "IP-Transcatheter aortic valve replacement"

LINE_COLUMNS = (
    "claim_id",
    "claim_line_number",
    "claim_type",
    "person_id",
    "claim_start_date",
    "claim_end_date",
    "admission_date",
    "discharge_date",
    "discharge_disposition_code",
    "drg_code",
    "revenue_center_code",
    "hcpcs_code",
    "facility_npi",
    "rendering_npi",
    "paid_amount",
    "service_category",
)
ELIGIBILITY_COLUMNS = (
    "person_id",
    "payer_type",
    "medicare_status_code",
    "death_date",
    "enrollment_start_date",
    "enrollment_end_date",
)
EPISODE_COLUMNS = (
    "episode_id",
    "person_id",
    "model",
    "episode_category",
    "medical_surgical",
    "anchor_type",
    "anchor_code",
    "priced_as",
    "facility_npi",
    "anchor_start",
    "anchor_end",
    "window_end",
    "status",
    "reason",
    "anchor_claim_ids",
    "death_date",
)


def inpatient_claims(lines: pl.LazyFrame) -> pl.LazyFrame:
    """One row per acute inpatient claim (IRF claims flagged): claim_id, person_id, start, end,
    drg_code, discharge_disposition_code, facility_npi, paid_amount, is_irf (the core's
    ``acute_legs`` rule, applied to any claim lines; a panel reads the core table instead)."""
    return acute_legs(lines)


def run_numbers(person: str, start: str, end: str, *, gap_days: int = 0) -> pl.Expr:
    """A number for each run of overlapping rows of a frame sorted by ``person``, ``start``: a
    row starts a new run when it is a new person's first or starts more than ``gap_days``
    after the latest ``end`` so far of the person's earlier rows.

    Vectorized over the whole frame, without a window per person: the person's ordinal (rows
    are sorted by person) is put in the high bits and the end date in the low bits of one
    64-bit key, whose running maximum over the frame is then the running maximum of the
    person's own ends (every earlier person's key is smaller)."""
    first = pl.col(person) != pl.col(person).shift(1)
    ordinal = first.fill_null(True).cast(pl.Int64).cum_sum()
    offset = 1 << 31
    key = ordinal * (1 << 32) + pl.col(end).cast(pl.Int64) + offset
    latest_end = key.cum_max().shift(1) - ordinal * (1 << 32) - offset
    new = first.fill_null(True) | (pl.col(start).cast(pl.Int64) > latest_end + gap_days)
    return new.cast(pl.Int64).cum_sum()


def chained_stays(inpatient: pl.LazyFrame) -> pl.LazyFrame:
    """Acute (non-IRF) inpatient claims chained into stays: a claim admitted on or before the
    latest discharge so far continues the stay (transfer or interim bill). One row per stay:
    person_id, anchor_start, anchor_end, drg_code/facility_npi/discharge_disposition_code of the
    final leg, legs, claim_ids (in order), leg_drgs."""
    acute = inpatient.filter(~pl.col("is_irf")).sort("person_id", "start", "end", "claim_id")
    return (
        acute.with_columns(run_numbers("person_id", "start", "end").alias("_stay"))
        .group_by("_stay", maintain_order=True)
        .agg(
            pl.col("person_id").first(),
            pl.col("start").min().alias("anchor_start"),
            pl.col("end").max().alias("anchor_end"),
            pl.col("drg_code").last(),
            pl.col("facility_npi").last(),
            pl.col("discharge_disposition_code").last(),
            pl.col("claim_id").last().alias("trigger_claim"),
            pl.len().alias("legs"),
            pl.col("claim_id").alias("claim_ids"),
            pl.col("drg_code").alias("leg_drgs"),
        )
        .drop("_stay")
    )


def _inpatient_triggers(stays: pl.LazyFrame, spec: EpisodeDefinition) -> pl.LazyFrame:
    codes = (
        spec.triggers.filter(pl.col("anchor_type") == "inpatient")
        .unique("code", keep="first")
        .select(
            pl.col("code").alias("drg_code"),
            "episode_category",
            "medical_surgical",
        )
    )
    mdc = excluded_mdc_drgs()["drg_code"].implode()
    remap = dict(bundle_csv("drg_remap.csv").select("drg_code", "baseline_drg_code").iter_rows())
    return stays.join(codes.lazy(), on="drg_code", how="inner").select(
        pl.col("trigger_claim").alias("trigger_claim"),
        "person_id",
        "episode_category",
        "medical_surgical",
        pl.lit("inpatient").alias("anchor_type"),
        pl.col("drg_code").alias("anchor_code"),
        pl.col("drg_code").replace(remap).alias("priced_as"),  # 512.540(a)(1) remap
        "facility_npi",
        "anchor_start",
        "anchor_end",
        "discharge_disposition_code",
        pl.col("claim_ids").alias("anchor_claim_ids"),
        pl.col("leg_drgs").list.eval(pl.element().is_in(mdc)).list.any().alias("excluded_leg"),
    )


def _outpatient_triggers(lines: pl.LazyFrame, spec: EpisodeDefinition) -> pl.LazyFrame:
    codes = (
        spec.triggers.filter(pl.col("anchor_type") == "outpatient")
        .unique("code", keep="first")
        .select(
            pl.col("code").alias("hcpcs_code"),
            "episode_category",
            "medical_surgical",
            pl.when(pl.col("priced_as_drg").fill_null("") == "")
            .then(pl.col("code"))
            .otherwise(pl.col("priced_as_drg"))
            .alias("priced_as"),
        )
    )
    op = lines.filter(
        pl.col("service_category").is_in(OUTPATIENT_CATEGORIES)
        & pl.col("hcpcs_code").is_in(codes["hcpcs_code"].implode())
        & (pl.col("paid_amount") > 0)
    )
    best = op.sort(
        ["claim_id", "paid_amount", "claim_line_number"], descending=[False, True, False]
    ).unique("claim_id", keep="first")
    return best.join(codes.lazy(), on="hcpcs_code", how="inner").select(
        pl.col("claim_id").alias("trigger_claim"),
        "person_id",
        "episode_category",
        "medical_surgical",
        pl.lit("outpatient").alias("anchor_type"),
        pl.col("hcpcs_code").alias("anchor_code"),
        "priced_as",
        "facility_npi",
        pl.col("claim_start_date").alias("anchor_start"),
        pl.col("claim_start_date").alias("anchor_end"),
        pl.lit(None, dtype=pl.String).alias("discharge_disposition_code"),
        pl.concat_list(pl.col("claim_id")).alias("anchor_claim_ids"),
        pl.lit(False).alias("excluded_leg"),
    )


def eligible_spans(eligibility: pl.LazyFrame, spec: EpisodeDefinition) -> pl.LazyFrame:
    """person_id, span_start, span_end: the person's enrollment in the model's payer types (not
    ESRD where the model excludes it), contiguous spans (within a day) merged."""
    ok = pl.col("payer_type").is_in(list(spec.payer_types))
    if spec.exclude_esrd:
        ok = ok & ~pl.col("medicare_status_code").fill_null("").is_in(ESRD_MEDICARE_STATUSES)
    spans = (
        eligibility.filter(ok)
        .select("person_id", "enrollment_start_date", "enrollment_end_date")
        .sort("person_id", "enrollment_start_date")
    )
    run = run_numbers("person_id", "enrollment_start_date", "enrollment_end_date", gap_days=1)
    return (
        spans.with_columns(run.alias("_span"))
        .group_by("_span", maintain_order=True)
        .agg(
            pl.col("person_id").first(),
            pl.col("enrollment_start_date").min().alias("span_start"),
            pl.col("enrollment_end_date").max().alias("span_end"),
        )
        .drop("_span")
    )


def _start_reason(eligibility: pl.LazyFrame, triggers: pl.LazyFrame) -> pl.LazyFrame:
    """trigger_claim, why_not: what the person was at the anchor's start (Medicare Advantage,
    ESRD, another payer, or not enrolled)."""
    at = triggers.select("trigger_claim", "person_id", "anchor_start").join(
        eligibility.select(
            "person_id",
            "payer_type",
            "medicare_status_code",
            "enrollment_start_date",
            "enrollment_end_date",
        ),
        on="person_id",
        how="inner",
    )
    at = at.filter(
        pl.col("anchor_start").is_between("enrollment_start_date", "enrollment_end_date")
    )
    why = (
        pl.when(pl.col("medicare_status_code").fill_null("").is_in(ESRD_MEDICARE_STATUSES))
        .then(pl.lit("eligible for Medicare on the basis of ESRD"))
        .when(pl.col("payer_type") == "medicare advantage")
        .then(pl.lit("enrolled in Medicare Advantage"))
        .otherwise(pl.concat_str(pl.lit("covered by payer type "), pl.col("payer_type")))
    )
    return at.group_by("trigger_claim").agg(why.first().alias("why_not"))


@dataclass(frozen=True)
class AnchorSources:
    """What every model's triggers are found in, read once for several models: the chained
    acute stays (``chained_stays``) and the outpatient lines with a candidate HCPCS."""

    stays: pl.DataFrame
    outpatient: pl.DataFrame


def anchor_sources(
    claim_lines: pl.LazyFrame, hcpcs: list[str], *, legs: pl.LazyFrame | None = None
) -> AnchorSources:
    """``AnchorSources`` of the claim lines for outpatient trigger codes ``hcpcs``; ``legs``
    are the acute legs (the core's ``acute_legs``) when already derived, else they are made
    from the claim lines."""
    lines = claim_lines.select(LINE_COLUMNS)
    op = lines.filter(
        pl.col("service_category").is_in(OUTPATIENT_CATEGORIES) & pl.col("hcpcs_code").is_in(hcpcs)
    )
    acute = legs if legs is not None else inpatient_claims(lines)
    stays, outpatient = pl.collect_all([chained_stays(acute), op])
    return AnchorSources(stays, outpatient)


def build_episodes(
    claim_lines: pl.LazyFrame,
    eligibility: pl.LazyFrame,
    spec: EpisodeDefinition,
    *,
    data_end: dt.date | None = None,
    sources: AnchorSources | None = None,
) -> pl.DataFrame:
    """One row per trigger of ``spec`` (columns ``EPISODE_COLUMNS``), with its status and reason.

    ``claim_lines`` are canonical claim lines with ``service_category`` (the core's
    ``claim_lines``); ``eligibility`` the canonical enrollment spans; ``data_end`` the last
    date of the data (by default the last enrollment end date in ``eligibility``);
    ``sources`` the anchors' claims when already read for another model.
    """
    require_columns(claim_lines, LINE_COLUMNS, where="bundle episodes (claim lines)")
    require_columns(eligibility, ELIGIBILITY_COLUMNS, where="bundle episodes (eligibility)")
    if sources is None:
        codes = spec.triggers.filter(pl.col("anchor_type") == "outpatient")["code"].to_list()
        sources = anchor_sources(claim_lines, codes)
    ip = _inpatient_triggers(sources.stays.lazy(), spec)
    op = _outpatient_triggers(sources.outpatient.lazy(), spec)
    trig = pl.concat([ip, op], how="vertical_relaxed").collect().lazy()
    end = (
        pl.LazyFrame({"data_end": [data_end]}, schema={"data_end": pl.Date})
        if data_end is not None
        else eligibility.select(pl.col("enrollment_end_date").max().alias("data_end"))
    )
    deaths = eligibility.group_by("person_id").agg(pl.col("death_date").max())
    spans = eligible_spans(eligibility, spec)
    covering = (
        trig.select("trigger_claim", "person_id", "anchor_start")
        .join(spans, on="person_id", how="inner")
        .filter(pl.col("anchor_start").is_between("span_start", "span_end"))
        .group_by("trigger_claim")
        .agg(pl.col("span_end").max().alias("eligible_until"))
    )
    frame = (
        trig.join(deaths, on="person_id", how="left")
        .join(covering, on="trigger_claim", how="left")
        .join(_start_reason(eligibility, trig), on="trigger_claim", how="left")
        .join(end, how="cross")
        .collect()
    )
    return _resolve(frame, spec)


def _resolve(frame: pl.DataFrame, spec: EpisodeDefinition) -> pl.DataFrame:
    """Statuses and reasons in the order of the module docstring."""
    window = pl.duration(days=spec.window_days - 1)
    died_in_anchor = pl.col("discharge_disposition_code").fill_null("").is_in(DIED_DISPOSITIONS) | (
        pl.col("death_date") <= pl.col("anchor_end")
    ).fill_null(False)
    los = (pl.col("anchor_end") - pl.col("anchor_start")).dt.total_days()
    no_ffs = "not enrolled in Medicare FFS (Parts A and B, Medicare primary) at the anchor"
    eligible_text = (
        no_ffs if spec.payer_types == ("medicare",) else "not enrolled with an included payer"
    )
    not_eligible = pl.concat_str(
        pl.lit(eligible_text + ": "), pl.col("why_not").fill_null("no enrollment span")
    )
    death_status = {"cancel": CANCELLED, "exclude": EXCLUDED, "keep": None}[spec.death_in_anchor]
    rule = (
        pl.when(pl.col("eligible_until").is_null())
        .then(pl.struct(status=pl.lit(EXCLUDED), reason=not_eligible))
        .when(pl.col("excluded_leg"))
        .then(
            pl.struct(
                status=pl.lit(EXCLUDED),
                reason=pl.lit("a leg of the anchor stay is in an excluded MDC (02, 14, 15, 25)"),
            )
        )
        .when(los > spec.max_anchor_los)
        .then(
            pl.struct(
                status=pl.lit(EXCLUDED),
                reason=pl.lit(f"anchor stay longer than {spec.max_anchor_los} days"),
            )
        )
    )
    if death_status is not None:
        rule = rule.when(died_in_anchor).then(
            pl.struct(
                status=pl.lit(death_status), reason=pl.lit("beneficiary died during the anchor")
            )
        )
    decided = rule.otherwise(
        pl.struct(status=pl.lit(None, pl.String), reason=pl.lit(None, pl.String))
    )
    frame = (
        frame.with_columns(
            (pl.col("anchor_end") + window).alias("window_end"),
            decided.alias("_s"),
        )
        .unnest("_s")
        .with_columns(
            (pl.lit(spec.model) + ":" + pl.col("trigger_claim")).alias("episode_id"),
            pl.lit(spec.model).alias("model"),
        )
    )
    if spec.outpatient_to_admission_days > 0:
        frame = _outpatient_then_admission(frame, spec.outpatient_to_admission_days)
    frame = _overlaps(frame, spec.overlap_rule)
    truncated = pl.min_horizontal("window_end", "death_date")
    late = (
        pl.col("status").is_null()
        & pl.col("death_date").is_between("anchor_end", "window_end", closed="right")
    ).fill_null(False)
    if spec.death_after_anchor == "cancel":
        frame = frame.with_columns(
            pl.when(late).then(pl.lit(CANCELLED)).otherwise("status").alias("status"),
            pl.when(late)
            .then(pl.lit("beneficiary died during the episode"))
            .otherwise("reason")
            .alias("reason"),
        )
    else:
        frame = frame.with_columns(
            pl.when(late).then(truncated).otherwise("window_end").alias("window_end"),
            pl.when(late)
            .then(pl.lit("window truncated at the date of death"))
            .otherwise("reason")
            .alias("reason"),
        )
    pending = pl.col("status").is_null()
    incomplete = pending & (pl.col("window_end") > pl.col("data_end"))
    lost = pending & (pl.col("eligible_until") < pl.col("window_end"))
    frame = frame.with_columns(
        pl.when(incomplete)
        .then(pl.lit(EXCLUDED))
        .when(lost)
        .then(pl.lit(CANCELLED))
        .when(pending)
        .then(pl.lit(KEPT))
        .otherwise("status")
        .alias("status"),
        pl.when(incomplete)
        .then(pl.lit("window ends after the last date of the data (incomplete)"))
        .when(lost)
        .then(
            pl.lit(
                "beneficiary left the included enrollment during the episode (disenrolled, Medicare Advantage or ESRD)"
            )
        )
        .otherwise("reason")
        .alias("reason"),
    )
    return frame.select(EPISODE_COLUMNS).sort("person_id", "anchor_start", "episode_id")


def _outpatient_then_admission(frame: pl.DataFrame, days: int) -> pl.DataFrame:
    """An inpatient trigger of the same category admitted 0-``days`` days after an outpatient
    trigger starts at the procedure; the outpatient trigger is excluded as part of it."""
    pending = pl.col("status").is_null()
    op = frame.filter(pending & (pl.col("anchor_type") == "outpatient")).select(
        "person_id", "episode_category", "episode_id", pl.col("anchor_start").alias("op_date")
    )
    ip = frame.filter(pending & (pl.col("anchor_type") == "inpatient")).select(
        "person_id", "episode_category", pl.col("episode_id").alias("ip_id"), "anchor_start"
    )
    pairs = (
        op.join(ip, on=["person_id", "episode_category"], how="inner")
        .filter(
            (pl.col("anchor_start") >= pl.col("op_date"))
            & (pl.col("anchor_start") <= pl.col("op_date") + pl.duration(days=days))
        )
        .sort("anchor_start")
        .unique("episode_id", keep="first")
        .unique("ip_id", keep="first")
    )
    if pairs.is_empty():
        return frame
    merged_op = pairs.select("episode_id", "ip_id")
    new_start = pairs.select(pl.col("ip_id").alias("episode_id"), "op_date")
    return (
        frame.join(merged_op, on="episode_id", how="left")
        .join(new_start, on="episode_id", how="left")
        .with_columns(
            pl.when(pl.col("ip_id").is_not_null())
            .then(pl.lit(EXCLUDED))
            .otherwise("status")
            .alias("status"),
            pl.when(pl.col("ip_id").is_not_null())
            .then(
                pl.concat_str(
                    pl.lit(
                        f"outpatient procedure followed by an admission within {days} days: part of "
                    ),
                    pl.col("ip_id"),
                )
            )
            .otherwise("reason")
            .alias("reason"),
            pl.coalesce("op_date", "anchor_start").alias("anchor_start"),
        )
        .drop("ip_id", "op_date")
    )


def _overlaps(frame: pl.DataFrame, rule: str) -> pl.DataFrame:
    """Overlap precedence among the triggers still pending, person by person in anchor order
    (vectorized across people, one pass per position within a person)."""
    frame = frame.sort("person_id", "anchor_start", "anchor_end", "episode_id")
    pending = frame["status"].is_null().to_numpy()
    idx_all = np.flatnonzero(pending)
    n = frame.height
    superseded_by = np.full(n, -1)
    overlapped_by = np.full(n, -1)
    if idx_all.size:
        sub = frame[idx_all]
        person = sub["person_id"].rank("dense").to_numpy().astype(np.int64) - 1
        pos = sub.select(pl.int_range(pl.len()).over("person_id"))
        pos_arr = pos.to_series().to_numpy()
        start = sub["anchor_start"].cast(pl.Int32).to_numpy()  # days since 1970-01-01
        end = sub["window_end"].cast(pl.Int32).to_numpy()
        cat = sub["episode_category"].to_numpy().astype(str)
        last = np.full(int(person.max()) + 1, -1)
        kept = np.ones(len(sub), dtype=bool)
        for k in range(int(pos_arr.max()) + 1):
            cur = np.flatnonzero(pos_arr == k)
            prior = last[person[cur]]
            has = prior >= 0
            safe = np.where(has, prior, 0)
            overlap = has & (start[cur] <= end[safe])
            replace = np.zeros(len(cur), dtype=bool)
            if rule == "bpci":
                replace = overlap & (
                    ((cat[cur] == BPCI_MJRLE) & (cat[safe] == BPCI_MJRLE))
                    | (np.isin(cat[safe], BPCI_PCI) & (cat[cur] == BPCI_TAVR))
                )
            drop = overlap & ~replace
            kept[cur[drop]] = False
            kept[safe[replace]] = False
            superseded_by[idx_all[safe[replace]]] = idx_all[cur[replace]]
            overlapped_by[idx_all[cur[drop]]] = idx_all[safe[drop]]
            stay = cur[~drop]
            last[person[stay]] = stay
    ids = frame["episode_id"]
    later = ids.gather(np.maximum(superseded_by, 0)).alias("_later")
    earlier = ids.gather(np.maximum(overlapped_by, 0)).alias("_earlier")
    return (
        frame.with_columns(
            pl.when(pl.Series(superseded_by >= 0)).then(later).alias("_later"),
            pl.when(pl.Series(overlapped_by >= 0)).then(earlier).alias("_earlier"),
        )
        .with_columns(
            pl.when(pl.col("_later").is_not_null() | pl.col("_earlier").is_not_null())
            .then(pl.lit(EXCLUDED))
            .otherwise("status")
            .alias("status"),
            pl.when(pl.col("_later").is_not_null())
            .then(pl.concat_str(pl.lit("overlap: superseded by the later episode "), "_later"))
            .when(pl.col("_earlier").is_not_null())
            .then(
                pl.concat_str(pl.lit("overlap: starts inside the window of episode "), "_earlier")
            )
            .otherwise("reason")
            .alias("reason"),
        )
        .drop("_later", "_earlier")
    )
