"""A workspace: a folder holding datasets, the outputs written from them, and the workspace store
(``workspace.duckdb``, or the PostgreSQL database the settings name: saved scenarios, registered
models, the audit log).

The default workspace is ``$VBC_WORKSPACE`` or ``./workspace``. The app and the CLI share it: the
dataset chosen in the app's sidebar is the workspace's *active* dataset, which every CLI command
uses when it is given none, and commands write their default outputs under ``outputs/``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from modeling.dataset import DATASET_NAME, MANIFEST, Dataset, check_dataset_name
from modeling.errors import DatasetError
from modeling.settings import read_settings, section
from modeling.store import WorkspaceStore, open_store, store_settings

DEFAULT_DATASET = "default"
ACTIVE_FILE = "active_dataset"


@dataclass(frozen=True)
class Workspace:
    path: Path

    @classmethod
    def default(cls) -> Workspace:
        """``$VBC_WORKSPACE``, or ``./workspace`` when it is not set."""
        return cls.at(None)

    @classmethod
    def at(cls, path: str | Path | None) -> Workspace:
        """The workspace at ``path`` (the default workspace when ``path`` is None)."""
        chosen = path if path is not None else os.environ.get("VBC_WORKSPACE", "workspace")
        return cls(Path(chosen).expanduser().resolve())

    @property
    def datasets_dir(self) -> Path:
        return self.path / "datasets"

    @property
    def outputs_dir(self) -> Path:
        return self.path / "outputs"

    def store(self, *, read_only: bool = False) -> WorkspaceStore:
        """The workspace store the settings file's ``[store]`` table chooses (DuckDB
        ``workspace.duckdb`` here by default, or PostgreSQL); ``read_only=True`` for work that
        only reads it (works in a read-only workspace, and beside other readers). The handle
        holds no connection: each operation is its own short transaction."""
        settings = store_settings(section(read_settings(self.path), "store"))
        return open_store(self.path, settings, read_only=read_only)

    def dataset_names(self) -> list[str]:
        if not self.datasets_dir.is_dir():
            return []
        return sorted(
            p.name
            for p in self.datasets_dir.iterdir()
            if DATASET_NAME.fullmatch(p.name) and (p / MANIFEST).is_file()
        )  # staging and replaced folders (hidden names) are never datasets

    def dataset(self, name: str = DEFAULT_DATASET) -> Dataset:
        path = self.dataset_path(name)
        if not (path / MANIFEST).is_file():
            raise DatasetError(
                f"Workspace {self.path} has no dataset '{name}'. Datasets here: "
                f"{', '.join(self.dataset_names()) or 'none'}."
            )
        return Dataset(path)

    def dataset_path(self, name: str) -> Path:
        """The folder of dataset ``name`` (a ``DatasetError`` for a name that is not a plain
        dataset name: nothing outside ``datasets/`` can be named)."""
        return self.datasets_dir / check_dataset_name(name)

    def active_dataset_name(self) -> str:
        """The dataset last chosen in the app (or with ``set_active``); else the default panel;
        else the only dataset. A clear error when there is none to choose."""
        names = self.dataset_names()
        marker = self.path / ACTIVE_FILE
        chosen = marker.read_text().strip() if marker.is_file() else ""
        if chosen in names:
            return chosen
        if DEFAULT_DATASET in names:
            return DEFAULT_DATASET
        if len(names) == 1:
            return names[0]
        if not names:
            raise DatasetError(
                f"Workspace {self.path} has no dataset yet. Launch the app once (it generates the "
                "default panel), or create one with `vbc synth` or `vbc ingest`, or name a dataset "
                "folder."
            )
        raise DatasetError(
            f"Workspace {self.path} has several datasets ({', '.join(names)}) and none is active: "
            "name one, or choose one in the app."
        )

    def active_dataset(self) -> Dataset:
        return self.dataset(self.active_dataset_name())

    def set_active(self, name: str) -> None:
        """Make ``name`` the dataset that commands use when given none."""
        self.dataset(name)  # a clear error for a name the workspace does not have
        self.path.mkdir(parents=True, exist_ok=True)
        (self.path / ACTIVE_FILE).write_text(name + "\n")

    def output_path(self, dataset: Dataset, filename: str) -> Path:
        """Where a command writes ``filename`` made from ``dataset`` by default:
        ``outputs/<dataset folder name>/<filename>`` inside the workspace (created)."""
        folder = self.outputs_dir / dataset.path.name
        folder.mkdir(parents=True, exist_ok=True)
        return folder / filename

    def ensure_default_dataset(self, make: Callable[[Path], Dataset]) -> Dataset:
        """The default dataset; when the workspace does not have it yet, ``make(folder)`` writes
        it (the app passes the synthetic generator of the default panel, with its progress), and
        it is renamed into place only once complete."""
        target = self.datasets_dir / DEFAULT_DATASET
        if (target / MANIFEST).is_file():
            return Dataset(target)
        partial = self.datasets_dir / f".{DEFAULT_DATASET}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        source = dict(make(partial).manifest["source"])
        if (target / MANIFEST).is_file():  # another session finished first
            shutil.rmtree(partial, ignore_errors=True)
            return Dataset(target)
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)
        with self.store() as store:
            store.audit("generate_default_dataset", source)
        return Dataset(target)
