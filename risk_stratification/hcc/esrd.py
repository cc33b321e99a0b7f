"""The CMS-HCC ESRD model (2023 ESRD model, "ESRD V24"): segments and demographic terms.

CMS pays for a beneficiary with end-stage renal disease by status (CMS ESRD V24 model software
and the Rate Announcements' ESRD sections):

- dialysis: the dialysis model (DI), or the dialysis new-enrollee model (DNE);
- the month of a kidney transplant and the two months after: a flat transplant score
  (TRANSPLANT_KIDNEY_ONLY_1M/2M/3M), no diagnoses;
- functioning graft from the fourth month after the transplant: the graft models, community
  by full-benefit dual x aged (GFA, GFN, GNPA, GNPN), institutional (GI) or new enrollee (GNE),
  plus a graft-duration add-on for months 4-9 or 10+ after the transplant (FGC_* community,
  FGI_* institutional with LTI_GE65/LT65; partial duals add the PBD flag). A graft new
  enrollee's demographic score plus its add-on is divided by the model's actuarial adjustment
  (ActAdj_DUR4_9, ActAdj_DUR10PL).

Diagnoses map, edit and go through the V24 hierarchies exactly as in the CMS-HCC engine
(``risk_stratification.hcc.conditions``, driven by ``risk_stratification.hcc.engine.score`` with
``EsrdModel`` as the segment model); only continuing enrollees in DI, GI and the community graft
segments score diagnoses. The renal HCCs 134-137 are never assigned (``hcc_excluded.csv``): the
segment prices the dialysis or graft status.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import polars as pl

from risk_stratification.hcc.demographics import age_cell, common_flags, new_enrollee_cell
from risk_stratification.hcc.tables import HccTables, package_csv

CONTINUING_SEGMENTS = ("DI", "GI", "GFA", "GFN", "GNPA", "GNPN")


def _dialysis_new_enrollee_cell(age: pl.Expr, orec: pl.Expr) -> pl.Expr:
    """DNE cells: CMS-HCC bands to 80-84, then 85+; a 64-year-old entitled by age falls in 65-69."""
    return (
        pl.when(age <= 59)
        .then(age_cell(age))
        .when((age <= 63) | ((age == 64) & (orec != "0")))
        .then(pl.lit("60_64"))
        .when(age <= 84)
        .then(age_cell(pl.max_horizontal(age, pl.lit(65))))
        .otherwise(pl.lit("85_GT"))
    )


def esrd_demographics(people: pl.DataFrame | pl.LazyFrame, payment_year: int) -> pl.LazyFrame:
    """Segment, demographic cell and flags for ESRD beneficiaries.

    ``people``: as for ``CommunityModel.demographics`` (``risk_stratification.hcc.engine``) plus
    ``esrd_status`` (dialysis, transplant, graft) and ``graft_months`` (months since the kidney
    transplant, the transplant month being 1).
    A graft with no known transplant date counts as 10+ months.
    """
    lf = common_flags(people, payment_year)
    status, months = pl.col("esrd_status"), pl.col("graft_months").cast(pl.Int32)
    transplant_month = pl.when(
        status.is_in(["transplant", "graft"]) & months.is_between(1, 3)
    ).then(months)
    lf = (
        lf.with_columns(transplant_month.alias("transplant_month"))
        .with_columns(
            ((status.is_in(["transplant", "graft"])) & pl.col("transplant_month").is_null()).alias(
                "graft"
            )
        )
        .with_columns(
            pl.when(pl.col("graft"))
            .then(
                pl.when(months.is_between(4, 9)).then(pl.lit("DUR4_9")).otherwise(pl.lit("DUR10PL"))
            )
            .alias("graft_duration"),
            ((pl.col("age") >= 65) | ((pl.col("age") == 64) & (pl.col("orec") == "0"))).alias(
                "new_enrollee_aged"
            ),
        )
    )
    aged = pl.col("age") >= 65
    segment = (
        pl.when(pl.col("transplant_month").is_not_null())
        .then(pl.lit("TRANSPLANT"))
        .when(pl.col("graft"))
        .then(
            pl.when(pl.col("new_enrollee"))
            .then(pl.lit("GNE"))
            .when(pl.col("lti"))
            .then(pl.lit("GI"))
            .otherwise(
                pl.lit("G")
                + pl.when(pl.col("full_dual")).then(pl.lit("F")).otherwise(pl.lit("NP"))
                + pl.when(aged).then(pl.lit("A")).otherwise(pl.lit("N"))
            )
        )
        .when(pl.col("new_enrollee"))
        .then(pl.lit("DNE"))
        .otherwise(pl.lit("DI"))
    )
    sex = pl.when(pl.col("female")).then(pl.lit("F")).otherwise(pl.lit("M"))
    ne_prefix = pl.when(pl.col("full_dual")).then(pl.lit("FBD")).otherwise(
        pl.lit("ND_PBD")
    ) + pl.when(aged & (pl.col("orec") == "1")).then(pl.lit("_ORIGDIS_")).otherwise(
        pl.lit("_NORIGDIS_")
    )
    cell = (
        pl.when(pl.col("segment") == "TRANSPLANT")
        .then(pl.lit("KIDNEY_ONLY_") + pl.col("transplant_month").cast(pl.String) + pl.lit("M"))
        .when(pl.col("segment") == "DNE")
        .then(
            ne_prefix
            + pl.lit("NE")
            + sex
            + _dialysis_new_enrollee_cell(pl.col("age"), pl.col("orec"))
        )
        .when(pl.col("segment") == "GNE")
        .then(ne_prefix + pl.lit("G_NE") + sex + new_enrollee_cell(pl.col("age"), pl.col("orec")))
        .otherwise(sex + age_cell(pl.col("age")))
    )
    return lf.with_columns(segment.alias("segment")).with_columns(
        cell.alias("demographic_cell"),
        pl.col("segment").is_in(CONTINUING_SEGMENTS).alias("scores_diagnoses"),
    )


def _graft_duration_terms(demo: pl.DataFrame) -> pl.DataFrame:
    """The functioning-graft duration add-ons (coefficients named without a segment prefix)."""
    band = lambda aged: pl.when(aged).then(pl.lit("GE65")).otherwise(pl.lit("LT65"))  # noqa: E731
    dual = pl.when(pl.col("full_dual")).then(pl.lit("FBD")).otherwise(pl.lit("ND_PBD"))
    community = pl.col("segment").is_in(["GFA", "GFN", "GNPA", "GNPN"])
    graft = demo.filter(pl.col("graft_duration").is_not_null())
    aged = (
        pl.when(pl.col("segment") == "GNE")
        .then(pl.col("new_enrollee_aged"))
        .otherwise(pl.col("age") >= 65)
    )
    table = pl.when(pl.col("segment") == "GI").then(pl.lit("FGI")).otherwise(pl.lit("FGC"))
    return pl.concat(
        [
            graft.select(
                "pid",
                table.alias("coef_segment"),
                (band(aged) + "_" + pl.col("graft_duration") + "_" + dual).alias("variable"),
            ),
            graft.filter((community | (pl.col("segment") == "GI")) & pl.col("partial_dual")).select(
                "pid",
                table.alias("coef_segment"),
                (pl.lit("PBD_") + band(aged) + "_flag").alias("variable"),
            ),
            graft.filter(pl.col("segment") == "GI").select(
                "pid",
                pl.lit("LTI").alias("coef_segment"),
                band(pl.col("age") >= 65).alias("variable"),
            ),
        ]
    ).with_columns(pl.lit("graft duration").alias("kind"))


def esrd_other_terms(
    demo: pl.DataFrame, interactions: list[pl.DataFrame], tables: HccTables
) -> pl.DataFrame:
    """pid, variable, coefficient, kind for every non-HCC term of the ESRD segments.

    Terms whose variable has no coefficient in the person's segment do not exist in that
    segment's model and are dropped (e.g. dual-status terms outside the dialysis model).
    """
    sex = pl.when(pl.col("female")).then(pl.lit("Female")).otherwise(pl.lit("Male"))
    aged = pl.when(pl.col("age") >= 65).then(pl.lit("Aged")).otherwise(pl.lit("NonAged"))
    own = pl.col("segment")
    continuing = demo.filter(pl.col("scores_diagnoses"))
    demographic = pl.concat(
        [
            demo.select(
                "pid", own.alias("coef_segment"), pl.col("demographic_cell").alias("variable")
            ),
            continuing.filter(pl.col("originally_disabled")).select(
                "pid",
                own.alias("coef_segment"),
                (pl.lit("OriginallyDisabled_") + sex).alias("variable"),
            ),
            continuing.filter(pl.col("originally_disabled")).select(
                "pid", own.alias("coef_segment"), pl.lit("ORIGDS").alias("variable")
            ),
            continuing.filter((pl.col("age") >= 65) & pl.col("orec").is_in(["2", "3"])).select(
                "pid",
                own.alias("coef_segment"),
                (pl.lit("Originally_ESRD_") + sex).alias("variable"),
            ),
            continuing.filter(pl.col("lti")).select(
                "pid", own.alias("coef_segment"), (pl.lit("LTI_") + aged).alias("variable")
            ),
            continuing.filter(pl.col("full_dual")).select(
                "pid",
                own.alias("coef_segment"),
                (pl.lit("FBDual_") + sex + "_" + aged).alias("variable"),
            ),
            continuing.filter(pl.col("partial_dual")).select(
                "pid",
                own.alias("coef_segment"),
                (pl.lit("PBDual_") + sex + "_" + aged).alias("variable"),
            ),
        ]
    ).with_columns(pl.lit("demographic").alias("kind"))
    segments = demo.select("pid", "segment")
    disease = [
        frame.join(segments, on="pid").select(
            "pid", pl.col("segment").alias("coef_segment"), "variable", "kind"
        )
        for frame in interactions
    ]
    terms = (
        pl.concat([demographic, *disease, _graft_duration_terms(demo)])
        .join(
            tables.other_coefficients.rename({"segment": "coef_segment"}),
            on=["coef_segment", "variable"],
            how="inner",
        )
        .join(segments, on="pid")
        .select(
            "pid",
            pl.when(
                (pl.col("coef_segment") == pl.col("segment")) & (pl.col("segment") != "TRANSPLANT")
            )
            .then(pl.col("variable"))
            .otherwise(pl.col("coef_segment") + "_" + pl.col("variable"))
            .alias("variable"),
            "coefficient",
            "kind",
        )
    )
    return pl.concat([terms, _actuarial_adjustment(demo, terms, tables)])


def _actuarial_adjustment(
    demo: pl.DataFrame, terms: pl.DataFrame, tables: HccTables
) -> pl.DataFrame:
    """A graft new enrollee's score is its demographic cell plus the duration add-on divided by
    ActAdj_DUR4_9 or ActAdj_DUR10PL; shown as one additive line (the difference) so that the
    lines of the explanation still sum to the score."""
    factors = tables.coefficients.filter(pl.col("name").str.starts_with("ActAdj_")).select(
        pl.col("name").str.replace("ActAdj_", "").alias("graft_duration"),
        pl.col("coefficient").alias("factor"),
    )
    new_enrollees = demo.filter(
        (pl.col("segment") == "GNE") & pl.col("graft_duration").is_not_null()
    ).select("pid", "graft_duration")
    subtotal = (
        terms.join(new_enrollees, on="pid")
        .group_by("pid")
        .agg(pl.col("coefficient").sum().alias("subtotal"))
    )
    return (
        new_enrollees.join(subtotal, on="pid")
        .join(factors, on="graft_duration")
        .select(
            "pid",
            (pl.lit("ActAdj_") + pl.col("graft_duration")).alias("variable"),
            (pl.col("subtotal") / pl.col("factor") - pl.col("subtotal")).alias("coefficient"),
            pl.lit("actuarial adjustment").alias("kind"),
        )
    )


class EsrdModel:
    """The ESRD V24 segments as the engine's segment model (``engine.SegmentModel``): dialysis,
    transplant months and functioning graft, with their demographic and graft-duration terms."""

    def demographics(self, people: pl.DataFrame | pl.LazyFrame, payment_year: int) -> pl.LazyFrame:
        """``esrd_demographics``."""
        return esrd_demographics(people, payment_year)

    def other_terms(
        self,
        demo: pl.DataFrame,
        interactions: list[pl.DataFrame],
        hcc_counts: np.ndarray,
        tables: HccTables,
    ) -> pl.DataFrame:
        """``esrd_other_terms``; the ESRD model has no payment-HCC count terms, so
        ``hcc_counts`` is not used."""
        return esrd_other_terms(demo, interactions, tables)


DIALYSIS_SERIES_SEGMENTS = ("DI", "DNE", "TRANSPLANT")  # normalized with the dialysis factor


@cache
def esrd_payment_parameters() -> pl.DataFrame:
    """Every payment year's rows of ``esrd_payment_years.csv``: payment_year, series,
    normalization_factor, ma_coding_adjustment and source."""
    return package_csv("risk_stratification", "data/esrd_payment_years.csv").with_columns(
        pl.col("payment_year").cast(pl.Int32),
        pl.col("normalization_factor").cast(pl.Float64),
        pl.col("ma_coding_adjustment").cast(pl.Float64),
    )


def esrd_payment_scores(raw: pl.DataFrame, year: int) -> pl.DataFrame:
    """Normalized and payment scores of ESRD beneficiaries (person_id, segment, raw_score).

    CMS normalizes the ESRD model in two series: dialysis (dialysis, dialysis new enrollee and
    transplant months) and functioning graft (community, institutional, new enrollee), then
    applies the MA coding pattern adjustment. Rounding as in ``hcc.payment.payment_scores``: the
    normalized score and the payment score are each rounded to three decimals. A payment year
    without a sourced factor (``esrd_payment_years.csv``) leaves the normalized and payment
    scores empty and says so in ``payment_model``; it is not silently normalized with another
    year's factor.
    """
    series = (
        pl.when(pl.col("segment").is_in(DIALYSIS_SERIES_SEGMENTS))
        .then(pl.lit("dialysis"))
        .otherwise(pl.lit("functioning_graft"))
    )
    params = (
        esrd_payment_parameters()
        .filter(pl.col("payment_year") == year)
        .select("series", "normalization_factor", "ma_coding_adjustment")
    )
    label = (
        pl.when(pl.col("segment") == "TRANSPLANT")
        .then(pl.lit("ESRD transplant"))
        .when(pl.col("series") == "dialysis")
        .then(pl.lit("ESRD dialysis"))
        .otherwise(pl.lit("ESRD graft"))
    )
    return (
        raw.select("person_id", "segment", pl.col("raw_score").alias("raw_ESRD_V24"))
        .with_columns(series.alias("series"))
        .join(params, on="series", how="left")
        .with_columns(
            (pl.col("raw_ESRD_V24") / pl.col("normalization_factor"))
            .round(3)
            .alias("normalized_ESRD_V24")
        )
        .with_columns(
            (pl.col("normalized_ESRD_V24") * (1 - pl.col("ma_coding_adjustment")))
            .round(3)
            .alias("payment_score"),
            pl.when(pl.col("normalization_factor").is_null())
            .then(label + pl.lit(f" (no {year} normalization factor)"))
            .otherwise(label)
            .alias("payment_model"),
        )
        .select(
            "person_id", "raw_ESRD_V24", "normalized_ESRD_V24", "payment_score", "payment_model"
        )
    )
