"""The trend bridge: PMPM change decomposed exactly into risk, utilization, mix and unit cost.

Per service category ``c`` and period (a calendar year against the year before, or a month
against the same month a year before, so that seasonality is not read as trend):

- utilization ``u_c`` = services per member month (claims; fills for pharmacy), risk-normalized
  by the period's mean CMS-HCC risk score ``R`` (``u_c / R``); unit cost ``C_c`` = paid per service;
  ``PMPM_c = u_c C_c = R (u_c / R) C_c``;
- per category: ``PMPM_c1 / PMPM_c0 = (R1/R0) x [(u_c1/R1) / (u_c0/R0)] x (C_c1 / C_c0)``;
- in total, at base-period unit costs (Laspeyres), with ``v_c = u_c / R``:
  ``PMPM1 / PMPM0 = (R1/R0) x [sum v1 / sum v0] x [(sum v1 C0 / sum v1) / (sum v0 C0 / sum v0)]
  x [sum v1 C1 / sum v1 C0]`` — risk x utilization x mix x unit cost, exactly;
- the dollar waterfall applies the factors in that order (risk, then utilization, mix, unit
  cost), so its steps add up to the PMPM change exactly.

Practice: medical trend split into unit cost, utilization and intensity/mix (Dillon & Hammerquist,
"Costly Trends", The Actuary), with morbidity in front for Medicare (CMS benchmarks are
risk-adjusted). Without a risk frame the risk factor is 1 and utilization is not normalized.

Recent incurred months are incomplete: given a ``Completion``, paid amounts are its estimated
incurred and services are completed by triangles of claim counts of their own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import polars as pl

from modeling.core.panel import Panel
from modeling.dataset import Dataset
from modeling.errors import ParameterError
from modeling.marts.finance.completion import ALL, Completion, complete_cells
from modeling.marts.finance.triangles import (
    Valuation,
    measure_cells,
    month_index,
    month_of_index,
    monthly_member_months,
    paid_cells,
)
from modeling.validation import require_columns

TOTAL = "total"
GRAINS = ("year", "month")
FACTORS = ("risk_factor", "utilization_factor", "mix_factor", "unit_cost_factor")
EFFECTS = ("risk_effect", "utilization_effect", "mix_effect", "unit_cost_effect")


def monthly_cost(source: Panel | Dataset, *, completion: Completion | None = None) -> pl.DataFrame:
    """service_category, incurred_month, member_months, services, paid.

    Without a completion: everything paid, by incurred month (a fully run-out panel). With one:
    only the months up to its as-of date, paid completed by it, and services completed the same
    way by triangles of claim counts (the completion's own cells' ``claims``, same options)."""
    panel = Panel.of(source)
    mm = monthly_member_months(panel)
    if completion is None:
        cells = paid_cells(panel, Valuation.at(dt.date(9998, 12, 31)))
        dollars = _totals(cells, "paid")
        counts = _totals(measure_cells(cells, "claims"), "services")
    else:
        valuation = Valuation.at(completion.as_of)
        first = int(mm["incurred"].min())  # type: ignore[arg-type]
        dollars = _estimated(completion, "paid")
        cells = completion.cells if completion.cells is not None else paid_cells(panel, valuation)
        claims = complete_cells(
            measure_cells(cells, "claims"),
            mm,
            valuation,
            first=first,
            options=replace(completion.options, draws=0),
        )
        counts = _estimated(claims, "services")
    return (
        dollars.join(counts, on=["service_category", "incurred"], how="full", coalesce=True)
        .join(mm, on="incurred", how="inner")
        .with_columns(
            month_of_index("incurred").alias("incurred_month"),
            pl.col("services").fill_null(0.0),
            pl.col("paid").fill_null(0.0),
        )
        .select("service_category", "incurred_month", "member_months", "services", "paid")
        .sort("service_category", "incurred_month")
    )


def _totals(cells: pl.DataFrame, name: str) -> pl.DataFrame:
    return cells.group_by("service_category", "incurred").agg(pl.col("paid").sum().alias(name))


def _estimated(done: Completion, name: str) -> pl.DataFrame:
    return done.table.filter(pl.col("service_category") != ALL).select(
        "service_category",
        month_index("incurred_month").alias("incurred"),
        pl.col("estimated_incurred").alias(name),
    )


def risk_by_month(risk: pl.DataFrame, member_months: pl.LazyFrame) -> pl.DataFrame:
    """incurred_month, risk: the member-month-weighted mean risk score of each month, from a
    person-year frame (person_id, year, risk_score) and the core's member months."""
    require_columns(risk, ("person_id", "year", "risk_score"), where="trend risk frame")
    return (
        member_months.select("person_id", "year", pl.col("year_month").alias("incurred_month"))
        .join(
            risk.lazy().select("person_id", pl.col("year").cast(pl.Int32), "risk_score"),
            on=["person_id", "year"],
            how="inner",
        )
        .group_by("incurred_month")
        .agg(pl.col("risk_score").mean().alias("risk"))
        .sort("incurred_month")
        .collect()
    )


