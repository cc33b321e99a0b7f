"""What every projection of a panel needs, read once: the only place contracts read a dataset.

``panel_history(panel)`` reads person-year expenditures by service category and enrollment type,
the mean CMS-HCC V28 risk by year and enrollment type, and (for the years asked) the panel's mean
CMS payment score, all from the core (``modeling.core.panel``). The result is a frozen value:
``contracts.projection.project`` and the simulation compute from it and never open a file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

import polars as pl

from contracts.benchmark import person_year_expenditures, risk_by_type
from modeling.core.panel import Panel
from modeling.dataset import Dataset
from modeling.errors import DatasetError, ParameterError
from modeling.progress import Progress, reporter


@dataclass(frozen=True)
class PanelHistory:
    """A panel's history as projections read it.

    Attributes
    ----------
    dataset
        The dataset folder it was read from (for messages and saved scenarios).
    years
        The calendar years with enrollment.
    expenditures
        person_id, year, enrollment_type, months, paid by service category, paid.
    risk
        Calendar year -> enrollment_type, mean V28 raw score (None: the year cannot be scored).
    payment_scores
        Payment year -> the panel's mean CMS payment score, for the years asked for.
    region
        The dataset's region as its source recorded it (a synthetic panel's regional and
        national FFS per capita by year and enrollment type and national-regional growth,
        ``modeling.synth.region``); None when the source has none.
    """

    dataset: str
    years: tuple[int, ...]
    expenditures: pl.DataFrame
    risk: Mapping[int, pl.DataFrame | None]
    payment_scores: Mapping[int, float | None]
    region: Mapping[str, Any] | None = None

    def mean_payment_score(self, year: int) -> float | None:
        """Mean CMS payment score of the panel for ``year`` (used to price MA premiums); None
        when the data cannot score that year."""
        if year not in self.payment_scores:
            raise ParameterError(
                f"The panel's mean payment score for {year} was not read; read the history with "
                f"panel_history(..., payment_score_years=({year},)) "
                "(contracts.projection.payment_score_years(specs) lists the years specs need)."
            )
        return self.payment_scores[year]

    def with_payment_scores(self, scores: Mapping[int, float | None]) -> PanelHistory:
        """The same history with the mean payment scores of more years (``mean_payment_score``)."""
        merged = {**self.payment_scores, **scores}
        return replace(self, payment_scores=MappingProxyType(merged))


def panel_history(
    source: Panel | Dataset,
    *,
    payment_score_years: Iterable[int] = (),
    progress: Progress | None = None,
) -> PanelHistory:
    """Read the panel's history once (see ``PanelHistory``)."""
    say = reporter(progress)
    panel = Panel.of(source, progress=progress)
    years = panel.years()
    if not years:
        raise DatasetError(f"{panel.path} has no enrollment.")
    say(f"reading expenditures for {years[0]}-{years[-1]}")
    expenditures = person_year_expenditures(panel, years)
    risk = {}
    for year in [*years, years[-1] + 1]:
        say(f"risk-scoring the panel for {year}")
        risk[year] = risk_by_type(panel, year)
    scores = {}
    for year in sorted(set(payment_score_years)):
        say(f"mean CMS payment score for {year}")
        scores[year] = mean_payment_score(panel, year)
    region = Dataset(panel.path).manifest.get("source", {}).get("region")
    return PanelHistory(
        str(panel.path),
        tuple(years),
        expenditures,
        MappingProxyType(risk),
        MappingProxyType(scores),
        region=None if region is None else MappingProxyType(region),
    )


def mean_payment_score(source: Panel | Dataset, year: int) -> float | None:
    """The panel's mean CMS payment score for payment year ``year``; None when the data cannot
    score that year (no enrollment in the year before it, or no parameters for the year)."""
    from risk_stratification.hcc.panel import score_panel

    try:
        mean = score_panel(Panel.of(source), year).scores["payment_score"].mean()
    except (DatasetError, ParameterError):
        return None
    return None if mean is None else float(mean)  # type: ignore[arg-type]
