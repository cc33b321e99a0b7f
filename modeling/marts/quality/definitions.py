"""Quality measure definitions and code lists, read from ``modeling/data/quality/``.

Every measure is a row of ``measures.csv`` (denominator, numerator, exclusions, lookback,
continuous-enrollment rule, ages, source, version, status) and every code list a set of rows of
``value_sets.csv`` (code, how it matches: exact, prefix or regex, code system, source, version,
status). AHRQ's PQI ICD-10 formats are public (AHRQ QI SAS v2025, ``PQI_AREA_FORMATS.SAS``); the
lists transcribed from them say so, those written in prefix or pattern form or approximated say
that instead. HEDIS value sets (NCQA) and PQA's medication lists are licensed and are not
shipped: screening numerators come from CPT/HCPCS lists curated here, drug classes from an
NDC-to-class table that is an input (``ndc_classes``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import polars as pl

from modeling.errors import ParameterError
from modeling.validation import require_columns

DATA = ("data", "quality")
DRUG_CLASSES = ("diabetes_noninsulin", "insulin", "ras", "sacubitril_valsartan", "statin")


def _read(name: str) -> pl.DataFrame:
    path = files("modeling").joinpath(*DATA, name)
    return pl.read_csv(path.read_bytes(), infer_schema=False)


@dataclass(frozen=True)
class MeasureDefinition:
    """One measure as its definition row states it."""

    measure_id: str
    measure: str
    kind: str
    unit: str
    higher_is_better: bool
    denominator: str
    numerator: str
    exclusions: str
    lookback: str
    continuous_enrollment: str
    age_min: int | None
    age_max: int | None
    sex: str
    source: str
    version: str
    status: str


@cache
def measure_table() -> pl.DataFrame:
    """``measures.csv``: one row per measure."""
    return _read("measures.csv")


@cache
def measures() -> tuple[MeasureDefinition, ...]:
    """Every measure definition, in the file's order."""
    out = []
    for r in measure_table().iter_rows(named=True):
        out.append(
            MeasureDefinition(
                **{
                    k: v
                    for k, v in r.items()
                    if k not in ("age_min", "age_max", "higher_is_better")
                },
                higher_is_better=r["higher_is_better"] == "true",
                age_min=int(r["age_min"]) if r["age_min"] else None,
                age_max=int(r["age_max"]) if r["age_max"] else None,
            )
        )
    return tuple(out)


MEASURE_IDS = tuple(m.measure_id for m in measures())


def measure(measure_id: str) -> MeasureDefinition:
    """The definition of ``measure_id``, or a ``ParameterError`` listing the measures."""
    for m in measures():
        if m.measure_id == measure_id:
            return m
    raise ParameterError(
        f"Unknown quality measure {measure_id!r}. Measures: {', '.join(MEASURE_IDS)}."
    )


@cache
def value_sets() -> pl.DataFrame:
    """``value_sets.csv``: value_set, code, match, code_system, source, version, status."""
    return _read("value_sets.csv")


def in_value_set(column: str, value_set: str) -> pl.Expr:
    """True where ``column`` holds a code of ``value_set`` (exact codes, prefixes or patterns as
    each row of the list says); codes are compared without dots."""
    return matches(pl.col(column), value_set)


def matches(codes: pl.Expr, value_set: str) -> pl.Expr:
    """True where the codes ``codes`` evaluates to are in ``value_set`` (see ``in_value_set``)."""
    rows = value_sets().filter(pl.col("value_set") == value_set)
    if rows.is_empty():
        raise ParameterError(f"No code list {value_set!r} in modeling/data/quality/value_sets.csv.")
    code = codes.str.replace_all(".", "", literal=True)
    parts: list[pl.Expr] = []
    exact = rows.filter(pl.col("match") == "exact")["code"].to_list()
    if exact:
        parts.append(code.is_in(exact))
    prefixes = rows.filter(pl.col("match") == "prefix")["code"].to_list()
    if prefixes:
        parts.append(code.str.contains("^(" + "|".join(prefixes) + ")"))
    for pattern in rows.filter(pl.col("match") == "regex")["code"].to_list():
        parts.append(code.str.contains(pattern))
    return pl.any_horizontal(parts).fill_null(False)


@cache
def pqi_covariates() -> pl.DataFrame:
    """AHRQ's age/sex logistic parameters by PQI (``pqi_covariates.csv``)."""
    return _read("pqi_covariates.csv").with_columns(pl.col("estimate").cast(pl.Float64))


@cache
def benchmarks() -> pl.DataFrame:
    """Published benchmarks (``benchmarks.csv``): Star cut points, MIPS percentiles, AHRQ rates."""
    return _read("benchmarks.csv").with_columns(pl.col("value").cast(pl.Float64))


def synthetic_ndc_classes() -> pl.DataFrame:
    """The NDC-to-class table of the synthetic panel's own drug codes (``synth_drugs.csv``)."""
    return _read("synthetic_ndc_classes.csv")


def check_ndc_classes(table: pl.DataFrame) -> pl.DataFrame:
    """A user's NDC-to-class table checked: columns ndc_code and drug_class, classes among
    ``DRUG_CLASSES``."""
    require_columns(table, ("ndc_code", "drug_class"), where="the NDC-to-class table")
    unknown = sorted(set(table["drug_class"].drop_nulls().to_list()) - set(DRUG_CLASSES))
    if unknown:
        raise ParameterError(
            f"The NDC-to-class table has unknown classes {', '.join(unknown)}; "
            f"use {', '.join(DRUG_CLASSES)}."
        )
    return table.select(pl.col("ndc_code").cast(pl.String), "drug_class").unique()
