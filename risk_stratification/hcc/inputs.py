"""CMS-HCC inputs from a panel: demographics from eligibility, diagnoses from the
risk-adjustment-eligible claims of the data collection year (the year before the payment year),
read from the core's long ``conditions`` table.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from modeling.codes import ESRD_MEDICARE_STATUSES
from modeling.core.conditions import risk_adjustment_diagnoses_of
from modeling.core.member_months import december_enrollees, years_enrolled
from modeling.core.panel import Panel
from modeling.core.service_categories import bill_type_prefix
from modeling.dataset import Dataset
from modeling.errors import DatasetError
from modeling.schema import DIAGNOSIS_COLUMNS


def hcc_people(
    source: Panel | Dataset,
    payment_year: int,
    *,
    december: pl.DataFrame | None = None,
    long_term_institutional: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The people to score for ``payment_year`` prospectively (see ``hcc_inputs``); ESRD status
    reads the whole claims history, as it looks back to the transplant.

    ``december``: the ``december_enrollees`` of the collection year, and
    ``long_term_institutional``: the core's rows of that year, when the caller has read them
    already (the same rows; they are read from the eligibility spans and the core otherwise)."""
    panel = Panel.of(source)
    collection_year = payment_year - 1
    if december is None:
        december = december_enrollees(panel.scan("eligibility"), collection_year).collect()
    people = december.rename({"original_reason_entitlement_code": "orec"})
    if people.is_empty():
        years = years_enrolled(panel.scan("eligibility"))
        raise DatasetError(
            f"Payment year {payment_year} needs claims and enrollment from {collection_year}; "
            f"{panel.path} covers {', '.join(map(str, years)) or 'no years'}. Choose a payment year one after a year it covers."
        )
    if long_term_institutional is None:
        long_term_institutional = (
            panel.scan("long_term_institutional", years=[collection_year])
            .filter(pl.col("year") == collection_year)
            .collect()
        )
    institutional = long_term_institutional.select("person_id")
    people = people.with_columns(
        (pl.col("months") < 12).alias("new_enrollee"),
        pl.col("person_id").is_in(institutional["person_id"].implode()).alias("lti"),
        pl.lit(False).alias("snp"),
        pl.col("medicare_status_code").is_in(ESRD_MEDICARE_STATUSES).alias("esrd"),
    )
    statuses = esrd_status(
        panel.scan("medical_claim"),
        people.filter(pl.col("esrd")).lazy(),
        dt.date(payment_year, 1, 1),
    ).collect()
    return people.join(statuses, on="person_id", how="left").drop("medicare_status_code")


