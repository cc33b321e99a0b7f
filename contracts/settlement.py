"""Settlement: from a benchmark and a performance year's results to what the contract pays, with
every intermediate line.

``settle(spec, performance)`` is the one source of truth for every contract family; the
projection, the simulator, the CLI and the app all call it. The amount is positive when the
payer pays the provider (shared savings, surplus) and negative when the provider owes (shared
losses, deficit). Money is not rounded: the programs round only on their reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

import polars as pl

from contracts.parameters import (
    MsspRules,
    euc_affected_share,
    mssp_rules,
    reach_rules,
    sequestration_rate,
    size_based_msr,
)
from contracts.specs import (
    ContractSpec,
    Corridor,
    MaPercentOfPremiumSpec,
    MsspSpec,
    ReachSpec,
    RiskCorridorsSpec,
    SharedSavingsSpec,
)
from modeling.errors import ParameterError


@dataclass(frozen=True)
class Performance:
    """A performance year's figures, per person-year (annual) unless stated.

    For commercial contracts ``benchmark_per_capita`` is the target (12 x target PMPM); for
    Medicare Advantage percent-of-premium it is the plan premium per person-year and
    ``expenditure_per_capita`` the members' covered medical cost.
    """

    benchmark_per_capita: float
    expenditure_per_capita: float
    person_years: float
    assigned_beneficiaries: int | None = None
    quality_score: float | None = (
        None  # 0-1 (e.g. the ACO's health-equity-adjusted quality score / 100)
    )
    meets_quality_standard: bool = True
    meets_alternative_quality_standard: bool = False
    participant_ffs_revenue: float | None = None
    msr: float | None = (
        None  # explicit minimum savings rate (e.g. CMS's determination); overrides the spec's
    )
    mlr: float | None = None
    revenue_loss_limit_applies: bool | None = (
        None  # False: the benchmark-based loss limit applies (CMS found the revenue-based one higher)
    )
    euc_affected_share: float | None = (
        None  # extreme and uncontrollable circumstances: months affected / 12 x share of beneficiaries affected
    )
    euc_loss_adjustment: float | None = (
        None  # the same adjustment in dollars, as CMS reports it (DisAdj); overrides the share
    )
    health_equity_adjustment_per_capita: float | None = (
        None  # ACO REACH health equity benchmark adjustment (PY2023+), per person-year
    )

    def __post_init__(self) -> None:
        if not self.person_years > 0:
            raise ParameterError(f"person-years must be positive (got {self.person_years}).")
        if not self.benchmark_per_capita > 0:
            raise ParameterError(
                f"the benchmark per capita must be positive (got {self.benchmark_per_capita})."
            )
        if self.expenditure_per_capita < 0:
            raise ParameterError(
                f"expenditures per capita cannot be negative (got {self.expenditure_per_capita})."
            )
        if self.quality_score is not None and not 0 <= self.quality_score <= 1:
            raise ParameterError(
                f"the quality score is a fraction between 0 and 1 (got {self.quality_score})."
            )
        if self.euc_affected_share is not None and not 0 <= self.euc_affected_share <= 1:
            raise ParameterError(
                f"the extreme and uncontrollable circumstances share is a fraction between 0 and 1 (got {self.euc_affected_share})."
            )


@dataclass(frozen=True)
class Line:
    key: str
    label: str
    value: float | bool | None
    kind: str  # dollars, rate, per_capita, count, flag


@dataclass(frozen=True)
class SettlementFigures:
    """The settlement lines that code (the simulator, the waterfall, the app) reads, typed.

    A figure is None when the contract's family or the year's result has no such line (a
    one-sided level has no loss cap; a year with savings has no losses).
    """

    benchmark_total: float  # for MA percent-of-premium: the provider's revenue
    expenditure_total: float  # for MA percent-of-premium: the medical cost
    total_savings: float | None
    total_losses: float | None
    msr_met: bool | None  # the savings rate meets the minimum savings rate
    below_msr_low_revenue: bool  # a BASIC low-revenue ACO shares below the MSR (half rate)
    mlr_met: bool | None  # the loss rate meets the minimum loss rate (two-sided MSSP)
    shared_savings_before_limit: float | None
    performance_payment_limit: float | None  # MSSP
    payout_cap: float | None  # commercial contracts
    shared_savings: float | None
    loss_before_cap: float | None
    loss_cap: float | None  # MSSP and commercial loss caps; the MA deficit cap
    shared_losses: float | None
    care_management_fees: float | None

    @property
    def payment_limit(self) -> float | None:
        """The cap on what the payer pays out: MSSP's performance payment limit, or a commercial
        contract's payout cap."""
        if self.performance_payment_limit is not None:
            return self.performance_payment_limit
        return self.payout_cap

    @property
    def hits_payment_limit(self) -> bool:
        """Shared savings before the limit exceed the limit (the limit binds)."""
        before, limit = self.shared_savings_before_limit, self.payment_limit
        return before is not None and limit is not None and before > limit

    @property
    def hits_loss_cap(self) -> bool:
        """Shared losses before the cap exceed the cap (the cap binds)."""
        loss, cap = self.loss_before_cap, self.loss_cap
        return loss is not None and cap is not None and loss > cap

    @classmethod
    def from_lines(cls, contract: str, lines: tuple[Line, ...]) -> SettlementFigures:
        values: dict[str, float | bool | None] = {}
        for line in lines:
            values.setdefault(line.key, line.value)  # the first line of a key, as Settlement[key]

        def dollars(key: str) -> float | None:
            v = values.get(key)
            return None if v is None else float(v)

        def flag(key: str) -> bool | None:
            v = values.get(key)
            return None if v is None else bool(v)

        benchmark, expenditure = dollars("benchmark_total"), dollars("expenditure_total")
        if benchmark is None or expenditure is None:
            raise ParameterError(
                f"The settlement of {contract} needs the lines benchmark_total and "
                f"expenditure_total; it has {', '.join(values) or 'none'}."
            )
        return cls(
            benchmark_total=benchmark,
            expenditure_total=expenditure,
            total_savings=dollars("total_savings"),
            total_losses=dollars("total_losses"),
            msr_met=flag("msr_met"),
            below_msr_low_revenue=bool(values.get("below_msr_low_revenue")),
            mlr_met=flag("mlr_met"),
            shared_savings_before_limit=dollars("shared_savings_before_limit"),
            performance_payment_limit=dollars("performance_payment_limit"),
            payout_cap=dollars("payout_cap"),
            shared_savings=dollars("shared_savings"),
            loss_before_cap=dollars("loss_before_cap"),
            loss_cap=dollars("loss_cap"),
            shared_losses=dollars("shared_losses"),
            care_management_fees=dollars("care_management_fees"),
        )


