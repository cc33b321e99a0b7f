"""Risk adjustment of the claims-based outcome measures: expected events, observed-to-expected,
risk-standardized rates with bootstrap intervals, shrinkage, calibration and discrimination.

The model (after CMS's outcome measures and AHRQ's risk adjustment, research notes section 5):

- one row per index event (readmission: index stay; mortality: first admission of the year) or
  per member-year (MCC admissions);
- risk factors outside the provider's control: age band, sex, the CMS-HCC segment (dual status
  and original entitlement: community non-dual/full/partial dual, aged/disabled, institutional,
  new enrollee) and the member's CMS-HCC V28 payment HCCs from the diagnoses of the calendar
  year before the event's year (``score_panel`` of that payment year), so the event's own
  diagnoses never enter; HCCs present in fewer than ``min_hcc_events`` rows are pooled out;
- readmission and mortality: logistic regression (unpenalized intercept, light L2 on the rest),
  MCC admissions: Poisson regression of admissions with log person-years as offset (the events
  are counts per exposure). With an intercept, either fit makes the reference population's
  expected total equal its observed total: O/E of the whole panel is 1 by construction;
- per provider: O = observed, E = sum of predicted, O/E, risk-standardized rate = O/E x the
  panel's rate; 95% intervals from a Poisson bootstrap of the provider's patients (the model held
  fixed); shrinkage of O/E toward 1 by the reliability w = s2 / (s2 + SE^2) (AHRQ's
  signal-variance weighting), s2 the between-provider variance of O/E net of sampling variance;
- calibration: deciles of predicted risk, mean predicted vs observed; the c-statistic
  (area under the ROC curve) for the logistic models.

CMS's own models are hierarchical with a provider random effect and use condition-category
risk factors by cohort; those coefficients are not public, so this is the project's model,
fitted on the panel as its own reference population.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from sklearn.linear_model import LogisticRegression, PoissonRegressor
from sklearn.metrics import roc_auc_score

from modeling.core.panel import Panel
from modeling.dataset import Dataset
from modeling.errors import ParameterError
from modeling.marts.quality.base import attributed_provider, members_of
from modeling.marts.quality.engine import UNATTRIBUTED
from modeling.marts.quality.hospital import mcc_rows, mortality_rows, readmission_rows
from modeling.validation import require_columns
from risk_stratification.hcc.panel import score_panel

OUTCOME_MEASURES = ("readmission_30d", "mortality_30d", "mcc_admissions")
AGE_BANDS = (65, 70, 75, 80, 85)


@dataclass(frozen=True)
class RiskAdjusted:
    """One outcome measure's risk adjustment for a year."""

    measure_id: str
    year: int
    model: str
    features: tuple[str, ...]
    events: pl.DataFrame  # person_id, provider_npi, observed, exposure, expected
    by_provider: pl.DataFrame
    panel: pl.DataFrame
    calibration: pl.DataFrame  # decile, events, mean_predicted, observed_rate
    c_statistic: float | None
    panel_rate_draws: np.ndarray  # bootstrap draws of the panel's risk-standardized rate


def _events(panel: Panel, year: int, measure_id: str) -> pl.DataFrame:
    if measure_id == "readmission_30d":
        frame = readmission_rows(panel, year)
    elif measure_id == "mortality_30d":
        frame = mortality_rows(panel, year)
    elif measure_id == "mcc_admissions":
        frame = mcc_rows(panel, year)
    else:
        raise ParameterError(
            f"{measure_id!r} is not a risk-adjusted outcome measure; choose one of "
            f"{', '.join(OUTCOME_MEASURES)}."
        )
    return (
        frame.select(
            "person_id",
            pl.col("numerator").alias("observed"),
            pl.col("denominator").alias("exposure"),
        )
        .join(attributed_provider(panel, year), on="person_id", how="left")
        .with_columns(pl.col("provider_npi").fill_null(UNATTRIBUTED))
        .collect()
    )


