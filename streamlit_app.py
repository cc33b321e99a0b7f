"""vbc-modeler app: `streamlit run streamlit_app.py`. Pages live in app/pages/; this file only
signs the user in and navigates. Each page is tagged with the right it needs (app/access.py):
a role without it neither sees the page in the menu nor can open it by URL."""

import streamlit as st

from app import access
from app.access import Right
from modeling.errors import VbcError

st.set_page_config(page_title="vbc-modeler", page_icon=":material/monitoring:", layout="wide")
pages = [
    (
        st.Page(
            "app/pages/overview.py", title="Overview", icon=":material/dashboard:", default=True
        ),
        Right.AGGREGATES,
    ),
    (
        st.Page(
            "app/pages/risk_adjustment.py",
            title="Risk adjustment",
            icon=":material/health_and_safety:",
        ),
        Right.PERSON_LEVEL,
    ),
    (
        st.Page(
            "app/pages/risk_models.py",
            title="Risk stratification",
            icon=":material/stacked_line_chart:",
            url_path="risk_stratification",
        ),
        Right.PERSON_LEVEL,
    ),
    (
        st.Page(
            "app/pages/quality_measures.py",
            title="Quality",
            icon=":material/verified:",
            url_path="quality",
        ),
        Right.AGGREGATES,
    ),
    (
        st.Page(
            "app/pages/contract_scenarios.py",
            title="Contracts",
            icon=":material/handshake:",
            url_path="contracts",
        ),
        Right.AGGREGATES,
    ),
    (st.Page("app/pages/peers.py", title="Peers", icon=":material/groups:"), Right.AGGREGATES),
    (
        st.Page("app/pages/finance.py", title="Finance", icon=":material/payments:"),
        Right.AGGREGATES,
    ),
    (
        st.Page(
            "app/pages/care_targeting.py",
            title="Targeting",
            icon=":material/checklist:",
            url_path="targeting",
        ),
        Right.PERSON_LEVEL,
    ),
    (
        st.Page(
            "app/pages/bundled_payments.py",
            title="Bundles",
            icon=":material/package_2:",
            url_path="bundles",
        ),
        Right.AGGREGATES,
    ),
    (st.Page("app/pages/data.py", title="Data", icon=":material/database:"), Right.ADMIN),
    (
        st.Page(
            "app/pages/audit_log.py",
            title="Audit log",
            icon=":material/policy:",
            url_path="audit",
        ),
        Right.ADMIN,
    ),
]
try:
    user = access.sign_in()
    access.navigation(user, pages).run()
except VbcError as exc:  # what, where and how to fix, on every page; never a traceback
    st.error(str(exc))