def _present(value: float | None, line: str) -> float:
    """A figure the rules of this branch always write (a missing one is a malformed settlement)."""
    if value is None:
        raise ParameterError(f"The settlement has no '{line}' line, which its waterfall needs.")
    return value


@dataclass(frozen=True)
class Settlement:
    """What a contract pays for one performance year (``amount``), every line that leads to it
    (``lines``, for display and export), and the lines code reads, typed (``figures``)."""

    contract: str
    family: str
    amount: float
    lines: tuple[Line, ...] = field(repr=False)
    figures: SettlementFigures = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # derived from the lines once, while the settlement is built; never changed afterwards
        object.__setattr__(self, "figures", SettlementFigures.from_lines(self.contract, self.lines))

    def __getitem__(self, key: str) -> float | bool | None:
        for line in self.lines:
            if line.key == key:
                return line.value
        raise ParameterError(
            f"The settlement of {self.contract} has no line '{key}'. Its lines: "
            f"{', '.join(line.key for line in self.lines)}."
        )

    def get(self, key: str, default: float | bool | None = None) -> float | bool | None:
        """The value of the line ``key``, or ``default`` when the settlement has no such line."""
        for line in self.lines:
            if line.key == key:
                return line.value
        return default

    def waterfall(self) -> pl.DataFrame:
        """step, amount, kind: the gross result, the changes that lead from it to the settlement
        (each a signed dollar change), and the settlement itself (kind "total")."""
        steps = self._waterfall_steps()
        return pl.DataFrame(
            {
                "step": [s for s, _ in steps] + ["Settlement"],
                "amount": [float(v) for _, v in steps] + [self.amount],
                "kind": ["start"] + ["change"] * (len(steps) - 1) + ["total"],
            }
        )

    def _waterfall_steps(self) -> list[tuple[str, float]]:
        """The gross result (benchmark minus expenditures; for MA, revenue minus cost), then what
        the rules take away from it, ending at the amount."""
        f = self.figures
        gross = f.benchmark_total - f.expenditure_total
        steps = [
            (
                "Benchmark - expenditures"
                if self.family != "ma_percent_of_premium"
                else "Revenue - medical cost",
                gross,
            )
        ]
        if self.family == "mssp" and gross >= 0:
            if not f.msr_met and not f.below_msr_low_revenue:
                steps.append(("Below the minimum savings rate", -gross))
            else:
                before = _present(f.shared_savings_before_limit, "shared_savings_before_limit")
                steps.append(("Medicare's share", before - gross))
                steps.append(
                    (
                        "Above the payment limit",
                        _present(f.shared_savings, "shared_savings") - before,
                    )
                )
        elif self.family == "mssp" and f.mlr_met is not None:
            if not f.mlr_met:
                steps.append(("Below the minimum loss rate", -gross))
            else:
                before_cap = _present(f.loss_before_cap, "loss_before_cap")
                steps.append(
                    (
                        "Medicare's share of losses",
                        _present(f.total_losses, "total_losses") - before_cap,
                    )
                )
                steps.append(
                    (
                        "Beyond the loss cap",
                        before_cap - _present(f.shared_losses, "shared_losses"),
                    )
                )
        elif self.family == "mssp":
            steps.append(("One-sided: losses not shared", -gross))
        elif f.care_management_fees is not None:
            shared = _present(f.shared_savings, "shared_savings")
            steps.append(("Not shared (threshold, rate, quality, cap)", shared - gross))
            steps.append(("Care-management fees, net", self.amount - shared))
        else:
            steps.append(("Not shared with the provider", self.amount - gross))
        return [(name, value) for name, value in steps if abs(value) > 1e-9 or name == steps[0][0]]


