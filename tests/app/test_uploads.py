"""Uploads and server folders (hostile probe 2026-12-01, findings 1 and 4) and CSV exports
(finding 7)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from app.export import csv_text, write_csv
from app.uploads import allowed_roots, save_uploads, server_folder
from modeling.errors import VbcError


@dataclass
class FakeUpload:
    name: str
    data: bytes = b"x"

    def getvalue(self) -> bytes:
        return self.data


@pytest.mark.parametrize(
    "sent", ["../probe/eligibility.csv", "/tmp/PWNED/eligibility.csv", "..\\..\\eligibility.csv"]
)
def test_f01_upload_names_cannot_leave_the_scratch_folder(tmp_path, sent):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    save_uploads([FakeUpload(sent)], scratch, kind="canonical")
    assert [p.name for p in scratch.iterdir()] == ["eligibility.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scratch"]


def test_f01_cclf_uploads_keep_a_safe_base_name_in_their_own_folder(tmp_path):
    save_uploads(
        [FakeUpload("../../etc/P.A1234.ACO.ZC1Y24.D240115.T1234567"), FakeUpload("/abs/x y.zip")],
        tmp_path,
        kind="cclf",
    )
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert written == ["u000/P.A1234.ACO.ZC1Y24.D240115.T1234567", "u001/x_y.zip"]


def test_f01_a_canonical_upload_must_name_a_table(tmp_path):
    with pytest.raises(VbcError, match="name it after its table"):
        save_uploads([FakeUpload("../../streamlit_app.py")], tmp_path, kind="canonical")
    with pytest.raises(VbcError, match="upload each table once"):
        save_uploads(
            [FakeUpload("a/eligibility.csv"), FakeUpload("b/eligibility.csv")],
            tmp_path,
            kind="canonical",
        )


def test_f04_server_folders_are_off_by_default():
    assert allowed_roots("") == []
    with pytest.raises(VbcError, match="off"):
        server_folder("/etc", [])


def test_f04_server_folders_stay_below_the_allowed_root(tmp_path):
    root = tmp_path / "deliveries"
    (root / "jan").mkdir(parents=True)
    (tmp_path / "other").mkdir()
    (root / "escape").symlink_to(tmp_path / "other")
    assert server_folder("jan", [root]) == (root / "jan").resolve()
    assert server_folder(str(root / "jan"), [root]) == (root / "jan").resolve()
    messages = set()
    for bad in ("/etc", "../other", "escape", "/nonexistent/secret", str(tmp_path / "other")):
        with pytest.raises(VbcError, match="not a folder below") as err:
            server_folder(bad, [root])
        messages.add(str(err.value).split("'")[2])
    assert len(messages) == 1  # the same words whether it exists or not: no oracle


def test_f07_csv_exports_neutralize_formulas(tmp_path):
    frame = pl.DataFrame(
        {
            "person_id": ["=cmd|' /C calc'!A0", "+1", "-2", "@SUM(A1)", "\tx", "ok"],
            "paid": [-5.0, 1.0, 2.0, 3.0, 4.0, 5.0],
        }
    )
    text = csv_text(frame)
    lines = text.splitlines()
    assert lines[1].startswith("'=cmd") and lines[2].startswith("'+1")
    assert lines[3].startswith("'-2") and lines[4].startswith("'@SUM")
    assert lines[6] == "ok,5.0" and lines[1].endswith(",-5.0")  # numbers stay numbers
    write_csv(frame, tmp_path / "x.csv")
    assert Path(tmp_path / "x.csv").read_text() == text
