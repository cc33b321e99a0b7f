"""Bundled-payment parameters as data: trigger lists, exclusion lists and the rules of each model
by performance year (and track), each row with its source and, where it was not confirmed
against the primary text, its status.

Files in ``contracts/data/bundles/``:

| file | what |
|---|---|
| ``triggers.csv`` | model, episode category, anchor type, MS-DRG or HCPCS trigger code (TEAM: 42 CFR 512.525/512.540; BPCI Advanced: CMS shadow-bundles trigger list 2025-01-21) |
| ``excluded_readmission_drgs.csv`` | readmission MS-DRGs whose stays are excluded from episode spending (shadow bundles Table 19) |
| ``excluded_mdc.csv``, ``mdc_drg_ranges.csv`` | excluded MDCs (Table 36) and the MS-DRG ranges that make them up |
| ``excluded_hcpcs.csv`` | Part B drugs (Table 35) and hemophilia clotting factors (Table 18) excluded from spending |
| ``parameters.csv`` | model, performance year, track, episode category, parameter, value, source, status |

A model, year or track missing from ``parameters.csv`` is a ``ParameterError`` naming the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import polars as pl

from modeling.errors import ParameterError

MODELS = ("team", "bpci-advanced")
PARAMETERS_FILE = "contracts/data/bundles/parameters.csv"


@cache
def bundle_csv(name: str) -> pl.DataFrame:
    """A file of ``contracts/data/bundles`` with every column as text."""
    return pl.read_csv(
        files("contracts").joinpath("data", "bundles", name).read_bytes(), infer_schema=False
    )


def triggers(model: str) -> pl.DataFrame:
    """episode_category, anchor_type (inpatient|outpatient), code, medical_surgical,
    priced_as_drg, source, status: the model's trigger codes."""
    table = bundle_csv("triggers.csv").filter(pl.col("model") == model)
    if table.is_empty():
        raise ParameterError(
            f"No trigger codes for bundle model {model!r} in contracts/data/bundles/triggers.csv "
            f"(models: {', '.join(MODELS)}); a commercial bundle defines its own in its TOML file."
        )
    return table.drop("model")


def excluded_readmission_drgs() -> pl.DataFrame:
    """drg_code, description, mdc of readmission stays excluded from episode spending."""
    return bundle_csv("excluded_readmission_drgs.csv")


def excluded_mdc_drgs() -> pl.DataFrame:
    """drg_code, mdc: every MS-DRG of an excluded MDC (ranges expanded)."""
    ranges = bundle_csv("mdc_drg_ranges.csv").join(
        bundle_csv("excluded_mdc.csv").select("mdc"), on="mdc", how="semi"
    )
    rows = [
        (f"{d:03d}", r["mdc"])
        for r in ranges.iter_rows(named=True)
        for d in range(int(r["drg_from"]), int(r["drg_to"]) + 1)
    ]
    return pl.DataFrame(rows, schema=["drg_code", "mdc"], orient="row")


def excluded_hcpcs() -> pl.DataFrame:
    """hcpcs_code, reason: Part B drug and clotting-factor lines excluded from spending."""
    return bundle_csv("excluded_hcpcs.csv").select("hcpcs_code", "reason").unique("hcpcs_code")


@dataclass(frozen=True)
class Parameter:
    """One parameter's value with its citation and confirmation status."""

    name: str
    value: str
    source: str
    status: str

    @property
    def number(self) -> float | None:
        return None if self.value == "" else float(self.value)


def _rows(model: str, performance_year: int) -> pl.DataFrame:
    table = bundle_csv("parameters.csv")
    rows = table.filter(
        (pl.col("model") == model) & (pl.col("performance_year") == str(performance_year))
    )
    if rows.is_empty():
        years = sorted(set(table.filter(pl.col("model") == model)["performance_year"].to_list()))
        raise ParameterError(
            f"No {model} parameters for performance year {performance_year} in {PARAMETERS_FILE} "
            f"(it has {', '.join(years) or 'no year'} for {model}). Add the year's rows with their sources."
        )
    return rows


def parameter(
    model: str,
    performance_year: int,
    name: str,
    *,
    track: str = "*",
    episode_category: str = "*",
) -> Parameter:
    """The value of ``name`` for the model and year; a track's or category's own row wins over
    the model-wide ``*`` row."""
    rows = _rows(model, performance_year).filter(pl.col("parameter") == name)
    for t, c in ((track, episode_category), (track, "*"), ("*", episode_category), ("*", "*")):
        hit = rows.filter((pl.col("track") == t) & (pl.col("episode_category") == c))
        if hit.height:
            r = hit.row(0, named=True)
            return Parameter(name, r["value"] or "", r["source"], r["status"])
    raise ParameterError(
        f"No {model} parameter {name!r} for performance year {performance_year}"
        f"{', track ' + track if track != '*' else ''}"
        f"{', category ' + episode_category if episode_category != '*' else ''} in {PARAMETERS_FILE}."
    )


def tracks(model: str, performance_year: int) -> list[str]:
    """The tracks with rules for the model and year ("*" when the model has one set of rules)."""
    rows = _rows(model, performance_year).filter(pl.col("parameter") == "stop_gain")
    return sorted(set(rows["track"].to_list()))


def parameter_table(model: str, performance_year: int) -> pl.DataFrame:
    """Every parameter row of the model and year, with source and status (for display)."""
    return _rows(model, performance_year).drop("model")
