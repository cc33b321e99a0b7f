"""The synthetic panel across 1 January: refills on one schedule across years, hospice stays
whole across the year's bounds, and services begun before the panel billed from its first day
(issue 20: the year-boundary artifact of the finance backtests)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from modeling.synth.generator import SynthSpec
from modeling.synth.params import load_params
from modeling.synth.pharmacy import fill_offsets
from tests.modeling.synth.lines import one_chunk

SPEC = SynthSpec(members=4000, start_year=2023, years=3, seed=23)


@pytest.fixture(scope="module")
def chunk() -> dict[str, pl.DataFrame]:
    return one_chunk(SPEC, load_params())


def test_a_carried_schedule_refills_one_interval_after_the_last_fill():
    # a member-drug due on day 5 of the year, every 37 days, all year enrolled
    fills, first, carried = fill_offsets(
        np.array([365]), np.array([37]), np.array([5]), np.array([20]), np.array([True])
    )
    assert (fills[0], first[0]) == (10, 5)  # days 5, 42, ..., 338
    last = 5 + 9 * 37
    assert 365 + carried[0] - last == 37  # the next fill, in January, one interval after
    # the next year continues from the carried day, whatever its phase draw
    again, first2, _ = fill_offsets(
        np.array([365]), np.array([40]), carried, np.array([0]), np.array([True])
    )
    assert first2[0] == carried[0] and again[0] == 1 + (364 - carried[0]) // 40


def test_a_starting_member_drug_starts_at_its_phase_or_fills_once_if_brief():
    days, interval = np.array([365, 20, 20, 0]), np.array([38, 38, 38, 38])
    due = np.full(4, -1)
    fills, first, carried = fill_offsets(
        days, interval, due, np.array([30, 30, 30, 5]), np.array([True, True, False, True])
    )
    assert first[0] == 30 and fills[0] == 1 + (364 - 30) // 38
    assert fills[1] == 1 and first[1] == 30 % 20  # enrolled 20 days: one fill
    assert fills[2] == 0 and carried[2] == 30  # no single fill: starts next year at its phase
    assert fills[3] == 0  # not enrolled


def _continuous(eligibility: pl.DataFrame) -> pl.DataFrame:
    """Members enrolled without a break over the whole panel."""
    spans = eligibility.group_by("person_id").agg(
        pl.len().alias("spans"),
        pl.col("enrollment_start_date").min().alias("s"),
        pl.col("enrollment_end_date").max().alias("e"),
        ((pl.col("enrollment_end_date") - pl.col("enrollment_start_date")).dt.total_days() + 1)
        .sum()
        .alias("days"),
    )
    whole = (pl.col("e") - pl.col("s")).dt.total_days() + 1
    return spans.filter(
        (pl.col("s") == pl.date(2023, 1, 1))
        & (pl.col("e") == pl.date(2025, 12, 31))
        & (pl.col("days") == whole)
    ).select("person_id")


def test_a_members_refill_gap_across_31_december_equals_the_interval(chunk):
    rx = chunk["pharmacy_claim"].filter(pl.col("claim_id").str.starts_with("R"))
    rx = rx.join(_continuous(chunk["eligibility"]), on="person_id", how="semi")
    gaps = (
        rx.sort("dispensing_date")
        .group_by("person_id", "ndc_code")
        .agg(
            pl.col("dispensing_date")
            .filter(pl.col("dispensing_date").dt.year() == 2023)
            .alias("y1"),
            pl.col("dispensing_date")
            .filter(pl.col("dispensing_date").dt.year() == 2024)
            .first()
            .alias("next"),
        )
        .filter((pl.col("y1").list.len() >= 2) & pl.col("next").is_not_null())
        .with_columns(
            (pl.col("y1").list.get(-1) - pl.col("y1").list.get(-2)).dt.total_days().alias("within"),
            (pl.col("next") - pl.col("y1").list.get(-1)).dt.total_days().alias("across"),
        )
    )
    assert gaps.height > 500
    # the interval of the year's last two fills is the one the January fill follows
    assert (gaps["across"] == gaps["within"]).all()


def test_fills_per_day_are_even_through_the_year(chunk):
    rx = chunk["pharmacy_claim"]
    by_month = (
        rx.group_by(pl.col("dispensing_date").dt.truncate("1mo").alias("m"))
        .agg(pl.len().alias("fills"))
        .with_columns((pl.col("fills") / pl.col("m").dt.month_end().dt.day()).alias("per_day"))
        .sort("m")
    )
    for year in (2023, 2024, 2025):
        months = by_month.filter(pl.col("m").dt.year() == year)
        mean = months["fills"].sum() / months["m"].dt.month_end().dt.day().sum()
        ratio = months["per_day"] / mean
        # December was about half of the mean (a schedule restarted each January); every month
        # of every year, the first's January and February included, is now within 6% of it
        assert ratio.is_between(0.94, 1.06).all(), (year, ratio.to_list())


def _hospice(chunk) -> pl.DataFrame:
    return (
        chunk["medical_claim"]
        .filter(pl.col("bill_type_code").str.starts_with("81"))
        .select("claim_id", "person_id", "admission_date", "claim_start_date", "claim_end_date")
        .unique()
    )


def _unbroken(eligibility: pl.DataFrame) -> pl.DataFrame:
    """Members whose enrollment has no break (each span starts the day after the last ends)."""
    breaks = (
        eligibility.sort("enrollment_start_date")
        .with_columns(
            (
                pl.col("enrollment_start_date")
                - pl.col("enrollment_end_date").shift(1).over("person_id")
            )
            .dt.total_days()
            .alias("step")
        )
        .group_by("person_id")
        .agg((pl.col("step").drop_nulls() > 1).any().alias("broken"))
    )
    return breaks.filter(~pl.col("broken")).select("person_id")


def test_hospice_stays_are_billed_whole_across_1_january(chunk):
    hospice = _hospice(chunk).join(_unbroken(chunk["eligibility"]), on="person_id", how="semi")
    carried = hospice.filter(pl.col("claim_id").str.starts_with("Y"))
    assert carried.height > 0
    # a stay's months are consecutive: no month of a stay is missing at a year's bounds
    stays = (
        hospice.sort("claim_start_date")
        .group_by("person_id", "admission_date")
        .agg(
            pl.col("claim_start_date").dt.truncate("1mo").unique().sort().alias("months"),
            pl.col("claim_start_date").min().alias("first"),
        )
        .with_columns(
            pl.col("months").list.len().alias("n"),
            (
                (pl.col("months").list.get(-1).dt.year() - pl.col("months").list.get(0).dt.year())
                * 12
                + pl.col("months").list.get(-1).dt.month()
                - pl.col("months").list.get(0).dt.month()
                + 1
            ).alias("span"),
        )
    )
    across = stays.filter(
        pl.col("months").list.eval(pl.element().dt.month() == 1).list.any()
        & (pl.col("admission_date").dt.year() < pl.col("months").list.get(-1).dt.year())
    )
    assert across.height > 10
    assert (stays["n"] == stays["span"]).all()
    # a stay begun before the panel is billed from its first day; a stay begun inside the
    # panel from the month of its admission
    inside = stays.filter(pl.col("admission_date") >= pl.date(2023, 1, 1))
    assert (
        inside["months"].list.get(0) == inside["admission_date"].dt.truncate("1mo")
    ).mean() > 0.98  # (a stay of a member enrolling later is billed from the enrollment)
    before = stays.filter(pl.col("admission_date") < pl.date(2023, 1, 1))
    assert before.height > 0 and (before["first"] >= dt.date(2023, 1, 1)).all()


def test_home_health_begun_before_the_panel_is_billed_from_its_first_day(chunk):
    hh = chunk["medical_claim"].filter(pl.col("bill_type_code").str.starts_with("32"))
    carried = hh.filter(pl.col("claim_id").str.starts_with("Y"))
    assert carried.height > 0
    starts = carried["claim_start_date"]
    # periods of episodes begun in the 90 days before the panel, 30 days apart from then
    assert starts.is_between(dt.date(2023, 1, 1), dt.date(2023, 3, 30)).all()
    # the first January's home health comes near a steady month's (it was about half)
    paid = (
        hh.filter(pl.col("claim_start_date").dt.year() == 2023)
        .group_by(pl.col("claim_start_date").dt.month().alias("month"))
        .agg(pl.col("paid_amount").sum())
    )
    january = paid.filter(pl.col("month") == 1)["paid_amount"][0]
    steady = paid.filter(pl.col("month").is_between(3, 8))["paid_amount"].mean()
    assert january > 0.75 * steady


def test_a_day_of_hospice_is_billed_by_one_stay_across_years(chunk):
    # a live stay running into the year a member dies, and a decedent's stay begun the year
    # before, bill the member's days once: no carried claim overlaps another hospice claim
    hospice = (
        _hospice(chunk)
        .group_by("claim_id")
        .agg(
            pl.col("person_id").first(),
            pl.col("claim_start_date").min(),
            pl.col("claim_end_date").max(),
        )
        .sort("person_id", "claim_start_date")
        .with_columns(
            pl.col("claim_end_date").shift(1).over("person_id").alias("previous_end"),
            pl.col("claim_id").shift(1).over("person_id").alias("previous_id"),
        )
    )
    assert hospice["claim_id"].str.starts_with("Y").sum() > 10
    overlapping = hospice.filter(
        (pl.col("claim_start_date") <= pl.col("previous_end"))
        & (pl.col("claim_id").str.starts_with("Y") | pl.col("previous_id").str.starts_with("Y"))
    )
    assert overlapping.is_empty(), overlapping
