"""Encounters built from claims: inpatient stays with 30-day readmissions, ED visits, SNF stays,
home-health episodes and lower-extremity joint replacements.

Inpatient stays: acute inpatient claims (type of bill 11x) of one person are merged into one
stay when a claim starts on or before the day after the previous claim's discharge (interim
bills and same-day transfers). Inpatient rehabilitation (IRF) bills, type of bill 11x with a
revenue center 0024 line (the IRF PPS case-mix group), are post-acute care, not acute stays:
they are left out (otherwise an IRF stay begun on the day of discharge would lengthen the acute
stay and replace its MS-DRG and discharge status with the IRF bill's). Length of stay is discharge date minus admission date (a
same-day stay counts one day), as in CMS's MedPAR convention.

30-day readmissions (after CMS's hospital-wide all-cause measure, simplified as stated): an
index stay is a stay that ends alive (discharge status not 20, 40-42), not against medical
advice (07) and not by transfer to another acute hospital (02), whose discharge is at least 30
days before the end of the observed data; that end is the last admission that can be
observed (a readmission is an admission: a stay admitted in late December and discharged in
January of the next year does not extend the window in which readmissions are seen); it is
readmitted when the same person has another stay admitted 1-30 days after discharge that is
not a planned admission. Planned admissions
here are elective (admit type 3) stays; CMS's full planned-readmission algorithm (procedure and
diagnosis lists) is not applied.
"""

from __future__ import annotations

import polars as pl

from modeling.codes import ED_REVENUE
from modeling.core.acute_legs import IRF_REVENUE
from modeling.core.service_categories import with_service_category
from modeling.validation import require_columns

STAY_COLUMNS = (
    "claim_id",
    "claim_line_number",
    "person_id",
    "claim_start_date",
    "claim_end_date",
    "admission_date",
    "discharge_date",
    "discharge_disposition_code",
    "admit_type_code",
    "drg_code",
    "paid_amount",
)
NOT_INDEX_DISPOSITIONS = ("02", "07", "20", "40", "41", "42")
JOINT_REPLACEMENT_DRGS = ("469", "470", "521", "522")
JOINT_REPLACEMENT_HCPCS = ("27447", "27130")


def _claims_with_category(medical_claim: pl.LazyFrame) -> pl.LazyFrame:
    require_columns(medical_claim, STAY_COLUMNS, where="the encounter tables")
    names = medical_claim.collect_schema().names()
    return medical_claim if "service_category" in names else with_service_category(medical_claim)


def _claim_headers(lines: pl.LazyFrame) -> pl.LazyFrame:
    return lines.group_by("claim_id").agg(
        pl.col("person_id").first(),
        pl.col("claim_start_date").min(),
        pl.col("claim_end_date").max(),
        pl.col("admission_date").min(),
        pl.col("discharge_date").max(),
        pl.col("discharge_disposition_code").sort_by("claim_line_number").drop_nulls().last(),
        pl.col("admit_type_code").sort_by("claim_line_number").drop_nulls().first(),
        pl.col("drg_code").sort_by("claim_line_number").drop_nulls().first(),
        pl.col("paid_amount").sum(),
    )


def acute_stay_lines(medical_claim: pl.LazyFrame) -> pl.LazyFrame:
    """The lines of the claims that make acute inpatient stays: acute inpatient lines, the
    claims of inpatient rehabilitation (IRF) bills left out (see the module docstring)."""
    lines = _claims_with_category(medical_claim).filter(
        pl.col("service_category") == "acute inpatient"
    )
    require_columns(lines, ("revenue_center_code",), where="the inpatient stays")
    irf = lines.filter(pl.col("revenue_center_code") == IRF_REVENUE).select("claim_id").unique()
    return lines.join(irf, on="claim_id", how="anti")


def inpatient_stays(
    medical_claim: pl.LazyFrame, *, data_end: pl.Expr | None = None
) -> pl.LazyFrame:
    """One row per acute inpatient stay, with ``readmitted_30d`` and ``is_index`` flags;
    ``data_end`` is the last date on which an admission can be observed (the last admission of
    these stays when None)."""
    claims = (
        _claim_headers(acute_stay_lines(medical_claim))
        .with_columns(
            pl.coalesce("admission_date", "claim_start_date").alias("admit"),
            pl.coalesce("discharge_date", "claim_end_date").alias("discharge"),
        )
        .sort("person_id", "admit", "discharge", "claim_id")
    )  # claim_id breaks ties: same input, same stays
    running_end = pl.col("discharge").cum_max().shift(1).over("person_id")
    new_stay = running_end.is_null() | (pl.col("admit") > running_end + pl.duration(days=1))
    claims = claims.with_columns(
        new_stay.cast(pl.Int32).cum_sum().over("person_id").alias("stay_number")
    )
    in_order = ["admit", "discharge", "claim_id"]
    stays = (
        claims.group_by("person_id", "stay_number")
        .agg(
            pl.col("admit").min().alias("admission_date"),
            pl.col("discharge").max().alias("discharge_date"),
            pl.col("discharge_disposition_code").sort_by(in_order).last(),
            pl.col("admit_type_code").sort_by(in_order).first(),
            pl.col("drg_code").sort_by(in_order).last(),
            pl.col("paid_amount").sum(),
            pl.col("claim_id").sort_by(in_order).alias("claim_ids"),
        )
        .sort("person_id", "admission_date")
        .with_columns(
            pl.max_horizontal(
                (pl.col("discharge_date") - pl.col("admission_date")).dt.total_days(), pl.lit(1)
            ).alias("length_of_stay"),
            pl.col("admission_date").dt.year().alias("year"),
        )
    )
    # the end of the observed data: the last observed admission (see the module docstring)
    end = data_end if data_end is not None else pl.col("admission_date").max()
    next_admit = pl.col("admission_date").shift(-1).over("person_id")
    next_planned = (pl.col("admit_type_code").shift(-1).over("person_id") == "3").fill_null(False)
    gap = (next_admit - pl.col("discharge_date")).dt.total_days()
    return stays.with_columns(
        (
            ~pl.col("discharge_disposition_code").fill_null("").is_in(NOT_INDEX_DISPOSITIONS)
            & (pl.col("discharge_date") <= end - pl.duration(days=30))
        ).alias("is_index"),
        (gap.is_between(1, 30) & ~next_planned).fill_null(False).alias("readmitted_30d"),
    ).drop("stay_number")


