"""Bundles: episodes and spending by category and setting, variation by hospital and surgeon,
target vs actual, the reconciliation waterfall, the tracks side by side, the distribution and
exports. Every figure comes from ``contracts.bundles``; this page only arranges them."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from app import access
from app.charts import settlement_distribution_chart, settlement_waterfall_chart
from app.export import offer_download
from app.format import loss, money, pct
from app.state import active_dataset
from contracts.bundles.analysis import bundle_model, bundle_reconciliation
from contracts.bundles.build import OUTPUT_COLUMNS, panel_episodes
from contracts.bundles.definitions import SETTINGS
from contracts.bundles.distribution import BundleUncertainty, simulate_reconciliation
from contracts.bundles.hospital import priced_episodes
from contracts.bundles.reconciliation import waterfall
from contracts.simulation.monte_carlo import histogram
from modeling.dataset import Dataset
from modeling.errors import VbcError

st.title("Bundled payments")


def dollars(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """The frame with ``columns`` written as money (app.format) for display."""
    present = [c for c in columns if c in frame.columns]
    return frame.with_columns(
        pl.col(c).map_elements(money, return_dtype=pl.String).alias(c) for c in present
    )


SETTING_LABELS = {
    "anchor": "Anchor stay",
    "readmission": "Readmissions",
    "snf": "SNF",
    "irf": "IRF",
    "home_health": "Home health",
    "outpatient": "Outpatient",
    "professional": "Professional",
    "other": "Other",
}
POST_ACUTE = ("snf", "irf", "home_health")

MONEY = [
    "mean spending",
    "mean winsorized",
    "mean",
    "SNF",
    "mean SNF",
    "mean target",
    "mean actual",
    "margin per episode",
    "benchmark",
    "preliminary_price",
    "target_amount",
    "spending",
    "reconciliation_amount",
    "quality_adjusted",
    "capped",
    "post_episode_excess",
]
ds = active_dataset()


@st.cache_resource(show_spinner="Building episodes from the claims...", max_entries=6)
def episodes_for(path: str, content_hash: str, model: str):
    return panel_episodes(Dataset(path), bundle_model(model).spec)


@st.cache_resource(show_spinner="Estimating target prices and reconciling...", max_entries=12)
def reconciliation_for(
    path: str, content_hash: str, model: str, track: str | None, npi: str | None, quality: float
):
    chosen = bundle_model(model)
    table = episodes_for(path, content_hash, model)
    return bundle_reconciliation(
        Dataset(path), chosen, track=track, facility_npi=npi, quality_score=quality, table=table
    )


left, mid, right = st.columns(3)
model = left.selectbox(
    "Model",
    ["team", "bpci-advanced"],
    format_func=lambda m: {"team": "TEAM (30 days)", "bpci-advanced": "BPCI Advanced (90 days)"}[m],
)
quality = mid.slider("Composite quality score", 0, 100, 50)
try:
    table = episodes_for(str(ds.path), ds.manifest["content_hash"], model)
    first = reconciliation_for(
        str(ds.path), ds.manifest["content_hash"], model, None, None, float(quality)
    )
except VbcError as exc:
    st.error(str(exc))
    st.stop()
# a hospital's reconciliation describes its episodes: under suppression, only hospitals with
# enough of them to show (modeling.suppression's threshold) can be chosen
hospitals = access.aggregate(first.hospitals, people=["episodes"], chart=True)
hospital_list = hospitals["facility_npi"].to_list()
if not hospital_list:
    st.info(
        "No hospital has enough episodes to show its reconciliation: every one describes fewer "
        "people than the small-cell threshold."
    )
    st.stop()
npi = right.selectbox(
    "Our hospital (facility NPI)",
    hospital_list,
    format_func=lambda n: (
        f"{n} ({first.hospitals.filter(pl.col('facility_npi') == n)['episodes'][0]} episodes)"
    ),
)
track_options = first.tracks["track"].to_list() if first.tracks.height else [first.rules.track]
track = st.radio("Track", track_options, index=len(track_options) - 1, horizontal=True)
result = reconciliation_for(
    str(ds.path), ds.manifest["content_hash"], model, track, npi, float(quality)
)
episodes = table.episodes
kept = episodes.filter(pl.col("status") == "kept")
year = result.prices.performance_year

a, b, c, d = st.columns(4)
a.metric("Triggers", f"{episodes.height:,}")
b.metric("Kept episodes", f"{kept.height:,}")
c.metric("Mean spending per kept episode", money(kept["total_spending"].mean()))
r = result.hospital.reconciliation
d.metric(f"Hospital {npi}, {year}: {r.outcome}", money(r.amount))

tabs = st.tabs(
    [
        "Episodes",
        "Where the money goes",
        "Variation",
        "Target vs actual",
        "Reconciliation",
        "Distribution",
        "Export",
    ]
)
with tabs[0]:
    st.caption("Every trigger is accounted for: kept, cancelled or excluded, with the reason.")
    st.dataframe(
        access.aggregate(  # the reasons add up to the triggers shown above
            episodes.group_by("status", "reason")
            .agg(pl.len().alias("triggers"))
            .with_columns(pl.col("reason").fill_null(""))  # a kept episode has no reason
            .sort("triggers", descending=True),
            people=["triggers"],
            partitions=[()],
        ),
        hide_index=True,
        use_container_width=True,
    )
    by_cat = (
        kept.group_by("episode_category")
        .agg(
            pl.len().alias("episodes"),
            pl.col("total_spending").mean().alias("mean spending"),
            pl.col("winsorized_spending").mean().alias("mean winsorized"),
        )
        .sort("episodes", descending=True)
    )
    by_cat = access.aggregate(by_cat, people=["episodes"], partitions=[()])
    st.dataframe(dollars(by_cat, MONEY), hide_index=True, use_container_width=True)
with tabs[1]:
    by_setting = kept.group_by("episode_category").agg(
        pl.len().alias("episodes"),
        *[pl.col(f"spend_{s}").mean().alias(SETTING_LABELS[s]) for s in SETTINGS],
        pl.col("total_spending").mean().alias("Total"),
        (
            pl.sum_horizontal(pl.col(f"spend_{s}") for s in POST_ACUTE).sum()
            / pl.col("total_spending").sum()
        ).alias("post-acute share"),
    )
    labels = [SETTING_LABELS[s] for s in SETTINGS]
    long = by_setting.select("episode_category", *labels).unpivot(
        index="episode_category", variable_name="setting", value_name="mean per episode"
    )
    st.altair_chart(
        alt.Chart(long.to_pandas(), title="Mean spending per episode by setting")
        .mark_bar()
        .encode(
            y=alt.Y("episode_category:N", title=None, sort="-x"),
            x=alt.X("mean per episode:Q", title="Dollars", axis=alt.Axis(format="$,.3s")),
            color=alt.Color("setting:N", sort=labels, title="Setting"),
            order=alt.Order("setting_order:Q"),
            tooltip=[
                "episode_category",
                "setting",
                alt.Tooltip("mean per episode:Q", format="$,.0f"),
            ],
        )
        .transform_calculate(
            setting_order="indexof(" + repr(labels).replace("'", '"') + ", datum.setting)"
        ),
        use_container_width=True,
    )
    table = access.aggregate(
        by_setting.sort("episodes", descending=True), people=["episodes"], partitions=[()]
    )
    st.dataframe(
        dollars(table, [*labels, "Total"])
        .with_columns(pl.col("post-acute share").map_elements(pct, return_dtype=pl.String))
        .rename(
            {
                "episode_category": "Category",
                "episodes": "Episodes",
                "post-acute share": "Post-acute share",
            }
        ),
        hide_index=True,
        use_container_width=True,
    )
    st.caption(
        "Mean paid dollars per kept episode. Anchor stay is the triggering stay's facility "
        "claims (its surgeon and attending claims are under Professional); post-acute is SNF, "
        "IRF and home health. Spending is paid amounts: CMS's payment standardization is not "
        "reproducible from claims (see the methods)."
    )
with tabs[2]:
    by_hosp = (
        kept.filter(pl.col("anchor_year") == year)
        .group_by("facility_npi")
        .agg(
            pl.len().alias("episodes"),
            pl.col("winsorized_spending").mean().alias("mean"),
            pl.col("spend_snf").mean().alias("SNF"),
        )
        .filter(pl.col("episodes") >= 5)
        .sort("mean")
    )
    by_hosp = access.aggregate(by_hosp, people=["episodes"], chart=True)
    st.altair_chart(
        alt.Chart(
            by_hosp.to_pandas(), title=f"Mean winsorized spending by hospital, {year} (5+ episodes)"
        )
        .mark_bar()
        .encode(
            x=alt.X("facility_npi:N", sort="y", title="Hospital"),
            y=alt.Y("mean:Q", axis=alt.Axis(format="$,.3s"), title="Mean per episode"),
            color=alt.condition(
                alt.datum.facility_npi == npi, alt.value("#e45756"), alt.value("#4c78a8")
            ),
            tooltip=[
                "facility_npi",
                "episodes",
                alt.Tooltip("mean:Q", format="$,.0f"),
                alt.Tooltip("SNF:Q", format="$,.0f"),
            ],
        ),
        use_container_width=True,
    )
    surgeons = (
        kept.filter((pl.col("facility_npi") == npi) & pl.col("surgeon_npi").is_not_null())
        .group_by("surgeon_npi")
        .agg(
            pl.len().alias("episodes"),
            pl.col("winsorized_spending").mean().alias("mean spending"),
            pl.col("spend_snf").mean().alias("mean SNF"),
        )
        .sort("episodes", descending=True)
    )
    st.write(f"Surgeons and attendings at hospital {npi} (all years)")
    surgeons = access.aggregate(surgeons, people=["episodes"], partitions=[()])
    st.dataframe(dollars(surgeons, MONEY), hide_index=True, use_container_width=True)
with tabs[3]:
    st.dataframe(result.prices.steps, hide_index=True, use_container_width=True)
    if result.prices.types.height:
        st.dataframe(dollars(result.prices.types, MONEY), hide_index=True, use_container_width=True)
    own = priced_episodes(episodes, result.prices, facility_npi=npi)
    tva = (
        own.group_by("episode_category")
        .agg(
            pl.len().alias("episodes"),
            pl.col("target_price").mean().alias("mean target"),
            pl.col("winsorized_spending").mean().alias("mean actual"),
        )
        .with_columns((pl.col("mean target") - pl.col("mean actual")).alias("margin per episode"))
    )
    st.write(f"Hospital {npi}, {year}: target vs actual")
    tva = access.aggregate(tva, people=["episodes"], partitions=[()])
    st.dataframe(dollars(tva, MONEY), hide_index=True, use_container_width=True)
with tabs[4]:
    st.altair_chart(
        settlement_waterfall_chart(waterfall(r), f"Track {result.rules.track}: reconciliation"),
        use_container_width=True,
    )
    lines = r.lines().with_columns(
        pl.when(pl.col("step") == "episodes")
        .then(pl.col("amount").cast(pl.Int64).cast(pl.String))
        .otherwise(pl.col("amount").map_elements(money, return_dtype=pl.String))
        .alias("amount")
    )
    st.dataframe(lines, hide_index=True, use_container_width=True)
    if result.tracks.height:
        st.write("Tracks side by side (same episodes and prices)")
        st.dataframe(
            dollars(result.tracks, [*MONEY, "amount"]), hide_index=True, use_container_width=True
        )
    st.caption("; ".join(f"{n}: {s}" for n, _, s in result.rules.sources))
with tabs[5]:
    s1, s2 = st.columns(2)
    snf_cut = s1.slider("SNF spending cut by (initiative)", 0, 30, 10, format="%d%%") / 100
    quality_sd = s2.slider("Quality score spread (SD)", 0, 30, 10)
    sim = simulate_reconciliation(
        result.hospital,
        result.rules,
        BundleUncertainty(
            quality_score=float(quality),
            quality_sd=float(quality_sd),
            initiatives={"snf": snf_cut} if snf_cut else {},
        ),
        draws=10_000,
    )
    summary = sim.summary()
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Expected payment", money(summary.expected_settlement))
    m2.metric("Chance of repayment", pct(summary.p_owes_losses))
    m3.metric("Chance a cap binds", pct(summary.p_hits_payment_limit + summary.p_hits_loss_cap))
    m4.metric(
        "CVaR 95% (loss)",
        loss(summary.cvar_95, short=True),
        help=f"The mean loss in the worst 5% of simulated years: {loss(summary.cvar_95)}.",
    )
    st.altair_chart(
        settlement_distribution_chart(
            histogram(sim),
            {"zero": 0.0, "deterministic": sim.deterministic},
            "Simulated reconciliations (10,000 years)",
        ),
        use_container_width=True,
    )
with tabs[6]:
    offer_download(
        "Episodes (CSV)",
        episodes.select(OUTPUT_COLUMNS),
        file_name=f"episodes-{model}.csv",
        person_level=True,
    )
    offer_download(
        "Reconciliation (CSV)",
        r.lines(),
        file_name=f"reconciliation-{model}-{npi}.csv",
        person_level=False,
    )