def _periods(monthly: pl.DataFrame, grain: str) -> pl.DataFrame:
    """Sum months into periods: ``year`` (calendar years) or ``month`` (each month)."""
    key = (
        pl.col("incurred_month").dt.truncate("1y") if grain == "year" else pl.col("incurred_month")
    )
    return monthly.with_columns(key.alias("period"))


def bridge(
    monthly: pl.DataFrame,
    *,
    risk: pl.DataFrame | None = None,
    grain: str = "year",
    whole_periods_only: bool = True,
) -> pl.DataFrame:
    """The bridge of every period against the same period a year before (see module).

    ``monthly``: service_category, incurred_month, member_months, services, paid (one row per
    category and month; ``monthly_cost``). ``risk``: incurred_month, risk (``risk_by_month``) or
    None. Returns period, prior_period, service_category (and ``total``), pmpm_prior, pmpm,
    pmpm_change, the four factors (their product = pmpm / pmpm_prior) and their dollar effects
    (their sum = pmpm_change), with utilization per 1,000 and cost per service of both periods.
    """
    if grain not in GRAINS:
        raise ParameterError(f"grain must be one of {', '.join(GRAINS)} (got {grain!r}).")
    require_columns(
        monthly,
        ("service_category", "incurred_month", "member_months", "services", "paid"),
        where="trend bridge",
    )
    m = _periods(monthly, grain)
    if risk is not None:
        require_columns(risk, ("incurred_month", "risk"), where="trend bridge risk")
        mm_month = m.select("incurred_month", "member_months").unique("incurred_month")
        risk_p = (
            _periods(mm_month.join(risk, on="incurred_month", how="inner"), grain)
            .group_by("period")
            .agg(
                (
                    (pl.col("risk") * pl.col("member_months")).sum() / pl.col("member_months").sum()
                ).alias("risk")
            )
        )
    months_per_period = m.group_by("period").agg(
        pl.col("incurred_month").n_unique().alias("_months")
    )
    exposure = (
        m.select("period", "incurred_month", "member_months")
        .unique(["incurred_month"])
        .group_by("period")
        .agg(pl.col("member_months").sum())
    )
    cat = m.group_by("period", "service_category").agg(
        pl.col("services").sum(), pl.col("paid").sum()
    )
    p = cat.join(exposure, on="period").join(months_per_period, on="period")
    if whole_periods_only and grain == "year":
        p = p.filter(pl.col("_months") == 12)
    p = (
        p.join(risk_p, on="period", how="left")
        if risk is not None
        else p.with_columns(pl.lit(None, dtype=pl.Float64).alias("risk"))
    )
    p = p.with_columns(
        (pl.col("services") / pl.col("member_months")).alias("u"),
        pl.when(pl.col("services") > 0)
        .then(pl.col("paid") / pl.col("services"))
        .otherwise(0.0)
        .alias("c"),
        (pl.col("paid") / pl.col("member_months")).alias("pmpm"),
    )
    prior = p.select(
        (pl.col("period").dt.offset_by("1y")).alias("period"),
        pl.col("period").alias("prior_period"),
        "service_category",
        pl.col("u").alias("u0"),
        pl.col("c").alias("c0"),
        pl.col("pmpm").alias("pmpm_prior"),
        pl.col("risk").alias("risk0"),
    )
    j = p.join(prior, on=["period", "service_category"], how="inner").with_columns(
        pl.when(pl.col("risk").is_not_null() & pl.col("risk0").is_not_null())
        .then(pl.col("risk") / pl.col("risk0"))
        .otherwise(1.0)
        .alias("risk_factor")
    )
    # risk-normalized services: v = u / R (R taken as 1 where a period is not scored)
    j = j.with_columns((pl.col("u") / pl.col("risk_factor")).alias("v1"), pl.col("u0").alias("v0"))
    by_cat = j.with_columns(
        pl.when(pl.col("v0") > 0)
        .then(pl.col("v1") / pl.col("v0"))
        .otherwise(1.0)
        .alias("utilization_factor"),
        pl.lit(1.0).alias("mix_factor"),
        pl.when(pl.col("c0") > 0)
        .then(pl.col("c") / pl.col("c0"))
        .otherwise(1.0)
        .alias("unit_cost_factor"),
    )
    total = (
        j.group_by("period", "prior_period")
        .agg(
            pl.col("risk_factor").first(),
            pl.col("pmpm").sum(),
            pl.col("pmpm_prior").sum(),
            pl.col("v1").sum().alias("sv1"),
            pl.col("v0").sum().alias("sv0"),
            (pl.col("v1") * pl.col("c0")).sum().alias("v1c0"),
            (pl.col("v0") * pl.col("c0")).sum().alias("v0c0"),
            (pl.col("v1") * pl.col("c")).sum().alias("v1c1"),
            pl.col("u").sum(),
            pl.col("u0").sum(),
        )
        .with_columns(
            pl.lit(TOTAL).alias("service_category"),
            (pl.col("sv1") / pl.col("sv0")).alias("utilization_factor"),
            ((pl.col("v1c0") / pl.col("sv1")) / (pl.col("v0c0") / pl.col("sv0"))).alias(
                "mix_factor"
            ),
            (pl.col("v1c1") / pl.col("v1c0")).alias("unit_cost_factor"),
            (pl.col("pmpm") / pl.col("u")).alias("c"),
            (pl.col("pmpm_prior") / pl.col("u0")).alias("c0"),
        )
    )
    cols = [
        "period",
        "prior_period",
        "service_category",
        "pmpm_prior",
        "pmpm",
        "u0",
        "u",
        "c0",
        "c",
        *FACTORS,
    ]
    out = pl.concat([by_cat.select(cols), total.select(cols)])
    # sequential dollar effects: risk, utilization, mix, unit cost
    step = pl.col("pmpm_prior")
    effects = []
    running = step
    for f, e in zip(FACTORS, EFFECTS, strict=True):
        nxt = running * pl.col(f)
        effects.append((nxt - running).alias(e))
        running = nxt
    return (
        out.with_columns(
            (pl.col("pmpm") - pl.col("pmpm_prior")).alias("pmpm_change"),
            (pl.col("u0") * 12_000).alias("services_per_1000_prior"),
            (pl.col("u") * 12_000).alias("services_per_1000"),
            pl.col("c0").alias("cost_per_service_prior"),
            pl.col("c").alias("cost_per_service"),
            *effects,
        )
        .drop("u0", "u", "c0", "c")
        .sort("period", "service_category")
    )


