"""Condition categories of a CMS-HCC model, vectorized over a whole panel (CMS's steps, from the
CMS-HCC model software V24I0M1 / V28I0M1 and their edit macros):

1. diagnosis -> condition category (CC), from CMS's mapping table for the model;
2. age/sex edits (CMS edit macros): a diagnosis is dropped or reassigned to another CC;
3. hierarchies: a CC is dropped when a more severe CC of its hierarchy is present (after the
   CCs the model never assigns, and those lacking a required companion CC, are dropped);
4. interactions: disease x disease and disabled x disease variables, from groups of the kept CCs.

Presence is a person x CC boolean matrix whose columns are the model's CCs in order (``CcIndex``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt
import polars as pl

from risk_stratification.hcc.tables import HccTables, load_tables


def condition_categories(
    diagnoses: pl.DataFrame | pl.LazyFrame, people: pl.LazyFrame, tables: HccTables
) -> pl.LazyFrame:
    """pid, cc (Int32), diagnosis_code after mapping and age/sex edits (before hierarchies).

    ``people`` carries the integer ``pid`` of each ``person_id`` with its age and sex.
    """
    code = pl.col("diagnosis_code")
    normalized = (
        pl.when(code.str.contains(r"[.a-z]"))
        .then(code.str.to_uppercase().str.replace_all(".", "", literal=True))
        .otherwise(code)
    )
    # new enrollees (and ESRD transplant months) are scored on demographics only
    who = people.filter(pl.col("scores_diagnoses")).select(
        "person_id",
        "pid",
        "age",
        pl.when(pl.col("female")).then(pl.lit("2")).otherwise(pl.lit("1")).alias("sex_code"),
    )
    # map first: most diagnoses map to no CC, so the person join and edits only see the rest
    mapped = (
        diagnoses.lazy()
        .select("person_id", normalized.alias("diagnosis_code"))
        .filter(
            pl.col("diagnosis_code").is_in(tables.dx_to_cc["diagnosis_code"].unique().implode())
        )
        .join(tables.dx_to_cc.lazy(), on="diagnosis_code", how="inner")
        .join(who, on="person_id", how="inner")
        .drop("person_id")
        .unique(subset=["pid", "diagnosis_code", "cc"])
        .join(tables.edits.lazy(), on="diagnosis_code", how="left")
    )
    fires = (
        ((pl.col("edit_type") == "sex") & (pl.col("sex") == pl.col("sex_code")))
        | (
            pl.col("edit_type").is_in(["age", "mce_age"])
            & (
                (pl.col("age") <= pl.col("age_max")) | (pl.col("age") >= pl.col("age_min"))
            ).fill_null(False)
        )
    ).fill_null(False)
    return (
        mapped.filter(~(fires & (pl.col("action") == "invalid")))
        .with_columns(
            pl.when(fires & (pl.col("action") == "override"))
            .then(pl.col("cc_override"))
            .otherwise(pl.col("cc"))
            .alias("cc")
        )
        .select("pid", "cc", "diagnosis_code")
    )


@dataclass(frozen=True)
class CcIndex:
    """Column positions of a model's CCs in a person x CC presence matrix."""

    values: np.ndarray  # sorted CC numbers (read-only)

    def cols(self, ccs: npt.ArrayLike) -> np.ndarray:
        """The column of each CC in ``ccs``, -1 for a CC the model does not know."""
        wanted = np.asarray(ccs, dtype=np.int64)
        pos = np.searchsorted(self.values, wanted)
        pos = np.clip(pos, 0, len(self.values) - 1)
        return np.where(self.values[pos] == wanted, pos, -1)


@cache
def cc_index(model: str) -> CcIndex:
    """Every CC a model's tables can produce or refer to, sorted: the presence matrix's columns.
    Cached, so the array is read-only."""
    t = load_tables(model)
    every = np.concatenate(
        [
            t.dx_to_cc["cc"].to_numpy(),
            t.edits["cc_override"].drop_nulls().to_numpy(),
            t.hierarchies["parent"].to_numpy(),
            t.hierarchies["child"].to_numpy(),
            t.groups["cc"].to_numpy(),
        ]
    ).astype(np.int64)
    values = np.unique(every)
    values.flags.writeable = False
    return CcIndex(values)


def apply_hierarchies(presence: np.ndarray, tables: HccTables, index: CcIndex) -> np.ndarray:
    """CCs kept after CMS's rules, on a person x CC boolean matrix (Fortran order):
    first drop CCs the model never assigns (``hcc_excluded.csv``) and CCs that need a companion
    CC the person lacks (``hcc_requirements.csv``), then each CC whose hierarchy parent the
    person has."""
    kept = presence.copy(order="F")
    for col in index.cols(tables.excluded["cc"].to_numpy()):
        if col >= 0:
            kept[:, col] = False
    for cc, group in tables.requirements.group_by("cc"):
        col = index.cols([cc[0]])[0]
        needs = [c for c in index.cols(group["requires"].to_numpy()) if c >= 0]
        if col >= 0:
            kept[:, col] &= presence[:, needs].any(axis=1) if needs else False
    basis = kept.copy(order="F")
    parents = index.cols(tables.hierarchies["parent"].to_numpy())
    children = index.cols(tables.hierarchies["child"].to_numpy())
    for parent, child in zip(parents, children, strict=True):
        if parent >= 0 and child >= 0:
            kept[:, child] &= ~basis[:, parent]
    return kept


def interaction_flags(
    kept: np.ndarray, conditions: dict[str, np.ndarray], tables: HccTables, index: CcIndex
) -> dict[str, np.ndarray]:
    """Each interaction variable's presence: all its groups present, and the person in the
    population it ``applies_to`` (everyone, disabled, or non-aged)."""
    groups = {
        name: kept[:, [c for c in index.cols(g["cc"].to_numpy()) if c >= 0]].any(axis=1)
        for (name,), g in tables.groups.group_by("group")
    }
    flags: dict[str, np.ndarray] = {}
    for row in tables.interactions.iter_rows(named=True):
        flag = np.logical_and.reduce([groups[t] for t in row["terms"]])
        flags[row["variable"]] = (
            flag if row["applies_to"] == "all" else flag & conditions[row["applies_to"]]
        )
    return flags
