"""Risk stratification: who will be costly or admitted next year, why, and how good the models
are. Everything is computed in ``risk_stratification``; this page arranges it."""

from __future__ import annotations

import polars as pl
import streamlit as st

from app import access
from app.access import Right
from app.charts import calibration_chart, capture_chart, monthly_history_chart, tier_chart
from app.export import offer_download
from app.reports.risk import evaluation_markdown
from app.state import (
    active_dataset,
    cached_gaps,
    model_importance,
    registered_model,
    risk_scores,
    workspace,
)
from app.tables import scroll_hint
from modeling.errors import VbcError
from modeling.marts.pmpm import monthly_spend
from risk_stratification.ml.models import MODEL_LABELS
from risk_stratification.ml.pipeline import (
    data_years,
    explain,
    register,
    train,
)
from risk_stratification.ml.tiers import TIERS, TierPolicy, assign_tiers, tier_summary

access.require(Right.PERSON_LEVEL, "the Risk stratification page")
st.title("Risk stratification")
ds = active_dataset()


trained, version = registered_model()
with st.sidebar.expander("Models", expanded=trained is None):
    if trained is not None:
        st.caption(
            f"Registered model version {version}: trained on {trained.card['dataset'].split('/')[-1]} "
            f"({trained.card['evaluation']['train']}, tested {trained.card['evaluation']['test']}), {trained.card['training_seconds']} s."
        )
    if st.button(
        "Train models on this dataset" if trained is None else "Retrain on this dataset",
        disabled=not access.current_user().may(Right.ADMIN),
        help=None if access.current_user().may(Right.ADMIN) else "Models are managed by the admin.",
    ):
        access.require(Right.ADMIN, "training and registering models")
        try:
            with st.status("Training the risk models...", expanded=True) as status:
                new = train(ds, progress=lambda msg: status.write(msg))
                with workspace().store() as store:
                    register(new, store)
                status.update(label="Models trained and registered", state="complete")
            st.rerun()
        except VbcError as exc:
            st.error(str(exc))
if trained is None:
    st.info(
        "No risk model is registered in this workspace yet. Train one from the sidebar (about half a minute on the default panel)."
    )
    st.stop()


try:
    scored = risk_scores(ds, trained, version)
except VbcError as exc:
    st.error(str(exc))
    st.stop()
year = int(scored["prediction_year"][0])

tab_tiers, tab_list, tab_patient, tab_model = st.tabs(
    ["Tiers", "Patients", "Patient", "Model performance"]
)
with tab_tiers:
    c = st.columns(4)
    highest = c[0].slider(
        "Highest tier (top share)", 0.0, 0.05, 0.01, 0.005, format="%.3f", key="t_highest"
    )
    high = c[1].slider("High tier (next share)", 0.0, 0.15, 0.04, 0.01, format="%.2f", key="t_high")
    rising = c[2].slider(
        "Rising: predicted / current cost at least", 1.1, 4.0, 1.5, 0.1, key="t_rising"
    )
    moderate = c[3].slider(
        "Moderate tier (next share)", 0.0, 0.5, 0.2, 0.05, format="%.2f", key="t_moderate"
    )
    try:
        scored = assign_tiers(
            scored.drop("tier"),
            TierPolicy(
                highest_share=highest, high_share=high, rising_ratio=rising, moderate_share=moderate
            ),
        )
    except VbcError as exc:
        st.error(str(exc))
        st.stop()
    summary = tier_summary(scored)
    st.markdown(f"**{scored.height:,} members** scored for **{year}**, from {year - 1} claims.")
    st.dataframe(
        summary,
        hide_index=True,
        use_container_width=True,
        column_config={
            "tier": st.column_config.TextColumn("Tier"),
            "members": st.column_config.NumberColumn("Members", format="localized"),
            "mean_predicted_cost": st.column_config.NumberColumn(
                "Mean predicted cost", format="dollar"
            ),
            "mean_cost_last_year": st.column_config.NumberColumn(
                "Mean cost last year", format="dollar"
            ),
            "admission_probability": st.column_config.NumberColumn(
                "Admission probability", format="percent"
            ),
            "share_of_predicted_cost": st.column_config.NumberColumn(
                "Share of predicted cost", format="percent"
            ),
            "share_of_members": st.column_config.NumberColumn("Share of members", format="percent"),
        },
    )
    st.altair_chart(tier_chart(summary), use_container_width=False)

