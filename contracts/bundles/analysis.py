"""The bundle questions end to end, for the CLI and the page: which model, its episodes on a
panel, target prices (a file or estimated), one hospital's reconciliation, the tracks side by
side and the distribution.

A model is ``"team"``, ``"bpci-advanced"`` or the path of a commercial bundle's TOML file
(``contracts.bundles.definitions``). ``rules_year`` is the model year whose rules apply (TEAM's
first performance year, 2026, by default; BPCI Advanced's last, 2025); ``performance_year`` the
calendar year of the episodes reconciled (by default the last year with kept episodes), its
baseline the years before it in the data. Applying TEAM's 2026 rules to a panel's 2023-2025
claims is the "shadow" reconciliation a hospital runs before its own performance years.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from contracts.bundles.build import EpisodeTable, panel_episodes
from contracts.bundles.definitions import (
    CommercialTerms,
    EpisodeDefinition,
    definition,
    load_commercial_bundle,
)
from contracts.bundles.episodes import KEPT
from contracts.bundles.hospital import (
    HospitalYear,
    hospital_reconciliation,
    hospitals,
    track_comparison,
)
from contracts.bundles.parameters import parameter, tracks
from contracts.bundles.reconciliation import (
    ReconciliationRules,
    commercial_rules,
    reconciliation_rules,
)
from contracts.bundles.target_prices import (
    TargetPrices,
    estimate_target_prices,
    file_target_prices,
    load_target_price_file,
    risk_factors,
)
from modeling.core.panel import Panel
from modeling.dataset import Dataset
from modeling.errors import ParameterError

DEFAULT_RULES_YEAR = {"team": 2026, "bpci-advanced": 2025}


@dataclass(frozen=True)
class BundleModel:
    """A model's episode definition and, for a commercial bundle, its terms."""

    spec: EpisodeDefinition
    terms: CommercialTerms | None

    @property
    def name(self) -> str:
        return self.spec.model


def bundle_model(model: str, *, rules_year: int | None = None) -> BundleModel:
    """``"team"``, ``"bpci-advanced"`` or a commercial bundle file."""
    if model in DEFAULT_RULES_YEAR:
        year = rules_year or DEFAULT_RULES_YEAR[model]
        return BundleModel(definition(model, performance_year=year), None)
    if model.endswith(".toml"):
        spec, terms = load_commercial_bundle(model)
        return BundleModel(spec, terms)
    raise ParameterError(
        f"Unknown bundle model {model!r}: use team, bpci-advanced or a commercial bundle .toml file."
    )


def default_performance_year(table: EpisodeTable) -> int:
    kept = table.episodes.filter(pl.col("status") == KEPT)
    if kept.is_empty():
        raise ParameterError(
            f"No kept {table.spec.model} episodes in the panel (triggers: {table.episodes.height})."
        )
    return int(kept["anchor_year"].max())  # type: ignore[arg-type]


def rules_for(model: BundleModel, track: str | None) -> ReconciliationRules:
    if model.terms is not None:
        return commercial_rules(model.terms, name=model.name)
    spec = model.spec
    options = tracks(spec.model, spec.performance_year)
    chosen = track or ("3" if "3" in options else options[0])
    return reconciliation_rules(spec.model, performance_year=spec.performance_year, track=chosen)


def contract_prices(
    table: EpisodeTable, terms: CommercialTerms, *, performance_year: int
) -> TargetPrices:
    """A commercial bundle's price as every performance-year episode's target."""
    perf = table.episodes.filter(
        (pl.col("status") == KEPT) & (pl.col("anchor_year") == performance_year)
    ).select("episode_id", pl.lit(terms.price).alias("target_price"))
    steps = pl.DataFrame(
        [("bundle price", f"{terms.price:,.2f}", "per episode, from the bundle file")],
        schema=["step", "value", "note"],
        orient="row",
    )
    return TargetPrices(
        "contract", performance_year, (), perf, pl.DataFrame(), steps, pl.DataFrame()
    )


def target_prices_for(
    panel: Panel,
    table: EpisodeTable,
    model: BundleModel,
    *,
    performance_year: int,
    target_price_file: str | Path | None = None,
) -> TargetPrices:
    """The file's prices, the commercial price, or prices estimated from the panel."""
    if target_price_file is not None:
        prices = load_target_price_file(target_price_file)
        return file_target_prices(table.episodes, prices, performance_year=performance_year)
    if model.terms is not None:
        return contract_prices(table, model.terms, performance_year=performance_year)
    spec = model.spec
    lookback = int(parameter(spec.model, spec.performance_year, "hcc_lookback_days").value)
    risk = risk_factors(
        table.episodes, panel.scan("eligibility"), panel.scan("conditions"), lookback_days=lookback
    )
    return estimate_target_prices(
        table.episodes,
        risk,
        model=spec.model,
        rules_year=spec.performance_year,
        performance_year=performance_year,
    )


@dataclass(frozen=True)
class BundleReconciliation:
    """Everything ``vbc bundles reconcile`` and the page show."""

    model: BundleModel
    table: EpisodeTable
    prices: TargetPrices
    rules: ReconciliationRules
    hospital: HospitalYear
    tracks: pl.DataFrame
    hospitals: pl.DataFrame


def bundle_reconciliation(
    source: Panel | Dataset,
    model: BundleModel,
    *,
    track: str | None = None,
    performance_year: int | None = None,
    facility_npi: str | None = None,
    quality_score: float = 50.0,
    target_price_file: str | Path | None = None,
    table: EpisodeTable | None = None,
) -> BundleReconciliation:
    """Episodes, prices and the reconciliation of one hospital (by default the one with most
    episodes: "ours"), with every track of the model side by side."""
    panel = Panel.of(source)
    table = table or panel_episodes(panel, model.spec)
    year = performance_year or default_performance_year(table)
    prices = target_prices_for(
        panel, table, model, performance_year=year, target_price_file=target_price_file
    )
    listed = hospitals(table.episodes, performance_year=year)
    if listed.is_empty():
        raise ParameterError(f"No hospital has kept {model.name} episodes in {year}.")
    npi = facility_npi or str(listed["facility_npi"][0])
    rules = rules_for(model, track)
    hy = hospital_reconciliation(
        table.episodes, prices, facility_npi=npi, rules=rules, quality_score=quality_score
    )
    if model.terms is None:
        side = track_comparison(
            table.episodes,
            prices,
            facility_npi=npi,
            model=model.spec.model,
            rules_year=model.spec.performance_year,
            quality_score=quality_score,
        )
    else:
        side = pl.DataFrame()
    return BundleReconciliation(model, table, prices, rules, hy, side, listed)
