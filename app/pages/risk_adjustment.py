"""Risk adjustment: CMS-HCC scores of the panel, a member's score line by line, and the recapture
worklist priced in dollars."""

import polars as pl
import streamlit as st

from app import access
from app.access import Right
from app.charts import score_distribution_chart, segment_mix_chart, top_hcc_chart
from app.export import offer_download
from app.state import active_dataset, cached_gaps, panel_scores
from modeling.errors import VbcError
from risk_stratification.hcc.panel import (
    explain_member,
    scorable_payment_years,
    segment_mix,
    top_hccs,
)

access.require(Right.PERSON_LEVEL, "the Risk adjustment page")
st.title("Risk adjustment")
ds = active_dataset()
key = (str(ds.path), ds.manifest["content_hash"])
years = scorable_payment_years(ds)
if not years:
    st.error(
        "No CMS-HCC payment year can be scored: none follows a year this dataset covers and has parameters in hcc_payment_years.csv."
    )
    st.stop()
left, right = st.columns(2)
year = left.selectbox(
    "Payment year",
    years,
    index=len(years) - 1,
    help="Diagnoses come from the year before the payment year.",
)
base_rate = right.number_input(
    "Annual base rate per member ($)",
    min_value=1_000.0,
    max_value=100_000.0,
    value=12_000.0,
    step=500.0,
    help="What one point of payment risk score is worth for a year (e.g. an MA county rate or an ACO benchmark).",
)
try:
    result = panel_scores(ds, year)
    gaps = cached_gaps(*key, year, base_rate)
except VbcError as exc:
    st.error(str(exc))
    st.stop()
scores = result.scores
models = list(result.by_model)
st.caption(
    f"Models: {', '.join(models)} · tables: {', '.join(f.split('/')[-1] for f in result.files)}"
)

esrd = scores.filter(pl.col("payment_model") != "CMS-HCC")
if esrd.height:
    unpaid = esrd["payment_score"].null_count()
    st.caption(
        f"{esrd.height:,} members with ESRD are paid with the ESRD V24 model (dialysis, transplant and functioning-graft segments); "
        + (
            f"{unpaid:,} of them have no payment score: no sourced ESRD normalization factor for {year}."
            if unpaid
            else "their payment scores use the ESRD normalization factors."
        )
    )
c = st.columns(4)
c[0].metric("Members scored", f"{scores.height:,}")
c[1].metric("Mean payment score", f"{scores['payment_score'].mean():.3f}")
c[2].metric("Recapture gaps", f"{gaps.gaps.height:,}", help=f"in {gaps.by_person.height:,} members")
c[3].metric("Value if all gaps closed", f"${gaps.by_person['annual_value'].sum():,.0f}/yr")

tab_panel, tab_member, tab_gaps = st.tabs(["Panel", "Member drill-down", "Recapture worklist"])
with tab_panel:
    a, b = st.columns(2)
    a.altair_chart(score_distribution_chart(scores), use_container_width=True)
    b.altair_chart(segment_mix_chart(segment_mix(result)), use_container_width=True)
    st.altair_chart(top_hcc_chart(top_hccs(result)), use_container_width=True)
    flat = scores.with_columns(
        pl.col(c).list.join(" ") for c in scores.columns if c.startswith("hccs_")
    )
    offer_download(
        "Download all member scores (CSV)",
        flat,
        file_name=f"hcc_scores_{year}.csv",
        person_level=True,
    )

with tab_member:
    ranked = scores.join(
        gaps.by_person.select("person_id", pl.col("annual_value").alias("gap_value")),
        on="person_id",
        how="left",
    ).sort(["gap_value", "payment_score"], descending=True, nulls_last=True)
    options = ranked["person_id"].to_list()
    person = st.selectbox("Member (members with the most valuable gaps first)", options, index=0)
    row = scores.filter(pl.col("person_id") == person).row(0, named=True)
    access.record_view(f"Risk adjustment: member {person}", 1)
    paid = "n/a" if row["payment_score"] is None else f"{row['payment_score']:.3f}"
    st.markdown(
        f"**{person}** · segment **{row['segment']}** · age {row['age']} on February 1, {year} · payment score **{paid}** ({row['payment_model']})"
    )
    explained = explain_member(result, person)
    for model, lines in explained["lines"].items():
        st.markdown(f"**{model} score, line by line**")
        st.dataframe(
            lines,
            hide_index=True,
            use_container_width=True,
            column_config={"coefficient": st.column_config.NumberColumn(format="%.3f")},
        )
    st.markdown("**From raw to payment score**")
    st.dataframe(
        explained["steps"],
        hide_index=True,
        use_container_width=True,
        column_config={"value": st.column_config.NumberColumn(format="%.3f")},
    )
    mine = gaps.gaps.filter(pl.col("person_id") == person)
    st.markdown("**Recapture gaps**")
    if row["payment_model"] != "CMS-HCC":
        st.info(
            "This member is paid with the ESRD model; recapture gaps are priced under CMS-HCC only, so none are listed."
        )
    elif mine.is_empty():
        st.info("No chronic HCC from the prior year is missing this year.")
    else:
        st.dataframe(
            mine.drop("person_id"),
            hide_index=True,
            use_container_width=True,
            column_config={
                "annual_value": st.column_config.NumberColumn("Annual value", format="dollar")
            },
        )

with tab_gaps:
    st.markdown(
        f"Chronic HCCs documented in {year - 2} and not yet in {year - 1}, each priced by re-scoring the member with it, at ${base_rate:,.0f} per point."
    )
    view = st.radio("List", ["By gap", "By member", "By attributed provider"], horizontal=True)
    table = {
        "By gap": gaps.gaps,
        "By member": gaps.by_person,
        "By attributed provider": gaps.by_provider,
    }[view]
    access.record_view(f"Risk adjustment: recapture worklist {view.lower()}", table.head(500))
    st.dataframe(
        table.head(500),
        hide_index=True,
        use_container_width=True,
        column_config={
            "annual_value": st.column_config.NumberColumn("Annual value", format="dollar")
        },
    )
    offer_download(
        f"Download {view.lower()} (CSV)",
        table,
        file_name=f"recapture_{view.split()[-1].lower()}_{year}.csv",
        person_level=True,
    )
