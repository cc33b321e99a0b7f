"""What every quality measure reads from the core: the members of a year with their age and
sex, the acute stays with their principal diagnosis, admission source and codes, claims dated
and coded, hospice and ESRD flags, and the attributed provider.

Ages are completed years at a date (the age at the month's first day for exposure, at December
31 for the screening and adherence denominators, at admission for stays), as CMS and NCQA
compute them. Every function reads a ``Panel`` and returns lazy frames.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import polars as pl

from modeling.codes import ESRD_MEDICARE_STATUSES
from modeling.core.panel import Panel
from modeling.marts.quality.definitions import in_value_set, matches, value_sets
from modeling.schema import PROCEDURE_COLUMNS


class QualityPanel(Panel):
    """A panel seen by the quality measures: the inputs several measures share (stays with their
    codes, the year's members, the coded claim lines, procedures, hospice and ESRD flags) are
    computed once and held in memory for the measures of one call (``measure_rows``)."""

    _quality: dict[tuple, pl.DataFrame]

    @classmethod
    def wrap(cls, panel: Panel) -> QualityPanel:
        if isinstance(panel, QualityPanel):
            return panel
        view = cls.__new__(cls)
        view.__dict__.update(panel.__dict__)
        view._quality = {}
        return view

    def memo(self, key: tuple, build: Callable[[], pl.LazyFrame]) -> pl.LazyFrame:
        if key not in self._quality:
            self._quality[key] = build().collect()
        return self._quality[key].lazy()


def memoized(panel: Panel, key: tuple, build: Callable[[], pl.LazyFrame]) -> pl.LazyFrame:
    """``build()``, computed once per ``QualityPanel`` call (as is on a plain panel)."""
    return panel.memo(key, build) if isinstance(panel, QualityPanel) else build()


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
    return memoized(panel, ("member_months", year), lambda: _member_months_of(panel, year))


def _member_months_of(panel: Panel, year: int) -> pl.LazyFrame:
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
    return memoized(panel, ("members", year), lambda: _members_of(panel, year))


def people(panel: Panel) -> pl.LazyFrame:
    """person_id, birth_date, gender (the last seen), death_date of everyone enrolled."""
    return memoized(
        panel,
        ("people",),
        lambda: (
            panel.scan("member_months")
            .group_by("person_id")
            .agg(
                pl.col("birth_date").first(),
                pl.col("gender").last(),
                pl.col("death_date").drop_nulls().first(),
            )
        ),
    )


def _members_of(panel: Panel, year: int) -> pl.LazyFrame:
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
    code on its claims (lists ``diagnoses`` and ``procedures``), from the core's
    ``inpatient_stay_codes``."""
    return memoized(panel, ("stays",), lambda: _stays(panel))


def _stays(panel: Panel) -> pl.LazyFrame:
    codes = panel.scan("inpatient_stay_codes").select(
        "person_id",
        "admission_date",
        "admit_source_code",
        "principal_diagnosis",
        pl.col("diagnosis_codes").alias("diagnoses"),
        pl.col("procedure_codes").alias("procedures"),
    )
    return (
        panel.scan("inpatient_stays")
        .with_columns(
            (pl.col("person_id") + ":" + pl.col("admission_date").cast(pl.String)).alias("stay_id")
        )
        .join(codes, on=["person_id", "admission_date"], how="left")
    )


def any_code(list_column: str, value_set: str) -> pl.Expr:
    """True where any code of the list column is in ``value_set``."""
    return (
        pl.col(list_column).list.eval(matches(pl.element(), value_set)).list.any().fill_null(False)
    )


def _code(column: str) -> pl.Expr:
    return pl.col(column).str.replace_all(".", "", literal=True).alias("code")


VISIT_LIST = "outpatient_visit"
"""The list of visits after a discharge: read only for members with an acute stay."""


def _hcpcs_listed(*, visits: bool) -> pl.Expr:
    """True where ``hcpcs_code`` is in a CPT/HCPCS list: the visit list alone (``visits``) or
    any other list."""
    hcpcs = value_sets().filter(pl.col("code_system").str.contains("HCPCS"))
    hcpcs = hcpcs.filter(
        (pl.col("value_set") == VISIT_LIST) if visits else (pl.col("value_set") != VISIT_LIST)
    )
    exact = hcpcs.filter(pl.col("match") == "exact")["code"].to_list()
    prefixes = hcpcs.filter(pl.col("match") == "prefix")["code"].to_list()
    code = pl.col("hcpcs_code")
    listed = code.is_in(exact) | (
        code.str.contains("^(" + "|".join(prefixes) + ")") if prefixes else pl.lit(False)
    )
    return listed.fill_null(False)


def coded_lines(panel: Panel) -> pl.LazyFrame:
    """person_id, service_date, code, service_category of the claim lines the measures read: one
    pass over ``claim_lines`` keeping the lines with a CPT/HCPCS code of any measure's list, or a
    hospice claim; the lines of the visit list alone (office visits, most of all lines) only for
    members with an acute stay, the only ones whose visits a measure reads (follow-up after
    discharge)."""

    def build() -> pl.LazyFrame:
        other = _hcpcs_listed(visits=False) | (pl.col("service_category") == "hospice")
        visit = _hcpcs_listed(visits=True)
        inpatients = (
            panel.scan("inpatient_stays")
            .select("person_id")
            .unique()
            .with_columns(pl.lit(True).alias("_inpatient"))
        )
        kept = (
            panel.scan("claim_lines")
            .filter(other | visit)
            .with_columns(other.alias("_other"))
            .join(inpatients, on="person_id", how="left")
            .filter(pl.col("_other") | pl.col("_inpatient").fill_null(False))
        )
        return kept.select(
            "person_id",
            pl.col("claim_start_date").alias("service_date"),
            pl.col("hcpcs_code").alias("code"),
            "service_category",
        )

    return memoized(panel, ("coded_lines",), build)


def coded_diagnoses(panel: Panel) -> pl.LazyFrame:
    """The core's ``person_diagnoses`` (person_id, year, diagnosis_code) kept to the codes of any
    ICD-10-CM list the measures read: one pass, shared by every diagnosis lookup."""

    def build() -> pl.LazyFrame:
        icd = value_sets().filter(pl.col("code_system").str.starts_with("ICD-10"))
        exact = icd.filter(pl.col("match") == "exact")["code"].to_list()
        prefixes = icd.filter(pl.col("match") == "prefix")["code"].to_list()
        code = pl.col("diagnosis_code").str.replace_all(".", "", literal=True)
        listed = code.is_in(exact) | code.str.contains("^(" + "|".join(prefixes) + ")")
        return (
            panel.scan("person_diagnoses")
            .filter(listed.fill_null(False))
            .select("person_id", "year", "diagnosis_code")
        )

    return memoized(panel, ("coded_diagnoses",), build)


def _lists_of_codes(codes: pl.Series) -> pl.DataFrame:
    """code, value_set: every code of ``codes`` (distinct) with each list it belongs to, every
    list of ``value_sets.csv`` tried on the distinct codes once (``matches``' rules)."""
    distinct = pl.DataFrame({"code": codes.drop_nulls().unique()})
    names = value_sets()["value_set"].unique(maintain_order=True).to_list()
    hit = distinct.select(
        "code", *[matches(pl.col("code"), name).alias(name) for name in names]
    ).unpivot(index="code", variable_name="value_set", value_name="in_list")
    return hit.filter(pl.col("in_list")).select("code", "value_set")


def _hits(
    panel: Panel, source: str, frame: Callable[[], pl.LazyFrame], column: str, value_set: str
) -> pl.LazyFrame:
    """The rows of ``frame()`` whose ``column`` code is in ``value_set``: the frame's codes are
    matched against every list once per panel and the rows kept per list (semi-joins on the
    distinct codes instead of a scan per list)."""
    key = ("hits", source, value_set)
    if isinstance(panel, QualityPanel) and key not in panel._quality:
        rows_ = frame().collect()
        lists = _lists_of_codes(rows_[column])
        tagged = rows_.join(lists.rename({"code": column}), on=column, how="inner")
        parts = tagged.partition_by("value_set", as_dict=True, include_key=False)
        empty = rows_.clear()
        for name in value_sets()["value_set"].unique().to_list():
            panel._quality[("hits", source, name)] = parts.get((name,), empty)
    if isinstance(panel, QualityPanel):
        return panel._quality[key].lazy()
    return frame().filter(in_value_set(column, value_set))


def line_hits(panel: Panel, value_set: str) -> pl.LazyFrame:
    """person_id, service_date, code, service_category of ``coded_lines`` in ``value_set``."""
    return _hits(panel, "lines", lambda: coded_lines(panel), "code", value_set)


def diagnosis_hits(panel: Panel, value_set: str) -> pl.LazyFrame:
    """person_id, year, diagnosis_code of ``coded_diagnoses`` in ``value_set``."""
    return _hits(panel, "diagnoses", lambda: coded_diagnoses(panel), "diagnosis_code", value_set)


def procedure_hits(panel: Panel, value_set: str) -> pl.LazyFrame:
    """person_id, service_date, code of ``procedure_codes`` in ``value_set``."""
    return _hits(panel, "procedures", lambda: procedure_codes(panel), "code", value_set)


def coded_claims(
    panel: Panel, value_set: str, *, through: dt.date, with_code: bool = False
) -> pl.LazyFrame:
    """person_id, service_date (and the matching ``code`` when ``with_code``) of claim lines
    dated on or before ``through`` whose CPT/HCPCS code is in ``value_set``, and of the
    diagnoses in it coded in a year up to ``through``'s (dated January 1 of their year: the
    diagnosis lists serve "any time through the year" exclusions, never date windows)."""
    by_hcpcs = (
        line_hits(panel, value_set)
        .filter(pl.col("service_date") <= through)
        .select("person_id", "service_date", "code")
    )
    by_diagnosis = (
        diagnosis_hits(panel, value_set)
        .filter(pl.col("year") <= through.year)
        .select(
            "person_id",
            pl.date(pl.col("year"), 1, 1).alias("service_date"),
            _code("diagnosis_code"),
        )
    )
    both = pl.concat([by_hcpcs, by_diagnosis])
    return (both if with_code else both.drop("code")).unique()


def procedure_codes(panel: Panel) -> pl.LazyFrame:
    """person_id, service_date, code of every ICD-10-PCS procedure on the claims (one pass; the
    core keeps diagnoses, not procedures)."""
    return memoized(
        panel,
        ("procedures",),
        lambda: (
            panel.scan("medical_claim")
            .filter(pl.col("procedure_code_1").is_not_null())
            .select(
                "person_id",
                pl.col("claim_start_date").alias("service_date"),
                pl.concat_list(PROCEDURE_COLUMNS).alias("code"),
            )
            .explode("code")
            .filter(pl.col("code").is_not_null())
            .with_columns(_code("code"))
            .unique()
        ),
    )


def procedure_claims(
    panel: Panel, value_set: str, *, through: dt.date, with_code: bool = False
) -> pl.LazyFrame:
    """person_id, service_date (and ``code``) of claims dated on or before ``through`` carrying
    an ICD-10-PCS procedure in ``value_set``."""
    found = procedure_hits(panel, value_set).filter(pl.col("service_date") <= through)
    return (found if with_code else found.drop("code")).unique()


def hospice_people(panel: Panel, year: int) -> pl.LazyFrame:
    """person_id of members with hospice care in ``year`` (a hospice claim, bill type 81x/82x,
    or a hospice HCPCS code)."""
    lines = coded_lines(panel).filter(pl.col("service_date").dt.year() == year)
    return memoized(
        panel,
        ("hospice", year),
        lambda: (
            lines.filter(
                (pl.col("service_category") == "hospice") | in_value_set("code", "hospice")
            )
            .select("person_id")
            .unique()
        ),
    )


def esrd_people(panel: Panel, year: int) -> pl.LazyFrame:
    """person_id of members with ESRD in ``year``: an ESRD Medicare status in a month, or an
    ESRD/dialysis-dependence diagnosis on the year's claims."""
    status = members_of(panel, year).filter(pl.col("esrd")).select("person_id")
    coded = diagnosis_hits(panel, "esrd").filter(pl.col("year") == year).select("person_id")
    return memoized(panel, ("esrd", year), lambda: pl.concat([status, coded]).unique())


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


def attributed_practice(panel: Panel, year: int) -> pl.LazyFrame:
    """person_id, provider_tin: the practice (taxpayer identification number) of the provider
    attributed for ``year``, from the same ``provider_attribution`` row as
    ``attributed_provider`` (the table's key is person and year, so there is one). Empty when
    the dataset has no attribution: CCLF files carry none (the ACO's assignment list is a
    separate report), so a CCLF dataset's events are all unattributed."""
    if not panel.dataset.has("provider_attribution"):
        return pl.LazyFrame(schema={"person_id": pl.String, "provider_tin": pl.String})
    return (
        panel.scan("provider_attribution")
        .filter(pl.col("year") == year)
        .select("person_id", "provider_tin")
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
