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
from modeling.marts.quality.engine import SMALL_CELL
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


def _funnel_caption(
    unit: str, frame: pl.DataFrame, hidden: int, npi_hidden: int, n_providers: int
) -> str:
    """What the funnel shows: how many units, what was pooled, how many are hidden."""
    if unit == "provider_npi":
        text = f"{count(n_providers)} attributed providers."
    else:
        pooled = int(frame["providers"].sum())
        text = (
            f"Pooled by practice (TIN): the observed and expected events of {count(pooled)} "
            f"attributed providers summed over their {count(frame.height)} practices (a "
            "practice's O/E is its summed observed over its summed expected)."
        )
    if hidden:
        what = "providers" if unit == "provider_npi" else "practices"
        text += (
            f" {count(hidden)} of {count(frame.height)} {what} have a count of 1-"
            f"{SMALL_CELL - 1} (or are its complement) and are not plotted (CMS's cell-size "
            f"rule): the {what} plotted are those with no event or at least {SMALL_CELL}, not a "
            "random sample."
        )
    if unit != "provider_npi" and npi_hidden:
        text += f" By provider, {count(npi_hidden)} of {count(n_providers)} would be hidden."
    return text


tab_all, tab_trend, tab_providers, tab_gaps = access.tabs(
    ["All measures", "Trends", "Providers", "Care gaps"], person_level=["Care gaps"]
)
MEASURE_COLUMNS = (
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
)
# the measure's figures, shown as numbers (the benchmark and the unit after them are text)
MEASURE_NUMBERS = MEASURE_COLUMNS[
    MEASURE_COLUMNS.index("numerator") : MEASURE_COLUMNS.index("benchmark")
]
COUNTS = ["denominator", "numerator"]  # the people counts of a measure row (CMS's cell-size rule)
suppressing = access.suppressing()

with tab_all:
    # team mode (aggregate roles): small cells blanked as CMS's cell-size policy says; single-
    # user mode: the owner sees their own data whole (app.access, as every other page)
    shown = access.aggregate(results.select(MEASURE_COLUMNS), people=COUNTS)
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        column_config={
            c: st.column_config.NumberColumn(
                format="%.2f" if c == "observed_to_expected" else "%.1f"
            )
            for c in MEASURE_NUMBERS
        },
    )
    scroll_hint(shown)
    st.caption(
        (
            f"Cells counting 1-{SMALL_CELL - 1} are blanked here and in the export (CMS's "
            "cell-size rule). "
            if suppressing
            else ""
        )
        + "Rates: PQIs per 100,000 person-years, MCC admissions per 100 person-years, ALOS "
        "in days, the rest percent."
    )
    offer_download(
        "Download the measures (CSV" + (", small cells suppressed)" if suppressing else ")"),
        results.select(MEASURE_COLUMNS),
        file_name=f"quality_{year}.csv",
        person_level=False,
        people=COUNTS,
    )
    for m, (_, _, c_stat, model, _) in fitted.items():
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

UNITS = {"Providers (NPI)": "provider_npi", "Practices (TIN)": "provider_tin"}
UNIT_TITLES = {"provider_npi": "Provider NPI", "provider_tin": "Practice TIN"}


def _comparison(frame: pl.DataFrame) -> pl.DataFrame:
    """A comparison's table as the user's role sees it: the index events and observed events
    are its people counts, and the units add up to the measure's total shown under All
    measures (complementary suppression keeps a hidden unit from being solved for)."""
    return access.aggregate(
        frame.rename({"events": "denominator", "observed": "numerator"}),
        people=COUNTS,
        partitions=[()],
        keep=[c for c in ("providers",) if c in frame.columns],
    )


def _hidden(table: pl.DataFrame) -> pl.Series:
    if "suppressed" in table.columns:
        return table["suppressed"]
    return pl.Series("suppressed", [False] * table.height)


with tab_providers:
    outcome = st.selectbox("Outcome measure", list(fitted) or list(OUTCOME_MEASURES))
    if outcome in fitted:
        providers, calibration, c_stat, model, practices = fitted[outcome]
        by_npi = _comparison(providers)
        npi_hidden = int(_hidden(by_npi).sum())
        # a funnel of the few providers suppression leaves is a selection, not a comparison:
        # when it would hide most providers, the practices (pooled) are the default view
        pooled_default = npi_hidden * 2 > providers.height
        view = st.radio(
            "Compare",
            list(UNITS),
            index=1 if pooled_default else 0,
            horizontal=True,
            key=f"q_funnel_unit_{outcome}",
        )
        unit = UNITS[view]
        frame = providers if unit == "provider_npi" else practices
        table = by_npi if unit == "provider_npi" else _comparison(practices)
        hidden = _hidden(table)
        plotted = frame.filter(~hidden)
        # the limits span the plotted units only (the right end says nothing of a hidden one)
        limits = funnel_limits(float((plotted if plotted.height else frame)["expected"].max()))
        name = "providers" if unit == "provider_npi" else "practices"
        if plotted.height:
            st.altair_chart(
                funnel_chart(
                    outside_limits(plotted),
                    limits,
                    f"{measure(outcome).measure}: {name}' O/E by volume ({year})",
                    unit=unit,
                    unit_title=UNIT_TITLES[unit],
                ),
                width="stretch",
            )
        else:
            st.info(
                f"Every one of the {name}' counts for {outcome} is a small cell (fewer than "
                f"{SMALL_CELL} people) or its complement, so none can be plotted."
            )
        st.caption(_funnel_caption(unit, frame, int(hidden.sum()), npi_hidden, providers.height))
        st.caption(
            f"{model} model, c-statistic {number(c_stat, digits=3)}. Dashed: 95% limits, "
            "dotted: 99.8% limits (Poisson, on the expected events)."
        )
        st.dataframe(table, hide_index=True)
        offer_download(
            f"Download the {name}' comparison (CSV"
            + (", small cells suppressed)" if suppressing else ")"),
            frame.rename({"events": "denominator", "observed": "numerator"}),
            file_name=f"quality_{outcome}_{name}_{year}.csv",
            person_level=False,
            people=COUNTS,
            partitions=[()],
            keep=[c for c in ("providers",) if c in frame.columns],
        )
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
