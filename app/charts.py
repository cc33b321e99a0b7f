"""Altair chart builders for the pages (tested through ``Chart.to_dict()``)."""

from __future__ import annotations

import altair as alt
import polars as pl

CATEGORY_ORDER = [
    "acute inpatient", "skilled nursing facility", "home health", "hospice", "outpatient hospital",
    "emergency department", "office/professional", "ambulance", "durable medical equipment", "other", "pharmacy",
]


def pmpm_by_category_chart(pmpm: pl.DataFrame) -> alt.Chart:
    """Stacked bars: PMPM by service category for each year."""
    data = pmpm.filter(pl.col("pmpm") > 0).with_columns(pl.col("year").cast(pl.String)).to_pandas()
    return (
        alt.Chart(data, title="Paid PMPM by service category (Parts A, B and D)")
        .mark_bar()
        .encode(
            x=alt.X("year:N", title="Year"),
            y=alt.Y("pmpm:Q", title="Paid PMPM ($)", axis=alt.Axis(format="$,.0f")),
            color=alt.Color("service_category:N", title="Service category", sort=CATEGORY_ORDER),
            order=alt.Order("service_category:N"),
            tooltip=[alt.Tooltip("year:N"), alt.Tooltip("service_category:N"), alt.Tooltip("pmpm:Q", format="$,.2f")],
        )
    )


def utilization_chart(summary: pl.DataFrame) -> alt.Chart:
    """Lines: admissions, ED visits, SNF stays and home-health episodes per 1,000 by year."""
    cols = {"admissions_per_1000": "Admissions", "ed_visits_per_1000": "ED visits", "snf_stays_per_1000": "SNF stays", "home_health_episodes_per_1000": "Home health episodes"}
    data = (
        summary.select("year", *cols).unpivot(index="year", variable_name="measure", value_name="per_1000")
        .with_columns(pl.col("measure").replace(cols), pl.col("year").cast(pl.String))
        .to_pandas()
    )
    return (
        alt.Chart(data, title="Utilization per 1,000 person-years")
        .mark_line(point=True)
        .encode(
            x=alt.X("year:N", title="Year"),
            y=alt.Y("per_1000:Q", title="Per 1,000"),
            color=alt.Color("measure:N", title=None),
            tooltip=["year:N", "measure:N", alt.Tooltip("per_1000:Q", format=",.1f")],
        )
    )


def quality_chart(report: dict) -> alt.Chart:
    """Bars: rows failing each validation check, by table."""
    rows = [
        {"table": t, "check": c, "rows_failed": v["rows_failed"]}
        for t, r in report["tables"].items()
        for c, v in r["checks"].items()
        if v["rows_failed"]
    ]
    data = pl.DataFrame(rows, schema={"table": pl.String, "check": pl.String, "rows_failed": pl.Int64}).to_pandas()
    return (
        alt.Chart(data, title="Rows failing each check")
        .mark_bar()
        .encode(x=alt.X("rows_failed:Q", title="Rows", axis=alt.Axis(tickMinStep=1, format=",d")), y=alt.Y("check:N", title=None), color="table:N", tooltip=["table", "check", "rows_failed"])
    )