def risk_factors(panel: Panel, year: int) -> pl.DataFrame:
    """person_id, age, female, segment, hccs (CMS-HCC V28 from the diagnoses of ``year - 1``)."""
    scores = score_panel(panel, year).scores
    hcc_col = next(c for c in scores.columns if c.startswith("hccs_"))
    sex = members_of(panel, year).select(
        "person_id", (pl.col("gender") == "female").alias("female")
    )
    return (
        scores.select("person_id", "age", "segment", pl.col(hcc_col).alias("hccs"))
        .join(sex.collect(), on="person_id", how="left")
        .with_columns(pl.col("female").fill_null(False))
    )


def _design(frame: pl.DataFrame, min_hcc_events: int) -> tuple[np.ndarray, list[str]]:
    cols: list[np.ndarray] = []
    names: list[str] = []
    age = frame["age"].fill_null(75).to_numpy()
    for low in AGE_BANDS:  # bands above 65, under 65 (disabled) and 65-69 together as base
        if low == 65:
            continue
        cols.append((age >= low).astype(float))
        names.append(f"age_{low}_plus")
    cols.append((age < 65).astype(float))
    names.append("age_under_65")
    cols.append(frame["female"].fill_null(False).cast(pl.Float64).to_numpy())
    names.append("female")
    segments = frame["segment"].fill_null("CNA")
    for seg in sorted(set(segments.to_list()) - {"CNA"}):
        cols.append((segments == seg).cast(pl.Float64).to_numpy())
        names.append(f"segment_{seg}")
    exploded = frame.select(pl.int_range(pl.len()).alias("row"), "hccs").explode("hccs")
    counts = (
        exploded.drop_nulls("hccs").group_by("hccs").len().filter(pl.col("len") >= min_hcc_events)
    )
    for hcc in sorted(counts["hccs"].to_list(), key=lambda h: (len(h), h)):
        rows_with = exploded.filter(pl.col("hccs") == hcc)["row"].to_numpy()
        col = np.zeros(frame.height)
        col[rows_with] = 1.0
        cols.append(col)
        names.append(f"hcc_{hcc}")
    return np.column_stack(cols) if cols else np.zeros((frame.height, 0)), names


def _bootstrap(
    provider_index: np.ndarray,
    y: np.ndarray,
    e: np.ndarray,
    n_providers: int,
    draws: int,
    seed: int,
) -> np.ndarray:
    """O/E of each provider under ``draws`` Poisson(1) reweightings of its patients."""
    rng = np.random.default_rng(seed)
    out = np.empty((draws, n_providers))
    for b in range(draws):
        w = rng.poisson(1.0, size=y.size)
        o = np.bincount(provider_index, weights=w * y, minlength=n_providers)
        ex = np.bincount(provider_index, weights=w * e, minlength=n_providers)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[b] = o / ex
    return out


