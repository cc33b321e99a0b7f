"""The canonical data model: table schemas with the Tuva Project input-layer column names.

Each column has a polars dtype, whether it is required, and a *kind* that tells validation
which checks apply (an ICD-10-CM code, a HCPCS code, an NDC, a money amount, ...).
Data already shaped for Tuva's input layer loads as-is.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from modeling.errors import SchemaError

SCHEMA_VERSION = "1.0"

ICD10_DIAGNOSIS_SLOTS = 25
ICD10_PROCEDURE_SLOTS = 25


@dataclass(frozen=True)
class Column:
    """One column of a canonical table."""

    name: str
    dtype: pl.DataType
    required: bool = False
    kind: str = (
        "text"  # text | id | date | amount | number | icd10_dx | icd10_pcs | hcpcs | ndc | enum
    )
    allowed: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableSchema:
    """A canonical table: its columns, the key that must be unique, and its date-order rules."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    date_order: tuple[tuple[str, str], ...] = ()  # (start, end): end must not precede start
    requires_eligibility: bool = False

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def polars_schema(self) -> dict[str, pl.DataType]:
        return {c.name: c.dtype for c in self.columns}

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise SchemaError(
            f"Table {self.name} has no column {name!r}; its columns: "
            f"{', '.join(c.name for c in self.columns)}."
        )


S, D, F, INT = pl.String(), pl.Date(), pl.Float64(), pl.Int32()

ELIGIBILITY = TableSchema(
    name="eligibility",
    columns=(
        Column("person_id", S, True, "id"),
        Column("member_id", S, False, "id"),
        Column("payer", S, True),
        Column(
            "payer_type",
            S,
            True,
            "enum",
            ("medicare", "medicaid", "commercial", "medicare advantage", "aca", "other"),
        ),
        Column("plan", S),
        Column("gender", S, True, "enum", ("male", "female", "unknown")),
        Column("race", S),
        Column("birth_date", D, True, "date"),
        Column("death_date", D, False, "date"),
        Column("enrollment_start_date", D, True, "date"),
        Column("enrollment_end_date", D, True, "date"),
        Column("original_reason_entitlement_code", S, False, "enum", ("0", "1", "2", "3")),
        Column(
            "dual_status_code",
            S,
            False,
            "enum",
            ("00", "01", "02", "03", "04", "05", "06", "08", "09", "10", "99", "NA"),
        ),
        Column("medicare_status_code", S, False, "enum", ("00", "10", "11", "20", "21", "31")),
        Column("data_source", S),
    ),
    key=("person_id", "payer", "plan", "enrollment_start_date"),
    date_order=(
        ("enrollment_start_date", "enrollment_end_date"),
        ("birth_date", "enrollment_start_date"),
    ),
)

_medical_columns: list[Column] = [
    Column("claim_id", S, True, "id"),
    Column("claim_line_number", INT, True, "number"),
    Column("claim_type", S, True, "enum", ("institutional", "professional")),
    Column("person_id", S, True, "id"),
    Column("member_id", S, False, "id"),
    Column("payer", S, True),
    Column("plan", S),
    Column("claim_start_date", D, True, "date"),
    Column("claim_end_date", D, True, "date"),
    Column("claim_line_start_date", D, False, "date"),
    Column("claim_line_end_date", D, False, "date"),
    Column("admission_date", D, False, "date"),
    Column("discharge_date", D, False, "date"),
    Column("admit_source_code", S),
    Column("admit_type_code", S),
    Column("discharge_disposition_code", S),
    Column("place_of_service_code", S),
    Column("bill_type_code", S),
    Column("drg_code_type", S),
    Column("drg_code", S),
    Column("revenue_center_code", S),
    Column("service_unit_quantity", F, False, "number"),
    Column("hcpcs_code", S, False, "hcpcs"),
    Column("rendering_npi", S),
    Column("billing_npi", S),
    Column("facility_npi", S),
    Column("paid_date", D, False, "date"),
    Column("paid_amount", F, True, "amount"),
    Column("allowed_amount", F, False, "amount"),
    Column("diagnosis_code_type", S),
    *[
        Column(f"diagnosis_code_{i}", S, False, "icd10_dx")
        for i in range(1, ICD10_DIAGNOSIS_SLOTS + 1)
    ],
    Column("procedure_code_type", S),
    *[
        Column(f"procedure_code_{i}", S, False, "icd10_pcs")
        for i in range(1, ICD10_PROCEDURE_SLOTS + 1)
    ],
    Column("data_source", S),
]

MEDICAL_CLAIM = TableSchema(
    name="medical_claim",
    columns=tuple(_medical_columns),
    key=("claim_id", "claim_line_number"),
    date_order=(
        ("claim_start_date", "claim_end_date"),
        ("claim_line_start_date", "claim_line_end_date"),
        ("admission_date", "discharge_date"),
        ("claim_end_date", "paid_date"),
    ),
    requires_eligibility=True,
)

PHARMACY_CLAIM = TableSchema(
    name="pharmacy_claim",
    columns=(
        Column("claim_id", S, True, "id"),
        Column("claim_line_number", INT, True, "number"),
        Column("person_id", S, True, "id"),
        Column("member_id", S, False, "id"),
        Column("payer", S, True),
        Column("plan", S),
        Column("prescribing_provider_npi", S),
        Column("dispensing_provider_npi", S),
        Column("dispensing_date", D, True, "date"),
        Column("ndc_code", S, True, "ndc"),
        Column("quantity", F, False, "number"),
        Column("days_supply", INT, False, "number"),
        Column("paid_date", D, False, "date"),
        # not required: CMS's Part D feed (CCLF7) carries no plan paid amount, only the beneficiary's
        Column("paid_amount", F, False, "amount"),
        Column("allowed_amount", F, False, "amount"),
        Column("data_source", S),
    ),
    key=("claim_id", "claim_line_number"),
    date_order=(("dispensing_date", "paid_date"),),
    requires_eligibility=True,
)

PROVIDER_ATTRIBUTION = TableSchema(
    name="provider_attribution",
    columns=(
        Column("person_id", S, True, "id"),
        Column("year", INT, True, "number"),
        Column("provider_npi", S, True, "id"),
        Column("provider_tin", S, True, "id"),
        Column("provider_name", S),
        Column("data_source", S),
    ),
    key=("person_id", "year"),
    requires_eligibility=True,
)

TABLES: dict[str, TableSchema] = {
    t.name: t for t in (ELIGIBILITY, MEDICAL_CLAIM, PHARMACY_CLAIM, PROVIDER_ATTRIBUTION)
}
REQUIRED_TABLES = ("eligibility", "medical_claim")

DIAGNOSIS_COLUMNS = [f"diagnosis_code_{i}" for i in range(1, ICD10_DIAGNOSIS_SLOTS + 1)]
PROCEDURE_COLUMNS = [f"procedure_code_{i}" for i in range(1, ICD10_PROCEDURE_SLOTS + 1)]


def table_schema(name: str) -> TableSchema:
    """The schema of a canonical table, or a clear error naming the tables that exist."""
    try:
        return TABLES[name]
    except KeyError:
        from modeling.errors import SchemaError

        raise SchemaError(
            f"Unknown table '{name}'. Canonical tables are: {', '.join(TABLES)}."
        ) from None
