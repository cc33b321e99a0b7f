"""The codes of each acute inpatient stay: what its claims say about how the patient came in and
what was diagnosed and done, beside the core's ``inpatient_stays`` (which keeps dates, DRG,
disposition and payment but no codes).

One row per stay of ``inpatient_stays`` (keyed by ``person_id`` and ``admission_date``: stays
of a person never share an admission date, ``encounters.inpatient_stays`` merges overlapping
claims), with

- ``admit_source_code`` and ``principal_diagnosis``: the first non-missing value over the
  stay's claims in the stay's claim order (admission, discharge, claim id), each claim's own
  value being the first non-missing over its lines in line order (UB-04 FL 15 and FL 67 are
  claim-level: the first claim of the stay is the admission's);
- ``diagnosis_codes`` and ``procedure_codes``: every ICD-10 diagnosis (principal and other) and
  ICD-10-PCS procedure code on any of the stay's claims, distinct, sorted, as on the claim (no
  dots removed).

Read by the quality measures (AHRQ PQIs by principal diagnosis and exclusions in any position,
readmission and mortality cohorts); a stay without any coded claim has null codes.
"""

from __future__ import annotations

import polars as pl

from modeling.schema import DIAGNOSIS_COLUMNS, PROCEDURE_COLUMNS

STAY_CODE_COLUMNS = (
    "person_id",
    "admission_date",
    "admit_source_code",
    "principal_diagnosis",
    "diagnosis_codes",
    "procedure_codes",
)


def inpatient_stay_codes(stays: pl.LazyFrame, medical_claim: pl.LazyFrame) -> pl.LazyFrame:
    """``stays`` (the core's ``inpatient_stays``: person_id, admission_date, claim_ids) with the
    codes of their claims in ``medical_claim`` (canonical lines), one row per stay."""
    order = (
        stays.select("person_id", "admission_date", pl.col("claim_ids").alias("claim_id"))
        .explode("claim_id")
        .with_row_index("claim_order")
    )
    lines = medical_claim.join(order.select("claim_id"), on="claim_id", how="semi")
    claims = (
        lines.sort("claim_id", "claim_line_number")
        .group_by("claim_id")
        .agg(
            pl.col("admit_source_code").drop_nulls().first(),
            pl.col("diagnosis_code_1").drop_nulls().first().alias("principal_diagnosis"),
            pl.concat_list(DIAGNOSIS_COLUMNS).explode().drop_nulls().unique().alias("dx"),
            pl.concat_list(PROCEDURE_COLUMNS).explode().drop_nulls().unique().alias("px"),
        )
    )
    per_stay = (
        order.join(claims, on="claim_id", how="left")
        .sort("claim_order")
        .group_by("person_id", "admission_date", maintain_order=True)
        .agg(
            pl.col("admit_source_code").drop_nulls().first(),
            pl.col("principal_diagnosis").drop_nulls().first(),
            pl.col("dx").explode().drop_nulls().unique().sort().alias("diagnosis_codes"),
            pl.col("px").explode().drop_nulls().unique().sort().alias("procedure_codes"),
        )
    )
    return per_stay.select(STAY_CODE_COLUMNS)
