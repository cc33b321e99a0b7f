"""The synthetic panel's region: what CMS would report as the ACO's regional and national FFS
per-capita expenditures by enrollment type, and the national-regional growth blend.

A real ACO's benchmark is adjusted toward its region (42 CFR 425.656) and updated by the blend
of national and regional growth (425.601(b)-(c), 425.652(b)); a synthetic panel needs a region
for the same rules to apply. The region is generated with the panel, from its own random stream
(seed ``[spec.seed, REGION_SALT]``) so that no row or value of the panel changes:

- regional per capita (enrollment type t, year y) = the panel's per capita (t, y) /
  ``efficiency_vs_region`` x (1 + e), e ~ N(0, ``regional_noise_sd``): a region whose FFS
  beneficiaries of the panel's risk cost more (efficiency < 1) or less than the panel;
- national per capita (t, y) = regional (t, first year) / ``regional_to_national``, grown each
  year at the regional growth plus ``national_minus_regional_growth``;
- national-regional growth of year y = ``aco_share_of_region`` x national growth + (1 - it) x
  regional growth, pooled over enrollment types by the panel's person-years.

Parameters: ``modeling/data/synth_region.csv`` (each with its meaning and source). The result
is recorded in the dataset's manifest, ``source["region"]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from typing import Any

import numpy as np
import polars as pl

from modeling.core.member_months import member_months
from modeling.errors import ParameterError

REGION_SALT = 0x5E610  # this module's own stream: [spec.seed, REGION_SALT]


@cache
def region_params() -> dict[str, float]:
    table = pl.read_csv(files("modeling").joinpath("data", "synth_region.csv").read_bytes())
    return {r["name"]: float(r["value"]) for r in table.iter_rows(named=True)}


@dataclass
class RegionAccumulator:
    """Sums of the panel's paid amounts and member months by year and enrollment type, chunk by
    chunk, from the tables the generator writes."""

    paid: dict[tuple[int, str], float] = field(default_factory=dict)
    months: dict[tuple[int, str], int] = field(default_factory=dict)

    def add(self, tables: dict[str, pl.DataFrame]) -> None:
        mm = (
            member_months(tables["eligibility"].lazy())
            .select("person_id", "year", "enrollment_type")
            .collect()
        )
        last_type = mm.group_by("person_id", "year").agg(
            pl.col("enrollment_type").last(), pl.len().alias("months")
        )
        paid = (
            tables["medical_claim"]
            .group_by("person_id", pl.col("claim_start_date").dt.year().alias("year"))
            .agg(pl.col("paid_amount").cast(pl.Float64).sum().alias("paid"))
        )
        by_type = (
            last_type.join(paid, on=["person_id", "year"], how="left")
            .group_by("year", "enrollment_type")
            .agg(pl.col("paid").fill_null(0.0).sum(), pl.col("months").sum())
        )
        for r in by_type.iter_rows(named=True):
            key = (int(r["year"]), str(r["enrollment_type"]))
            self.paid[key] = self.paid.get(key, 0.0) + float(r["paid"])
            self.months[key] = self.months.get(key, 0) + int(r["months"])

    def region(self, seed: int, params: dict[str, float] | None = None) -> dict[str, Any]:
        """The region as recorded in the manifest (see the module docstring)."""
        p = params or region_params()
        if not 0 < p["efficiency_vs_region"] <= 2:
            raise ParameterError(
                f"efficiency_vs_region must be in (0, 2] (got {p['efficiency_vs_region']})."
            )
        rng = np.random.default_rng([seed, REGION_SALT])
        keys = sorted(k for k in self.months if self.months[k] > 0)
        years = sorted({y for y, _ in keys})
        regional: dict[int, dict[str, float]] = {}
        for y, t in keys:  # sorted: the draws' order is fixed
            pc = self.paid[(y, t)] / (self.months[(y, t)] / 12)
            e = rng.normal(0.0, p["regional_noise_sd"])
            regional.setdefault(y, {})[t] = pc / p["efficiency_vs_region"] * (1 + e)
        national: dict[int, dict[str, float]] = {years[0]: {}}
        for t, v in regional[years[0]].items():
            national[years[0]][t] = v / p["regional_to_national"]
        growth: dict[int, float] = {}
        for prev, y in zip(years, years[1:], strict=False):
            national[y] = {}
            weights, regional_g, national_g = 0.0, 0.0, 0.0
            for t, v in regional[y].items():
                before = regional[prev].get(t)
                if not before:  # a type first seen this year
                    national[y][t] = v / p["regional_to_national"]
                    continue
                g = v / before - 1
                national[y][t] = national[prev].get(t, v / p["regional_to_national"]) * (
                    1 + g + p["national_minus_regional_growth"]
                )
                w = self.months[(y, t)]
                weights += w
                regional_g += w * g
                national_g += w * (g + p["national_minus_regional_growth"])
            share = p["aco_share_of_region"]
            growth[y] = (share * national_g + (1 - share) * regional_g) / weights
        return {
            "parameters": dict(p),
            "regional_per_capita": {str(y): v for y, v in regional.items()},
            "national_per_capita": {str(y): v for y, v in national.items()},
            "national_regional_growth": {str(y): g for y, g in growth.items()},
        }
