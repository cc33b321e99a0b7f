"""Exports: every download the app offers goes through ``offer_download`` (roles, small-cell
suppression, the audit log, formulas neutralized) and every CSV the CLI writes through
``write_csv``.

A text cell that begins with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return, which
some spreadsheets skip before one) is run as a formula when the file is opened in Excel, Calc or
Sheets (OWASP, "CSV Injection"). Such cells are written with a leading apostrophe, which
spreadsheets show as text. Numbers are never text cells, so negative amounts stay numbers.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl
import streamlit as st

FORMULA_START = r"^[=+\-@\t\r]"


def neutralized(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with every text cell that a spreadsheet would run as a formula prefixed by ``'``."""
    text = [c for c, t in frame.schema.items() if t == pl.String or t == pl.Categorical]
    return frame.with_columns(
        pl.when(pl.col(c).cast(pl.String).str.contains(FORMULA_START))
        .then(pl.lit("'") + pl.col(c).cast(pl.String))
        .otherwise(pl.col(c).cast(pl.String))
        .alias(c)
        for c in text
    )


def csv_text(frame: pl.DataFrame, *, bom: bool = False) -> str:
    """The frame as CSV text, formulas neutralized (for download buttons)."""
    text = neutralized(frame).write_csv()
    return "\ufeff" + text if bom else text


def write_csv(frame: pl.DataFrame, path: str | Path) -> None:
    """Write the frame as a CSV file, formulas neutralized (and the export audited, from the CLI)."""
    neutralized(frame).write_csv(Path(path))
    record_file_export(frame, path)


def write_parquet(frame: pl.DataFrame, path: str | Path) -> None:
    """Write the frame as a Parquet file (audited, from the CLI, as ``write_csv``)."""
    frame.write_parquet(Path(path))
    record_file_export(frame, path)


_cli_audit: dict[str, Any] = {}


def audit_cli_exports(workspace: Any) -> None:
    """From now on in this process, every file ``write_csv``/``write_parquet`` writes is an
    export entry of ``workspace``'s audit log, by the operating-system user who ran the command
    (the CLI's side of the audit rule; the app's exports go through ``offer_download``)."""
    _cli_audit["workspace"] = workspace


def _os_user() -> str:
    import getpass
    import os

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return f"uid {os.getuid()}"


def write_text(text: str, path: str | Path) -> None:
    """Write a text report (audited, from the CLI, as ``write_csv``; a report holds no rows)."""
    Path(path).write_text(text)
    record_file_export(None, path)


def record_file_export(frame: pl.DataFrame | None, path: str | Path) -> None:
    """The audit entry of a file the CLI wrote: who, which file, how many rows and people
    (distinct ``person_id``, when the file has people). A store that cannot record it is a
    warning on standard error: the file is written either way."""
    import sys

    from modeling.errors import VbcError

    workspace = _cli_audit.get("workspace")
    if workspace is None:
        return
    people = (
        int(frame["person_id"].n_unique())
        if frame is not None and "person_id" in frame.columns
        else None
    )
    detail = {
        "file": str(Path(path).resolve()),
        "rows": None if frame is None else frame.height,
        "people": people,
        "person_level": people is not None,
        "via": "cli",
        "command": " ".join(sys.argv[1:2]),
    }
    try:
        with workspace.store() as store:
            store.audit("export", detail, actor=f"cli:{_os_user()}")
    except VbcError as exc:
        print(f"warning: the audit log could not record {path}: {exc}", file=sys.stderr)


def offer_download(
    label: str,
    data: pl.DataFrame | str | bytes,
    *,
    file_name: str,
    person_level: bool,
    people: Sequence[str] = (),
    partitions: Sequence[Sequence[str]] = (),
    keep: Sequence[str] = (),
    cells: Mapping[str, str | pl.Expr] | None = None,
    excel: bool = False,
    bom: bool = False,
    mime: str | None = None,
    container: Any = None,
    key: str | None = None,
) -> None:
    """A download button: the one way the app exports anything.

    ``person_level``: the export names people (a list, a drill-down, a worklist): it is offered
    only to a role with the person-level right (``app.access``), and for any other role nothing
    is built or sent. A frame is written as CSV (formulas neutralized; ``bom`` for Excel's CSV
    reading) or, with ``excel``, as a workbook. An aggregate frame has its small cells
    suppressed when the deployment suppresses them (``people``, ``partitions``, ``keep``,
    ``cells`` as in ``modeling.suppression.suppress_small_cells``); text or bytes (a report)
    must be built from suppressed figures by the caller. Each download is written to the audit
    log: who, which file, how many rows and, for person-level exports, how many people.
    """
    from app import access

    if person_level and not access.current_user().may(access.Right.PERSON_LEVEL):
        return
    if isinstance(data, pl.DataFrame):
        shown = data
        if not person_level and people:
            shown = access.aggregate(
                data, people=people, partitions=partitions, keep=keep, cells=cells
            )
        rows: int | None = shown.height
        counted = access.people_in(shown) if person_level else None
        payload: str | bytes = _workbook(shown) if excel else csv_text(shown, bom=bom)
    else:
        payload, rows, counted = data, None, None
    detail = {"file": file_name, "rows": rows, "people": counted, "person_level": person_level}
    (container or st).download_button(
        label,
        payload,
        file_name=file_name,
        mime=mime or (XLSX if excel else "text/csv"),
        key=key,
        on_click=access.audit,
        args=("export", detail),
    )


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _workbook(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    neutralized(frame).write_excel(buffer, autofit=True)
    return buffer.getvalue()
