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
| ``medical_claim`` | canonical claim line, with ``service_category`` | ``service_categories.with_service_category`` |
| ``conditions`` | person, claim and diagnosis, with the claim's date and year and whether the claim counts for risk adjustment in that year | ``conditions.condition_rows`` |
| ``inpatient_stays`` | acute inpatient stay, with 30-day readmission flags | ``encounters.inpatient_stays`` |
| ``ed_visits`` | person-day with an ED visit | ``encounters.ed_visits`` |
| ``snf_stays``, ``home_health_episodes`` | SNF stay, home-health episode | ``encounters`` |
| ``joint_replacements`` | lower-extremity joint replacement | ``encounters.joint_replacements`` |
| ``long_term_institutional`` | person-year that looks long-term institutionalized | ``encounters.long_term_institutional`` |

A panel can be narrowed to a range of person ids (``for_people``) to work on a big panel in
slices: every scan, canonical or core, is then filtered to those people, and Parquet skips the
other people's row groups.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import polars as pl

from modeling.core.conditions import condition_rows
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
from modeling.dataset import Dataset, scan_parquet
from modeling.progress import Progress, reporter

CORE_VERSION = 1
CORE_DIR = "core"


def _claims(panel: Panel) -> pl.LazyFrame:
    return panel.scan("medical_claim")


_BUILDERS: dict[str, Callable[[Panel], pl.LazyFrame]] = {
    "member_months": lambda p: member_months(p.dataset.scan("eligibility")),
    "medical_claim": lambda p: with_service_category(p.dataset.scan("medical_claim")),
    "conditions": lambda p: condition_rows(_claims(p)),
    "inpatient_stays": lambda p: inpatient_stays(_claims(p)),
    "ed_visits": lambda p: ed_visits(_claims(p)),
    "snf_stays": lambda p: snf_stays(_claims(p)),
    "home_health_episodes": lambda p: home_health_episodes(_claims(p)),
    "joint_replacements": lambda p: joint_replacements(_claims(p)),
    "long_term_institutional": lambda p: long_term_institutional(_claims(p)),
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
        view = Panel.__new__(Panel)
        view.dataset, view.manifest, view.people = self.dataset, self.manifest, (first, last)
        view._say, view._memory = self._say, self._memory
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

    def _derive(self, table: str) -> Path | None:
        """Write ``table`` atomically into the core folder (None when the folder cannot be
        written, e.g. a read-only dataset: the table is then kept in memory for this panel)."""
        self._say(f"deriving {table.replace('_', ' ')} (once for this dataset)")
        whole = Panel(self.dataset)
        whole._say, whole._memory = self._say, self._memory
        frame = _BUILDERS[table](whole).collect()
        try:
            self.core_path.mkdir(parents=True, exist_ok=True)
            _remove_stale_versions(self.core_path)
            fd, tmp = tempfile.mkstemp(dir=self.core_path, prefix=f".{table}.", suffix=".tmp")
            os.close(fd)
            frame.write_parquet(tmp, compression="zstd", statistics=True)
            os.replace(tmp, self.core_path / f"{table}.parquet")
        except OSError:
            self._memory[table] = frame
            return None
        return self.core_path / f"{table}.parquet"


def _remove_stale_versions(current: Path) -> None:
    """Remove the dataset's core folders of other versions or contents."""
    for folder in current.parent.iterdir():
        if folder != current and folder.is_dir() and folder.name.startswith("v"):
            shutil.rmtree(folder, ignore_errors=True)
