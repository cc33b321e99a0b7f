"""Beneficiaries: canonical eligibility from CCLF8, or from an enrollment file.

Eligibility comes from CCLF8: each monthly delivery's beneficiaries are enrolled in the month of
its file date, with that month's dual and Medicare status; birth date, sex, race, death date and
original entitlement come from the latest record. Consecutive months with the same status become
one span (spans end at a year boundary). An optional enrollment file (CSV: ``bene_mbi_id``,
``enrollment_start_date``, ``enrollment_end_date``) gives the months instead. Sex and race are
read by the codes of the CCLF Information Packet (``SEX``, ``RACE``); a one-digit dual status code
is read with its leading 0 ("2" as "02").

Every span is traced back to the CCLF8 lines it was built from: each span carries a key
(``SOURCE_CLAIM``: ``eligibility:<MBI> from <start>``) and each loaded line the key of what it
went into: a monthly line the span holding its month; a run-out line, or any line when an
enrollment file gives the months, its beneficiary (``eligibility:<MBI>``: it gave the
attributes of all their spans). A line whose span, or every span of whose beneficiary, the
canonical checks quarantine is then counted quarantined, not loaded (``ingest``).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from modeling.errors import SchemaError
from modeling.ingest.cclf.crosswalk import current_mbi
from modeling.ingest.cclf.files import FILE, LINE_NO, ORDER
from modeling.ingest.cclf.reconciliation import STATUS
from modeling.ingest.cclf.staging import SOURCE_CLAIM, scan

RACE = {
    "0": "unknown",
    "1": "white",
    "2": "black",
    "3": "other",
    "4": "asian",
    "5": "hispanic",
    "6": "american indian or alaska native",
}
SEX = {"1": "male", "2": "female", "0": "unknown"}


def beneficiary_eligibility(
    staging: Path, xwalk: pl.DataFrame, *, enrollment: str | Path | None = None
) -> tuple[pl.LazyFrame, pl.DataFrame] | None:
    """Eligibility from the staged CCLF8 records (months from ``enrollment`` when given) and the
    status of each record; None without CCLF8."""
    if (c8 := scan(staging, "CCLF8")) is None:
        return None
    months = months_from_file(Path(enrollment)) if enrollment is not None else None
    return eligibility_from_cclf8(c8.collect(), xwalk, enrollment=months)


def months_from_file(path: Path) -> pl.DataFrame:
    """The months each beneficiary of an enrollment file (CSV) is enrolled in, one row a month."""
    try:
        frame = pl.read_csv(path, infer_schema=False, glob=False)
    except Exception as exc:  # polars raises several types for unreadable files
        raise SchemaError(f"{path}: cannot be read as CSV ({exc}).") from exc
    needed = ["bene_mbi_id", "enrollment_start_date", "enrollment_end_date"]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"{path}: the enrollment file needs columns {', '.join(needed)}; missing {', '.join(missing)}."
        )
    spans = frame.select(
        pl.col("bene_mbi_id").str.strip_chars().alias("BENE_MBI_ID"),
        pl.col("enrollment_start_date").str.strptime(pl.Date, "%Y-%m-%d", strict=False).alias("s"),
        pl.col("enrollment_end_date").str.strptime(pl.Date, "%Y-%m-%d", strict=False).alias("e"),
    )
    bad = spans.filter(pl.col("s").is_null() | pl.col("e").is_null() | (pl.col("e") < pl.col("s")))
    if bad.height:
        raise SchemaError(
            f"{path}: {bad.height} row(s) have a missing, unparseable (YYYY-MM-DD) or reversed date; first: {bad.row(0)}."
        )
    return spans.select(
        "BENE_MBI_ID",
        pl.date_ranges(pl.col("s").dt.month_start(), pl.col("e").dt.month_start(), "1mo").alias(
            "_month"
        ),
    ).explode("_month")


def eligibility_from_cclf8(
    cclf8: pl.DataFrame, xwalk: pl.DataFrame, *, enrollment: pl.DataFrame | None = None
) -> tuple[pl.LazyFrame, pl.DataFrame]:
    """Enrollment spans (canonical eligibility) and the status of every CCLF8 record."""
    records = current_mbi(cclf8.lazy(), xwalk).collect().sort(ORDER, LINE_NO)
    monthly = pl.col("_delivery") == "monthly"
    # a beneficiary listed twice in one month (e.g. under an old and a new MBI): the later record stands
    records = records.with_columns(
        pl.when(
            monthly
            & (pl.int_range(pl.len()).over("mbi", "_month") < pl.len().over("mbi", "_month") - 1)
        )
        .then(pl.lit("superseded"))
        .otherwise(pl.lit("loaded"))
        .alias(STATUS)
    )
    latest = records.group_by("mbi").agg(
        pl.col("BENE_DOB").last(),
        pl.col("BENE_SEX_CD").last(),
        pl.col("BENE_RACE_CD").last(),
        pl.col("BENE_DEATH_DT").drop_nulls().last(),
        pl.col("BENE_ORGNL_ENTLMT_RSN_CD").last(),
        pl.col("BENE_DUAL_STUS_CD").last().alias("_dual_latest"),
        pl.col("BENE_MDCR_STUS_CD").last().alias("_mstatus_latest"),
    )
    if enrollment is not None:
        months = (
            current_mbi(enrollment.lazy(), xwalk)
            .collect()
            .join(latest, on="mbi", how="inner")
            .select(
                "mbi",
                "_month",
                pl.col("_dual_latest").alias("BENE_DUAL_STUS_CD"),
                pl.col("_mstatus_latest").alias("BENE_MDCR_STUS_CD"),
            )
        )
    else:
        months = records.filter(monthly & (pl.col(STATUS) == "loaded")).select(
            "mbi", "_month", "BENE_DUAL_STUS_CD", "BENE_MDCR_STUS_CD"
        )
    months = months.unique(subset=["mbi", "_month"], keep="last", maintain_order=True).sort(
        "mbi", "_month"
    )
    attrs = ["BENE_DUAL_STUS_CD", "BENE_MDCR_STUS_CD"]
    prev_month = pl.col("_month").shift(1).over("mbi")
    new_span = (
        prev_month.is_null()
        | (pl.col("_month") != prev_month.dt.offset_by("1mo"))
        | (pl.col("_month").dt.year() != prev_month.dt.year())
        | pl.any_horizontal(
            [pl.col(a).fill_null("") != pl.col(a).shift(1).over("mbi").fill_null("") for a in attrs]
        )
    )
    months = months.with_columns(new_span.fill_null(True).cum_sum().over("mbi").alias("_span"))
    spans = (
        months.group_by("mbi", "_span")
        .agg(
            pl.col("_month").min().alias("start"),
            pl.col("_month").max().alias("last"),
            *[pl.col(a).first() for a in attrs],
        )
        .join(latest.drop("_dual_latest", "_mstatus_latest"), on="mbi", how="left")
    )
    end = pl.col("last").dt.month_end()
    died_in_month = pl.col("BENE_DEATH_DT").is_not_null() & (
        pl.col("BENE_DEATH_DT").dt.month_start() == pl.col("last")
    )
    dual = pl.col("BENE_DUAL_STUS_CD")
    dual = pl.when(dual.str.contains(r"^\d$")).then(pl.lit("0") + dual).otherwise(dual)
    eligibility = (
        spans.lazy()
        .select(
            pl.col("mbi").alias("person_id"),
            pl.col("mbi").alias("member_id"),
            pl.lit("medicare").alias("payer"),
            pl.lit("medicare").alias("payer_type"),
            pl.lit("original medicare").alias("plan"),
            pl.col("BENE_SEX_CD").replace_strict(SEX, default="unknown").alias("gender"),
            pl.col("BENE_RACE_CD").replace_strict(RACE, default="unknown").alias("race"),
            pl.col("BENE_DOB").alias("birth_date"),
            pl.col("BENE_DEATH_DT").alias("death_date"),
            pl.col("start").alias("enrollment_start_date"),
            pl.when(died_in_month)
            .then(pl.col("BENE_DEATH_DT"))
            .otherwise(end)
            .alias("enrollment_end_date"),
            pl.col("BENE_ORGNL_ENTLMT_RSN_CD").alias("original_reason_entitlement_code"),
            dual.fill_null("NA").alias("dual_status_code"),
            pl.col("BENE_MDCR_STUS_CD").alias("medicare_status_code"),
            pl.lit("cclf").alias("data_source"),
            _span_key(pl.col("mbi"), pl.col("start")).alias(SOURCE_CLAIM),
        )
        .sort("person_id", "enrollment_start_date")
    )
    return eligibility, _line_sources(records, spans, monthly_months=enrollment is None)


def _span_key(mbi: pl.Expr, start: pl.Expr | None = None) -> pl.Expr:
    """The provenance key of a span (``eligibility:<MBI> from <start>``) or, without ``start``,
    of all spans of a beneficiary (``eligibility:<MBI>``)."""
    person = pl.lit("eligibility:") + mbi
    return person if start is None else person + pl.lit(" from ") + start.cast(pl.String)


def _line_sources(
    records: pl.DataFrame, spans: pl.DataFrame, *, monthly_months: bool
) -> pl.DataFrame:
    """File, line and status of every CCLF8 record, with the key of what it went into: the span
    of its month for a loaded monthly record when the months come from CCLF8, else its
    beneficiary's spans."""
    person = _span_key(pl.col("mbi"))
    if not monthly_months:
        return records.select(FILE, LINE_NO, STATUS, person.alias(SOURCE_CLAIM))
    runs = spans.select("mbi", "start", "last")
    monthly_loaded = (pl.col("_delivery") == "monthly") & (pl.col(STATUS) == "loaded")
    located = (
        records.with_row_index("_i")
        .filter(monthly_loaded)
        .join(runs, on="mbi", how="inner")
        .filter(pl.col("_month").is_between(pl.col("start"), pl.col("last")))
        .select("_i", _span_key(pl.col("mbi"), pl.col("start")).alias("_span_of_line"))
    )
    return (
        records.with_row_index("_i")
        .join(located, on="_i", how="left")
        .select(
            FILE,
            LINE_NO,
            STATUS,
            pl.coalesce(pl.col("_span_of_line"), person).alias(SOURCE_CLAIM),
        )
    )