_Value = TypeVar("_Value", bound=float | bool | None)


class _Lines:
    def __init__(self) -> None:
        self.items: list[Line] = []

    def add(self, key: str, label: str, value: _Value, kind: str = "dollars") -> _Value:
        self.items.append(Line(key, label, value, kind))
        return value


def settle(spec: ContractSpec, performance: Performance) -> Settlement:
    """The itemized settlement of ``spec`` for one performance year."""
    lines = _Lines()
    if isinstance(spec, MsspSpec):
        result = _settle_mssp(spec, performance, lines)
    elif isinstance(spec, ReachSpec):
        result = _settle_reach(spec, performance, lines)
    elif isinstance(spec, SharedSavingsSpec):
        result = _settle_shared_savings(spec, performance, lines)
    elif isinstance(spec, RiskCorridorsSpec):
        result = _settle_corridors(spec, performance, lines)
    else:
        result = _settle_ma(spec, performance, lines)
    amount = float(result) + 0.0  # + 0.0 turns a -0.0 into 0.0
    return Settlement(spec.name, spec.family, amount, tuple(lines.items))


def _totals(p: Performance, out: _Lines) -> tuple[float, float, float]:
    out.add(
        "benchmark_per_capita", "Benchmark per person-year", p.benchmark_per_capita, "per_capita"
    )
    out.add(
        "expenditure_per_capita",
        "Expenditures per person-year",
        p.expenditure_per_capita,
        "per_capita",
    )
    out.add("person_years", "Person-years", p.person_years, "count")
    benchmark_total = out.add(
        "benchmark_total", "Total benchmark", p.benchmark_per_capita * p.person_years
    )
    expenditure_total = out.add(
        "expenditure_total", "Total expenditures", p.expenditure_per_capita * p.person_years
    )
    rate = (p.benchmark_per_capita - p.expenditure_per_capita) / p.benchmark_per_capita
    return benchmark_total, expenditure_total, rate


