"""Targeting: which members go into which care-management program under the care managers and
budget at hand, what the plan is worth against greedy lists, what one more care manager would be
worth, the worklist, and what the plan does to a contract. Everything is computed in
``risk_stratification.targeting`` and ``contracts.care_plans``; this page arranges it."""

from __future__ import annotations

import polars as pl
import streamlit as st

from app import access
from app.access import Right
from app.export import offer_download
from app.format import count, money, pct
from app.state import (
    TARGETING_CONTRACT,
    active_dataset,
    targeting_editor_rows,
    targeting_effect,
    targeting_members,
    targeting_plan,
    targeting_programs,
    workspace,
)
from contracts.care_plans import save_plan
from contracts.specs import preset_names
from modeling.errors import VbcError
from risk_stratification.ml.pipeline import load_registered
from risk_stratification.targeting import (
    Constraints,
    EquityFloor,
    preset_programs,
)
from risk_stratification.targeting.worklist import worklist

access.require(Right.PERSON_LEVEL, "the Targeting page")
st.title("Care-management targeting")
ds = active_dataset()

with workspace().store() as store:
    try:
        trained, version = load_registered(store)
    except VbcError:
        trained, version = None, None
if trained is None:
    st.info(
        "No risk model is registered in this workspace yet: train one on the Risk stratification page first "
        "(targeting reads its admission, ED and cost predictions)."
    )
    st.stop()


try:
    members = targeting_members(ds, trained, version)
except VbcError as exc:
    st.error(str(exc))
    st.stop()
year = int(members["prediction_year"][0])

presets = preset_programs()
st.subheader("Programs and capacity")
st.caption(
    "Presets from published studies (the source of every number is in risk_stratification/data/programs); "
    "change the care managers, caseloads, costs and engagement to your own."
)
editor = st.data_editor(
    targeting_editor_rows(presets),
    hide_index=True,
    width="stretch",
    disabled=["program"],
    key="tg_programs",
    column_config={
        "include": st.column_config.CheckboxColumn("Offer"),
        "program": st.column_config.TextColumn("Program"),
        "care_managers": st.column_config.NumberColumn("Care managers", min_value=0.0, step=1.0),
        "members_per_care_manager": st.column_config.NumberColumn(
            "Members per care manager", min_value=1.0
        ),
        "cost_per_member": st.column_config.NumberColumn(
            "Cost per member ($)", min_value=0.0, format="dollar"
        ),
        "engagement": st.column_config.NumberColumn(
            "Engagement rate", min_value=0.0, max_value=1.0, format="percent"
        ),
    },
)
rows = pl.DataFrame(editor) if not isinstance(editor, pl.DataFrame) else editor
programs = targeting_programs(presets, rows)
c1, c2, c3 = st.columns(3)
budget = c1.number_input(
    "Total budget ($, 0: none)", min_value=0.0, value=0.0, step=50_000.0, key="tg_budget"
)
dual_floor = c2.checkbox(
    "Dual-eligible members get at least their share of the slots", key="tg_dual"
)
must_text = c3.text_area(
    "Clinical must-includes (person ids, one a line)", "", key="tg_must", height=80
)
if not programs:
    st.info("Offer at least one program.")
    st.stop()
constraints = Constraints(
    budget=budget or None,
    equity_floors=(EquityFloor("dual"),) if dual_floor else (),
    must_include=tuple(x.strip() for x in must_text.splitlines() if x.strip()),
)
try:
    planned = targeting_plan(ds, version, members, programs, constraints)
except VbcError as exc:
    st.error(str(exc))
    st.stop()
plan, seconds = planned.plan, planned.seconds
s = plan.solution
sd = float(sum(v**2 for v in plan.savings_by_category["sd"].to_list()) ** 0.5)

