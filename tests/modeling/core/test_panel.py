"""The core: each table derived once per dataset, materialized beside it, equal to deriving it
directly, and read through person ranges for big panels."""

from __future__ import annotations

import datetime as dt
import shutil

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from modeling.core.conditions import (
    person_diagnoses,
    person_diagnoses_of,
    person_diagnosis_rows,
    risk_adjustment_diagnoses,
    risk_adjustment_diagnoses_of,
)
from modeling.core.encounters import ed_visits, inpatient_stays, long_term_institutional
from modeling.core.member_months import member_months
from modeling.core.panel import (
    BY_YEAR,
    CODE_COLUMNS,
    CORE_TABLES,
    CORE_VERSION,
    MATERIALIZED,
    Panel,
)
from modeling.core.service_categories import with_service_category
from modeling.core.spend import medical_spend, pharmacy_use
from modeling.dataset import Dataset
from modeling.errors import ParameterError


@pytest.fixture
def fresh(tmp_path, small_dataset):
    """A private copy of the small dataset, without any core derived yet."""
    target = tmp_path / "ds"
    shutil.copytree(small_dataset.path, target, ignore=shutil.ignore_patterns("core"))
    return Dataset(target)


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(frame.columns)


def test_core_tables_equal_deriving_them_directly(small_dataset):
    panel = Panel(small_dataset)
    claims = small_dataset.scan("medical_claim")
    assert_frame_equal(
        panel.read("member_months"), member_months(small_dataset.scan("eligibility")).collect()
    )
    assert_frame_equal(
        panel.read("claim_lines"), with_service_category(claims).drop(CODE_COLUMNS).collect()
    )
    stays = inpatient_stays(claims).collect()
    assert_frame_equal(
        _sorted(panel.read("inpatient_stays").drop("claim_ids")), _sorted(stays.drop("claim_ids"))
    )
    assert_frame_equal(_sorted(panel.read("ed_visits")), _sorted(ed_visits(claims).collect()))
    assert_frame_equal(
        _sorted(panel.read("long_term_institutional")),
        _sorted(long_term_institutional(claims).collect()),
    )
    assert_frame_equal(
        _sorted(panel.read("medical_spend")), _sorted(medical_spend(claims).collect())
    )
    assert_frame_equal(
        _sorted(panel.read("pharmacy_use")),
        _sorted(pharmacy_use(small_dataset.scan("pharmacy_claim")).collect()),
    )
    # the view filtered while it is read: the same lines as categorizing everything first
    year = (pl.col("claim_start_date").dt.year() == 2024) & (
        pl.col("claim_type") == "institutional"
    )
    assert_frame_equal(
        panel.scan("claim_lines").filter(year).collect(),
        with_service_category(claims).drop(CODE_COLUMNS).filter(year).collect(),
    )


def test_person_diagnoses_are_the_conditions_per_person_and_year(small_dataset):
    """``person_diagnoses`` is built from the claims directly (scoring then never needs the
    line-level table), and equals ``conditions`` grouped by person, year and code."""
    panel = Panel(small_dataset)
    from_conditions = person_diagnosis_rows(panel.scan("conditions")).collect()
    assert from_conditions.height > 0
    assert_frame_equal(_sorted(panel.read("person_diagnoses")), _sorted(from_conditions))


@pytest.mark.parametrize("year", [2023, 2024])
def test_the_core_diagnoses_are_those_of_the_claims_rule(small_dataset, year):
    panel = Panel(small_dataset)
    claims = small_dataset.scan("medical_claim")
    direct = risk_adjustment_diagnoses(claims, year).collect()
    from_core = risk_adjustment_diagnoses_of(panel.scan("person_diagnoses"), year).collect()
    assert direct.height > 1000
    assert_frame_equal(
        _sorted(from_core), _sorted(direct.select("person_id", "diagnosis_code").unique())
    )
    of_year = claims.filter(pl.col("claim_start_date").dt.year() == year).collect()
    assert_frame_equal(
        _sorted(person_diagnoses_of(panel.scan("person_diagnoses"), year).collect()),
        _sorted(person_diagnoses(of_year, year)),
    )
    # the long table keeps every claim: its flagged claims are those of the claims rule
    flagged = (
        panel.scan("conditions")
        .filter((pl.col("year") == year) & pl.col("risk_adjustment"))
        .select("person_id", "claim_id", "diagnosis_code")
        .unique()
        .collect()
    )
    assert_frame_equal(_sorted(flagged), _sorted(direct))


