"""Hospital outcome and transition measures over the core's acute stays.

- ``readmission_30d`` (estimated; after CMS's hospital-wide measure, MIPS #479): index stays
  discharged in the year by members 65+ (the core's ``is_index``: alive, not against medical
  advice, not transferred to another acute hospital, 30 days of run-out), readmitted when another
  stay is admitted 1-30 days after discharge and is not planned. CMS's planned-readmission
  algorithm needs procedure and diagnosis category lists that are not shipped; an elective
  admission (admission type 3) stands in for "planned", so the measure is labelled estimated.
- ``mortality_30d``: the first acute stay in the year of each member 65+, death from any cause
  within 30 days of the admission date (eligibility death dates).
- ``alos``: acute stays discharged alive and not transferred; numerator the length of stay,
  expected the reference population's (the whole panel's, in the year) mean length of stay of
  the stay's MS-DRG, so that O/E compares a provider's stays with the panel's of the same DRGs.
- ``followup_7d`` / ``followup_14d``: stays discharged alive home (01) or to home health (06) of
  members 18+; met by an outpatient E&M, TCM or wellness visit 1-7 (1-14) days after discharge;
  stays followed by a readmission or a death inside the window, of members in hospice, or
  without the window's run-out in the data are excluded.
- ``mrp``: stays discharged alive from January 1 to December 1 of members 18+; met by 1111F,
  99495 or 99496 from the discharge date through 30 days after (Star C17 claims evidence).
- ``mcc_admissions`` (MIPS #484 style, estimated): members 65+ with two or more of the nine
  chronic conditions coded in the prior year; numerator their acute unplanned admissions
  (admission type not 3), denominator their person-years, per 100 person-years.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from modeling.core.panel import Panel
from modeling.marts.quality.base import (
    age_at,
    diagnosis_hits,
    hospice_people,
    line_hits,
    member_months_of,
    members_of,
    memoized,
    people,
    rows,
    stays,
)

DIED = ("20", "40", "41", "42")
TRANSFERRED = ("02",)
HOME = ("01", "06")
MCC_CONDITIONS = (
    "mcc_ami",
    "mcc_dementia",
    "mcc_afib",
    "mcc_ckd",
    "mcc_copd_asthma",
    "mcc_depression",
    "mcc_diabetes",
    "mcc_heart_failure",
    "mcc_stroke_tia",
)


def _stays_with_people(panel: Panel, year: int, *, by: str) -> pl.LazyFrame:
    return (
        stays(panel)
        .filter(pl.col(by).dt.year() == year)
        .join(
            people(panel).select("person_id", "birth_date", "death_date"),
            on="person_id",
            how="left",
        )
        .with_columns(age_at(pl.col("birth_date"), pl.col(by)).alias("age"))
    )


def readmission_rows(panel: Panel, year: int) -> pl.LazyFrame:
    """One row per index stay (``stay_id`` kept) with the readmission flag."""
    s = _stays_with_people(panel, year, by="discharge_date").filter(
        pl.col("is_index") & (pl.col("age") >= 65)
    )
    return s.select(
        "person_id",
        "stay_id",
        "discharge_date",
        pl.lit(1.0).alias("denominator"),
        pl.col("readmitted_30d").cast(pl.Float64).alias("numerator"),
    )


def mortality_rows(panel: Panel, year: int) -> pl.LazyFrame:
    """The first stay of the year of each member 65+, with death within 30 days of admission."""
    s = (
        _stays_with_people(panel, year, by="admission_date")
        .filter(pl.col("age") >= 65)
        .sort("person_id", "admission_date")
        .unique("person_id", keep="first")
    )
    died = (pl.col("death_date") - pl.col("admission_date")).dt.total_days().is_between(0, 30)
    return s.select(
        "person_id",
        "stay_id",
        pl.col("admission_date").alias("index_date"),
        pl.lit(1.0).alias("denominator"),
        died.fill_null(False).cast(pl.Float64).alias("numerator"),
    )


def _alos_stays(stays_: pl.LazyFrame, year: int) -> pl.LazyFrame:
    return stays_.filter(pl.col("discharge_date").dt.year() == year).filter(
        ~pl.col("discharge_disposition_code").fill_null("").is_in((*DIED, *TRANSFERRED))
    )


def drg_mean_stay(panel: Panel, year: int) -> pl.DataFrame:
    """drg, expected: the mean length of stay of each MS-DRG (null DRGs as "") over the ALOS
    stays of ``year`` of everyone in ``panel``: the reference of ``alos``. Computed from the
    whole panel once when the measures run by ranges of people."""
    return (
        _alos_stays(panel.scan("inpatient_stays"), year)
        .group_by(pl.col("drg_code").fill_null("").alias("drg"))
        .agg(pl.col("length_of_stay").mean().alias("expected"))
        .collect()
    )


def alos_rows(panel: Panel, year: int, *, reference: pl.DataFrame | None = None) -> pl.LazyFrame:
    """Stays discharged alive and not transferred: length of stay and the reference
    population's mean length of stay of the same MS-DRG in the year (expected): ``reference``
    (``drg_mean_stay`` of the whole panel) or, when None, this panel's own stays."""
    s = _alos_stays(stays(panel), year).with_columns(pl.col("drg_code").fill_null("").alias("drg"))
    table = drg_mean_stay(panel, year) if reference is None else reference
    return s.join(table.lazy(), on="drg", how="left").select(
        "person_id",
        "stay_id",
        pl.lit(1.0).alias("denominator"),
        pl.col("length_of_stay").cast(pl.Float64).alias("numerator"),
        "expected",
    )


