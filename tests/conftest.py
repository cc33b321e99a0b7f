from __future__ import annotations

import pytest

from modeling.synth import SynthSpec, generate


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory):
    """A small synthetic dataset shared by tests that only read it."""
    out = tmp_path_factory.mktemp("synth") / "small"
    return generate(SynthSpec(members=1_500, start_year=2023, years=2, seed=11), out)


@pytest.fixture(scope="session")
def three_year_dataset(tmp_path_factory):
    """A small synthetic dataset with three years, enough to train and test the risk models."""
    out = tmp_path_factory.mktemp("synth3") / "three"
    return generate(SynthSpec(members=2_500, start_year=2023, years=3, seed=5), out)