# ---------------------------------------------------------------------------------------- MSSP


def _msr_mlr(
    spec: MsspSpec, rules: MsspRules, p: Performance, out: _Lines
) -> tuple[float, float | None]:
    """Minimum savings and loss rates: explicit figures win; else the elected symmetric rate for
    two-sided levels (size-based below 5,000 assigned beneficiaries), else the 425.604(b) table."""
    elected = spec.msr_mlr if rules.two_sided and spec.msr_mlr != "size_based" else None
    if (
        elected is not None
        and p.assigned_beneficiaries is not None
        and p.assigned_beneficiaries < 5000
    ):
        elected = (
            None  # 42 CFR 425.605(b)(2)(iv) / 425.610(b)(2)(iv): fewer than 5,000 -> size-based
        )

    def table_rate() -> float:
        if p.assigned_beneficiaries is None:
            raise ParameterError(
                "the size-based minimum savings rate needs the number of assigned beneficiaries (or give msr/mlr explicitly)."
            )
        return size_based_msr(p.assigned_beneficiaries)

    msr = p.msr if p.msr is not None else (elected if elected is not None else table_rate())
    mlr = None
    if rules.two_sided:
        mlr = (
            p.mlr
            if p.mlr is not None
            else (
                elected if elected is not None else (p.msr if p.msr is not None else table_rate())
            )
        )
    out.add("minimum_savings_rate", "Minimum savings rate", msr, "rate")
    if mlr is not None:
        out.add("minimum_loss_rate", "Minimum loss rate", mlr, "rate")
    return msr, mlr


def _quality_score(rules: MsspRules, p: Performance) -> float:
    if p.quality_score is None:
        raise ParameterError(
            f"MSSP {rules.performance_year} {rules.track} scales by the quality score: give quality_score (0-1)."
        )
    return p.quality_score


def _mssp_sharing_rate(rules: MsspRules, p: Performance) -> float:
    """Final sharing rate after quality, by the year's rule (``quality_rule`` in the parameters):

    - ``score_scaled`` (PY2013-2020): maximum rate x quality score when the quality performance
      standard is met (42 CFR 425.604(d), 425.606(d), 425.610(d) as then in effect), else zero;
    - ``standard`` (PY2021-2022): the maximum rate when the standard is met, else zero;
    - ``standard_or_sliding`` (PY2023+): the maximum rate when the standard is met; maximum rate x
      quality score when only the alternative quality performance standard is met (425.512, the
      sliding scale); zero otherwise.
    """
    if rules.quality_rule == "score_scaled":
        return (
            rules.max_sharing_rate * _quality_score(rules, p) if p.meets_quality_standard else 0.0
        )
    if p.meets_quality_standard:
        return rules.max_sharing_rate
    if rules.quality_rule == "standard_or_sliding" and p.meets_alternative_quality_standard:
        if p.quality_score is None:
            raise ParameterError(
                "an ACO meeting only the alternative quality standard needs its quality score (0-1) for the sliding scale."
            )
        return rules.max_sharing_rate * p.quality_score
    return 0.0