def risk_adjust(
    source: Panel | Dataset,
    year: int,
    measure_id: str,
    *,
    min_hcc_events: int = 20,
    draws: int = 200,
    seed: int = 18,
    factors: pl.DataFrame | None = None,
) -> RiskAdjusted:
    """Fit the measure's risk model on the panel's events of ``year`` and compare providers
    (``factors``: ``risk_factors(panel, year)`` computed once for several measures)."""
    panel = Panel.of(source)
    if draws < 10:
        raise ParameterError(f"draws must be at least 10 for bootstrap intervals (got {draws}).")
    events = _events(panel, year, measure_id)
    if events.height < 50 or events["observed"].sum() == 0:
        raise ParameterError(
            f"{measure_id} has {events.height} events and {events['observed'].sum():.0f} "
            f"outcomes in {year}: too few to fit a risk model."
        )
    factors = factors if factors is not None else risk_factors(panel, year)
    # one fixed row order (joins and group-bys do not keep one): the fit, the bootstrap's
    # weights and the calibration deciles' tie-breaking then give the same figures every run
    data = events.join(factors, on="person_id", how="left").sort(
        "person_id", "provider_npi", "observed", "exposure"
    )
    x, names = _design(data, min_hcc_events)
    y = data["observed"].to_numpy().astype(float)
    exposure = data["exposure"].to_numpy().astype(float)
    if measure_id == "mcc_admissions":
        model = "poisson (log person-years offset)"
        rate = y / exposure
        fit = PoissonRegressor(alpha=1e-4, max_iter=1000, tol=1e-10).fit(
            x, rate, sample_weight=exposure
        )
        expected = fit.predict(x) * exposure
        c_stat = None
    else:
        model = "logistic"
        fit_l = LogisticRegression(C=100.0, max_iter=2000, tol=1e-10).fit(x, y)
        expected = fit_l.predict_proba(x)[:, 1]
        c_stat = float(roc_auc_score(y, expected)) if 0 < y.sum() < y.size else None
    events = data.select("person_id", "provider_npi", "observed", "exposure").with_columns(
        pl.Series("expected", expected)
    )
    return RiskAdjusted(
        measure_id=measure_id,
        year=year,
        model=model,
        features=tuple(names),
        events=events,
        by_provider=_compare(events, draws=draws, seed=seed, counts=measure_id == "mcc_admissions"),
        panel=_compare(
            events.with_columns(pl.lit("panel").alias("provider_npi")),
            draws=draws,
            seed=seed,
            counts=measure_id == "mcc_admissions",
        ),
        calibration=calibration_deciles(y, expected, exposure),
        c_statistic=c_stat,
        panel_rate_draws=_bootstrap(np.zeros(y.size, dtype=np.int64), y, expected, 1, draws, seed)[
            :, 0
        ]
        * (y.sum() / exposure.sum()),
    )


def by_unit(
    adjusted: RiskAdjusted,
    units: pl.DataFrame,
    *,
    unit: str = "provider_tin",
    draws: int = 200,
    seed: int = 18,
) -> pl.DataFrame:
    """The provider comparison pooled to a larger unit (the attributed provider's practice, its
    TIN): each index event goes to the unit of its person (``units``: person_id and ``unit``;
    a person without one is ``unattributed``), and a unit's observed and expected events are
    the sums over its events, hence over its providers' observed and expected; O/E is the
    ratio of those sums, never an average of the providers' ratios. The risk model is the one
    fitted on the whole panel (``adjusted``); intervals, reliability and shrunken O/E follow
    the provider comparison's rules at the unit's level, and ``providers`` counts the distinct
    attributed providers whose events the unit pools. Pooling by the person's own unit also
    handles a provider whose patients are attributed under more than one TIN."""
    if unit == "person_id" or unit in adjusted.events.columns:
        raise ParameterError(
            f"by_unit: the unit column must be a new column such as provider_tin, not {unit!r}."
        )
    require_columns(units, ("person_id", unit), where="by_unit units")
    if draws < 10:
        raise ParameterError(f"draws must be at least 10 for bootstrap intervals (got {draws}).")
    mapping = units.select(pl.col("person_id"), pl.col(unit).cast(pl.String)).unique(
        "person_id", keep="first"
    )
    events = (
        adjusted.events.join(mapping, on="person_id", how="left")
        .with_columns(pl.col(unit).fill_null(UNATTRIBUTED))
        .sort("person_id", "provider_npi", "observed", "exposure", "expected")
    )  # a fixed row order, so the bootstrap gives the same interval every run
    pooled = _compare(
        events,
        draws=draws,
        seed=seed,
        counts=adjusted.measure_id == "mcc_admissions",
        unit=unit,
    )
    providers = events.group_by(unit).agg(pl.col("provider_npi").n_unique().alias("providers"))
    return pooled.join(providers, on=unit, how="left").select(
        unit, "providers", *[c for c in pooled.columns if c != unit]
    )