def test_each_table_is_derived_once_and_read_by_later_panels(fresh):
    said: list[str] = []
    first = Panel(fresh, progress=said.append)
    first.materialize()
    years = first.claim_years()
    by_year = BY_YEAR
    assert len(years) >= 2
    assert len(said) == len(MATERIALIZED) - len(by_year) + len(by_year) * len(years)
    folder = fresh.path / "core" / f"v{CORE_VERSION}-{fresh.manifest['content_hash'][:16]}"
    files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*.parquet"))
    expected = [f"{t}.parquet" for t in MATERIALIZED if t not in by_year]
    expected += [f"{t}/{y}.parquet" for t in by_year for y in years]
    assert files == sorted(expected)
    assert "claim_lines" in CORE_TABLES and "claim_lines" not in MATERIALIZED  # a view
    again: list[str] = []
    second = Panel(fresh, progress=again.append)
    assert second.read("member_months").height == first.read("member_months").height
    second.materialize()
    assert again == []


def test_a_reader_of_one_year_derives_that_year_only(fresh):
    said: list[str] = []
    panel = Panel(fresh, progress=said.append)
    first, *others = panel.claim_years()
    one = panel.read("person_diagnoses", years=[first])
    assert one.height > 0 and one["year"].unique().to_list() == [first]
    assert said == [f"deriving person diagnoses of {first} (once for this dataset)"]
    everything = Panel(fresh).read("person_diagnoses")
    assert sorted(everything["year"].unique().to_list()) == [first, *others]
    assert_frame_equal(_sorted(everything.filter(pl.col("year") == first)), _sorted(one))
    assert panel.read("person_diagnoses", years=[]).columns == one.columns


def test_a_core_of_another_version_or_content_is_removed(fresh):
    stale = fresh.path / "core" / "v0-0123456789abcdef"
    stale.mkdir(parents=True)
    (stale / "member_months.parquet").write_bytes(b"old")
    Panel(fresh).read("member_months")
    assert not stale.exists()
    assert fresh.verify() == []  # the core beside the dataset does not disturb its manifest


def test_a_dataset_that_cannot_be_written_keeps_its_core_in_memory(fresh, monkeypatch):
    from pathlib import Path

    def refuse(self, *args, **kwargs):
        raise PermissionError(f"read-only: {self}")

    monkeypatch.setattr(Path, "mkdir", refuse)
    panel = Panel(fresh)
    expected = member_months(fresh.scan("eligibility")).collect()
    assert_frame_equal(panel.read("member_months"), expected)
    assert not (fresh.path / "core").exists()


def test_a_person_range_sees_only_its_people(small_dataset):
    panel = Panel(small_dataset)
    ids = sorted(panel.read("member_months")["person_id"].unique().to_list())
    first, last = ids[10], ids[40]
    view = panel.for_people(first, last)
    for table in ("member_months", "claim_lines", "conditions", "eligibility", "medical_claim"):
        seen = view.read(table)
        whole = panel.read(table).filter(
            pl.col("person_id").is_between(pl.lit(first), pl.lit(last))
        )
        assert seen.height == whole.height > 0
        assert ((seen["person_id"] >= first) & (seen["person_id"] <= last)).all()


def test_deriving_in_slices_of_people_gives_the_same_tables(fresh, small_dataset, monkeypatch):
    import modeling.core.panel as core

    monkeypatch.setattr(core, "SLICE_LINES", 5_000)
    sliced = Panel(fresh)
    assert len(sliced._slices()) > 10
    whole = Panel(small_dataset)
    for table in CORE_TABLES:
        assert_frame_equal(_sorted(sliced.read(table)), _sorted(whole.read(table)))


