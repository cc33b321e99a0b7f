"""Reconciliation of a bundled-payment performance year: the reconciliation amount, the quality
adjustment, stop-gain and stop-loss, the post-episode spending test and the payment or
repayment, itemized like the ACO settlements.

The steps (TEAM 42 CFR 512.550 as described by secondary sources, the text of 512.550 not
being retrievable here; BPCI Advanced as its reconciliation report and Milliman's code apply
them):

1. **Reconciliation amount** = sum of reconciliation target prices - sum of performance-year
   spending (prorated, winsorized), over the hospital's kept episodes.
2. **Quality adjustment** by the composite quality score (CQS, 0-100): a positive amount is
   reduced by ``cqs_positive_max x (1 - CQS/100)``; a negative amount is reduced (relief) by
   ``cqs_negative_max x CQS/100``. TEAM's exact mapping is unconfirmed; the linear form is the
   one Milliman's BPCI Advanced scenarios use (QA10 ... QA0: positive haircut + negative relief
   = 10%). A commercial bundle shares savings and losses at its own rates instead.
3. **Stop-gain / stop-loss**: the quality-adjusted amount is bounded by the track's limits as
   shares of the target amount (TEAM Track 1 has no downside: a negative amount is owed as 0).
4. **Post-episode spending test**: when the hospital's mean spending in the days after its
   episodes exceeds the regional mean by more than ``post_episode_sd`` standard deviations
   (of episode-level post-episode spending), the excess over that threshold times the
   episodes is subtracted after the caps, not protected by stop-loss.
5. **Payment** (positive) or **repayment** (negative).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from contracts.bundles.definitions import CommercialTerms
from contracts.bundles.parameters import parameter, tracks
from modeling.errors import ParameterError


@dataclass(frozen=True)
class ReconciliationRules:
    """The financial rules of one model, performance year and track."""

    model: str
    performance_year: int
    track: str
    stop_gain: float | None  # share of the target amount; None: no limit
    stop_loss: float | None  # share of the target amount; None with two_sided False: no downside
    two_sided: bool
    cqs_positive_max: float
    cqs_negative_max: float
    savings_share: float = 1.0
    loss_share: float = 1.0
    post_episode_sd: float | None = None
    sources: tuple[tuple[str, str, str], ...] = ()  # (parameter, source, status)


def reconciliation_rules(model: str, *, performance_year: int, track: str) -> ReconciliationRules:
    """TEAM (track "1", "2", "3") or BPCI Advanced (track "*") rules from parameters.csv."""
    available = tracks(model, performance_year)
    if track not in available:
        raise ParameterError(
            f"{model} has no track {track!r} in performance year {performance_year} "
            f"(tracks: {', '.join(available)}; 42 CFR 512.520 for TEAM)."
        )
    names = ("stop_gain", "stop_loss", "cqs_positive_max", "cqs_negative_max", "post_episode_sd")
    got = {n: parameter(model, performance_year, n, track=track) for n in names}
    loss = got["stop_loss"].number
    return ReconciliationRules(
        model=model,
        performance_year=performance_year,
        track=track,
        stop_gain=got["stop_gain"].number,
        stop_loss=loss,
        two_sided=loss is not None,
        cqs_positive_max=got["cqs_positive_max"].number or 0.0,
        cqs_negative_max=got["cqs_negative_max"].number or 0.0,
        post_episode_sd=got["post_episode_sd"].number,
        sources=tuple((n, p.source, p.status) for n, p in got.items()),
    )


def commercial_rules(terms: CommercialTerms, *, name: str) -> ReconciliationRules:
    """A commercial bundle's rules: its shares and limits, no quality adjustment."""
    return ReconciliationRules(
        model=name,
        performance_year=0,
        track="*",
        stop_gain=terms.stop_gain,
        stop_loss=terms.stop_loss,
        two_sided=terms.loss_share > 0,
        cqs_positive_max=0.0,
        cqs_negative_max=0.0,
        savings_share=terms.savings_share,
        loss_share=terms.loss_share,
        sources=(("price", "the bundle file", "contract term"),),
    )


