"""Workspace and dataset shared by the pages, with cached, progress-reporting loads."""

from __future__ import annotations

import streamlit as st

from modeling.dataset import Dataset
from modeling.metrics import overview
from modeling.workspace import DEFAULT_DATASET, DEFAULT_PANEL, Workspace


def workspace() -> Workspace:
    return Workspace.default()


def active_dataset() -> Dataset:
    """The dataset chosen in the sidebar; on first launch, the default synthetic panel is generated."""
    ws = workspace()
    names = ws.dataset_names()
    if DEFAULT_DATASET not in names:
        with st.status(f"First launch: generating the default synthetic panel ({DEFAULT_PANEL.members:,} members, {DEFAULT_PANEL.years} years)...", expanded=True) as status:
            bar = st.progress(0.0, text="simulating members")
            ws.ensure_default_dataset(DEFAULT_PANEL, progress=lambda done, total: bar.progress(done / total, text=f"chunk {done} of {total}"))
            status.update(label="Default panel ready", state="complete", expanded=False)
        names = ws.dataset_names()
    current = st.session_state.get("dataset", DEFAULT_DATASET)
    choice = st.sidebar.selectbox("Dataset", names, index=names.index(current) if current in names else 0)
    st.session_state["dataset"] = choice
    return ws.dataset(choice)


@st.cache_data(show_spinner="Computing population metrics...", max_entries=8)
def cached_overview(path: str, content_hash: str) -> dict:
    return overview(Dataset(path))


def dataset_overview(ds: Dataset) -> dict:
    return cached_overview(str(ds.path), ds.manifest["content_hash"])


@st.cache_data(show_spinner="Scoring CMS-HCC risk...", max_entries=16)
def _mean_risk(path: str, content_hash: str, payment_year: int) -> float | None:
    from risk_stratification.hcc import payment_year_parameters
    from risk_stratification.panel import score_panel

    if payment_year not in set(payment_year_parameters()["payment_year"].to_list()):
        return None
    return float(score_panel(Dataset(path), payment_year).scores["payment_score"].mean())


def mean_risk_score(ds: Dataset, payment_year: int) -> float | None:
    return _mean_risk(str(ds.path), ds.manifest["content_hash"], payment_year)
