"""Monte Carlo settlement: the distribution of what a contract pays, not one number.

Each of N scenarios perturbs the deterministic projection (``contracts.projection.project``):

- a systematic cost-trend shock (log-normal factor on expenditures);
- member-level cost noise (``contracts.simulation.uncertainty.member_noise``);
- attribution churn (a factor on person-years and assigned beneficiaries);
- the change in the benchmark's risk score;
- the quality score (and whether it meets the quality standard, when a standard is given);
- each savings initiative's effect, with its own spread around the assumed effect (the
  assumptions' ``initiative_sd`` for a category where given, e.g. by a care-management plan).

Every scenario is settled by ``contracts.settlement.settle`` — the same code as the deterministic
engine. With every spread at zero and member noise off, each scenario is exactly the
deterministic settlement.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

import numpy as np
import polars as pl

from contracts.benchmark import truncate
from contracts.history import PanelHistory
from contracts.projection import Assumptions, Projection, break_even, project
from contracts.settlement import settle
from contracts.simulation.tail_risk import cvar
from contracts.simulation.uncertainty import MemberPredictions, Uncertainty, member_noise
from contracts.specs import ContractSpec
from modeling.core.service_categories import CATEGORIES
from modeling.errors import ParameterError


@dataclass(frozen=True)
class SimulationSummary:
    """The figures of a simulated distribution of settlements (dollars: positive = paid to the
    provider), as shown in the app and the CLI and saved with a scenario (``to_dict``)."""

    expected_settlement: float
    standard_error: float  # of the expected settlement
    deterministic_settlement: float
    p_shared_savings: float
    p_owes_losses: float
    p_hits_payment_limit: float
    p_hits_loss_cap: float
    value_at_risk_95: float  # the loss exceeded in 5% of years (positive = a loss)
    cvar_95: float  # the mean loss in the worst 5% of years, exactly (tail_risk.cvar)
    p05: float
    median: float
    p95: float
    expected_savings_rate: float
    break_even_median: float  # of the sampled years' break-even cost changes (NaN: none sampled)
    break_even_p10: float
    break_even_p90: float

    def to_dict(self) -> dict[str, float]:
        """Every figure by name, in field order (the JSON of a saved or exported scenario)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class SimulationResult:
    contract: str
    draws: int
    seed: int
    amounts: np.ndarray
    savings_rates: np.ndarray
    hit_payment_limit: np.ndarray
    hit_loss_cap: np.ndarray
    deterministic: float
    break_even: np.ndarray = field(
        default_factory=lambda: np.array([])
    )  # per sampled year: the change in its costs at which it starts to pay

    def summary(self) -> SimulationSummary:
        a = self.amounts
        var_cut = np.quantile(a, 0.05)
        sampled = len(self.break_even) > 0
        figures = {
            "expected_settlement": float(a.mean()),
            "standard_error": float(a.std(ddof=1) / np.sqrt(len(a))) if len(a) > 1 else 0.0,
            "deterministic_settlement": self.deterministic,
            "p_shared_savings": float((a > 0).mean()),
            "p_owes_losses": float((a < 0).mean()),
            "p_hits_payment_limit": float(self.hit_payment_limit.mean()),
            "p_hits_loss_cap": float(self.hit_loss_cap.mean()),
            "value_at_risk_95": float(-var_cut),
            "cvar_95": cvar(-a, alpha=0.95),
            "p05": float(np.quantile(a, 0.05)),
            "median": float(np.median(a)),
            "p95": float(np.quantile(a, 0.95)),
            "expected_savings_rate": float(self.savings_rates.mean()),
            "break_even_median": float(np.median(self.break_even)) if sampled else float("nan"),
            "break_even_p10": float(np.quantile(self.break_even, 0.1)) if sampled else float("nan"),
            "break_even_p90": float(np.quantile(self.break_even, 0.9)) if sampled else float("nan"),
        }
        return SimulationSummary(**{k: v + 0.0 for k, v in figures.items()})  # no negative zeros

    def convergence(self, *, points: int = 20) -> pl.DataFrame:
        """draws, running mean and its standard error: is N large enough?"""
        n = np.unique(np.linspace(10, len(self.amounts), points).astype(int))
        csum, csq = np.cumsum(self.amounts), np.cumsum(self.amounts**2)
        mean = csum[n - 1] / n
        sd = np.sqrt(np.maximum(csq[n - 1] / n - mean**2, 0) * n / np.maximum(n - 1, 1))
        return pl.DataFrame({"draws": n, "mean": mean, "standard_error": sd / np.sqrt(n)})


