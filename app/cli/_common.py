"""What every command shares: the console, the workspace and dataset options, and errors as
messages (exit code 2) rather than tracebacks."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from app.export import audit_cli_exports
from modeling.dataset import MANIFEST, Dataset
from modeling.errors import VbcError
from modeling.workspace import Workspace

console = Console()


def wide(columns: int = 120) -> Console:
    """The console, at least ``columns`` wide: for tables of many columns, which an
    80-column terminal (or a test runner) would wrap cell by cell."""
    return Console(width=max(console.width, columns))


WorkspaceOption = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        help="Workspace folder (default: $VBC_WORKSPACE, else ./workspace, as the app uses).",
        show_default=False,
    ),
]
DATASET_HELP = (
    "Dataset folder, or the name of a dataset in the workspace "
    "(default: the workspace's active dataset, the one chosen in the app)."
)
DatasetArgument = Annotated[
    str | None, typer.Argument(help=DATASET_HELP, show_default=False, metavar="[DATASET]")
]
DatasetOption = Annotated[
    str | None, typer.Option("--dataset", help=DATASET_HELP, show_default=False)
]


def fail(exc: VbcError) -> NoReturn:
    """Print the error's message and exit with code 2."""
    console.print(f"[bold red]error:[/] {exc}", soft_wrap=True)
    raise typer.Exit(code=2)


def open_workspace(path: Path | None) -> Workspace:
    """The command's workspace; the files the command then exports are audited in it."""
    workspace = Workspace.at(path)
    audit_cli_exports(workspace)
    return workspace


def open_dataset(workspace: Workspace, dataset: str | None) -> Dataset:
    """``dataset`` as a folder, else as a workspace dataset's name, else the active dataset."""
    if dataset is None:
        return workspace.active_dataset()
    folder = Path(dataset).expanduser()
    if (folder / MANIFEST).is_file() or folder.is_absolute() or len(folder.parts) > 1:
        return Dataset(folder)
    if dataset in workspace.dataset_names():
        return workspace.dataset(dataset)
    return Dataset(folder)  # says that the folder is not a dataset


def output(workspace: Workspace, dataset: Dataset, given: Path | None, default: str) -> Path:
    """The path a command writes: the one given, else ``default`` under the workspace's outputs."""
    return given if given is not None else workspace.output_path(dataset, default)


def out_file(path: Path | None) -> Path | None:
    """Option callback for an ``--out`` file, run before the command's work: the file's folder
    must exist and be writable, and the path must not be a folder (a clear message, exit 2)."""
    if path is None:
        return None
    problem = None
    if path.is_dir():
        problem = f"--out {path} is a folder; give a file name (e.g. {path / 'result.csv'})."
    elif not path.parent.is_dir():
        problem = f"--out {path}: the folder {path.parent} does not exist; create it first."
    elif not os.access(path.parent, os.W_OK):
        problem = f"--out {path}: the folder {path.parent} is not writable."
    if problem:
        raise typer.BadParameter(problem)
    return path


def out_folder(path: Path | None) -> Path | None:
    """Option callback for an ``--out`` dataset folder: not an existing file."""
    if path is not None and path.exists() and not path.is_dir():
        raise typer.BadParameter(f"--out {path} is a file; a dataset is written to a folder.")
    return path


def finite(value: float | None) -> float | None:
    """Option callback: a finite number (no nan or inf)."""
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"{value} is not a finite number.")
    return value


SEED_MAX = 2**32 - 1  # numpy's seed range
