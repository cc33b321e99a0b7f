"""Quality in the contracts: the MSSP quality performance standard and its alternative from the
panel's claims-based outcome measures, REACH's claims-based measures, and the quality inputs of
a settlement or a simulation, measured or entered (and said which).

MSSP (42 CFR 425.512, PY2024-2026): an ACO meets the quality performance standard (QPS) with a
quality score at or above the 40th percentile of MIPS Quality scores (the year's value is
data: ``data/mssp_quality_standard.csv``); it meets the alternative standard with at least the
10th percentile of the performance benchmark on one or more outcome measures, and then shares
savings at the maximum rate times its quality score (settlement.py). Of the outcome measures a
claims panel can estimate two, MIPS #479 (hospital-wide readmission) and #484 (admissions for
multiple chronic conditions): their risk-standardized rates from
``risk_stratification.quality`` are placed among the MIPS benchmarks (inverse measures: a rate
at or below the benchmark's 90th rate percentile is at least the 10th performance percentile).
The ACO's full quality score (eCQMs, CAHPS) is not in claims: it is entered by the user.

ACO REACH's claims-based measures are ACR (all-condition readmission), UAMCC (unplanned
admissions for multiple chronic conditions) and TFU (timely follow-up; DAH for High Needs
ACOs). The panel's readmission, MCC-admission and 7-day follow-up measures estimate them; the
Total Quality Score arithmetic that turns them into the withhold's earn-back is not confirmed
(research notes 3.6), so the TQS stays an entered input and these estimates are shown beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

import numpy as np
import polars as pl

from contracts.history import PanelHistory
from contracts.projection import Assumptions
from contracts.simulation.monte_carlo import SimulationResult
from contracts.simulation.uncertainty import Uncertainty
from contracts.specs import ContractSpec
from modeling.core.panel import Panel
from modeling.dataset import Dataset
from modeling.errors import ParameterError
from modeling.marts.quality.definitions import benchmarks
from risk_stratification.quality import risk_adjust

MSSP_OUTCOMES = {"479": "readmission_30d", "484": "mcc_admissions"}
REACH_MEASURES = {"ACR": "readmission_30d", "UAMCC": "mcc_admissions", "TFU": "followup_7d"}


@cache
def _standards() -> pl.DataFrame:
    path = files("contracts").joinpath("data", "mssp_quality_standard.csv")
    return pl.read_csv(path.read_bytes(), infer_schema=False)


@dataclass(frozen=True)
class QualityStandard:
    performance_year: int
    qps_percentile: int
    qps_score: float
    alternative_outcome_percentile: float
    outcome_measures: tuple[str, ...]
    source: str
    status: str


def quality_standard(performance_year: int) -> QualityStandard:
    """The MSSP quality performance standard of ``performance_year``, with its source."""
    rows = _standards().filter(pl.col("performance_year") == str(performance_year))
    if rows.is_empty():
        have = ", ".join(_standards()["performance_year"].to_list())
        raise ParameterError(
            f"No MSSP quality performance standard for {performance_year} (have {have}); add its "
            "row, with the CMS memo as source, to contracts/data/mssp_quality_standard.csv."
        )
    r = rows.row(0, named=True)
    return QualityStandard(
        performance_year,
        int(r["qps_percentile"]),
        float(r["qps_score"]),
        float(r["alternative_outcome_percentile"]),
        tuple(r["outcome_measures"].split()),
        r["source"],
        r["status"],
    )


def performance_percentile(measure_id: str, rates: np.ndarray) -> np.ndarray:
    """Performance percentiles of ``rates`` (per 100) among the measure's MIPS benchmarks:
    linear between the published rate percentiles, lower rates better (inverse measures)."""
    table = (
        benchmarks()
        .filter((pl.col("measure_id") == measure_id) & (pl.col("basis") == "rate_percentile"))
        .sort("value")
    )
    if table.is_empty():
        raise ParameterError(f"No MIPS benchmark percentiles for {measure_id}.")
    values = table["value"].to_numpy()
    pcts = np.array([float(x) for x in table["level"].to_list()])
    return 100.0 - np.interp(rates, values, pcts)


@dataclass(frozen=True)
class MeasuredQuality:
    """What the claims say about the quality inputs of a contract, and where they came from."""

    performance_year: int
    source: str  # "measured panel" or "entered"
    quality_score: float | None  # 0-1, entered (claims do not carry eCQMs and CAHPS)
    outcome_rates: dict[str, float]  # MIPS id -> risk-standardized rate per 100
    outcome_percentiles: dict[str, float]  # MIPS id -> performance percentile
    percentile_draws: dict[str, np.ndarray]  # MIPS id -> bootstrap draws of the percentile
    reach_measures: dict[str, float]  # ACR, UAMCC per 100; TFU percent
    meets_quality_standard: bool
    meets_alternative_quality_standard: bool
    p_alternative_standard: float  # share of draws meeting the alternative standard
    standard: QualityStandard


def measured_quality(
    source: Panel | Dataset,
    performance_year: int,
    *,
    quality_score: float | None,
    measurement_year: int | None = None,
    draws: int = 200,
) -> MeasuredQuality:
    """The MSSP standards estimated from the panel's outcome measures of ``measurement_year``
    (default: the performance year), with the entered ``quality_score`` (0-1) for the QPS."""
    if quality_score is not None and not 0 <= quality_score <= 1:
        raise ParameterError(
            f"the quality score is a fraction between 0 and 1 (got {quality_score})."
        )
    standard = quality_standard(performance_year)
    year = measurement_year if measurement_year is not None else performance_year
    panel = Panel.of(source)
    rates, pct, pct_draws = {}, {}, {}
    fitted = {}
    for mips, m in MSSP_OUTCOMES.items():
        fit = risk_adjust(panel, year, m, draws=draws)
        fitted[m] = fit
        rate = float(fit.panel["risk_standardized_rate"][0]) * 100
        rates[mips] = rate
        pct[mips] = float(performance_percentile(m, np.array([rate]))[0])
        pct_draws[mips] = performance_percentile(m, fit.panel_rate_draws * 100)
    cut = standard.alternative_outcome_percentile
    counted = [k for k in pct if k in standard.outcome_measures]
    meets_alt = any(pct[k] >= cut for k in counted)
    stacked = np.vstack([pct_draws[k] for k in counted]) if counted else np.zeros((1, 1))
    p_alt = float((stacked >= cut).any(axis=0).mean()) if counted else 0.0
    from modeling.marts.quality.hospital import followup_rows

    tfu = followup_rows(panel, year, days=7).collect()
    reach = {
        "ACR": rates["479"],
        "UAMCC": rates["484"],
        "TFU": 100.0 * float(tfu["numerator"].sum()) / tfu.height if tfu.height else float("nan"),
    }
    meets_qps = quality_score is not None and quality_score * 100 >= standard.qps_score
    return MeasuredQuality(
        performance_year=performance_year,
        source="measured panel",
        quality_score=quality_score,
        outcome_rates=rates,
        outcome_percentiles=pct,
        percentile_draws=pct_draws,
        reach_measures=reach,
        meets_quality_standard=meets_qps,
        meets_alternative_quality_standard=meets_alt,
        p_alternative_standard=p_alt,
        standard=standard,
    )


def entered_quality(
    performance_year: int,
    *,
    quality_score: float,
    meets_alternative_quality_standard: bool = False,
) -> MeasuredQuality:
    """The same inputs from user-entered scores (``source`` says "entered")."""
    standard = quality_standard(performance_year)
    if not 0 <= quality_score <= 1:
        raise ParameterError(
            f"the quality score is a fraction between 0 and 1 (got {quality_score})."
        )
    return MeasuredQuality(
        performance_year,
        "entered",
        quality_score,
        {},
        {},
        {},
        {},
        quality_score * 100 >= standard.qps_score,
        meets_alternative_quality_standard,
        1.0 if meets_alternative_quality_standard else 0.0,
        standard,
    )


def with_quality(assumptions: Assumptions, quality: MeasuredQuality) -> Assumptions:
    """``assumptions`` carrying the quality inputs (score, QPS met, alternative QPS met), for
    ``project``/``settle``/``simulate``; a missing quality score keeps the assumed one."""
    score = (
        quality.quality_score if quality.quality_score is not None else assumptions.quality_score
    )
    return assumptions.model_copy(
        update={
            "quality_score": score,
            "meets_quality_standard": quality.meets_quality_standard,
            "meets_alternative_quality_standard": quality.meets_alternative_quality_standard,
        }
    )


@dataclass(frozen=True)
class QualityMixture:
    """A simulation under measured quality: the alternative standard is met in a share
    ``p_alternative`` of the outcome measures' bootstrap draws, so the distribution is the
    mixture of the simulations with and without it."""

    p_alternative: float
    with_alternative: SimulationResult
    without_alternative: SimulationResult
    expected_settlement: float


def simulate_with_quality(
    spec: ContractSpec,
    history: PanelHistory,
    assumptions: Assumptions | None,
    uncertainty: Uncertainty | None,
    quality: MeasuredQuality,
    **options: Any,
) -> QualityMixture:
    """``contracts.simulation.simulate`` under the measured quality and its uncertainty: when
    the QPS is met the alternative standard does not matter; otherwise each branch is simulated
    and weighted by the share of draws in which the alternative standard holds."""
    from contracts.simulation import simulate

    a = with_quality(assumptions or Assumptions(), quality)
    met = simulate(spec, history, _alternative(a, True), uncertainty, **options)
    if quality.meets_quality_standard:
        return QualityMixture(1.0, met, met, float(met.amounts.mean()))
    not_met = simulate(spec, history, _alternative(a, False), uncertainty, **options)
    p = quality.p_alternative_standard
    expected = p * float(met.amounts.mean()) + (1 - p) * float(not_met.amounts.mean())
    return QualityMixture(p, met, not_met, expected)


def _alternative(a: Assumptions, alternative: bool) -> Assumptions:
    return a.model_copy(update={"meets_alternative_quality_standard": alternative})


__all__ = [
    "MeasuredQuality",
    "QualityMixture",
    "QualityStandard",
    "entered_quality",
    "measured_quality",
    "performance_percentile",
    "quality_standard",
    "simulate_with_quality",
    "with_quality",
]