def _quality_loss_rate(rules: MsspRules, sharing_rate: float, p: Performance) -> float:
    """Shared loss rate of the tracks whose rate follows quality (Track 2, Track 3, ENHANCED):
    1 - the final sharing rate within [min, max] through PY2020; from PY2021, when the standard is
    met, 1 - maximum rate x quality score (the score still counts for losses though not for
    savings); from PY2023 an ACO meeting only the alternative standard, 1 - its sliding-scale
    rate; the maximum loss rate when neither is met."""
    low, high = rules.loss_rate_min, rules.loss_rate_max
    if low is None or high is None:
        raise ParameterError(
            _incomplete_rules(rules, "a shared_loss_rate, or loss_rate_min and loss_rate_max")
        )
    if rules.quality_rule == "score_scaled":
        quality_rate = sharing_rate
    elif p.meets_quality_standard:
        score = 1.0 if p.quality_score is None else p.quality_score
        quality_rate = rules.max_sharing_rate * score
    elif rules.quality_rule == "standard_or_sliding" and p.meets_alternative_quality_standard:
        quality_rate = sharing_rate  # the sliding scale: maximum rate x quality score
    else:
        quality_rate = 0.0
    return min(max(1 - quality_rate, low), high)


def _loss_cap(spec: MsspSpec, rules: MsspRules, p: Performance, benchmark_total: float) -> float:
    """The loss limit: a share of the updated benchmark (Track 2 by its year of two-sided risk,
    425.606(g)), and, where the level has one, the revenue-based limit when it is lower."""
    if rules.loss_cap_schedule:
        if spec.two_sided_year is None:
            raise ParameterError(
                f"The Track 2 loss limit depends on the ACO's performance year of two-sided risk "
                f"({', '.join(f'{c:.1%}' for c in rules.loss_cap_schedule)} of the benchmark): give two_sided_year."
            )
        pct = rules.loss_cap_schedule[min(spec.two_sided_year, len(rules.loss_cap_schedule)) - 1]
    elif rules.loss_cap_pct_benchmark is None:
        raise ParameterError(_incomplete_rules(rules, "loss_cap_pct_benchmark"))
    else:
        pct = rules.loss_cap_pct_benchmark
    caps = [pct * benchmark_total]
    if rules.loss_cap_pct_revenue is not None and p.revenue_loss_limit_applies is not False:
        if p.participant_ffs_revenue is None:
            raise ParameterError(
                f"MSSP {spec.track}{' level ' + spec.level if spec.level else ''}'s loss limit depends on ACO participants' "
                "total Parts A and B FFS revenue; give participant_ffs_revenue (or revenue_loss_limit_applies=False when "
                "CMS applied the benchmark-based limit)."
            )
        caps.append(rules.loss_cap_pct_revenue * p.participant_ffs_revenue)
    return min(caps)


def _incomplete_rules(rules: MsspRules, missing: str) -> str:
    level = f" level {rules.level}" if rules.level else ""
    return (
        f"MSSP {rules.track}{level} {rules.performance_year} is two-sided but its row in "
        f"contracts/data/mssp_parameters.csv has no {missing}; add it with its 42 CFR 425 source."
    )


def _settle_mssp(spec: MsspSpec, p: Performance, out: _Lines) -> float:
    """A year's settlement; for a six-month 2019 performance period (42 CFR 425.609) CMS settles
    the whole of CY2019 and pro-rates the shared savings or losses by the months in the period."""
    amount = _settle_mssp_year(spec, p, out)
    if spec.performance_period_months == 12:
        return amount
    share = out.add(
        "period_share",
        "Share of CY2019 in the six-month performance period (425.609)",
        spec.performance_period_months / 12,
        "rate",
    )
    return out.add("period_settlement", "Settlement for the six-month period", amount * share)