with tab_list:
    f = st.columns(4)
    tiers = f[0].multiselect(
        "Tier", list(TIERS), default=["highest", "high", "rising"], key="p_tiers"
    )
    driver = f[1].text_input(
        "Driver contains", "", key="p_driver", help="e.g. inpatient, HCC 226, prescriptions"
    )
    conditions = sorted(
        {c for cs in scored["conditions"].drop_nulls().to_list() for c in cs.split(", ") if c}
    )
    condition = f[2].selectbox("Chronic condition", ["any", *conditions], key="p_condition")
    providers = sorted(scored["provider_name"].drop_nulls().unique().to_list())
    provider = f[3].selectbox("Attributed provider", ["any", *providers], key="p_provider")
    view = scored.filter(pl.col("tier").is_in(tiers))
    if driver.strip():
        text = driver.strip().lower()
        view = view.filter(
            pl.any_horizontal(
                pl.col(f"driver_{k}")
                .str.to_lowercase()
                .str.contains(text, literal=True)
                .fill_null(False)
                for k in (1, 2, 3)
            )
        )
    if condition != "any":
        view = view.filter(
            pl.col("conditions").str.contains(condition, literal=True).fill_null(False)
        )
    if provider != "any":
        view = view.filter(pl.col("provider_name") == provider)
    shown = view.select(
        "person_id",
        "tier",
        "pred_cost",
        "pred_admission",
        "pred_ed_visit",
        "cost_total",
        "driver_1",
        "driver_2",
        "driver_3",
        "hccs",
        "conditions",
        "provider_name",
    )
    st.caption(f"{view.height:,} members match.")
    access.record_view("Risk stratification: patient list", shown.head(1000))
    st.dataframe(
        shown.head(1000),
        hide_index=True,
        use_container_width=True,
        column_config={
            "pred_cost": st.column_config.NumberColumn("Predicted cost", format="dollar"),
            "pred_admission": st.column_config.NumberColumn("Admission", format="percent"),
            "pred_ed_visit": st.column_config.NumberColumn("ED visit", format="percent"),
            "cost_total": st.column_config.NumberColumn("Cost last year", format="dollar"),
        },
    )
    scroll_hint(shown)
    offer_download(
        "Download the list (CSV)",
        shown,
        file_name=f"risk_list_{year}.csv",
        person_level=True,
    )

