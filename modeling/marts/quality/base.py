"""What every quality measure reads from the core: the members of a year with their age and
sex, the acute stays with their principal diagnosis, admission source and codes, claims dated
and coded, hospice and ESRD flags, and the attributed provider.

Ages are completed years at a date (the age at the month's first day for exposure, at December
31 for the screening and adherence denominators, at admission for stays), as CMS and NCQA
compute them. Every function reads a ``Panel`` and returns lazy frames.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from modeling.codes import ESRD_MEDICARE_STATUSES
from modeling.core.panel import Panel
from modeling.marts.quality.definitions import in_value_set, matches
from modeling.schema import DIAGNOSIS_COLUMNS, PROCEDURE_COLUMNS

ROW_COLUMNS = ("person_id", "year", "measure_id", "denominator", "numerator", "expected")
"""Every measure emits rows of these columns: the person's contribution to the denominator
(1 per event or person, person-years for rates per exposure), to the numerator (events or 0/1)
and, where the measure has a demographic expectation, the expected events."""


def age_at(birth: pl.Expr, on: pl.Expr) -> pl.Expr:
    """Completed years from ``birth`` to ``on``."""
    had_birthday = (on.dt.month() > birth.dt.month()) | (
        (on.dt.month() == birth.dt.month()) & (on.dt.day() >= birth.dt.day())
    )
    return (on.dt.year() - birth.dt.year() - (~had_birthday).cast(pl.Int32)).cast(pl.Int32)


def year_end(year: int) -> dt.date:
    return dt.date(year, 12, 31)


def member_months_of(panel: Panel, year: int) -> pl.LazyFrame:
    """The year's member months with the age at the month's first day."""
    return (
        panel.scan("member_months")
        .filter(pl.col("year") == year)
        .select(
            "person_id",
            "year_month",
            "gender",
            "birth_date",
            "death_date",
            "dual_status_code",
            "medicare_status_code",
            "original_reason_entitlement_code",
            age_at(pl.col("birth_date"), pl.col("year_month")).alias("age"),
        )
    )


def members_of(panel: Panel, year: int) -> pl.LazyFrame:
    """One row per member enrolled in ``year``: months enrolled, enrolled in December, sex, birth
    and death dates, age at December 31, ESRD status in any month."""
    return (
        member_months_of(panel, year)
        .group_by("person_id")
        .agg(
            pl.len().alias("months"),
            (pl.col("year_month").dt.month() == 12).any().alias("in_december"),
            pl.col("gender").last(),
            pl.col("birth_date").first(),
            pl.col("death_date").drop_nulls().first(),
            pl.col("medicare_status_code").is_in(ESRD_MEDICARE_STATUSES).any().alias("esrd"),
        )
        .with_columns(age_at(pl.col("birth_date"), pl.lit(year_end(year))).alias("age"))
    )


def stays(panel: Panel) -> pl.LazyFrame:
    """The core's acute stays (``inpatient_stays``) with a ``stay_id``, the admission source and
    principal diagnosis of the stay's first claim, and every diagnosis and ICD-10-PCS procedure
    code on its claims (lists)."""
    core = panel.scan("inpatient_stays").with_columns(
        (pl.col("person_id") + ":" + pl.col("admission_date").cast(pl.String)).alias("stay_id")
    )
    inpatient = panel.scan("claim_lines").filter(pl.col("service_category") == "acute inpatient")
    ids = inpatient.select("claim_id").unique()
    coded = (
        panel.scan("medical_claim")
        .join(ids, on="claim_id", how="semi")
        .sort("claim_id", "claim_line_number")
        .group_by("claim_id")
        .agg(
            pl.col("admit_source_code").drop_nulls().first(),
            pl.col("diagnosis_code_1").drop_nulls().first().alias("principal_diagnosis"),
            pl.concat_list(DIAGNOSIS_COLUMNS).explode().drop_nulls().unique().alias("diagnoses"),
            pl.concat_list(PROCEDURE_COLUMNS).explode().drop_nulls().unique().alias("procedures"),
        )
    )
    per_claim = (
        core.select("stay_id", pl.col("claim_ids").alias("claim_id"))
        .explode("claim_id")
        .with_row_index("order")
        .join(coded, on="claim_id", how="left")
        .sort("order")
        .group_by("stay_id")
        .agg(
            pl.col("admit_source_code").drop_nulls().first(),
            pl.col("principal_diagnosis").drop_nulls().first(),
            pl.col("diagnoses").explode().drop_nulls().unique(),
            pl.col("procedures").explode().drop_nulls().unique(),
        )
    )
    return core.join(per_claim, on="stay_id", how="left")


def any_code(list_column: str, value_set: str) -> pl.Expr:
    """True where any code of the list column is in ``value_set``."""
    return (
        pl.col(list_column).list.eval(matches(pl.element(), value_set)).list.any().fill_null(False)
    )


def _code(column: str) -> pl.Expr:
    return pl.col(column).str.replace_all(".", "", literal=True).alias("code")


def coded_claims(
    panel: Panel, value_set: str, *, through: dt.date, with_code: bool = False
) -> pl.LazyFrame:
    """person_id, service_date (and the matching ``code`` when ``with_code``) of claim lines
    dated on or before ``through`` whose CPT/HCPCS code or any diagnosis code is in ``value_set``."""
    by_hcpcs = (
        panel.scan("claim_lines")
        .filter((pl.col("claim_start_date") <= through) & in_value_set("hcpcs_code", value_set))
        .select("person_id", pl.col("claim_start_date").alias("service_date"), _code("hcpcs_code"))
    )
    by_diagnosis = (
        panel.scan("conditions")
        .filter((pl.col("claim_start_date") <= through) & in_value_set("diagnosis_code", value_set))
        .select(
            "person_id", pl.col("claim_start_date").alias("service_date"), _code("diagnosis_code")
        )
    )
    both = pl.concat([by_hcpcs, by_diagnosis])
    return (both if with_code else both.drop("code")).unique()


def procedure_claims(
    panel: Panel, value_set: str, *, through: dt.date, with_code: bool = False
) -> pl.LazyFrame:
    """person_id, service_date (and ``code``) of claims dated on or before ``through`` carrying
    an ICD-10-PCS procedure in ``value_set`` (the procedure columns are read from the claims:
    the core keeps diagnoses, not procedures)."""
    claims = panel.scan("medical_claim").filter(
        (pl.col("claim_start_date") <= through) & pl.col("procedure_code_1").is_not_null()
    )
    found = (
        claims.select(
            "person_id",
            pl.col("claim_start_date").alias("service_date"),
            pl.concat_list(PROCEDURE_COLUMNS).alias("code"),
        )
        .explode("code")
        .filter(pl.col("code").is_not_null())
        .with_columns(_code("code"))
        .filter(in_value_set("code", value_set))
    )
    return (found if with_code else found.drop("code")).unique()


def hospice_people(panel: Panel, year: int) -> pl.LazyFrame:
    """person_id of members with hospice care in ``year`` (a hospice claim, bill type 81x/82x,
    or a hospice HCPCS code)."""
    lines = panel.scan("claim_lines").filter(pl.col("claim_start_date").dt.year() == year)
    return (
        lines.filter(
            (pl.col("service_category") == "hospice") | in_value_set("hcpcs_code", "hospice")
        )
        .select("person_id")
        .unique()
    )


def esrd_people(panel: Panel, year: int) -> pl.LazyFrame:
    """person_id of members with ESRD in ``year``: an ESRD Medicare status in a month, or an
    ESRD/dialysis-dependence diagnosis on the year's claims."""
    status = members_of(panel, year).filter(pl.col("esrd")).select("person_id")
    coded = (
        panel.scan("person_diagnoses")
        .filter((pl.col("year") == year) & in_value_set("diagnosis_code", "esrd"))
        .select("person_id")
    )
    return pl.concat([status, coded]).unique()


def attributed_provider(panel: Panel, year: int) -> pl.LazyFrame:
    """person_id, provider_npi attributed for ``year`` (empty when the dataset has no attribution)."""
    if not panel.dataset.has("provider_attribution"):
        return pl.LazyFrame(schema={"person_id": pl.String, "provider_npi": pl.String})
    return (
        panel.scan("provider_attribution")
        .filter(pl.col("year") == year)
        .select("person_id", "provider_npi")
        .unique("person_id", keep="first")
    )


def rows(frame: pl.LazyFrame, measure_id: str, year: int) -> pl.LazyFrame:
    """``frame`` (person_id, denominator, numerator[, expected]) as measure rows."""
    names = frame.collect_schema().names()
    expected = pl.col("expected") if "expected" in names else pl.lit(None, pl.Float64)
    return frame.select(
        "person_id",
        pl.lit(year, pl.Int32).alias("year"),
        pl.lit(measure_id).alias("measure_id"),
        pl.col("denominator").cast(pl.Float64),
        pl.col("numerator").cast(pl.Float64),
        expected.cast(pl.Float64).alias("expected"),
    )
