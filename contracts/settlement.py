"""Settlement: from a benchmark and a performance year's results to what the contract pays, with
every intermediate line.

``settle(spec, performance)`` is the one source of truth for every contract family; the
projection, the simulator, the CLI and the app all call it. The amount is positive when the
payer pays the provider (shared savings, surplus) and negative when the provider owes (shared
losses, deficit). Money is not rounded: the programs round only on their reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from contracts.parameters import MsspRules, mssp_rules, reach_rules, size_based_msr
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


@dataclass(frozen=True)
class Line:
    key: str
    label: str
    value: float | bool | None
    kind: str  # dollars, rate, per_capita, count, flag


@dataclass(frozen=True)
class Settlement:
    contract: str
    family: str
    amount: float
    lines: tuple[Line, ...] = field(repr=False)

    def __getitem__(self, key: str):
        for line in self.lines:
            if line.key == key:
                return line.value
        raise KeyError(key)

    def get(self, key: str, default=None):
        try:
            return self[key]
        except KeyError:
            return default

    def table(self) -> pl.DataFrame:
        """One row per line, with the value formatted as people read it."""

        def text(line: Line) -> str:
            v = line.value
            if v is None:
                return "n/a"
            if line.kind == "flag":
                return "yes" if v else "no"
            if line.kind == "rate":
                return f"{v:.2%}"
            if line.kind == "count":
                return f"{v:,.0f}"
            sign, v = ("-", -v) if v < 0 else ("", v)
            return f"{sign}${v:,.2f}" if line.kind == "per_capita" else f"{sign}${v:,.0f}"

        shown = [line for line in self.lines if line.kind != "hidden"]
        return pl.DataFrame(
            {
                "line": [line.label for line in shown],
                "value": [text(line) for line in shown],
                "key": [line.key for line in shown],
            }
        )

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
        keys = {line.key for line in self.lines}
        gross = self["benchmark_total"] - self["expenditure_total"]
        steps = [
            (
                "Benchmark - expenditures"
                if self.family != "ma_percent_of_premium"
                else "Revenue - medical cost",
                gross,
            )
        ]
        if self.family == "mssp" and gross >= 0:
            if not self["msr_met"] and not self.get("below_msr_low_revenue"):
                steps.append(("Below the minimum savings rate", -gross))
            else:
                steps.append(("Medicare's share", self["shared_savings_before_limit"] - gross))
                steps.append(
                    (
                        "Above the payment limit",
                        self["shared_savings"] - self["shared_savings_before_limit"],
                    )
                )
        elif self.family == "mssp" and "mlr_met" in keys:
            if not self["mlr_met"]:
                steps.append(("Below the minimum loss rate", -gross))
            else:
                steps.append(
                    ("Medicare's share of losses", self["total_losses"] - self["loss_before_cap"])
                )
                steps.append(
                    ("Beyond the loss cap", self["loss_before_cap"] - self["shared_losses"])
                )
        elif self.family == "mssp":
            steps.append(("One-sided: losses not shared", -gross))
        elif "care_management_fees" in keys:
            steps.append(
                ("Not shared (threshold, rate, quality, cap)", self["shared_savings"] - gross)
            )
            steps.append(("Care-management fees, net", self.amount - self["shared_savings"]))
        else:
            steps.append(("Not shared with the provider", self.amount - gross))
        return [(name, value) for name, value in steps if abs(value) > 1e-9 or name == steps[0][0]]


class _Lines:
    def __init__(self) -> None:
        self.items: list[Line] = []

    def add(self, key: str, label: str, value, kind: str = "dollars"):
        self.items.append(Line(key, label, value, kind))
        return value


def settle(spec: ContractSpec, performance: Performance) -> Settlement:
    """The itemized settlement of ``spec`` for one performance year."""
    settle_family = {
        MsspSpec: _settle_mssp,
        ReachSpec: _settle_reach,
        SharedSavingsSpec: _settle_shared_savings,
        RiskCorridorsSpec: _settle_corridors,
        MaPercentOfPremiumSpec: _settle_ma,
    }[type(spec)]
    lines = _Lines()
    amount = float(settle_family(spec, performance, lines)) + 0.0  # + 0.0 turns a -0.0 into 0.0
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


def _mssp_sharing_rate(rules: MsspRules, p: Performance) -> float:
    """Final sharing rate after quality (42 CFR 425.605(d), 425.610(d), PY2024+): the maximum rate
    when the quality performance standard is met; scaled by the quality score when only the
    alternative standard is met (the sliding scale); zero otherwise."""
    if p.meets_quality_standard:
        return rules.max_sharing_rate
    if p.meets_alternative_quality_standard:
        if p.quality_score is None:
            raise ParameterError(
                "an ACO meeting only the alternative quality standard needs its quality score (0-1) for the sliding scale."
            )
        return rules.max_sharing_rate * p.quality_score
    return 0.0


def _settle_mssp(spec: MsspSpec, p: Performance, out: _Lines) -> float:
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
            and spec.track == "BASIC"
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
        before_limit = out.add(
            "shared_savings_before_limit",
            "Shared savings before the limit",
            savings * sharing_rate if shares else 0.0,
        )
        limit = out.add(
            "performance_payment_limit",
            "Performance payment limit",
            rules.payment_limit_pct_benchmark * benchmark_total,
        )
        return out.add("shared_savings", "Shared savings", min(before_limit, limit))
    losses = out.add("total_losses", "Total losses", expenditure_total - benchmark_total)
    out.add("loss_rate", "Loss rate", -rate, "rate")
    if not rules.two_sided:
        out.add("shared_losses", "Shared losses (one-sided: none)", 0.0)
        return 0.0
    met = out.add("mlr_met", "Loss rate meets the MLR", -rate >= mlr, "flag")
    if rules.shared_loss_rate is not None:
        loss_rate = rules.shared_loss_rate
    else:  # ENHANCED: 1 - final sharing rate, within [40%, 75%]
        loss_rate = min(max(1 - sharing_rate, rules.loss_rate_min), rules.loss_rate_max)
    out.add("shared_loss_rate", "Shared loss rate", loss_rate, "rate")
    before_cap = out.add(
        "loss_before_cap", "Shared losses before the cap", losses * loss_rate if met else 0.0
    )
    caps = [rules.loss_cap_pct_benchmark * benchmark_total]
    if rules.loss_cap_pct_revenue is not None:
        if p.participant_ffs_revenue is None:
            raise ParameterError(
                f"BASIC level {spec.level}'s loss cap depends on ACO participants' total Parts A and B FFS revenue; give participant_ffs_revenue."
            )
        caps.append(rules.loss_cap_pct_revenue * p.participant_ffs_revenue)
    cap = out.add("loss_cap", "Loss cap", min(caps))
    return -out.add("shared_losses", "Shared losses", min(before_cap, cap))


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
