"""A workspace: a folder holding datasets and the workspace store (``workspace.duckdb``).

The default workspace is ``$VBC_WORKSPACE`` or ``./workspace``. On first use it gets the default
synthetic panel: 20,000 members, 3 years from 2023, seed 20240601.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from modeling.dataset import MANIFEST, Dataset
from modeling.errors import DatasetError
from modeling.store import WorkspaceStore
from modeling.synth import SynthSpec, generate

DEFAULT_PANEL = SynthSpec(members=20_000, start_year=2023, years=3, seed=20240601)
DEFAULT_DATASET = "default"


@dataclass(frozen=True)
class Workspace:
    path: Path

    @classmethod
    def default(cls) -> Workspace:
        return cls(Path(os.environ.get("VBC_WORKSPACE", "workspace")).resolve())

    @property
    def datasets_dir(self) -> Path:
        return self.path / "datasets"

    def store(self) -> WorkspaceStore:
        return WorkspaceStore.open(self.path / "workspace.duckdb")

    def dataset_names(self) -> list[str]:
        if not self.datasets_dir.is_dir():
            return []
        return sorted(p.name for p in self.datasets_dir.iterdir() if (p / MANIFEST).is_file())

    def dataset(self, name: str = DEFAULT_DATASET) -> Dataset:
        path = self.datasets_dir / name
        if not (path / MANIFEST).is_file():
            raise DatasetError(
                f"Workspace {self.path} has no dataset '{name}'. Datasets here: {', '.join(self.dataset_names()) or 'none'}."
            )
        return Dataset(path)

    def dataset_path(self, name: str) -> Path:
        return self.datasets_dir / name

    def ensure_default_dataset(
        self, spec: SynthSpec = DEFAULT_PANEL, progress: Callable[[int, int], None] | None = None
    ) -> Dataset:
        """The default synthetic panel, generated (with progress) if the workspace does not have it yet."""
        target = self.datasets_dir / DEFAULT_DATASET
        if (target / MANIFEST).is_file():
            return Dataset(target)
        partial = self.datasets_dir / f".{DEFAULT_DATASET}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        generate(spec, partial, progress=progress)
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)
        with self.store() as store:
            store.audit(
                "generate_default_dataset",
                {
                    "members": spec.members,
                    "start_year": spec.start_year,
                    "years": spec.years,
                    "seed": spec.seed,
                },
            )
        return Dataset(target)