@settings(max_examples=300, deadline=None)
@given(person=st.text(alphabet="0123456789ABCZ-", max_size=14))
def test_the_derivation_slices_hold_every_person_id_once(sliced_panel, person):
    # a person found only in the claims, with an id below, between or above the enrolled ids;
    # and the enrolled people at the slices' bounds
    slices = sliced_panel._slices()
    for someone in (person, *(lower for lower, _ in slices if lower is not None)):
        holding = [
            (lower, upper)
            for lower, upper in slices
            if (lower is None or someone >= lower) and (upper is None or someone < upper)
        ]
        assert len(holding) == 1


@pytest.fixture(scope="module")
def sliced_panel(small_dataset):
    import modeling.core.panel as core

    original = core.SLICE_LINES
    core.SLICE_LINES = 5_000
    try:
        panel = Panel(small_dataset)
        assert len(panel._slices()) > 10
        yield panel
    finally:
        core.SLICE_LINES = original


def test_a_year_without_cms_eligible_codes_is_a_clear_error(small_dataset):
    panel = Panel(small_dataset)
    with pytest.raises(ParameterError, match="2019"):
        risk_adjustment_diagnoses_of(panel.scan("person_diagnoses"), 2019).collect()


def test_a_read_without_deriving_computes_the_same_rows_and_stores_nothing(fresh):
    panel = Panel(fresh)
    year = panel.claim_years()[-1]
    computed = panel.read("pharmacy_use", years=[year], derive=False)
    assert not panel.is_derived("pharmacy_use", year)
    assert not (panel.core_path / "pharmacy_use").exists()
    stored = panel.read("pharmacy_use", years=[year])
    assert panel.is_derived("pharmacy_use", year)
    assert computed.height > 0
    assert_frame_equal(_sorted(computed), _sorted(stored))


TOGETHER = ("medical_spend", "person_diagnoses", "long_term_institutional")


@pytest.mark.parametrize("slice_lines", [None, 5_000])
def test_tables_derived_together_equal_those_derived_one_at_a_time(
    fresh, small_dataset, monkeypatch, slice_lines
):
    import modeling.core.panel as core

    if slice_lines is not None:  # several slices of people, each read once for all tables
        monkeypatch.setattr(core, "SLICE_LINES", slice_lines)
    said: list[str] = []
    panel = Panel(fresh, progress=said.append)
    year = panel.claim_years()[-1]
    panel.derive(TOGETHER, years=[year])
    assert said[0] == (
        f"deriving medical spend of {year}, person diagnoses of {year} and long term "
        f"institutional of {year} (once for this dataset)"
    )
    assert all(panel.is_derived(table, year) for table in TOGETHER)
    assert not panel.is_derived("conditions", year)  # only the tables asked for
    alone = Panel(small_dataset)  # derived by the other test fixtures, one table at a time
    for table in TOGETHER:
        assert_frame_equal(
            _sorted(panel.read(table, years=[year])), _sorted(alone.read(table, years=[year]))
        )
    said.clear()
    panel.derive(TOGETHER, years=[year])  # derived already: nothing is read again
    assert said == []


def test_tables_derived_together_on_a_read_only_dataset_stay_in_memory(fresh, monkeypatch):
    from pathlib import Path

    def refuse(self, *args, **kwargs):
        raise PermissionError(f"read-only: {self}")

    monkeypatch.setattr(Path, "mkdir", refuse)
    panel = Panel(fresh)
    year = panel.claim_years()[-1]
    panel.derive(TOGETHER, years=[year])
    assert all(panel.is_derived(table, year) for table in TOGETHER)
    assert not (fresh.path / "core").exists()
    expected = medical_spend(fresh.scan("medical_claim")).filter(pl.col("year") == year)
    assert_frame_equal(
        _sorted(panel.read("medical_spend", years=[year])), _sorted(expected.collect())
    )


