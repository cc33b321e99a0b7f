"""Altair chart builders for the pages (tested through ``Chart.to_dict()``)."""

from __future__ import annotations

import altair as alt
import polars as pl

CATEGORY_ORDER = [
    "acute inpatient",
    "skilled nursing facility",
    "home health",
    "hospice",
    "outpatient hospital",
    "emergency department",
    "office/professional",
    "ambulance",
    "durable medical equipment",
    "other",
    "pharmacy",
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
            color=alt.Color(
                "service_category:N",
                title="Service category",
                sort=CATEGORY_ORDER,
                legend=alt.Legend(labelLimit=260),
            ),
            order=alt.Order("service_category:N"),
            tooltip=[
                alt.Tooltip("year:N"),
                alt.Tooltip("service_category:N"),
                alt.Tooltip("pmpm:Q", format="$,.2f"),
            ],
        )
    )


def utilization_chart(summary: pl.DataFrame) -> alt.Chart:
    """Lines: admissions, ED visits, SNF stays and home-health episodes per 1,000 by year."""
    cols = {
        "admissions_per_1000": "Admissions",
        "ed_visits_per_1000": "ED visits",
        "snf_stays_per_1000": "SNF stays",
        "home_health_episodes_per_1000": "Home health episodes",
    }
    data = (
        summary.select("year", *cols)
        .unpivot(index="year", variable_name="measure", value_name="per_1000")
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
    data = pl.DataFrame(
        rows, schema={"table": pl.String, "check": pl.String, "rows_failed": pl.Int64}
    ).to_pandas()
    return (
        alt.Chart(data, title="Rows failing each check")
        .mark_bar()
        .encode(
            x=alt.X("rows_failed:Q", title="Rows", axis=alt.Axis(tickMinStep=1, format=",d")),
            y=alt.Y("check:N", title=None),
            color="table:N",
            tooltip=["table", "check", "rows_failed"],
        )
    )


def cclf_lines_chart(by_type: pl.DataFrame) -> alt.Chart:
    """Stacked bars: where each file type's lines went (loaded, superseded, cancelled, quarantined, not loaded)."""
    statuses = ["loaded", "superseded", "cancelled", "quarantined", "not_loaded", "in_refused_file"]
    data = by_type.unpivot(
        index="file_type", on=statuses, variable_name="status", value_name="lines"
    ).to_pandas()
    return (
        alt.Chart(data, title="CCLF lines by file type and outcome")
        .mark_bar()
        .encode(
            x=alt.X("lines:Q", title="Lines", axis=alt.Axis(format="~s")),
            y=alt.Y("file_type:N", title=None),
            color=alt.Color(
                "status:N",
                sort=statuses,
                scale=alt.Scale(
                    domain=statuses,
                    range=["#4c78a8", "#9ecae9", "#f58518", "#e45756", "#bab0ac", "#b279a2"],
                ),
            ),
            order=alt.Order("status_order:Q"),
            tooltip=["file_type", "status", alt.Tooltip("lines:Q", format=",")],
        )
        .transform_calculate(status_order=f"indexof({statuses!r}, datum.status)")
    )


def score_distribution_chart(scores: pl.DataFrame, column: str = "payment_score") -> alt.Chart:
    """Histogram of risk scores (clipped at 5 so the tail stays readable)."""
    data = scores.select(pl.col(column).clip(upper_bound=5.0).alias("score")).to_pandas()
    return (
        alt.Chart(data, title="Distribution of payment risk scores")
        .mark_bar()
        .encode(
            x=alt.X(
                "score:Q", bin=alt.Bin(step=0.1), title="Payment score (values above 5 shown at 5)"
            ),
            y=alt.Y("count():Q", title="Members"),
            tooltip=[alt.Tooltip("count():Q", title="members")],
        )
    )


def segment_mix_chart(mix: pl.DataFrame) -> alt.Chart:
    return (
        alt.Chart(mix.to_pandas(), title="Members by payment segment")
        .mark_bar()
        .encode(
            x=alt.X("members:Q", title="Members"),
            y=alt.Y("segment:N", sort="-x", title="Payment segment"),
            tooltip=[
                "segment",
                "members",
                alt.Tooltip("share:Q", format=".1%"),
                alt.Tooltip("mean_payment_score:Q", format=".3f"),
            ],
        )
    )


def top_hcc_chart(top: pl.DataFrame) -> alt.Chart:
    data = top.with_columns(
        (pl.col("hcc") + " " + pl.col("label").fill_null("")).alias("name")
    ).to_pandas()
    return (
        alt.Chart(data, title="Most prevalent payment HCCs")
        .mark_bar()
        .encode(
            x=alt.X("prevalence:Q", title="Share of members", axis=alt.Axis(format="%")),
            y=alt.Y("name:N", sort="-x", title=None, axis=alt.Axis(labelLimit=600)),
            tooltip=[
                "hcc",
                "label",
                "members",
                alt.Tooltip("prevalence:Q", format=".1%"),
                alt.Tooltip("mean_coefficient:Q", format=".3f"),
            ],
        )
    )


def settlement_waterfall_chart(waterfall: pl.DataFrame, title: str) -> alt.Chart:
    """Waterfall from the benchmark to the settlement: floating bars for each change, solid bars
    for the start and the settlement (``Settlement.waterfall()``)."""
    rows, running = [], 0.0
    for step, amount, kind in waterfall.iter_rows():
        if kind == "start" or kind == "total":
            start, end = 0.0, amount
        else:
            start, end = running, running + amount
        running = end if kind != "total" else running
        rows.append(
            {
                "step": step,
                "start": start,
                "end": end,
                "amount": amount,
                "kind": "total"
                if kind in ("start", "total")
                else ("increase" if amount >= 0 else "decrease"),
            }
        )
    data = pl.DataFrame(rows).with_columns(pl.int_range(pl.len()).alias("order")).to_pandas()
    order = data["step"].tolist()
    return (
        alt.Chart(data, title=title)
        .mark_bar()
        .encode(
            x=alt.X("step:N", sort=order, title=None, axis=alt.Axis(labelAngle=0, labelLimit=160)),
            y=alt.Y("start:Q", title="Dollars", axis=alt.Axis(format="$,.3s")),
            y2="end:Q",
            color=alt.Color(
                "kind:N",
                scale=alt.Scale(
                    domain=["total", "increase", "decrease"],
                    range=["#4c78a8", "#54a24b", "#e45756"],
                ),
                legend=None,
            ),
            tooltip=[alt.Tooltip("step:N"), alt.Tooltip("amount:Q", format="$,.0f")],
        )
    )


def settlement_comparison_chart(comparison: pl.DataFrame) -> alt.Chart:
    """Bars: each contract's settlement (positive paid to the provider, negative owed), each
    labelled with its amount, so a contract settling to $0 still shows; when every contract
    settles to $0 the title says so and why that happens."""
    data = comparison.with_columns(
        pl.when(pl.col("settlement") >= 0)
        .then(pl.lit("paid to the provider"))
        .otherwise(pl.lit("owed by the provider"))
        .alias("direction")
    ).to_pandas()
    title: alt.TitleParams | str = "Settlement by contract"
    if (comparison["settlement"].abs() < 0.5).all():
        title = alt.TitleParams(
            "Settlement by contract: every contract settles to $0",
            subtitle=[
                "Savings or losses fall inside each contract's minimum savings/loss rate,",
                "or the losses are not shared (one-sided). See the savings rate in the table.",
            ],
        )
    y = alt.Y("contract:N", sort=None, title=None, axis=alt.Axis(labelLimit=400))
    x = alt.X("settlement:Q", title="Settlement ($)", axis=alt.Axis(format="$,.3s"))
    bars = (
        alt.Chart(data, title=title)
        .mark_bar()
        .encode(
            y=y,
            x=x,
            color=alt.Color(
                "direction:N",
                scale=alt.Scale(
                    domain=["paid to the provider", "owed by the provider"],
                    range=["#54a24b", "#e45756"],
                ),
                title=None,
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=[
                alt.Tooltip("contract:N"),
                alt.Tooltip("settlement:Q", format="$,.0f"),
                alt.Tooltip("savings_rate:Q", format=".2%"),
            ],
        )
    )
    labels = (
        alt.Chart(data)
        .mark_text(align="left", dx=4, fontSize=11)
        .encode(y=y, x=x, text=alt.Text("settlement:Q", format="$,.0f"))
    )
    return bars + labels


TIER_ORDER = ["highest", "high", "rising", "moderate", "low"]


def tier_chart(summary: pl.DataFrame) -> alt.Chart:
    """Bars: members and share of predicted cost by tier (``tier_summary``)."""
    data = (
        summary.select("tier", "members", "share_of_predicted_cost")
        .unpivot(index="tier", variable_name="measure", value_name="value")
        .with_columns(
            pl.col("measure").replace(
                {"members": "Members", "share_of_predicted_cost": "Share of predicted cost"}
            )
        )
        .to_pandas()
    )
    base = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("tier:N", sort=TIER_ORDER, title="Tier"),
            x=alt.X("value:Q", title=None),
            color=alt.Color(
                "tier:N", sort=TIER_ORDER, legend=None, scale=alt.Scale(scheme="reds", reverse=True)
            ),
            tooltip=["tier:N", "measure:N", alt.Tooltip("value:Q", format=",.3f")],
        )
    )
    return alt.hconcat(
        base.transform_filter(alt.datum.measure == "Members")
        .encode(x=alt.X("value:Q", title="Members"))
        .properties(title="Members by tier", width=260),
        base.transform_filter(alt.datum.measure == "Share of predicted cost")
        .encode(x=alt.X("value:Q", title="Share of predicted cost (%)", axis=alt.Axis(format="%")))
        .properties(title="Share of predicted cost", width=260),
    )


