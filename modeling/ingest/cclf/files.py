"""Finding CCLF files in a folder or zip, recognizing their names, and reading their records.

CMS names a delivery's files ``P.A1234.ACO.ZC1Y24.D240115.T1234567``: environment (P production,
T test), entity id, ``ZC`` + file type (0-9, A, B) + ``Y`` (monthly) or ``R`` (run-out) + the
two-digit performance year, file date ``Dyymmdd`` and time ``Thhmmss[s]``. Plain names work too
(``CCLF1.txt``, ``cclf8_2024-03.txt``): the file type is the ``CCLFn`` in the name and the month,
when needed, a ``YYYY-MM`` or ``YYYYMM`` in it.

Files are applied in delivery order (file date and time, then name), so a later file supersedes
an earlier one. Every line of every file is accounted for: parsed, or quarantined with the file,
line number and reason; a file that cannot be what its name says is refused with a message.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
import zlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from modeling.errors import SchemaError
from modeling.ingest.cclf.layouts import Layout, field_exprs, layout_for_length
from modeling.ingest.sources import EXPANSION_FLOOR, MAX_EXPANSION, inside

CMS_NAME = re.compile(
    r"^(?P<env>[PT])\.(?P<entity>[A-Z0-9]+)\.ACO\.ZC(?P<type>[0-9AB])(?P<kind>[YR])(?P<yy>\d{2})"
    r"\.D(?P<date>\d{6})\.T(?P<time>\d{6,7})",
    re.IGNORECASE,
)
PLAIN_NAME = re.compile(r"CCLF[_\-\s]?(?P<type>[0-9AB])(?![0-9A-Z])", re.IGNORECASE)
PLAIN_MONTH = re.compile(r"(?<!\d)(?P<y>20\d{2})[-_]?(?P<m>0[1-9]|1[0-2])(?!\d)")
WRONG_LENGTH_SHARE = (
    0.5  # more than half the records of the wrong length: the file, not its lines, is wrong
)

MAX_WALK = 100_000  # entries looked at in a source folder before it is refused as too large
SEPARATORS = (b"\x1f", b"\x1e", b"\x1d", b"\x1c", b"\x01", b"\x02", b"\x03")
LINE = "line"
LINE_NO = "_line"
ORDER, FILE = "_order", "_file"  # staged records: delivery order and file name


@dataclass(frozen=True)
class CclfFile:
    """One CCLF file found in the source, with what its name says about it."""

    name: str  # path inside the source (folder-relative or zip member)
    file_type: str  # CCLF0 ... CCLF9, CCLFA, CCLFB
    delivery: str  # monthly | runout | unknown
    file_date: date | None
    order_key: tuple
    performance_year: int | None = None
    entity: str | None = None
    zip_path: Path | None = None
    path: Path | None = None

    @property
    def month(self) -> date | None:
        """The calendar month a monthly delivery covers (its file date's month)."""
        return self.file_date.replace(day=1) if self.file_date else None

    def read_bytes(self) -> bytes:
        """The file's bytes; a ``SchemaError`` for a zip member that is encrypted, compressed by
        an unsupported method, damaged, or a compression bomb (it is never expanded)."""
        if self.zip_path is None:
            assert self.path is not None
            return self.path.read_bytes()
        member = self.name.split("!", 1)[1]
        try:
            with zipfile.ZipFile(self.zip_path) as zf:
                info = zf.getinfo(member)
                _check_member(self.name, info)
                return zf.read(info)
        except SchemaError:
            raise
        except (
            zipfile.BadZipFile,
            OSError,
            KeyError,
            EOFError,
            zipfile.LargeZipFile,
            RuntimeError,
            NotImplementedError,
            zlib.error,
        ) as exc:
            raise SchemaError(
                f"{self.name}: cannot be read from the zip ({exc.__class__.__name__}: {exc}); "
                "the archive may be truncated or damaged. Re-download the delivery."
            ) from exc

    def head(self, size: int = 65536) -> bytes:
        """The first ``size`` bytes (a plain file's, without reading the rest)."""
        if self.zip_path is not None:
            return self.read_bytes()[:size]
        assert self.path is not None
        with self.path.open("rb") as fh:
            return fh.read(size)

    def count_lines(self) -> int:
        """Lines in the file as stored, counted in blocks (for a file refused unread)."""
        if self.zip_path is not None:
            data = self.read_bytes()
            return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
        assert self.path is not None
        n, last = 0, b""
        with self.path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                n += block.count(b"\n")
                last = block[-1:]
        return n + (1 if last and last != b"\n" else 0)


def _check_member(name: str, info: zipfile.ZipInfo) -> None:
    if info.flag_bits & 0x1:
        raise SchemaError(
            f"{name}: is encrypted (password-protected) in the zip; unzip it with its password "
            "and give the folder."
        )
    if info.compress_type not in (
        zipfile.ZIP_STORED,
        zipfile.ZIP_DEFLATED,
        zipfile.ZIP_BZIP2,
        zipfile.ZIP_LZMA,
    ):
        raise SchemaError(
            f"{name}: uses a compression method (code {info.compress_type}) this reader does "
            "not support; unzip it with your archive tool and give the folder."
        )
    if info.file_size > EXPANSION_FLOOR and info.file_size > MAX_EXPANSION * max(
        info.compress_size, 1
    ):
        raise SchemaError(
            f"{name}: would expand from {info.compress_size:,} to {info.file_size:,} bytes, more "
            f"than {MAX_EXPANSION} times (a compression bomb?); refused unread."
        )


def recognize(name: str) -> dict | None:
    """What a file name says: type, delivery kind, date, year, entity; None if it is not a CCLF file."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    m = CMS_NAME.match(base)
    if m:
        d = m["date"]
        try:
            file_date = date(2000 + int(d[:2]), int(d[2:4]), int(d[4:6]))
        except ValueError:
            file_date = None
        return {
            "file_type": f"CCLF{m['type'].upper()}",
            "delivery": "monthly" if m["kind"].upper() == "Y" else "runout",
            "file_date": file_date,
            "performance_year": 2000 + int(m["yy"]),
            "entity": m["entity"].upper(),
            "time": m["time"],
        }
    p = PLAIN_NAME.search(base)
    if p:
        month = PLAIN_MONTH.search(base)
        return {
            "file_type": f"CCLF{p['type'].upper()}",
            "delivery": "runout"
            if re.search(r"run[-_ ]?out", base, re.IGNORECASE)
            else ("monthly" if month else "unknown"),
            "file_date": date(int(month["y"]), int(month["m"]), 1) if month else None,
            "performance_year": None,
            "entity": None,
            "time": "",
        }
    return None


def _make(name: str, info: dict, **where) -> CclfFile:
    order = (info["file_date"] or date.min, info["time"], name)
    return CclfFile(
        name,
        info["file_type"],
        info["delivery"],
        info["file_date"],
        order,
        info["performance_year"],
        info["entity"],
        **where,
    )


@dataclass(frozen=True)
class CclfSource:
    """What a source holds: its CCLF files in delivery order, and the files it was given but
    that were not read (with why: a name that is not a CCLF name, a zip inside a zip, a link
    out of the source)."""

    files: tuple[CclfFile, ...]
    unrecognized: tuple[str, ...] = ()


def _zip_members(zpath: Path, label: str) -> tuple[list[CclfFile], list[str]]:
    try:
        with zipfile.ZipFile(zpath) as zf:
            names = [i.filename for i in zf.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise SchemaError(
            f"{label}: is not a readable zip archive ({exc}). Re-download the delivery or unzip it and give the folder."
        ) from exc
    found, skipped = [], []
    for member in names:
        info = recognize(member)
        if info:
            found.append(_make(f"{label}!{member}", info, zip_path=zpath))
        elif member.lower().endswith(".zip"):
            skipped.append(f"{label}!{member} (a zip inside a zip: unzip it and give the folder)")
        elif not member.rsplit("/", 1)[-1].startswith("."):
            skipped.append(f"{label}!{member} (not a CCLF file name)")
    return found, skipped


def cclf_source(src: str | Path) -> CclfSource:
    """Every CCLF file in a folder (recursively, including inside zips, links not followed out
    of it) or a zip, in delivery order, and the files not read."""
    src = Path(src)
    if not src.exists():
        raise SchemaError(
            f"{src} does not exist. Give a folder of CCLF files or a CMS delivery zip."
        )
    found: list[CclfFile] = []
    skipped: list[str] = []
    if src.is_file():
        if src.suffix.lower() == ".zip" or zipfile.is_zipfile(src):
            found, skipped = _zip_members(src, src.name)
        else:
            info = recognize(src.name)
            if info is None:
                raise SchemaError(
                    f"{src.name}: not a CCLF file name (expected e.g. P.A1234.ACO.ZC1Y24.D240115.T1234567 or CCLF1.txt)."
                )
            found.append(_make(src.name, info, path=src))
    else:
        for f in _walk(src):
            rel = str(f.relative_to(src))
            if f.is_symlink() and not inside(f, src):
                skipped.append(
                    f"{rel} (a symbolic link out of the source or to nothing: not followed)"
                )
                continue
            if not f.is_file():
                continue
            if f.suffix.lower() == ".zip":
                members, not_read = _zip_members(f, rel)
                found += members
                skipped += not_read
                continue
            info = recognize(f.name)
            if info:
                found.append(_make(rel, info, path=f))
            elif not f.name.startswith("."):
                skipped.append(f"{rel} (not a CCLF file name)")
    if not found:
        raise SchemaError(
            f"{src}: no CCLF files found. Expected CMS names (P.A1234.ACO.ZC1Y24.D240115.T1234567) "
            "or names containing CCLF1 ... CCLF9, in a folder or a zip."
        )
    return CclfSource(tuple(sorted(found, key=lambda f: f.order_key)), tuple(skipped))


def _walk(src: Path) -> list[Path]:
    """Every entry under ``src`` (links to folders are not entered), sorted; a ``SchemaError``
    past ``MAX_WALK`` entries (not a delivery folder)."""
    entries: list[Path] = []
    for folder, dirs, names in os.walk(src, followlinks=False):
        dirs.sort()
        entries += [Path(folder, n) for n in names] + [
            Path(folder, d) for d in dirs if Path(folder, d).is_symlink()
        ]
        if len(entries) > MAX_WALK:
            raise SchemaError(
                f"{src}: holds more than {MAX_WALK:,} files; that is not a CCLF delivery folder. "
                "Give the folder of the delivery itself."
            )
    return sorted(entries)


def find_cclf_files(src: str | Path) -> list[CclfFile]:
    """Every CCLF file in a folder (recursively, including inside zips) or a zip, in delivery order."""
    return list(cclf_source(src).files)


@dataclass(frozen=True)
class ParsedFile:
    """The records of one file that parsed, and the lines that did not, with reasons."""

    file: CclfFile
    records: pl.DataFrame  # _line plus the layout's fields, typed
    quarantine: pl.DataFrame  # file, line, reason, record
    lines_read: int
    refused: str | None = None


QUARANTINE_SCHEMA = {"file": pl.String, "line": pl.Int64, "reason": pl.String, "record": pl.String}


def _empty_quarantine() -> pl.DataFrame:
    return pl.DataFrame(schema=QUARANTINE_SCHEMA)


def _lines(data: bytes) -> pl.DataFrame:
    if not data:
        return pl.DataFrame(schema={LINE: pl.String, LINE_NO: pl.Int64})
    # a separator byte that is not in the data, so every line is read whole
    separator = next((b for b in SEPARATORS if b not in data), None)
    if separator is None:
        raise SchemaError("the file holds every control byte; it is binary, not CCLF text")
    frame = pl.read_csv(
        io.BytesIO(data),
        has_header=False,
        new_columns=[LINE],
        separator=separator.decode(),
        quote_char=None,
        encoding="utf8-lossy",
        schema={LINE: pl.String},
        empty_string_is_null=False,
        truncate_ragged_lines=True,
    )
    return frame.with_row_index(LINE_NO, offset=1).with_columns(pl.col(LINE_NO).cast(pl.Int64))


def early_refusal(file: CclfFile) -> str | None:
    """Why a file is refused from its first block alone (it is then never read whole): NUL
    bytes (binary, UTF-16 or sparse) or compressed content."""
    head = file.head()
    if head[:2] == b"\x1f\x8b" or head[:4] == b"PK\x03\x04":
        return f"{file.name}: is compressed (gzip or zip) although named as a CCLF text file. Decompress it and load the text file."
    if b"\x00" in head:
        return f"{file.name}: contains NUL bytes, so it is binary, UTF-16 or sparse, not CCLF text (ASCII). Re-export it as ASCII text."
    return None


def refusal(file: CclfFile, lines: pl.DataFrame, layout: Layout, data: bytes) -> str | None:
    """Why a whole file cannot be read as its type, or None."""
    if b"\x00" in data[:65536]:
        return f"{file.name}: contains NUL bytes, so it is binary or UTF-16, not CCLF text (ASCII). Re-export it as ASCII text."
    text = lines.filter(pl.col(LINE).str.strip_chars() != "")
    if text.height == 0:
        return None
    lengths = text.get_column(LINE).str.len_chars()
    wrong = int((lengths != layout.record_length).sum())
    if wrong > WRONG_LENGTH_SHARE * text.height:
        typical = int(lengths.mode().sort()[0])
        matches = [t for t in layout_for_length(typical, layout.version) if t != file.file_type]
        hint = (
            f" That is the record length of {', '.join(matches)}: is the file misnamed?"
            if matches
            else (" Was it cut, re-wrapped or exported with another layout version?")
        )
        return (
            f"{file.name}: {wrong:,} of {text.height:,} records are not {layout.record_length} characters long "
            f"(the {file.file_type} record length in packet {layout.version}); most are {typical}.{hint}"
        )
    return None


def parse_file(
    file: CclfFile,
    layout: Layout,
    *,
    keep: list[str] | None = None,
    required: tuple[str, ...] = (),
    claim_types: tuple[str, ...] = (),
) -> ParsedFile:
    """Parse a file's fixed-width records; quarantine each bad line with its reason.

    ``keep`` limits which fields are parsed (and checked); ``required`` fields must not be blank;
    ``claim_types`` is the set of ``CLM_TYPE_CD`` values this file type may hold.
    """
    early = early_refusal(file)
    if early:
        n = file.count_lines()
        return ParsedFile(file, pl.DataFrame(), _empty_quarantine(), n, refused=early)
    data = file.read_bytes()
    try:
        lines = _lines(data)
    except SchemaError as exc:
        n = data.count(b"\n")
        return ParsedFile(
            file, pl.DataFrame(), _empty_quarantine(), n, refused=f"{file.name}: {exc}"
        )
    reason = refusal(file, lines, layout, data)
    if reason:
        return ParsedFile(file, pl.DataFrame(), _empty_quarantine(), lines.height, refused=reason)

    fields = [f for f in layout.fields if keep is None or f.name in keep]
    sub = Layout(layout.file_type, layout.version, tuple(fields))
    raws, values, field_problems = field_exprs(sub)
    n = lines.height
    ends_with_newline = data.endswith(b"\n")
    text = pl.col(LINE)
    length = text.str.len_chars()
    blank = text.is_null() | (text.str.strip_chars() == "")
    wrong_length = ~blank & (length != layout.record_length)
    structural = [
        (blank, pl.lit("blank line")),
        (
            text.str.len_bytes() != length,
            pl.lit(
                "non-ASCII or mis-encoded bytes (CCLF files are ASCII); positions cannot be trusted"
            ),
        ),
        (
            wrong_length,
            pl.when(
                (pl.col(LINE_NO) == n)
                & pl.lit(not ends_with_newline)
                & (length < layout.record_length)
            )
            .then(
                pl.format(
                    f"truncated: the last record has {{}} of {layout.record_length} characters (file cut short?)",
                    length,
                )
            )
            .otherwise(
                pl.format(
                    f"line has {{}} characters; {layout.file_type} records have {layout.record_length}",
                    length,
                )
            ),
        ),
    ]
    record = list(field_problems)
    for name in required:
        if keep is None or name in keep:
            record.append((pl.col(name).is_null(), pl.lit(f"{name} is blank")))
    if claim_types:
        allowed = ", ".join(claim_types)
        record.append(
            (
                pl.col("CLM_TYPE_CD").is_not_null()
                & ~pl.col("CLM_TYPE_CD").is_in(list(claim_types)),
                pl.format(
                    f"unknown claim type: CLM_TYPE_CD '{{}}' is not a {layout.file_type} claim type ({allowed})",
                    pl.col("CLM_TYPE_CD"),
                ),
            )
        )
    failed = pl.any_horizontal([f.fill_null(False) for f, _ in structural + record])
    parsed = lines.with_columns(raws).with_columns(values).with_columns(failed.alias("_failed"))
    bad = parsed.filter(pl.col("_failed"))
    if bad.height:
        # messages are built on failing lines only; field checks only mean something on a well-formed line
        structural_msgs = pl.concat_list(
            [pl.when(f.fill_null(False)).then(m) for f, m in structural]
        ).list.drop_nulls()
        record_msgs = pl.concat_list(
            [pl.when(f.fill_null(False)).then(m) for f, m in record]
        ).list.drop_nulls()
        reasons = (
            pl.when(structural_msgs.list.len() > 0)
            .then(structural_msgs)
            .otherwise(record_msgs)
            .list.join("; ")
        )
        quarantine = bad.select(
            pl.lit(file.name).alias("file"),
            pl.col(LINE_NO).alias("line"),
            reasons.alias("reason"),
            pl.col(LINE).str.slice(0, 600).alias("record"),
        )
    else:
        quarantine = _empty_quarantine()
    records = parsed.filter(~pl.col("_failed")).select(LINE_NO, *[f.name for f in fields])
    return ParsedFile(file, records, quarantine, n)