with tab_patient:
    options = (view if view.height else scored)["person_id"].to_list()
    person = st.selectbox("Member (from the filtered list)", options, key="p_person")
    row = scored.filter(pl.col("person_id") == person).row(0, named=True)
    access.record_view(f"Risk stratification: patient {person}", 1)
    m = st.columns(5)
    m[0].metric("Tier", row["tier"])
    change = row["pred_cost"] - row["cost_total"]
    m[1].metric(
        f"Predicted cost {year}",
        f"${row['pred_cost']:,.0f}",
        delta=f"{'-' if change < 0 else '+'}${abs(change):,.0f} vs last year",
        delta_color="inverse",
    )
    m[2].metric("Admission", f"{row['pred_admission']:.0%}")
    m[3].metric("ED visit", f"{row['pred_ed_visit']:.0%}")
    m[4].metric("Top 5% cost", f"{row['pred_top5']:.0%}")
    reasons = [d for d in (row["driver_1"], row["driver_2"], row["driver_3"]) if d]
    if (
        not reasons
    ):  # drivers are precomputed for the actionable tiers; explain anyone else on demand
        reasons = explain(ds, trained, person, feature_year=year - 1, drivers=3)["driver"].to_list()
    st.markdown(
        "**Why:** "
        + ("; ".join(reasons) or "nothing pushes this member's cost above the panel's average")
    )
    st.markdown(
        f"**HCCs:** {row['hccs'] or 'none'}  \n**Chronic conditions:** {row['conditions'] or 'none'}  \n**Attributed provider:** {row['provider_name'] or 'none'}"
    )
    history = monthly_spend(ds, person, last_year=year - 1)
    st.altair_chart(
        monthly_history_chart(history, "Paid by month, last 24 months"), use_container_width=True
    )
    try:
        gaps = cached_gaps(str(ds.path), ds.manifest["content_hash"], year, 12_000.0).gaps.filter(
            pl.col("person_id") == person
        )
        st.markdown("**Recapture gaps** (priced at $12,000 per point of payment score)")
        if gaps.is_empty():
            st.caption("None: every chronic HCC from two years ago was documented again last year.")
        else:
            st.dataframe(
                gaps.drop("person_id"),
                hide_index=True,
                use_container_width=True,
                column_config={
                    "hcc": st.column_config.NumberColumn("HCC", format="%d"),
                    "label": "Condition",
                    "annual_value": st.column_config.NumberColumn("Annual value", format="dollar"),
                    "marginal_payment_score": st.column_config.NumberColumn(
                        "Payment score it adds", format="%.3f"
                    ),
                    "prior_year_codes": "Codes documented before",
                    "current_payment_score": st.column_config.NumberColumn(
                        "Payment score now", format="%.3f"
                    ),
                    "payment_score_with_gap": st.column_config.NumberColumn(
                        "Payment score if recaptured", format="%.3f"
                    ),
                },
            )
    except VbcError as exc:
        st.caption(f"Recapture gaps unavailable: {exc}")

with tab_model:
    e = trained.evaluation
    st.markdown(
        f"Trained on features {e.train_year} -> outcomes {e.train_year + 1}; every figure below is on a later year the models never saw "
        f"(features {e.test_year} -> outcomes {e.test_year + 1}), beside the CMS-HCC V28 score scaled to cost and prior-year cost."
    )
    wide = e.summary.pivot(on="model", index=["target", "metric"], values="value")
    st.dataframe(
        wide,
        hide_index=True,
        use_container_width=True,
        column_config={
            "target": "Target",
            "metric": "Metric",
            **{k: st.column_config.NumberColumn(v, format="%.4f") for k, v in MODEL_LABELS.items()},
        },
    )
    a, b = st.columns(2)
    a.altair_chart(
        calibration_chart(
            e.deciles.filter(pl.col("target") == "cost"),
            "Cost: mean predicted vs actual by decile",
            MODEL_LABELS,
        ),
        use_container_width=True,
    )
    b.altair_chart(
        calibration_chart(
            e.deciles.filter(pl.col("target") == "admission"),
            "Admission: predicted vs observed rate by decile",
            MODEL_LABELS,
        ),
        use_container_width=True,
    )
    st.altair_chart(capture_chart(e.summary, MODEL_LABELS), use_container_width=True)
    with st.expander("By age band, sex, dual status and HCC count"):
        st.dataframe(e.groups, hide_index=True, use_container_width=True)
        scroll_hint(e.groups)
    if e.readmission is not None:
        with st.expander("30-day readmission at discharge vs the LACE index"):
            st.dataframe(e.readmission, hide_index=True, use_container_width=True)
    with st.expander("What drives predicted cost (mean |SHAP| on a sample of the panel)"):
        st.dataframe(
            model_importance(ds, trained, version, year - 1).head(20),
            hide_index=True,
            use_container_width=True,
        )
    d1, d2 = st.columns(2)
    offer_download(
        "Download the evaluation report (Markdown)",
        evaluation_markdown(e),
        file_name="risk_model_report.md",
        person_level=False,
        mime="text/markdown",
        container=d1,
    )
    offer_download(
        "Download every metric (CSV)",
        e.summary,
        file_name="risk_model_metrics.csv",
        person_level=False,
        container=d2,
    )
    st.caption(f"Years in this dataset: {', '.join(map(str, data_years(ds)))}.")