_MODEL_PALETTE = ["#c0392b", "#7f8c8d", "#5dade2", "#f39c12"]


def _model_color(labels: dict[str, str], present) -> alt.Color:
    """The same color for a model on every chart (by its place in ``labels``); the legend lists
    only the models shown."""
    shown = set(present)
    names = [n for n in labels.values() if n in shown]
    colors = dict(zip(labels.values(), _MODEL_PALETTE, strict=False))
    scale = alt.Scale(domain=names, range=[colors[n] for n in names])
    return alt.Color(
        "model:N",
        title="Model",
        scale=scale,
        legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=0),
    )


def calibration_chart(deciles: pl.DataFrame, title: str, labels: dict[str, str]) -> alt.Chart:
    """Predicted vs actual by decile of prediction, one line per model (named by ``labels``),
    with the identity line and, where the deciles carry ``ratio_low`` / ``ratio_high`` (cost),
    each decile's 95% sampling interval of the actual mean."""
    data = deciles.with_columns(
        (pl.col("predicted") / pl.col("people")).alias("mean_predicted"),
        (pl.col("actual") / pl.col("people")).alias("mean_actual"),
        pl.col("model").replace(labels),
    ).to_pandas()
    top = float(max(data["mean_predicted"].max(), data["mean_actual"].max()))
    identity = (
        alt.Chart(pl.DataFrame({"x": [0.0, top], "y": [0.0, top]}).to_pandas())
        .mark_line(strokeDash=[4, 4], color="gray")
        .encode(x="x:Q", y="y:Q")
    )
    points = (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X("mean_predicted:Q", title="Mean predicted"),
            y=alt.Y("mean_actual:Q", title="Mean actual"),
            color=_model_color(labels, data["model"]),
            tooltip=[
                "model:N",
                "decile:Q",
                alt.Tooltip("mean_predicted:Q", format=",.3f"),
                alt.Tooltip("mean_actual:Q", format=",.3f"),
                alt.Tooltip("ratio:Q", format=".3f"),
            ],
        )
    )
    layers = identity + points
    if "ratio_low" in data.columns:  # cost deciles: the 95% sampling interval of the actual mean
        bars = data.dropna(subset=["ratio_low"]).assign(
            actual_low=lambda f: f["mean_predicted"] / f["ratio_high"],
            actual_high=lambda f: f["mean_predicted"] / f["ratio_low"],
        )
        layers += (
            alt.Chart(bars)
            .mark_rule(opacity=0.6)
            .encode(
                x="mean_predicted:Q",
                y="actual_low:Q",
                y2="actual_high:Q",
                color=_model_color(labels, data["model"]),
            )
        )
    return layers.properties(title=title)


