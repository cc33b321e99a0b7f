"""The targeting command and page on a workspace with a trained risk model: the plan, its gap
and greedy comparison, the worklist CSV, a saved plan applied on the Contracts page."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from app.cli import app
from modeling.workspace import Workspace
from risk_stratification.targeting.worklist import WORKLIST_COLUMNS

ROOT = Path(__file__).resolve().parents[1].parent
runner = CliRunner(env={"COLUMNS": "200"})


@pytest.fixture(scope="module")
def trained_workspace(tmp_path_factory, three_year_dataset):
    """A workspace whose default dataset is the three-year panel, with the risk models registered."""
    from risk_stratification.ml.pipeline import register, train

    root = tmp_path_factory.mktemp("targeting") / "ws"
    shutil.copytree(three_year_dataset.path, root / "datasets" / "default")
    ws = Workspace(root)
    trained = train(ws.dataset("default"))
    with ws.store() as store:
        register(trained, store)
    return ws


@pytest.fixture
def in_workspace(trained_workspace, monkeypatch):
    monkeypatch.setenv("VBC_WORKSPACE", str(trained_workspace.path))
    monkeypatch.chdir(ROOT)
    return trained_workspace


def test_vbc_target_and_the_targeting_page(in_workspace, tmp_path, monkeypatch):
    from app.cli._common import console

    monkeypatch.setattr(console, "width", 200)  # rich sized itself when first imported
    out = tmp_path / "worklist.csv"
    msr = tmp_path / "assumptions.toml"
    msr.write_text("minimum_savings_rate = 0.03\n")  # 2,500 members: below the MSR table
    result = runner.invoke(
        app,
        [
            "target",
            "default",
            "--out",
            str(out),
            "--budget",
            "200000",
            "--dual-floor",
            "--save",
            "monday",
            "--assumptions",
            str(msr),
        ],
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "plan value: expected net savings" in text and "optimality gap" in text
    assert "greedy top-N by predicted cost" in text and "one more care manager" in text
    assert "Effect on MSSP ENHANCED" in text and "Running HiGHS" not in text
    rows = pl.read_csv(out, schema_overrides={"person_id": pl.String})
    assert rows.columns[: len(WORKLIST_COLUMNS)] == list(WORKLIST_COLUMNS)
    assert rows["person_id"].n_unique() == rows.height and rows["priority"].to_list() == list(
        range(1, rows.height + 1)
    )
    assert rows["cost"].sum() <= 200_000
    from contracts.care_plans import list_plans

    with in_workspace.store() as store:
        assert [s.name for s in list_plans(store)] == ["monday"]
    # a week later: the last worklist marks who is new, open care gaps join the reasons
    first = rows["person_id"][0]
    pl.DataFrame({"person_id": [first], "gap": ["statin therapy"]}).write_csv(tmp_path / "gaps.csv")
    rows.filter(pl.col("person_id") != first).with_columns(pl.lit("low").alias("tier")).write_csv(
        tmp_path / "last.csv"
    )
    again = tmp_path / "again.csv"
    result = runner.invoke(
        app,
        [
            "target",
            "default",
            "--out",
            str(again),
            "--budget",
            "200000",
            "--dual-floor",
            "--previous",
            str(tmp_path / "last.csv"),
            "--gaps",
            str(tmp_path / "gaps.csv"),
            "--assumptions",
            str(msr),
        ],
    )
    assert result.exit_code == 0, result.output
    week = pl.read_csv(again, schema_overrides={"person_id": pl.String}).sort("person_id")
    assert week.filter(pl.col("person_id") == first)["new_since_last_plan"].to_list() == [True]
    assert (
        "open care gaps: statin therapy" in week.filter(pl.col("person_id") == first)["reasons"][0]
    )
    others = week.filter(pl.col("person_id") != first)
    assert not others["new_since_last_plan"].any()
    assert others["tier_changed"].to_list() == (others["tier"] != "low").to_list()
    _errors_are_messages(tmp_path)
    # one test: the trained workspace is built once, whichever worker runs it
    _page_plans_reacts_and_closes_the_loop()


def _errors_are_messages(tmp_path):
    bad = tmp_path / "p.toml"
    bad.write_text('name = "x"\n')
    result = runner.invoke(app, ["target", "default", "--programs", str(bad)])
    assert result.exit_code == 2 and "capacity' table is missing" in result.output
    result = runner.invoke(app, ["target", "default", "--must-include", str(tmp_path / "none.csv")])
    assert result.exit_code == 2 and "No must-include file" in result.output


def _page_plans_reacts_and_closes_the_loop():
    at = AppTest.from_file(
        str(ROOT / "app" / "pages" / "care_targeting.py"), default_timeout=180
    ).run()
    assert not at.exception, at.exception
    labels = {m.label: m.value for m in at.metric}
    assert {"Expected net savings", "Optimality gap", "Members placed"} <= set(labels)
    frames = [d.value for d in at.dataframe]
    comparison = next(f for f in frames if "optimizer_advantage" in f.columns)
    assert (
        comparison["method"][0] == "optimizer"
        and (comparison["optimizer_advantage"] >= -1e-6).all()
    )
    assert any("value" in f.columns and "change" in f.columns for f in frames)  # marginal values
    assert "minimum savings rate" in " ".join(e.value for e in at.error)  # 2,500 members
    at.number_input(key="tg_msr").set_value(0.03).run()
    assert not at.exception and not at.error
    effect = next(d.value for d in at.dataframe if "p_shared_savings" in d.value.columns)
    assert list(effect["case"]) == ["without the plan", "with the plan"]
    before = labels["Expected net savings"]
    at.number_input(key="tg_budget").set_value(20_000.0).run()  # a tight budget: a smaller plan
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Expected net savings"] != before
    at.button(key="tg_save").click().run()
    assert not at.exception and "Saved" in at.success[0].value
    contracts = AppTest.from_file(
        str(ROOT / "app" / "pages" / "contract_scenarios.py"), default_timeout=180
    ).run()
    contracts.text_input(key="a_msr").set_value("0.03").run()  # 2,500 members: below the table
    assert not contracts.exception, contracts.exception
    table = next(
        d.value for d in contracts.dataframe if "expenditure_per_capita" in d.value.columns
    )
    contracts.selectbox(key="a_care_plan").set_value(
        contracts.selectbox(key="a_care_plan").options[1]
    ).run()
    assert not contracts.exception, contracts.exception
    moved = next(
        d.value for d in contracts.dataframe if "expenditure_per_capita" in d.value.columns
    )
    assert (moved["expenditure_per_capita"] < table["expenditure_per_capita"]).all()


def test_the_targeting_page_opens_on_what_the_first_launch_stored(in_workspace, monkeypatch):
    """``warm_targeting`` (a step of the first launch) keeps the members' inputs and the default
    programs' plan on disk; a new server process (caches empty) draws the page from them
    without scoring or planning again. Moving a constraint plans anew (in memory only). The
    plan's effect on the contract is not stored here: 2,500 members are below the MSR table,
    so the default contract cannot be settled without a rate, which the page asks for."""
    import streamlit as st

    import app.state as state
    import risk_stratification.targeting
    from risk_stratification.ml.pipeline import load_registered

    ds = in_workspace.dataset("default")
    with in_workspace.store(read_only=True) as store:
        trained, version = load_registered(store)
    state.warm_targeting(ds, trained, version)
    results = in_workspace.path / state.RESULTS_DIR
    kinds = {f.name.split("_")[1] for f in results.glob("targeting_*.pkl")}
    assert kinds == {"members", "plan"}, sorted(f.name for f in results.iterdir())
    asked: list[str] = []

    def refuse(what):
        def refused(*args, **kwargs):
            asked.append(what)
            raise AssertionError(f"the Targeting page computed {what} again")

        return refused

    st.cache_data.clear()
    st.cache_resource.clear()
    monkeypatch.setattr(risk_stratification.targeting, "member_inputs", refuse("members"))
    monkeypatch.setattr(risk_stratification.targeting, "make_plan", refuse("the plan"))
    at = AppTest.from_file(str(ROOT / "app" / "pages" / "care_targeting.py"), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    assert not asked and "Expected net savings" in [m.label for m in at.metric]
    assert any("below the 5,000" in e.value for e in at.error)  # the effect tab asks for the MSR
    at.number_input(key="tg_msr").set_value(0.02).run()
    assert not at.exception and any("case" in d.value.columns for d in at.dataframe)
    at.number_input(key="tg_budget").set_value(100_000.0).run()
    assert asked == ["the plan"] and at.exception
    assert len(list(results.glob("targeting_plan_*.pkl"))) == 1
