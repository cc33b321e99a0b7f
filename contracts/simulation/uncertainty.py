"""How uncertain each assumption is, and the member-level cost noise of the performance year.

Member noise: the performance year's total is a sum over members whose annual costs are as spread
as the panel's own truncated costs were last year within their Medicare enrollment type
(heavy-tailed, empirical) — or, with a registered risk model, each member's prediction times one
of the model's held-out ratios actual / predicted. In the fast mode the sum is drawn from its
exact mean and variance (a normal by the central limit theorem, sound for thousands of members);
the exact mode redraws every member's cost (bootstrap), chunked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
from pydantic import ConfigDict, Field

from contracts._validation import VbcModel
from contracts.benchmark import truncate
from contracts.history import PanelHistory
from contracts.specs import ContractSpec
from modeling.errors import ParameterError

if TYPE_CHECKING:
    from modeling.dataset import Dataset
    from risk_stratification.ml.pipeline import TrainedRisk


class Uncertainty(VbcModel):
    """How uncertain each assumption is (standard deviations; 0 switches a source off)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    trend_sd: float = Field(
        default=0.02,
        ge=0,
        le=0.5,
        description="Systematic cost-trend shock (sd of the log factor).",
    )
    member_noise: bool = Field(
        default=True, description="Member-level cost noise from the panel's own cost spread."
    )
    attribution_sd: float = Field(
        default=0.03, ge=0, le=0.5, description="Attribution churn: sd of the person-year factor."
    )
    risk_score_sd: float = Field(
        default=0.01, ge=0, le=0.5, description="sd of the benchmark's risk-score factor."
    )
    quality_sd: float = Field(default=0.05, ge=0, le=1, description="sd of the quality score.")
    quality_standard: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Quality score needed to meet the standard (None: as assumed).",
    )
    initiative_sd_share: float = Field(
        default=0.5,
        ge=0,
        le=5,
        description="sd of each initiative's effect, as a share of its assumed effect.",
    )


@dataclass(frozen=True)
class MemberSpread:
    """Mean and variance of the performance-year expenditure total from member-level noise, and
    the empirical per-type cost samples for exact draws."""

    variance_share: float  # variance of the total / (expected total)^2 at one person-year scale
    samples: dict[str, np.ndarray]  # enrollment type -> last year's truncated annual costs
    person_years: dict[str, float]


@dataclass(frozen=True)
class MemberPredictions:
    """Each member's predicted next-year cost (from the registered risk model) and the held-out
    ratios actual / predicted: member costs are drawn as prediction x a ratio."""

    predicted: np.ndarray
    ratios: np.ndarray


def members_from_model(dataset: Dataset, trained: TrainedRisk) -> MemberPredictions:
    """Predicted next-year cost of every member of ``dataset`` from a trained risk model
    (``risk_stratification.ml.pipeline``) and that model's held-out ratios actual / predicted."""
    from risk_stratification.ml.pipeline import score

    ratios = trained.evaluation.residual_ratios
    if ratios is None:
        raise ParameterError(
            "This registered risk model has no held-out residuals (trained before they were kept): retrain it with `vbc train`."
        )
    scored = score(dataset, trained, drivers_for=())
    return MemberPredictions(scored["pred_cost"].to_numpy(), np.asarray(ratios))


def _member_cap(spec: ContractSpec, members: MemberPredictions, bins: int = 100) -> float:
    """The per-member cost cap: the spec's percentile of simulated member costs, or the stop-loss
    attachment, whichever is lower (infinite when the contract truncates nothing)."""
    cap = np.inf
    if spec.truncation_percentile is not None and spec.truncation_percentile < 1:
        costs = np.outer(
            np.quantile(members.predicted, (np.arange(bins) + 0.5) / bins), members.ratios
        )
        cap = float(np.quantile(costs, spec.truncation_percentile))
    if spec.stop_loss_attachment is not None:
        cap = min(cap, spec.stop_loss_attachment)
    return cap


def model_variance_share(spec: ContractSpec, members: MemberPredictions, bins: int = 100) -> float:
    """Variance of the performance-year total over its squared mean when each member's cost is their prediction times a
    held-out ratio, truncated as the contract truncates (at the spec's percentile of the
    simulated member costs, and at the stop-loss attachment). Members are grouped in ``bins``
    quantile bins of prediction; each bin's truncated mean and variance come from the ratios."""
    m = members.predicted
    costs = np.outer(np.quantile(m, (np.arange(bins) + 0.5) / bins), members.ratios)
    capped = np.minimum(costs, _member_cap(spec, members))
    edges = np.quantile(m, np.linspace(0, 1, bins + 1))
    which = np.clip(np.searchsorted(edges, m, side="right") - 1, 0, bins - 1)
    counts = np.bincount(which, minlength=bins)
    mean_total = float((counts * capped.mean(axis=1)).sum())
    var_total = float((counts * capped.var(axis=1)).sum())
    return var_total / mean_total**2