def capture_chart(summary: pl.DataFrame, labels: dict[str, str]) -> alt.Chart:
    """Share of next-year cost captured by the top 1/5/10% of each model's ranking (models named
    by ``labels``)."""
    data = (
        summary.filter(
            (pl.col("target") == "cost") & pl.col("metric").str.starts_with("share_of_cost_top_")
        )
        .with_columns(
            pl.col("metric").str.extract(r"top_(\d+)pct").alias("top"),
            pl.col("model").replace(labels),
        )
        .with_columns(("top " + pl.col("top") + "%").alias("flagged"))
        .to_pandas()
    )
    return (
        alt.Chart(data, title="Share of next-year cost in the people each model ranks highest")
        .mark_bar()
        .encode(
            x=alt.X(
                "flagged:N",
                title=None,
                sort=["top 1%", "top 5%", "top 10%"],
                axis=alt.Axis(labelAngle=0),
            ),
            xOffset=alt.XOffset("model:N", sort=list(labels.values())),
            y=alt.Y("value:Q", title="Share of cost", axis=alt.Axis(format="%")),
            color=_model_color(labels, data["model"]),
            tooltip=["model:N", "flagged:N", alt.Tooltip("value:Q", format=".1%")],
        )
    )


def monthly_history_chart(history: pl.DataFrame, title: str) -> alt.Chart:
    data = history.unpivot(index="month", variable_name="kind", value_name="paid").to_pandas()
    return (
        alt.Chart(data, title=title)
        .mark_bar()
        .encode(
            x=alt.X("yearmonth(month):T", title=None),
            y=alt.Y("paid:Q", title="Paid ($)", axis=alt.Axis(format="$,.0f")),
            color=alt.Color("kind:N", title=None),
            tooltip=[
                alt.Tooltip("yearmonth(month):T", title="month"),
                "kind:N",
                alt.Tooltip("paid:Q", format="$,.0f"),
            ],
        )
    )


