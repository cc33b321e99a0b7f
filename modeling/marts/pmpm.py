"""Population metrics by year: members, member months, PMPM by service category, utilization.

A mart over the core (``modeling.core.panel``): member months, categorized claims and
encounters are read from the panel, never derived again here. Spending is paid amount by year
of service (``claim_start_date``), rates are per 1,000 person-years (member months / 12).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from modeling.core.member_months import person_years
from modeling.core.panel import Panel
from modeling.core.service_categories import CATEGORIES, PHARMACY
from modeling.core.spend import pharmacy_spend
from modeling.dataset import Dataset


def _unpriced_pharmacy_years(panel: Panel) -> pl.LazyFrame:
    """Years whose fills carry no paid amount at all (CMS's Part D file, CCLF7, has none): their Part D
    spend is unknown, not $0."""
    return (
        panel.scan("pharmacy_claim")
        .group_by(pl.col("dispensing_date").dt.year().cast(pl.Int32).alias("year"))
        .agg(pl.col("paid_amount").is_not_null().sum().alias("priced"))
        .filter(pl.col("priced") == 0)
        .select("year")
    )


def pmpm_by_category(source: Panel | Dataset) -> pl.DataFrame:
    """PMPM paid by year and service category (medical categories and pharmacy), with member months."""
    panel = Panel.of(source)
    mm = person_years(panel.scan("member_months"))
    spend = pl.concat(
        [
            panel.scan("medical_spend").select(
                "person_id", "year", "service_category", "paid_amount"
            ),
            pharmacy_spend(panel.scan("pharmacy_claim")).select(
                "person_id", "year", "service_category", "paid_amount"
            ),
        ]
    )
    by_cat = spend.group_by("year", "service_category").agg(pl.col("paid_amount").sum())
    grid = mm.select("year", "member_months").join(
        pl.LazyFrame({"service_category": [*CATEGORIES, PHARMACY]}), how="cross"
    )
    unpriced = _unpriced_pharmacy_years(panel).with_columns(
        pl.lit(PHARMACY).alias("service_category"), pl.lit(True).alias("_unpriced")
    )
    return (
        grid.join(by_cat, on=["year", "service_category"], how="left")
        .join(unpriced, on=["year", "service_category"], how="left")
        .with_columns(
            pl.when(pl.col("_unpriced").fill_null(False))
            .then(None)
            .otherwise(pl.col("paid_amount").fill_null(0.0))
            .alias("paid_amount")
        )
        .drop("_unpriced")
        .with_columns((pl.col("paid_amount") / pl.col("member_months")).alias("pmpm"))
        .sort("year", "service_category")
        .collect()
    )


def utilization_by_year(source: Panel | Dataset) -> pl.DataFrame:
    """Admissions, ED visits, SNF stays, home-health episodes and joint replacements per 1,000; ALOS; readmission rate."""
    panel = Panel.of(source)
    py = person_years(panel.scan("member_months")).collect()
    stays = panel.read("inpatient_stays")
    per_year = lambda frame, name: frame.group_by("year").agg(pl.len().alias(name))  # noqa: E731
    out = (
        py.join(per_year(stays, "admissions"), on="year", how="left")
        .join(
            stays.group_by("year").agg(
                pl.col("length_of_stay").mean().alias("mean_length_of_stay")
            ),
            on="year",
            how="left",
        )
        .join(
            stays.filter("is_index")
            .group_by("year")
            .agg(
                pl.col("readmitted_30d").mean().alias("readmission_rate"),
                pl.len().alias("index_stays"),
            ),
            on="year",
            how="left",
        )
        .join(per_year(panel.read("ed_visits"), "ed_visits"), on="year", how="left")
        .join(per_year(panel.read("snf_stays"), "snf_stays"), on="year", how="left")
        .join(
            per_year(panel.read("home_health_episodes"), "home_health_episodes"),
            on="year",
            how="left",
        )
        .join(
            per_year(panel.read("joint_replacements"), "joint_replacements"),
            on="year",
            how="left",
        )
        .fill_null(0)
    )
    for name in (
        "admissions",
        "ed_visits",
        "snf_stays",
        "home_health_episodes",
        "joint_replacements",
    ):
        out = out.with_columns(
            (pl.col(name) / pl.col("person_years") * 1000).alias(f"{name}_per_1000")
        )
    return out.sort("year")


@dataclass(frozen=True)
class PopulationOverview:
    """The population by year.

    Attributes
    ----------
    summary
        One row per year: members, member months, person-years, utilization per 1,000, mean
        length of stay, readmission rate, medical and pharmacy PMPM (pharmacy null in years
        whose fills carry no paid amount).
    pmpm
        One row per year and service category: paid, member months, PMPM.
    """

    summary: pl.DataFrame
    pmpm: pl.DataFrame


def overview(source: Panel | Dataset) -> PopulationOverview:
    """Per-year summary and PMPM by service category of a panel."""
    panel = Panel.of(source)
    pmpm = pmpm_by_category(panel)
    util = utilization_by_year(panel)
    totals = (
        pmpm.with_columns((pl.col("service_category") == PHARMACY).alias("is_rx"))
        .group_by("year", "is_rx")
        .agg(pl.col("paid_amount").sum(), pl.col("member_months").first())
        .with_columns((pl.col("paid_amount") / pl.col("member_months")).alias("pmpm"))
    )
    medical = totals.filter(~pl.col("is_rx")).select(
        "year", pl.col("pmpm").alias("pmpm_medical"), pl.col("paid_amount").alias("paid_medical")
    )
    rx = totals.filter(pl.col("is_rx")).select("year", pl.col("pmpm").alias("pmpm_pharmacy"))
    unpriced = pmpm.filter(
        (pl.col("service_category") == PHARMACY) & pl.col("paid_amount").is_null()
    ).select("year", pl.lit(True).alias("_unpriced"))
    summary = (
        util.join(medical, on="year", how="left")
        .join(rx, on="year", how="left")
        .join(unpriced, on="year", how="left")
        .with_columns(
            pl.when(pl.col("_unpriced").fill_null(False))
            .then(None)
            .otherwise(pl.col("pmpm_pharmacy"))
            .alias("pmpm_pharmacy")
        )
        .drop("_unpriced")
        .sort("year")
    )
    return PopulationOverview(summary, pmpm)


def monthly_spend(
    source: Panel | Dataset, person_id: str, *, last_year: int, months: int = 24
) -> pl.DataFrame:
    """month (first day), medical and pharmacy paid for one person over the ``months`` months
    ending in December of ``last_year`` (months without claims are zero)."""
    import datetime as dt

    end = dt.date(last_year, 12, 1)
    start_index = last_year * 12 + 11 - (months - 1)
    start = dt.date(start_index // 12, start_index % 12 + 1, 1)
    calendar = pl.DataFrame({"month": pl.date_range(start, end, "1mo", eager=True)})
    panel = Panel.of(source)
    medical = (
        panel.scan("medical_claim")
        .filter((pl.col("person_id") == person_id) & (pl.col("claim_start_date") >= start))
        .group_by(pl.col("claim_start_date").dt.month_start().alias("month"))
        .agg(pl.col("paid_amount").sum().alias("medical"))
        .collect()
    )
    pharmacy = (
        panel.scan("pharmacy_claim")
        .filter((pl.col("person_id") == person_id) & (pl.col("dispensing_date") >= start))
        .group_by(pl.col("dispensing_date").dt.month_start().alias("month"))
        .agg(pl.col("paid_amount").sum().alias("pharmacy"))
        .collect()
    )
    return (
        calendar.join(medical, on="month", how="left")
        .join(pharmacy, on="month", how="left")
        .with_columns(pl.col("medical").fill_null(0.0), pl.col("pharmacy").fill_null(0.0))
        .filter(pl.col("month") <= end)
    )
