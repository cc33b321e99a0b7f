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
| ``claim_lines`` | canonical claim line with ``service_category``, without the diagnosis and procedure columns (those are ``conditions``) | ``service_categories.with_service_category`` |
| ``conditions`` | claim line and diagnosis code, with the person, the claim's date and year and whether the line counts for risk adjustment in that year | ``conditions.condition_rows`` |
| ``person_diagnoses`` | person, service year and diagnosis code, with whether any claim carrying it counts for risk adjustment | ``conditions.person_diagnosis_rows_of_claims`` |
| ``inpatient_stays`` | acute inpatient stay, with 30-day readmission flags | ``encounters.inpatient_stays`` |
| ``inpatient_stay_codes`` | acute inpatient stay (person, admission date), with its admission source, principal diagnosis and every diagnosis and procedure code of its claims | ``stay_codes.inpatient_stay_codes`` |
| ``ed_visits`` | person-day with an ED visit | ``encounters.ed_visits`` |
| ``snf_stays``, ``home_health_episodes`` | SNF stay, home-health episode | ``encounters`` |
| ``joint_replacements`` | lower-extremity joint replacement | ``encounters.joint_replacements`` |
| ``long_term_institutional`` | person-year that looks long-term institutionalized | ``encounters.long_term_institutional`` |
| ``acute_legs`` | acute inpatient claim (a leg of a stay: its own facility, dates, MS-DRG, discharge status; IRF bills flagged), for transfer chaining | ``acute_legs.acute_legs`` |

A panel can be narrowed to a range of person ids (``for_people``) to work on a big panel in
slices: every scan, canonical or core, is then filtered to those people, and Parquet skips the
other people's row groups. The core itself is derived that way, in slices of people holding
about ``SLICE_LINES`` claim lines each, so deriving it takes bounded memory on a panel of any
size (a panel of up to about 100,000 members is one slice).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from modeling.core.acute_legs import acute_legs
from modeling.core.conditions import condition_rows, person_diagnosis_rows_of_claims
from modeling.core.encounters import (
    ed_visits,
    home_health_episodes,
    inpatient_stays,
    joint_replacements,
    long_term_institutional,
    snf_stays,
)
from modeling.core.member_months import member_months, years_enrolled
from modeling.core.service_categories import with_service_category
from modeling.core.stay_codes import inpatient_stay_codes
from modeling.dataset import Dataset, scan_parquet
from modeling.progress import Progress, reporter
from modeling.schema import DIAGNOSIS_COLUMNS, PROCEDURE_COLUMNS

CORE_VERSION = 3
CORE_DIR = "core"


CODE_COLUMNS = (
    "diagnosis_code_type",
    *DIAGNOSIS_COLUMNS,
    "procedure_code_type",
    *PROCEDURE_COLUMNS,
)
SLICE_LINES = 12_000_000  # about this many medical claim lines derived at a time
ROW_GROUP = 250_000  # rows per Parquet row group: ranges of people skip the others' groups


def _claim_lines(part: Panel) -> pl.LazyFrame:
    return with_service_category(part.scan("medical_claim")).drop(CODE_COLUMNS)


def _stays(part: Panel) -> pl.LazyFrame:
    # the end of the observed data is the whole panel's, not the slice's (see ``claims_end``)
    return inpatient_stays(part.scan("claim_lines"), data_end=pl.lit(part.claims_end, pl.Date))


