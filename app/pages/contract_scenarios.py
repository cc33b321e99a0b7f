"""Contracts: pick presets or write a spec, move assumptions, compare settlements, save scenarios.
All figures come from ``contracts.projection`` / ``contracts.settlement``; this page only arranges them."""

from __future__ import annotations

import polars as pl
import streamlit as st

from app import access
from app.charts import (
    frontier_chart,
    settlement_comparison_chart,
    settlement_distribution_chart,
    settlement_waterfall_chart,
    tornado_chart,
)
from app.export import offer_download
from app.format import loss, money
from app.reports.contracts import settlement_table, simulation_markdown
from app.state import (
    DEFAULT_ASSUMPTIONS,
    DEFAULT_CVAR_LIMIT,
    DEFAULT_SEED,
    DEFAULT_UNCERTAINTY,
    RISK_LEVEL_DRAWS,
    SIMULATION_DRAWS,
    active_dataset,
    contract_history,
    default_contract_names,
    outcomes_computed,
    risk_level,
    risk_level_computed,
    sensitivity,
    simulation,
    with_payment_scores,
    workspace,
)
from app.tables import scroll_hint
from contracts.care_plans import list_plans, load_plan, plan_initiatives, with_plan
from contracts.projection import (
    comparison,
    parse_assumptions,
    project,
    settlement_lines,
)
from contracts.scenarios import (
    compare_saved,
    export_json,
    list_comparisons,
    load_comparison,
    reopen_simulation,
    save_comparison,
    save_simulation,
)
from contracts.simulation import (
    Uncertainty,
    histogram,
)
from contracts.specs import parse_spec, preset, preset_names, spec_to_dict
from modeling.dataset import Dataset
from modeling.errors import VbcError

st.title("Contracts")
ds = active_dataset()


try:
    history = contract_history(ds)
except VbcError as exc:
    st.error(str(exc))
    st.stop()

ss = st.session_state
ss.setdefault("c_custom", [])
years = [*history.years, history.years[-1] + 1]
if ss.get("c_year") not in years:
    ss["c_year"] = years[-1]

with st.sidebar.expander("Saved scenarios", expanded=False):
    with workspace().store(read_only=True) as store:
        saved_comparisons = list_comparisons(store)
    if saved_comparisons:
        labels = {f"{s.name} ({s.created_at:%Y-%m-%d %H:%M})": s for s in saved_comparisons}
        scenario_label = st.selectbox("Scenario", list(labels), key="c_open_choice")
        if st.button("Open scenario"):
            try:
                with workspace().store(read_only=True) as store:
                    opened = load_comparison(store, labels[scenario_label].id)
            except VbcError as exc:
                st.error(str(exc))
                st.stop()
            ss["c_year"] = opened.performance_year
            ss["c_presets"] = []
            ss["c_custom"] = [spec_to_dict(c) for c in opened.contracts]
            for key, value in opened.widgets.items():
                ss[key] = value
            ss["c_opened"] = opened.name
            st.rerun()
    else:
        st.caption("No saved scenarios yet.")

top = st.columns([1, 3])
year = top[0].selectbox(
    "Performance year",
    years,
    key="c_year",
    help=f"{history.years[0]}-{history.years[-1]}: settled on actual expenditures; {years[-1]}: projected from {history.years[-1]}.",
)
available = [n for n in preset_names() if n.endswith(f"-{year}")]
default = default_contract_names(year, available)
if "c_presets" not in ss or any(n not in available for n in ss["c_presets"]):
    ss["c_presets"] = default
chosen_presets = top[1].multiselect(
    "Contracts to compare",
    available,
    key="c_presets",
    help="Presets for the year (vbc contracts list). Add your own below.",
)
if ss.get("c_opened"):
    st.caption(f"Opened scenario **{ss['c_opened']}**.")

with st.expander("Write your own contract (TOML)"):
    example = (
        f'family = "risk_corridors"\nname = "My payer, two-sided"\nperformance_year = {year}\nloss_cap_pct_target = 0.04\n'
        "corridors = [\n  { from = 0.0, to = 0.01, provider_share = 0.0 },\n  { from = 0.01, provider_share = 0.4 },\n]\n"
    )
    text = st.text_area("Spec", example, height=200, key="c_spec_text")
    if st.button("Add contract"):
        import tomllib

        try:
            spec = parse_spec(tomllib.loads(text), where="your spec")
            ss["c_custom"] = [*ss["c_custom"], spec_to_dict(spec)]
        except tomllib.TOMLDecodeError as exc:
            st.error(f"Not valid TOML: {exc}")
        except VbcError as exc:
            st.error(str(exc))
    if ss["c_custom"]:
        st.caption("Added: " + ", ".join(c["name"] for c in ss["c_custom"]))
        if st.button("Remove added contracts"):
            ss["c_custom"] = []
            st.rerun()


