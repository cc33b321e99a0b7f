"""Batched canonical ingest (issue 15, finding 36): the same rows accepted, the same rows
quarantined with the same reasons and counts as validating the whole table at once, whatever
the batch size and the number of key buckets; and a dataset without a loadable required table
is never written."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modeling.dataset import Dataset
from modeling.errors import DatasetError, ParameterError, SchemaError
from modeling.ingest.batches import duplicate_rows, validate_in_batches
from modeling.ingest.canonical import coerce, ingest_canonical, read_source
from modeling.ingest.validate import RAW_PREFIX, REASONS, ROW, enrollment_months, validate
from modeling.schema import TABLES
from tests.modeling.ingest.test_hardening import CLAIM_HEADER, ELIG_HEADER, write

PEOPLE = ["P1", "P2", "P3"]  # P3 has no eligibility
ELIG_ROWS = [
    "P1,M1,medicare,medicare,ffs,F,white,1950-03-01,,2023-01-01,2023-06-30,0,NA,10,src",
    "P2,M2,medicare,medicare,ffs,M,black,1948-07-01,,2023-03-01,2023-12-31,0,02,10,src",
    "P2,M2,medicare,medicare,ffs,M,black,1948-07-01,,2023-03-01,2023-12-31,0,02,10,src",  # dup
    "P1,M1,medicare,medicare,ffs,F,white,1950-02-30,,2023-08-01,2023-09-30,0,NA,10,src",  # bad
]
claim_rows = st.lists(
    st.tuples(
        st.sampled_from(["C1", "C2", "C3", "C4", ""]),  # few ids: duplicate keys are common
        st.sampled_from(["1", "2", "1.5", "x"]),
        st.sampled_from(PEOPLE),
        st.sampled_from(["2023-02-01", "2023-07-15", "2023-10-03", "2023-13-01", ""]),
        st.sampled_from(["80.00", "$1,234.50", "1.234,56", "nan", "2e8", "-5"]),
        st.sampled_from(["I10", "E11.9", "11E.9", ""]),
    ),
    min_size=1,
    max_size=40,
)


def _claims_csv(rows) -> list[str]:
    return [
        f'{c},{n},professional,{p},medicare,ffs,{d},{d},99213,"{paid}",{dx},'
        for c, n, p, d, paid, dx in rows
    ]


def _whole(folder: Path, table: str, eligible=None, months=None):
    """The table validated at once (``validate``, the unbatched rule), and whether more than half
    of some parsed column's values do not parse (the file is then refused)."""
    path = folder / f"{table}.csv"
    frame = coerce(read_source(path, scratch=folder / "_s"), TABLES[table], path).collect()
    mistyped = any(
        frame.filter(pl.col(raw).is_not_null() & pl.col(raw[len(RAW_PREFIX) :]).is_null()).height
        > 0.5 * frame.get_column(raw).is_not_null().sum()
        for raw in frame.columns
        if raw.startswith(RAW_PREFIX) and frame.get_column(raw).is_not_null().any()
    )
    return validate(frame, TABLES[table], eligible_ids=eligible, enrollment=months), mistyped


def _batched(folder: Path, table: str, tmp: Path, batch_rows: int, buckets: int, **kw):
    path = folder / f"{table}.csv"
    coerced = coerce(read_source(path, scratch=folder / "_s"), TABLES[table], path)
    accepted: list[pl.DataFrame] = []
    quarantine = tmp / f"q-{table}.parquet"
    quarantine.unlink(missing_ok=True)
    streamed = validate_in_batches(
        coerced,
        TABLES[table],
        path=path,
        source="",
        scratch=tmp / "keys",
        accept=accepted.append,
        quarantine=quarantine,
        batch_rows=batch_rows,
        buckets=buckets,
        **kw,
    )
    q = pl.read_parquet(quarantine) if quarantine.exists() else None
    return streamed, pl.concat(accepted), q


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=claim_rows, batch_rows=st.integers(1, 9), buckets=st.integers(1, 4))
def test_f36_batches_give_the_rows_reasons_and_counts_of_the_whole_table(
    tmp_path_factory, rows, batch_rows, buckets
):
    tmp = tmp_path_factory.mktemp("b")
    src = write(tmp / "src", ELIG_ROWS, _claims_csv(rows))
    elig_whole, _ = _whole(src, "eligibility")
    elig, elig_accepted, elig_q = _batched(src, "eligibility", tmp, batch_rows, buckets)
    assert elig_accepted.equals(elig_whole.accepted)
    assert elig.result.check_counts == elig_whole.check_counts
    eligible = elig_whole.accepted.get_column("person_id").unique()
    months = enrollment_months(elig_whole.accepted)
    assert enrollment_months(elig.enrolled).equals(months)

    whole, mistyped = _whole(src, "medical_claim", eligible, months)
    try:
        streamed, accepted, quarantined = _batched(
            src, "medical_claim", tmp, batch_rows, buckets, eligible_ids=eligible, enrollment=months
        )
    except SchemaError as exc:
        assert mistyped and "values are not; first offending rows" in str(exc)
        return
    assert not mistyped
    result = streamed.result
    assert result.rows_in == whole.rows_in == len(rows)
    assert result.rows_in == result.rows_accepted + result.rows_quarantined
    assert result.check_counts == whole.check_counts
    assert accepted.equals(whole.accepted)
    if whole.rows_quarantined:
        assert quarantined is not None
        assert quarantined.select(ROW, REASONS).equals(whole.quarantined.select(ROW, REASONS))
        assert quarantined.drop(ROW, REASONS).equals(whole.quarantined.drop(ROW, REASONS))
    else:
        assert quarantined is None