def settlement_distribution_chart(
    hist: pl.DataFrame, marks: dict[str, float], title: str
) -> alt.Chart:
    """Histogram of simulated settlements with vertical rules at the marks (e.g. zero, the
    deterministic projection, the payment limit, the loss cap)."""
    data = hist.with_columns(
        pl.when((pl.col("bin_start") + pl.col("bin_end")) / 2 >= 0)
        .then(pl.lit("paid to the provider"))
        .otherwise(pl.lit("owed by the provider"))
        .alias("direction")
    ).to_pandas()
    bars = (
        alt.Chart(data, title=title)
        .mark_bar()
        .encode(
            x=alt.X(
                "bin_start:Q", bin="binned", title="Settlement ($)", axis=alt.Axis(format="$,.3s")
            ),
            x2="bin_end:Q",
            y=alt.Y("scenarios:Q", title="Scenarios"),
            color=alt.Color(
                "direction:N",
                scale=alt.Scale(
                    domain=["paid to the provider", "owed by the provider"],
                    range=["#54a24b", "#e45756"],
                ),
                title=None,
            ),
            tooltip=[
                alt.Tooltip("bin_start:Q", format="$,.0f"),
                alt.Tooltip("bin_end:Q", format="$,.0f"),
                "scenarios:Q",
            ],
        )
    )
    rules = pl.DataFrame({"mark": list(marks), "x": [float(v) for v in marks.values()]}).to_pandas()
    lines = (
        alt.Chart(rules)
        .mark_rule(strokeDash=[4, 3], color="black")
        .encode(x="x:Q", tooltip=["mark:N", alt.Tooltip("x:Q", format="$,.0f")])
    )
    labels = (
        alt.Chart(rules)
        .mark_text(align="left", dx=3, dy=-5, angle=0, fontSize=10)
        .encode(x="x:Q", y=alt.value(10), text="mark:N")
    )
    return bars + lines + labels


