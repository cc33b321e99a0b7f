"""Workspace and dataset shared by the pages, with cached, progress-reporting loads."""

from __future__ import annotations

import streamlit as st

from modeling.dataset import Dataset
from modeling.errors import VbcError
from modeling.marts.pmpm import PopulationOverview, overview
from modeling.synth import generate
from modeling.synth.defaults import DEFAULT_PANEL
from modeling.workspace import DEFAULT_DATASET, Workspace


def workspace() -> Workspace:
    return Workspace.default()


def active_dataset() -> Dataset:
    """The dataset chosen in the sidebar; on first launch, the default synthetic panel is generated."""
    ws = workspace()
    names = ws.dataset_names()
    if DEFAULT_DATASET not in names:
        with st.status(
            f"First launch: generating the default synthetic panel ({DEFAULT_PANEL.members:,} members, {DEFAULT_PANEL.years} years)...",
            expanded=True,
        ) as status:
            bar = st.progress(0.0, text="simulating members")
            ws.ensure_default_dataset(
                lambda folder: generate(
                    DEFAULT_PANEL,
                    folder,
                    progress=lambda done, total: bar.progress(
                        done / total, text=f"chunk {done} of {total}"
                    ),
                )
            )
            status.update(label="Default panel ready", state="complete", expanded=False)
        names = ws.dataset_names()
    current = st.session_state.get("dataset") or ws.active_dataset_name()
    choice = st.sidebar.selectbox(
        "Dataset", names, index=names.index(current) if current in names else 0
    )
    if choice != st.session_state.get("dataset"):
        ws.set_active(choice)  # the CLI's commands use the dataset chosen here
    st.session_state["dataset"] = choice
    return ws.dataset(choice)


@st.cache_data(show_spinner="Computing population metrics...", max_entries=8)
def cached_overview(path: str, content_hash: str) -> PopulationOverview:
    return overview(Dataset(path))


def dataset_overview(ds: Dataset) -> PopulationOverview:
    return cached_overview(str(ds.path), ds.manifest["content_hash"])


@st.cache_data(show_spinner="Scoring the panel with CMS-HCC...", max_entries=6)
def _panel_scores(path: str, content_hash: str, payment_year: int):
    from risk_stratification.hcc.panel import score_panel

    return score_panel(Dataset(path), payment_year)


def panel_scores(ds: Dataset, payment_year: int):
    """CMS-HCC scores of a dataset's panel for a payment year (cached per dataset content)."""
    return _panel_scores(str(ds.path), ds.manifest["content_hash"], payment_year)


def mean_risk_score(ds: Dataset, payment_year: int) -> float | None:
    from risk_stratification.hcc.payment import payment_year_parameters

    if payment_year not in set(payment_year_parameters()["payment_year"].to_list()):
        return None
    try:
        return float(panel_scores(ds, payment_year).scores["payment_score"].mean())
    except VbcError:  # e.g. the dataset has no enrollment in the collection year
        return None


@st.cache_data(show_spinner="Finding and pricing recapture gaps...", max_entries=6)
def cached_gaps(path: str, content_hash: str, year: int, base_rate: float):
    """Recapture gaps of a dataset for a payment year (cached per dataset content and base rate)."""
    from risk_stratification.hcc.gaps import recapture_gaps

    return recapture_gaps(Dataset(path), year, annual_base_rate=base_rate)