def _initiative_shares(spec: ContractSpec, history: PanelHistory) -> dict[str, float]:
    last = truncate(
        history.expenditures.filter(pl.col("year") == history.years[-1]),
        spec.truncation_percentile,
        spec.stop_loss_attachment,
    )
    totals = last.select([pl.col(c).sum() for c in CATEGORIES]).row(0)
    grand = sum(totals)
    return {c: (t / grand if grand else 0.0) for c, t in zip(CATEGORIES, totals, strict=True)}


def simulate(
    spec: ContractSpec,
    history: PanelHistory,
    assumptions: Assumptions | None = None,
    uncertainty: Uncertainty | None = None,
    *,
    draws: int = 10_000,
    seed: int = 1,
    exact_members: bool = False,
    projection: Projection | None = None,
    break_even_sample: int = 100,
    members: MemberPredictions | None = None,
) -> SimulationResult:
    """``draws`` scenarios of the performance year, each settled with ``settle``. With
    ``members`` (the risk model's predictions and held-out ratios) member noise is drawn around
    each member's prediction; without, from the panel's own within-type cost spread."""
    if draws < 2:
        raise ParameterError(
            f"draws must be at least 2 (got {draws}): percentiles and CVaR need a distribution."
        )
    a, u = assumptions or Assumptions(), uncertainty or Uncertainty()
    base = projection or project(spec, history, a)
    p = base.performance
    rng = np.random.default_rng(seed)
    n = draws
    trend = np.exp(rng.normal(0.0, u.trend_sd, n)) if u.trend_sd else np.ones(n)
    attribution = (
        np.clip(rng.normal(1.0, u.attribution_sd, n), 0.5, 1.5) if u.attribution_sd else np.ones(n)
    )
    risk = np.clip(rng.normal(1.0, u.risk_score_sd, n), 0.5, 1.5) if u.risk_score_sd else np.ones(n)
    quality = (
        np.clip(rng.normal(a.quality_score, u.quality_sd, n), 0.0, 1.0)
        if u.quality_sd
        else np.full(n, a.quality_score)
    )
    initiative = np.ones(n)
    if a.initiatives and (u.initiative_sd_share or a.initiative_sd):
        shares = _initiative_shares(spec, history)
        base_factor = 1 + sum(shares[c] * e for c, e in a.initiatives.items())
        drawn = 1 + sum(
            (
                shares[c] * rng.normal(e, a.initiative_sd.get(c, abs(e) * u.initiative_sd_share), n)
                for c, e in a.initiatives.items()
            ),
            start=np.zeros(n),  # an array even to mypy (adding to zeros changes no value)
        )
        initiative = drawn / base_factor
    noise = (
        member_noise(
            spec, history, members, person_years=p.person_years, exact=exact_members, rng=rng, n=n
        )
        if u.member_noise
        else np.ones(n)
    )
    expenditure = p.expenditure_per_capita * trend * initiative * noise
    benchmark = p.benchmark_per_capita * risk
    amounts, rates = np.empty(n), np.empty(n)
    limit_hit, cap_hit = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    sampled = set(np.linspace(0, n - 1, min(break_even_sample, n)).astype(int).tolist())
    pays_at: list[float] = []
    for i in range(n):
        meets = (
            a.meets_quality_standard
            if u.quality_standard is None
            else bool(quality[i] >= u.quality_standard)
        )
        scenario = replace(
            p,
            benchmark_per_capita=float(benchmark[i]),
            expenditure_per_capita=float(expenditure[i]),
            person_years=float(p.person_years * attribution[i]),
            assigned_beneficiaries=None
            if p.assigned_beneficiaries is None
            else int(round(p.assigned_beneficiaries * attribution[i])),
            quality_score=float(quality[i]),
            meets_quality_standard=meets,
            participant_ffs_revenue=None
            if p.participant_ffs_revenue is None
            else p.participant_ffs_revenue * attribution[i],
        )
        s = settle(spec, scenario)
        amounts[i], rates[i] = (
            s.amount,
            1 - scenario.expenditure_per_capita / scenario.benchmark_per_capita,
        )
        limit_hit[i] = s.figures.hits_payment_limit
        cap_hit[i] = s.figures.hits_loss_cap
        if i in sampled:  # the change in this year's own costs at which it would start to pay
            be = break_even(spec, scenario).starts_paying_at
            if be is not None:
                pays_at.append(be)
    return SimulationResult(
        spec.name,
        n,
        seed,
        amounts,
        rates,
        limit_hit,
        cap_hit,
        settle(spec, p).amount,
        np.array(pays_at),
    )


def histogram(result: SimulationResult, *, bins: int = 30) -> pl.DataFrame:
    """bin_start, bin_end, scenarios: the distribution of settlements."""
    counts, edges = np.histogram(result.amounts, bins=bins)
    return pl.DataFrame({"bin_start": edges[:-1], "bin_end": edges[1:], "scenarios": counts})
