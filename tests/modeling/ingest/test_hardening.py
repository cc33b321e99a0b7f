"""Regression tests for the hostile probe of 2026-12-01 (issue 15): one or more per finding,
named ``test_fNN_...`` after the finding's number in shared/reviews/hostile-probe-2026-12-01.md."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from modeling.dataset import MANIFEST, Dataset, DatasetWriter, dataset_lock
from modeling.errors import DatasetError, SchemaError, VbcError
from modeling.ingest.canonical import ingest_canonical, validate_dataset
from modeling.ingest.cclf.files import cclf_source
from modeling.workspace import Workspace

ELIG_HEADER = "person_id,member_id,payer,payer_type,plan,gender,race,birth_date,death_date,enrollment_start_date,enrollment_end_date,original_reason_entitlement_code,dual_status_code,medicare_status_code,data_source"
CLAIM_HEADER = "claim_id,claim_line_number,claim_type,person_id,payer,plan,claim_start_date,claim_end_date,hcpcs_code,paid_amount,diagnosis_code_1,diagnosis_code_2"
ELIG = "P1,M1,medicare,medicare,ffs,F,white,1950-03-01,,2023-01-01,2023-12-31,0,NA,10,src"
CLAIM = "C{n},1,professional,P1,medicare,ffs,2023-02-01,2023-02-01,99213,{paid},I10,"
ROOT = Path(__file__).resolve().parents[3]


def write(folder: Path, elig: list[str] | None = None, claims: list[str] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "eligibility.csv").write_text("\n".join([ELIG_HEADER, *(elig or [ELIG])]) + "\n")
    rows = claims if claims is not None else [CLAIM.format(n=1, paid="80.00")]
    (folder / "medical_claim.csv").write_text("\n".join([CLAIM_HEADER, *rows]) + "\n")
    return folder


def reasons(report, table: str = "medical_claim") -> list[str]:
    return report.quarantined(table)["_reasons"].to_list()


# 1, 4: uploads and server folders -> tests/app/test_uploads.py


def test_f05_existing_dataset_is_not_replaced_without_overwrite(tmp_path):
    out = tmp_path / "ds"
    ingest_canonical(write(tmp_path / "a"), out)
    second = write(
        tmp_path / "b", claims=[CLAIM.format(n=1, paid="1"), CLAIM.format(n=2, paid="2")]
    )
    with pytest.raises(DatasetError, match="already holds a dataset"):
        ingest_canonical(second, out)
    assert Dataset(out).manifest["tables"]["medical_claim"]["rows"] == 1
    ingest_canonical(second, out, overwrite=True)
    assert Dataset(out).manifest["tables"]["medical_claim"]["rows"] == 2


def test_f05_a_folder_that_is_not_a_dataset_is_never_replaced(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "notes.txt").write_text("mine")
    with pytest.raises(DatasetError, match="not a dataset"):
        ingest_canonical(write(tmp_path / "src"), home, overwrite=True)
    assert (home / "notes.txt").read_text() == "mine"


def test_f05_dataset_names_cannot_leave_the_workspace(tmp_path):
    ws = Workspace.at(tmp_path / "ws")
    for bad in ("../x", "/etc", "a/b", ".hidden", "", "x" * 65):
        with pytest.raises(DatasetError, match="not allowed"):
            ws.dataset_path(bad)


def test_f06_sparse_nul_csv_is_refused_after_one_block(tmp_path):
    src = write(tmp_path / "src")
    with (src / "medical_claim.csv").open("ab") as fh:
        fh.truncate(2 << 30)  # 2 GiB, sparse: NUL bytes after the rows
    started = time.monotonic()
    with pytest.raises(SchemaError, match="NUL"):
        ingest_canonical(src, tmp_path / "out")
    assert time.monotonic() - started < 20


def test_f06_sparse_cclf_file_is_refused_unread(tmp_path):
    src = tmp_path / "cclf"
    src.mkdir()
    with (src / "CCLF5.txt").open("wb") as fh:
        fh.truncate(1 << 30)
    files = cclf_source(src).files
    from modeling.ingest.cclf.files import early_refusal

    assert "NUL" in (early_refusal(files[0]) or "")


def test_f06_zip_bomb_member_is_refused_without_expanding(tmp_path):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("P.A9999.ACO.ZC5Y23.D230131.T1200001", b" " * (70 << 20))
    assert bomb.stat().st_size < 1 << 20
    (file,) = cclf_source(bomb).files
    with pytest.raises(SchemaError, match="compression bomb"):
        file.read_bytes()


def test_f06_gzip_bomb_csv_is_refused(tmp_path):
    import gzip

    src = write(tmp_path / "src")
    (src / "medical_claim.csv").unlink()
    with gzip.open(src / "medical_claim.csv.gz", "wb") as fh:
        fh.write((CLAIM_HEADER + "\n").encode())
        fh.write(b" " * (80 << 20))
    with pytest.raises(SchemaError, match="compression bomb"):
        ingest_canonical(src, tmp_path / "out")


def test_f09_symlink_out_of_the_source_is_refused_without_echo(tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("root:*:20228:0:99999:7:::\n")
    src = write(tmp_path / "src")
    (src / "eligibility.csv").unlink()
    (src / "eligibility.csv").symlink_to(secret)
    with pytest.raises(SchemaError, match="outside the source") as err:
        ingest_canonical(src, tmp_path / "out")
    assert "root:" not in str(err.value)


def test_f09_cclf_symlink_out_of_the_source_is_not_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "CCLF8.txt").write_text("x\n")
    src = tmp_path / "cclf"
    src.mkdir()
    (src / "CCLF5.txt").write_text("")
    (src / "CCLF8_2024-01.txt").symlink_to(outside / "CCLF8.txt")
    found = cclf_source(src)
    assert [f.name for f in found.files] == ["CCLF5.txt"]
    assert any("symbolic link" in u for u in found.unrecognized)


KILLED_WRITER = """
import sys, time, polars as pl
from modeling.dataset import DatasetWriter
from modeling.schema import table_schema
with DatasetWriter(sys.argv[1], {"kind": "test"}) as w:
    w.write("eligibility", pl.DataFrame(schema=table_schema("eligibility").polars_schema))
    print("ready", flush=True)
    time.sleep(60)