@dataclass(frozen=True)
class Outcome:
    """Reconciliation figures as arrays (one element per scenario)."""

    reconciliation_amount: np.ndarray
    quality_adjusted: np.ndarray
    capped: np.ndarray
    amount: np.ndarray
    hits_stop_gain: np.ndarray
    hits_stop_loss: np.ndarray


def reconcile_arrays(
    target: np.ndarray | float,
    spending: np.ndarray | float,
    quality_score: np.ndarray | float,
    rules: ReconciliationRules,
    *,
    post_episode_excess: np.ndarray | float = 0.0,
) -> Outcome:
    """The module's steps 1-5, vectorized over scenarios (scalars broadcast)."""
    t = np.asarray(target, dtype=float)
    ra = t - np.asarray(spending, dtype=float)
    q = np.clip(np.asarray(quality_score, dtype=float), 0.0, 100.0) / 100.0
    positive = ra * (1 - rules.cqs_positive_max * (1 - q)) * rules.savings_share
    negative = ra * (1 - rules.cqs_negative_max * q) * rules.loss_share
    adjusted = np.where(ra >= 0, positive, negative)
    gain_limit = np.inf if rules.stop_gain is None else rules.stop_gain * t
    loss_limit = np.inf if rules.stop_loss is None else rules.stop_loss * t
    if not rules.two_sided:
        loss_limit = 0.0 * t
    capped = np.clip(adjusted, -loss_limit, gain_limit)
    final = capped - np.asarray(post_episode_excess, dtype=float)
    if not rules.two_sided:
        final = np.maximum(final, 0.0)
    hits_gain = adjusted > gain_limit
    hits_loss = (adjusted < -loss_limit) & rules.two_sided
    return Outcome(ra, adjusted, capped, final + 0.0, hits_gain, np.asarray(hits_loss))


@dataclass(frozen=True)
class Reconciliation:
    """One reconciliation, every step's amount (positive = paid to the hospital)."""

    rules: ReconciliationRules
    episodes: int
    target_amount: float
    spending: float
    quality_score: float
    reconciliation_amount: float
    quality_adjusted: float
    stop_gain_limit: float | None
    stop_loss_limit: float | None
    capped: float
    post_episode_excess: float
    amount: float
    hits_stop_gain: bool
    hits_stop_loss: bool

    @property
    def outcome(self) -> str:
        if self.amount > 0:
            return "reconciliation payment"
        return "repayment" if self.amount < 0 else "no payment"

    def lines(self) -> pl.DataFrame:
        """step, amount, note: the waterfall, as the reconciliation report lists it."""
        r = self.rules
        rows = [
            ("episodes", float(self.episodes), "kept episodes in the performance year"),
            ("target amount", self.target_amount, "sum of reconciliation target prices"),
            ("performance-year spending", self.spending, "prorated, winsorized paid amounts"),
            ("reconciliation amount", self.reconciliation_amount, "target - spending"),
            (
                "quality adjustment",
                self.quality_adjusted - self.reconciliation_amount,
                f"CQS {self.quality_score:.1f}: positive x (1 - {r.cqs_positive_max:.0%} x (1 - CQS/100)), "
                f"negative x (1 - {r.cqs_negative_max:.0%} x CQS/100)"
                if r.cqs_positive_max or r.cqs_negative_max
                else f"savings x {r.savings_share:.0%}, losses x {r.loss_share:.0%}",
            ),
            ("quality-adjusted amount", self.quality_adjusted, ""),
            (
                "stop-gain / stop-loss",
                self.capped - self.quality_adjusted,
                _limits_note(self),
            ),
            ("capped amount (NPRA)", self.capped, ""),
            (
                "post-episode spending excess",
                -self.post_episode_excess,
                "not protected by the stop-loss limit",
            ),
            (self.outcome, self.amount, "" if r.two_sided else "upside only: no repayment"),
        ]
        return pl.DataFrame(rows, schema=["step", "amount", "note"], orient="row")