@st.cache_data(show_spinner="Measuring the panel's outcome measures...", max_entries=4)
def measured_quality_for(path: str, content_hash: str, year: int, measured_year: int, score: float):
    from contracts.quality import measured_quality

    try:
        return measured_quality(
            Dataset(path), year, quality_score=score, measurement_year=measured_year, draws=200
        )
    except VbcError as exc:
        st.error(str(exc))
        st.stop()


def quality_caption(m) -> str:
    pct = ", ".join(f"#{k} P{v:.0f}" for k, v in m.outcome_percentiles.items())
    return (
        f"Quality inputs measured from the panel ({m.standard.performance_year} standard: score "
        f"{m.standard.qps_score:g}; {pct}; the alternative standard holds in "
        f"{m.p_alternative_standard:.0%} of bootstrap draws). The quality score itself is entered: "
        "claims carry no eCQMs or CAHPS."
    )


st.subheader("Assumptions")
a1, a2, a3, a4 = st.columns(4)
own_trend = a1.toggle("Use the panel's own cost trend", value=True, key="a_own_trend")
trend = a1.slider(
    "Annual cost trend", -0.05, 0.12, 0.045, 0.005, format="%.3f", key="a_trend", disabled=own_trend
)
quality = a1.slider(
    "Quality score", 0.0, 1.0, DEFAULT_ASSUMPTIONS["quality_score"], 0.01, key="a_quality"
)
quality_source = a1.radio(
    "Quality inputs",
    ["Entered", "Measured from the panel"],
    key="a_quality_source",
    help="Measured: the MSSP standards from the panel's #479/#484 estimates and the entered score.",
)
measured = None
if quality_source == "Entered":
    meets = a1.checkbox(
        "Meets the quality performance standard",
        value=True,
        key="a_meets",
        help="The contract's quality performance standard is met (e.g. MSSP's, 42 CFR 425.512).",
    )
    meets_alternative = False
else:
    measured = measured_quality_for(
        str(ds.path), ds.manifest["content_hash"], int(year), history.years[-1], quality
    )
    meets, meets_alternative = (
        measured.meets_quality_standard,
        measured.meets_alternative_quality_standard,
    )
    a1.caption(quality_caption(measured))
inpatient = a2.slider(
    "Inpatient cost change", -0.25, 0.10, 0.0, 0.01, format="%.2f", key="a_inpatient"
)
snf = a2.slider("Skilled nursing cost change", -0.25, 0.10, 0.0, 0.01, format="%.2f", key="a_snf")
ed = a2.slider(
    "Emergency department cost change", -0.25, 0.10, 0.0, 0.01, format="%.2f", key="a_ed"
)
outpatient = a3.slider(
    "Outpatient hospital cost change", -0.25, 0.10, 0.0, 0.01, format="%.2f", key="a_outpatient"
)
office = a3.slider(
    "Office/professional cost change", -0.25, 0.10, 0.0, 0.01, format="%.2f", key="a_office"
)
coding = a3.slider(
    "Risk-score change from coding", 0.0, 0.08, 0.0, 0.005, format="%.3f", key="a_coding"
)
attribution = a4.slider(
    "Attribution (x last year's members)",
    0.25,
    4.0,
    1.0,
    0.05,
    key="a_attribution",
    help="MSSP's size-based minimum savings rate needs at least 5,000 assigned beneficiaries.",
)
revenue_share = a4.slider(
    "Participants' FFS revenue / expenditures",
    0.05,
    1.0,
    DEFAULT_ASSUMPTIONS["participant_revenue_share"],
    0.05,
    key="a_revenue",
)
msr_text = a4.text_input("MSR/MLR determined by CMS (optional, e.g. 0.035)", "", key="a_msr")

try:
    assumptions = parse_assumptions(
        {
            "cost_trend": None if own_trend else trend,
            "initiatives": {
                k: v
                for k, v in {
                    "acute inpatient": inpatient,
                    "skilled nursing facility": snf,
                    "emergency department": ed,
                    "outpatient hospital": outpatient,
                    "office/professional": office,
                }.items()
                if v
            },
            "coding_risk_change": coding,
            "attribution_scale": attribution,
            "quality_score": quality,
            "meets_quality_standard": meets,
            "meets_alternative_quality_standard": meets_alternative,
            "participant_revenue_share": revenue_share,
            "minimum_savings_rate": float(msr_text) if msr_text.strip() else None,
        }
    )
