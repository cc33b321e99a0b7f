"""CMS-HCC inputs from a canonical dataset: demographics from eligibility, diagnoses from the
risk-adjustment-eligible claims of the data collection year (the year before the payment year).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from modeling.dataset import Dataset
from modeling.encounters import esrd_status, long_term_institutional
from modeling.errors import DatasetError
from modeling.member_months import member_months
from modeling.risk_adjustment import risk_adjustment_diagnoses

ESRD_MEDICARE_STATUS = ("11", "21", "31")  # aged with ESRD, disabled with ESRD, ESRD only


def hcc_inputs(dataset: Dataset, payment_year: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(people, diagnoses) for scoring ``payment_year`` prospectively.

    People are the members still enrolled in December of the data collection year
    (``payment_year - 1``: those who died or left before then are not in the payment-year panel),
    with the attributes of that month; ``new_enrollee`` is fewer than 12 months of
    enrollment in that year (CMS: fewer than 12 months of Part B in the data collection year);
    ``lti`` is the claims-based long-term institutional flag; ``snp`` is false (FFS data);
    ``esrd`` is a Medicare status of ESRD (11, 21, 31) in December, and for those people
    ``esrd_status`` and ``graft_months`` are read from claims as of January 1 of the payment
    year (``modeling.encounters.esrd_status``).
    """
    collection_year = payment_year - 1
    mm = member_months(dataset.scan("eligibility")).filter(pl.col("year") == collection_year)
    people = (
        mm.sort("person_id", "year_month")
        .group_by("person_id")
        .agg(
            pl.len().alias("months"),
            pl.col("month").max().alias("last_month"),
            pl.col("birth_date").last(),
            pl.col("gender").last(),
            pl.col("original_reason_entitlement_code").last().alias("orec"),
            pl.col("dual_status_code").last(),
            pl.col("medicare_status_code").last(),
        )
        .filter(pl.col("last_month") == 12)
        .drop("last_month")
        .collect()
    )
    if people.is_empty():
        years = member_months(dataset.scan("eligibility")).select(pl.col("year").unique().sort()).collect()["year"].to_list()
        raise DatasetError(
            f"Payment year {payment_year} needs claims and enrollment from {collection_year}; "
            f"{dataset.path} covers {', '.join(map(str, years)) or 'no years'}. Choose a payment year one after a year it covers."
        )
    institutional = long_term_institutional(dataset.scan("medical_claim")).filter(pl.col("year") == collection_year).select("person_id").collect()
    people = people.with_columns(
        (pl.col("months") < 12).alias("new_enrollee"),
        pl.col("person_id").is_in(institutional["person_id"].implode()).alias("lti"),
        pl.lit(False).alias("snp"),
        pl.col("medicare_status_code").is_in(ESRD_MEDICARE_STATUS).alias("esrd"),
    )
    statuses = esrd_status(dataset.scan("medical_claim"), people.filter(pl.col("esrd")).lazy(), dt.date(payment_year, 1, 1)).collect()
    people = people.join(statuses, on="person_id", how="left").drop("medicare_status_code")
    diagnoses = risk_adjustment_diagnoses(dataset.scan("medical_claim"), collection_year).collect()
    return people, diagnoses
