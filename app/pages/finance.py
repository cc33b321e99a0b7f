"""Finance: completed vs paid PMPM with the IBNR band, the trend bridge, the forecast fan, budget vs
actual and the year-end settlement range, as of a valuation date; CSV and Excel exports."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from app.export import offer_download
from app.format import money, pct
from app.state import active_dataset, contract_history, finance_default_as_of, finance_view
from modeling.errors import VbcError

st.title("Finance: total cost of care")
ds = active_dataset()


def downloads(frame: pl.DataFrame, name: str) -> None:
    """CSV (UTF-8 with a byte-order mark, as Excel expects) and Excel downloads of a table
    (dollars and PMPMs over the whole panel by month or category: no people counts to suppress)."""
    c1, c2 = st.columns(2)
    offer_download(
        f"CSV: {name}",
        frame,
        file_name=f"{name}.csv",
        person_level=False,
        bom=True,
        container=c1,
        key=f"csv-{name}",
    )
    offer_download(
        f"Excel: {name}",
        frame,
        file_name=f"{name}.xlsx",
        person_level=False,
        excel=True,
        container=c2,
        key=f"xlsx-{name}",
    )


as_of = st.sidebar.date_input("Valuation date (paid through)", value=finance_default_as_of(ds))
try:
    done, monthly, trend, season, fc = finance_view(ds, as_of)
except VbcError as exc:
    st.error(str(exc))
    st.stop()

table = done.table
total = table.filter(pl.col("service_category") == "all").sort("incurred_month")
latest = total.tail(1).row(0, named=True)
c = st.columns(4)
c[0].metric("Completed PMPM, latest month", money(latest["completed_pmpm"], cents=True))
c[1].metric("Paid PMPM so far", money(latest["paid_pmpm"], cents=True))
c[2].metric("IBNR, all months", money(float(total["ibnr"].sum())))
c[3].metric(
    "Latest paid month's speed",
    pct(done.payment_speed, digits=0),
    help=(
        "Actual / expected payments in the latest paid month. A processing backlog still "
        "outstanding (a slow month not yet caught up) is restated as unpaid: "
        + (money(done.backlog) if done.speed_adjusted else "none now")
        + "."
    ),
)
st.caption(
    f"Incurred through {latest['incurred_month']:%B %Y}, paid through {as_of}, completed with IBNR "
    "(development method where run-out is credible, Bornhuetter-Ferguson for the latest months)."
)

st.subheader("Completed vs paid PMPM, with the IBNR band (80%)")
band = total.with_columns(
    (
        (pl.col("paid_to_date") + pl.col("ibnr_lo").fill_nan(None).fill_null(pl.col("ibnr")))
        / pl.col("member_months")
    ).alias("lo"),
    (
        (pl.col("paid_to_date") + pl.col("ibnr_hi").fill_nan(None).fill_null(pl.col("ibnr")))
        / pl.col("member_months")
    ).alias("hi"),
).select("incurred_month", "paid_pmpm", "completed_pmpm", "lo", "hi")
long = band.unpivot(
    index="incurred_month",
    on=["paid_pmpm", "completed_pmpm"],
    variable_name="series",
    value_name="pmpm",
)
base = alt.Chart(band.to_pandas()).encode(x=alt.X("incurred_month:T", title="incurred month"))
chart = base.mark_area(opacity=0.25, color="#e45756").encode(
    y=alt.Y("lo:Q", title="PMPM"), y2="hi:Q"
) + alt.Chart(long.to_pandas()).mark_line(point=True).encode(
    x="incurred_month:T", y="pmpm:Q", color=alt.Color("series:N", title=None)
)
st.altair_chart(chart, width="stretch")
downloads(table, f"completion-{as_of}")

st.subheader("Trend explained")
tot = trend.filter(pl.col("service_category") == "total").sort("period")
if tot.height:
    year_row = tot.tail(1).row(0, named=True)
    steps = [
        ("prior PMPM", year_row["pmpm_prior"]),
        ("risk", year_row["risk_effect"]),
        ("utilization", year_row["utilization_effect"]),
        ("mix", year_row["mix_effect"]),
        ("unit cost", year_row["unit_cost_effect"]),
        ("current PMPM", year_row["pmpm"]),
    ]
    wf = []
    running = 0.0
    for i, (label, value) in enumerate(steps):
        if i in (0, len(steps) - 1):
            wf.append((i, label, 0.0, value, "level", money(value, cents=True)))
            running = value
        else:
            sign = "+" if value >= 0 else ""
            wf.append(
                (
                    i,
                    label,
                    running,
                    running + value,
                    "up" if value >= 0 else "down",
                    f"{sign}{money(value, cents=True)}",
                )
            )
            running += value
    wfd = pl.DataFrame(
        wf, schema=["order", "step", "start", "end", "kind", "label"], orient="row"
    ).with_columns(pl.max_horizontal("start", "end").alias("top"))
    # the axis starts near the smallest bar end (the levels' bars are clipped there), so the
    # steps, a few dollars each against a PMPM of about a thousand, stay visible
    ends = [v for r in wf for v in ((r[2], r[3]) if r[4] != "level" else (r[3],))]
    span = max(ends) - min(ends)
    lo, hi = min(ends) - 0.6 * span, max(ends) + 0.25 * span
    x = alt.X("step:N", sort=[s for s, _ in steps], title=None, axis=alt.Axis(labelAngle=0))
    bars = (
        alt.Chart(wfd.to_pandas())
        .mark_bar(clip=True)
        .encode(
            x=x,
            y=alt.Y(
                "start:Q",
                title="PMPM",
                scale=alt.Scale(domain=[lo, hi], zero=False, nice=False),
                axis=alt.Axis(format="$,.0f", labelPadding=4),
            ),
            y2="end:Q",
            color=alt.Color(
                "kind:N",
                scale=alt.Scale(
                    domain=["level", "up", "down"], range=["#4c78a8", "#e45756", "#54a24b"]
                ),
                legend=None,
            ),
            tooltip=[alt.Tooltip("step:N"), alt.Tooltip("label:N", title="PMPM")],
        )
    )
    labels = (
        alt.Chart(wfd.to_pandas())
        .mark_text(dy=-8, fontSize=12)
        .encode(x=x, y=alt.Y("top:Q"), text="label:N")
    )
    st.altair_chart(
        (bars + labels).properties(height=340, padding={"left": 12, "top": 8}), width="stretch"
    )
    st.caption(
        f"{year_row['period']:%Y} against {year_row['prior_period']:%Y}: PMPM {money(year_row['pmpm_prior'], cents=True)} -> "
        f"{money(year_row['pmpm'], cents=True)} = utilization x{year_row['utilization_factor']:.4f} x mix "
        f"x{year_row['mix_factor']:.4f} x unit cost x{year_row['unit_cost_factor']:.4f} (risk x{year_row['risk_factor']:.4f}; "
        "January through the latest incurred month of each year)."
    )
    shown = trend.filter(pl.col("period") == year_row["period"])
    st.dataframe(
        pl.DataFrame(
            {
                "service category": shown["service_category"],
                "PMPM before": [money(v, cents=True) for v in shown["pmpm_prior"]],
                "PMPM": [money(v, cents=True) for v in shown["pmpm"]],
                "utilization": [f"{v - 1:+.1%}" for v in shown["utilization_factor"]],
                "mix": [f"{v - 1:+.1%}" for v in shown["mix_factor"]],
                "unit cost": [f"{v - 1:+.1%}" for v in shown["unit_cost_factor"]],
                "services / 1,000": [f"{v:,.0f}" for v in shown["services_per_1000"]],
                "cost / service": [money(v) for v in shown["cost_per_service"]],
            }
        ),
        hide_index=True,
    )
st.altair_chart(
    alt.Chart(
        season.filter(pl.col("service_category").is_in(["total", "acute inpatient"])).to_pandas()
    )
    .mark_line(point=True)
    .encode(
        x=alt.X("month:O", title="calendar month"),
        y=alt.Y("index:Q", title="seasonal index", scale=alt.Scale(zero=False)),
        color="service_category:N",
    ),
    width="stretch",
)
downloads(trend, f"trend-{as_of}")

st.subheader("Forecast (80% interval calibrated by backtest)")
hist = monthly.group_by("incurred_month").agg(pl.col("paid").sum(), pl.col("member_months").first())
hist = hist.select(
    pl.col("incurred_month").alias("month"),
    (pl.col("paid") / pl.col("member_months")).alias("pmpm"),
).with_columns(pl.lit("completed").alias("series"))
ft = fc.table.filter(pl.col("service_category") == "total")
fan = (
    alt.Chart(ft.to_pandas())
    .mark_area(opacity=0.25, color="#4c78a8")
    .encode(x=alt.X("month:T", title="month"), y=alt.Y("pmpm_lo:Q", title="PMPM"), y2="pmpm_hi:Q")
)
lines = (
    alt.Chart(
        pl.concat(
            [
                hist,
                ft.select("month", "pmpm", pl.lit("forecast").alias("series")),
                ft.select(
                    "month",
                    pl.col("baseline_pmpm").alias("pmpm"),
                    pl.lit("seasonal naive").alias("series"),
                ),
            ]
        ).to_pandas()
    )
    .mark_line()
    .encode(
        x="month:T",
        y="pmpm:Q",
        color=alt.Color("series:N", title=None),
        strokeDash=alt.condition(
            "datum.series == 'seasonal naive'", alt.value([4, 4]), alt.value([1, 0])
        ),
    )
)
st.altair_chart(fan + lines, width="stretch")
downloads(fc.table, f"forecast-{as_of}")

st.subheader(f"Budget vs actual and the year end, {as_of.year}")
from contracts.year_end import budget_vs_actual, monthly_budget, parse_budget, year_end  # noqa: E402

upload = st.file_uploader(
    "Budget CSV (service_category, pmpm[, member_months][, month])", type="csv"
)
prior = monthly.filter(pl.col("incurred_month").dt.year() == as_of.year - 1)
if upload is not None:
    try:
        budget = parse_budget(
            pl.read_csv(upload, try_parse_dates=True), calendar_year=as_of.year, where=upload.name
        )
    except (VbcError, pl.exceptions.PolarsError) as exc:
        st.error(str(exc))
        st.stop()
else:
    uplift = st.slider(
        "No budget uploaded: budget PMPM = last year's completed PMPM x (1 + ...)",
        -0.10,
        0.15,
        0.04,
        0.01,
    )
    base_pmpm = prior.group_by("service_category").agg(
        (pl.col("paid").sum() / pl.col("member_months").sum()).alias("pmpm")
    )
    budget = parse_budget(
        base_pmpm.with_columns(pl.col("pmpm") * (1 + uplift)), calendar_year=as_of.year
    )
try:
    through = monthly["incurred_month"].max()
    variance = budget_vs_actual(
        monthly,
        monthly_budget(budget, monthly, calendar_year=as_of.year),
        calendar_year=as_of.year,
        through=through,
    )
    outlook = year_end(done, fc, calendar_year=as_of.year)
except VbcError as exc:
    st.error(str(exc))
    st.stop()
st.dataframe(
    pl.DataFrame(
        {
            "service category": variance["service_category"],
            "actual PMPM": [money(v, cents=True) for v in variance["actual_pmpm"]],
            "budget PMPM": [money(v, cents=True) for v in variance["budget_pmpm"]],
            "actual": [money(v) for v in variance["actual"]],
            "budget": [money(v) for v in variance["budget"]],
            "volume variance": [money(v) for v in variance["volume_variance"]],
            "rate variance": [money(v) for v in variance["rate_variance"]],
            "variance": [money(v) for v in variance["variance"]],
        }
    ),
    hide_index=True,
)
st.caption(
    "Year to date, completed; the total is over the budgeted categories. Volume = (actual - budget "
    "member months) x budget PMPM; rate = (actual - budget PMPM) x actual member months."
)
downloads(variance, f"budget-{as_of}")
c = st.columns(4)
c[0].metric(f"Projected {as_of.year} total cost", money(outlook.total))
c[1].metric("Low (80% range)", money(outlook.low))
c[2].metric("High (80% range)", money(outlook.high))
c[3].metric("Parts A and B", money(outlook.medical))

st.subheader("The settlement the projected year implies")
from contracts.projection import Assumptions  # noqa: E402
from contracts.specs import preset, preset_names  # noqa: E402
from contracts.year_end import year_end_settlement  # noqa: E402

options = [n for n in preset_names() if n.endswith(f"-{as_of.year}")]
if not options:
    st.info(f"No contract presets for {as_of.year}.")
    st.stop()
name = st.selectbox(
    "Contract",
    options,
    index=options.index(f"mssp-basic-e-{as_of.year}")
    if f"mssp-basic-e-{as_of.year}" in options
    else 0,
)
msr = st.number_input(
    "Minimum savings rate (needed below 5,000 assigned beneficiaries)",
    0.0,
    0.1,
    0.02,
    0.005,
    format="%.3f",
)
try:
    history = contract_history(ds)
    settled = year_end_settlement(
        preset(name), history, outlook, assumptions=Assumptions(minimum_savings_rate=msr or None)
    )
except VbcError as exc:
    st.error(str(exc))
    st.stop()
s = settled.summary
c = st.columns(5)
c[0].metric("Expected settlement", money(settled.expected))
c[1].metric("5th percentile", money(s.p05))
c[2].metric("95th percentile", money(s.p95))
c[3].metric("Chance of shared savings", pct(s.p_shared_savings))
c[4].metric("Chance of owing losses", pct(s.p_owes_losses))
st.caption(
    f"{settled.projection.spec.name}: the contract's benchmark and settlement (contracts.projection) with the projected "
    f"Parts A and B cost (x{settled.scale:.4f} on what the panel holds for {as_of.year}); the range simulates the "
    "projection's own 80% range as the cost shock (contracts.simulation)."
)
