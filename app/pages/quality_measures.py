"""Clinical quality: the CMO's KPI board with trends, providers' funnel plot, the care-gap
worklist and exports with small cells suppressed. Everything is computed in
``modeling.marts.quality`` and ``risk_stratification.quality`` (through ``app.state``, which
keeps the results of a dataset in memory and in the workspace; the first launch computes the
latest year's); this page arranges it."""

from __future__ import annotations

import polars as pl
import streamlit as st

from app import access
from app.charts import funnel_chart, quality_trend_chart
from app.export import offer_download
from app.format import count, number, pct
from app.state import (
    active_dataset,
    dataset_overview,
    quality_adjusted,
    quality_rows,
    quality_tiers,
    quality_trend,
    quality_years,
)
from app.tables import scroll_hint
from modeling.errors import VbcError
from modeling.marts.quality import PROCESS_MEASURES, care_gaps, measure
from modeling.marts.quality.engine import SMALL_CELL, suppress_small_cells
from risk_stratification.quality import OUTCOME_MEASURES, funnel_limits
from risk_stratification.quality.risk_adjustment import outside_limits

st.title("Clinical quality")
ds = active_dataset()
measurable, latest = quality_years(ds)
if latest is None:
    st.info("Quality measures need two years of data (risk factors come from the year before).")
    st.stop()
year = st.sidebar.selectbox("Measurement year", measurable, index=len(measurable) - 1)
# the first launch computed these for the latest year, and kept them in the workspace
try:
    results, fitted = quality_adjusted(ds, year, "panel")
    trend = quality_trend(ds, sorted({measurable[0] - 1, *measurable}))
except VbcError as exc:
    st.error(str(exc))
    st.stop()

st.caption(
    "Claims-based measures: AHRQ PQI v2025 logic, CMS-style hospital outcomes (risk-adjusted on "
    "CMS-HCCs of the prior year), screening and adherence named generically. HEDIS value sets "
    "(NCQA) and PQA medication lists are licensed and not used: screening numerators come from "
    "curated CPT/HCPCS lists, drug classes from an NDC-to-class table."
)


def _value(frame: pl.DataFrame, measure_id: str, y: int | None = None) -> float | None:
    f = frame.filter(pl.col("measure_id") == measure_id)
    if y is not None and "year" in f.columns:
        f = f.filter(pl.col("year") == y)
    return None if f.is_empty() else f["rate"][0]


summary = dataset_overview(ds).summary
ed = dict(zip(summary["year"].to_list(), summary["ed_visits_per_1000"].to_list(), strict=True))
board = [
    ("30-day mortality", "mortality_30d", "pct"),
    ("30-day readmission", "readmission_30d", "pct"),
    ("Length of stay (days)", "alos", "days"),
    ("Avoidable admissions /1,000 (PQI 90)", "pqi_90", "per1000"),
    ("Breast cancer screening", "breast_cancer_screening", "pct"),
    ("Colorectal cancer screening", "colorectal_cancer_screening", "pct"),
    ("Statin adherence (PDC 80%)", "pdc_statins", "pct"),
]


def _show(kind: str, v: float | None) -> str:
    if v is None:
        return "-"
    if kind == "pct":
        return pct(v / 100)
    if kind == "per1000":
        return number(v / 100, digits=1)
    return number(v, digits=2)


cols = st.columns(4)
for i, (label, m, kind) in enumerate(board):
    now, before = _value(trend, m, year), _value(trend, m, year - 1)
    delta = (
        None
        if now is None or before is None
        else _show(kind, now - before)
        if kind != "pct"
        else f"{(now - before):+.1f} pts"
    )
    cols[i % 4].metric(
        label,
        _show(kind, now),
        delta,
        delta_color="inverse" if not measure(m).higher_is_better else "normal",
    )
cols[len(board) % 4].metric(
    "ED visits /1,000",
    number(ed.get(year), digits=0),
    None if ed.get(year - 1) is None else f"{ed[year] - ed[year - 1]:+.0f}",
    delta_color="inverse",
)