def hcc_inputs(source: Panel | Dataset, payment_year: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(people, diagnoses) for scoring ``payment_year`` prospectively.

    People are the members still enrolled in December of the data collection year
    (``payment_year - 1``: those who died or left before then are not in the payment-year panel),
    with the attributes of that month; ``new_enrollee`` is fewer than 12 months of
    enrollment in that year (CMS: fewer than 12 months of Part B in the data collection year);
    ``lti`` is the claims-based long-term institutional flag; ``snp`` is false (FFS data);
    ``esrd`` is a Medicare status of ESRD (11, 21, 31) in December, and for those people
    ``esrd_status`` and ``graft_months`` are read from claims as of January 1 of the payment
    year (``esrd_status`` below). Diagnoses (person_id,
    diagnosis_code) are the distinct codes of the collection year's risk-adjustment-eligible
    claims.
    """
    panel = Panel.of(source)
    # both tables of the collection year, derived together (one read of the year's lines)
    panel.derive(("person_diagnoses", "long_term_institutional"), years=[payment_year - 1])
    people = hcc_people(panel, payment_year)
    diagnoses = risk_adjustment_diagnoses_of(
        panel.scan("person_diagnoses", years=[payment_year - 1]), payment_year - 1
    ).collect()
    return people, diagnoses


KIDNEY_TRANSPLANT_DRGS = (
    "008",
    "652",
)  # MS-DRG 008 simultaneous pancreas/kidney, 652 kidney transplant
DIALYSIS_BILL_TYPE = "72"  # type of bill 72x: hospital-based or independent renal dialysis facility


def esrd_status(medical_claim: pl.LazyFrame, people: pl.LazyFrame, as_of: dt.date) -> pl.LazyFrame:
    """person_id, esrd_status, graft_months for the ESRD beneficiaries in ``people`` on ``as_of``.

    CMS takes dialysis, transplant and graft status from its ESRD enrollment systems, which
    claims data do not carry; this is the claims-based reading: the latest kidney transplant
    admission (MS-DRG 008 or 652) on or before ``as_of`` makes the person a transplant recipient,
    with ``graft_months`` counting the admission month as month 1 (months 1-3 are transplant
    months, 4+ a functioning graft), unless dialysis facility claims (type of bill 72x) start
    after the transplant's discharge, in which case the graft failed and the person is on
    dialysis. ESRD beneficiaries with no transplant claim are on dialysis, except those coded
    with kidney transplant status (Z94.0) and no dialysis claim in the 90 days before
    ``as_of``, who have a functioning graft of unknown age.
    """
    bill = bill_type_prefix()
    ids = people.select("person_id").collect()["person_id"].implode()
    history = (  # the ESRD beneficiaries' claims are few: read them once (a filter, not a join, so the scan skips other people's rows)
        medical_claim.filter((pl.col("claim_start_date") <= as_of) & pl.col("person_id").is_in(ids))
        .select(
            "person_id",
            "claim_type",
            "claim_start_date",
            "claim_end_date",
            "drg_code",
            "bill_type_code",
            *DIAGNOSIS_COLUMNS,
        )
        .collect()
        .lazy()
    )
    transplants = (
        history.filter(
            pl.col("drg_code").is_in(KIDNEY_TRANSPLANT_DRGS)
            & (pl.col("claim_type") == "institutional")
        )
        .group_by("person_id")
        .agg(
            pl.col("claim_start_date").max().alias("transplant_date"),
            pl.col("claim_end_date").max().alias("transplant_end"),
        )
    )
    dialysis = (
        history.filter(bill == DIALYSIS_BILL_TYPE)
        .group_by("person_id")
        .agg(pl.col("claim_start_date").max().alias("last_dialysis"))
    )
    graft_status = (
        history.filter(
            pl.any_horizontal(
                pl.col(c).str.replace(".", "", literal=True) == "Z940" for c in DIAGNOSIS_COLUMNS
            ).fill_null(False)
        )
        .select("person_id")
        .unique()
        .with_columns(pl.lit(True).alias("z940"))
    )
    months = (
        (as_of.year - pl.col("transplant_date").dt.year()) * 12
        + (as_of.month - pl.col("transplant_date").dt.month())
        + 1
    )
    recent_dialysis = pl.col("last_dialysis").is_not_null() & (
        pl.col("last_dialysis") > pl.lit(as_of) - pl.duration(days=90)
    )
    failed_graft = pl.col("last_dialysis").is_not_null() & (
        pl.col("last_dialysis") > pl.col("transplant_end")
    )
    return (
        people.select("person_id")
        .join(transplants, on="person_id", how="left")
        .join(dialysis, on="person_id", how="left")
        .join(graft_status, on="person_id", how="left")
        .with_columns(
            pl.when(pl.col("transplant_date").is_not_null() & ~failed_graft)
            .then(pl.when(months <= 3).then(pl.lit("transplant")).otherwise(pl.lit("graft")))
            .when(
                pl.col("transplant_date").is_null()
                & pl.col("z940").fill_null(False)
                & ~recent_dialysis
            )
            .then(pl.lit("graft"))
            .otherwise(pl.lit("dialysis"))
            .alias("esrd_status"),
        )
        .with_columns(
            pl.when(pl.col("esrd_status") != "dialysis")
            .then(months)
            .cast(pl.Int32)
            .alias("graft_months")
        )
        .select("person_id", "esrd_status", "graft_months")
    )
