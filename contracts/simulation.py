"""Monte Carlo settlement: the distribution of what a contract pays, not one number.

Each of N scenarios perturbs the deterministic projection (``contracts.projection.project``):

- a systematic cost-trend shock (log-normal factor on expenditures);
- member-level cost noise: the performance year's total is a sum over members whose annual
  costs are as spread as the panel's own truncated costs were last year within their Medicare
  enrollment type (heavy-tailed, empirical). In the fast mode the sum is drawn from its exact
  mean and variance (a normal by the central limit theorem, sound for thousands of members); the
  exact mode redraws every member's cost from the empirical distribution (bootstrap), chunked;
- attribution churn (a factor on person-years and assigned beneficiaries);
- the change in the benchmark's risk score;
- the quality score (and whether it meets the quality standard, when a standard is given);
- each savings initiative's effect, with its own spread around the assumed effect.

Every scenario is settled by ``contracts.settlement.settle`` — the same code as the deterministic
engine. With every spread at zero and member noise off, each scenario is exactly the
deterministic settlement.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from contracts.benchmark import truncate
from contracts.history import PanelHistory
from contracts.projection import Assumptions, Projection, break_even, project
from contracts.settlement import settle
from contracts.specs import ContractSpec
from modeling.core.service_categories import CATEGORIES
from modeling.errors import ParameterError


class Uncertainty(BaseModel):
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


def members_from_model(dataset, trained) -> MemberPredictions:
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
    samples, years, var_total, mean_total = {}, {}, 0.0, 0.0
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


@dataclass
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

    def summary(self) -> dict[str, float]:
        a = self.amounts
        var_cut = np.quantile(a, 0.05)
        return {
            k: v + 0.0 for k, v in self._summary(a, var_cut).items()
        }  # + 0.0: no negative zeros

    def _summary(self, a: np.ndarray, var_cut: float) -> dict[str, float]:
        return {
            "expected_settlement": float(a.mean()),
            "standard_error": float(a.std(ddof=1) / np.sqrt(len(a))) if len(a) > 1 else 0.0,
            "deterministic_settlement": self.deterministic,
            "p_shared_savings": float((a > 0).mean()),
            "p_owes_losses": float((a < 0).mean()),
            "p_hits_payment_limit": float(self.hit_payment_limit.mean()),
            "p_hits_loss_cap": float(self.hit_loss_cap.mean()),
            "value_at_risk_95": float(
                -var_cut
            ),  # the loss exceeded in 5% of years (positive = a loss)
            "cvar_95": float(-a[a <= var_cut].mean()),
            "p05": float(np.quantile(a, 0.05)),
            "median": float(np.median(a)),
            "p95": float(np.quantile(a, 0.95)),
            "expected_savings_rate": float(self.savings_rates.mean()),
            "break_even_median": float(np.median(self.break_even))
            if len(self.break_even)
            else float("nan"),
            "break_even_p10": float(np.quantile(self.break_even, 0.1))
            if len(self.break_even)
            else float("nan"),
            "break_even_p90": float(np.quantile(self.break_even, 0.9))
            if len(self.break_even)
            else float("nan"),
        }

    def convergence(self, points: int = 20) -> pl.DataFrame:
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
    if a.initiatives and u.initiative_sd_share:
        shares = _initiative_shares(spec, history)
        base_factor = 1 + sum(shares[c] * e for c, e in a.initiatives.items())
        drawn = 1 + sum(
            shares[c] * rng.normal(e, abs(e) * u.initiative_sd_share, n)
            for c, e in a.initiatives.items()
        )
        initiative = drawn / base_factor
    noise = np.ones(n)
    if u.member_noise and members is not None:
        if exact_members:
            noise = _exact_model_noise(members, _member_cap(spec, members), rng, n)
        else:
            panel_person_years = float(
                history.expenditures.filter(pl.col("year") == history.years[-1])["months"].sum()
                / 12
            )
            scale = float(
                np.sqrt(model_variance_share(spec, members) * panel_person_years / p.person_years)
            )
            noise = np.maximum(1 + scale * rng.standard_normal(n), 0.0)
    elif u.member_noise:
        spread = member_spread(spec, history)
        if exact_members:
            noise = _exact_member_noise(spread, rng, n)
        else:
            scale = float(
                np.sqrt(spread.variance_share * sum(spread.person_years.values()) / p.person_years)
            )
            noise = np.maximum(1 + scale * rng.standard_normal(n), 0.0)
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
        before, limit = (
            s.get("shared_savings_before_limit"),
            s.get("performance_payment_limit") or s.get("payout_cap"),
        )
        limit_hit[i] = before is not None and limit is not None and before > limit
        loss, cap = s.get("loss_before_cap"), s.get("loss_cap")
        cap_hit[i] = loss is not None and cap is not None and loss > cap
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


@dataclass(frozen=True)
class TornadoBar:
    assumption: str
    low_label: str
    high_label: str
    low: float
    high: float


def tornado(
    spec: ContractSpec, history: PanelHistory, assumptions: Assumptions | None = None
) -> tuple[float, pl.DataFrame]:
    """The deterministic settlement, and how it moves when each assumption goes to a low and a
    high value (one at a time): assumption, low, high, settlement at each, swing."""
    a = assumptions or Assumptions()
    base = project(spec, history, a)
    trend = base.cost_trend if base.cost_trend is not None else 0.0
    cases = {
        "cost trend": (
            {"cost_trend": trend - 0.02},
            {"cost_trend": trend + 0.02},
            f"{trend - 0.02:.1%}",
            f"{trend + 0.02:.1%}",
        ),
        "inpatient cost": (
            {
                "initiatives": {
                    **a.initiatives,
                    "acute inpatient": a.initiatives.get("acute inpatient", 0.0) - 0.05,
                }
            },
            {
                "initiatives": {
                    **a.initiatives,
                    "acute inpatient": a.initiatives.get("acute inpatient", 0.0) + 0.05,
                }
            },
            "-5%",
            "+5%",
        ),
        "coding (risk score)": (
            {"coding_risk_change": max(a.coding_risk_change - 0.01, -0.4)},
            {"coding_risk_change": a.coding_risk_change + 0.01},
            "-1%",
            "+1%",
        ),
        "attribution": (
            {"attribution_scale": a.attribution_scale * 0.9},
            {"attribution_scale": a.attribution_scale * 1.1},
            "-10%",
            "+10%",
        ),
        "quality score": (
            {
                "quality_score": max(a.quality_score - 0.1, 0.0),
                "meets_quality_standard": False,
                "meets_alternative_quality_standard": True,
            },
            {"quality_score": min(a.quality_score + 0.1, 1.0)},
            "-0.10 (alternative standard only)",
            "+0.10",
        ),
    }
    rows = []
    for name, (lo, hi, lo_label, hi_label) in cases.items():
        low = project(spec, history, a.model_copy(update=lo)).settlement.amount
        high = project(spec, history, a.model_copy(update=hi)).settlement.amount
        rows.append(
            {
                "assumption": name,
                "low": lo_label,
                "high": hi_label,
                "settlement_low": low,
                "settlement_high": high,
                "swing": abs(high - low),
            }
        )
    return base.settlement.amount, pl.DataFrame(rows).sort("swing", descending=True)


def two_way_grid(
    spec: ContractSpec,
    history: PanelHistory,
    assumptions: Assumptions | None = None,
    trends: tuple[float, ...] = (0.0, 0.02, 0.04, 0.06, 0.08),
    effects: tuple[float, ...] = (-0.15, -0.10, -0.05, 0.0),
) -> pl.DataFrame:
    """Settlement for each cost trend x inpatient initiative effect (deterministic)."""
    a = assumptions or Assumptions()
    rows = []
    for t in trends:
        for e in effects:
            case = a.model_copy(
                update={"cost_trend": t, "initiatives": {**a.initiatives, "acute inpatient": e}}
            )
            rows.append(
                {
                    "cost_trend": t,
                    "inpatient_effect": e,
                    "settlement": project(spec, history, case).settlement.amount,
                }
            )
    return pl.DataFrame(rows)


def histogram(result: SimulationResult, bins: int = 30) -> pl.DataFrame:
    """bin_start, bin_end, scenarios: the distribution of settlements."""
    counts, edges = np.histogram(result.amounts, bins=bins)
    return pl.DataFrame({"bin_start": edges[:-1], "bin_end": edges[1:], "scenarios": counts})


def summary_markdown(
    result: SimulationResult, tornado_bars: pl.DataFrame | None = None, *, title: str | None = None
) -> str:
    """A one-page summary for a board deck."""
    s = result.summary()
    money = lambda v: f"-${-v:,.0f}" if v < 0 else f"${v:,.0f}"  # noqa: E731
    lines = [
        f"# {title or result.contract}: {result.draws:,} simulated performance years (seed {result.seed})",
        "",
        f"- Expected settlement: **{money(s['expected_settlement'])}** (standard error {money(s['standard_error'])}); the deterministic projection: {money(s['deterministic_settlement'])}",
        f"- Chance of earning shared savings: **{s['p_shared_savings']:.0%}**; of owing losses: **{s['p_owes_losses']:.0%}**",
        f"- Chance of hitting the payment limit: {s['p_hits_payment_limit']:.1%}; the loss cap: {s['p_hits_loss_cap']:.1%}",
        f"- In a bad year (5% chance or worse): at least **{money(-s['value_at_risk_95'])}**; on average in those years (CVaR 95%): {money(-s['cvar_95'])}",
        f"- 90% of outcomes between {money(s['p05'])} and {money(s['p95'])}; median {money(s['median'])}",
    ]
    if tornado_bars is not None:
        lines += [
            "",
            "| assumption | low | settlement | high | settlement |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {r['assumption']} | {r['low']} | {money(r['settlement_low'])} | {r['high']} | {money(r['settlement_high'])} |"
            for r in tornado_bars.iter_rows(named=True)
        ]
    return "\n".join(lines) + "\n"


@dataclass
class RiskChoice:
    """Options compared on the same simulated years (common random numbers)."""

    options: pl.DataFrame  # option, expected, cvar_95, p_owes_losses, within_limit
    best_single: (
        str | None
    )  # the option with the highest expected settlement whose CVaR is within the limit
    mix: (
        dict[str, float] | None
    )  # the weights of the best mix within the limit (None when infeasible)
    mix_expected: float | None
    mix_cvar: float | None
    frontier: pl.DataFrame  # cvar_limit, expected (the best mix at each CVaR limit)


def cvar(losses: np.ndarray, alpha: float = 0.95) -> float:
    """Mean of the worst (1 - alpha) share of losses (positive = money owed)."""
    cut = np.quantile(losses, alpha)
    return float(losses[losses >= cut].mean())


def _best_mix(
    amounts: np.ndarray, limit: float, alpha: float
) -> tuple[np.ndarray | None, float | None]:
    """Weights w >= 0, sum 1, maximizing the mean of amounts @ w with CVaR_alpha(-amounts @ w) <=
    limit (Rockafellar-Uryasev linear program, solved with cvxpy)."""
    import cvxpy as cp

    n, k = amounts.shape
    scale = (
        float(np.abs(amounts).max()) or 1.0
    )  # dollars to order one: the solver's tolerances are relative
    worst = max(
        cvar(-amounts[:, j], alpha) for j in range(k)
    )  # a mix's CVaR never exceeds the worst option's
    limit = min(limit, worst) / scale
    amounts = amounts / scale
    w, t, excess = cp.Variable(k, nonneg=True), cp.Variable(), cp.Variable(n, nonneg=True)
    losses = -amounts @ w
    constraints = [
        cp.sum(w) == 1,
        excess >= losses - t,
        t + cp.sum(excess) / ((1 - alpha) * n) <= limit,
    ]
    problem = cp.Problem(cp.Maximize(cp.sum(amounts @ w) / n), constraints)
    try:
        problem.solve(solver=cp.CLARABEL)
    except cp.SolverError:
        problem.solve()
    if problem.status not in ("optimal", "optimal_inaccurate"):
        return None, None
    weights = np.clip(w.value, 0, None)
    return weights / weights.sum(), float(problem.value) * scale


def choose_risk_level(
    results: list[SimulationResult],
    cvar_limit: float,
    *,
    alpha: float = 0.95,
    frontier_points: int = 12,
) -> RiskChoice:
    """Among options simulated with the same seed (the same years for all), the option — and
    the mix of options, where a mix is meaningful (contracts across payers sharing one downside
    budget) — with the highest expected settlement whose CVaR stays within ``cvar_limit``;
    and the efficient frontier (best expected settlement at each CVaR limit)."""
    if len({r.draws for r in results}) != 1 or len({r.seed for r in results}) != 1:
        from modeling.errors import ParameterError

        raise ParameterError(
            "Compare options simulated with the same number of draws and the same seed, so they share the simulated years."
        )
    amounts = np.column_stack([r.amounts for r in results])
    names = [r.contract for r in results]
    risks = [cvar(-r.amounts, alpha) for r in results]
    options = pl.DataFrame(
        {
            "option": names,
            "expected": [float(r.amounts.mean()) for r in results],
            "cvar_95": risks,
            "p_owes_losses": [float((r.amounts < 0).mean()) for r in results],
        }
    ).with_columns((pl.col("cvar_95") <= cvar_limit).alias("within_limit"))
    allowed = options.filter(pl.col("within_limit")).sort("expected", descending=True)
    best = allowed["option"][0] if allowed.height else None
    weights, value = _best_mix(amounts, cvar_limit, alpha)
    mix = (
        dict(zip(names, [float(x) for x in weights], strict=True)) if weights is not None else None
    )
    mix_cvar = cvar(-(amounts @ weights), alpha) if weights is not None else None
    low, high = min(risks), max(risks)
    rows = []
    for limit in np.linspace(low, high, frontier_points) if high > low else [low]:
        wts, val = _best_mix(amounts, float(limit), alpha)
        if wts is not None:
            rows.append(
                {
                    "cvar_limit": float(limit),
                    "expected": val,
                    "cvar_95": cvar(-(amounts @ wts), alpha),
                }
            )
    return RiskChoice(
        options,
        best,
        mix,
        value,
        mix_cvar,
        pl.DataFrame(
            rows, schema={"cvar_limit": pl.Float64, "expected": pl.Float64, "cvar_95": pl.Float64}
        ),
    )
