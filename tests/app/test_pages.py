from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app.charts import pmpm_by_category_chart, quality_chart, utilization_chart
from modeling.marts.pmpm import overview
from modeling.synth import SynthSpec
from modeling.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def workspace(tmp_path, monkeypatch, small_dataset):
    target = tmp_path / "ws" / "datasets" / "default"
    shutil.copytree(small_dataset.path, target)
    monkeypatch.setenv("VBC_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.chdir(ROOT)
    return Workspace(tmp_path / "ws")


def run_page(page: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app" / "pages" / page), default_timeout=120)
    return at.run()


def test_overview_page_renders_the_panel(workspace):
    at = run_page("overview.py")
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert "Members" in labels and "Medical PMPM (Parts A+B)" in labels
    latest = overview(workspace.dataset()).summary.row(-1, named=True)
    assert at.metric[0].value == f"{latest['members']:,}"
    assert at.metric[2].value == f"${latest['pmpm_medical']:,.0f}"


def test_overview_year_slider_changes_the_figures(workspace):
    at = run_page("overview.py")
    before = at.metric[1].value
    at.select_slider[0].set_value(2023).run()
    assert not at.exception
    assert at.metric[1].value != before


def test_data_page_renders_and_validates(workspace):
    at = run_page("data.py")
    assert not at.exception
    assert any("Dataset: default" in s.value for s in at.subheader)
    at.button[0].click().run()  # "Run validation now"
    assert not at.exception
    assert any("reconcile" in s.value for s in at.success)


def test_streamlit_entry_navigates(workspace):
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120).run()
    assert not at.exception
    assert at.title[0].value == "Population overview"


def test_first_launch_generates_the_default_panel(tmp_path, monkeypatch):
    import app.state

    monkeypatch.setattr(app.state, "DEFAULT_PANEL", SynthSpec(300, 2023, 2, 1))
    monkeypatch.setenv("VBC_WORKSPACE", str(tmp_path / "fresh"))
    monkeypatch.chdir(ROOT)
    assert Workspace(tmp_path / "fresh").dataset_names() == []
    at = run_page("overview.py")
    assert not at.exception
    assert Workspace(tmp_path / "fresh").dataset_names() == ["default"]
    assert at.metric[0].label == "Members"
    with Workspace(tmp_path / "fresh").store() as s:
        assert s.audit_log()[0].action == "generate_default_dataset"


def test_chart_specs(small_dataset):
    data = overview(small_dataset)
    spec = pmpm_by_category_chart(data.pmpm).to_dict()
    assert spec["mark"]["type"] == "bar" and spec["encoding"]["y"]["field"] == "pmpm"
    spec = utilization_chart(data.summary).to_dict()
    assert spec["encoding"]["color"]["field"] == "measure"
    report = {
        "tables": {
            "medical_claim": {
                "checks": {
                    "malformed_icd10": {"rows_failed": 3},
                    "duplicate_key": {"rows_failed": 0},
                }
            }
        }
    }
    spec = quality_chart(report).to_dict()
    assert spec["mark"]["type"] == "bar"


def test_risk_adjustment_page_explains_a_member_and_lists_gaps(workspace):
    at = run_page("risk_adjustment.py")
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert "Mean payment score" in labels and "Recapture gaps" in labels
    markdown = " ".join(m.value for m in at.markdown)
    assert "score, line by line" in markdown and "From raw to payment score" in markdown
    at.selectbox[1].select_index(5).run()  # another member in the drill-down
    assert not at.exception
    at.radio[0].set_value("By attributed provider").run()
    assert not at.exception


def test_contracts_page_compares_three_contracts_and_saves_and_reopens_a_scenario(workspace):
    at = run_page("contract_scenarios.py")
    assert not at.exception, at.exception
    # 1,500 members: the size-based MSR table starts at 5,000, which the page says for each contract
    assert len(at.error) == 3 and all("below the 5,000" in e.value for e in at.error)
    # scale attribution to ~6,000 so the size-based MSR applies
    at.slider(key="a_attribution").set_value(4.0).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    table = at.dataframe[0].value
    assert len(table) == 3 and set(table["contract"]) == {
        "MSSP BASIC A (2025)",
        "MSSP BASIC E (2025)",
        "MSSP ENHANCED (2025)",
    }
    before = dict(zip(table["contract"], table["settlement"], strict=True))
    labels = [m.label for m in at.metric]
    assert (
        "Expected settlement" in labels and "Value at risk (95%)" in labels
    )  # the simulated distribution
    at.slider(key="m_trend").set_value(0.05).run()
    assert not at.exception
    next(b for b in at.button if b.label == "Save simulation").click().run()
    assert not at.exception and any("Saved simulation" in s.value for s in at.success)
    next(b for b in at.button if b.label.startswith("Reopen")).click().run()
    assert not at.exception and any("re-run" in i.value for i in at.info)
    markdown = " ".join(m.value for m in at.markdown)
    assert (
        "Best option within the limit" in markdown
    )  # the three contracts on the same simulated years
    at.slider(key="a_inpatient").set_value(-0.2).run()  # a savings initiative moves the settlement
    after = dict(
        zip(at.dataframe[0].value["contract"], at.dataframe[0].value["settlement"], strict=True)
    )
    assert all(after[c] >= before[c] for c in before) and any(after[c] > before[c] for c in before)
    # the simulated years now wait for their button; the saved simulations stay listed
    assert any("assumptions above changed" in i.value for i in at.info)
    assert "Saved simulations, side by side" in " ".join(m.value for m in at.markdown)
    assert at.selectbox(key="m_reopen").options
    at.text_input(key="c_scenario_name").set_value("board deck").run()
    at.button[-1].click().run()  # Save scenario
    assert not at.exception and "Saved scenario 'board deck'" in at.success[0].value
    with workspace.store() as store:
        saved = store.list_scenarios(kind="contracts")
    assert [s.name for s in saved] == ["board deck"] and saved[0].results == after
    # reopen in a fresh session: same contracts, same assumptions, same figures
    fresh = run_page("contract_scenarios.py")
    fresh.selectbox(key="c_open_choice").select_index(0).run()
    next(b for b in fresh.button if b.label == "Open scenario").click().run()
    assert not fresh.exception and not fresh.error, [e.value for e in fresh.error]
    reopened = fresh.dataframe[0].value
    assert dict(zip(reopened["contract"], reopened["settlement"], strict=True)) == after


def test_contract_chart_specs():
    import polars as pl

    from app.charts import settlement_comparison_chart, settlement_waterfall_chart
    from contracts.settlement import Performance, settle
    from contracts.specs import preset

    s = settle(preset("commercial-corridors-2026"), Performance(12000, 11000, 1000))
    spec = settlement_waterfall_chart(s.waterfall(), "x").to_dict()
    assert spec["mark"]["type"] == "bar" and spec["encoding"]["y2"]["field"] == "end"
    cmp = pl.DataFrame(
        {"contract": ["a", "b"], "settlement": [1.0, -2.0], "savings_rate": [0.01, -0.02]}
    )
    layers = settlement_comparison_chart(cmp).to_dict()["layer"]
    assert [layer["encoding"]["x"]["field"] for layer in layers] == ["settlement"] * 2
    assert layers[1]["mark"]["type"] == "text"  # every bar labelled with its amount


def test_risk_stratification_page_trains_scores_filters_and_explains(
    tmp_path, monkeypatch, three_year_dataset
):
    target = tmp_path / "ws" / "datasets" / "default"
    shutil.copytree(three_year_dataset.path, target)
    monkeypatch.setenv("VBC_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.chdir(ROOT)
    at = run_page("risk_models.py")
    assert not at.exception and "No risk model is registered" in at.info[0].value
    next(b for b in at.button if b.label.startswith("Train models")).click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    summary = at.dataframe[0].value
    assert list(summary["tier"]) == ["highest", "high", "rising", "moderate", "low"]
    assert int(summary["members"].sum()) > 2000
    at.slider(key="t_high").set_value(0.10).run()  # the tier policy moves members between tiers
    assert int(at.dataframe[0].value.set_index("tier").loc["high", "members"]) > int(
        summary.set_index("tier").loc["high", "members"]
    )
    at.text_input(key="p_driver").set_value("spent").run()
    assert not at.exception and "members match" in " ".join(c.value for c in at.caption)
    assert not at.exception
    metrics = [m.label for m in at.metric]
    assert "Admission" in metrics and any(label.startswith("Predicted cost") for label in metrics)
    markdown = " ".join(m.value for m in at.markdown)
    assert "**Why:**" in markdown and "never saw" in markdown
    # with a registered model, the simulator can draw member costs around its predictions
    contracts = run_page("contract_scenarios.py")
    contracts.slider(key="a_attribution").set_value(4.0).run()
    contracts.toggle(key="m_use_model").set_value(True).run()
    assert not contracts.exception, contracts.exception
    assert "Expected settlement" in [m.label for m in contracts.metric]


def test_data_page_reads_a_cclf_folder_and_shows_its_reconciliation(
    workspace, small_dataset, tmp_path, monkeypatch
):
    from modeling.synth.cclf_writer import write_cclf

    write_cclf(small_dataset, tmp_path / "cclf", seed=1)
    monkeypatch.setenv("VBC_SERVER_FOLDER_ROOT", str(tmp_path))  # off unless allowed
    at = run_page("data.py")
    at.text_input(key="cclf_folder").set_value(str(tmp_path / "cclf")).run()
    next(b for b in at.button if b.label == "Read CCLF").click().run()
    assert not at.exception
    assert any(s.value == "CCLF reconciliation" for s in at.subheader)
    assert any("Lines reconcile" in s.value for s in at.success)
    by_type = next(d.value for d in at.dataframe if "file_type" in d.value.columns)
    assert (
        set(by_type["file_type"]) >= {"CCLF1", "CCLF5", "CCLF7", "CCLF8"}
        and by_type["reconciles"].all()
    )
    assert (by_type["superseded"] > 0).any() and (by_type["cancelled"] > 0).any()


def test_peers_page_places_the_panel_among_published_acos(workspace):
    at = run_page("peers.py")
    assert not at.exception, at.exception
    labels = [m.label for m in at.metric]
    assert "Published peers" in labels, [e.value for e in at.error]
    assert at.metric[0].value == "35"  # PY2021 BASIC E ACOs in the shipped sample
    table = at.dataframe[0].value
    assert "Inpatient per capita" in list(table["measure"]) and len(table) == 15
    at.selectbox[1].set_value("enhanced").run()
    assert not at.exception
    assert at.metric[0].value == "34"


def test_finance_page_renders_completion_trend_forecast_budget_and_settlement(workspace):
    at = AppTest.from_file(str(ROOT / "app" / "pages" / "finance.py"), default_timeout=300)
    at.run()
    assert not at.exception, at.exception
    # the small test panel is below the MSR table's 5,000 beneficiaries: give the rate
    at.number_input[0].set_value(0.02).run()
    assert not at.exception, at.exception
    labels = [m.label for m in at.metric]
    assert "Completed PMPM, latest month" in labels
    assert "Expected settlement" in labels and "95th percentile" in labels
    headers = [h.value for h in at.subheader]
    assert any(h.startswith("Budget vs actual") for h in headers)
    assert not at.error


def test_quality_page_shows_the_board_funnel_and_worklist(workspace):
    at = run_page("quality_measures.py")
    assert not at.exception, at.exception
    labels = [m.label for m in at.metric]
    assert "30-day readmission" in labels and "ED visits /1,000" in labels
    assert "Members with an open gap" in labels
    assert len(at.tabs) == 4
    assert any("c-statistic" in c.value for c in at.caption)
    # single-user mode: the owner sees their own data, nothing suppressed; the funnel plots
    # every attributed provider, by NPI by default
    assert [r.value for r in at.radio if r.label == "Compare"] == ["Providers (NPI)"]
    providers = next(d.value for d in at.dataframe if "provider_npi" in d.value.columns)
    assert "suppressed" not in providers.columns and providers["numerator"].notna().all()
    points = funnel_points(at)
    assert len(points) == len(providers) and set(points["provider_npi"]) == set(
        providers["provider_npi"]
    )
    assert any(c.value == f"{len(providers):,} attributed providers." for c in at.caption)
    assert not any("not plotted" in c.value for c in at.caption)
    assert any(b.label == "Download the providers' comparison (CSV)" for b in at.download_button)
    # the practices: every provider pooled, observed and expected summed
    next(r for r in at.radio if r.label == "Compare").set_value("Practices (TIN)").run()
    assert not at.exception, at.exception
    practices = funnel_points(at)
    assert "provider_tin" in practices.columns
    assert practices["observed"].sum() == pytest.approx(points["observed"].sum())
    assert practices["expected"].sum() == pytest.approx(points["expected"].sum())
    assert any(c.value.startswith("Pooled by practice (TIN)") for c in at.caption)


def funnel_points(at: AppTest):
    """The points of the Quality page's funnel plot (the chart's dataset with the O/E)."""
    import json

    import pyarrow as pa

    chart = next(
        c for c in at.get("vega_lite_chart") if "Observed / expected" in json.dumps(c.proto.spec)
    )
    for d in chart.proto.datasets:
        table = pa.ipc.open_stream(d.data.data).read_all()
        if "observed_to_expected" in table.column_names:
            return table.to_pandas()
    raise AssertionError("the funnel has no points")


def test_contracts_page_takes_quality_from_the_measured_panel(workspace):
    at = run_page("contract_scenarios.py")
    at.slider(key="a_attribution").set_value(4.0).run()
    at.radio(key="a_quality_source").set_value("Measured from the panel").run()
    assert not at.exception, at.exception
    assert any("measured from the panel" in c.value for c in at.caption)
    # the assumptions changed: the settlement follows at once, the simulation when asked
    assert "Expected settlement" not in [m.label for m in at.metric]
    assert any("assumptions above changed" in i.value for i in at.info)
    at.button(key="m_compute").click().run()
    assert not at.exception, at.exception
    assert "Expected settlement" in [m.label for m in at.metric]


def test_contracts_sections_below_the_settlement_wait_for_their_button_after_a_move(workspace):
    """Moving an assumption re-settles at once; the simulation and the risk-level choice are
    computed on request (or as the assumptions move, with the toggle), and values seen before
    come back without asking."""
    at = run_page("contract_scenarios.py")
    at.slider(key="a_attribution").set_value(4.0).run()  # first showing: computed at once
    labels = [m.label for m in at.metric]
    assert "Expected settlement" in labels and not at.info
    first = {m.label: m.value for m in at.metric}["Expected settlement"]
    at.slider(key="a_inpatient").set_value(-0.1).run()
    assert not at.exception, at.exception
    assert "Expected settlement" not in [m.label for m in at.metric]
    assert len([i for i in at.info if "assumptions above changed" in i.value]) == 2
    at.button(key="m_compute").click().run()
    moved = {m.label: m.value for m in at.metric}["Expected settlement"]
    assert moved != first  # 10% lower inpatient costs: a larger expected settlement
    at.button(key="r_compute").click().run()
    assert "Best option within the limit" in " ".join(m.value for m in at.markdown)
    at.slider(key="a_inpatient").set_value(0.0).run()  # back to values computed before
    assert {m.label: m.value for m in at.metric}["Expected settlement"] == first
    at.toggle(key="m_follow").set_value(True).run()
    at.slider(key="a_inpatient").set_value(-0.05).run()
    assert not at.info and "Expected settlement" in [m.label for m in at.metric]
