"""Beneficiaries: the population written, its MBI changes, and its demographics (CCLF8).

Each monthly delivery's CCLF8 lists the beneficiaries enrolled that month with that month's dual
and Medicare status. A share of beneficiaries changed MBI: their records before the change carry
the previous MBI, and the change is in CCLF9 (see ``delivery_files``). Codes are the CCLF
Information Packet's: ``BENE_SEX_CD`` 1 male, 2 female, 0 unknown; ``BENE_RACE_CD`` 0-6.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from modeling.core.member_months import member_months
from modeling.dataset import Dataset
from modeling.errors import DatasetError
from modeling.synth.cclf_writer.deliveries import Deliveries
from modeling.synth.people import mbis

RACE_CODE = {
    "unknown": "0",
    "white": "1",
    "black": "2",
    "other": "3",
    "asian": "4",
    "hispanic": "5",
    "american indian or alaska native": "6",
}
SEX_CODE = {"male": "1", "female": "2", "unknown": "0"}


@dataclass(frozen=True)
class MbiHistory:
    """Each person's MBI, and for those who changed it the previous MBI and the change date."""

    person_mbi: pl.DataFrame  # person_id, member_id, previous, change_date

    def at(self, frame: pl.DataFrame, when: str) -> pl.DataFrame:
        """``frame`` with ``BENE_MBI_ID``: the person's MBI on the date in column ``when``."""
        f = frame.drop("member_id", strict=False).join(self.person_mbi, on="person_id", how="left")
        old = pl.col("change_date").is_not_null() & (pl.col(when) < pl.col("change_date"))
        return f.with_columns(
            pl.when(old)
            .then(pl.col("previous"))
            .otherwise(pl.col("member_id"))
            .alias("BENE_MBI_ID")
        ).drop("previous", "change_date", "member_id")


@dataclass(frozen=True)
class Population:
    """Who is written: member months, one row per person, and the MBI changes drawn."""

    months: pl.DataFrame  # member months (person_id, year_month, demographics, statuses)
    people: pl.DataFrame  # person_id, member_id, race, death_date
    changes: pl.DataFrame  # person_id, previous, change_date
    first_month: date
    last_month: date

    def mbi_history(self) -> MbiHistory:
        return MbiHistory(
            self.people.select("person_id", "member_id").join(
                self.changes, on="person_id", how="left"
            )
        )


def read_population(
    dataset: Dataset, rng: np.random.Generator, *, seed: int, mbi_change_share: float
) -> Population:
    """The dataset's beneficiaries, with a share of them given an earlier MBI."""
    months = member_months(dataset.scan("eligibility")).collect()
    if months.height == 0:
        raise DatasetError(f"{dataset.path}: no eligibility to write as CCLF8.")
    first_month, last_month = _month(months["year_month"].min()), _month(months["year_month"].max())
    people = (
        dataset.scan("eligibility")
        .sort("enrollment_start_date")
        .group_by("person_id")
        .agg(
            pl.col("member_id").last(),
            pl.col("race").last(),
            pl.col("death_date").drop_nulls().last(),
        )
        .sort("person_id")
        .collect()
    )
    if people["member_id"].null_count():
        raise DatasetError(
            f"{dataset.path}: every person needs a member_id (MBI) to be written as CCLF."
        )

    # beneficiaries who changed MBI: records before the change carry the previous one
    changed = people.sample(fraction=mbi_change_share, seed=seed).sort("person_id")
    span_days = max((last_month - first_month).days, 1)
    change = changed.select(
        "person_id",
        pl.Series("previous", mbis(rng, changed.height)),
        pl.Series(
            "change_date",
            [first_month.toordinal() + int(d) for d in rng.integers(31, span_days, changed.height)],
        )
        .map_elements(date.fromordinal, return_dtype=pl.Date)
        .dt.month_start(),
    )
    return Population(months, people, change, first_month, last_month)


def _month(value: object) -> date:
    """A month from the member months (a date: they are never empty here)."""
    if not isinstance(value, date):
        raise DatasetError(f"member months have no month ({value!r}).")
    return value


def write_beneficiaries(population: Population, mbi: MbiHistory, deliveries: Deliveries) -> None:
    """One CCLF8 record per beneficiary and month enrolled, under the MBI of that month."""
    bene = mbi.at(
        population.months.rename({"year_month": "_month"}).join(
            population.people.select("person_id", "race", pl.col("death_date").alias("_death")),
            on="person_id",
            how="left",
        ),
        "_month",
    )
    bene = bene.select(
        "BENE_MBI_ID",
        "_month",
        pl.col("birth_date").alias("BENE_DOB"),
        pl.col("gender").replace_strict(SEX_CODE, default="0").alias("BENE_SEX_CD"),
        pl.col("race").replace_strict(RACE_CODE, default="0").alias("BENE_RACE_CD"),
        (pl.col("_month").dt.year() - pl.col("birth_date").dt.year())
        .cast(pl.Int32)
        .alias("BENE_AGE"),
        pl.col("medicare_status_code").alias("BENE_MDCR_STUS_CD"),
        pl.col("dual_status_code").alias("BENE_DUAL_STUS_CD"),
        pl.col("_death").alias("BENE_DEATH_DT"),
        pl.col("original_reason_entitlement_code").alias("BENE_ORGNL_ENTLMT_RSN_CD"),
    )
    deliveries.add(bene, "CCLF8", "_month")
