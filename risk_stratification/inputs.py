"""CMS-HCC inputs from a canonical dataset: demographics from eligibility, diagnoses from the
risk-adjustment-eligible claims of the data collection year (the year before the payment year).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from modeling.dataset import Dataset
from modeling.encounters import esrd_status, long_term_institutional
from modeling.errors import DatasetError
from modeling.member_months import december_enrollees, years_enrolled
from modeling.risk_adjustment import risk_adjustment_diagnoses

ESRD_MEDICARE_STATUS = ("11", "21", "31")  # aged with ESRD, disabled with ESRD, ESRD only


def hcc_people(
    dataset: Dataset, payment_year: int, collection_claims: pl.LazyFrame | None = None
) -> pl.DataFrame:
    """The people to score for ``payment_year`` prospectively (see ``hcc_inputs``).

    ``collection_claims``: the medical claims of the data collection year when the caller has
    them in memory already (the long-term institutional flag is read from them); ESRD status
    always reads the whole claims history, as it looks back to the transplant.
    """
    collection_year = payment_year - 1
    people = (
        december_enrollees(dataset.scan("eligibility"), collection_year)
        .rename({"original_reason_entitlement_code": "orec"})
        .collect()
    )
    if people.is_empty():
        years = years_enrolled(dataset.scan("eligibility"))
        raise DatasetError(
            f"Payment year {payment_year} needs claims and enrollment from {collection_year}; "
            f"{dataset.path} covers {', '.join(map(str, years)) or 'no years'}. Choose a payment year one after a year it covers."
        )
    claims = collection_claims if collection_claims is not None else dataset.scan("medical_claim")
    institutional = (
        long_term_institutional(claims)
        .filter(pl.col("year") == collection_year)
        .select("person_id")
        .collect()
    )
    people = people.with_columns(
        (pl.col("months") < 12).alias("new_enrollee"),
        pl.col("person_id").is_in(institutional["person_id"].implode()).alias("lti"),
        pl.lit(False).alias("snp"),
        pl.col("medicare_status_code").is_in(ESRD_MEDICARE_STATUS).alias("esrd"),
    )
    statuses = esrd_status(
        dataset.scan("medical_claim"),
        people.filter(pl.col("esrd")).lazy(),
        dt.date(payment_year, 1, 1),
    ).collect()
    return people.join(statuses, on="person_id", how="left").drop("medicare_status_code")


def hcc_inputs(dataset: Dataset, payment_year: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(people, diagnoses) for scoring ``payment_year`` prospectively.

    People are the members still enrolled in December of the data collection year
    (``payment_year - 1``: those who died or left before then are not in the payment-year panel),
    with the attributes of that month; ``new_enrollee`` is fewer than 12 months of
    enrollment in that year (CMS: fewer than 12 months of Part B in the data collection year);
    ``lti`` is the claims-based long-term institutional flag; ``snp`` is false (FFS data);
    ``esrd`` is a Medicare status of ESRD (11, 21, 31) in December, and for those people
    ``esrd_status`` and ``graft_months`` are read from claims as of January 1 of the payment
    year (``modeling.encounters.esrd_status``). Diagnoses (person_id, claim_id,
    diagnosis_code) are those of the collection year's risk-adjustment-eligible claims.
    """
    people = hcc_people(dataset, payment_year)
    diagnoses = risk_adjustment_diagnoses(dataset.scan("medical_claim"), payment_year - 1).collect()
    return people, diagnoses
