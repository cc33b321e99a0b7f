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
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from modeling.errors import SchemaError
from modeling.ingest.cclf.layouts import Layout, field_exprs, layout_for_length

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
        if self.zip_path is not None:
            try:
                with zipfile.ZipFile(self.zip_path) as zf:
                    return zf.read(self.name.split("!", 1)[1])
            except (zipfile.BadZipFile, OSError, KeyError, EOFError, zipfile.LargeZipFile) as exc:
                raise SchemaError(
                    f"{self.name}: cannot be read from the zip ({exc}); the archive may be truncated."
                ) from exc
        assert self.path is not None
        return self.path.read_bytes()


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


def _zip_members(zpath: Path, label: str) -> Iterator[CclfFile]:
    try:
        with zipfile.ZipFile(zpath) as zf:
            names = [i.filename for i in zf.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise SchemaError(
            f"{label}: is not a readable zip archive ({exc}). Re-download the delivery or unzip it and give the folder."
        ) from exc
    for member in names:
        info = recognize(member)
        if info:
            yield _make(f"{label}!{member}", info, zip_path=zpath)


def find_cclf_files(src: str | Path) -> list[CclfFile]:
    """Every CCLF file in a folder (recursively, including inside zips) or a zip, in delivery order."""
    src = Path(src)
    if not src.exists():
        raise SchemaError(
            f"{src} does not exist. Give a folder of CCLF files or a CMS delivery zip."
        )
    found: list[CclfFile] = []
    if src.is_file():
        if src.suffix.lower() == ".zip" or zipfile.is_zipfile(src):
            found += _zip_members(src, src.name)
        else:
            info = recognize(src.name)
            if info is None:
                raise SchemaError(
                    f"{src.name}: not a CCLF file name (expected e.g. P.A1234.ACO.ZC1Y24.D240115.T1234567 or CCLF1.txt)."
                )
            found.append(_make(src.name, info, path=src))
    else:
        for f in sorted(p for p in src.rglob("*") if p.is_file()):
            rel = str(f.relative_to(src))
            if f.suffix.lower() == ".zip":
                found += _zip_members(f, rel)
                continue
            info = recognize(f.name)
            if info:
                found.append(_make(rel, info, path=f))
    if not found:
        raise SchemaError(
            f"{src}: no CCLF files found. Expected CMS names (P.A1234.ACO.ZC1Y24.D240115.T1234567) "
            "or names containing CCLF1 ... CCLF9, in a folder or a zip."
        )
    return sorted(found, key=lambda f: f.order_key)


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
    frame = pl.read_csv(
        io.BytesIO(data),
        has_header=False,
        new_columns=[LINE],
        separator="\x1f",
        quote_char=None,
        encoding="utf8-lossy",
        schema={LINE: pl.String},
        empty_string_is_null=False,
        truncate_ragged_lines=True,
    )
    return frame.with_row_index(LINE_NO, offset=1).with_columns(pl.col(LINE_NO).cast(pl.Int64))


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
    data = file.read_bytes()
    lines = _lines(data)
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