except ValueError:
    st.error(f"The MSR/MLR must be a number such as 0.035 (got '{msr_text}').")
    st.stop()
except VbcError as exc:
    st.error(str(exc))
    st.stop()

with workspace().store() as _store:  # a care-management plan saved on the Targeting page
    care_plans = {s.name: s.id for s in list_plans(_store)}
care_plan = a4.selectbox("Care-management plan", ["none", *care_plans], key="a_care_plan")
if care_plan != "none":
    with workspace().store() as _store:
        saved_plan = load_plan(_store, care_plans[care_plan])
    plan_effects = plan_initiatives(saved_plan.savings_by_category, history)
    assumptions = with_plan(assumptions, plan_effects)
    a4.caption(
        f"Plan of {saved_plan.members:,} members, cost {money(saved_plan.program_cost)} (not in the settlement): "
        + ", ".join(f"{k} {v:+.2%}" for k, v in plan_effects.effects.items())
    )

specs = [preset(n) for n in chosen_presets] + [parse_spec(c) for c in ss["c_custom"]]
if not specs:
    st.info("Choose at least one contract.")
    st.stop()


history = with_payment_scores(ds, history, specs)
projections, problems = [], []
for spec in specs:
    try:
        projections.append(project(spec, history, assumptions))
    except VbcError as exc:
        problems.append(f"**{spec.name}**: {exc}")
for p in problems:
    st.error(p)
if not projections:
    st.stop()

st.subheader("Side by side")
table = comparison(projections)
for start in range(0, len(projections), 4):  # each contract's settlement, in words a leader reads
    for column, p in zip(st.columns(4), projections[start : start + 4], strict=False):
        column.metric(
            p.spec.name,
            money(p.settlement.amount),
            help=f"{p.mode.capitalize()} settlement of performance year {p.spec.performance_year} "
            "(positive: paid to the provider; negative: owed by the provider).",
        )
st.dataframe(
    table,
    hide_index=True,
    use_container_width=True,
    column_config={
        "benchmark_per_capita": st.column_config.NumberColumn(
            "Benchmark / person-year", format="dollar"
        ),
        "expenditure_per_capita": st.column_config.NumberColumn(
            "Expenditures / person-year", format="dollar"
        ),
        "savings_rate": st.column_config.NumberColumn("Savings rate", format="percent"),
        "settlement": st.column_config.NumberColumn("Settlement", format="dollar"),
        "pays_once_costs_change_by": st.column_config.NumberColumn(
            "Pays once costs change by", format="percent"
        ),
        "costs_once_costs_change_by": st.column_config.NumberColumn(
            "Costs once costs change by", format="percent"
        ),
    },
)
scroll_hint(table, fits=7)
st.altair_chart(settlement_comparison_chart(table), use_container_width=True)
offer_download(
    "Download every settlement line (CSV)",
    settlement_lines(projections),
    file_name=f"settlements_{year}.csv",
    person_level=False,
)

st.subheader("From benchmark to settlement")
names = [p.spec.name for p in projections]
pick = st.selectbox("Contract", names, key="c_detail")
chosen = projections[names.index(pick)]
w1, w2 = st.columns([3, 2])
w1.altair_chart(
    settlement_waterfall_chart(
        chosen.settlement.waterfall(),
        f"{pick}: {chosen.mode} performance year {chosen.spec.performance_year}",
    ),
    use_container_width=True,
)
w2.dataframe(
    settlement_table(chosen.settlement).drop("key"), hide_index=True, use_container_width=True
)
be = chosen.break_even
st.markdown(
    f"**Break-even.** This contract starts to pay once costs change by **{'never' if be.starts_paying_at is None else f'{be.starts_paying_at:+.2%}'}** "
    f"against the {chosen.mode} expenditures, and starts to cost once they change by "
    f"**{'never (one-sided)' if be.starts_costing_at is None else f'{be.starts_costing_at:+.2%}'}**."
)
if chosen.benchmark is not None:
    with st.expander("Benchmark by enrollment type"):
        st.dataframe(
            # the types add up to the panel's person-years: a small type needs a complement
            access.aggregate(chosen.benchmark.by_type, people=["py_person_years"], partitions=[()]),
            hide_index=True,
            use_container_width=True,
        )