def _settle_mssp_year(spec: MsspSpec, p: Performance, out: _Lines) -> float:
    rules = mssp_rules(spec.performance_year, spec.track, spec.level)
    out.add("assigned_beneficiaries", "Assigned beneficiaries", p.assigned_beneficiaries, "count")
    benchmark_total, expenditure_total, rate = _totals(p, out)
    msr, mlr = _msr_mlr(spec, rules, p, out)
    sharing_rate = _mssp_sharing_rate(rules, p)
    if rate >= 0:
        savings = out.add("total_savings", "Total savings", benchmark_total - expenditure_total)
        out.add("savings_rate", "Savings rate", rate, "rate")
        met = out.add("msr_met", "Savings rate meets the MSR", rate >= msr and savings > 0, "flag")
        shares = met
        if (
            not met
            and spec.low_revenue_aco
            and rules.low_revenue_below_msr
            and savings > 0
            and (p.assigned_beneficiaries or 0) >= 5000
        ):
            sharing_rate, shares = (
                sharing_rate / 2,
                True,
            )  # 42 CFR 425.605(h): below the MSR, half the final sharing rate
            out.add(
                "below_msr_low_revenue",
                "Low-revenue ACO sharing below the MSR (half rate)",
                True,
                "flag",
            )
        out.add("final_sharing_rate", "Final sharing rate (after quality)", sharing_rate, "rate")
        shared = savings * sharing_rate if shares else 0.0
        if spec.sequestration:
            seq = out.add(
                "sequestration_rate",
                "Sequestration (payment year)",
                sequestration_rate(spec.performance_year),
                "rate",
            )
            shared = shared - out.add("sequestration", "Sequestration withheld", shared * seq)
        before_limit = out.add(
            "shared_savings_before_limit",
            "Shared savings before the limit",
            shared,
        )
        limit = out.add(
            "performance_payment_limit",
            "Performance payment limit",
            rules.payment_limit_pct_benchmark * benchmark_total,
        )
        return out.add("shared_savings", "Shared savings", min(before_limit, limit))
    losses = out.add("total_losses", "Total losses", expenditure_total - benchmark_total)
    out.add("loss_rate", "Loss rate", -rate, "rate")
    if mlr is None:  # one-sided levels (rules.two_sided false) have no minimum loss rate
        out.add("shared_losses", "Shared losses (one-sided: none)", 0.0)
        return 0.0
    met = out.add("mlr_met", "Loss rate meets the MLR", -rate >= mlr, "flag")
    if rules.shared_loss_rate is not None:
        loss_rate = rules.shared_loss_rate
    else:
        loss_rate = _quality_loss_rate(rules, sharing_rate, p)
    out.add("shared_loss_rate", "Shared loss rate", loss_rate, "rate")
    before_cap = out.add(
        "loss_before_cap", "Shared losses before the cap", losses * loss_rate if met else 0.0
    )
    cap = out.add("loss_cap", "Loss cap", _loss_cap(spec, rules, p, benchmark_total))
    capped = min(before_cap, cap)
    # extreme and uncontrollable circumstances (425.605(f), 425.606(i), 425.610(i)): shared losses
    # times the share of months affected times the share of beneficiaries in affected areas; a
    # program-wide determination (the COVID-19 emergency) or the ACO's own share, else CMS's figure
    share = p.euc_affected_share
    if share is None:
        share = euc_affected_share(spec.performance_year)
    if share is not None:
        reduction = capped * share
    elif p.euc_loss_adjustment is not None:
        reduction = min(abs(p.euc_loss_adjustment), capped)
    else:
        reduction = 0.0
    if reduction:
        out.add(
            "euc_adjustment",
            "Extreme and uncontrollable circumstances adjustment",
            reduction,
        )
    return -out.add("shared_losses", "Shared losses", capped - reduction)


# --------------------------------------------------------------------------------------- REACH


def _banded(
    amount_rate: float, base: float, bands: tuple[tuple[float, float | None, float], ...]
) -> float:
    """Sum over bands of (the part of ``amount_rate`` inside the band) x share x ``base``."""
    total = 0.0
    for lo, hi, share in bands:
        top = amount_rate if hi is None else min(amount_rate, hi)
        if top > lo:
            total += (top - lo) * share * base
    return total


