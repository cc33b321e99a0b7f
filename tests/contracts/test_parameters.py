"""Program parameters: the size-based MSR table and clear errors for missing years."""

from __future__ import annotations

import pytest

from contracts.parameters import mssp_rules, size_based_msr
from modeling.errors import ParameterError


def test_size_based_msr_interpolates_within_bands():
    assert size_based_msr(5000) == pytest.approx(0.039)
    assert size_based_msr(12000) == pytest.approx(0.0288)  # 3.0% - 0.3 points x 2,000/5,000
    assert size_based_msr(60000) == pytest.approx(0.02)
    assert size_based_msr(250000) == pytest.approx(0.02)
    rates = [size_based_msr(n) for n in range(5000, 61000, 250)]
    assert all(a >= b for a, b in zip(rates, rates[1:], strict=False))  # never rises with size
    with pytest.raises(ParameterError, match="below the 5,000"):
        size_based_msr(4999)


def test_missing_performance_year_is_a_clear_error():
    with pytest.raises(ParameterError, match="mssp_parameters.csv"):
        mssp_rules(2018, "BASIC", "A")  # BASIC began with the July 2019 period
