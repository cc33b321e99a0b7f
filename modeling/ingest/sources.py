"""Reading source files safely: which files a source holds, and their text checked before polars
sees it.

Nothing a source names is followed outside it: a symbolic link that points out of the source
folder (or nowhere) is refused, and every path is handed to polars literally (``glob=False``).
Text must be UTF-8, or decoded by an encoding the user declares or a byte-order mark declares;
it is never decoded lossily. Files are read in blocks, so a NUL-filled, sparse or binary file is
refused after its first block, and a compressed file whose content grows beyond
``MAX_EXPANSION`` times its size is refused before it can take the memory.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from modeling.errors import SchemaError

BLOCK = 4 << 20
MAX_EXPANSION = 100  # a compressed file may hold at most 100 bytes of content per byte stored
EXPANSION_FLOOR = 64 << 20  # ... once its content passes 64 MiB (small files are never refused)
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
ENCODING_HINT = (
    "Re-save the file as UTF-8, or declare its encoding (`--encoding cp1252`, `latin-1`, "
    "`utf-16`...; the app's 'Text encoding' box)."
)


def inside(path: Path, root: Path) -> bool:
    """Whether ``path``, every link resolved, lies in folder ``root`` (resolved)."""
    try:
        path.resolve(strict=True).relative_to(root.resolve(strict=True))
    except (OSError, ValueError, RuntimeError):
        return False
    return True


def check_member(path: Path, root: Path) -> None:
    """Refuse a file of source folder ``root`` that is a link out of it or to nothing, or a folder."""
    if path.is_symlink():
        if not path.exists():
            raise SchemaError(
                f"{path}: is a symbolic link to a file that does not exist. Replace it with the file."
            )
        if not inside(path, root):
            raise SchemaError(
                f"{path}: is a symbolic link to a file outside the source folder {root}; such "
                "links are not followed. Copy the file into the folder instead."
            )
    if path.is_dir():
        raise SchemaError(f"{path}: is a folder, not a file. Give the file itself.")


def is_gzip(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _open_raw(path: Path) -> BinaryIO:
    try:
        fh = path.open("rb")
        if fh.peek(2)[:2] == b"\x1f\x8b":  # gzip, whatever the name says
            return gzip.GzipFile(fileobj=fh)  # type: ignore[return-value]
        return fh
    except OSError as exc:
        raise SchemaError(f"{path}: cannot be read ({exc.strerror or exc}).") from exc


def _blocks(path: Path) -> Iterator[bytes]:
    stored = max(path.stat().st_size, 1)
    seen = 0
    with _open_raw(path) as fh:
        while True:
            try:
                block = fh.read(BLOCK)
            except (OSError, EOFError, zlib.error) as exc:
                raise SchemaError(
                    f"{path}: the compressed file is damaged ({exc}). Re-export or re-download it."
                ) from exc
            if not block:
                return
            seen += len(block)
            if seen > EXPANSION_FLOOR and seen > MAX_EXPANSION * stored:
                raise SchemaError(
                    f"{path}: its content expands to more than {MAX_EXPANSION} times its "
                    f"{stored:,} bytes on disk (a compression bomb?); refused. Give the "
                    "uncompressed file."
                )
            yield block


def _declared(first: bytes, encoding: str | None) -> str:
    for bom, name in BOMS:
        if first.startswith(bom):
            return name if encoding is None or encoding.lower().startswith("utf") else encoding
    return encoding or "utf-8"


def _refuse_nul(path: Path, first: bytes) -> None:
    if b"\x00" not in first:
        return
    sample = first[:4096]
    odd_nuls = sample[1::2].count(0) > 0.4 * len(sample[1::2])
    even_nuls = sample[0::2].count(0) > 0.4 * len(sample[0::2])
    if odd_nuls != even_nuls:
        hint = "utf-16-le" if odd_nuls else "utf-16-be"
        raise SchemaError(
            f"{path}: looks like UTF-16 text without a byte-order mark. Declare its encoding "
            f"(`--encoding {hint}`) or re-save it as UTF-8."
        )
    raise SchemaError(
        f"{path}: contains NUL bytes from byte {first.index(0):,}, so it is binary, sparse or "
        "damaged, not CSV text. Re-export the table as CSV."
    )


def _position(prefix: bytes, offset: int) -> str:
    line = prefix[:offset].count(b"\n") + 1
    return f"line {line:,} (byte {offset:,})"


def text_source(path: Path, scratch: Path, *, encoding: str | None = None) -> Path:
    """A UTF-8 CSV file with the content of ``path``: ``path`` itself when it already is valid
    UTF-8 (its whole text is checked), else a transcoded copy under ``scratch``. A ``SchemaError``
    saying where and how to fix it for text that is not valid in its encoding, NUL bytes, or a
    compression bomb."""
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise SchemaError(
                f"Unknown text encoding {encoding!r}. Use a Python codec name such as utf-8, "
                "cp1252, latin-1 or utf-16."
            ) from None
    blocks = _blocks(path)
    first = next(blocks, b"")
    name = _declared(first, encoding)
    if not name.lower().startswith("utf-16") and not name.lower().startswith("utf-32"):
        _refuse_nul(path, first)
    plain_utf8 = codecs.lookup(name).name in ("utf-8", "utf-8-sig") and not is_gzip(path)
    decoder = codecs.getincrementaldecoder(name)("strict")
    target = None if plain_utf8 else scratch / f"{path.name.split('.')[0]}.csv"
    out = None
    if target is not None:
        scratch.mkdir(parents=True, exist_ok=True)
        out = target.open("w", encoding="utf-8", newline="")
    done = 0
    try:
        for block in _chain(first, blocks):
            try:
                text = decoder.decode(block)
            except UnicodeError as exc:  # UnicodeDecodeError, or e.g. UTF-16 without a BOM
                at = getattr(exc, "start", 0)
                raise SchemaError(
                    f"{path}: is not valid {name} text at {_position(block, at)} of the block "
                    f"starting at byte {done:,} (bytes {block[at : at + 4]!r}). {ENCODING_HINT}"
                ) from None
            if "\x00" in text:
                raise SchemaError(
                    f"{path}: contains a NUL character near byte {done + text.index(chr(0)):,}; "
                    "CSV text cannot hold one. Re-export the table."
                )
            if out is not None:
                out.write(text)
            done += len(block)
        try:
            tail = decoder.decode(b"", final=True)
        except UnicodeError:
            raise SchemaError(
                f"{path}: ends in the middle of a {name} character (file cut short?). "
                f"{ENCODING_HINT}"
            ) from None
        if out is not None:
            out.write(tail)
    finally:
        if out is not None:
            out.close()
    return target or path


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest


def csv_problem(path: Path) -> str:
    """Where a UTF-8 CSV file breaks the form polars expects: the first row whose field count
    differs from the header's, or a quote left open (record contents are not echoed)."""
    with path.open("r", encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, strict=True)
        try:
            header = next(reader, [])
            start = reader.line_num + 1
            for row in reader:
                if row and len(row) != len(header):
                    return (
                        f"the record starting on line {start:,} has {len(row)} fields, the "
                        f"header has {len(header)}"
                    )
                start = reader.line_num + 1
        except csv.Error as exc:
            return f"the record starting on line {start:,} is malformed ({exc}): a quote left open?"
    return "its quoting or field layout is not CSV as polars reads it"
