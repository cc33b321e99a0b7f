"""Fuzz tests of both loaders (issue 15): random bytes, truncations, encodings and record
lengths. Whatever the input, only a ``VbcError`` escapes, and when a dataset is written every row
is accounted for: rows in = rows loaded + rows quarantined, the manifest counts what was loaded,
and every CCLF line is accounted for in its file's reconciliation.

The short form runs in the suite; the long form (``-m slow``) tries many more inputs.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modeling.dataset import Dataset
from modeling.errors import VbcError
from modeling.ingest.canonical import ingest_canonical
from modeling.ingest.cclf import ingest_cclf
from tests.modeling.ingest.cclf.builders import NEW, beneficiary, part_b, records
from tests.modeling.ingest.test_hardening import CLAIM, CLAIM_HEADER, ELIG, ELIG_HEADER

SHORT = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
LONG = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

VALID_ELIG = "\n".join([ELIG_HEADER, ELIG, ELIG.replace("P1,M1", "P2,M2")]) + "\n"
VALID_CLAIMS = (
    "\n".join([CLAIM_HEADER, *[CLAIM.format(n=i, paid=f"{10 * i}.5") for i in range(6)]]) + "\n"
)
ENCODINGS = ["utf-8", "utf-8-sig", "latin-1", "cp1252", "utf-16", "utf-16-le"]
FIELD_TEXT = st.text(
    alphabet=st.sampled_from(list("abcXYZ019 ,.\"'\n\r\t-$é€\x00\x1f")), max_size=12
)


@st.composite
def canonical_bytes(draw, valid: str) -> bytes:
    """A table file: random bytes, a truncated valid file, a valid file in another encoding,
    or valid rows with random fields spliced in."""
    kind = draw(st.sampled_from(["random", "truncated", "encoded", "spliced"]))
    if kind == "random":
        return draw(st.binary(max_size=400))
    if kind == "truncated":
        data = valid.encode()
        return data[: draw(st.integers(0, len(data)))]
    if kind == "encoded":
        text = valid.replace("white", draw(st.sampled_from(["wéite", "whïte", "w’te"])))
        return text.encode(draw(st.sampled_from(ENCODINGS)), errors="replace")
    lines = valid.splitlines()
    row = draw(st.integers(1, len(lines) - 1))
    fields = lines[row].split(",")
    at = draw(st.integers(0, len(fields) - 1))
    fields[at] = draw(FIELD_TEXT)
    lines[row] = ",".join(fields)
    return ("\n".join(lines) + "\n").encode("utf-8", errors="surrogatepass")


def _check_canonical(elig: bytes, claims: bytes, encoding: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp, "src"), Path(tmp, "out")
        src.mkdir()
        (src / "eligibility.csv").write_bytes(elig)
        (src / "medical_claim.csv").write_bytes(claims)
        try:
            report = ingest_canonical(src, out, encoding=encoding)
        except VbcError:
            assert not out.exists()  # refused: nothing half written
            return
        assert report.reconciled
        manifest = Dataset(out).manifest["tables"]
        for table, r in report.results.items():
            assert r.rows_in == r.rows_accepted + r.rows_quarantined
            assert manifest[table]["rows"] == r.rows_accepted


canonical_inputs = dict(
    elig=canonical_bytes(VALID_ELIG),
    claims=canonical_bytes(VALID_CLAIMS),
    encoding=st.sampled_from([None, None, *ENCODINGS]),
)


@SHORT
@given(**canonical_inputs)
def test_canonical_loader_fuzz(elig, claims, encoding):
    _check_canonical(elig, claims, encoding)


@pytest.mark.slow
@LONG
@given(**canonical_inputs)
def test_canonical_loader_fuzz_long(elig, claims, encoding):
    _check_canonical(elig, claims, encoding)


JAN = date(2024, 1, 31)
CCLF8 = records("CCLF8", [beneficiary(NEW)])
CCLF5 = records(
    "CCLF5", [part_b(i, NEW, 10.0 * i, "0", JAN, control=f"CTL{i:04d}") for i in range(1, 6)]
)


@st.composite
def cclf_bytes(draw, valid: str) -> bytes:
    """A CCLF file: random bytes, a truncation, lines cut or padded to other lengths, random
    characters written over a record, or CRLF line ends."""
    kind = draw(st.sampled_from(["random", "truncated", "lengths", "overwrite", "crlf"]))
    data = valid.encode()
    if kind == "random":
        return draw(st.binary(max_size=600))
    if kind == "truncated":
        return data[: draw(st.integers(0, len(data)))]
    if kind == "crlf":
        return data.replace(b"\n", b"\r\n")
    lines = data.split(b"\n")[:-1]
    i = draw(st.integers(0, len(lines) - 1))
    if kind == "lengths":
        n = draw(st.integers(0, len(lines[i]) + 20))
        lines[i] = (lines[i] + b" " * 20)[:n]
    else:
        at = draw(st.integers(0, len(lines[i]) - 1))
        patch = draw(st.binary(min_size=1, max_size=8))
        lines[i] = lines[i][:at] + patch + lines[i][at + len(patch) :]
    return b"\n".join(lines) + b"\n"


def _check_cclf(cclf8: bytes, cclf5: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp, "src"), Path(tmp, "out")
        src.mkdir()
        (src / "P.A1234.ACO.ZC8Y24.D240131.T1200000").write_bytes(cclf8)
        (src / "P.A1234.ACO.ZC5Y24.D240131.T1200000").write_bytes(cclf5)
        try:
            report = ingest_cclf(src, out)
        except VbcError:
            assert not out.exists()
            return
        finally:
            shutil.rmtree(src, ignore_errors=True)
        for f in report.files:
            assert f.lines_read == f.accounted, f
        for r in report.results.values():
            assert r.rows_in == r.rows_accepted + r.rows_quarantined
        manifest = Dataset(out).manifest["tables"]
        for table, r in report.results.items():
            assert manifest[table]["rows"] == r.rows_accepted


cclf_inputs = dict(cclf8=cclf_bytes(CCLF8), cclf5=cclf_bytes(CCLF5))


@SHORT
@given(**cclf_inputs)
def test_cclf_loader_fuzz(cclf8, cclf5):
    _check_cclf(cclf8, cclf5)


@pytest.mark.slow
@LONG
@given(**cclf_inputs)
def test_cclf_loader_fuzz_long(cclf8, cclf5):
    _check_cclf(cclf8, cclf5)