def tornado_chart(bars: pl.DataFrame, base: float) -> alt.Chart:
    """Each assumption's settlement at its low and high value, around the base case."""
    data = (
        pl.concat(
            [
                bars.select(
                    "assumption",
                    pl.col("low").alias("case"),
                    pl.col("settlement_low").alias("settlement"),
                    pl.lit("low").alias("end"),
                ),
                bars.select(
                    "assumption",
                    pl.col("high").alias("case"),
                    pl.col("settlement_high").alias("settlement"),
                    pl.lit("high").alias("end"),
                ),
            ]
        )
        .with_columns(pl.lit(base).alias("base"))
        .to_pandas()
    )
    order = bars["assumption"].to_list()
    flat = bool(
        ((bars["settlement_low"] - base).abs().max() or 0) < 0.5
        and ((bars["settlement_high"] - base).abs().max() or 0) < 0.5
    )
    title: alt.TitleParams | str = "What moves the settlement (one assumption at a time)"
    if flat:
        title = alt.TitleParams(
            "What moves the settlement: no assumption moves it",
            subtitle=[
                f"Each assumption at its low and high value still settles at ${base:,.0f}:",
                "the result stays inside the minimum savings/loss rate (or losses are not shared).",
            ],
        )
    chart = (
        alt.Chart(data, title=title)
        .mark_bar()
        .encode(
            y=alt.Y("assumption:N", sort=order, title=None, axis=alt.Axis(labelLimit=300)),
            x=alt.X("settlement:Q", title="Settlement ($)", axis=alt.Axis(format="$,.3s")),
            x2="base:Q",
            color=alt.Color(
                "end:N",
                scale=alt.Scale(domain=["low", "high"], range=["#4c78a8", "#f58518"]),
                title="Assumption at",
            ),
            tooltip=["assumption:N", "case:N", alt.Tooltip("settlement:Q", format="$,.0f")],
        )
    )
    base_rule = (
        alt.Chart(pl.DataFrame({"base": [base]}).to_pandas())
        .mark_rule(color="black", strokeDash=[4, 3])
        .encode(x="base:Q")
    )
    return chart + base_rule


def frontier_chart(frontier: pl.DataFrame, options: pl.DataFrame) -> alt.Chart:
    """Efficient frontier (best expected settlement for each CVaR limit) with each option as a point."""
    line = (
        alt.Chart(frontier.to_pandas(), title="Expected settlement vs downside (CVaR 95%)")
        .mark_line(point=True, color="#4c78a8")
        .encode(
            x=alt.X(
                "cvar_95:Q",
                title="CVaR 95% (loss in the worst 5% of years, $)",
                axis=alt.Axis(format="$,.3s"),
            ),
            y=alt.Y("expected:Q", title="Expected settlement ($)", axis=alt.Axis(format="$,.3s")),
            tooltip=[
                alt.Tooltip("cvar_limit:Q", format="$,.0f"),
                alt.Tooltip("expected:Q", format="$,.0f"),
            ],
        )
    )
    points = (
        alt.Chart(options.to_pandas())
        .mark_point(size=90, filled=True, color="#e45756")
        .encode(
            x="cvar_95:Q",
            y="expected:Q",
            tooltip=[
                "option:N",
                alt.Tooltip("expected:Q", format="$,.0f"),
                alt.Tooltip("cvar_95:Q", format="$,.0f"),
            ],
        )
    )
    labels = points.mark_text(align="left", dx=7, fontSize=10).encode(text="option:N")
    return line + points + labels