m = st.columns(5)
m[0].metric("Expected net savings", money(s.objective))
m[1].metric(
    "Expected gross savings",
    money(plan.expected_gross_savings),
    help=f"sd {money(sd)} from the programs' effect and engagement ranges",
)
m[2].metric("Program cost", money(plan.cost))
m[3].metric("Members placed", count(plan.assignments.height))
m[4].metric("Optimality gap", pct(s.gap or 0.0, digits=3))
st.caption(
    f"HiGHS MILP over {count(s.candidates)} of {count(s.pairs)} eligible (member, program) pairs after the exact "
    f"reduction (HiGHS status {s.status}); planned in {seconds:.2f} s including the greedy lists and the re-solves below. Predictions for {year}."
)

tab_plan, tab_greedy, tab_capacity, tab_list, tab_contract = st.tabs(
    ["Plan", "Against greedy lists", "Value of capacity", "Worklist", "Effect on the contract"]
)
with tab_plan:
    st.dataframe(
        plan.capacity.drop("program"),
        hide_index=True,
        width="stretch",
        column_config={
            "label": st.column_config.TextColumn("Program"),
            "care_managers": st.column_config.NumberColumn("Care managers"),
            "slots": st.column_config.NumberColumn("Slots", format="localized"),
            "placed": st.column_config.NumberColumn("Placed", format="localized"),
            "cost": st.column_config.NumberColumn("Cost", format="dollar"),
            "expected_net_savings": st.column_config.NumberColumn(
                "Expected net savings", format="dollar"
            ),
        },
    )
    st.dataframe(
        plan.savings_by_category.filter(pl.col("expected_savings") != 0),
        hide_index=True,
        column_config={
            "service_category": st.column_config.TextColumn("Service category"),
            "expected_savings": st.column_config.NumberColumn("Expected savings", format="dollar"),
            "sd": st.column_config.NumberColumn("sd", format="dollar"),
        },
    )
    for r in plan.floors.iter_rows(named=True):
        st.caption(
            f"Equity floor {r['group']}: at least {pct(r['required_share'])} of the slots; the plan gives {pct(r['achieved_share'])}."
        )
with tab_greedy:
    st.dataframe(
        plan.comparison,
        hide_index=True,
        width="stretch",
        column_config={
            "method": st.column_config.TextColumn("Method"),
            "members": st.column_config.NumberColumn("Members", format="localized"),
            "cost": st.column_config.NumberColumn("Cost", format="dollar"),
            "expected_gross_savings": st.column_config.NumberColumn(
                "Expected gross savings", format="dollar"
            ),
            "expected_net_savings": st.column_config.NumberColumn(
                "Expected net savings", format="dollar"
            ),
            "optimizer_advantage": st.column_config.NumberColumn(
                "Optimizer's advantage", format="dollar"
            ),
        },
    )
    st.bar_chart(
        plan.comparison.select("method", "expected_net_savings"),
        x="method",
        y="expected_net_savings",
        horizontal=True,
    )
    st.caption(
        "Greedy lists fill the same slots under the same budget: top-N by predicted cost, by risk tier, "
        "and by the optimizer's own expected net savings. The most expensive members are not the most impactable."
    )
with tab_capacity:
    if plan.marginal is not None:
        st.dataframe(
            plan.marginal,
            hide_index=True,
            width="stretch",
            column_config={
                "constraint": st.column_config.TextColumn("Constraint"),
                "change": st.column_config.TextColumn("Change"),
                "objective": st.column_config.NumberColumn(
                    "Expected net savings with it", format="dollar"
                ),
                "value": st.column_config.NumberColumn("Value", format="dollar"),
            },
        )
        st.caption(
            "Each value is measured by re-solving the MILP with the change (a MILP has no exact dual prices)."
        )
