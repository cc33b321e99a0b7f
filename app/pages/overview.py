"""Overview: members, PMPM and utilization of the active dataset, by year."""

import polars as pl
import streamlit as st

from app import access
from app.charts import pmpm_by_category_chart, utilization_chart
from app.export import offer_download
from app.state import active_dataset, dataset_overview, mean_risk_score
from app.tables import scroll_hint

st.title("Population overview")
ds = active_dataset()
data = dataset_overview(ds)
# what each rate gives back with the person-years beside it (CMS: no count of 1-10 derivable)
SUMMARY_CELLS = {
    "admissions_per_1000": "admissions",
    "mean_length_of_stay": "admissions",
    "readmission_rate": pl.col("readmission_rate") * pl.col("index_stays"),
    "ed_visits_per_1000": "ed_visits",
    "snf_stays_per_1000": "snf_stays",
    "home_health_episodes_per_1000": "home_health_episodes",
    "joint_replacements_per_1000": "joint_replacements",
}
summary: pl.DataFrame = access.aggregate(
    data.summary, people=["members"], keep=["year"], cells=SUMMARY_CELLS
)
pmpm: pl.DataFrame = access.aggregate(
    data.pmpm.join(data.summary.select("year", "members"), on="year", how="left"),
    people=["members"],
    keep=["year"],
).drop("members", "suppressed", strict=False)
source = ds.manifest["source"]
st.caption(
    f"Dataset **{ds.path.name}** — {source.get('kind', 'unknown')} source"
    + (
        f", {source['members']:,} members from {source['start_year']}, seed {source['seed']}"
        if source.get("kind") == "synthetic"
        else ""
    )
)

years = summary["year"].to_list()
year = st.select_slider("Year", options=years, value=years[-1]) if len(years) > 1 else years[0]
row = summary.filter(pl.col("year") == year).row(0, named=True)
prev = summary.filter(pl.col("year") == year - 1)
prev_row = prev.row(0, named=True) if prev.height else None


def delta(key: str, fmt: str):
    if prev_row is None or prev_row[key] in (None, 0) or row[key] is None:
        return None
    return fmt.format(row[key] - prev_row[key])


def fig(key: str, fmt: str) -> str:
    """The figure as text, or the note that it describes fewer than 11 people."""
    return SUPPRESSED if row[key] is None else fmt.format(row[key])


SUPPRESSED = "< 11: suppressed"


# twelve figures in three rows of four, so that no label is cut short
grid = [cell for _ in range(3) for cell in st.columns(4)]
c = grid[:6]
c[0].metric("Members", fig("members", "{:,}"), delta("members", "{:+,}"))
c[1].metric("Member months", fig("member_months", "{:,}"))
c[2].metric(
    "Medical PMPM (Parts A+B)",
    fig("pmpm_medical", "${:,.0f}"),
    delta("pmpm_medical", "{:+,.0f}"),
    delta_color="inverse",
)
if row["pmpm_pharmacy"] is None and not row.get("suppressed"):
    c[3].metric(
        "Pharmacy PMPM (Part D)",
        "n/a",
        help="The fills in this dataset carry no paid amount (CMS's Part D file, CCLF7, has none).",
    )
else:
    c[3].metric(
        "Pharmacy PMPM (Part D)",
        fig("pmpm_pharmacy", "${:,.0f}"),
        delta("pmpm_pharmacy", "{:+,.0f}"),
        delta_color="inverse",
    )
c[4].metric(
    "Admissions / 1,000",
    fig("admissions_per_1000", "{:,.0f}"),
    delta("admissions_per_1000", "{:+,.0f}"),
    delta_color="inverse",
)
c[5].metric(
    "ED visits / 1,000",
    fig("ed_visits_per_1000", "{:,.0f}"),
    delta("ed_visits_per_1000", "{:+,.0f}"),
    delta_color="inverse",
)
c = grid[6:]
c[0].metric(
    "30-day readmission rate",
    fig("readmission_rate", "{:.1%}") if row["index_stays"] != 0 else "-",
)
c[1].metric("Mean length of stay", fig("mean_length_of_stay", "{:.1f} days"))
c[2].metric("SNF stays / 1,000", fig("snf_stays_per_1000", "{:,.0f}"))
c[3].metric("Home health episodes / 1,000", fig("home_health_episodes_per_1000", "{:,.0f}"))
c[4].metric("Joint replacements / 1,000", fig("joint_replacements_per_1000", "{:,.1f}"))
risk = mean_risk_score(ds, year + 1)
c[5].metric(
    f"Risk score, PY {year + 1}",
    f"{risk:.3f}" if risk is not None else "—",
    help=f"Mean CMS-HCC payment score for payment year {year + 1}, from {year} diagnoses (members enrolled in December {year})."
    if risk is not None
    else f"No CMS-HCC parameters for payment year {year + 1}.",
)

left, right = st.columns(2)
left.altair_chart(pmpm_by_category_chart(pmpm), use_container_width=True)
right.altair_chart(utilization_chart(summary), use_container_width=True)

st.subheader("By year")
table = summary.select(
    "year",
    "members",
    "member_months",
    "person_years",
    "paid_medical",
    "pmpm_medical",
    "pmpm_pharmacy",
    "admissions_per_1000",
    "mean_length_of_stay",
    "readmission_rate",
    "ed_visits_per_1000",
    "snf_stays_per_1000",
    "home_health_episodes_per_1000",
    "joint_replacements_per_1000",
)
number = st.column_config.NumberColumn
st.dataframe(
    table,
    hide_index=True,
    use_container_width=True,
    column_config={
        "year": st.column_config.TextColumn("Year"),
        "members": number("Members", format="localized"),
        "member_months": number("Member months", format="localized"),
        "person_years": number("Person-years", format="%.0f"),
        "paid_medical": number("Paid, Parts A+B", format="dollar"),
        "pmpm_medical": number("PMPM, A+B", format="dollar"),
        "pmpm_pharmacy": number("PMPM, Part D", format="dollar"),
        "admissions_per_1000": number("Admits /1,000", format="%.0f"),
        "mean_length_of_stay": number("ALOS (days)", format="%.1f"),
        "readmission_rate": number("Readmit rate", format="percent"),
        "ed_visits_per_1000": number("ED /1,000", format="%.0f"),
        "snf_stays_per_1000": number("SNF /1,000", format="%.0f"),
        "home_health_episodes_per_1000": number("HH /1,000", format="%.0f"),
        "joint_replacements_per_1000": number("Joint repl. /1,000", format="%.1f"),
    },
)
scroll_hint(table)
wide = pmpm.pivot(on="year", index="service_category", values="pmpm").sort("service_category")
st.subheader("PMPM by service category")
st.dataframe(
    wide,
    hide_index=True,
    use_container_width=True,
    column_config={
        "service_category": "Service category",
        **{str(y): number(str(y), format="dollar") for y in years},
    },
)
offer_download(
    "Download PMPM by category (CSV)",
    pmpm,
    file_name=f"{ds.path.name}_pmpm_by_category.csv",
    person_level=False,
)
offer_download(
    "Download summary by year (CSV)",
    table,
    file_name=f"{ds.path.name}_summary.csv",
    person_level=False,  # ``summary`` went through access.aggregate above
)
