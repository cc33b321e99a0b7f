"""Peers: where the panel stands among CMS's published MSSP ACOs of a track and year."""

from __future__ import annotations

import io

import polars as pl
import streamlit as st

from app.charts import peer_distribution_chart
from app.export import offer_download
from app.format import count, money, number, pct
from app.state import active_dataset
from contracts.history import panel_history
from contracts.peers import compare_to_peers, panel_metrics, puf_tracks
from contracts.projection import Assumptions, project
from contracts.reproduce import read_puf, sample_puf
from contracts.specs import preset, preset_names
from modeling.dataset import Dataset
from modeling.errors import VbcError

st.title("Peers")
st.caption(
    "Your panel among the ACOs whose results CMS publishes (MSSP Performance Year Financial and "
    "Quality Results PUF): savings rate, spending by setting, admissions and ED visits, risk and quality."
)
ds = active_dataset()


@st.cache_resource(
    show_spinner="Reading the panel's expenditures and risk scores...", max_entries=4
)
def history_for(path: str, content_hash: str):
    return panel_history(Dataset(path))


@st.cache_data(show_spinner="Counting the panel's admissions and ED visits...", max_entries=8)
def metrics_for(path: str, content_hash: str, year: int):
    return panel_metrics(Dataset(path), history_for(path, content_hash), calendar_year=year)


@st.cache_data(show_spinner="Reading the PUF...", max_entries=4)
def load_puf(data: bytes | None, year: int | None) -> pl.DataFrame:
    if data is None:
        return sample_puf("mssp")
    frame = pl.read_csv(io.BytesIO(data), infer_schema=False, encoding="utf8-lossy")
    return read_puf(frame, program="mssp", performance_year=year)


uploaded = st.sidebar.file_uploader(
    "MSSP PUF (CSV from data.cms.gov)",
    type=["csv"],
    help="Leave empty for the sample shipped with vbc-modeler (about half of the PY2014-2021 ACOs).",
)
file_year = (
    st.sidebar.number_input(
        "Performance year of the file",
        min_value=2012,
        max_value=2030,
        value=2021,
        help="Used only when the file has no performance_year column (CMS's single-year files).",
    )
    if uploaded
    else None
)
try:
    puf = load_puf(uploaded.getvalue() if uploaded else None, int(file_year) if file_year else None)
    history = history_for(str(ds.path), ds.manifest["content_hash"])
except VbcError as exc:
    st.error(str(exc))
    st.stop()

offered = puf_tracks(puf).filter(pl.col("performance_year").is_not_null())
years = sorted(set(offered["performance_year"].to_list()))
left, middle, right = st.columns(3)
puf_year = left.selectbox("Published performance year", years, index=len(years) - 1)
tracks = offered.filter(pl.col("performance_year") == puf_year)["track"].to_list()
track = middle.selectbox(
    "Track",
    tracks,
    index=tracks.index("basic_e") if "basic_e" in tracks else 0,
    format_func=lambda t: (
        f"{t} ({offered.filter((pl.col('performance_year') == puf_year) & (pl.col('track') == t))['acos'][0]} ACOs)"
    ),
)
mssp_presets = [n for n in preset_names() if n.startswith("mssp-")]
level = track.removeprefix("basic_") if track.startswith("basic_") else "enhanced"
wanted = f"mssp-{'basic-' if len(level) == 1 else ''}{level}-{history.years[-1] + 1}"
contract = right.selectbox(
    "Your contract (projected)",
    mssp_presets,
    index=mssp_presets.index(wanted) if wanted in mssp_presets else 0,
)
quality = st.slider("Your quality score", 0.0, 1.0, Assumptions().quality_score, 0.01)

base = dict(metrics_for(str(ds.path), ds.manifest["content_hash"], history.years[-1]))
base["quality_score"] = quality
projection = None
try:
    projection = project(preset(contract), history, Assumptions(quality_score=quality))
except VbcError as exc:
    st.warning(f"Your settlement cannot be projected, so it is not placed among the peers: {exc}")
if projection is not None:
    perf = projection.performance
    base["savings_rate"] = (
        perf.benchmark_per_capita - perf.expenditure_per_capita
    ) / perf.benchmark_per_capita
    base["earned_per_capita"] = projection.settlement.amount / perf.person_years
try:
    result = compare_to_peers(puf, base, performance_year=puf_year, track=track)
except VbcError as exc:
    st.error(str(exc))
    st.stop()

a, b, c, d = st.columns(4)
a.metric("Published peers", count(result.peers.height))
b.metric(
    "Your savings rate"
    + (f" ({projection.spec.performance_year}, {projection.mode})" if projection else ""),
    pct(base["savings_rate"], digits=2),
)
c.metric("Your settlement", money(projection.settlement.amount) if projection else "-")
rank = result.placement.filter(pl.col("metric") == "savings_rate")["percentile_rank"][0]
d.metric("Savings rate percentile among peers", "-" if rank is None else f"{rank:.0%}")

charts = st.columns(2)
charts[0].altair_chart(
    peer_distribution_chart(
        result.peers,
        "savings_rate",
        base["savings_rate"],
        f"Savings rate, {track} PY{puf_year}",
        ".1%",
    ),
    use_container_width=True,
)
charts[1].altair_chart(
    peer_distribution_chart(
        result.peers,
        "earned_per_capita",
        base["earned_per_capita"],
        "Settlement per assigned beneficiary",
        "$,.0f",
    ),
    use_container_width=True,
)


def show(value: float | None, kind: str) -> str:
    if kind == "dollars":
        return money(value)
    if kind == "rate":
        return pct(value, digits=1)
    if kind == "score":
        return number(value, digits=3)
    return number(value, digits=0)


table = result.placement.to_dicts()
st.dataframe(
    pl.DataFrame(
        {
            "measure": [r["label"] for r in table],
            "your panel": [show(r["panel"], r["kind"]) for r in table],
            "peers p10": [show(r["p10"], r["kind"]) for r in table],
            "p25": [show(r["p25"], r["kind"]) for r in table],
            "median": [show(r["p50"], r["kind"]) for r in table],
            "p75": [show(r["p75"], r["kind"]) for r in table],
            "p90": [show(r["p90"], r["kind"]) for r in table],
            "your percentile": [
                "-" if r["percentile_rank"] is None else f"{r['percentile_rank']:.0%}"
                for r in table
            ],
        }
    ),
    hide_index=True,
    use_container_width=True,
    height=36 * (len(table) + 1) + 3,
)
st.caption(
    f"Your figures are the panel's {history.years[-1]} (dollars not trended to PY{puf_year}); the savings "
    f"rate and settlement are the projection of {contract}. Spending by setting maps the panel's "
    "service categories to CMS's settings (outpatient includes the ED; 'other' is left out); the risk score is "
    "the panel's mean CMS-HCC V28 raw score against CMS's renormalized one."
)
# the panel's whole-population figures and CMS's published ACO results: no small cells of ours
offer_download(
    "Download the comparison (CSV)",
    result.placement,
    file_name=f"peers-{track}-{puf_year}.csv",
    person_level=False,
)
offer_download(
    "Download the peers (CSV)",
    result.peers,
    file_name=f"peer-acos-{track}-{puf_year}.csv",
    person_level=False,
)
