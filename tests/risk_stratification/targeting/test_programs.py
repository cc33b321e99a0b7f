"""Programs as data: the presets and their sources, a user's file, and clear errors."""

from __future__ import annotations

import pytest

from modeling.errors import ParameterError
from risk_stratification.targeting.programs import (
    Z95,
    load_programs,
    parse_program,
    preset_programs,
)

GOOD = {
    "name": "tc",
    "eligibility": {"discharged_within_days": 30, "tiers": ["high"], "conditions": ["copd"]},
    "capacity": {"care_managers": 2, "members_per_care_manager": 24},
    "cost": {"per_member": 400},
    "engagement": {"rate": 0.3, "low": 0.2, "high": 0.4},
    "effect": [{"category": "acute inpatient", "reduction": 0.1, "low": 0.0, "high": 0.2}],
}


def test_every_preset_number_has_its_source_and_status():
    presets = preset_programs()
    assert {p.name for p in presets} == {
        "complex_care_management",
        "transitional_care",
        "heart_failure_disease_management",
        "copd_disease_management",
    }
    for p in presets:
        assert p.sources["cost"] and p.sources["cost_status"], p.name
        assert p.sources["capacity"] and p.sources["capacity_status"], p.name
        assert p.engagement.source and p.engagement.status, p.name
        for e in p.effects:
            assert e.reduction.source and e.reduction.status, (p.name, e.category)
            assert e.reduction.low <= e.reduction.value <= e.reduction.high


def test_published_preset_numbers_are_the_studies_figures():
    by_name = {p.name: p for p in preset_programs()}
    hf = by_name["heart_failure_disease_management"].effects[0].reduction
    # McAlister et al. 2004: all-cause hospitalization RR 0.81 (0.71-0.92)
    assert (hf.value, hf.low, hf.high) == pytest.approx((0.19, 0.08, 0.29))
    tc = {e.category: e.reduction for e in by_name["transitional_care"].effects}
    # Vedel & Khanassov 2015: readmission RR 0.92 (0.87-0.98), ED RR 0.71 (0.51-0.98)
    assert (
        tc["acute inpatient"].value,
        tc["acute inpatient"].low,
        tc["acute inpatient"].high,
    ) == pytest.approx((0.08, 0.02, 0.13))
    assert (
        tc["emergency department"].value,
        tc["emergency department"].low,
        tc["emergency department"].high,
    ) == pytest.approx((0.29, 0.02, 0.49))
    assert by_name["complex_care_management"].cost_per_member == pytest.approx(260 * 12)


def test_a_program_reads_capacity_and_ranges():
    p = parse_program(GOOD)
    assert p.slots == 48 and p.with_care_managers(3).slots == 72
    assert p.engagement.sd == pytest.approx(0.2 / (2 * Z95))
    assert p.eligibility.tiers == ("high",) and p.eligibility.discharged_within_days == 30
    slots = parse_program({**GOOD, "capacity": {"slots": 10}})
    assert slots.slots == 10
    with pytest.raises(ParameterError, match="slot count"):
        slots.with_care_managers(2)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": ""}, "'name' is missing"),
        ({"eligibility": {"tiers": ["urgent"]}}, "unknown tiers"),
        ({"eligibility": {"conditions": ["gout"]}}, "unknown conditions"),
        ({"eligibility": {"discharged_within_days": 0}}, "discharged_within_days"),
        ({"capacity": None}, "capacity. table is missing"),
        ({"capacity": {"care_managers": 1}}, "'members_per_care_manager' is missing"),
        ({"cost": {"per_member": -1}}, "per_member"),
        ({"engagement": {"rate": 1.5}}, "'rate' must be a number from 0 to 1"),
        ({"engagement": {"rate": 0.5, "low": 0.6}}, "need low <= rate <= high"),
        ({"effect": []}, "at least one"),
        ({"effect": [{"category": "spa", "reduction": 0.1}]}, "category must be one of"),
        ({"horizon_months": 6}, "horizon_months must be 12"),
        ({"colour": "red"}, "unknown fields"),
    ],
)
def test_a_bad_program_says_what_and_where(change, message):
    with pytest.raises(ParameterError, match=message):
        parse_program({**GOOD, **change}, where="my.toml")


def test_a_file_of_programs_and_a_folder(tmp_path):
    f = tmp_path / "programs.toml"
    f.write_text(
        """
[[program]]
name = "a"
capacity = { slots = 5 }
cost = { per_member = 100 }
engagement = { rate = 0.5 }
effect = [{ category = "acute inpatient", reduction = 0.1 }]

[[program]]
name = "b"
eligibility = { tiers = ["highest"] }
capacity = { slots = 2 }
cost = { per_member = 10 }
engagement = { rate = 0.5 }
effect = [{ category = "emergency department", reduction = 0.2 }]
"""
    )
    assert [p.name for p in load_programs(f)] == ["a", "b"]
    assert [p.name for p in load_programs(tmp_path)] == ["a", "b"]
    (tmp_path / "dup.toml").write_text(f.read_text())
    with pytest.raises(ParameterError, match="distinct"):
        load_programs(tmp_path)
    with pytest.raises(ParameterError, match="No programs file"):
        load_programs(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("name = [")
    with pytest.raises(ParameterError, match="not valid TOML"):
        load_programs(bad)