tab_all, tab_trend, tab_providers, tab_gaps = access.tabs(
    ["All measures", "Trends", "Providers", "Care gaps"], person_level=["Care gaps"]
)
with tab_all:
    shown = suppress_small_cells(results).select(
        "measure_id",
        "measure",
        "numerator",
        "denominator",
        "rate",
        "ci_low",
        "ci_high",
        "expected",
        "observed_to_expected",
        "benchmark",
        "unit",
        "suppressed",
    )
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        column_config={
            c: st.column_config.NumberColumn(
                format="%.2f" if c == "observed_to_expected" else "%.1f"
            )
            for c in (
                "numerator",
                "denominator",
                "rate",
                "ci_low",
                "ci_high",
                "expected",
                "observed_to_expected",
            )
        },
    )
    scroll_hint(shown)
    st.caption(
        f"Cells counting 1-{SMALL_CELL - 1} are blanked here and in the export (CMS's cell-size "
        "rule). Rates: PQIs per 100,000 person-years, MCC admissions per 100 person-years, ALOS "
        "in days, the rest percent."
    )
    offer_download(
        "Download the measures (CSV, small cells suppressed)",
        shown,
        file_name=f"quality_{year}.csv",
        person_level=False,
    )
    for m, (_, _, c_stat, model) in fitted.items():
        st.caption(f"{m}: {model} risk model, c-statistic {number(c_stat, digits=3)}")

with tab_trend:
    picked = st.multiselect(
        "Measures",
        sorted(trend["measure_id"].unique().to_list()),
        default=["readmission_30d", "mortality_30d", "pdc_statins"],
    )
    if picked:
        st.altair_chart(
            quality_trend_chart(trend.filter(pl.col("measure_id").is_in(picked)), "Rate by year"),
            width="stretch",
        )

with tab_providers:
    outcome = st.selectbox("Outcome measure", list(fitted) or list(OUTCOME_MEASURES))
    if outcome in fitted:
        providers, calibration, c_stat, model = fitted[outcome]
        # the table and the chart show the same providers: a provider whose counts are small
        # cells (or their complements) is left out of both, not only blanked in the table
        table = suppress_small_cells(  # the providers add up to the measure's total
            providers.rename({"events": "denominator", "observed": "numerator"}),
            partitions=[()],
        )
        plotted = providers.filter(~table["suppressed"])
        limits = funnel_limits(float(providers["expected"].max()))
        if plotted.height:
            st.altair_chart(
                funnel_chart(
                    outside_limits(plotted),
                    limits,
                    f"{measure(outcome).measure}: providers' O/E by volume ({year})",
                ),
                width="stretch",
            )
        else:
            st.info(
                f"Every provider's counts for {outcome} are small cells (fewer than {SMALL_CELL} "
                "people), so none can be plotted."
            )
        left_out = providers.height - plotted.height
        st.caption(
            f"{count(providers.height)} attributed providers; {model} model, c-statistic "
            f"{number(c_stat, digits=3)}. Dashed: 95% limits, dotted: 99.8% limits."
            + (
                f" {count(left_out)} provider{'s' if left_out > 1 else ''} with small cells "
                f"{'are' if left_out > 1 else 'is'} not plotted."
                if left_out
                else ""
            )
        )
        st.dataframe(table, hide_index=True)
        st.markdown("**Calibration by decile of predicted risk**")
        st.dataframe(calibration, hide_index=True)
    else:
        st.info(f"{outcome} has too few events in {year} to fit a risk model.")

with tab_gaps:
    gap_measure = st.selectbox(
        "Process measure", PROCESS_MEASURES, index=PROCESS_MEASURES.index("breast_cancer_screening")
    )
    try:
        gaps = care_gaps(
            ds,
            year,
            gap_measure,
            measure_frame=quality_rows(ds, year),
            risk_tiers=quality_tiers(ds, year),
        )
    except VbcError as exc:
        st.error(str(exc))
        st.stop()
    access.record_view(f"Quality: care-gap worklist {gap_measure}", gaps)
    st.metric("Members with an open gap", count(gaps.height))
    st.dataframe(
        gaps.select(
            "person_id", "provider_npi", "risk_tier", "risk_score", "open_events", "measure"
        ),
        hide_index=True,
        width="stretch",
    )
    offer_download(
        "Download the worklist (CSV)",
        gaps,
        file_name=f"gaps_{gap_measure}_{year}.csv",
        person_level=True,
    )