# each builder reads one range of people (canonical tables, or core tables derived before it):
# every core table is person-local, so the slices concatenated are the table of the whole panel
_BUILDERS: dict[str, Callable[[Panel], pl.LazyFrame]] = {
    "member_months": lambda part: member_months(part.scan("eligibility")),
    "claim_lines": _claim_lines,
    "conditions": lambda part: condition_rows(part.scan("medical_claim")),
    # from the claims, not from ``conditions``: the risk models need only this table, and the
    # line-level ``conditions`` (the largest core table) is then derived only when read
    "person_diagnoses": lambda part: person_diagnosis_rows_of_claims(part.scan("medical_claim")),
    "inpatient_stays": _stays,
    # after ``inpatient_stays``: the codes of each stay's claims (quality, readmission cohorts)
    "inpatient_stay_codes": lambda part: inpatient_stay_codes(
        part.scan("inpatient_stays"), part.scan("medical_claim")
    ),
    "ed_visits": lambda part: ed_visits(part.scan("medical_claim")),
    "snf_stays": lambda part: snf_stays(part.scan("claim_lines")),
    "home_health_episodes": lambda part: home_health_episodes(part.scan("claim_lines")),
    "joint_replacements": lambda part: joint_replacements(part.scan("claim_lines")),
    "long_term_institutional": lambda part: long_term_institutional(part.scan("medical_claim")),
    "acute_legs": lambda part: acute_legs(part.scan("claim_lines")),
}
CORE_TABLES = tuple(_BUILDERS)


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
        view._say, view._memory = self._say, self._memory
        view._memory_scalars = self._memory_scalars
        return view

    def years(self) -> list[int]:
        """The calendar years with enrollment, sorted."""
        return years_enrolled(self.dataset.scan("eligibility"))

    def scan(self, table: str) -> pl.LazyFrame:
        """A lazy frame over a core table (derived first if need be) or a canonical table."""
        frame = self._scan_core(table) if table in _BUILDERS else self.dataset.scan(table)
        if self.people is None:
            return frame
        first, last = self.people
        return frame.filter(pl.col("person_id").is_between(pl.lit(first), pl.lit(last)))

    def read(self, table: str) -> pl.DataFrame:
        return self.scan(table).collect()

    def materialize(self, tables: tuple[str, ...] = CORE_TABLES) -> Path:
        """Derive every core table not derived yet; the folder that holds them."""
        for table in tables:
            self._scan_core(table)
        return self.core_path

    def _scan_core(self, table: str) -> pl.LazyFrame:
        if table in self._memory:
            return self._memory[table].lazy()
        path = self.core_path / f"{table}.parquet"
        if not path.is_file():
            built = self._derive(table)
            if built is None:
                return self._memory[table].lazy()
        return scan_parquet(path)

    @property
    def claims_end(self) -> dt.date | None:
        """The last discharge (or end) date of any acute inpatient claim of the whole panel (a
        range of people sees the same date): the end of the observed data for the readmission
        window of ``inpatient_stays``, as when the stays of everyone are derived at once."""
        if "claims_end" not in self._memory_scalars:
            lines = (
                self._whole()
                .scan("claim_lines")
                .filter(pl.col("service_category") == "acute inpatient")
            )
            last = lines.select(pl.coalesce("discharge_date", "claim_end_date").max()).collect()
            self._memory_scalars["claims_end"] = last.item()
        return self._memory_scalars["claims_end"]

    def _derive(self, table: str) -> Path | None:
        """Write ``table`` atomically into the core folder, a slice of people at a time, each
        slice appended as row groups (memory holds one slice). None when the folder cannot be
        written, e.g. a read-only dataset: the table is then kept in memory for this panel."""
        self._say(f"deriving {table.replace('_', ' ')} (once for this dataset)")
        whole = self._whole()
        slices = whole._slices()
        try:
            self.core_path.mkdir(parents=True, exist_ok=True)
            _remove_stale_versions(self.core_path)
            fd, tmp = tempfile.mkstemp(dir=self.core_path, prefix=f".{table}.", suffix=".tmp")
            os.close(fd)
        except OSError:
            parts = [_BUILDERS[table](whole.for_people(a, b)).collect() for a, b in slices]
            self._memory[table] = pl.concat(parts, how="vertical_relaxed")
            return None
        writer: pq.ParquetWriter | None = None
        schema: pa.Schema | None = None
        try:
            for n, (first, last) in enumerate(slices, start=1):
                if len(slices) > 1:
                    self._say(
                        f"deriving {table.replace('_', ' ')}: people slice {n} of {len(slices)}"
                    )
                part = _BUILDERS[table](whole.for_people(first, last)).collect().to_arrow()
                if writer is None or schema is None:
                    schema = part.schema
                    writer = pq.ParquetWriter(tmp, schema, compression="zstd")
                writer.write_table(part.cast(schema), row_group_size=ROW_GROUP)
        finally:
            if writer is not None:
                writer.close()
        os.chmod(tmp, 0o644)  # readable as the dataset's own files are (mkstemp makes it 0600)
        os.replace(tmp, self.core_path / f"{table}.parquet")
        return self.core_path / f"{table}.parquet"

    def _slices(self) -> list[tuple[str, str]]:
        """Ranges of person ids (first, last) covering everyone in eligibility and the claims
        tables, as many as it takes for each to hold about ``SLICE_LINES`` medical claim lines
        (from the manifest's row count; people are taken to have as many lines on average)."""
        ids = pl.concat(
            [
                self.dataset.scan(t).select("person_id")
                for t in ("eligibility", "medical_claim", "pharmacy_claim")
            ]
        )
        people = ids.unique().drop_nulls().sort("person_id").collect()["person_id"]
        if people.is_empty():
            return [("", "")]
        lines = int(self.manifest["tables"].get("medical_claim", {}).get("rows", 0))
        count = max(1, -(-lines // SLICE_LINES))
        size = -(-people.len() // count)
        return [
            (people[i], people[min(i + size, people.len()) - 1])
            for i in range(0, people.len(), size)
        ]


def _remove_stale_versions(current: Path) -> None:
    """Remove the dataset's core folders of other versions or contents."""
    for folder in current.parent.iterdir():
        if folder != current and folder.is_dir() and folder.name.startswith("v"):
            shutil.rmtree(folder, ignore_errors=True)
