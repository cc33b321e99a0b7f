"""The measures by ranges of people are the measures of the whole panel."""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from modeling.core.panel import Panel
from modeling.errors import ParameterError
from modeling.marts.quality import measure_rows
from modeling.marts.quality.engine import person_ranges
from modeling.synth import SynthSpec, generate

KEYS = ["measure_id", "person_id", "denominator", "numerator", "expected", "provider_npi"]


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(KEYS, nulls_last=True)


def _assert_sliced_is_whole(path, year: int, size: int) -> None:
    panel = Panel(path)
    assert len(person_ranges(panel, size)) > 3  # really sliced
    whole = measure_rows(panel, year, slice_people=10**9).collect()
    sliced = measure_rows(panel, year, slice_people=size).collect()
    assert whole.height > 0
    assert set(whole["measure_id"]) == set(sliced["measure_id"])
    assert_frame_equal(_sorted(whole), _sorted(sliced), check_exact=False, rel_tol=1e-9)


def test_ranges_cover_every_person_once(small_dataset):
    ranges = person_ranges(Panel(small_dataset), 97)
    dataset = Panel(small_dataset).dataset
    tables = ("eligibility", "medical_claim", "pharmacy_claim")
    ids = pl.concat([dataset.scan(t).select("person_id") for t in tables]).unique().collect()
    ids = ids["person_id"]
    owners = [sum(a <= i <= b for a, b in ranges) for i in ids.to_list()]
    assert set(owners) == {1}
    assert all(a <= b for a, b in ranges)
    assert all(b < a2 for (_, b), (a2, _) in zip(ranges, ranges[1:], strict=False))


def test_measures_by_ranges_of_people_equal_the_whole_panel(small_dataset):
    # ALOS's DRG means and the follow-up run-out are the whole panel's in every range
    _assert_sliced_is_whole(small_dataset, 2024, 200)


def test_slice_size_must_be_positive(small_dataset):
    with pytest.raises(ParameterError, match="slice_people"):
        measure_rows(small_dataset, 2024, slice_people=0)


@pytest.mark.slow
def test_measures_by_ranges_equal_the_whole_on_20k_members(tmp_path):
    path = generate(SynthSpec(members=20_000, start_year=2023, years=3, seed=1), tmp_path / "p")
    _assert_sliced_is_whole(path, 2024, 3_000)