def _compare(
    events: pl.DataFrame,
    *,
    draws: int,
    seed: int,
    counts: bool = False,
    unit: str = "provider_npi",
) -> pl.DataFrame:
    """Per provider (or per ``unit``): events, observed, expected, O/E with bootstrap interval,
    risk-standardized rate, reliability and shrunken O/E (the reliability uses the model's
    sampling variance of O/E, which stays positive for a provider with no events, unlike the
    bootstrap's)."""
    providers = events[unit].unique().sort()
    index = (
        events[unit]
        .replace_strict({p: i for i, p in enumerate(providers.to_list())}, return_dtype=pl.Int64)
        .to_numpy()
    )
    y = events["observed"].to_numpy()
    e = events["expected"].to_numpy()
    n = providers.len()
    boot = _bootstrap(index, y, e, n, draws, seed)
    low, high = np.nanpercentile(boot, [2.5, 97.5], axis=0)
    o = np.bincount(index, weights=y, minlength=n)
    ex = np.bincount(index, weights=e, minlength=n)
    # sampling variance of O/E under the model: sum of the events' variances over E^2
    # (Bernoulli p(1-p) for the logistic models, Poisson mu for counts)
    variance = e if counts else e * (1 - e)
    se = np.sqrt(np.bincount(index, weights=variance, minlength=n)) / ex
    exposure = np.bincount(index, weights=events["exposure"].to_numpy(), minlength=n)
    oe = o / ex
    panel_rate = y.sum() / events["exposure"].sum()
    signal = max(float(np.nanvar(oe) - np.nanmean(se**2)), 0.0) if n > 1 else 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        reliability = signal / (signal + se**2) if n > 1 else np.ones(n)
    shrunk = reliability * oe + (1 - reliability) * 1.0
    return pl.DataFrame(
        {
            unit: providers,
            "events": np.bincount(index, minlength=n),
            "exposure": exposure,
            "observed": o,
            "expected": ex,
            "observed_to_expected": oe,
            "oe_ci_low": low,
            "oe_ci_high": high,
            "risk_standardized_rate": oe * panel_rate,
            "rsr_ci_low": low * panel_rate,
            "rsr_ci_high": high * panel_rate,
            "reliability": reliability,
            "shrunken_oe": shrunk,
        }
    )


def calibration_deciles(y: np.ndarray, expected: np.ndarray, exposure: np.ndarray) -> pl.DataFrame:
    """Deciles of predicted risk (expected per unit of exposure): mean predicted and observed."""
    risk = expected / exposure
    frame = pl.DataFrame({"risk": risk, "y": y, "e": expected, "x": exposure})
    decile = (pl.col("risk").rank("ordinal") * 10 / pl.len()).ceil().cast(pl.Int32).clip(1, 10)
    return (
        frame.with_columns(decile.alias("decile"))
        .group_by("decile")
        .agg(
            pl.len().alias("events"),
            (pl.col("e").sum() / pl.col("x").sum()).alias("mean_predicted"),
            (pl.col("y").sum() / pl.col("x").sum()).alias("observed_rate"),
        )
        .sort("decile")
    )


def funnel_limits(max_expected: float, *, points: int = 60) -> pl.DataFrame:
    """Control limits of a funnel plot of O/E against expected events: for a provider with E
    expected events and no real difference, O is Poisson(E), so O/E falls inside
    [q_0.025(E), q_0.975(E)] / E (95%) and [q_0.001, q_0.999] / E (99.8%) (Spiegelhalter's
    funnel plot for institutional comparisons)."""
    from scipy import stats

    expected = np.geomspace(0.5, max(max_expected, 1.0) * 1.05, points)
    return pl.DataFrame(
        {
            "expected": expected,
            "low_95": stats.poisson.ppf(0.025, expected) / expected,
            "high_95": stats.poisson.ppf(0.975, expected) / expected,
            "low_998": stats.poisson.ppf(0.001, expected) / expected,
            "high_998": stats.poisson.ppf(0.999, expected) / expected,
        }
    )


def outside_limits(by_provider: pl.DataFrame) -> pl.DataFrame:
    """``by_provider`` with ``outside``: whether the provider's observed events fall outside
    the 95% Poisson limits of its expected events (the funnel plot's dashed lines)."""
    from scipy import stats

    e = by_provider["expected"].to_numpy()
    o = by_provider["observed"].to_numpy()
    low, high = stats.poisson.ppf(0.025, e), stats.poisson.ppf(0.975, e)
    return by_provider.with_columns(pl.Series("outside", (o < low) | (o > high)))