with st.expander("Method notes"):
    for note in chosen.notes:
        st.markdown(f"- {note}")

st.subheader("Distribution of outcomes")


def registered_model_version() -> int | None:
    from risk_stratification.ml.pipeline import MODEL_NAME

    with workspace().store(read_only=True) as store:
        versions = [m.version for m in store.list_models() if m.name == MODEL_NAME]
    return max(versions) if versions else None


@st.cache_resource(show_spinner="Scoring members with the registered risk model...", max_entries=2)
def model_members(path: str, content_hash: str, version: int):
    from contracts.simulation import members_from_model
    from risk_stratification.ml.pipeline import load_registered

    with workspace().store(read_only=True) as store:
        trained, _ = load_registered(store, version)
    return members_from_model(Dataset(path), trained)


def computes_now(section: str, computed: bool, assumptions, button: str) -> bool:
    """Whether a section below the settlement computes in this run. It does when its result is
    already computed (a cache read), on its first showing in the session, when only its own
    controls moved, and when "Re-simulate as the assumptions move" is on; after an assumption
    above changed it waits for its button, so that moving a slider settles the page at once."""
    shown = ss.get(f"{section}_assumptions")
    now = assumptions.model_dump_json()
    if computed or shown is None or shown == now or ss.get("m_follow"):
        ss[f"{section}_assumptions"] = now
        return True
    st.info(
        "The assumptions above changed since this section was computed: the settlement above "
        "follows them; these simulated figures are computed when asked."
    )
    # pressed: the callback records the assumptions, so the run it starts computes, unprompted
    st.button(
        button,
        key=f"{section}_compute",
        on_click=lambda: ss.__setitem__(f"{section}_assumptions", now),
    )
    return False


def saved_simulations():
    """The saved simulations side by side, to reopen or export: shown whether or not the
    section above has simulated the current assumptions."""
    with workspace().store(read_only=True) as store:
        saved_runs = compare_saved(store)
    if saved_runs.height:
        st.markdown("**Saved simulations, side by side**")
        st.dataframe(
            saved_runs.drop("id"),
            hide_index=True,
            use_container_width=True,
            column_config={
                "expected_settlement": st.column_config.NumberColumn(
                    "Expected settlement", format="dollar"
                ),
                "value_at_risk_95": st.column_config.NumberColumn("VaR 95%", format="dollar"),
                "cvar_95": st.column_config.NumberColumn("CVaR 95%", format="dollar"),
                "p_shared_savings": st.column_config.NumberColumn("P(savings)", format="percent"),
                "p_owes_losses": st.column_config.NumberColumn("P(losses)", format="percent"),
            },
        )
        pick = st.selectbox(
            "Reopen a saved simulation", saved_runs["scenario"].to_list(), key="m_reopen"
        )
        chosen_id = saved_runs.filter(pl.col("scenario") == pick)["id"][0]
        r1, r2 = st.columns(2)
        if r1.button("Reopen (re-run its inputs)"):
            with workspace().store() as store:
                rerun, payload = reopen_simulation(store, chosen_id, history)
            st.info(
                f"'{pick}' re-run: expected settlement {money(rerun.summary().expected_settlement)} with {payload['draws']:,} draws, seed {payload['seed']}."
            )
        with workspace().store(read_only=True) as store:
            offer_download(
                "Export it (JSON)",
                export_json(store, chosen_id),
                file_name="simulation_scenario.json",
                person_level=False,
                mime="application/json",
                container=r2,
            )


