"""What to generate: the size, years and seed of a synthetic panel, checked on construction."""

from __future__ import annotations

from dataclasses import dataclass

from modeling.errors import ParameterError
from modeling.synth.params import load_params

MAX_YEARS = 10


@dataclass(frozen=True)
class SynthSpec:
    """What to generate. ``members`` is the number enrolled in the first year.

    Every year of the panel needs Medicare cost-sharing parameters
    (``modeling/data/medicare_cost_sharing.csv``); a year without them is an error here, before
    anything is simulated.
    """

    members: int
    start_year: int
    years: int
    seed: int

    def __post_init__(self) -> None:
        if self.members < 1:
            raise ParameterError(f"members must be at least 1 (got {self.members}).")
        if not 1 <= self.years <= MAX_YEARS:
            raise ParameterError(f"years must be between 1 and {MAX_YEARS} (got {self.years}).")
        params = load_params()
        for y in range(self.start_year, self.start_year + self.years):
            params.cost_sharing_for(y)