with tab_list:
    up1, up2 = st.columns(2)
    last = up1.file_uploader(
        "The last plan's worklist (CSV): marks new members and tier changes",
        type="csv",
        key="tg_prev",
    )
    gap_file = up2.file_uploader(
        "Open care gaps (CSV: person_id, gap), added to the reasons", type="csv", key="tg_gaps"
    )
    try:
        rows_out = worklist(
            plan,
            members,
            previous=pl.read_csv(last, infer_schema_length=0) if last is not None else None,
            gaps=pl.read_csv(gap_file, infer_schema_length=0) if gap_file is not None else None,
        )
    except (VbcError, pl.exceptions.PolarsError) as exc:
        st.error(f"Could not read the file: {exc}")
        rows_out = worklist(plan, members)
    access.record_view("Targeting: worklist", rows_out)
    st.dataframe(
        rows_out.select(
            "priority",
            "new_since_last_plan",
            "tier_changed",
            "person_id",
            "program_label",
            "tier",
            "expected_net_savings",
            "reasons",
            "provider_npi",
            "provider_name",
        ),
        hide_index=True,
        width="stretch",
        column_config={
            "expected_net_savings": st.column_config.NumberColumn(
                "Expected net savings", format="dollar"
            ),
            "program_label": st.column_config.TextColumn("Program"),
        },
    )
    offer_download(
        "Download the worklist (CSV)",
        rows_out,
        file_name="worklist.csv",
        person_level=True,
    )
with tab_contract:
    names = [n for n in preset_names() if n.endswith(f"-{year}")]
    default = TARGETING_CONTRACT.format(year=year)
    if not names:
        st.info(f"No contract presets for {year} to show the plan's effect on.")
    else:
        name = st.selectbox(
            "Contract",
            names,
            index=names.index(default) if default in names else 0,
            key="tg_contract",
        )
        msr = st.number_input(
            "MSR/MLR CMS determined for the ACO (needed below 5,000 beneficiaries; 0: from the table)",
            min_value=0.0,
            max_value=0.2,
            value=0.0,
            step=0.005,
            format="%.3f",
            key="tg_msr",
        )
        try:
            initiatives, effect = targeting_effect(ds, planned, name, msr)
        except VbcError as exc:
            st.error(str(exc))
        else:
            st.dataframe(
                effect,
                hide_index=True,
                width="stretch",
                column_config={
                    "case": st.column_config.TextColumn("Case"),
                    "settlement": st.column_config.NumberColumn(
                        "Projected settlement", format="dollar"
                    ),
                    "expected_settlement": st.column_config.NumberColumn(
                        "Expected settlement", format="dollar"
                    ),
                    "p_shared_savings": st.column_config.NumberColumn(
                        "Chance of savings", format="percent"
                    ),
                    "p_owes_losses": st.column_config.NumberColumn(
                        "Chance of losses", format="percent"
                    ),
                    "program_cost": st.column_config.NumberColumn("Program cost", format="dollar"),
                    "net_of_program_cost": st.column_config.NumberColumn(
                        "Settlement change less program cost", format="dollar"
                    ),
                },
            )
            st.caption(
                "The plan's expected savings by service category enter the projection as initiative effects, "
                "with their sd in the Monte Carlo (2,000 simulated years, same seed). Effects: "
                + ", ".join(f"{k} {v:+.2%}" for k, v in initiatives.effects.items())
            )
    plan_name = st.text_input("Save this plan as", f"care plan {year}", key="tg_name")
    if st.button("Save plan", key="tg_save"):
        with workspace().store() as store:
            saved = save_plan(
                store,
                plan_name,
                dataset=ds.path.name,
                prediction_year=year,
                savings_by_category=plan.savings_by_category,
                program_cost=plan.cost,
                members=plan.assignments.height,
                expected_net_savings=s.objective,
                gap=s.gap,
                programs=[
                    {"name": p.name, "slots": p.slots, "cost_per_member": p.cost_per_member}
                    for p in plan.programs
                ],
                constraints={
                    "budget": constraints.budget,
                    "dual_floor": dual_floor,
                    "must_include": len(constraints.must_include),
                },
            )
        st.success(f"Saved '{saved.name}': apply it on the Contracts page under Assumptions.")
