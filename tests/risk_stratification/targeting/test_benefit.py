"""Expected benefit per member and program: the rule by hand, its sd against simulation, and
the member inputs against the core's own tables."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from modeling.core.panel import Panel
from modeling.errors import DatasetError, ParameterError, SchemaError
from risk_stratification.targeting.benefit import (
    base_column,
    eligible,
    expected_benefit,
    member_inputs,
    plan_uncertainty,
)
from risk_stratification.targeting.programs import parse_program

IP, ED = base_column("acute inpatient"), base_column("emergency department")


def members():
    return pl.DataFrame(
        {
            "person_id": ["A", "B", "C"],
            "tier": ["highest", "low", "high"],
            "condition_list": [["copd"], ["heart_failure", "copd"], []],
            "days_since_discharge": [5, None, 90],
            "prediction_year": [2026] * 3,
            IP: [10_000.0, 2_000.0, 6_000.0],
            ED: [1_000.0, 500.0, 0.0],
        }
    )


def copd(**elig):
    return parse_program(
        {
            "name": "copd",
            "eligibility": elig or {"conditions": ["copd"]},
            "capacity": {"slots": 10},
            "cost": {"per_member": 600},
            "engagement": {"rate": 0.6, "low": 0.4, "high": 0.8},
            "effect": [
                {"category": "acute inpatient", "reduction": 0.28, "low": 0.1, "high": 0.4},
                {"category": "emergency department", "reduction": 0.27, "low": 0.1, "high": 0.4},
            ],
        }
    )


def test_the_expected_benefit_by_hand():
    b = expected_benefit(members(), [copd()])
    assert b["person_id"].to_list() == ["A", "B"]  # C has no COPD
    a = b.row(0, named=True)
    gross = 0.6 * (0.28 * 10_000 + 0.27 * 1_000)  # 1,842
    assert a["expected_gross_savings"] == pytest.approx(gross)
    assert a["expected_net_savings"] == pytest.approx(gross - 600)
    assert a["save_acute_inpatient"] == pytest.approx(0.6 * 0.28 * 10_000)
    assert a["save_emergency_department"] == pytest.approx(0.6 * 0.27 * 1_000)
    assert a["save_home_health"] == 0


def test_the_sd_matches_a_simulation_of_the_programs_parameters():
    p = copd()
    b = expected_benefit(members(), [p]).row(0, named=True)
    rng = np.random.default_rng(0)
    n = 400_000
    e = rng.normal(p.engagement.value, p.engagement.sd, n)
    r_ip = rng.normal(0.28, p.effects[0].reduction.sd, n)
    r_ed = rng.normal(0.27, p.effects[1].reduction.sd, n)
    draws = e * (r_ip * 10_000 + r_ed * 1_000)
    assert b["expected_gross_savings"] == pytest.approx(draws.mean(), rel=2e-3)
    assert b["gross_savings_sd"] == pytest.approx(draws.std(), rel=1e-2)


def test_eligibility_combines_tiers_conditions_and_discharges():
    m = members()
    assert eligible(m, copd(tiers=["highest", "high"])).to_list() == [True, False, True]
    assert eligible(m, copd(discharged_within_days=30)).to_list() == [True, False, False]
    assert eligible(m, copd(conditions=["heart_failure"], tiers=["low"])).to_list() == [
        False,
        True,
        False,
    ]


def test_plan_uncertainty_moves_a_programs_members_together():
    p = copd()
    m = members()
    u = plan_uncertainty(
        pl.DataFrame({"person_id": ["A", "B"], "program": ["copd", "copd"]}), m, [p]
    )
    ip = u.filter(pl.col("service_category") == "acute inpatient").row(0, named=True)
    total = 12_000.0  # A and B's inpatient bases
    assert ip["expected_savings"] == pytest.approx(0.6 * 0.28 * total)
    sd_r, sd_e = p.effects[0].reduction.sd, p.engagement.sd
    var = (
        0.6**2 * (sd_r * total) ** 2 + (0.28 * total) ** 2 * sd_e**2 + sd_e**2 * (sd_r * total) ** 2
    )
    assert ip["sd"] == pytest.approx(np.sqrt(var))
    assert u.filter(pl.col("service_category") == "home health")["expected_savings"][0] == 0


def test_no_program_and_missing_columns_are_clear():
    with pytest.raises(ParameterError, match="at least one program"):
        expected_benefit(members(), [])
    with pytest.raises(SchemaError, match="days_since_discharge"):
        expected_benefit(members().drop("days_since_discharge"), [copd()])


def fake_scores(panel: Panel, year: int) -> pl.DataFrame:
    ids = (
        panel.scan("eligibility")
        .filter(pl.col("enrollment_end_date") >= dt.date(year, 12, 1))
        .select("person_id")
        .unique()
        .sort("person_id")
        .collect()["person_id"]
    )
    n = ids.len()
    return pl.DataFrame(
        {
            "person_id": ids,
            "tier": ["high"] * n,
            "pred_cost": np.linspace(1_000, 200_000, n),
            "pred_admission": np.linspace(0.01, 0.9, n),
            "pred_ed_visit": np.linspace(0.05, 0.6, n),
            "full_dual": [1] * n,
            "partial_dual": [0] * n,
            "conditions": ["heart failure, copd"] * n,
            "prediction_year": [year + 1] * n,
        }
    )


def test_member_inputs_read_the_core(small_dataset):
    panel = Panel.of(small_dataset)
    year = 2024
    scored = fake_scores(panel, year)
    m = member_inputs(panel, scored)
    assert m.height == scored.height
    # the inpatient base: P(admission) x mean acute-inpatient spending of a member with any
    spend = (
        panel.scan("claim_lines")
        .filter(
            (pl.col("claim_start_date").dt.year() == year)
            & (pl.col("service_category") == "acute inpatient")
        )
        .group_by("person_id")
        .agg(pl.col("paid_amount").sum())
        .filter(pl.col("paid_amount") > 0)
        .collect()["paid_amount"]
        .mean()
    )
    row = m.filter(pl.col("person_id") == scored["person_id"][5]).row(0, named=True)
    assert row[IP] == pytest.approx(
        min(scored["pred_admission"][5] * spend, scored["pred_cost"][5]), rel=1e-9
    )
    assert row["condition_list"] == ["heart_failure", "copd"] and row["dual"]
    # days since discharge: the year's last acute discharge, counted to December 31
    stays = (
        panel.scan("inpatient_stays").filter(pl.col("discharge_date").dt.year() == year).collect()
    )
    last = stays.group_by("person_id").agg(pl.col("discharge_date").max())
    if last.height:
        pid, when = last.row(0)
        got = m.filter(pl.col("person_id") == pid)["days_since_discharge"]
        if got.len():
            assert got[0] == (dt.date(year, 12, 31) - when).days
    assert (
        m["days_since_discharge"].null_count()
        == m.height - m.join(last, on="person_id", how="semi").height
    )
    with pytest.raises(SchemaError, match="tier"):
        member_inputs(panel, scored.drop("tier"))
    with pytest.raises(DatasetError, match="No scored members"):
        member_inputs(panel, scored.head(0))
