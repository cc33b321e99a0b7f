"""Contract specs: presets, and errors that name the field and the fix."""

from __future__ import annotations

import json

import pytest

from contracts.specs import load_spec, parse_spec, preset, preset_names
from modeling.errors import ParameterError


def test_presets_load_and_cover_the_programs():
    names = preset_names()
    for year in (2024, 2025, 2026):
        for level in "abcde":
            assert f"mssp-basic-{level}-{year}" in names
        assert f"mssp-enhanced-{year}" in names and f"reach-global-{year}" in names
    for name in names:
        assert preset(name).name


def test_spec_errors_name_the_field_and_the_fix(tmp_path):
    with pytest.raises(ParameterError, match="level"):
        parse_spec({"family": "mssp", "name": "x", "performance_year": 2025, "track": "BASIC"})
    with pytest.raises(ParameterError, match="msr_mlr"):
        parse_spec(
            {
                "family": "mssp",
                "name": "x",
                "performance_year": 2025,
                "track": "BASIC",
                "level": "E",
                "msr_mlr": 0.03,
            }
        )
    with pytest.raises(ParameterError, match="contiguous"):
        parse_spec(
            {
                "family": "risk_corridors",
                "name": "x",
                "performance_year": 2025,
                "corridors": [
                    {"from": 0, "to": 0.02, "provider_share": 0},
                    {"from": 0.03, "provider_share": 0.5},
                ],
            }
        )
    with pytest.raises(ParameterError, match="family"):
        parse_spec({"name": "x"})
    bad = tmp_path / "bad.toml"
    bad.write_text(
        "family = 'shared_savings'\nname = 'x'\nperformance_year = 2026\nsharing_rate = 1.5\n"
    )
    with pytest.raises(ParameterError, match="sharing_rate"):
        load_spec(bad)
    good = tmp_path / "mine.json"
    good.write_text(
        json.dumps(
            {
                "family": "shared_savings",
                "name": "Mine",
                "performance_year": 2026,
                "sharing_rate": 0.4,
            }
        )
    )
    assert load_spec(good).sharing_rate == 0.4
    with pytest.raises(ParameterError, match="Presets"):
        load_spec(tmp_path / "nothing.toml")


def test_building_a_model_directly_is_a_parameter_error():
    """``Model(...)`` and ``Model.model_validate`` name the model, the field, the value and the
    rule; a spec validated inside ``parse_spec`` keeps its own message (above)."""
    from contracts.simulation import Uncertainty
    from contracts.specs import Corridor, MsspSpec, RiskCorridorsSpec, SharedSavingsSpec

    with pytest.raises(ParameterError, match=r"Invalid Uncertainty: trend_sd = -1: .*greater than"):
        Uncertainty(trend_sd=-1)
    with pytest.raises(ParameterError, match=r"quality_sd = 2: .*less than or equal to 1"):
        Uncertainty.model_validate({"quality_sd": 2})
    with pytest.raises(ParameterError, match=r"Invalid MsspSpec: .*needs a level"):
        MsspSpec(name="x", performance_year=2025, track="BASIC")
    with pytest.raises(
        ParameterError,
        match=r"name is required; track = 'BASICS': input should be 'TRACK_1', .*'BASIC'",
    ):
        MsspSpec.model_validate({"performance_year": 2025, "track": "BASICS"})
    with pytest.raises(ParameterError, match=r"sharing_rate = 1.5: .*less than or equal to 1"):
        SharedSavingsSpec(name="x", performance_year=2026, sharing_rate=1.5)
    with pytest.raises(ParameterError, match=r"corridors.0.provider_share = 2"):
        RiskCorridorsSpec(
            name="x", performance_year=2025, corridors=[{"from": 0.0, "provider_share": 2}]
        )
    with pytest.raises(ParameterError, match=r"Invalid Corridor: from = -1"):
        Corridor.model_validate({"from": -1, "provider_share": 0.5})
    with pytest.raises(ParameterError, match=r"Invalid MsspSpec: invalid JSON"):
        MsspSpec.model_validate_json("{not json")
    assert Uncertainty(trend_sd=0.1).trend_sd == 0.1  # valid values build as before