"""


def test_f10_f11_a_killed_write_leaves_the_previous_dataset_intact(tmp_path):
    out = tmp_path / "ds"
    ingest_canonical(write(tmp_path / "src"), out)
    before = Dataset(out).manifest
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(out)],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert Dataset(out).manifest == before  # the old dataset, manifest, report and quarantine
    assert (out / "data_quality.json").exists()
    assert [p.name for p in tmp_path.iterdir() if ".staging-" in p.name]  # left by the kill
    ingest_canonical(write(tmp_path / "src2"), out, overwrite=True)
    assert not [p.name for p in tmp_path.iterdir() if ".staging-" in p.name]  # swept


def test_f10_a_failed_write_keeps_the_previous_dataset(tmp_path):
    out = tmp_path / "ds"
    ingest_canonical(write(tmp_path / "src"), out)
    with pytest.raises(RuntimeError), DatasetWriter(out, {"kind": "test"}) as w:
        w.write("eligibility", Dataset(out).read("eligibility"))
        raise RuntimeError("killed")
    assert Dataset(out).manifest["source"]["kind"] == "canonical"


def test_f10_a_swap_cut_between_its_renames_is_put_back(tmp_path):
    out = tmp_path / "ds"
    ingest_canonical(write(tmp_path / "src"), out)
    os.rename(out, tmp_path / ".ds.replaced-abc")  # the state after the first rename
    with DatasetWriter(tmp_path / "other", {"kind": "x"}):
        pass
    with pytest.raises(DatasetError, match="already holds"):
        ingest_canonical(write(tmp_path / "src2"), out)  # recovered first, then refused
    assert Dataset(out).manifest["source"]["kind"] == "canonical"


@pytest.mark.parametrize("content", ["", "{", "[]", '{"tables": {"eligibility": 1}}'])
def test_f12_an_empty_or_damaged_manifest_is_a_clear_error(tmp_path, content):
    out = tmp_path / "ds"
    ingest_canonical(write(tmp_path / "src"), out)
    (out / MANIFEST).write_text(content)
    with pytest.raises(DatasetError, match="manifest|damaged"):
        Dataset(out)


def test_f12_staging_folders_are_never_listed_as_datasets(tmp_path):
    ws = Workspace.at(tmp_path)
    ingest_canonical(write(tmp_path / "src"), ws.dataset_path("good"))
    half = ws.datasets_dir / ".good.staging-123"
    half.mkdir()
    (half / MANIFEST).write_text("")
    assert ws.dataset_names() == ["good"]


def test_f13_a_second_writer_of_the_same_target_is_refused(tmp_path):
    out = tmp_path / "ds"
    with dataset_lock(out), pytest.raises(DatasetError, match="another ingest"):
        ingest_canonical(write(tmp_path / "src"), out)
    assert not out.exists()


def test_f16_glob_characters_in_paths_are_literal(tmp_path):
    own = write(tmp_path / "claims[1]")
    write(
        tmp_path / "claims1",
        claims=[CLAIM.format(n=i, paid="5") for i in range(7)],
    )
    report = ingest_canonical(own, tmp_path / "out[1]")
    assert report.results["medical_claim"].rows_in == 1
    ingest_canonical(tmp_path / "claims1", tmp_path / "out1")
    assert Dataset(tmp_path / "out[1]").read("medical_claim").height == 1


def test_f17_latin1_text_is_refused_unless_its_encoding_is_declared(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    rows = [
        ELIG_HEADER,
        "JOSÉ01,M1,medicare,medicare,ffs,male,white,1950-01-01,,2023-01-01,2023-12-31,0,NA,10,src",
        "JOSÈ01,M2,medicare,medicare,ffs,female,white,1940-01-01,,2023-01-01,2023-12-31,0,NA,10,src",
    ]
    (src / "eligibility.csv").write_bytes(("\n".join(rows) + "\n").encode("latin-1"))
    (src / "medical_claim.csv").write_bytes(
        (
            CLAIM_HEADER
            + "\nC1,1,professional,JOSÉ01,medicare,ffs,2023-02-01,2023-02-01,99213,5,I10,\n"
        ).encode("latin-1")
    )
    with pytest.raises(SchemaError, match="not valid utf-8.*line 2.*--encoding"):
        ingest_canonical(src, tmp_path / "out")
    ingest_canonical(src, tmp_path / "out", encoding="latin-1")
    ids = sorted(Dataset(tmp_path / "out").read("eligibility")["person_id"])
    assert ids == ["JOSÈ01", "JOSÉ01"]


def test_f17_utf16_with_a_bom_is_decoded(tmp_path):
    src = write(tmp_path / "src")
    text = (src / "eligibility.csv").read_text()
    (src / "eligibility.csv").write_bytes(text.encode("utf-16"))
    report = ingest_canonical(src, tmp_path / "out")
    assert report.results["eligibility"].rows_accepted == 1


def test_f18_claims_outside_enrollment_are_quarantined_and_pmpm_holds(tmp_path):
    from modeling.core.member_months import member_months
    from modeling.core.spend import money_sum

    elig = ["P1,M1,medicare,medicare,ffs,F,white,1950-03-01,,2023-01-01,2023-03-31,0,NA,10,src"]
    claims = [
        "C1,1,professional,P1,medicare,ffs,2023-02-10,2023-02-10,99213,300,I10,",
        "C2,1,professional,P1,medicare,ffs,2023-11-10,2023-11-10,99213,30000,I10,",
    ]
    report = ingest_canonical(write(tmp_path / "src", elig, claims), tmp_path / "out")
    assert reasons(report) == [
        "outside_enrollment: claim_start_date 2023-11-10 is in a month person_id 'P1' is not enrolled"
    ]
    ds = Dataset(tmp_path / "out")
    months = member_months(ds.scan("eligibility")).collect().height
    paid = ds.read("medical_claim").select(money_sum("paid_amount")).item()
    assert (months, paid / months) == (3, pytest.approx(100.0))


def test_f18_overlapping_spans_cover_their_union():
    from modeling.ingest.validate import enrollment_months

    spans = pl.DataFrame(
        {
            "person_id": ["A", "A", "A"],
            "enrollment_start_date": [date(2023, 1, 5), date(2023, 2, 1), date(2023, 9, 1)],
            "enrollment_end_date": [date(2023, 6, 30), date(2023, 3, 1), date(2023, 9, 30)],
        }
    )
    months = enrollment_months(spans)
    assert months.select(pl.col("__from").dt.month(), pl.col("__to").dt.month()).rows() == [
        (1, 6),
        (9, 9),
    ]


def test_f18_death_before_enrollment_or_birth_is_quarantined(tmp_path):
    elig = [
        "P1,M1,medicare,medicare,ffs,F,white,1950-03-01,2020-06-01,2023-01-01,2023-03-31,0,NA,10,src",
        "P2,M2,medicare,medicare,ffs,F,white,1950-03-01,1940-06-01,1930-01-01,2023-03-31,0,NA,10,src",
        "P3,M3,medicare,medicare,ffs,F,white,1950-03-01,2023-02-01,2023-01-01,2023-03-31,0,NA,10,src",
    ]
    claims = ["C1,1,professional,P3,medicare,ffs,2023-01-10,2023-01-10,99213,5,I10,"]
    report = ingest_canonical(write(tmp_path / "src", elig, claims), tmp_path / "out")
    bad = report.quarantined("eligibility")
    assert sorted(bad["person_id"]) == ["P1", "P2"]
    assert all("death_out_of_order" in r for r in bad["_reasons"])


@pytest.mark.parametrize("amount", ["1e17", "9.3e16", "1e308", "-2e8"])
def test_f19_implausible_amounts_are_quarantined_before_any_sum(tmp_path, amount):
    from modeling.core.spend import money_sum

    claims = [CLAIM.format(n=1, paid="10"), CLAIM.format(n=2, paid=amount)]
    report = ingest_canonical(write(tmp_path / "src", claims=claims), tmp_path / "out")
    assert reasons(report)[0].startswith("implausible_amount: paid_amount")
    paid = Dataset(tmp_path / "out").read("medical_claim").select(money_sum("paid_amount"))
    assert paid.item() == 10.0  # the exact integer-cent sum that overflowed before


def test_f20_a_header_only_table_is_refused(tmp_path):
    with pytest.raises(SchemaError, match="no data rows"):
        ingest_canonical(write(tmp_path / "src", claims=[]), tmp_path / "out")


def _parquet_claims(tmp_path: Path, **columns) -> Path:
    src = write(tmp_path / "src")
    (src / "medical_claim.csv").unlink()
    base = {
        "claim_id": ["C1", "C2"],
        "claim_line_number": [1, 2],
        "claim_type": ["professional"] * 2,
        "person_id": ["P1", "P1"],
        "payer": ["medicare"] * 2,
        "plan": ["ffs"] * 2,
        "claim_start_date": ["2023-02-01"] * 2,
        "claim_end_date": ["2023-02-01"] * 2,
        "paid_amount": [1.0, 2.0],
    }
    pl.DataFrame({**base, **columns}).write_parquet(src / "medical_claim.parquet")
    return src


def test_f21_fractional_parquet_line_numbers_are_quarantined(tmp_path):
    src = _parquet_claims(tmp_path, claim_line_number=[1.5, 2.0])
    report = ingest_canonical(src, tmp_path / "out")
    assert reasons(report) == [
        "unparseable_number: claim_line_number '1.5' is not a valid whole number"
    ]


@pytest.mark.parametrize("ids", [[0, 1], [0.0, 1.0]])
def test_f21_numeric_parquet_ids_are_refused(tmp_path, ids):
    src = _parquet_claims(tmp_path, claim_id=ids)
    with pytest.raises(SchemaError, match="leading zeros"):
        ingest_canonical(src, tmp_path / "out")


def test_f34_a_huge_line_number_names_its_value(tmp_path):
    src = _parquet_claims(tmp_path, claim_line_number=[4_294_967_297, 1])
    report = ingest_canonical(src, tmp_path / "out")
    assert reasons(report) == [
        "unparseable_number: claim_line_number '4294967297' is not a valid whole number"
    ]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1,234.50", 1234.5),
        ("$1,234", 1234.0),
        ("-12.5", -12.5),
        ("1.234,56", None),
        ("12,5", None),
    ],
)
def test_f22_decimal_commas_are_refused_not_misread(tmp_path, text, value):
    claims = [CLAIM.format(n=0, paid="1"), CLAIM.format(n=1, paid=f'"{text}"')]
    report = ingest_canonical(write(tmp_path / "src", claims=claims), tmp_path / "out")
    accepted = report.accepted("medical_claim")["paid_amount"].to_list()
    if value is None:
        assert accepted == [1.0] and reasons(report)[0].startswith("unparseable_number")
    else:
        assert accepted == [1.0, value]


def _zip_with(path: Path, name: str, data: bytes, **patch) -> Path:
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(info, data)
    raw = bytearray(path.read_bytes())
    if patch.get("encrypted"):
        for sig in (b"PK\x03\x04", b"PK\x01\x02"):
            at = raw.find(sig)
            flag = at + (6 if sig == b"PK\x03\x04" else 8)
            raw[flag] |= 1
    if patch.get("method"):
        for sig, off in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
            at = raw.find(sig)
            raw[at + off : at + off + 2] = patch["method"].to_bytes(2, "little")
    if patch.get("corrupt"):
        at = raw.find(b"PK\x03\x04") + 30 + len(name) + 2
        raw[at : at + 8] = b"\xff" * 8
    path.write_bytes(bytes(raw))
    return path


@pytest.mark.parametrize("patch", [{"encrypted": True}, {"method": 99}, {"corrupt": True}])
def test_f25_unreadable_zip_members_refuse_the_file_not_the_run(tmp_path, patch):
    data = ("X" * 177 + "\n").encode() * 50
    z = _zip_with(tmp_path / "d.zip", "P.A9999.ACO.ZC5Y23.D230131.T1200001", data, **patch)
    (file,) = cclf_source(z).files
    with pytest.raises(SchemaError, match="zip"):
        file.read_bytes()


def test_f29_manifest_must_list_its_required_tables(tmp_path):
    out = tmp_path / "ds"
    ingest_canonical(write(tmp_path / "src"), out)
    m = json.loads((out / MANIFEST).read_text())
    del m["tables"]["eligibility"]
    (out / MANIFEST).write_text(json.dumps(m))
    with pytest.raises(DatasetError, match="eligibility"):
        Dataset(out)
    m["tables"]["eligibility"] = {"file": "/etc/passwd", "rows": 1, "sha256": "x"}
    (out / MANIFEST).write_text(json.dumps(m))
    with pytest.raises(DatasetError, match="not a valid manifest"):
        Dataset(out)


def test_f30_dangling_symlink_in_a_source_is_a_clear_error(tmp_path):
    src = write(tmp_path / "src")
    (src / "medical_claim.csv").unlink()
    (src / "medical_claim.csv").symlink_to(tmp_path / "gone.csv")
    with pytest.raises(SchemaError, match="does not exist"):
        ingest_canonical(src, tmp_path / "out")


def test_f30_source_inside_the_target_is_refused(tmp_path):
    out = tmp_path / "ds"
    ingest_canonical(write(tmp_path / "src"), out)
    write(out)
    with pytest.raises(DatasetError, match="inside the dataset folder"):
        ingest_canonical(out, out, overwrite=True)


def test_f32_utf16_without_bom_is_named(tmp_path):
    src = write(tmp_path / "src")
    text = (src / "eligibility.csv").read_text()
    (src / "eligibility.csv").write_bytes(text.encode("utf-16-le"))
    with pytest.raises(SchemaError, match="UTF-16"):
        ingest_canonical(src, tmp_path / "out")


def test_f32_folder_named_like_a_table_file(tmp_path):
    src = write(tmp_path / "src")
    (src / "medical_claim.csv").unlink()
    (src / "medical_claim.csv").mkdir()
    with pytest.raises(SchemaError, match="is a folder"):
        ingest_canonical(src, tmp_path / "out")


def test_f32_ragged_and_unquoted_rows_name_the_line_without_echoing_rows(tmp_path):
    src = write(tmp_path / "src", claims=[CLAIM.format(n=1, paid="5") + ",extra,SECRETROW"])
    with pytest.raises(SchemaError, match="line 2") as err:
        ingest_canonical(src, tmp_path / "out")
    assert "SECRETROW" not in str(err.value)
    src2 = write(
        tmp_path / "src2", claims=['C1,1,"professional,P1', CLAIM.format(n=2, paid="SECRET")]
    )
    with pytest.raises(SchemaError, match="quote|line") as err2:
        ingest_canonical(src2, tmp_path / "out2")
    assert "SECRET" not in str(err2.value)


def test_f32_list_columns_are_refused_clearly(tmp_path):
    src = _parquet_claims(tmp_path, hcpcs_code=[["99213"], ["99214"]])
    with pytest.raises(SchemaError, match="holds List"):
        ingest_canonical(src, tmp_path / "out")


def test_f34_near_miss_names_and_duplicate_columns(tmp_path):
    src = write(tmp_path / "src")
    (src / "medical_claim.csv").rename(src / "Medical_Claim.CSV")
    with pytest.raises(SchemaError, match="nearly match: Medical_Claim.CSV"):
        ingest_canonical(src, tmp_path / "out")
    src2 = write(tmp_path / "src2")
    text = (src2 / "medical_claim.csv").read_text().splitlines()
    (src2 / "medical_claim.csv").write_text(
        "\n".join([text[0] + ",paid_amount", text[1] + ",9"]) + "\n"
    )
    with pytest.raises(SchemaError, match="paid_amount appear more than once"):
        ingest_canonical(src2, tmp_path / "out2")


def test_f35_unit_separator_in_a_record_keeps_the_line_whole():
    from modeling.ingest.cclf.files import _lines

    lines = _lines(b"A" * 10 + b"\x1f" + b"B" * 10 + b"\nCCC\n")
    assert lines["line"].str.len_chars().to_list() == [21, 3]


def test_f35_gzip_named_as_cclf_counts_raw_lines(tmp_path):
    import gzip

    src = tmp_path / "cclf"
    src.mkdir()
    (src / "CCLF5.txt").write_bytes(gzip.compress(("X" * 177 + "\n").encode() * 200))
    (file,) = cclf_source(src).files
    from modeling.ingest.cclf.files import early_refusal

    assert "compressed" in (early_refusal(file) or "")
    assert file.count_lines() == (src / "CCLF5.txt").read_bytes().count(b"\n") + 1


def test_validate_dataset_rechecks_enrollment(tmp_path):
    out = tmp_path / "ds"
    ingest_canonical(write(tmp_path / "src"), out)
    results = validate_dataset(Dataset(out))
    assert results["medical_claim"].rows_quarantined == 0
    assert results["medical_claim"].check_counts["outside_enrollment"] == 0


def test_synthetic_panel_has_no_claims_outside_enrollment(small_dataset):
    """The generator's claims all fall in member months (else the rule would quarantine them)."""
    results = validate_dataset(small_dataset)
    for table in ("medical_claim", "pharmacy_claim"):
        assert results[table].check_counts["outside_enrollment"] == 0, table


def test_errors_are_vbc_errors():
    assert issubclass(SchemaError, VbcError) and issubclass(DatasetError, VbcError)


def test_f04_a_huge_folder_is_refused_not_walked(tmp_path, monkeypatch):
    import modeling.ingest.cclf.files as files

    monkeypatch.setattr(files, "MAX_WALK", 5)
    for i in range(10):
        (tmp_path / f"f{i}.txt").write_text("")
    with pytest.raises(SchemaError, match="not a CCLF delivery folder"):
        cclf_source(tmp_path)