def peer_distribution_chart(
    peers: pl.DataFrame, column: str, panel_value: float | None, title: str, axis_format: str
) -> alt.Chart:
    """Histogram of one metric over the published peer ACOs, with a rule at the panel's value."""
    data = peers.select(pl.col(column).alias("value")).drop_nulls().to_pandas()
    bars = (
        alt.Chart(data, title=title)
        .mark_bar(color="#9ecae9")
        .encode(
            x=alt.X(
                "value:Q", bin=alt.Bin(maxbins=30), title=None, axis=alt.Axis(format=axis_format)
            ),
            y=alt.Y("count():Q", title="Published ACOs"),
        )
    )
    if panel_value is None:
        return bars
    mark = pl.DataFrame({"mark": ["this panel"], "x": [float(panel_value)]}).to_pandas()
    rule = alt.Chart(mark).mark_rule(color="#e45756", strokeWidth=2).encode(x="x:Q")
    label = (
        alt.Chart(mark)
        .mark_text(align="left", dx=4, dy=-6, color="#e45756", fontSize=11)
        .encode(x="x:Q", y=alt.value(12), text="mark:N")
    )
    return bars + rule + label


def funnel_chart(
    providers: pl.DataFrame,
    limits: pl.DataFrame,
    title: str,
    *,
    unit: str = "provider_npi",
    unit_title: str = "Provider NPI",
) -> alt.LayerChart:
    """Funnel plot: each provider's (or each ``unit``'s, e.g. practice's) O/E against its
    expected events, with the 95% and 99.8% control limits around O/E = 1."""
    base = alt.Chart(limits.to_pandas())
    x = alt.X("expected:Q", title="Expected events (volume)", scale=alt.Scale(type="log"))
    bands = [
        base.mark_line(strokeDash=dash, color=color).encode(x=x, y=alt.Y(f"{col}:Q"))
        for col, dash, color in (
            ("low_95", [4, 3], "#888"),
            ("high_95", [4, 3], "#888"),
            ("low_998", [1, 2], "#c44"),
            ("high_998", [1, 2], "#c44"),
        )
    ]
    points = (
        alt.Chart(providers.to_pandas(), title=title)
        .mark_circle(size=45, opacity=0.75)
        .encode(
            x=x,
            y=alt.Y("observed_to_expected:Q", title="Observed / expected"),
            color=alt.Color(
                "outside:N",
                title="Outside 95% limits",
                scale=alt.Scale(range=["#4c78a8", "#e45756"]),
            ),
            tooltip=[
                alt.Tooltip(f"{unit}:N", title=unit_title),
                alt.Tooltip("events:Q", title="Events"),
                alt.Tooltip("observed:Q", title="Observed", format=",.0f"),
                alt.Tooltip("expected:Q", title="Expected", format=",.1f"),
                alt.Tooltip("observed_to_expected:Q", title="O/E", format=".2f"),
                alt.Tooltip("shrunken_oe:Q", title="Shrunken O/E", format=".2f"),
            ],
        )
    )
    one = alt.Chart(pl.DataFrame({"y": [1.0]}).to_pandas()).mark_rule(color="black").encode(y="y:Q")
    return alt.layer(*bands, one, points)


def quality_trend_chart(trend: pl.DataFrame, title: str) -> alt.Chart:
    """Lines: a measure's rate by year, with its 95% interval as a band."""
    data = trend.with_columns(pl.col("year").cast(pl.String)).to_pandas()
    line = (
        alt.Chart(data, title=title)
        .mark_line(point=True)
        .encode(
            x=alt.X("year:N", title="Year"),
            y=alt.Y("rate:Q", title="Rate"),
            color=alt.Color("measure_id:N", title="Measure"),
            tooltip=["measure_id:N", "year:N", alt.Tooltip("rate:Q", format=",.2f")],
        )
    )
    band = (
        alt.Chart(data)
        .mark_area(opacity=0.15)
        .encode(x="year:N", y="ci_low:Q", y2="ci_high:Q", color="measure_id:N")
    )
    return band + line