def _visits(panel: Panel, value_set: str) -> pl.LazyFrame:
    return memoized(
        panel,
        ("visits", value_set),
        lambda: (
            line_hits(panel, value_set)
            .select("person_id", pl.col("service_date").alias("visit_date"))
            .unique()
        ),
    )


def data_end(panel: Panel) -> dt.date | None:
    """The last service date of any claim line of ``panel``: the end of the observed data (of
    the whole panel when the measures run by ranges of people)."""
    last = (
        memoized(
            panel,
            ("data_end",),
            lambda: panel.scan("claim_lines").select(pl.col("claim_end_date").max()),
        )
        .collect()
        .item()
    )
    return last if isinstance(last, dt.date) else None


def followup_rows(
    panel: Panel, year: int, *, days: int, end: dt.date | None = None
) -> pl.LazyFrame:
    """One row per eligible discharge, met by a visit 1..``days`` days after discharge; a
    discharge needs ``days`` of observed data after it (to ``end``, the last service date of the
    data; this panel's own when None)."""
    end = (end if end is not None else data_end(panel)) or dt.date(year, 12, 31)
    s = _stays_with_people(panel, year, by="discharge_date").filter(
        pl.col("discharge_disposition_code").fill_null("").is_in(HOME)
        & (pl.col("age") >= 18)
        & (pl.col("discharge_date") <= pl.lit(end) - pl.duration(days=days))
    )
    next_admit = (
        stays(panel)
        .select("person_id", pl.col("admission_date").alias("next_admission"))
        .join(s.select("person_id", "stay_id", "discharge_date"), on="person_id")
        .filter(
            (pl.col("next_admission") > pl.col("discharge_date"))
            & (pl.col("next_admission") <= pl.col("discharge_date") + pl.duration(days=days))
        )
        .select("stay_id")
        .unique()
    )
    died = (pl.col("death_date") - pl.col("discharge_date")).dt.total_days() <= days
    s = (
        s.join(next_admit, on="stay_id", how="anti")
        .join(hospice_people(panel, year), on="person_id", how="anti")
        .filter(~died.fill_null(False))
    )
    met = (
        _visits(panel, "outpatient_visit")
        .join(s.select("person_id", "stay_id", "discharge_date"), on="person_id")
        .filter(
            (pl.col("visit_date") > pl.col("discharge_date"))
            & (pl.col("visit_date") <= pl.col("discharge_date") + pl.duration(days=days))
        )
        .select("stay_id")
        .unique()
        .with_columns(pl.lit(1.0).alias("numerator"))
    )
    return s.join(met, on="stay_id", how="left").select(
        "person_id",
        "stay_id",
        "discharge_date",
        pl.lit(1.0).alias("denominator"),
        pl.col("numerator").fill_null(0.0),
    )


