"""Benchmarks from a panel's own history, the way the Shared Savings Program builds them
(42 CFR 425.601 and 425.652-425.658), with the stand-ins a panel forces stated.

Per Medicare enrollment type (ESRD, disabled, aged/dual, aged/non-dual; ``modeling.core.member_months``):

1. expenditures per person-year in each baseline year: Parts A and B paid amounts of the year,
   each person's annualized expenditure truncated at the spec's percentile of the panel's own
   annualized expenditures for the enrollment type (CMS truncates at the 99th percentile of
   national assignable FFS expenditures, which a panel does not have) and, for commercial
   contracts, at the stop-loss attachment;
2. baseline years trended to the last baseline year (BY3) at the annual trend and restated to
   BY3's risk (ratio of mean CMS-HCC V28 raw scores, one model for every year so that changes in
   CMS's blend and normalization do not leak in; CMS renormalizes to the national assignable
   population instead), then weighted (10/30/60 by default);
3. the historical benchmark updated to the performance year at the annual trend (CMS blends
   national-regional growth with the Accountable Care Prospective Trend; a panel-level trend is
   the stand-in) and adjusted by the risk change from BY3 to the performance year, with upward
   growth capped (aggregate across enrollment types, as from 2024; the demographic-growth
   allowance is not modelled);
4. the overall benchmark weighted by performance-year person-years by enrollment type.

The regional and prior-savings adjustments need regional and national expenditures that a panel
does not carry; they apply when the user gives them (``RegionalInputs``). IME/DSH/
uncompensated-care payments cannot be separated in claims; the benchmark's ``notes`` say so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from modeling.core.member_months import ENROLLMENT_TYPES
from modeling.core.panel import Panel
from modeling.core.service_categories import CATEGORIES
from modeling.core.spend import money_sum
from modeling.dataset import Dataset
from modeling.errors import DatasetError, ParameterError
from modeling.validation import require_columns


def person_year_expenditures(source: Panel | Dataset, years: list[int]) -> pl.DataFrame:
    """person_id, year, enrollment_type (of the person's last month in the year), months,
    paid (Parts A and B) and paid by service category, for the given years."""
    panel = Panel.of(source)
    mm = (
        panel.scan("member_months")
        .filter(pl.col("year").is_in(years))
        .sort("person_id", "year_month")
        .group_by("person_id", "year")
        .agg(pl.len().alias("months"), pl.col("enrollment_type").last())
    )
    spend = panel.scan("medical_spend", years=years).filter(pl.col("year").is_in(years))
    wide = spend.collect().pivot(
        on="service_category",
        index=["person_id", "year"],
        values="paid_amount",
        aggregate_function="sum",
    )
    for c in CATEGORIES:
        if c not in wide.columns:
            wide = wide.with_columns(pl.lit(0.0).alias(c))
    wide = wide.with_columns(pl.col(c).fill_null(0.0) for c in CATEGORIES)
    return (
        mm.collect()
        .join(wide, on=["person_id", "year"], how="left")
        .with_columns(pl.col(c).fill_null(0.0) for c in CATEGORIES)
        .with_columns(pl.sum_horizontal(CATEGORIES).alias("paid"))
        .sort(
            "person_id", "year"
        )  # a fixed row order makes every later sum the same bytes run after run
    )


def truncate(
    frame: pl.DataFrame, percentile: float | None, attachment: float | None
) -> pl.DataFrame:
    """Adds ``allowed_paid``: annualized paid capped at the percentile of its enrollment type and
    year (computed on the frame itself), de-annualized; then capped at the stop-loss attachment."""
    require_columns(frame, ("paid", "months", "year", "enrollment_type"), where="truncate")
    annualized = pl.col("paid") * 12 / pl.col("months")
    out = frame.with_columns(annualized.alias("_annual"))
    if percentile is not None and percentile < 1:
        out = out.with_columns(
            pl.col("_annual")
            .quantile(percentile, interpolation="linear")
            .over("year", "enrollment_type")
            .alias("_threshold")
        )
        out = out.with_columns(pl.min_horizontal("_annual", "_threshold").alias("_annual"))
    capped = pl.col("_annual") * pl.col("months") / 12
    if attachment is not None:
        capped = pl.min_horizontal(capped, pl.lit(attachment))
    return out.with_columns(capped.alias("allowed_paid")).drop(
        "_annual", "_threshold", strict=False
    )


def per_capita_by_type(frame: pl.DataFrame) -> pl.DataFrame:
    """year, enrollment_type, person_years, expenditures (truncated), per_capita."""
    return (
        frame.group_by("year", "enrollment_type")
        .agg(
            (pl.col("months").sum() / 12).alias("person_years"),
            money_sum("allowed_paid").alias("expenditures"),
        )
        .with_columns((pl.col("expenditures") / pl.col("person_years")).alias("per_capita"))
        .sort("year", "enrollment_type")
    )


def risk_by_type(source: Panel | Dataset, calendar_year: int) -> pl.DataFrame | None:
    """enrollment_type, mean V28 raw score of the members scored for ``calendar_year`` as a
    payment year (from the prior year's diagnoses); None when the data cannot score that year."""
    from risk_stratification.hcc.engine import score
    from risk_stratification.hcc.inputs import hcc_inputs

    panel = Panel.of(source)
    try:
        people, dx = hcc_inputs(panel, calendar_year)
    except DatasetError:
        return None
    raw = score(people, dx, model="V28", payment_year=calendar_year).scores.select(
        "person_id", "raw_score"
    )
    types = (
        panel.scan("member_months")
        .filter((pl.col("year") == calendar_year - 1) & (pl.col("month") == 12))
        .select("person_id", "enrollment_type")
        .unique("person_id")
        .collect()
    )
    return (
        raw.join(types, on="person_id")
        .sort("person_id")
        # raw scores are sums of three-decimal coefficients: add them as exact thousandths
        .group_by("enrollment_type")
        .agg(
            ((pl.col("raw_score") * 1000).round().cast(pl.Int64).sum() / 1000 / pl.len()).alias(
                "risk"
            ),
            pl.len().alias("scored"),
        )
        .sort("enrollment_type")
    )


@dataclass(frozen=True)
class RegionalInputs:
    """What the regional and prior-savings adjustments need and a panel does not have: the ACO's
    regional FFS per-capita expenditure and the national per-capita FFS expenditure by
    enrollment type (from CMS's benchmark reports), and, for a renewing ACO, its average
    per-capita savings in the prior agreement period.

    Given by year instead (``regional_by_year`` / ``national_by_year``, as a synthetic panel's
    region carries them), the regional figure is weighted and trended over the baseline years
    as the historical benchmark is, and the national one is BY3's; ``growth_by_year`` (the
    national-regional growth of each year over the one before) then trends and updates the
    benchmark in place of a single annual rate, as 42 CFR 425.601(b)-(c) and 425.652(b) do."""

    agreement_period: int
    regional_per_capita: dict[str, float]
    national_per_capita: dict[str, float]
    prior_savings_per_capita: float | None = None
    regional_by_year: dict[int, dict[str, float]] | None = None
    national_by_year: dict[int, dict[str, float]] | None = None
    growth_by_year: dict[int, float] | None = None

    @classmethod
    def from_region(cls, region: Mapping[str, Any], *, agreement_period: int) -> RegionalInputs:
        """From a dataset's recorded region (``modeling.synth.region``: manifest source "region")."""
        try:
            regional = {int(y): dict(v) for y, v in region["regional_per_capita"].items()}
            national = {int(y): dict(v) for y, v in region["national_per_capita"].items()}
            growth = {int(y): float(g) for y, g in region["national_regional_growth"].items()}
        except (KeyError, TypeError, ValueError, AttributeError):
            raise ParameterError(
                "The dataset's region needs regional_per_capita, national_per_capita and "
                "national_regional_growth by year (see modeling.synth.region)."
            ) from None
        last = max(regional)
        return cls(
            agreement_period,
            regional[last],
            national[last],
            None,
            regional,
            national,
            growth,
        )


def regional_adjustment(historical: pl.DataFrame, inputs: RegionalInputs) -> pl.DataFrame:
    """enrollment_type, regional_adjustment per capita (42 CFR 425.656 and 425.658): a share of
    (regional - historical) by enrollment type, the share depending on the agreement period and
    on whether the ACO spends less (positive adjustment) or more than its region; positive
    adjustments capped at 5% and negative ones at 1.5% of national per-capita expenditure; a
    renewing ACO's prior-savings adjustment (50% of its average per-capita savings, capped at 5%
    of national) replaces the regional adjustment where it is more favorable.
    Parameters: ``contracts/data/mssp_regional.csv``."""
    from contracts.parameters import mssp_regional

    r = mssp_regional(inputs.agreement_period)
    missing = sorted(
        set(historical["enrollment_type"]) - set(inputs.regional_per_capita)
        | set(historical["enrollment_type"]) - set(inputs.national_per_capita)
    )
    if missing:
        raise ParameterError(
            f"The regional adjustment needs regional and national per-capita expenditures for every enrollment type; missing {missing}."
        )
    frame = historical.select("enrollment_type", "historical_per_capita").with_columns(
        pl.col("enrollment_type")
        .replace_strict(inputs.regional_per_capita, return_dtype=pl.Float64)
        .alias("regional"),
        pl.col("enrollment_type")
        .replace_strict(inputs.national_per_capita, return_dtype=pl.Float64)
        .alias("national"),
    )
    diff = pl.col("regional") - pl.col("historical_per_capita")
    raw = (
        pl.when(diff > 0)
        .then(diff * r["weight_lower_spending"])
        .otherwise(diff * r["weight_higher_spending"])
    )
    capped = pl.min_horizontal(
        pl.max_horizontal(raw, -r["negative_cap_pct_national"] * pl.col("national")),
        r["positive_cap_pct_national"] * pl.col("national"),
    )
    frame = frame.with_columns(capped.alias("regional_adjustment"))
    if inputs.prior_savings_per_capita is not None:
        prior = pl.min_horizontal(
            pl.lit(max(inputs.prior_savings_per_capita, 0.0) * r["prior_savings_share"]),
            r["prior_savings_cap_pct_national"] * pl.col("national"),
        )
        frame = frame.with_columns(prior.alias("prior_savings_adjustment")).with_columns(
            pl.max_horizontal("regional_adjustment", "prior_savings_adjustment").alias(
                "regional_adjustment"
            )
        )
    return frame.drop("historical_per_capita")


@dataclass(frozen=True)
class Benchmark:
    """The benchmark and every step behind it, by enrollment type."""

    performance_year: int
    baseline_years: tuple[int, ...]
    weights: tuple[float, ...]
    by_type: pl.DataFrame  # enrollment_type, per-capita by BY, trended/restated, historical, risk ratio, updated, py_person_years
    per_capita: (
        float  # updated benchmark per person-year, weighted by performance-year person-years
    )
    annual_trend: float
    risk_growth: float | None  # aggregate risk ratio after the cap (1.0 = no change)
    notes: tuple[str, ...] = field(default=())


def observed_trend(baseline: pl.DataFrame) -> float:
    """Annual growth of per-capita expenditures across the baseline years (all types pooled)."""
    pooled = (
        baseline.group_by("year")
        .agg(pl.col("expenditures").sum(), pl.col("person_years").sum())
        .sort("year")
    )
    pc = (pooled["expenditures"] / pooled["person_years"]).to_list()
    years = pooled["year"].to_list()
    if len(pc) < 2 or pc[0] <= 0:
        return 0.0
    return (pc[-1] / pc[0]) ** (1 / (years[-1] - years[0])) - 1


def _weighted_region(
    frame: pl.DataFrame,
    regional_hist: pl.Expr,
    regional: RegionalInputs,
    by3: int,
    notes: list[str],
) -> RegionalInputs:
    """The region's by-year figures as the regional adjustment reads them: regional per capita
    weighted, trended and restated as the historical benchmark; national per capita of BY3."""
    national = (regional.national_by_year or {}).get(by3)
    if national is None:
        raise ParameterError(f"The region has no national per-capita expenditures for BY3 ({by3}).")
    weighted = frame.select("enrollment_type", regional_hist.alias("regional"))
    notes.append(
        "Regional FFS expenditures: the region's by enrollment type, weighted, trended and restated as the historical benchmark."
    )
    return RegionalInputs(
        regional.agreement_period,
        dict(zip(weighted["enrollment_type"], weighted["regional"], strict=True)),
        dict(national),
        regional.prior_savings_per_capita,
    )


def _trend_and_growth(
    baseline: pl.DataFrame,
    years: list[int],
    annual_trend: float | None,
    regional: RegionalInputs | None,
    notes: list[str],
) -> tuple[float, dict[int, float] | None]:
    """The annual trend (the spec's, else the region's national-regional growth, else the
    panel's own growth) and the yearly growth that replaces it where the region gives one."""
    by3 = years[-1]
    growth = regional.growth_by_year if regional is not None else None
    if annual_trend is None and growth:
        known = [growth[y] for y in range(years[0] + 1, by3 + 1) if y in growth]
        trend = (
            float(np.prod([1 + g for g in known])) ** (1 / len(known)) - 1
            if known
            else float(np.mean(list(growth.values())))
        )
        notes.append(
            "Trend and update: the region's national-regional growth by year "
            + ", ".join(f"{y} {g:.2%}" for y, g in sorted(growth.items()))
            + f" (42 CFR 425.601(b)-(c), 425.652(b)); years beyond it at the mean {np.mean(list(growth.values())):.2%}."
        )
    else:
        growth = None
        trend = (
            observed_trend(baseline.filter(pl.col("year").is_in(years)))
            if annual_trend is None
            else annual_trend
        )
    if annual_trend is None and growth is None:
        notes.append(
            f"Annual trend: the panel's own per-capita growth over {years[0]}-{by3}, {trend:.2%} (CMS uses national-regional growth blended with the ACPT)."
        )
    return trend, growth


def _growth_factor(
    growth: dict[int, float] | None, trend: float, from_year: int, to_year: int
) -> float:
    """Growth from ``from_year`` to ``to_year`` (either order): the product of the yearly
    growth where known (years beyond it at their mean), else the annual ``trend`` compounded."""
    if from_year == to_year:
        return 1.0
    if to_year < from_year:
        return 1 / _growth_factor(growth, trend, to_year, from_year)
    if not growth:
        return (1 + trend) ** (to_year - from_year)
    mean = float(np.mean(list(growth.values())))
    return float(np.prod([1 + growth.get(y, mean) for y in range(from_year + 1, to_year + 1)]))


def build_benchmark(
    baseline: pl.DataFrame,
    *,
    performance_year: int,
    weights: tuple[float, ...],
    annual_trend: float | None,
    risk: dict[int, pl.DataFrame | None] | None,
    risk_growth_cap: float | None,
    performance_person_years: pl.DataFrame,
    regional: RegionalInputs | None = None,
    prospective_trend: float | None = None,
) -> Benchmark:
    """The MSSP-style benchmark from baseline per-capita expenditures (``per_capita_by_type``).

    ``risk`` maps each baseline year and the performance year to mean risk by enrollment type
    (None: not risk adjusted); ``performance_person_years``: enrollment_type, person_years.
    """
    years = sorted(baseline["year"].unique().to_list())
    notes = [
        "IME, DSH and uncompensated-care payments are not separable in claims and are not removed."
    ]
    if regional is None:
        notes.append(
            "No regional FFS expenditures given: the regional adjustment and the prior-savings adjustment are not applied."
        )
    if len(years) < len(weights):
        kept = weights[-len(years) :]
        if sum(kept) <= 0:
            raise ParameterError(
                f"Only {len(years)} baseline year(s) in the data ({', '.join(map(str, years))}), "
                f"and baseline_weights {list(weights)} give them no weight. Give weights for the "
                "years the data has, or a dataset with the earlier years."
            )
        notes.append(
            f"Only {len(years)} baseline year(s) in the data ({', '.join(map(str, years))}); weights {list(weights)} renormalized to the last {len(years)}."
        )
        weights = tuple(w / sum(kept) for w in kept)
    years = years[-len(weights) :]
    by3 = years[-1]
    trend, growth = _trend_and_growth(baseline, years, annual_trend, regional, notes)
    frame = performance_person_years.select(
        "enrollment_type", pl.col("person_years").alias("py_person_years")
    )
    historical = pl.lit(0.0)
    regional_hist = pl.lit(0.0)
    for year, w in zip(years, weights, strict=True):
        pc = baseline.filter(pl.col("year") == year).select(
            "enrollment_type", pl.col("per_capita").alias(f"per_capita_{year}")
        )
        frame = frame.join(pc, on="enrollment_type", how="full", coalesce=True)
        restate = pl.lit(1.0)
        risk_by3 = risk.get(by3) if risk is not None else None
        risk_year = risk.get(year) if risk is not None else None
        if risk_by3 is not None and risk_year is not None:
            ratio = risk_by3.select("enrollment_type", (pl.col("risk")).alias("_by3")).join(
                risk_year.select("enrollment_type", pl.col("risk").alias("_by")),
                on="enrollment_type",
            )
            frame = frame.join(
                ratio.select(
                    "enrollment_type", (pl.col("_by3") / pl.col("_by")).alias(f"restate_{year}")
                ),
                on="enrollment_type",
                how="left",
            )
            restate = pl.col(f"restate_{year}").fill_null(1.0)
        elif risk is not None and year != by3:
            notes.append(
                f"BY {year} cannot be risk-scored from the data (no {year - 1} diagnoses): not restated to BY3 risk."
            )
        to_by3 = _growth_factor(growth, trend, year, by3)
        trended = pl.col(f"per_capita_{year}") * to_by3 * restate
        frame = frame.with_columns(trended.alias(f"restated_{year}"))
        historical = historical + w * pl.col(f"restated_{year}").fill_null(0.0)
        if regional is not None and regional.regional_by_year is not None:
            by_year = regional.regional_by_year.get(year)
            if by_year is None:
                raise ParameterError(
                    f"The region has no regional per-capita expenditures for baseline year {year}."
                )
            frame = frame.with_columns(
                pl.col("enrollment_type")
                .replace_strict(by_year, default=None, return_dtype=pl.Float64)
                .alias(f"regional_{year}")
            )
            regional_hist = (
                regional_hist + w * pl.col(f"regional_{year}").fill_null(0.0) * to_by3 * restate
            )
    frame = frame.with_columns(historical.alias("historical_per_capita"))
    if regional is not None and regional.regional_by_year is not None:
        regional = _weighted_region(frame, regional_hist, regional, by3, notes)
    if regional is not None:
        frame = frame.join(
            regional_adjustment(frame, regional), on="enrollment_type", how="left"
        ).with_columns(
            (pl.col("historical_per_capita") + pl.col("regional_adjustment")).alias(
                "historical_per_capita"
            )
        )
        notes.append(
            f"Regional adjustment for agreement period {regional.agreement_period} applied"
            + (
                " (the prior-savings adjustment where more favorable)."
                if regional.prior_savings_per_capita is not None
                else "."
            )
        )
    risk_growth = None
    ratio_expr = pl.lit(1.0)
    risk_py = risk.get(performance_year) if risk is not None else None
    risk_by3 = risk.get(by3) if risk is not None else None
    if risk_py is not None and risk_by3 is not None:
        r = risk_py.select("enrollment_type", pl.col("risk").alias("risk_py")).join(
            risk_by3.select("enrollment_type", pl.col("risk").alias("risk_by3")),
            on="enrollment_type",
        )
        frame = (
            frame.join(r, on="enrollment_type", how="left")
            .with_columns(
                (pl.col("risk_py") / pl.col("risk_by3")).fill_null(1.0).alias("risk_ratio")
            )
            .sort("enrollment_type")
        )
        weights_py = frame["py_person_years"].fill_null(0.0)
        aggregate = float((frame["risk_ratio"] * weights_py).sum()) / float(weights_py.sum())
        scale = 1.0
        if risk_growth_cap is not None and aggregate > 1 + risk_growth_cap:
            scale = (1 + risk_growth_cap) / aggregate
            notes.append(
                f"Aggregate risk growth {aggregate - 1:.2%} capped at {risk_growth_cap:.0%}: every enrollment type's ratio scaled by {scale:.4f}."
            )
        frame = frame.with_columns((pl.col("risk_ratio") * scale).alias("risk_ratio"))
        risk_growth = aggregate * scale
        ratio_expr = pl.col("risk_ratio")
    elif risk is not None:
        notes.append(
            f"Performance year {performance_year} cannot be risk-scored from the data: the benchmark is not risk adjusted."
        )
    update_factor = _growth_factor(growth, trend, by3, performance_year)
    if prospective_trend is not None:
        from contracts.parameters import acpt_weight

        w = acpt_weight(performance_year)
        years_out = performance_year - by3
        update_factor = (1 - w) * update_factor + w * (1 + prospective_trend) ** years_out
        notes.append(
            f"Update: {1 - w:.0%} national-regional growth + {w:.0%} ACPT {prospective_trend:.2%} a year "
            f"= x{update_factor:.4f} over {years_out} year(s)."
        )
    frame = frame.with_columns(
        (pl.col("historical_per_capita") * update_factor * ratio_expr).alias("updated_per_capita")
    )
    frame = frame.filter(pl.col("py_person_years").fill_null(0) > 0).sort("enrollment_type")
    if frame.is_empty():
        raise DatasetError(
            f"No performance-year person-years to weight the {performance_year} benchmark."
        )
    per_capita = float((frame["updated_per_capita"] * frame["py_person_years"]).sum()) / float(
        frame["py_person_years"].sum()
    )
    order = {t: i for i, t in enumerate(ENROLLMENT_TYPES)}
    frame = frame.sort(pl.col("enrollment_type").replace_strict(order, default=9))
    return Benchmark(
        performance_year,
        tuple(years),
        tuple(weights),
        frame,
        per_capita,
        trend,
        risk_growth,
        tuple(notes),
    )
