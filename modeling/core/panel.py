"""The core: a dataset's derived tables, computed once and read by every engine.

A ``Panel`` wraps a ``Dataset``. Its core tables are derived on first use, with progress, and
materialized as Parquet in ``<dataset>/core/v<CORE_VERSION>-<content hash>/``, so the app, the
CLI and any later process read them instead of deriving them again (the Tuva Project's ``core``
layer, computed once for all of its marts). The folder's name carries both the dataset's content
hash and the version of the rules below: a changed dataset or a changed rule gets a new folder,
and older folders of the same dataset are removed.

| table | one row per | built by |
|---|---|---|
| ``member_months`` | person and month enrolled, with the month's attributes and MSSP enrollment type | ``member_months.member_months`` |
| ``claim_lines`` (a view) | canonical claim line with ``service_category``, without the diagnosis and procedure columns (those are ``conditions``) | ``service_categories.with_service_category`` |
| ``ed_claims`` | claim with an emergency-department revenue-center line | ``service_categories.ed_claims`` |
| ``medical_spend`` (by year) | person, service year and category, with the paid amount and its July-December part | ``spend.medical_spend`` |
| ``pharmacy_use`` (by year) | person and dispensing year, with paid and allowed amounts, fills and distinct drugs | ``spend.pharmacy_use`` |
| ``conditions`` (by year) | claim line and diagnosis code, with the person, the claim's date and year and whether the line counts for risk adjustment in that year | ``conditions.condition_rows`` |
| ``person_diagnoses`` (by year) | person, service year and diagnosis code, with whether any claim carrying it counts for risk adjustment | ``conditions.person_diagnosis_rows_of_claims`` |
| ``inpatient_stays`` | acute inpatient stay, with 30-day readmission flags | ``encounters.inpatient_stays`` |
| ``inpatient_stay_codes`` | acute inpatient stay (person, admission date), with its admission source, principal diagnosis and every diagnosis and procedure code of its claims | ``stay_codes.inpatient_stay_codes`` |
| ``ed_visits`` | person-day with an ED visit | ``encounters.ed_visits`` |
| ``snf_stays``, ``home_health_episodes`` | SNF stay, home-health episode | ``encounters`` |
| ``joint_replacements`` | lower-extremity joint replacement | ``encounters.joint_replacements`` |
| ``long_term_institutional`` (by year) | person-year that looks long-term institutionalized | ``encounters.long_term_institutional`` |
| ``acute_legs`` | acute inpatient claim (a leg of a stay: its own facility, dates, MS-DRG, discharge status; IRF bills flagged), for transfer chaining | ``acute_legs.acute_legs`` |

A panel can be narrowed to a range of person ids (``for_people``) to work on a big panel in
slices: every scan, canonical or core, is then filtered to those people, and Parquet skips the
other people's row groups. The core itself is derived that way, in slices of people holding
about ``SLICE_LINES`` claim lines each, so deriving it takes bounded memory on a panel of any
size (a panel of up to about 100,000 members is one slice). Tables kept by year that are read
from the year's claim lines are derived together when a reader asks for several (``derive``):
each slice's lines are then read once for all of them.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from modeling.core.acute_legs import acute_legs
from modeling.core.conditions import (
    DIAGNOSIS_LINE_COLUMNS,
    condition_rows,
    person_diagnosis_rows_of_claims,
)
from modeling.core.encounters import (
    LONG_TERM_INSTITUTIONAL_COLUMNS,
    acute_stay_lines,
    ed_visits,
    home_health_episodes,
    inpatient_stays,
    joint_replacements,
    long_term_institutional,
    snf_stays,
)
from modeling.core.member_months import member_months, years_enrolled
from modeling.core.service_categories import CATEGORY_COLUMNS, ed_claims, with_service_category
from modeling.core.spend import MEDICAL_SPEND_COLUMNS, medical_spend, pharmacy_use
from modeling.core.stay_codes import inpatient_stay_codes
from modeling.dataset import Dataset, scan_parquet
from modeling.errors import ParameterError
from modeling.progress import Progress, reporter
from modeling.schema import DIAGNOSIS_COLUMNS, PROCEDURE_COLUMNS

CORE_VERSION = 11
CORE_DIR = "core"


CODE_COLUMNS = (
    "diagnosis_code_type",
    *DIAGNOSIS_COLUMNS,
    "procedure_code_type",
    *PROCEDURE_COLUMNS,
)
SLICE_LINES = 12_000_000  # about this many medical claim lines derived at a time
ROW_GROUP = 250_000  # rows per Parquet row group: ranges of people skip the others' groups


def _claim_lines(panel: Panel) -> pl.LazyFrame:
    """The canonical claim lines with ``service_category`` (the rule of ``service_categories``,
    evaluated as the lines are read), without the diagnosis and procedure columns."""
    return _categorized(panel, panel.dataset.scan("medical_claim")).drop(CODE_COLUMNS)


def _categorized(part: Panel, lines: pl.LazyFrame) -> pl.LazyFrame:
    """``lines`` (medical claim lines of the people of ``part``) with their ``service_category``
    (``with_service_category``, an ED claim being one of the panel's ``ed_claims``)."""
    return with_service_category(lines, ed_claim_ids=part._lookup("ed_claims")["claim_id"])


def _institutional_lines(part: Panel) -> pl.LazyFrame:
    # every encounter category below comes from institutional claims only: the filter is
    # applied while the claims are read, so only their lines are categorized
    return part.scan("claim_lines").filter(pl.col("claim_type") == "institutional")


def _stays(part: Panel) -> pl.LazyFrame:
    # the end of the observed data is the whole panel's, not the slice's (see ``claims_end``)
    return inpatient_stays(_institutional_lines(part), data_end=pl.lit(part.claims_end, pl.Date))


def _of_year(part: Panel, year: int) -> pl.LazyFrame:
    return part.scan("medical_claim").filter(pl.col("claim_start_date").dt.year() == year)


# views: derived as they are read, from the canonical tables and the small tables above them.
# ``claim_lines`` is the canonical claim lines with one added column whose rule costs less to
# evaluate than a copy of every line costs to write and read back (see benchmarks/RESULTS.md)
_VIEWS: dict[str, Callable[[Panel], pl.LazyFrame]] = {"claim_lines": _claim_lines}

# each builder reads one range of people (canonical tables, or core tables derived before it):
# every core table is person-local, so the slices concatenated are the table of the whole panel
_BUILDERS: dict[str, Callable[[Panel], pl.LazyFrame]] = {
    "member_months": lambda part: member_months(part.scan("eligibility")),
    "ed_claims": lambda part: ed_claims(part.scan("medical_claim")),
    "inpatient_stays": _stays,
    # after ``inpatient_stays``: the codes of each stay's claims (quality, readmission cohorts)
    "inpatient_stay_codes": lambda part: inpatient_stay_codes(
        part.scan("inpatient_stays"), part.scan("medical_claim")
    ),
    "ed_visits": lambda part: ed_visits(part.scan("medical_claim")),
    "snf_stays": lambda part: snf_stays(_institutional_lines(part)),
    "home_health_episodes": lambda part: home_health_episodes(_institutional_lines(part)),
    "joint_replacements": lambda part: joint_replacements(_institutional_lines(part)),
    "acute_legs": lambda part: acute_legs(_institutional_lines(part)),
}

LineRule = Callable[[pl.LazyFrame, "Panel"], pl.LazyFrame]
# a reader of a slice of people: the slice, its claim lines of a year and its core tables
SliceReader = Callable[["Panel", pl.LazyFrame, dict[str, pl.DataFrame]], "pl.DataFrame | None"]

# tables kept by year whose rule reads the service year's medical claim lines: the columns the
# rule reads, and the rule (given those columns of the year's lines of one range of people)
_LINE_RULES: dict[str, tuple[tuple[str, ...], LineRule]] = {
    "conditions": (DIAGNOSIS_LINE_COLUMNS, lambda lines, part: condition_rows(lines)),
    # from the claims, not from ``conditions``: the risk models need only this table, and the
    # line-level ``conditions`` (the largest core table) is then derived only when read
    "person_diagnoses": (
        DIAGNOSIS_LINE_COLUMNS,
        lambda lines, part: person_diagnosis_rows_of_claims(lines),
    ),
    "long_term_institutional": (
        LONG_TERM_INSTITUTIONAL_COLUMNS,
        lambda lines, part: long_term_institutional(lines),
    ),
    # paid by person, year and category: what the cost marts, contracts and ML features read
    # of the claim lines, without categorizing every line again
    "medical_spend": (
        MEDICAL_SPEND_COLUMNS,
        lambda lines, part: medical_spend(
            lines, ed_claim_ids=part._lookup("ed_claims")["claim_id"]
        ),
    ),
}


def _of_lines(table: str) -> Callable[[Panel, int], pl.LazyFrame]:
    columns, rule = _LINE_RULES[table]
    return lambda part, year: rule(_of_year(part, year).select(columns), part)


# tables of one row per person and service year, derived and stored a year at a time, so a
# reader of one year (``scan(table, years=...)``) derives that year only
_YEAR_BUILDERS: dict[str, Callable[[Panel, int], pl.LazyFrame]] = {
    **{table: _of_lines(table) for table in _LINE_RULES},
    # fills, distinct drugs and paid by person and dispensing year: what the ML features and
    # outcomes read of the pharmacy claims
    "pharmacy_use": lambda part, year: pharmacy_use(
        part.scan("pharmacy_claim").filter(pl.col("dispensing_date").dt.year() == year)
    ),
}
BY_YEAR = tuple(_YEAR_BUILDERS)
MATERIALIZED = (*_BUILDERS, *BY_YEAR)
CORE_TABLES = (*MATERIALIZED, *_VIEWS)


class Panel:
    """A dataset and its core tables.

    Parameters
    ----------
    dataset
        The dataset (a ``Dataset`` or its folder).
    progress
        Told, in words, when a core table is being derived (the slow first use).

    Examples
    --------
    >>> panel = Panel(Dataset("workspace/datasets/default"))  # doctest: +SKIP
    >>> panel.scan("member_months").filter(pl.col("year") == 2025).collect()  # doctest: +SKIP
    """

    dataset: Dataset
    manifest: dict
    people: tuple[str, str] | None

    def __init__(
        self,
        dataset: Dataset | str | Path,
        *,
        progress: Progress | None = None,
        people: tuple[str, str] | None = None,
    ) -> None:
        self.dataset = dataset if isinstance(dataset, Dataset) else Dataset(dataset)
        self.manifest = self.dataset.manifest
        self.people = people
        self._say = reporter(progress)
        self._memory: dict[str, pl.DataFrame] = {}
        self._memory_scalars: dict[str, dt.date | None] = {}
        self._facts: dict[str, Any] = {}  # claim years and slices, shared by every view
        self._bounds: tuple[str | None, str | None] | None = None  # a slice of the derivation

    @classmethod
    def of(cls, source: Panel | Dataset, *, progress: Progress | None = None) -> Panel:
        """``source`` as a panel (a panel is returned as it is)."""
        return source if isinstance(source, Panel) else cls(source, progress=progress)

    @property
    def path(self) -> Path:
        return self.dataset.path

    @property
    def content_hash(self) -> str:
        return str(self.manifest["content_hash"])

    @property
    def core_path(self) -> Path:
        """The folder of this dataset's core tables for the current core version."""
        return self.path / CORE_DIR / f"v{CORE_VERSION}-{self.content_hash[:16]}"

    def for_people(self, first: str, last: str) -> Panel:
        """The same panel seen through the person ids ``first``..``last`` (inclusive)."""
        return self._view((first, last))

    def _whole(self) -> Panel:
        """The same panel with every person (what derivation and whole-panel facts read)."""
        return self._view(None)

    def _view(self, people: tuple[str, str] | None) -> Panel:
        view = Panel.__new__(Panel)
        view.dataset, view.manifest, view.people = self.dataset, self.manifest, people
        view._bounds = None
        view._say, view._memory = self._say, self._memory
        view._memory_scalars = self._memory_scalars
        view._facts = self._facts
        return view

    def _between(self, lower: str | None, upper: str | None) -> Panel:
        """The whole panel seen through the person ids from ``lower`` (inclusive) up to
        ``upper`` (exclusive), either end open when None: the slices the core is derived in,
        which together cover every id without listing them."""
        view = self._view(None)
        view._bounds = (lower, upper)
        return view

    def years(self) -> list[int]:
        """The calendar years with enrollment, sorted."""
        return years_enrolled(self.dataset.scan("eligibility"))

    def scan(
        self, table: str, *, years: Iterable[int] | None = None, derive: bool = True
    ) -> pl.LazyFrame:
        """A lazy frame over a core table (derived first if need be), a core view or a canonical
        table. ``years``: for a table kept by service year (``conditions``, ``person_diagnoses``,
        ``long_term_institutional``, ``medical_spend``, ``pharmacy_use``), only those years are
        read, and derived if need be (the others are not derived); other tables ignore it.
        ``derive=False``: a year not derived yet is computed by the same rule for this read
        only, not stored (for a reader to whom storing the table costs more than it saves
        the first time; the stored table is read once anything has derived it)."""
        if table in _VIEWS:
            frame = _VIEWS[table](self)
        elif table in _YEAR_BUILDERS:
            frame = self._scan_years(table, years, derive=derive)
        elif table in _BUILDERS:
            frame = self._scan_core(table)
        else:
            frame = self.dataset.scan(table)
        return self._people_of(frame)

    def of_people(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        """The rows of ``frame`` (any frame with ``person_id``) of this panel's people."""
        return self._people_of(frame)

    def _people_of(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        if self._bounds is not None:
            lower, upper = self._bounds
            person = pl.col("person_id")
            if lower is not None:
                frame = frame.filter(person >= pl.lit(lower))
            return frame if upper is None else frame.filter(person < pl.lit(upper))
        if self.people is None:
            return frame
        first, last = self.people
        return frame.filter(pl.col("person_id").is_between(pl.lit(first), pl.lit(last)))

    def read(
        self, table: str, *, years: Iterable[int] | None = None, derive: bool = True
    ) -> pl.DataFrame:
        return self.scan(table, years=years, derive=derive).collect()

    def materialize(self, tables: tuple[str, ...] = MATERIALIZED) -> Path:
        """Derive every core table (every year of those kept by year) not derived yet; the
        folder that holds them. Views are not stored."""
        for table in tables:
            if table in _YEAR_BUILDERS:
                self._scan_years(table, None)
            elif table in _BUILDERS:
                self._scan_core(table)
        return self.core_path

    def _lookup(self, table: str) -> pl.DataFrame:
        """A small core table of this panel's people, in memory (read once per panel)."""
        key = f"{table}:{self.people}:{self._bounds}"
        if key not in self._memory:
            self._memory[key] = self._people_of(self._scan_core(table)).collect()
        return self._memory[key]

    def _scan_core(self, table: str) -> pl.LazyFrame:
        if table in self._memory:
            return self._memory[table].lazy()
        path = self.core_path / f"{table}.parquet"
        if not path.is_file():
            self._derive_many([table], lambda part: [_BUILDERS[table](part)])
            if table in self._memory:  # a folder that cannot be written: kept in memory
                return self._memory[table].lazy()
        return scan_parquet(path)

    def _scan_years(
        self, table: str, years: Iterable[int] | None, *, derive: bool = True
    ) -> pl.LazyFrame:
        wanted = self._years_of(table) if years is None else sorted(set(years))
        frames, build = [], _YEAR_BUILDERS[table]
        for year in wanted:
            key, path = f"{table}/{year}", self.core_path / table / f"{year}.parquet"
            if key in self._memory:
                frames.append(self._memory[key].lazy())
                continue
            if not path.is_file() and not derive:
                frames.append(build(self, year))
                continue
            if not path.is_file():
                self.derive([table], years=[year])
                if key in self._memory:  # a folder that cannot be written: kept in memory
                    frames.append(self._memory[key].lazy())
                    continue
            frames.append(scan_parquet(path))
        if not frames:  # no year asked for, or no claims: the table's columns, no rows
            return self._empty(table)
        return pl.concat(frames, how="vertical_relaxed") if len(frames) > 1 else frames[0]

    def derive(self, tables: Iterable[str], *, years: Iterable[int]) -> None:
        """Derive ``tables`` (kept by year) for each of ``years``, those not derived yet. The
        tables read from the year's claim lines (``medical_spend``, ``person_diagnoses``,
        ``long_term_institutional``, ``conditions``) are derived together, from one read of
        each slice's lines: for a reader of several of them, as the risk models are, that
        costs less than a read of the lines for each."""
        tables = list(dict.fromkeys(tables))
        for year in sorted(set(years)):
            missing = [table for table in tables if not self.is_derived(table, year)]
            from_lines = [table for table in missing if table in _LINE_RULES]
            if from_lines:
                self._derive_many(
                    [f"{table}/{year}" for table in from_lines],
                    partial(_line_tables, from_lines, year),
                )
            for table in missing:
                if table not in _LINE_RULES:
                    self._derive_many([f"{table}/{year}"], partial(_year_table, table, year))

    def derive_reading(
        self,
        tables: Iterable[str],
        *,
        year: int,
        read: SliceReader,
        columns: Iterable[str] = (),
    ) -> list[pl.DataFrame]:
        """Derive ``tables`` of ``year`` (tables read from the year's claim lines, those not
        derived yet, as ``derive`` derives them) and read each of the core's slices of people
        while its lines are in memory: ``read(part, claim_lines, tables)`` is given the slice
        (a panel of its people), its ``claim_lines`` of the year (a lazy frame over the lines
        read once, with ``person_id``, ``columns``, the rules' columns and
        ``service_category``) and its rows of each of ``tables`` by name. What it returns is
        returned in the slices' order (person order), None left out. For a reader of both the
        year's lines and these tables, as the ML features are, the lines are then read once
        for both. Every slice of the whole panel is read, whatever people this panel has."""
        tables = list(dict.fromkeys(tables))
        unknown = [table for table in tables if table not in _LINE_RULES]
        if unknown:
            raise ParameterError(
                f"{_listed(unknown)} not read from the claim lines of a year (those are "
                f"{', '.join(_LINE_RULES)})."
            )
        missing = [table for table in tables if not self.is_derived(table, year)]
        read_columns = tuple(
            dict.fromkeys(("person_id", *columns, *CATEGORY_COLUMNS, *_columns_of(tables)))
        )

        def lines_of(part: Panel) -> pl.DataFrame:
            return _of_year(part, year).select(read_columns).collect()

        def then(part: Panel, collected: list[pl.DataFrame]) -> pl.DataFrame | None:
            *made, lines = collected  # the slice's new tables, then its lines (not written)
            rows = dict(zip(missing, made, strict=True))
            for table in tables:
                if table not in rows:
                    rows[table] = part.read(table, years=[year])
            return read(part, _categorized(part, lines.lazy()), rows)

        if not missing:
            outputs = (then(part, [lines_of(part)]) for part in self._whole()._parts())
            return [output for output in outputs if output is not None]

        def build(part: Panel) -> list[pl.LazyFrame]:
            lines = lines_of(part).lazy()
            rules = (_LINE_RULES[table] for table in missing)
            made = (rule(lines.select(cols), part) for cols, rule in rules)
            return [*made, lines]

        return self._derive_many([f"{table}/{year}" for table in missing], build, then=then)

    def is_derived(self, table: str, year: int) -> bool:
        """Whether ``table`` (one kept by year) of ``year`` is derived already, on disk or in
        memory: a reader with a cheaper way to the same figures than deriving it can take that
        way the first time and the core's table later."""
        if table not in _YEAR_BUILDERS:
            raise ParameterError(
                f"{table!r} is not a core table kept by year (those are {', '.join(BY_YEAR)})."
            )
        return (
            f"{table}/{year}" in self._memory
            or (self.core_path / table / f"{year}.parquet").is_file()
        )

    def _empty(self, table: str) -> pl.LazyFrame:
        schema = _YEAR_BUILDERS[table](self._whole(), 0).collect_schema()
        return pl.LazyFrame(schema=schema)

    def _years_of(self, table: str) -> list[int]:
        """The years a table kept by year has rows in: the dispensing years of the fills for
        ``pharmacy_use``, the service years of the medical claims for the others."""
        return self.fill_years() if table == "pharmacy_use" else self.claim_years()

    def has_year(self, year: int) -> bool:
        """Whether the whole panel has medical claims (by ``claim_start_date``) or fills (by
        ``dispensing_date``) of ``year``. The first row found ends the read, and row groups
        whose date statistics exclude the year are skipped, so this costs a fraction of
        ``claim_years``."""
        key = f"has year:{year}"
        if key not in self._facts:
            self._facts[key] = any(
                self.dataset.scan(table)
                .filter(pl.col(date).dt.year() == year)
                .select(date)
                .head(1)
                .collect()
                .height
                for table, date in (
                    ("medical_claim", "claim_start_date"),
                    ("pharmacy_claim", "dispensing_date"),
                )
            )
        return bool(self._facts[key])

    def fill_years(self) -> list[int]:
        """The dispensing years of the pharmacy claims (fills), sorted."""
        return self._distinct_years("pharmacy_claim", "dispensing_date")

    def claim_years(self) -> list[int]:
        """The service years (of ``claim_start_date``) of the medical claims, sorted."""
        return self._distinct_years("medical_claim", "claim_start_date")

    def _distinct_years(self, table: str, date: str) -> list[int]:
        """The distinct years of ``date`` in the canonical ``table``, sorted (read once)."""
        key = f"years:{table}.{date}"
        if key not in self._facts:
            self._facts[key] = (
                self.dataset.scan(table)
                .select(pl.col(date).dt.year().unique().drop_nulls().sort())
                .collect()
                .to_series()
                .to_list()
            )
        return list(self._facts[key])

    @property
    def claims_end(self) -> dt.date | None:
        """The last admission (or start) date of any acute inpatient claim of the whole panel,
        inpatient rehabilitation (IRF) bills left out as ``inpatient_stays`` leaves them out (a
        range of people sees the same date): the end of the observed data for the readmission
        window of ``inpatient_stays``, as when the stays of everyone are derived at once. A
        readmission is an admission, so the window is observed up to the last admission that
        can be seen, not up to the last discharge (a stay admitted in late December of the last
        year is discharged into the next year, past the last day on which an admission is
        observed)."""
        if "claims_end" not in self._memory_scalars:
            lines = acute_stay_lines(_institutional_lines(self._whole()))
            last = lines.select(pl.coalesce("admission_date", "claim_start_date").max()).collect()
            self._memory_scalars["claims_end"] = last.item()
        return self._memory_scalars["claims_end"]

    def _derive_many(
        self,
        keys: list[str],
        build: Callable[[Panel], list[pl.LazyFrame]],
        *,
        then: Callable[[Panel, list[pl.DataFrame]], pl.DataFrame | None] | None = None,
    ) -> list[pl.DataFrame]:
        """Write the tables ``build`` returns (one per key: a table, or ``table/year``)
        atomically in the core folder, a slice of people at a time, each slice appended as row
        groups (memory holds one slice). When the folder cannot be written, e.g. a read-only
        dataset, the tables are kept in memory for this panel instead. ``then(part, frames)``,
        when given, is called with each slice's collected frames (its tables, then any frames
        ``build`` returns beyond one per key, which are not kept); what it returns (None left
        out) is returned, in the slices' order."""
        names = [key.replace("_", " ").replace("/", " of ") for key in keys]
        self._say(f"deriving {_listed(names)} (once for this dataset)")
        parts_of = self._whole()._parts()
        outputs: list[pl.DataFrame] = []

        def after(part: Panel, collected: list[pl.DataFrame]) -> None:
            output = then(part, collected) if then is not None else None
            if output is not None:
                outputs.append(output)

        paths = [self.core_path / f"{key}.parquet" for key in keys]
        try:
            tmps = []
            for path in paths:
                path.parent.mkdir(parents=True, exist_ok=True)
            _remove_stale_versions(self.core_path)  # once the folder exists: its siblings
            for path in paths:
                fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
                os.close(fd)
                tmps.append(tmp)
        except OSError:
            built = []
            for part in parts_of:
                frames = pl.collect_all(build(part))
                after(part, frames)
                built.append(frames[: len(keys)])  # the frames beyond the keys' are not kept
            for n, key in enumerate(keys):
                self._memory[key] = pl.concat([b[n] for b in built], how="vertical_relaxed")
            return outputs
        writers: list[pq.ParquetWriter | None] = [None] * len(keys)
        schemas: list[pa.Schema | None] = [None] * len(keys)

        def write(people: Panel) -> None:
            # the tables of one slice together: they share its read, and run side by side; its
            # frames are let go on return, before the next slice is read
            tables = pl.collect_all(build(people))
            for k, collected in enumerate(tables[: len(keys)]):
                part = collected.to_arrow()
                writer, schema = writers[k], schemas[k]
                if writer is None or schema is None:
                    schema, writer = (
                        part.schema,
                        pq.ParquetWriter(tmps[k], part.schema, compression="zstd"),
                    )
                    writers[k], schemas[k] = writer, schema
                writer.write_table(part.cast(schema), row_group_size=ROW_GROUP)
            after(people, tables)

        try:
            for n, people in enumerate(parts_of, start=1):
                if len(parts_of) > 1:
                    self._say(f"deriving {_listed(names)}: people slice {n} of {len(parts_of)}")
                write(people)
        finally:
            for writer in writers:
                if writer is not None:
                    writer.close()
        for tmp, path in zip(tmps, paths, strict=True):
            os.chmod(tmp, 0o644)  # readable as the dataset's own files are (mkstemp makes it 0600)
            os.replace(tmp, path)
        return outputs

    def _parts(self) -> list[Panel]:
        """The slices of people of this panel (``_slices``) as panels, or the panel itself."""
        slices = self._slices()
        return [self] if slices is None else [self._between(a, b) for a, b in slices]

    def _slices(self) -> list[tuple[str | None, str | None]] | None:
        """Ranges of person ids [lower, upper) that follow each other and together cover every
        id (the first open below, the last above), as many as it takes for each to hold about
        ``SLICE_LINES`` medical claim lines (from the manifest's row count). Their bounds are
        equally spaced among the enrolled people's ids, so people are taken to have as many
        lines on average, and a person found only in the claims falls in the range of the ids
        around it (reading the enrolled ids only: the distinct ids of every claim cost more to
        find than the slices save). None when one slice holds them all (the whole panel is then
        read, with no person filter). Computed once per panel."""
        lines = int(self.manifest["tables"].get("medical_claim", {}).get("rows", 0))
        count = max(1, -(-lines // SLICE_LINES))
        if count == 1:
            return None
        if "slices" not in self._facts:
            enrolled = (
                self.dataset.scan("eligibility")
                .select(pl.col("person_id").drop_nulls().unique().sort())
                .collect()["person_id"]
            )
            size = -(-enrolled.len() // count)
            at = list(range(size, enrolled.len(), size)) if size else []
            ends: list[str | None] = [None, *enrolled.gather(at).to_list(), None]
            self._facts["slices"] = list(zip(ends[:-1], ends[1:], strict=True))
        return list(self._facts["slices"])


def _remove_stale_versions(current: Path) -> None:
    """Remove the dataset's core folders of other versions or contents."""
    for folder in current.parent.iterdir():
        if folder != current and folder.is_dir() and folder.name.startswith("v"):
            shutil.rmtree(folder, ignore_errors=True)


def _line_tables(tables: list[str], year: int, part: Panel) -> list[pl.LazyFrame]:
    """The tables of ``_LINE_RULES`` named ``tables`` for the people of ``part`` in ``year``,
    from one read of their lines of the year (the columns every rule reads); each rule is given
    only the columns it declares."""
    lines = _of_year(part, year).select(_columns_of(tables)).collect().lazy()
    return [rule(lines.select(cols), part) for cols, rule in (_LINE_RULES[t] for t in tables)]


def _columns_of(tables: Iterable[str]) -> list[str]:
    """The columns of the claim lines that the rules of ``tables`` (of ``_LINE_RULES``) read."""
    return list(dict.fromkeys(c for table in tables for c in _LINE_RULES[table][0]))


def _year_table(table: str, year: int, part: Panel) -> list[pl.LazyFrame]:
    return [_YEAR_BUILDERS[table](part, year)]


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