def _settle_reach(spec: ReachSpec, p: Performance, out: _Lines) -> float:
    """Benchmark less the discount and the quality withhold, plus the withhold earned back by the
    quality score; the ACO keeps, of gross savings/losses against it, each risk corridor's share
    (bands as a share of the benchmark; the first band's share is the option's 100% or 50%)."""
    rules = reach_rules(spec.performance_year, spec.risk_option)
    raw_total = p.benchmark_per_capita * p.person_years
    if spec.benchmark_basis == "final":
        out.add(
            "final_benchmark", "Final benchmark (discount and withhold applied by CMS)", raw_total
        )
        adjusted = p.benchmark_per_capita
    else:
        out.add("benchmark_before_discount", "Benchmark before discount and withhold", raw_total)
        out.add("discount", "Discount", rules.discount, "rate")
        quality = 1.0 if p.quality_score is None else p.quality_score
        earned = out.add(
            "withhold_earned_back",
            "Quality withhold earned back",
            rules.quality_withhold * quality,
            "rate",
        )
        adjusted = p.benchmark_per_capita * (1 - rules.discount - rules.quality_withhold + earned)
    if p.health_equity_adjustment_per_capita is not None:
        # PY2023+: the HEBA is added to the benchmark, in gross savings and in the corridor base
        out.add(
            "health_equity_adjustment",
            "Health equity benchmark adjustment",
            p.health_equity_adjustment_per_capita * p.person_years,
        )
        adjusted += p.health_equity_adjustment_per_capita
    benchmark_total, expenditure_total, rate = _totals(
        Performance(adjusted, p.expenditure_per_capita, p.person_years), out
    )
    sign = 1 if rate >= 0 else -1
    out.add(
        "total_savings" if sign > 0 else "total_losses",
        "Total savings" if sign > 0 else "Total losses",
        abs(benchmark_total - expenditure_total),
    )
    out.add(
        "savings_rate" if sign > 0 else "loss_rate",
        "Savings rate" if sign > 0 else "Loss rate",
        abs(rate),
        "rate",
    )
    out.add(
        "first_corridor_share",
        "Share retained in the first corridor",
        rules.corridors[0][2],
        "rate",
    )
    retained = _banded(abs(rate), benchmark_total, rules.corridors)
    if spec.sequestration and sign > 0:
        out.add(
            "shared_savings_before_sequestration", "Shared savings before sequestration", retained
        )
        seq = out.add(
            "sequestration_rate",
            "Sequestration (payment year)",
            sequestration_rate(spec.performance_year),
            "rate",
        )
        retained -= out.add("sequestration", "Sequestration withheld", retained * seq)
    return sign * out.add(
        "shared_savings" if sign > 0 else "shared_losses",
        "Shared savings (through the corridors)"
        if sign > 0
        else "Shared losses (through the corridors)",
        retained,
    )


# ---------------------------------------------------------------------------------- commercial