@given(
    keys=st.lists(st.sampled_from(["a", "b", "c", None]), min_size=0, max_size=60),
    batch_rows=st.integers(1, 10),
    buckets=st.integers(1, 5),
)
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_f36_duplicate_rows_match_is_first_distinct(tmp_path_factory, keys, batch_rows, buckets):
    frame = pl.DataFrame(
        {"k": keys, "n": [len(k or "") for k in keys]}, schema={"k": pl.String, "n": pl.Int32}
    )
    frame = frame.with_row_index(ROW, offset=1)
    expected = frame.filter(~pl.struct("k", "n").is_first_distinct()).get_column(ROW)
    rows, found = duplicate_rows(
        frame.lazy(),
        ("k", "n"),
        tmp_path_factory.mktemp("d"),
        buckets=buckets,
        batch_rows=batch_rows,
    )
    assert rows == len(keys)
    assert found.to_list() == expected.sort().to_list()


def test_f36_batch_size_does_not_change_the_dataset(tmp_path):
    rows = [
        ("C1", "1", "P1", "2023-02-01", "80.00", "I10"),
        ("C1", "1", "P1", "2023-02-01", "80.00", "I10"),
        ("C2", "1", "P2", "2023-07-15", "2e8", "E11.9"),
        ("C3", "1", "P3", "2023-10-03", "5", "I10"),
        ("C4", "1", "P1", "2023-10-03", "5", "I10"),
        ("C5", "1", "P2", "2023-10-03", "12.5", "I10"),
    ]
    src = write(tmp_path / "src", ELIG_ROWS, _claims_csv(rows))
    one = ingest_canonical(src, tmp_path / "one", batch_rows=1)
    many = ingest_canonical(src, tmp_path / "many")
    assert one.to_dict() == {**many.to_dict()}
    for table in ("eligibility", "medical_claim"):
        assert one.accepted(table).equals(many.accepted(table))
        assert one.quarantined(table).equals(many.quarantined(table))
    # C1 and C5 stand; C1's repeat, C2 (2e8), C3 (P3 not enrolled) and C4 (P1 not enrolled in
    # October: their second span has a bad birth date) are quarantined
    assert Dataset(tmp_path / "one").manifest["tables"]["medical_claim"]["rows"] == 2
    assert one.accepted("medical_claim").get_column("claim_id").to_list() == ["C1", "C5"]


def test_f36_bad_batch_size_is_a_parameter_error(tmp_path):
    with pytest.raises(ParameterError, match="batch_rows = 0"):
        ingest_canonical(write(tmp_path / "src"), tmp_path / "out", batch_rows=0)


def test_all_eligibility_quarantined_is_refused_and_the_previous_dataset_stays(tmp_path):
    out = tmp_path / "out"
    ingest_canonical(write(tmp_path / "good"), out)
    before = Dataset(out).manifest["content_hash"]
    bad = [
        ELIG_ROWS[0].replace(",F,", ",Q,"),  # invalid_value
        ELIG_ROWS[1].replace(",,2023-03-01", ",1940-01-01,2023-03-01"),  # death before birth
        ELIG_ROWS[1].replace(",,2023-03-01", ",1940-01-01,2023-03-01"),  # and a duplicate
        ELIG_ROWS[3],  # unparseable birth date
    ]
    with pytest.raises(DatasetError) as exc:
        ingest_canonical(write(tmp_path / "bad", bad), out, overwrite=True)
    message = str(exc.value)
    assert "none of the 4 rows of table 'eligibility' passed the checks" in message
    assert "Top reasons: death_out_of_order (2 rows): a death date before birth" in message
    assert "previous one at the target is kept" in message
    assert Dataset(out).manifest["content_hash"] == before
    assert not [p for p in tmp_path.iterdir() if ".staging-" in p.name]


def test_all_claims_quarantined_is_refused_with_the_top_reasons(tmp_path):
    claims = [
        f"C{i},1,professional,P9,medicare,ffs,2023-02-01,2023-02-01,99213,5,I10," for i in range(3)
    ]
    with pytest.raises(DatasetError, match=r"'medical_claim'.*no_eligibility \(3 rows\)"):
        ingest_canonical(write(tmp_path / "src", claims=claims), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_header_only_eligibility_is_still_a_schema_error(tmp_path):
    src = write(tmp_path / "src")
    (src / "eligibility.csv").write_text(ELIG_HEADER + "\n")
    with pytest.raises(Exception, match="has no data rows"):
        ingest_canonical(src, tmp_path / "out")


assert CLAIM_HEADER.startswith("claim_id")