def seasonal_index(monthly: pl.DataFrame) -> pl.DataFrame:
    """service_category (and ``total``), calendar month, index: each month's PMPM over its year's
    mean monthly PMPM, averaged over the whole years in the data (1.0 = an average month)."""
    require_columns(
        monthly,
        ("service_category", "incurred_month", "member_months", "paid"),
        where="seasonal index",
    )
    total = monthly.group_by("incurred_month").agg(
        pl.lit(TOTAL).alias("service_category"),
        pl.col("member_months").first(),
        pl.col("paid").sum(),
    )
    m = pl.concat([monthly.select(total.columns), total]).with_columns(
        (pl.col("paid") / pl.col("member_months")).alias("pmpm"),
        pl.col("incurred_month").dt.year().alias("year"),
        pl.col("incurred_month").dt.month().alias("month"),
    )
    whole = (
        m.group_by("service_category", "year").agg(pl.len().alias("n")).filter(pl.col("n") == 12)
    )
    return (
        m.join(whole, on=["service_category", "year"], how="semi")
        .with_columns(
            (pl.col("pmpm") / pl.col("pmpm").mean().over("service_category", "year")).alias("i")
        )
        .group_by("service_category", "month")
        .agg(pl.col("i").mean().alias("index"))
        .sort("service_category", "month")
    )


__all__ = ["bridge", "monthly_cost", "risk_by_month", "seasonal_index"]