def test_a_filter_on_categorized_lines_is_applied_as_they_are_read(small_dataset):
    """The category's rule is element-wise, so a filter on the categorized lines (a year, a
    range of people) is pushed down to the reading of the Parquet file; otherwise a slice of a
    big panel would categorize every line of the panel first."""
    panel = Panel(small_dataset)
    plan = (
        panel.scan("claim_lines")
        .filter(pl.col("claim_type") == "institutional")
        .select("person_id", "service_category")
        .explain()
    )
    scan = plan[plan.index("Parquet SCAN") :]
    assert "SELECTION" in scan and "claim_type" in scan[scan.index("SELECTION") :]


def test_the_end_of_the_readmission_window_is_the_last_acute_admission(small_dataset):
    """``claims_end`` is the last admission date of the panel's acute stays (IRF bills left
    out), never a discharge date past it; no stay discharged less than 30 days before it is an
    index stay."""
    panel = Panel(small_dataset)
    stays = panel.read("inpatient_stays")
    assert panel.claims_end == stays["admission_date"].max()
    late = stays.filter(pl.col("discharge_date") > panel.claims_end - dt.timedelta(days=30))
    assert late.height > 0 and not late["is_index"].any()


@pytest.mark.parametrize("writable", [True, False])
def test_a_slice_reader_is_given_its_lines_and_tables_whether_derived_or_not(
    fresh, small_dataset, monkeypatch, writable
):
    """``derive_reading`` hands each slice its categorized lines of the year and its rows of
    the tables, the same when the tables are derived on the way (on disk, or in memory for a
    dataset that cannot be written) and when they are read from the core afterwards; the
    tables it derives are those of ``derive``."""
    from pathlib import Path

    import modeling.core.panel as core

    if not writable:

        def refuse(self, *args, **kwargs):
            raise PermissionError(f"read-only: {self}")

        monkeypatch.setattr(Path, "mkdir", refuse)
    monkeypatch.setattr(core, "SLICE_LINES", 5_000)
    panel = Panel(fresh)
    year = panel.claim_years()[-1]
    seen: list[int] = []

    def read(part, lines, tables):
        seen.append(len(seen))
        rows = lines.select("person_id", "claim_id", "paid_amount", "service_category").collect()
        return pl.concat(
            [
                rows.with_columns(table=pl.lit("lines")),
                *(
                    tables[t]
                    .group_by("person_id")
                    .len()
                    .select(
                        "person_id",
                        claim_id=pl.lit(None, pl.String),
                        paid_amount=pl.col("len").cast(pl.Float64),
                        service_category=pl.lit(None, pl.String),
                        table=pl.lit(t),
                    )
                    for t in TOGETHER
                ),
            ],
            how="vertical_relaxed",
        )

    first = pl.concat(panel.derive_reading(TOGETHER, year=year, read=read))
    slices = len(seen)
    assert slices == len(panel._slices()) > 10
    assert all(panel.is_derived(table, year) for table in TOGETHER)
    assert (fresh.path / "core").exists() is writable
    again = pl.concat(panel.derive_reading(TOGETHER, year=year, read=read))
    assert len(seen) == 2 * slices
    assert_frame_equal(_sorted(again), _sorted(first))
    lines = first.filter(pl.col("table") == "lines").drop("table")
    expected = (
        Panel(small_dataset)
        .scan("claim_lines")
        .filter(pl.col("claim_start_date").dt.year() == year)
        .select(lines.columns)
        .collect()
    )
    assert_frame_equal(_sorted(lines), _sorted(expected))
    alone = Panel(small_dataset)
    for table in TOGETHER:
        assert_frame_equal(
            _sorted(panel.read(table, years=[year])), _sorted(alone.read(table, years=[year]))
        )


def test_a_panel_has_the_years_of_its_claims_and_fills(small_dataset):
    panel = Panel(small_dataset)
    years = set(panel.claim_years()) | set(panel.fill_years())
    for year in range(min(years) - 2, max(years) + 3):
        assert panel.has_year(year) is (year in years)
