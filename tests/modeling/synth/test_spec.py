from __future__ import annotations

import pytest

from modeling.errors import ParameterError
from modeling.synth import SynthSpec


def test_bad_parameters_are_clear_errors():
    with pytest.raises(ParameterError, match="members must be between 1 and 2,000,000 .got 0"):
        SynthSpec(0, 2023, 3, 1)
    with pytest.raises(ParameterError, match="between 1 and 2,000,000 .got 2,000,001"):
        SynthSpec(2_000_001, 2023, 3, 1)  # CCLF's claim ids have room for 160 chunks
    with pytest.raises(ParameterError, match="years must be between 1 and 10 .got 11"):
        SynthSpec(10, 2023, 11, 1)
    with pytest.raises(
        ParameterError, match="No Medicare cost-sharing parameters for 2029 .have 2021-2026"
    ):
        SynthSpec(10, 2029, 2, 1)


def test_messages_name_the_parameter_not_a_cli_flag():
    with pytest.raises(ParameterError) as info:
        SynthSpec(0, 2023, 3, 1)
    assert "--" not in str(info.value)
