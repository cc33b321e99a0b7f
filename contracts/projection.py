"""From a panel to a contract's expected settlement, and the cost change at which it breaks even.

``contracts.history.panel_history(panel)`` reads what every projection needs once (person-year expenditures by
service category and enrollment type, mean CMS-HCC risk by year and enrollment type);
``project(spec, history, assumptions)`` then builds the spec's benchmark (``contracts.benchmark``),
the performance year's expenditures, and settles with ``contracts.settlement.settle``.

When the performance year is in the data the settlement uses its actual expenditures; when it is
the year after the data ends, expenditures are projected: the last year's per-capita cost by
enrollment type, trended, scaled by the panel's change in risk (acuity, not coding) and by the
savings initiatives (a % change per service category, weighted by that category's share of
spending), with person-years scaled by the attribution assumption.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl
from pydantic import ConfigDict, Field, ValidationError, field_validator

from contracts._validation import VbcModel
from contracts.benchmark import (
    Benchmark,
    RegionalInputs,
    build_benchmark,
    per_capita_by_type,
    truncate,
)
from contracts.history import PanelHistory
from contracts.settlement import Performance, Settlement, settle
from contracts.specs import (
    ContractSpec,
    MaPercentOfPremiumSpec,
    MsspSpec,
    RiskCorridorsSpec,
    SharedSavingsSpec,
    describe_errors,
    read_settings_file,
)
from modeling.core.service_categories import CATEGORIES
from modeling.errors import DatasetError, ParameterError


class Assumptions(VbcModel):
    """What the user believes about the performance year (a bad value is a ``ParameterError``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cost_trend: float | None = Field(
        default=None,
        gt=-0.5,
        lt=0.5,
        description="Annual cost trend; None: the panel's own per-capita growth.",
    )
    initiatives: dict[str, float] = Field(
        default_factory=dict,
        description="Service category -> relative change in its cost, e.g. {'acute inpatient': -0.05}.",
    )
    initiative_sd: dict[str, float] = Field(
        default_factory=dict,
        description="Service category -> sd of its initiative effect (a relative change), e.g. from a care-management plan; the Monte Carlo uses it in place of the uncertainty's initiative_sd_share for that category.",
    )
    coding_risk_change: float = Field(
        default=0.0,
        gt=-0.5,
        lt=0.5,
        description="Relative change in the risk score from more complete coding (raises the benchmark, subject to the cap; not cost).",
    )
    attribution_scale: float = Field(
        default=1.0,
        gt=0,
        le=10,
        description="Assigned members and person-years relative to the last data year.",
    )
    quality_score: float = Field(default=0.85, ge=0, le=1)
    meets_quality_standard: bool = True
    meets_alternative_quality_standard: bool = False
    minimum_savings_rate: float | None = Field(
        default=None,
        ge=0,
        lt=1,
        description="The MSR/MLR CMS determined for the ACO (needed below 5,000 assigned beneficiaries, where the table stops).",
    )
    regional_per_capita: dict[str, float] | None = Field(
        default=None,
        description="The ACO's regional FFS per-capita expenditure by enrollment type (MSSP regional adjustment).",
    )
    national_per_capita: dict[str, float] | None = Field(
        default=None,
        description="National per-capita FFS expenditure by enrollment type (caps of the regional and prior-savings adjustments).",
    )
    prior_savings_per_capita: float | None = Field(
        default=None,
        ge=0,
        description="A renewing ACO's average per-capita savings in its prior agreement (prior-savings adjustment).",
    )
    participant_revenue_share: float = Field(
        default=0.35,
        gt=0,
        le=1,
        description="ACO participants' total Parts A and B FFS revenue as a share of the panel's expenditures (for BASIC loss caps).",
    )

    @field_validator("regional_per_capita", "national_per_capita")
    @classmethod
    def _per_capita_plausible(cls, v: dict[str, float] | None) -> dict[str, float] | None:
        """Annual per-capita expenditures are positive and below $1,000,000 (a bound of ours:
        national FFS per-capita figures are in the tens of thousands)."""
        for kind, amount in (v or {}).items():
            if not 0 < amount < 1_000_000:
                raise ValueError(
                    f"{kind} = {amount}: an annual per-capita expenditure must be above 0 and "
                    "below 1,000,000 dollars"
                )
        return v

    @field_validator("initiatives")
    @classmethod
    def _known_categories(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(v) - set(CATEGORIES))
        if unknown:
            raise ValueError(
                f"unknown service categories {unknown}; use any of {', '.join(CATEGORIES)}"
            )
        bad = {k: x for k, x in v.items() if not -1 < x < 1}
        if bad:
            raise ValueError(
                f"initiative effects are relative changes between -100% and +100% (got {bad})"
            )
        return v

    @field_validator("initiative_sd")
    @classmethod
    def _known_sd_categories(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(v) - set(CATEGORIES))
        if unknown:
            raise ValueError(
                f"unknown service categories {unknown}; use any of {', '.join(CATEGORIES)}"
            )
        bad = {k: x for k, x in v.items() if not 0 <= x < 1}
        if bad:
            raise ValueError(f"initiative sds are between 0 and 1 (got {bad})")
        return v


def parse_assumptions(data: dict, where: str = "assumptions") -> Assumptions:
    """Validated assumptions; a bad field is a ``ParameterError`` naming it."""
    try:  # pydantic's own validator, so the message can name the file and every field
        return Assumptions.__pydantic_validator__.validate_python(data)
    except ValidationError as exc:
        raise ParameterError(f"{where}: {describe_errors(exc, whole='assumptions')}.") from None


def load_assumptions(path: str | Path) -> Assumptions:
    """Assumptions from a TOML or JSON file."""
    p = Path(path)
    if not p.exists():
        raise ParameterError(f"No assumptions file {p}.")
    return parse_assumptions(read_settings_file(p), where=str(p))


@dataclass(frozen=True)
class BreakEven:
    """Relative change in performance-year expenditures (negative = reduction) at which the
    contract starts to pay the provider, and below which it starts to cost the provider."""

    starts_paying_at: float | None
    starts_costing_at: float | None


@dataclass(frozen=True)
class Projection:
    spec: ContractSpec
    mode: str  # "actual" or "projected"
    benchmark: Benchmark | None
    performance: Performance
    settlement: Settlement
    break_even: BreakEven
    notes: tuple[str, ...]
    cost_trend: float | None = None  # the annual cost trend used to project (None when actual)


def _performance_year_frame(
    spec: ContractSpec, history: PanelHistory, a: Assumptions, truncated: pl.DataFrame
) -> tuple[str, pl.DataFrame, float, int]:
    """mode, per-type person-years and per-capita expenditures of the performance year, the
    panel's uncapped acuity ratio, and the assigned count."""
    py, last = spec.performance_year, history.years[-1]
    if py in history.years:
        rows = truncated.filter(pl.col("year") == py)
        return "actual", per_capita_by_type(rows), 1.0, rows["person_id"].n_unique()
    if py != last + 1:
        raise ParameterError(
            f"{spec.name} is for performance year {py}; the data covers {history.years[0]}-{last}. "
            f"Settle a year in the data or project the year after it ({last + 1})."
        )
    base = per_capita_by_type(truncated.filter(pl.col("year") == last))
    acuity = 1.0
    risk_py, risk_last = history.risk.get(py), history.risk.get(last)
    if risk_py is not None and risk_last is not None:
        r = risk_py.join(risk_last, on="enrollment_type", suffix="_last").sort("enrollment_type")
        acuity = float((r["risk"] * r["scored"]).sum()) / float(
            (r["risk_last"] * r["scored"]).sum()
        )
    shares = truncated.filter(pl.col("year") == last).select([pl.col(c).sum() for c in CATEGORIES])
    total = sum(shares.row(0))
    initiative = (
        1 + sum(shares[c][0] / total * a.initiatives.get(c, 0.0) for c in CATEGORIES)
        if total > 0
        else 1.0
    )
    trend = a.cost_trend if a.cost_trend is not None else _observed(truncated, history)
    frame = base.with_columns(
        (pl.col("person_years") * a.attribution_scale).alias("person_years"),
        (pl.col("per_capita") * (1 + trend) * acuity * initiative).alias("per_capita"),
    )
    assigned = round(
        truncated.filter(pl.col("year") == last)["person_id"].n_unique() * a.attribution_scale
    )
    return "projected", frame, acuity, assigned


def _observed(truncated: pl.DataFrame, history: PanelHistory) -> float:
    from contracts.benchmark import observed_trend

    return observed_trend(
        per_capita_by_type(truncated.filter(pl.col("year").is_in(list(history.years[-3:]))))
    )


def project(
    spec: ContractSpec, history: PanelHistory, assumptions: Assumptions | None = None
) -> Projection:
    a = assumptions or Assumptions()
    attachment = spec.stop_loss_attachment
    truncated = truncate(history.expenditures, spec.truncation_percentile, attachment)
    mode, py_frame, acuity, assigned = _performance_year_frame(spec, history, a, truncated)
    person_years = float(py_frame["person_years"].sum())
    expenditure_pc = float((py_frame["per_capita"] * py_frame["person_years"]).sum()) / person_years
    notes: list[str] = []
    benchmark = None
    if isinstance(spec, MaPercentOfPremiumSpec):
        premium_pmpm = spec.premium_pmpm
        if premium_pmpm is None:
            if spec.base_rate_pmpm is None:  # the spec's validator already requires one
                raise ParameterError(f"{spec.name}: give premium_pmpm or base_rate_pmpm.")
            score = history.mean_payment_score(spec.performance_year)
            if score is None:
                raise ParameterError(
                    f"No CMS payment score for {spec.performance_year} to derive the premium; give premium_pmpm in the spec."
                )
            premium_pmpm = spec.base_rate_pmpm * score * (1 + a.coding_risk_change)
            notes.append(
                f"Premium PMPM = base rate ${spec.base_rate_pmpm:,.0f} x mean payment score {score:.3f}"
                + (f" x (1 + {a.coding_risk_change:.1%} coding)" if a.coding_risk_change else "")
            )
        benchmark_pc = premium_pmpm * 12
    elif isinstance(spec, (SharedSavingsSpec, RiskCorridorsSpec)) and spec.target_pmpm is not None:
        benchmark_pc = spec.target_pmpm * 12
        notes.append(f"Target PMPM ${spec.target_pmpm:,.2f} as contracted.")
    else:
        baseline_years = [y for y in history.years if y < spec.performance_year][
            -len(spec.baseline_weights) :
        ]
        if not baseline_years:
            raise DatasetError(
                f"No baseline year before performance year {spec.performance_year} in the data ({history.years[0]}-{history.years[-1]})."
            )
        baseline = per_capita_by_type(truncated.filter(pl.col("year").is_in(baseline_years)))
        risk = None
        if spec.risk_adjust:
            risk = dict(history.risk)
            py_risk = risk.get(spec.performance_year)
            if py_risk is not None and a.coding_risk_change:
                risk[spec.performance_year] = py_risk.with_columns(
                    pl.col("risk") * (1 + a.coding_risk_change)
                )
        cap = spec.risk_growth_cap if isinstance(spec, MsspSpec) else None
        regional = None
        if isinstance(spec, MsspSpec) and a.regional_per_capita is not None:
            if a.national_per_capita is None:
                raise ParameterError(
                    "The regional adjustment is capped by national per-capita FFS expenditure; give national_per_capita with regional_per_capita."
                )
            regional = RegionalInputs(
                spec.agreement_period,
                a.regional_per_capita,
                a.national_per_capita,
                a.prior_savings_per_capita,
            )
        elif isinstance(spec, MsspSpec) and history.region is not None:
            regional = replace(
                RegionalInputs.from_region(history.region, agreement_period=spec.agreement_period),
                prior_savings_per_capita=a.prior_savings_per_capita,
            )
        benchmark = build_benchmark(
            baseline,
            performance_year=spec.performance_year,
            weights=spec.baseline_weights,
            annual_trend=spec.annual_trend,
            risk=risk,
            risk_growth_cap=cap,
            performance_person_years=py_frame.select("enrollment_type", "person_years"),
            regional=regional,
            prospective_trend=spec.prospective_trend if isinstance(spec, MsspSpec) else None,
        )
        benchmark_pc = benchmark.per_capita
        notes += list(benchmark.notes)
    performance = Performance(
        benchmark_per_capita=benchmark_pc,
        expenditure_per_capita=expenditure_pc,
        person_years=person_years,
        assigned_beneficiaries=assigned,
        quality_score=a.quality_score,
        meets_quality_standard=a.meets_quality_standard,
        meets_alternative_quality_standard=a.meets_alternative_quality_standard,
        participant_ffs_revenue=a.participant_revenue_share * expenditure_pc * person_years,
        msr=a.minimum_savings_rate,
        mlr=a.minimum_savings_rate,
    )
    trend = None
    if mode == "projected":
        trend = a.cost_trend if a.cost_trend is not None else _observed(truncated, history)
        notes.append(
            f"Performance year projected from {history.years[-1]}: cost trend {trend:.2%}, acuity x{acuity:.4f}, attribution x{a.attribution_scale:g}"
            + (
                f", initiatives {', '.join(f'{k} {v:+.1%}' for k, v in a.initiatives.items())}"
                if a.initiatives
                else ""
            )
        )
    return Projection(
        spec,
        mode,
        benchmark,
        performance,
        settle(spec, performance),
        break_even(spec, performance),
        tuple(notes),
        trend,
    )


def break_even(
    spec: ContractSpec, performance: Performance, *, tolerance: float = 1e-7
) -> BreakEven:
    """The expenditure changes at which the settlement turns positive and turns negative, found by
    bisection (the settlement is non-increasing in expenditures)."""
    base = performance.expenditure_per_capita

    def amount(change: float) -> float:
        return settle(spec, replace(performance, expenditure_per_capita=base * (1 + change))).amount

    def boundary(predicate) -> float | None:
        lo, hi = -0.99, 1.0  # predicate true at lo (big reduction) side for "pays"
        if not predicate(lo) or predicate(hi):
            return None if not predicate(lo) else hi
        while hi - lo > tolerance:
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if predicate(mid) else (lo, mid)
        return lo

    pays = boundary(lambda c: amount(c) > 0)
    costs_from = boundary(lambda c: amount(c) >= 0)  # last change where the provider owes nothing
    return BreakEven(pays, costs_from if costs_from is not None and amount(1.0) < 0 else None)


def payment_score_years(specs: list[ContractSpec]) -> tuple[int, ...]:
    """The performance years whose mean CMS payment score projecting ``specs`` needs: those of
    Medicare Advantage percent-of-premium specs that give no premium (it is priced from the
    score); pass them to ``panel_history(..., payment_score_years=...)``."""
    return tuple(
        sorted(
            {
                s.performance_year
                for s in specs
                if isinstance(s, MaPercentOfPremiumSpec) and s.premium_pmpm is None
            }
        )
    )


def comparison(projections: list[Projection]) -> pl.DataFrame:
    """One row per contract: the figures leaders compare side by side."""
    return pl.DataFrame(
        [
            {
                "contract": p.spec.name,
                "mode": p.mode,
                "benchmark_per_capita": p.performance.benchmark_per_capita,
                "expenditure_per_capita": p.performance.expenditure_per_capita,
                "savings_rate": 1
                - p.performance.expenditure_per_capita / p.performance.benchmark_per_capita,
                "settlement": p.settlement.amount,
                "pays_once_costs_change_by": p.break_even.starts_paying_at,
                "costs_once_costs_change_by": p.break_even.starts_costing_at,
            }
            for p in projections
        ],
        schema_overrides={
            "pays_once_costs_change_by": pl.Float64,
            "costs_once_costs_change_by": pl.Float64,
        },
    )


def settlement_lines(projections: list[Projection]) -> pl.DataFrame:
    """Every line of every settlement, long: contract, line, key, value (numbers; flags as 0/1)."""
    rows = [
        {
            "contract": p.spec.name,
            "line": line.label,
            "key": line.key,
            "value": None if line.value is None else float(line.value),
        }
        for p in projections
        for line in p.settlement.lines
        if line.kind != "hidden"
    ]
    rows += [
        {
            "contract": p.spec.name,
            "line": "Settlement",
            "key": "settlement",
            "value": p.settlement.amount,
        }
        for p in projections
    ]
    return pl.DataFrame(
        rows,
        schema={"contract": pl.String, "line": pl.String, "key": pl.String, "value": pl.Float64},
    )
