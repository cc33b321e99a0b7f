"""Degenerate numbers in specs and assumptions (hostile probe 2026-12-01, findings 23 and 34:
``stop_loss_attachment = 1e-300`` answered "the benchmark per capita must be positive (got 0.0)").

For every number field of every contract family and of the assumptions, and each extreme value
(the smallest subnormal, 1e-300, a negative zero-ish value, 1e300, 1e308), the outcome is one of
two: the value is refused with a ``ParameterError`` whose message names the field, the value and
the rule, or the projection settles with every line a finite, plausible number. Never an error
about something else, never a silent 300-digit or infinite figure."""

from __future__ import annotations

import math

import pytest

from contracts._validation import _is_number
from contracts.projection import Assumptions, parse_assumptions, project
from contracts.specs import parse_spec, preset, spec_to_dict
from modeling.errors import ParameterError

EXTREMES = (5e-324, 1e-300, -1e-300, 1e300, 1e308)
PRESETS = {
    "mssp": "mssp-enhanced-2026",
    "reach": "reach-global-2026",
    "shared_savings": "commercial-upside-2026",
    "risk_corridors": "commercial-corridors-2026",
    "ma_percent_of_premium": "ma-global-85-2026",
}
PLAUSIBLE = 1e13  # dollars: far above any settlement of any panel
BASE_ASSUMPTIONS = {"minimum_savings_rate": 0.02}  # the small panel is below the MSR table


def _base(family: str) -> dict:
    return {**spec_to_dict(preset(PRESETS[family])), "performance_year": 2025}


def _number_fields(model: type) -> list[str]:
    return [
        info.alias or name
        for name, info in model.model_fields.items()
        if _is_number(info.annotation)
    ]


SPEC_CASES = [
    (family, field, value)
    for family in PRESETS
    for field in _number_fields(type(parse_spec(_base(family))))
    for value in EXTREMES
]
ASSUMPTION_CASES = [(field, value) for field in _number_fields(Assumptions) for value in EXTREMES]


def _settles_plausibly(spec, history, assumptions) -> None:
    lines = project(spec, history, assumptions).settlement.lines
    numbers = [line.value for line in lines if isinstance(line.value, float)]
    wild = [v for v in numbers if not math.isfinite(v) or abs(v) > PLAUSIBLE]
    assert not wild, f"silent implausible figures {wild[:3]}"


def _names_the_field(message: str, field: str, value: float) -> None:
    assert field in message, message
    assert repr(value) in message or f"{value}" in message, message


@pytest.mark.parametrize(("family", "field", "value"), SPEC_CASES)
def test_f23_f34_a_degenerate_spec_number_is_refused_by_name_or_settles(
    history, family, field, value
):
    try:
        spec = parse_spec({**_base(family), field: value})
    except ParameterError as exc:
        _names_the_field(str(exc), field, value)
        return
    try:
        _settles_plausibly(spec, history, Assumptions(**BASE_ASSUMPTIONS))
    except ParameterError as exc:  # refused later: it must still name the field
        _names_the_field(str(exc), field, value)


@pytest.mark.parametrize(("field", "value"), ASSUMPTION_CASES)
def test_f23_f34_a_degenerate_assumption_is_refused_by_name_or_settles(history, field, value):
    try:
        assumptions = parse_assumptions({**BASE_ASSUMPTIONS, field: value})
    except ParameterError as exc:
        _names_the_field(str(exc), field, value)
        return
    for family in PRESETS:
        _settles_plausibly(parse_spec(_base(family)), history, assumptions)


def test_f34_tiny_stop_loss_names_the_field_value_and_range():
    with pytest.raises(ParameterError) as exc:
        parse_spec({**_base("shared_savings"), "stop_loss_attachment": 1e-300})
    assert "stop_loss_attachment = 1e-300" in str(exc.value)
    assert "greater than or equal to 1000" in str(exc.value)


def test_f34_nan_baseline_weight_names_the_field_and_value():
    with pytest.raises(ParameterError, match=r"baseline_weights\.2 = nan: .*finite"):
        parse_spec({**_base("mssp"), "baseline_weights": [0.5, 0.5, float("nan")]})
