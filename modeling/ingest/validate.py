"""Validation of canonical tables: every row is either accepted or quarantined with its reasons.

Rows in = rows accepted + rows quarantined, always. Each check has a stable name that appears
in the data-quality report (counts per check, per table) and in each quarantined row's reasons.

Checks (a row fails when any applies):

- ``missing_required``   a required column is null or blank
- ``unparseable_date``   a date that matches none of YYYY-MM-DD, YYYYMMDD, MM/DD/YYYY
- ``unparseable_number`` an amount or count that is not a number
- ``implausible_date``   a date before 1900-01-01 or after 2100-12-31
- ``end_before_start``   an end date earlier than its start date (span, claim, line, stay)
- ``malformed_icd10``    a diagnosis (ICD-10-CM) or procedure (ICD-10-PCS) code of the wrong form
- ``malformed_hcpcs``    a HCPCS/CPT code that is not 5 characters of the CPT or Level II form
- ``malformed_ndc``      an NDC that is not 11 digits (5-4-2) after removing hyphens
- ``non_finite_amount``  a paid or allowed amount that is NaN or infinite
- ``implausible_amount`` an amount whose size is beyond any single claim (``MAX_PLAUSIBLE_AMOUNT``)
- ``death_out_of_order`` a death date before the birth date or before the span's enrollment start
- ``invalid_value``      a coded column outside its value set (gender, claim_type, OREC, ...)
- ``no_eligibility``     a claim for a person with no accepted eligibility row
- ``outside_enrollment`` a claim whose service month (``claim_start_date``; ``dispensing_date``
  for fills) is a month none of the person's accepted enrollment spans touches. This is the
  month rule of member months (``modeling.core.member_months``), so every accepted claim's paid
  amount falls in a member month of its person and PMPM = paid / member months holds.
- ``duplicate_key``      a repeat of an earlier row's key (the first occurrence is kept)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import polars as pl

from modeling.schema import TableSchema

ROW = "_source_row"
REASONS = "_reasons"
RAW_PREFIX = "__raw__"

ICD10_CM = r"^[A-TV-Z][0-9][0-9A-Z][0-9A-Z]{0,4}$"
ICD10_PCS = r"^[0-9A-HJ-NP-Z]{7}$"
HCPCS = r"^(?:[0-9]{4}[0-9AFMTU]|[A-V][0-9]{4})$"
NDC11 = r"^[0-9]{11}$"
DATE_FORMATS = ("%Y-%m-%d", "%Y%m%d", "%m/%d/%Y")
EARLIEST, LATEST = pl.date(1900, 1, 1), pl.date(2100, 12, 31)
# The largest amount accepted on one claim line, in dollars. A bound of our own (not a
# regulatory figure): the costliest single Medicare claims (gene therapies, long ICU stays) are
# a few million dollars, so 100 million leaves room by a factor of ten or more, and sums of
# accepted amounts stay far below the 9.2e16-dollar range of exact integer-cent sums.
MAX_PLAUSIBLE_AMOUNT = 100_000_000.0
SERVICE_DATE = {"medical_claim": "claim_start_date", "pharmacy_claim": "dispensing_date"}
ENROLLED = "__enrolled"

CHECK_DESCRIPTIONS: dict[str, str] = {
    "missing_required": "a required column is null or blank",
    "unparseable_date": "a date that is not YYYY-MM-DD, YYYYMMDD or MM/DD/YYYY",
    "unparseable_number": "an amount or count that is not a number",
    "implausible_date": "a date before 1900 or after 2100",
    "end_before_start": "an end date earlier than its start date",
    "malformed_icd10": "an ICD-10-CM/PCS code of the wrong form",
    "malformed_hcpcs": "a HCPCS/CPT code of the wrong form",
    "malformed_ndc": "an NDC that is not 11 digits",
    "non_finite_amount": "an amount that is NaN or infinite",
    "implausible_amount": "an amount beyond 100 million dollars on one line",
    "death_out_of_order": "a death date before birth or before the enrollment start",
    "invalid_value": "a coded value outside its value set",
    "no_eligibility": "a claim for a person with no eligibility",
    "outside_enrollment": "a claim in a month the person is not enrolled",
    "duplicate_key": "a repeat of an earlier row's key",
}


@dataclass(frozen=True)
class Check:
    """One rule: the rows it fails (`failed`) and what to tell the user about each (`message`)."""

    name: str
    failed: pl.Expr
    message: pl.Expr


@dataclass(frozen=True)
class ValidationResult:
    """What validation of one table found. ``rows_in == rows_accepted + rows_quarantined``."""

    table: str
    source: str
    rows_in: int
    accepted: pl.DataFrame
    quarantined: pl.DataFrame
    check_counts: dict[str, int] = field(default_factory=dict)

    accepted_count: int | None = None  # set when accepted rows were counted but not loaded
    quarantined_count: int | None = None  # set when quarantined rows were written, not kept

    @property
    def rows_accepted(self) -> int:
        return self.accepted_count if self.accepted_count is not None else self.accepted.height

    @property
    def rows_quarantined(self) -> int:
        return (
            self.quarantined_count
            if self.quarantined_count is not None
            else self.quarantined.height
        )

    def top_reasons(self, limit: int = 3) -> str:
        """The checks that failed most rows, as "check (rows): description; ..."."""
        top = sorted(((n, c) for n, c in self.check_counts.items() if c), key=lambda x: -x[1])
        return (
            "; ".join(
                f"{name} ({count:,} row{'s' if count != 1 else ''}): "
                f"{CHECK_DESCRIPTIONS.get(name, name)}"
                for name, count in top[:limit]
            )
            or "no check failed"
        )

    def report(self) -> dict:
        """The data-quality report entry for this table."""
        return {
            "table": self.table,
            "source": self.source,
            "rows_in": self.rows_in,
            "rows_accepted": self.rows_accepted,
            "rows_quarantined": self.rows_quarantined,
            "checks": {
                name: {"rows_failed": self.check_counts.get(name, 0), "description": desc}
                for name, desc in CHECK_DESCRIPTIONS.items()
            },
        }


def _text(name: str) -> pl.Expr:
    return pl.col(name).cast(pl.String)


def enrollment_months(eligibility: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """Accepted enrollment as non-overlapping runs of months per person: person_id,
    ``__from`` and ``__to`` (first days of the first and last month a span touches)."""
    spans = (
        eligibility.lazy()
        .select(
            "person_id",
            pl.col("enrollment_start_date").dt.truncate("1mo").alias("__from"),
            pl.col("enrollment_end_date").dt.truncate("1mo").alias("__to"),
        )
        .drop_nulls()
        .sort("person_id", "__from")
    )
    reach = pl.col("__to").cum_max().over("person_id")
    starts_run = (pl.col("__from") > reach.shift(1).over("person_id")).fill_null(True)
    return (
        spans.with_columns(starts_run.cum_sum().over("person_id").alias("__run"))
        .group_by("person_id", "__run")
        .agg(pl.col("__from").min(), pl.col("__to").max())
        .select("person_id", "__from", "__to")
        .sort("__from")
        .collect()
    )


def _with_enrollment_flag(
    lf: pl.LazyFrame, schema: TableSchema, months: pl.DataFrame
) -> pl.LazyFrame:
    """``lf`` with ``__enrolled``: whether the row's service month lies in one of its person's
    runs of enrolled months (null when the person or the date is missing)."""
    date = SERVICE_DATE[schema.name]
    probe = (
        lf.select(pl.col(ROW), "person_id", pl.col(date).dt.truncate("1mo").alias("__month"))
        .drop_nulls()
        .sort("__month")
    )
    flags = probe.join_asof(
        months.lazy(),
        left_on="__month",
        right_on="__from",
        by="person_id",
        strategy="backward",
        check_sortedness=False,
    ).select(
        ROW, (pl.col("__to").is_not_null() & (pl.col("__month") <= pl.col("__to"))).alias(ENROLLED)
    )
    return lf.join(flags, on=ROW, how="left", maintain_order="left")


def _checks(
    schema: TableSchema,
    present_raw: set[str],
    eligible_ids: pl.Series | None,
    *,
    enrollment_checked: bool = False,
) -> list[Check]:
    checks: list[Check] = []
    for col in schema.columns:
        c = pl.col(col.name)
        raw = f"{RAW_PREFIX}{col.name}"
        if col.required:
            empty = c.is_null() & pl.col(raw).is_null() if raw in present_raw else c.is_null()
            checks.append(
                Check("missing_required", empty, pl.lit(f"{col.name} is required but empty"))
            )
        if raw in present_raw:
            check = "unparseable_date" if col.kind == "date" else "unparseable_number"
            checks.append(
                Check(
                    check,
                    pl.col(raw).is_not_null() & c.is_null(),
                    pl.format(
                        f"{col.name} '{{}}' is not a valid "
                        + (
                            "date"
                            if col.kind == "date"
                            else "whole number"
                            if col.dtype == pl.Int32
                            else "number (digits, optional US thousands commas and decimal point)"
                        ),
                        pl.col(raw),
                    ),
                )
            )
        if col.kind == "date":
            checks.append(
                Check(
                    "implausible_date",
                    (c < EARLIEST) | (c > LATEST),
                    pl.format(f"{col.name} {{}} is outside 1900-2100", _text(col.name)),
                )
            )
        elif col.kind in ("icd10_dx", "icd10_pcs"):
            pattern = ICD10_CM if col.kind == "icd10_dx" else ICD10_PCS
            label = "ICD-10-CM diagnosis" if col.kind == "icd10_dx" else "ICD-10-PCS procedure"
            checks.append(
                Check(
                    "malformed_icd10",
                    c.is_not_null() & ~c.str.contains(pattern),
                    pl.format(f"{col.name} '{{}}' is not a valid {label} code", c),
                )
            )
        elif col.kind == "hcpcs":
            checks.append(
                Check(
                    "malformed_hcpcs",
                    c.is_not_null() & ~c.str.contains(HCPCS),
                    pl.format(f"{col.name} '{{}}' is not a valid HCPCS/CPT code", c),
                )
            )
        elif col.kind == "ndc":
            checks.append(
                Check(
                    "malformed_ndc",
                    c.is_not_null() & ~c.str.contains(NDC11),
                    pl.format(f"{col.name} '{{}}' is not an 11-digit NDC", c),
                )
            )
        elif col.kind == "amount":
            checks.append(
                Check(
                    "non_finite_amount",
                    c.is_not_null() & ~c.is_finite(),
                    pl.format(f"{col.name} {{}} is not a finite amount", _text(col.name)),
                )
            )
            checks.append(
                Check(
                    "implausible_amount",
                    c.is_not_null() & c.is_finite() & (c.abs() > MAX_PLAUSIBLE_AMOUNT),
                    pl.format(
                        f"{col.name} {{}} is beyond any single claim (more than "
                        f"{MAX_PLAUSIBLE_AMOUNT:,.0f} dollars)",
                        _text(col.name),
                    ),
                )
            )
        elif col.kind == "enum" and col.allowed:
            allowed = ", ".join(col.allowed)
            checks.append(
                Check(
                    "invalid_value",
                    c.is_not_null() & ~c.is_in(list(col.allowed)),
                    pl.format(f"{col.name} '{{}}' is not one of: {allowed}", c),
                )
            )
    for start, end in schema.date_order:
        s, e = pl.col(start), pl.col(end)
        checks.append(
            Check(
                "end_before_start",
                s.is_not_null() & e.is_not_null() & (e < s),
                pl.format(f"{end} {{}} is before {start} {{}}", _text(end), _text(start)),
            )
        )
    if {"death_date", "birth_date", "enrollment_start_date"} <= set(schema.names):
        death = pl.col("death_date")
        checks.append(
            Check(
                "death_out_of_order",
                death.is_not_null()
                & ((death < pl.col("birth_date")) | (death < pl.col("enrollment_start_date"))),
                pl.format(
                    "death_date {} is before birth_date {} or enrollment_start_date {}",
                    _text("death_date"),
                    _text("birth_date"),
                    _text("enrollment_start_date"),
                ),
            )
        )
    if enrollment_checked:
        date = SERVICE_DATE[schema.name]
        checks.append(
            Check(
                "outside_enrollment",
                pl.col("person_id").is_in(eligible_ids.implode())  # type: ignore[union-attr]
                & pl.col(ENROLLED).not_(),
                pl.format(
                    f"{date} {{}} is in a month person_id '{{}}' is not enrolled",
                    _text(date),
                    pl.col("person_id"),
                ),
            )
        )
    if schema.requires_eligibility and eligible_ids is not None:
        checks.append(
            Check(
                "no_eligibility",
                pl.col("person_id").is_not_null()
                & ~pl.col("person_id").is_in(eligible_ids.implode()),
                pl.format("person_id '{}' has no eligibility", pl.col("person_id")),
            )
        )
    key = pl.struct(list(schema.key))
    checks.append(
        Check(
            "duplicate_key",
            ~key.is_first_distinct(),
            pl.lit(f"duplicate of an earlier row's key ({', '.join(schema.key)})"),
        )
    )
    return checks


def validate(
    frame: pl.LazyFrame | pl.DataFrame,
    schema: TableSchema,
    *,
    source: str = "",
    eligible_ids: pl.Series | None = None,
    keep_accepted: bool = True,
    enrollment: pl.DataFrame | None = None,
) -> ValidationResult:
    """Split a coerced table into accepted and quarantined rows, with per-check counts.

    ``frame`` holds the table's canonical columns (typed), optionally ``__raw__<col>`` text
    columns for values that had to be parsed, and ``_source_row`` (1-based row in the source).
    Claims are checked against ``eligible_ids`` when given, and their service months against
    ``enrollment`` (``enrollment_months`` of the accepted eligibility) when given. One pass computes a narrow frame of
    check flags; only failing rows are then read again to build their reasons. With
    ``keep_accepted=False`` (re-checking a stored dataset) accepted rows are counted, not loaded.
    """
    lf = frame.lazy()
    names = lf.collect_schema().names()
    if ROW not in names:
        lf = lf.with_row_index(ROW, offset=1)
    present_raw = {n for n in names if n.startswith(RAW_PREFIX)}
    enrollment_checked = (
        enrollment is not None
        and eligible_ids is not None
        and schema.name in SERVICE_DATE
        and SERVICE_DATE[schema.name] in names
    )
    if enrollment_checked:
        assert enrollment is not None
        lf = _with_enrollment_flag(lf, schema, enrollment)
    checks = _checks(schema, present_raw, eligible_ids, enrollment_checked=enrollment_checked)
    groups: dict[str, list[Check]] = {}
    for chk in checks:
        groups.setdefault(chk.name, []).append(chk)
    flag_exprs = [
        pl.any_horizontal([c.failed.fill_null(False) for c in group]).alias(name)
        for name, group in groups.items()
    ]
    flags = lf.select(pl.col(ROW), *flag_exprs).collect()
    counts = {name: int(flags[name].sum()) for name in groups}
    bad = flags.filter(pl.any_horizontal(list(groups)))
    bad_rows = bad[ROW]
    canonical = [n for n in schema.names if n in names]

    # reasons: row-local checks are re-evaluated on the failing rows; the duplicate-key flag,
    # which depends on the whole table, comes from the flags pass
    failing = lf.filter(pl.col(ROW).is_in(bad_rows.implode())).join(
        bad.lazy().select(ROW, pl.col("duplicate_key").alias("__dup")), on=ROW, how="left"
    )
    parts = [
        pl.when(pl.col("__dup") if c.name == "duplicate_key" else c.failed.fill_null(False)).then(
            pl.format("{}: {}", pl.lit(c.name), c.message)
        )
        for c in checks
    ]
    reasons = pl.concat_list(parts).list.drop_nulls().list.join("; ")
    quarantined = failing.select([*canonical, ROW, reasons.alias(REASONS)]).sort(ROW).collect()
    if keep_accepted:
        kept = (
            lf if bad_rows.is_empty() else lf.filter(~pl.col(ROW).is_in(bad_rows.implode()))
        )  # nothing failed: no filtered copy
        accepted = kept.select(canonical).collect()
    else:
        accepted = pl.DataFrame(schema={c: schema.column(c).dtype for c in canonical}).clear()
    return ValidationResult(
        schema.name,
        source,
        flags.height,
        accepted,
        quarantined,
        counts,
        accepted_count=None if keep_accepted else flags.height - quarantined.height,
    )


def reconcile(results: Iterable[ValidationResult]) -> bool:
    """True when, for every table, rows in = rows accepted + rows quarantined."""
    return all(r.rows_in == r.rows_accepted + r.rows_quarantined for r in results)
