"""Files a visitor hands the app, made safe before anything reads them.

Uploads are written under names the app makes, inside a scratch folder: a canonical upload
under its table's file name chosen from the fixed list (``eligibility.csv`` ...), a CCLF upload
in a folder of its own under its base name reduced to letters, digits, ``.``, ``-`` and ``_``.
Nothing of the name a browser sends (``../x``, ``/etc/x``, ``C:\\x``) can reach a path.

A folder on the server is read only below an allowed root, set by the administrator in
``$VBC_SERVER_FOLDER_ROOT`` (several separated by ``:``); without it the option is off, as it
should be in a shared deployment.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from modeling.errors import VbcError
from modeling.ingest.canonical import SUFFIXES
from modeling.schema import TABLES

ROOT_ENV = "VBC_SERVER_FOLDER_ROOT"


class Upload(Protocol):
    name: str

    def getvalue(self) -> bytes: ...


def base_name(sent: str) -> str:
    """The last component of a name as a browser sent it, reduced to safe characters."""
    last = re.split(r"[/\\]", sent or "")[-1]
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", last).lstrip(".")[:200]
    return safe or "upload"


def canonical_name(sent: str) -> str:
    """The table file name an upload is saved under (a ``VbcError`` when it names no table)."""
    base = base_name(sent).lower()
    for table in TABLES:
        for suffix in SUFFIXES:
            if base == f"{table}{suffix}":
                return f"{table}{suffix}"
    raise VbcError(
        f"Upload '{base_name(sent)}': name it after its table ({', '.join(TABLES)}) with "
        ".csv or .parquet, e.g. eligibility.csv."
    )


def save_uploads(uploads: Iterable[Upload], folder: Path, *, kind: str) -> None:
    """Write the uploads into ``folder`` under generated names (``kind`` canonical or cclf);
    a file is never written twice or outside ``folder``."""
    for i, upload in enumerate(uploads):
        if kind == "canonical":
            target = folder / canonical_name(upload.name)
        else:
            own = folder / f"u{i:03d}"
            own.mkdir()
            target = own / base_name(upload.name)
        try:
            with target.open("xb") as fh:
                fh.write(upload.getvalue())
        except FileExistsError:
            raise VbcError(
                f"Two uploads are both '{target.name}'; upload each table once."
            ) from None


def allowed_roots(env: str | None = None) -> list[Path]:
    """The folders below which server folders may be read (none: the option is off)."""
    raw = os.environ.get(ROOT_ENV, "") if env is None else env
    return [Path(r).expanduser().resolve() for r in raw.split(os.pathsep) if r.strip()]


def server_folder(text: str, roots: list[Path]) -> Path:
    """The folder ``text`` names, every link resolved, when it lies below one of ``roots``
    (a relative name is taken below the first root); else a ``VbcError``."""
    if not roots:
        raise VbcError(
            f"Reading folders on the server is off. An administrator can allow a folder by "
            f"setting {ROOT_ENV} before starting the app."
        )
    given = Path(text.strip()).expanduser()
    candidate = given if given.is_absolute() else roots[0] / given
    try:
        resolved = candidate.resolve(strict=True)
    except (OSError, RuntimeError):
        resolved = None
    allowed = resolved is not None and any(resolved == r or r in resolved.parents for r in roots)
    if not allowed or resolved is None:
        raise VbcError(
            f"'{text.strip()}' is not a folder below the allowed folder(s) "
            f"{', '.join(str(r) for r in roots)}."
        )  # the same words whether or not it exists: no probing of the server's files
    return resolved
