"""CMS-HCC risk scores for a whole panel at once (community, institutional and new-enrollee
segments of the V24 and V28 models, and the ESRD V24 model), vectorized over polars frames.

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

Steps 1-3 and the disease interactions are the same for every model
(``risk_stratification.hcc.conditions``); the segments, demographic cells and non-HCC terms
(steps 4-5) are a model's ``SegmentModel``: ``CommunityModel`` here for V24 and V28,
``EsrdModel`` (``risk_stratification.hcc.esrd``) for ESRD V24, chosen by ``segment_model``.
The tables are ``risk_stratification.hcc.tables``; the payment-year layer (normalization, blend,
coding adjustment) is ``risk_stratification.hcc.payment``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import polars as pl

from risk_stratification.hcc.conditions import (
    apply_hierarchies,
    cc_index,
    condition_categories,
    interaction_flags,
)
from risk_stratification.hcc.demographics import (
    NE_MEDICAID,
    age_cell,
    common_flags,
    new_enrollee_cell,
)
from risk_stratification.hcc.esrd import EsrdModel
from risk_stratification.hcc.tables import HccTables, load_tables


class SegmentModel(Protocol):
    """The part of a CMS-HCC model that differs between the CMS-HCC and ESRD models: who is in
    which segment with which demographic cell, and the non-HCC terms of each segment."""

    def demographics(self, people: pl.DataFrame | pl.LazyFrame, payment_year: int) -> pl.LazyFrame:
        """One row per person: person_id, segment, demographic_cell, scores_diagnoses (whether
        the person's diagnoses count), age, female and the other flags of ``common_flags``."""
        ...

    def other_terms(
        self,
        demo: pl.DataFrame,
        interactions: list[pl.DataFrame],
        hcc_counts: np.ndarray,
        tables: HccTables,
    ) -> pl.DataFrame:
        """pid, variable, coefficient, kind for every non-HCC term: demographic terms, the
        disease ``interactions`` present (pid, variable, kind) and, where the model has them,
        the payment-HCC count terms (``hcc_counts``: payment HCCs per pid)."""
        ...


class CommunityModel:
    """The V24 and V28 CMS-HCC segments: community (by dual status x aged/disabled),
    long-term institutional (INS) and new enrollee (NE, SNPNE)."""

    def demographics(self, people: pl.DataFrame | pl.LazyFrame, payment_year: int) -> pl.LazyFrame:
        """CMS-HCC segment, demographic cell and flags per person.

        ``people``: person_id, birth_date, gender ('female'/'male'), orec, dual_status_code,
        lti (bool), new_enrollee (bool), snp (bool); optional ``age`` overrides the birth-date age.
        """
        out = common_flags(people, payment_year)
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
            + new_enrollee_cell(pl.col("age"), pl.col("orec"))
        )
        cell = (
            pl.when(pl.col("new_enrollee")).then(ne_cell).otherwise(sex + age_cell(pl.col("age")))
        )
        return out.with_columns(
            segment.alias("segment"),
            cell.alias("demographic_cell"),
            (~pl.col("new_enrollee")).alias("scores_diagnoses"),
        )

    def other_terms(
        self,
        demo: pl.DataFrame,
        interactions: list[pl.DataFrame],
        hcc_counts: np.ndarray,
        tables: HccTables,
    ) -> pl.DataFrame:
        """The demographic, count and interaction terms with the person's segment's coefficient
        (0 when the segment has none)."""
        other = pl.concat([*_cms_hcc_terms(demo, hcc_counts), *interactions])
        return (
            other.join(demo.select("pid", "segment"), on="pid", how="left")
            .join(tables.other_coefficients, on=["segment", "variable"], how="left")
            .select("pid", "variable", pl.col("coefficient").fill_null(0.0), "kind")
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


def segment_model(model: str) -> SegmentModel:
    """The segments of ``model``: ``EsrdModel`` for the ESRD models, else ``CommunityModel``."""
    return EsrdModel() if model.startswith("ESRD") else CommunityModel()


@dataclass(frozen=True)
class HccScores:
    """Per-person scores and what is behind them.

    ``hcc_terms``: person_id, cc, coefficient (one row per payment HCC after hierarchies);
    ``other_terms``: person_id, variable, coefficient, kind (demographic cell, originally
    disabled, LTI x Medicaid, interactions, HCC count); ``diagnoses``: person_id, cc,
    diagnosis_code (the codes that produced each HCC).
    """

    scores: pl.DataFrame
    hcc_terms: pl.DataFrame
    other_terms: pl.DataFrame
    diagnoses: pl.DataFrame
    model: str
    files: tuple[str, ...]

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
    index = cc_index(model)
    segments = segment_model(model)
    demo = segments.demographics(people, payment_year).with_row_index("pid").collect()
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
    flags = interaction_flags(kept, conditions, tables, index)
    interactions = [
        pl.DataFrame(
            {"pid": demo["pid"].filter(pl.Series(flag)), "variable": name, "kind": "interaction"}
        )
        for name, flag in flags.items()
        if flag.any()
    ]
    other_terms = segments.other_terms(demo, interactions, kept.sum(axis=1), tables)
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

    def with_id(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(ids.gather(frame["pid"]).alias("person_id")).drop("pid")

    return HccScores(
        scores, with_id(hcc_terms), with_id(other_terms), with_id(used), model, tables.files
    )