def _settle_shared_savings(spec: SharedSavingsSpec, p: Performance, out: _Lines) -> float:
    benchmark_total, expenditure_total, rate = _totals(p, out)
    savings = out.add(
        "total_savings", "Total savings", max(benchmark_total - expenditure_total, 0.0)
    )
    out.add("savings_rate", "Savings rate", rate, "rate")
    met = out.add(
        "msr_met",
        "Savings rate meets the minimum",
        rate >= spec.minimum_savings_rate and savings > 0,
        "flag",
    )
    quality = p.quality_score
    gate_ok = spec.quality_gate is None or (quality is not None and quality >= spec.quality_gate)
    out.add("quality_gate_met", "Quality gate met", gate_ok, "flag")
    if spec.quality_gate is not None and quality is None:
        raise ParameterError(
            f"{spec.name} has a quality gate of {spec.quality_gate}; give the quality score (0-1)."
        )
    share = (
        spec.sharing_rate * (quality if spec.quality_scales_share and quality is not None else 1.0)
        if (met and gate_ok)
        else 0.0
    )
    out.add("final_sharing_rate", "Final sharing rate", share, "rate")
    shareable = (
        savings
        if spec.share_from_first_dollar
        else max(savings - spec.minimum_savings_rate * benchmark_total, 0.0)
    )
    before = out.add(
        "shared_savings_before_limit", "Shared savings before the cap", shareable * share
    )
    capped = (
        before
        if spec.payout_cap_pct_target is None
        else min(
            before,
            out.add("payout_cap", "Payout cap", spec.payout_cap_pct_target * benchmark_total),
        )
    )
    fee = out.add(
        "care_management_fees",
        "Care-management fees (netted)",
        spec.care_management_pmpm * p.person_years * 12,
    )
    out.add("shared_savings", "Shared savings", capped)
    return fee + max(
        capped - fee, 0.0
    )  # the fee is paid regardless; shared savings pay out only above it


def _corridor_bands(bands: tuple[Corridor, ...]) -> tuple[tuple[float, float | None, float], ...]:
    return tuple((b.from_rate, b.to_rate, b.provider_share) for b in bands)


def _settle_corridors(spec: RiskCorridorsSpec, p: Performance, out: _Lines) -> float:
    benchmark_total, expenditure_total, rate = _totals(p, out)
    if rate >= 0:
        out.add("total_savings", "Total savings", benchmark_total - expenditure_total)
        out.add("savings_rate", "Savings rate", rate, "rate")
        share = out.add(
            "shared_savings_before_limit",
            "Provider share through the corridors",
            _banded(rate, benchmark_total, _corridor_bands(spec.corridors)),
        )
        if spec.payout_cap_pct_target is not None:
            share = min(
                share,
                out.add("payout_cap", "Payout cap", spec.payout_cap_pct_target * benchmark_total),
            )
        return out.add("shared_savings", "Shared savings", share)
    out.add("total_losses", "Total losses", expenditure_total - benchmark_total)
    out.add("loss_rate", "Loss rate", -rate, "rate")
    loss = out.add(
        "loss_before_cap",
        "Provider share of losses through the corridors",
        _banded(-rate, benchmark_total, _corridor_bands(spec.loss_corridors or spec.corridors)),
    )
    if spec.loss_cap_pct_target is not None:
        loss = min(
            loss, out.add("loss_cap", "Loss cap", spec.loss_cap_pct_target * benchmark_total)
        )
    return -out.add("shared_losses", "Shared losses", loss)


def _settle_ma(spec: MaPercentOfPremiumSpec, p: Performance, out: _Lines) -> float:
    out.add("premium_pmpm", "Plan premium PMPM", p.benchmark_per_capita / 12, "per_capita")
    out.add("member_months", "Member months", p.person_years * 12, "count")
    revenue = out.add(
        "provider_revenue",
        "Provider revenue (percent of premium)",
        spec.percent_of_premium * p.benchmark_per_capita * p.person_years,
    )
    cost = out.add("medical_cost", "Medical cost", p.expenditure_per_capita * p.person_years)
    out.items += [
        Line("benchmark_total", "Provider revenue", revenue, "hidden"),
        Line("expenditure_total", "Medical cost", cost, "hidden"),
    ]
    result = revenue - cost
    if result >= 0:
        out.add("total_savings", "Surplus", result)
        return out.add("provider_settlement", "Provider keeps", result * spec.surplus_share)
    out.add("total_losses", "Deficit", -result)
    owed = -result * spec.deficit_share
    if spec.deficit_cap_pct_revenue is not None:
        owed = min(owed, out.add("loss_cap", "Deficit cap", spec.deficit_cap_pct_revenue * revenue))
    return -out.add("provider_settlement", "Provider owes", owed)
