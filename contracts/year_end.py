"""Budget against completed actuals, the run-rate to year end, and the settlement it implies.

- **Budget** (``read_budget``): PMPM targets by service category for a calendar year (a CSV with
  ``service_category, pmpm`` and optionally ``member_months``, the year's budgeted member months;
  or ``month, service_category, pmpm[, member_months]`` month by month). An annual PMPM is
  spread over the months by the category's seasonal index from the completed history
  (``modeling.marts.finance.forecast.seasonal_factors``), so a year-to-date comparison is not
  biased by the winter peak; annual budgeted member months are spread evenly.
- **Variance** (``budget_vs_actual``), per category and in total, year to date: volume
  ``(MM_actual - MM_budget) x PMPM_budget`` and rate ``(PMPM_actual - PMPM_budget) x MM_actual``;
  their sum is actual - budget.
- **Run-rate** (``year_end``): completed year to date (paid + IBNR) plus the forecast of the
  remaining months (PMPM x projected member months), with the range of both (IBNR interval and
  forecast interval, added).
- **Settlement** (``year_end_settlement``): the contract's projection for the year
  (``contracts.projection.project``: benchmark, truncation, risk) with its expenditure per
  capita scaled by the finance projection of Parts A and B (medical, no pharmacy) against the
  paid per capita the panel history holds for that year, and its person-years those projected;
  then settled by ``contracts.settlement.settle`` and simulated by
  ``contracts.simulation.simulate`` with the projection's own uncertainty as the cost shock (one
  source of truth: the same benchmark, settlement and simulation as the Contracts page).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl

from contracts.history import PanelHistory
from contracts.projection import Assumptions, Projection, project
from contracts.settlement import settle
from contracts.simulation.monte_carlo import SimulationSummary, simulate
from contracts.simulation.uncertainty import Uncertainty
from contracts.specs import ContractSpec
from modeling.core.panel import Panel
from modeling.core.service_categories import CATEGORIES, PHARMACY
from modeling.dataset import Dataset
from modeling.errors import DatasetError, ParameterError, SchemaError
from modeling.marts.finance.completion import Completion
from modeling.marts.finance.forecast import Forecast, pmpm_series, seasonal_factors
from modeling.marts.finance.trend import TOTAL

BUDGET_CATEGORIES = (*CATEGORIES, PHARMACY)


def read_budget(path: str | Path, *, calendar_year: int) -> pl.DataFrame:
    """A budget file as month, service_category, pmpm[, member_months] rows (see module);
    annual rows are kept with a null month until ``monthly_budget`` spreads them."""
    p = Path(path)
    if not p.exists():
        raise ParameterError(f"No budget file {p}.")
    if not p.is_file():
        raise ParameterError(f"{p} is a folder; give the budget CSV file itself.")
    try:
        frame = pl.read_csv(p, try_parse_dates=True, glob=False)
    except pl.exceptions.PolarsError as exc:
        raise SchemaError(f"{p}: not a readable CSV ({exc}).") from None
    return parse_budget(frame, calendar_year=calendar_year, where=str(p))


def parse_budget(frame: pl.DataFrame, *, calendar_year: int, where: str = "budget") -> pl.DataFrame:
    missing = [c for c in ("service_category", "pmpm") if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"{where}: missing column(s) {', '.join(missing)}; a budget has service_category and pmpm "
            "(and optionally month and member_months)."
        )
    unknown = sorted(set(frame["service_category"].cast(pl.String)) - set(BUDGET_CATEGORIES))
    if unknown:
        raise ParameterError(
            f"{where}: unknown service categories {unknown}; use any of {', '.join(BUDGET_CATEGORIES)}."
        )
    out = frame.select(
        (
            pl.col("month").cast(pl.Date)
            if "month" in frame.columns
            else pl.lit(None, dtype=pl.Date)
        ).alias("month"),
        pl.col("service_category").cast(pl.String),
        pl.col("pmpm").cast(pl.Float64),
        (
            pl.col("member_months").cast(pl.Float64)
            if "member_months" in frame.columns
            else pl.lit(None, dtype=pl.Float64)
        ).alias("member_months"),
    )
    if out["pmpm"].null_count() or (out["pmpm"] < 0).any():
        raise ParameterError(f"{where}: every pmpm must be a number of 0 or more.")
    months = out["month"].drop_nulls()
    if len(months) and (months.dt.year() != calendar_year).any():
        raise ParameterError(f"{where}: every month must be in {calendar_year}.")
    return out


def monthly_budget(
    budget: pl.DataFrame, history: pl.DataFrame, *, calendar_year: int
) -> pl.DataFrame:
    """month, service_category, budget_pmpm, budget_member_months for every month of the year.
    ``history``: completed monthly cost (``monthly_cost``) for the seasonal indices."""
    months = pl.DataFrame({"month": [dt.date(calendar_year, m, 1) for m in range(1, 13)]})
    explicit = budget.filter(pl.col("month").is_not_null())
    annual = budget.filter(pl.col("month").is_null())
    season = seasonal_factors(pmpm_series(history)).rename({"unique_id": "service_category"})
    spread = (
        annual.drop("month")
        .join(months, how="cross")
        .with_columns(pl.col("month").dt.month().cast(pl.Int8).alias("m"))
        .join(season, on=["service_category", "m"], how="left")
        .with_columns(pl.col("s").fill_null(0.0).exp().alias("_i"))
        .with_columns(
            (pl.col("pmpm") * pl.col("_i") / pl.col("_i").mean().over("service_category")).alias(
                "pmpm"
            ),
            (pl.col("member_months") / 12).alias("member_months"),
        )
        .select("month", "service_category", "pmpm", "member_months")
    )
    return pl.concat([explicit.select(spread.columns), spread]).rename(
        {"pmpm": "budget_pmpm", "member_months": "budget_member_months"}
    )


def budget_vs_actual(
    actual: pl.DataFrame, budget: pl.DataFrame, *, calendar_year: int, through: dt.date
) -> pl.DataFrame:
    """Year to date (January through ``through``'s month) by category and in total (see module).

    ``actual``: completed monthly cost (service_category, incurred_month, member_months, paid);
    ``budget``: ``monthly_budget``. Budgeted member months default to the actual ones (then
    the whole variance is rate)."""
    start = dt.date(calendar_year, 1, 1)
    act = actual.filter(pl.col("incurred_month").is_between(start, through)).rename(
        {"incurred_month": "month"}
    )
    if act.height == 0:
        raise DatasetError(f"No completed months of {calendar_year} on or before {through}.")
    j = act.join(budget, on=["month", "service_category"], how="inner").with_columns(
        pl.col("budget_member_months").fill_null(pl.col("member_months"))
    )
    if j.height == 0:
        raise ParameterError("The budget names none of the categories with actual cost this year.")
    by_cat = j.group_by("service_category").agg(
        pl.col("member_months").sum(),
        pl.col("budget_member_months").sum(),
        pl.col("paid").sum().alias("actual"),
        (pl.col("budget_pmpm") * pl.col("budget_member_months")).sum().alias("budget"),
    )
    mm = j.select("month", "member_months", "budget_member_months").unique("month")
    total = by_cat.select(
        pl.lit(TOTAL).alias("service_category"),
        pl.lit(float(mm["member_months"].sum())).alias("member_months"),
        pl.lit(float(mm["budget_member_months"].sum())).alias("budget_member_months"),
        pl.col("actual").sum(),
        pl.col("budget").sum(),
    )
    return (
        pl.concat([by_cat, total])
        .with_columns(
            (pl.col("actual") / pl.col("member_months")).alias("actual_pmpm"),
            (pl.col("budget") / pl.col("budget_member_months")).alias("budget_pmpm"),
        )
        .with_columns(
            (
                (pl.col("member_months") - pl.col("budget_member_months")) * pl.col("budget_pmpm")
            ).alias("volume_variance"),
            ((pl.col("actual_pmpm") - pl.col("budget_pmpm")) * pl.col("member_months")).alias(
                "rate_variance"
            ),
            (pl.col("actual") - pl.col("budget")).alias("variance"),
        )
        .sort("service_category")
    )


@dataclass(frozen=True)
class YearEnd:
    """The calendar year's run-rate: ``months`` (month, source completed/forecast, cost, lo, hi,
    medical_cost, member_months) and its totals."""

    calendar_year: int
    months: pl.DataFrame
    total: float
    low: float
    high: float
    medical: float  # Parts A and B (no pharmacy)
    medical_low: float
    medical_high: float
    member_months: float


def year_end(completion: Completion, fc: Forecast, *, calendar_year: int) -> YearEnd:
    """Completed months of the year plus the forecast of the rest (see module); the range adds
    the IBNR intervals and the forecast intervals (bounds added month by month: conservative)."""
    t = completion.table.filter(pl.col("incurred_month").dt.year() == calendar_year)
    done = (
        t.filter(pl.col("service_category") != "all")
        .with_columns((pl.col("service_category") != PHARMACY).alias("_medical"))
        .group_by("incurred_month")
        .agg(
            pl.col("estimated_incurred").sum().alias("cost"),
            (
                pl.col("estimated_incurred")
                - pl.col("ibnr")
                + pl.col("ibnr_lo").fill_nan(None).fill_null(pl.col("ibnr"))
            )
            .sum()
            .alias("lo"),
            (
                pl.col("estimated_incurred")
                - pl.col("ibnr")
                + pl.col("ibnr_hi").fill_nan(None).fill_null(pl.col("ibnr"))
            )
            .sum()
            .alias("hi"),
            pl.col("estimated_incurred").filter("_medical").sum().alias("medical_cost"),
            (
                pl.col("estimated_incurred")
                - pl.col("ibnr")
                + pl.col("ibnr_lo").fill_nan(None).fill_null(pl.col("ibnr"))
            )
            .filter("_medical")
            .sum()
            .alias("medical_lo"),
            (
                pl.col("estimated_incurred")
                - pl.col("ibnr")
                + pl.col("ibnr_hi").fill_nan(None).fill_null(pl.col("ibnr"))
            )
            .filter("_medical")
            .sum()
            .alias("medical_hi"),
            pl.col("member_months").first(),
        )
        .rename({"incurred_month": "month"})
        .with_columns(pl.lit("completed").alias("source"))
    )
    f = fc.table.filter(pl.col("month").dt.year() == calendar_year)
    cats = f.filter(~pl.col("service_category").is_in([TOTAL]))
    rest = (
        cats.group_by("month")
        .agg(
            pl.col("total_cost").sum().alias("cost"),
            pl.col("total_lo").sum().alias("lo"),
            pl.col("total_hi").sum().alias("hi"),
            pl.col("total_cost")
            .filter(pl.col("service_category") != PHARMACY)
            .sum()
            .alias("medical_cost"),
            pl.col("total_lo")
            .filter(pl.col("service_category") != PHARMACY)
            .sum()
            .alias("medical_lo"),
            pl.col("total_hi")
            .filter(pl.col("service_category") != PHARMACY)
            .sum()
            .alias("medical_hi"),
            pl.col("member_months").first(),
        )
        .with_columns(pl.lit("forecast").alias("source"))
    )
    months = pl.concat([done, rest.select(done.columns)]).sort("month")
    if months.height < 12:
        raise ParameterError(
            f"The completion and forecast cover {months.height} months of {calendar_year}; "
            "forecast enough months to reach December."
        )
    s = lambda c: float(months[c].sum())  # noqa: E731
    return YearEnd(
        calendar_year,
        months,
        s("cost"),
        s("lo"),
        s("hi"),
        s("medical_cost"),
        s("medical_lo"),
        s("medical_hi"),
        s("member_months"),
    )


@dataclass(frozen=True)
class YearEndSettlement:
    projection: Projection  # the contract's projection with the year-end expenditure
    expected: float  # settlement of the projected year
    summary: SimulationSummary  # its distribution
    expenditure_per_capita: float
    scale: float  # projected / history paid per capita (Parts A and B)


def year_end_settlement(
    spec: ContractSpec,
    history: PanelHistory,
    outlook: YearEnd,
    *,
    assumptions: Assumptions | None = None,
    draws: int = 2000,
    seed: int = 1,
) -> YearEndSettlement:
    """The settlement of ``outlook``'s year under ``spec`` and its range (see module)."""
    if spec.performance_year != outlook.calendar_year:
        raise ParameterError(
            f"{spec.name} settles performance year {spec.performance_year}; the outlook is for {outlook.calendar_year}."
        )
    base = project(spec, history, assumptions)
    year = history.expenditures.filter(pl.col("year") == outlook.calendar_year)
    months = float(year["months"].sum()) if year.height else 0.0
    if months <= 0 or not year.height:
        raise DatasetError(f"The panel history has no expenditures for {outlook.calendar_year}.")
    held_pmpm = float(year["paid"].sum()) / months
    projected_pmpm = outlook.medical / outlook.member_months
    scale = projected_pmpm / held_pmpm if held_pmpm > 0 else 1.0
    performance = replace(
        base.performance,
        expenditure_per_capita=base.performance.expenditure_per_capita * scale,
        person_years=outlook.member_months / 12,
    )
    projection = replace(base, performance=performance, settlement=settle(spec, performance))
    # the projection's own range as the cost shock: the 10-90% range of the medical year
    # (an 80% interval) as a log-normal sd
    spread = (
        math.log(outlook.medical_high / outlook.medical_low) / (2 * 1.2816)
        if outlook.medical_low > 0 and outlook.medical_high > outlook.medical_low
        else 0.0
    )
    u = Uncertainty(
        trend_sd=min(spread, 0.5),
        member_noise=False,
        attribution_sd=0.0,
        risk_score_sd=0.0,
        quality_sd=0.0,
        initiative_sd_share=0.0,
    )
    result = simulate(spec, history, assumptions, u, draws=draws, seed=seed, projection=projection)
    return YearEndSettlement(
        projection,
        projection.settlement.amount,
        result.summary(),
        performance.expenditure_per_capita,
        scale,
    )


def person_year_risk(source: Panel | Dataset, years: list[int]) -> pl.DataFrame:
    """person_id, year, risk_score: the CMS-HCC V28 raw score of each member for each calendar
    year as a payment year (from the prior year's diagnoses, as CMS pays); years that cannot be
    scored (no prior year of data) are left out. The trend bridge's risk input."""
    from risk_stratification.hcc.engine import score
    from risk_stratification.hcc.inputs import hcc_inputs

    panel = Panel.of(source)
    frames = []
    for year in years:
        try:
            people, dx = hcc_inputs(panel, year)
            raw = score(people, dx, model="V28", payment_year=year).scores
        except (DatasetError, ParameterError):
            continue
        frames.append(
            raw.select(
                "person_id", pl.lit(year).alias("year"), pl.col("raw_score").alias("risk_score")
            )
        )
    if not frames:
        return pl.DataFrame(
            schema={"person_id": pl.String, "year": pl.Int32, "risk_score": pl.Float64}
        )
    return pl.concat(frames).with_columns(pl.col("year").cast(pl.Int32))
