"""vbc-modeler app: `streamlit run streamlit_app.py`. Pages live in app/pages/; this file only navigates."""

import streamlit as st

from modeling.errors import VbcError

st.set_page_config(page_title="vbc-modeler", page_icon=":material/monitoring:", layout="wide")
pages = [
    st.Page("app/pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
    st.Page(
        "app/pages/risk_adjustment.py", title="Risk adjustment", icon=":material/health_and_safety:"
    ),
    st.Page(
        "app/pages/risk_models.py",
        title="Risk stratification",
        icon=":material/stacked_line_chart:",
        url_path="risk_stratification",
    ),
    st.Page(
        "app/pages/quality_measures.py",
        title="Quality",
        icon=":material/verified:",
        url_path="quality",
    ),
    st.Page(
        "app/pages/contract_scenarios.py",
        title="Contracts",
        icon=":material/handshake:",
        url_path="contracts",
    ),
    st.Page("app/pages/peers.py", title="Peers", icon=":material/groups:"),
    st.Page("app/pages/finance.py", title="Finance", icon=":material/payments:"),
    st.Page(
        "app/pages/care_targeting.py",
        title="Targeting",
        icon=":material/checklist:",
        url_path="targeting",
    ),
    st.Page(
        "app/pages/bundled_payments.py",
        title="Bundles",
        icon=":material/package_2:",
        url_path="bundles",
    ),
    st.Page("app/pages/data.py", title="Data", icon=":material/database:"),
]
try:
    st.navigation(pages).run()
except VbcError as exc:  # what, where and how to fix, on every page; never a traceback
    st.error(str(exc))