@st.fragment
def distribution(chosen, assumptions):
    """Simulated performance years of the chosen contract (reruns alone when its controls move)."""
    c = st.columns(5)
    draws = c[0].selectbox(
        "Scenarios", SIMULATION_DRAWS, index=len(SIMULATION_DRAWS) - 1, key="m_draws"
    )
    seed = c[1].number_input("Seed", 0, 10_000, DEFAULT_SEED, key="m_seed")
    trend_sd = c[2].slider(
        "Cost-trend uncertainty (sd)",
        0.0,
        0.08,
        DEFAULT_UNCERTAINTY[0],
        0.005,
        format="%.3f",
        key="m_trend",
    )
    attribution_sd = c[3].slider(
        "Attribution churn (sd)", 0.0, 0.2, DEFAULT_UNCERTAINTY[1], 0.01, key="m_attr"
    )
    quality_sd = c[4].slider(
        "Quality score (sd)", 0.0, 0.3, DEFAULT_UNCERTAINTY[2], 0.01, key="m_quality"
    )
    u = Uncertainty(trend_sd=trend_sd, attribution_sd=attribution_sd, quality_sd=quality_sd)
    members = None
    version = registered_model_version()
    if version is not None and st.toggle(
        "Member costs around the risk model's predictions (held-out residuals)",
        value=False,
        key="m_use_model",
        help="Otherwise each member's cost spreads like the panel's own costs within their enrollment type.",
    ):
        members = model_members(str(ds.path), ds.manifest["content_hash"], version)
    st.toggle(
        "Re-simulate as the assumptions move",
        value=False,
        key="m_follow",
        help="Off: moving an assumption above updates the settlement at once, and the simulated "
        "years, tornado, two-way grid and risk-level choice when you ask (each takes a few "
        "seconds). On: every move waits for all of them.",
    )
    uncertainty = (u.trend_sd, u.attribution_sd, u.quality_sd)
    used = version if members is not None else None
    computed = outcomes_computed(
        ds, chosen, assumptions, uncertainty, draws=int(draws), seed=int(seed), model_version=used
    )
    if not computes_now("m", computed, assumptions, "Simulate these assumptions"):
        saved_simulations()
        return
    result = simulation(
        ds,
        chosen,
        history,
        assumptions,
        uncertainty,
        draws=int(draws),
        seed=int(seed),
        members=members,
        model_version=used,
    )
    s = result.summary()
    if measured is not None and not measured.meets_quality_standard:
        from contracts.quality import simulate_with_quality

        mix = simulate_with_quality(
            chosen.spec,
            history,
            assumptions,
            u,
            measured,
            draws=int(draws),
            seed=int(seed),
            projection=None,
            members=members,
        )
        st.caption(
            f"Measured quality: the alternative standard holds in {mix.p_alternative:.0%} of the "
            f"outcome measures' bootstrap draws; expected settlement over that uncertainty "
            f"{money(mix.expected_settlement)} (met: {money(float(mix.with_alternative.amounts.mean()))}, "
            f"not met: {money(float(mix.without_alternative.amounts.mean()))})."
        )
    m = st.columns(5)
    m[0].metric(
        "Expected settlement",
        money(s.expected_settlement),
        help=f"standard error {money(s.standard_error)} over {draws:,} scenarios",
    )
    m[1].metric("Chance of shared savings", f"{s.p_shared_savings:.0%}")
    m[2].metric("Chance of owing losses", f"{s.p_owes_losses:.0%}")
    m[3].metric(
        "Value at risk (95%)",
        loss(s.value_at_risk_95, short=True),
        help=f"The loss exceeded in 1 year out of 20: {loss(s.value_at_risk_95)}.",
    )
    m[4].metric(
        "CVaR (95%)",
        loss(s.cvar_95, short=True),
        help=f"The average loss in the worst 1 year out of 20: {loss(s.cvar_95)}.",
    )
    deterministic = s.deterministic_settlement
    marks = {"zero": 0.0} if deterministic == 0 else {"zero": 0.0, "deterministic": deterministic}
    low, high = float(result.amounts.min()), float(result.amounts.max())
    margin = 0.1 * max(high - low, 1.0)
    limit, cap = (
        chosen.settlement.figures.performance_payment_limit,
        chosen.settlement.figures.loss_cap,
    )
    if limit is not None and limit <= high + margin:  # marked only where outcomes come near it
        marks["payment limit"] = limit
    if cap is not None and -cap >= low - margin:
        marks["loss cap"] = -cap
    a, b = st.columns(2)
    a.altair_chart(
        settlement_distribution_chart(
            histogram(result), marks, f"{chosen.spec.name}: {draws:,} simulated years"
        ),
        use_container_width=True,
    )
    swings = sensitivity(ds, chosen.spec, history, assumptions, "tornado")
    b.altair_chart(tornado_chart(swings.bars, swings.base), use_container_width=True)
    with st.expander("Two-way: cost trend x inpatient initiative (deterministic settlement)"):
        grid = sensitivity(ds, chosen.spec, history, assumptions, "two_way")
        wide = grid.with_columns(
            pl.format("{}%", (pl.col("inpatient_effect") * 100).round(0).cast(pl.Int64)).alias(
                "inpatient"
            )
        ).pivot(on="inpatient", index="cost_trend", values="settlement")
        st.dataframe(
            wide,
            hide_index=True,
            use_container_width=True,
            column_config={
                c: st.column_config.NumberColumn(c, format="dollar")
                for c in wide.columns
                if c != "cost_trend"
            }
            | {"cost_trend": st.column_config.NumberColumn("Cost trend", format="percent")},
        )
    st.caption(
        f"Chance of hitting the payment limit {s.p_hits_payment_limit:.1%}, the loss cap {s.p_hits_loss_cap:.1%}; "
        f"90% of outcomes between {money(s.p05)} and {money(s.p95)}. Break-even: a year starts to pay once its costs change by "
        f"{s.break_even_median:+.2%} (median; 10th-90th percentile {s.break_even_p10:+.2%} to {s.break_even_p90:+.2%})."
    )
    offer_download(
        "Download the one-page summary (Markdown)",
        simulation_markdown(result, swings.bars),
        file_name="simulation_summary.md",
        person_level=False,
        mime="text/markdown",
    )
    n1, n2 = st.columns([3, 1])
    sim_name = n1.text_input(
        "Name this simulation", f"{chosen.spec.name}, seed {seed}", key="m_name"
    )
    if n2.button("Save simulation", use_container_width=True):
        with workspace().store() as store:
            save_simulation(
                store,
                sim_name,
                dataset=str(ds.path),
                spec=chosen.spec,
                assumptions=assumptions,
                uncertainty=u,
                result=result,
            )
        st.success(f"Saved simulation '{sim_name}'.")
    saved_simulations()