def ed_visits(medical_claim: pl.LazyFrame) -> pl.LazyFrame:
    """Emergency-department visits: distinct person-days with an ED revenue center on an institutional
    claim (treat-and-release outpatient claims and inpatient claims of patients admitted through the ED)."""
    return (
        medical_claim.filter(
            (pl.col("claim_type") == "institutional")
            & pl.col("revenue_center_code").is_in(ED_REVENUE).fill_null(False)
        )
        .select("person_id", pl.coalesce("admission_date", "claim_start_date").alias("visit_date"))
        .unique()
        .with_columns(pl.col("visit_date").dt.year().alias("year"))
    )


def snf_stays(medical_claim: pl.LazyFrame) -> pl.LazyFrame:
    """Skilled nursing stays: SNF claims of a person merged when contiguous (within one day)."""
    return _contiguous_spells(medical_claim, "skilled nursing facility", max_gap_days=1)


def home_health_episodes(medical_claim: pl.LazyFrame) -> pl.LazyFrame:
    """Home health episodes: 30-day period claims of a person chained when the next starts within a day."""
    return _contiguous_spells(medical_claim, "home health", max_gap_days=1)


def _contiguous_spells(
    medical_claim: pl.LazyFrame, category: str, *, max_gap_days: int
) -> pl.LazyFrame:
    claims = _claim_headers(
        _claims_with_category(medical_claim).filter(pl.col("service_category") == category)
    ).sort("person_id", "claim_start_date")
    prev_end = pl.col("claim_end_date").cum_max().shift(1).over("person_id")
    new = prev_end.is_null() | (
        pl.col("claim_start_date") > prev_end + pl.duration(days=max_gap_days)
    )
    return (
        claims.with_columns(new.cast(pl.Int32).cum_sum().over("person_id").alias("spell"))
        .group_by("person_id", "spell")
        .agg(
            pl.col("claim_start_date").min().alias("start_date"),
            pl.col("claim_end_date").max().alias("end_date"),
            pl.col("paid_amount").sum(),
        )
        .with_columns(pl.col("start_date").dt.year().alias("year"))
        .drop("spell")
    )


def joint_replacements(medical_claim: pl.LazyFrame) -> pl.LazyFrame:
    """Lower-extremity joint replacements: inpatient stays in MS-DRG 469/470 (521/522 from FY2024) and
    outpatient facility claims for CPT 27447 (knee) or 27130 (hip)."""
    lines = _claims_with_category(medical_claim)
    inpatient = lines.filter(
        (pl.col("service_category") == "acute inpatient")
        & pl.col("drg_code").is_in(JOINT_REPLACEMENT_DRGS)
    )
    outpatient = lines.filter(
        (pl.col("service_category") == "outpatient hospital")
        & pl.col("hcpcs_code").is_in(JOINT_REPLACEMENT_HCPCS)
    )
    return (
        pl.concat([inpatient, outpatient])
        .group_by("claim_id")
        .agg(pl.col("person_id").first(), pl.col("claim_start_date").min().alias("procedure_date"))
        .with_columns(pl.col("procedure_date").dt.year().alias("year"))
    )


NURSING_FACILITY_EM = tuple(str(c) for c in range(99304, 99311))


# the claim-line columns ``long_term_institutional`` reads
LONG_TERM_INSTITUTIONAL_COLUMNS = (
    "person_id",
    "claim_type",
    "claim_start_date",
    "place_of_service_code",
    "hcpcs_code",
)


def long_term_institutional(medical_claim: pl.LazyFrame, *, min_days: int = 90) -> pl.LazyFrame:
    """person_id, year of people who look long-term institutionalized in the year: nursing-facility
    E&M visits (place of service 32, or CPT 99304-99310) spanning at least ``min_days`` days.

    CMS determines long-term institutional status from MDS assessments (90+ days in a nursing
    home), which claims data do not carry; this is the claims-based stand-in an analyst would use.
    """
    visits = medical_claim.filter(
        (pl.col("claim_type") == "professional")
        & (
            (pl.col("place_of_service_code") == "32")
            | pl.col("hcpcs_code").is_in(NURSING_FACILITY_EM)
        )
    )
    return (
        visits.group_by("person_id", pl.col("claim_start_date").dt.year().alias("year"))
        .agg(
            (
                (
                    pl.col("claim_start_date").max() - pl.col("claim_start_date").min()
                ).dt.total_days()
                >= min_days
            ).alias("institutional")
        )
        .filter(pl.col("institutional"))
        .select("person_id", "year")
    )
