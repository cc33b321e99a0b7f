"""Target prices: the user's CMS target-price file, or prices estimated from the panel's own
baseline episodes by the model's method, each step shown.

**Estimated** (TEAM 42 CFR 512.540-512.545; the steps of research/bundles.md 1.5, with the
numbers that are unconfirmed kept as parameters):

1. Baseline episodes: kept episodes anchored in the baseline years (up to as many years before
   the performance year as the model has baseline weights), winsorized spending.
2. Trend: the panel's annual spending growth ``g``, from a log-linear fit of each baseline
   year's mean winsorized spending relative to its episode type's mean (types pooled, weighted
   by episodes). Each baseline year is trended to the last baseline year by ``exp(g x years)``.
3. Benchmark per episode type (category x priced MS-DRG/HCPCS) = the baseline years' trended
   means weighted by the model's weights (TEAM 17/33/50, unconfirmed), renormalized over the
   years the data have.
4. Preliminary target price = benchmark x prospective trend ``exp(g x (PY - last baseline
   year))`` x (1 - discount of the category).
5. Risk adjustment, multiplicative (512.545(a)): coefficients of a log-linear model of
   baseline episodes' winsorized spending relative to their type's mean on the TEAM HCC count
   (0, 1, 2, 3, 4+ CMS-HCC V28 HCCs in the 180 days before the anchor), the age bracket on day
   1 (<65, 65-74, 75-84, 85+) and economic status (full or partial dual at the anchor: the LIS
   and full-Medicaid criteria; the Community Deprivation Index is not in claims). Hospital
   factors (bed size, safety-net status) are not in claims and are left at 1.
6. Prospective normalization = 1 / mean baseline risk multiplier; the final normalization is
   1 / mean performance-year multiplier, bounded to +/- ``normalization_cap`` of the
   prospective one.
7. Retrospective trend: the observed growth from the last baseline year to the performance
   year replaces the prospective trend, bounded to +/- ``retrospective_trend_cap`` of it.
8. Reconciliation target price = preliminary x risk multiplier x final normalization x
   (final trend / prospective trend).

The region is the panel itself (its hospitals); CMS uses the census division.

**A CMS file** (``load_target_price_file``): CSV with columns ``priced_as`` (the MS-DRG or
HCPCS of the episode type, as in the episodes' ``priced_as``) and ``target_price``, and
optionally ``facility_npi`` (hospital-specific prices) and ``episode_category``. Its prices
are used as each episode's reconciliation target price as given (CMS's prices are in
standardized dollars, spending here in paid dollars: see ``spending``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from contracts.bundles.episodes import KEPT
from contracts.bundles.parameters import parameter
from modeling.codes import FULL_OR_PARTIAL_DUAL
from modeling.errors import ParameterError, SchemaError

AGE_BANDS = ("<65", "65-74", "75-84", "85+")
HCC_BINS = ("0", "1", "2", "3", "4+")
RISK_TERMS = ("hcc_1", "hcc_2", "hcc_3", "hcc_4+", "age_<65", "age_75-84", "age_85+", "economic")


def preliminary_target_price(
    baseline_means: list[float],
    trend_to_last_year: list[float],
    weights: list[float],
    *,
    prospective_trend: float,
    discount: float,
) -> tuple[float, float]:
    """(weighted benchmark, preliminary target price): steps 2-4 for one episode type."""
    if not len(baseline_means) == len(trend_to_last_year) == len(weights) or not weights:
        raise ParameterError("baseline means, trends and weights must be lists of one length.")
    total = sum(weights)
    benchmark = sum(
        w * m * t for w, m, t in zip(weights, baseline_means, trend_to_last_year, strict=True)
    )
    benchmark /= total
    return benchmark, benchmark * prospective_trend * (1 - discount)


def bounded(value: float, reference: float, cap: float | None) -> float:
    """``value`` kept within +/- ``cap`` (a share) of ``reference``."""
    if cap is None:
        return value
    return min(max(value, reference * (1 - cap)), reference * (1 + cap))


def reconciliation_target_price(
    preliminary: float,
    risk_multiplier: float,
    *,
    prospective_normalization: float,
    final_normalization: float,
    normalization_cap: float | None,
    prospective_trend: float,
    final_trend: float,
    trend_cap: float | None,
) -> float:
    """Steps 6-8 for one episode."""
    norm = bounded(final_normalization, prospective_normalization, normalization_cap)
    trend = bounded(final_trend, prospective_trend, trend_cap)
    return preliminary * risk_multiplier * norm * (trend / prospective_trend)


@dataclass(frozen=True)
class TargetPrices:
    """Reconciliation target prices and how they were made.

    ``episodes``: episode_id, target_price (and the risk terms and multiplier when estimated);
    ``types``: the benchmark, preliminary price and discount by episode type; ``steps``: step,
    value, note; ``coefficients``: term, coefficient, multiplier.
    """

    method: str  # "estimated" | "file"
    performance_year: int
    baseline_years: tuple[int, ...]
    episodes: pl.DataFrame
    types: pl.DataFrame
    steps: pl.DataFrame
    coefficients: pl.DataFrame


def load_target_price_file(path: str | Path) -> pl.DataFrame:
    """A CMS target-price file (format in the module docstring)."""
    p = Path(path)
    if not p.is_file():
        raise ParameterError(f"Target-price file {p} does not exist.")
    try:
        frame = pl.read_csv(p, infer_schema=False, glob=False)
    except pl.exceptions.ComputeError as exc:
        raise ParameterError(f"Target-price file {p} is not a readable CSV: {exc}.") from exc
    missing = [c for c in ("priced_as", "target_price") if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"Target-price file {p} lacks column(s) {', '.join(missing)}: it needs priced_as "
            "(MS-DRG or HCPCS of the episode type) and target_price, optionally facility_npi."
        )
    prices = frame.with_columns(pl.col("target_price").cast(pl.Float64, strict=False))
    bad = prices.filter(pl.col("target_price").is_null() | (pl.col("target_price") < 0))
    if bad.height:
        raise ParameterError(
            f"Target-price file {p}: {bad.height} row(s) without a non-negative number in target_price "
            f"(first: priced_as {bad['priced_as'][0]})."
        )
    return prices


def prices_from_file(episodes: pl.DataFrame, prices: pl.DataFrame) -> pl.DataFrame:
    """episode_id, target_price for kept episodes from a target-price file (hospital-specific
    rows win over regional ones)."""
    kept = episodes.filter(pl.col("status") == KEPT).select(
        "episode_id", "priced_as", "facility_npi"
    )
    regional = prices
    if "facility_npi" in prices.columns:
        regional = prices.filter(pl.col("facility_npi").fill_null("") == "")
        own = prices.filter(pl.col("facility_npi").fill_null("") != "").select(
            "priced_as", "facility_npi", pl.col("target_price").alias("_own")
        )
        kept = kept.join(own, on=["priced_as", "facility_npi"], how="left")
    else:
        kept = kept.with_columns(pl.lit(None, dtype=pl.Float64).alias("_own"))
    reg = regional.select("priced_as", pl.col("target_price").alias("_regional")).unique(
        "priced_as"
    )
    return kept.join(reg, on="priced_as", how="left").select(
        "episode_id", pl.coalesce("_own", "_regional").alias("target_price")
    )


def risk_factors(
    episodes: pl.DataFrame,
    eligibility: pl.LazyFrame,
    conditions: pl.LazyFrame,
    *,
    lookback_days: int,
) -> pl.DataFrame:
    """episode_id, hcc_count, age_band, economic for kept episodes (step 5's variables)."""
    from risk_stratification.hcc.tables import load_tables

    kept = episodes.filter(pl.col("status") == KEPT).select(
        "episode_id", "person_id", "anchor_start"
    )
    tables = load_tables("V28")
    first = kept["anchor_start"].min() if kept.height else None
    last = kept["anchor_start"].max() if kept.height else None
    dx = (
        conditions.select("person_id", "claim_start_date", "diagnosis_code")
        # cheap filters first (applied while scanning): the episodes' people, the lookback
        # dates, diagnoses that map to an HCC; then the per-episode window
        .filter(
            pl.col("person_id").is_in(kept["person_id"].unique().implode())
            & pl.col("claim_start_date").is_between(
                pl.lit(first) - pl.duration(days=lookback_days), pl.lit(last)
            )
            & pl.col("diagnosis_code").is_in(tables.dx_to_cc["diagnosis_code"].unique().implode())
        )
        .join(kept.lazy(), on="person_id", how="inner")
        .filter(
            (pl.col("claim_start_date") < pl.col("anchor_start"))
            & (
                pl.col("claim_start_date")
                >= pl.col("anchor_start") - pl.duration(days=lookback_days)
            )
        )
        .join(tables.dx_to_cc.lazy(), on="diagnosis_code", how="inner")
        .select("episode_id", "cc")
        .unique()
        .collect()
    )
    children = dx.join(
        tables.hierarchies.rename({"parent": "cc", "child": "_child"}), on="cc", how="inner"
    ).select("episode_id", pl.col("_child").alias("cc"))
    counted = (
        dx.join(children, on=["episode_id", "cc"], how="anti")
        .group_by("episode_id")
        .agg(pl.len().alias("hcc_count"))
    )
    people = (
        eligibility.select(
            "person_id",
            "birth_date",
            "dual_status_code",
            "enrollment_start_date",
            "enrollment_end_date",
        )
        .join(kept.lazy(), on="person_id", how="inner")
        .filter(pl.col("anchor_start").is_between("enrollment_start_date", "enrollment_end_date"))
        .group_by("episode_id")
        .agg(
            pl.col("birth_date").first(),
            pl.col("dual_status_code").is_in(FULL_OR_PARTIAL_DUAL).any().alias("economic"),
            pl.col("anchor_start").first(),
        )
        .collect()
    )
    age = (pl.col("anchor_start") - pl.col("birth_date")).dt.total_days() / 365.25
    band = (
        pl.when(age < 65)
        .then(pl.lit("<65"))
        .when(age < 75)
        .then(pl.lit("65-74"))
        .when(age < 85)
        .then(pl.lit("75-84"))
        .otherwise(pl.lit("85+"))
    )
    return (
        kept.select("episode_id")
        .join(counted, on="episode_id", how="left")
        .join(
            people.select("episode_id", band.alias("age_band"), "economic"),
            on="episode_id",
            how="left",
        )
        .with_columns(
            pl.col("hcc_count").fill_null(0).cast(pl.Int32),
            pl.col("age_band").fill_null("65-74"),
            pl.col("economic").fill_null(False),
        )
    )


def _design(frame: pl.DataFrame) -> np.ndarray:
    h = frame["hcc_count"].to_numpy()
    a = frame["age_band"].to_numpy().astype(str)
    cols = [
        h == 1,
        h == 2,
        h == 3,
        h >= 4,
        a == "<65",
        a == "75-84",
        a == "85+",
        frame["economic"].to_numpy().astype(bool),
    ]
    return np.column_stack(cols).astype(float)


def _year_index(base: pl.DataFrame) -> pl.DataFrame:
    """anchor_year, index, episodes: each year's spending relative to its types' means."""
    rel = base.with_columns(
        (pl.col("winsorized_spending") / pl.col("winsorized_spending").mean().over("_type")).alias(
            "_rel"
        )
    )
    return (
        rel.group_by("anchor_year")
        .agg(pl.col("_rel").mean().alias("index"), pl.len().alias("episodes"))
        .sort("anchor_year")
    )


def estimate_target_prices(
    episodes: pl.DataFrame,
    risk: pl.DataFrame,
    *,
    model: str,
    rules_year: int,
    performance_year: int,
) -> TargetPrices:
    """Reconciliation target prices for the kept episodes anchored in ``performance_year``,
    estimated from the kept episodes of the years before it (steps in the module docstring).
    ``risk`` is ``risk_factors`` of the episodes; parameters are the model's for
    ``rules_year``."""

    def value(name: str, **kw: str) -> str:
        return parameter(model, rules_year, name, **kw).value

    weights_all = [float(w) for w in value("baseline_weights").split()]
    kept = (
        episodes.filter(pl.col("status") == KEPT)
        .join(risk, on="episode_id", how="left")
        .with_columns(pl.concat_str("episode_category", pl.lit("|"), "priced_as").alias("_type"))
    )
    years = sorted(y for y in kept["anchor_year"].unique().to_list() if y < performance_year)[
        -len(weights_all) :
    ]
    if not years:
        raise ParameterError(
            f"No baseline episodes before performance year {performance_year}: the panel's kept "
            f"episodes are anchored in {sorted(kept['anchor_year'].unique().to_list())}."
        )
    weights = weights_all[-len(years) :]
    base = kept.filter(pl.col("anchor_year").is_in(years))
    perf = kept.filter(pl.col("anchor_year") == performance_year)
    if perf.is_empty():
        raise ParameterError(f"No kept episodes anchored in performance year {performance_year}.")
    index = _year_index(base)
    if index.height >= 2:
        x = index["anchor_year"].to_numpy().astype(float)
        g = float(
            np.polyfit(x, np.log(index["index"].to_numpy()), 1, w=np.sqrt(index["episodes"]))[0]
        )
    else:
        g = 0.0
    last = years[-1]
    prospective = float(np.exp(g * (performance_year - last)))
    means = base.group_by(
        "_type", "episode_category", "priced_as", "medical_surgical", "anchor_year"
    ).agg(pl.col("winsorized_spending").mean().alias("mean"), pl.len().alias("n"))
    w = pl.DataFrame({"anchor_year": years, "weight": weights})
    bench = (
        means.join(w, on="anchor_year")
        .with_columns(
            (pl.col("mean") * (g * (last - pl.col("anchor_year"))).exp()).alias("trended")
        )
        .group_by("_type", "episode_category", "priced_as", "medical_surgical")
        .agg(
            ((pl.col("trended") * pl.col("weight")).sum() / pl.col("weight").sum()).alias(
                "benchmark"
            ),
            pl.col("n").sum().alias("baseline_episodes"),
        )
    )
    discounts = []
    for r in bench.iter_rows(named=True):
        key = r["episode_category"] if model == "team" else (r["medical_surgical"] or "medical")
        discounts.append(float(value("discount", episode_category=key)))
    types = bench.with_columns(pl.Series("discount", discounts)).with_columns(
        (pl.col("benchmark") * prospective * (1 - pl.col("discount"))).alias("preliminary_price")
    )
    # step 5: log-linear risk model on baseline spending relative to the type's mean
    rel = base.with_columns(
        (pl.col("winsorized_spending") / pl.col("winsorized_spending").mean().over("_type")).alias(
            "_rel"
        )
    ).filter(pl.col("_rel") > 0)
    X = np.column_stack([np.ones(rel.height), _design(rel)])
    beta = np.linalg.lstsq(X, np.log(rel["_rel"].to_numpy()), rcond=None)[0][1:]
    mult_base = np.exp(_design(base) @ beta)
    mult_perf = np.exp(_design(perf) @ beta)
    prospective_norm = float(1 / mult_base.mean())
    final_norm_raw = float(1 / mult_perf.mean())
    norm_cap = parameter(model, rules_year, "normalization_cap").number
    trend_cap = parameter(model, rules_year, "retrospective_trend_cap").number
    final_norm = bounded(final_norm_raw, prospective_norm, norm_cap)
    both = _year_index(pl.concat([base, perf], how="vertical_relaxed"))
    idx = dict(zip(both["anchor_year"].to_list(), both["index"].to_list(), strict=True))
    final_trend_raw = float(idx[performance_year] / idx[last])
    final_trend = bounded(final_trend_raw, prospective, trend_cap)
    priced = perf.with_columns(pl.Series("risk_multiplier", mult_perf)).join(
        types.select("_type", "preliminary_price"), on="_type", how="left"
    )
    unpriced = priced.filter(pl.col("preliminary_price").is_null())
    priced = (
        priced.drop_nulls("preliminary_price")
        .with_columns(
            (
                pl.col("preliminary_price")
                * pl.col("risk_multiplier")
                * final_norm
                * (final_trend / prospective)
            ).alias("target_price")
        )
        .select(
            "episode_id",
            "target_price",
            "preliminary_price",
            "risk_multiplier",
            "hcc_count",
            "age_band",
            "economic",
        )
    )
    cite = {
        n: parameter(model, rules_year, n)
        for n in ("baseline_weights", "normalization_cap", "retrospective_trend_cap")
    }
    steps = pl.DataFrame(
        [
            (
                "baseline years",
                ", ".join(map(str, years)),
                f"weights {weights} (model: {weights_all}, renormalized over the years in the data); {cite['baseline_weights'].status}",
            ),
            ("annual trend g", f"{g:+.4f}", "log-linear fit of baseline years' spending index"),
            ("prospective trend", f"{prospective:.4f}", f"exp(g x ({performance_year} - {last}))"),
            (
                "baseline risk multiplier mean",
                f"{mult_base.mean():.4f}",
                "risk model on baseline episodes",
            ),
            (
                "prospective normalization",
                f"{prospective_norm:.4f}",
                "1 / baseline mean multiplier",
            ),
            (
                "final normalization (raw)",
                f"{final_norm_raw:.4f}",
                "1 / performance-year mean multiplier",
            ),
            (
                "final normalization",
                f"{final_norm:.4f}",
                f"bounded to +/-{norm_cap} of prospective; {cite['normalization_cap'].status}",
            ),
            (
                "final trend (raw)",
                f"{final_trend_raw:.4f}",
                f"spending index {performance_year} / {last}",
            ),
            (
                "final trend",
                f"{final_trend:.4f}",
                f"bounded to +/-{trend_cap} of prospective; {cite['retrospective_trend_cap'].status}",
            ),
            ("hospital factors", "1", "bed size and safety-net status are not in claims"),
            (
                "episodes without a baseline price",
                str(unpriced.height),
                "their episode type has no baseline episodes; left out of the reconciliation",
            ),
        ],
        schema=["step", "value", "note"],
        orient="row",
    )
    coefficients = pl.DataFrame(
        {"term": list(RISK_TERMS), "coefficient": beta, "multiplier": np.exp(beta)}
    )
    return TargetPrices(
        method="estimated",
        performance_year=performance_year,
        baseline_years=tuple(years),
        episodes=priced,
        types=types.drop("_type").sort("episode_category", "priced_as"),
        steps=steps,
        coefficients=coefficients,
    )


def file_target_prices(
    episodes: pl.DataFrame, prices: pl.DataFrame, *, performance_year: int
) -> TargetPrices:
    """``TargetPrices`` from a CMS target-price file for the performance year's episodes."""
    perf = episodes.filter(pl.col("anchor_year") == performance_year)
    priced = prices_from_file(perf, prices)
    missing = priced.filter(pl.col("target_price").is_null())
    steps = pl.DataFrame(
        [
            ("method", "file", "reconciliation target prices from the user's file, as given"),
            ("episodes without a price", str(missing.height), "left out of the reconciliation"),
        ],
        schema=["step", "value", "note"],
        orient="row",
    )
    return TargetPrices(
        method="file",
        performance_year=performance_year,
        baseline_years=(),
        episodes=priced.drop_nulls("target_price"),
        types=prices,
        steps=steps,
        coefficients=pl.DataFrame(
            schema={"term": pl.String, "coefficient": pl.Float64, "multiplier": pl.Float64}
        ),
    )