@st.fragment
def risk_levels(projections, assumptions):
    """The contracts chosen above, on the same simulated years: the best one and mix within a CVaR limit."""
    if len(projections) < 2:
        st.caption("Choose two or more contracts above to compare risk levels.")
        return
    c = st.columns(3)
    limit = c[0].number_input(
        "Largest acceptable CVaR 95% ($)", 0.0, 1e9, DEFAULT_CVAR_LIMIT, 250_000.0, key="r_limit"
    )
    draws = c[1].selectbox("Scenarios per option", RISK_LEVEL_DRAWS, index=1, key="r_draws")
    seed = c[2].number_input("Seed", 0, 10_000, DEFAULT_SEED, key="r_seed")
    computed = risk_level_computed(
        ds, projections, assumptions, draws=int(draws), seed=int(seed), limit=float(limit)
    )
    if not computes_now("r", computed, assumptions, "Compare risk levels for these assumptions"):
        return
    choice = risk_level(
        ds, projections, history, assumptions, draws=draws, seed=seed, limit=float(limit)
    )
    a, b = st.container(), st.container()  # the options table needs the full width
    a.dataframe(
        choice.options,
        hide_index=True,
        use_container_width=True,
        column_config={
            "expected": st.column_config.NumberColumn("Expected", format="dollar"),
            "cvar_95": st.column_config.NumberColumn("CVaR 95%", format="dollar"),
            "p_owes_losses": st.column_config.NumberColumn("P(losses)", format="percent"),
        },
    )
    a.markdown(f"**Best option within the limit:** {choice.best_single or 'none'}")
    if choice.mix is not None:
        a.markdown(
            "**Best mix** (contracts across payers sharing one downside budget): "
            + ", ".join(f"{k} {v:.0%}" for k, v in choice.mix.items() if v > 0.005)
        )
    b.altair_chart(frontier_chart(choice.frontier, choice.options), use_container_width=True)


distribution(chosen, assumptions)
st.subheader("Choice of risk level")
risk_levels(projections, assumptions)

st.subheader("Save this scenario")
s1, s2 = st.columns([3, 1])
scenario_name = s1.text_input("Scenario name", f"{year} comparison", key="c_scenario_name")
if s2.button("Save scenario", use_container_width=True):
    widgets = {
        k: ss[k]
        for k in (
            "a_own_trend",
            "a_trend",
            "a_quality",
            "a_meets",
            "a_inpatient",
            "a_snf",
            "a_ed",
            "a_outpatient",
            "a_office",
            "a_coding",
            "a_attribution",
            "a_revenue",
            "a_msr",
        )
    }
    with workspace().store() as store:
        saved_scenario = save_comparison(
            store,
            name=scenario_name,
            dataset=str(ds.path),
            performance_year=year,
            contracts=specs,
            assumptions=assumptions,
            projections=projections,
            widgets=widgets,
        )
    st.success(f"Saved scenario '{saved_scenario.name}'.")