def waterfall(r: Reconciliation) -> pl.DataFrame:
    """step, amount, kind (start | change | total): from the reconciliation amount to the
    payment or repayment, in the shape of ``Settlement.waterfall()``."""
    rows = [
        ("reconciliation amount", r.reconciliation_amount, "start"),
        ("quality adjustment", r.quality_adjusted - r.reconciliation_amount, "change"),
        ("stop-gain / stop-loss", r.capped - r.quality_adjusted, "change"),
        ("post-episode excess", -r.post_episode_excess, "change"),
        ("no-downside floor", r.amount - (r.capped - r.post_episode_excess), "change"),
        (r.outcome, r.amount, "total"),
    ]
    return pl.DataFrame(rows, schema=["step", "amount", "kind"], orient="row")


def _limits_note(r: Reconciliation) -> str:
    gain = "none" if r.stop_gain_limit is None else f"{r.stop_gain_limit:,.0f}"
    loss = (
        "no downside"
        if not r.rules.two_sided
        else ("none" if r.stop_loss_limit is None else f"{r.stop_loss_limit:,.0f}")
    )
    binding = " (stop-gain binds)" if r.hits_stop_gain else ""
    binding += " (stop-loss binds)" if r.hits_stop_loss else ""
    return f"stop-gain {gain}, stop-loss {loss}{binding}"


def reconcile(
    *,
    target_amount: float,
    spending: float,
    quality_score: float,
    rules: ReconciliationRules,
    episodes: int = 0,
    post_episode_excess: float = 0.0,
) -> Reconciliation:
    """One itemized reconciliation (the module's steps)."""
    if target_amount < 0 or spending < 0:
        raise ParameterError(
            f"target amount and spending must not be negative (got {target_amount}, {spending})."
        )
    if not 0 <= quality_score <= 100:
        raise ParameterError(f"quality_score is a CQS from 0 to 100 (got {quality_score}).")
    o = reconcile_arrays(
        target_amount, spending, quality_score, rules, post_episode_excess=post_episode_excess
    )
    return Reconciliation(
        rules=rules,
        episodes=episodes,
        target_amount=target_amount,
        spending=spending,
        quality_score=quality_score,
        reconciliation_amount=float(o.reconciliation_amount),
        quality_adjusted=float(o.quality_adjusted),
        stop_gain_limit=None if rules.stop_gain is None else rules.stop_gain * target_amount,
        stop_loss_limit=None
        if rules.stop_loss is None or not rules.two_sided
        else rules.stop_loss * target_amount,
        capped=float(o.capped),
        post_episode_excess=post_episode_excess,
        amount=float(o.amount),
        hits_stop_gain=bool(o.hits_stop_gain),
        hits_stop_loss=bool(o.hits_stop_loss),
    )


def post_episode_excess(
    episodes: pl.DataFrame, *, facility_npi: str, sd_threshold: float | None
) -> float:
    """Step 4 for one hospital: (its mean post-episode spending - (regional mean + k x SD)) x
    its episodes, when positive; the region is every hospital of ``episodes`` (kept episodes
    with ``post_episode_spending``)."""
    if sd_threshold is None:
        return 0.0
    kept = episodes.filter(pl.col("status") == "kept").drop_nulls("post_episode_spending")
    if kept.height < 2:
        return 0.0
    region = kept["post_episode_spending"]
    own = kept.filter(pl.col("facility_npi") == facility_npi)["post_episode_spending"]
    if own.len() == 0:
        return 0.0
    threshold = float(region.mean()) + sd_threshold * float(region.std())  # type: ignore[arg-type]
    return max(0.0, (float(own.mean()) - threshold) * own.len())  # type: ignore[arg-type]