def mrp_rows(panel: Panel, year: int) -> pl.LazyFrame:
    """One row per discharge alive from January 1 through December 1, met by a reconciliation
    code from the discharge date through 30 days after."""
    s = _stays_with_people(panel, year, by="discharge_date").filter(
        ~pl.col("discharge_disposition_code").fill_null("").is_in(DIED)
        & (pl.col("age") >= 18)
        & (pl.col("discharge_date") <= dt.date(year, 12, 1))
    )
    s = s.join(hospice_people(panel, year), on="person_id", how="anti")
    met = (
        _visits(panel, "medication_reconciliation")
        .join(s.select("person_id", "stay_id", "discharge_date"), on="person_id")
        .filter(
            (pl.col("visit_date") >= pl.col("discharge_date"))
            & (pl.col("visit_date") <= pl.col("discharge_date") + pl.duration(days=30))
        )
        .select("stay_id")
        .unique()
        .with_columns(pl.lit(1.0).alias("numerator"))
    )
    return s.join(met, on="stay_id", how="left").select(
        "person_id",
        "stay_id",
        "discharge_date",
        pl.lit(1.0).alias("denominator"),
        pl.col("numerator").fill_null(0.0),
    )


def mcc_cohort(panel: Panel, year: int) -> pl.LazyFrame:
    """person_id of members with two or more of the nine MCC conditions coded in ``year - 1``."""
    coded = pl.concat(
        [
            diagnosis_hits(panel, c)
            .filter(pl.col("year") == year - 1)
            .select("person_id", pl.lit(c).alias("condition"))
            for c in MCC_CONDITIONS
        ]
    )
    return (
        coded.group_by("person_id")
        .agg(pl.col("condition").n_unique().alias("conditions"))
        .filter(pl.col("conditions") >= 2)
        .select("person_id")
    )


def mcc_rows(panel: Panel, year: int) -> pl.LazyFrame:
    """Members 65+ of the MCC cohort: person-years (denominator) and unplanned acute admissions."""
    months = member_months_of(panel, year).filter(pl.col("age") >= 65)
    exposure = (
        months.join(mcc_cohort(panel, year), on="person_id", how="semi")
        .group_by("person_id")
        .agg((pl.len() / 12.0).alias("denominator"))
    )
    admissions = (
        stays(panel)
        .filter(
            (pl.col("admission_date").dt.year() == year)
            & (pl.col("admit_type_code").fill_null("") != "3")
        )
        .group_by("person_id")
        .agg(pl.len().cast(pl.Float64).alias("numerator"))
    )
    return exposure.join(admissions, on="person_id", how="left").with_columns(
        pl.col("numerator").fill_null(0.0)
    )


def hospital_rows(
    panel: Panel,
    year: int,
    *,
    reference: pl.DataFrame | None = None,
    end: dt.date | None = None,
) -> pl.LazyFrame:
    """Measure rows of every hospital measure of ``year``. ``reference`` (``drg_mean_stay``) and
    ``end`` (``data_end``) are the whole panel's when ``panel`` is a range of its people; None:
    ``panel``'s own."""
    parts = {
        "readmission_30d": readmission_rows(panel, year),
        "mcc_admissions": mcc_rows(panel, year),
        "mortality_30d": mortality_rows(panel, year),
        "alos": alos_rows(panel, year, reference=reference),
        "followup_7d": followup_rows(panel, year, days=7, end=end),
        "followup_14d": followup_rows(panel, year, days=14, end=end),
        "mrp": mrp_rows(panel, year),
    }
    return pl.concat([rows(frame, m, year) for m, frame in parts.items()])


__all__ = [
    "alos_rows",
    "data_end",
    "drg_mean_stay",
    "followup_rows",
    "hospital_rows",
    "mcc_rows",
    "members_of",
    "mortality_rows",
    "mrp_rows",
    "readmission_rows",
]
