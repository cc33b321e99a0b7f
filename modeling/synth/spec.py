"""What to generate: the size, years and seed of a synthetic panel, checked on construction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from modeling.errors import ParameterError
from modeling.synth.params import load_params

MAX_YEARS = 10
# CCLF's 13-digit claim ids keep a chunk's number below 500 (cclf_writer/versions.py): at most
# 2,000,000 members in chunks of 12,500 (160 chunks)
MAX_MEMBERS = 2_000_000
LastYearOfLife = Literal["calendar", "rolling"]
LAST_YEAR_OF_LIFE: tuple[str, ...] = get_args(LastYearOfLife)


@dataclass(frozen=True)
class SynthSpec:
    """What to generate. ``members`` is the number enrolled in the first year.

    Every year of the panel needs Medicare cost-sharing parameters
    (``modeling/data/medicare_cost_sharing.csv``); a year without them is an error here, before
    anything is simulated.

    ``last_year_of_life`` is when a decedent's raised service rate of the last year of life
    begins: "calendar" (the default) from 1 January of the year of death; "rolling" the 365
    days ending on the death, across 1 January (``modeling.synth.services.pre_death``), as Medicare's
    spending rises over the 12 months before death. "calendar" crowds the year's decedents into
    its first months (their share of index stays falls from January to November, and medical
    spending steps up at each 1 January); "rolling" removes that but draws a different panel
    (its own recalibrated ``intensity_centring_rolling``), so the figures measured on the default
    panel (benchmarks/RESULTS.md) are for "calendar".
    """

    members: int
    start_year: int
    years: int
    seed: int
    last_year_of_life: LastYearOfLife = "calendar"

    def __post_init__(self) -> None:
        if not 1 <= self.members <= MAX_MEMBERS:
            raise ParameterError(
                f"members must be between 1 and {MAX_MEMBERS:,} (got {self.members:,})."
            )
        if not 1 <= self.years <= MAX_YEARS:
            raise ParameterError(f"years must be between 1 and {MAX_YEARS} (got {self.years}).")
        if self.last_year_of_life not in LAST_YEAR_OF_LIFE:
            raise ParameterError(
                f"last_year_of_life must be one of {', '.join(LAST_YEAR_OF_LIFE)} "
                f"(got {self.last_year_of_life!r})."
            )
        params = load_params()
        for y in range(self.start_year, self.start_year + self.years):
            params.cost_sharing_for(y)