def member_noise(
    spec: ContractSpec,
    history: PanelHistory,
    members: MemberPredictions | None,
    *,
    person_years: float,
    exact: bool,
    rng: np.random.Generator,
    n: int,
) -> np.ndarray:
    """The factor member-level cost noise puts on each of ``n`` scenarios' expenditures (mean
    one) for a performance year of ``person_years``: around the risk model's predictions when
    ``members`` is given, else from the panel's own within-type cost spread; the sum's normal
    approximation, or with ``exact`` every member redrawn."""
    if members is not None:
        if exact:
            return _exact_model_noise(members, _member_cap(spec, members), rng, n)
        panel_person_years = float(
            history.expenditures.filter(pl.col("year") == history.years[-1])["months"].sum() / 12
        )
        scale = float(
            np.sqrt(model_variance_share(spec, members) * panel_person_years / person_years)
        )
        return _normal_noise(scale, rng, n)
    spread = member_spread(spec, history)
    if exact:
        return _exact_member_noise(spread, rng, n)
    scale = float(np.sqrt(spread.variance_share * sum(spread.person_years.values()) / person_years))
    return _normal_noise(scale, rng, n)


def _normal_noise(scale: float, rng: np.random.Generator, n: int) -> np.ndarray:
    """1 + scale x a standard normal, floored at zero (a total cannot be negative)."""
    return np.maximum(1 + scale * rng.standard_normal(n), 0.0)


def member_spread(spec: ContractSpec, history: PanelHistory) -> MemberSpread:
    """Within-type spread of last year's truncated, annualized member costs."""
    last = history.years[-1]
    frame = truncate(
        history.expenditures.filter(pl.col("year") == last),
        spec.truncation_percentile,
        spec.stop_loss_attachment,
    )
    frame = frame.with_columns(
        (pl.col("allowed_paid") * 12 / pl.col("months")).alias("annual"),
        (pl.col("months") / 12).alias("w"),
    )
    samples: dict[str, np.ndarray] = {}
    years: dict[str, float] = {}
    var_total, mean_total = 0.0, 0.0
    parts = frame.partition_by("enrollment_type", as_dict=True)
    for (etype,), g in sorted(
        parts.items()
    ):  # a fixed order: the same sums, bit for bit, every run
        x, w = g["annual"].to_numpy(), g["w"].to_numpy()
        mean = np.average(x, weights=w)
        var = np.average((x - mean) ** 2, weights=w)
        # a member with w person-years contributes w * cost: variance w^2 var
        var_total += float(np.sum(w**2) * var)
        mean_total += float(np.sum(w) * mean)
        samples[etype], years[etype] = x, float(w.sum())
    return MemberSpread(var_total / mean_total**2, samples, years)


def _exact_model_noise(
    members: MemberPredictions, cap: float, rng: np.random.Generator, n: int, chunk: int = 200
) -> np.ndarray:
    """Every member's cost redrawn as prediction x a held-out ratio (capped), per scenario; the
    ratio of each scenario's total to the expected total."""
    m, r = members.predicted, members.ratios
    expected = (
        float(np.minimum(np.outer(m, r), cap).mean(axis=1).sum())
        if len(m) * len(r) <= 5e7
        else float(m.sum() * r.mean())
    )
    totals = np.empty(n)
    for start in range(0, n, chunk):
        k = min(chunk, n - start)
        totals[start : start + k] = np.minimum(
            m[None, :] * rng.choice(r, size=(k, len(m))), cap
        ).sum(axis=1)
    return totals / expected


def _exact_member_noise(
    spread: MemberSpread, rng: np.random.Generator, n: int, chunk: int = 200
) -> np.ndarray:
    """Redraw every member's annual cost from their enrollment type's empirical costs, per
    scenario (bootstrap), and return the ratio of each scenario's total to the expected total."""
    expected = sum(spread.samples[t].mean() * spread.person_years[t] for t in spread.samples)
    totals = np.zeros(n)
    for start in range(0, n, chunk):
        k = min(chunk, n - start)
        total = np.zeros(k)
        for t, x in spread.samples.items():
            members = len(x)
            draws = rng.choice(x, size=(k, members), replace=True)
            total += draws.sum(axis=1) * (spread.person_years[t] / members)
        totals[start : start + k] = total
    return totals / expected
