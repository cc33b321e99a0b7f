"""The raised rate of the last year of life across 1 January (``services/pre_death.py``, issue
19: members in their calendar year of death were a quarter of January-July's index stays and a
tenth of August-November's)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from modeling.errors import ParameterError
from modeling.synth.enrollment import YearFrame
from modeling.synth.generator import SynthSpec
from modeling.synth.params import load_params
from modeling.synth.people import NEVER
from modeling.synth.services import pre_death
from modeling.synth.services.base import ServiceContext, intensity_term
from tests.modeling.synth.lines import one_chunk

SPEC = SynthSpec(members=3000, start_year=2023, years=3, seed=31, last_year_of_life="rolling")


@pytest.fixture(scope="module")
def chunk() -> dict[str, pl.DataFrame]:
    return one_chunk(SPEC, load_params())


def test_a_calendar_last_year_of_life_draws_no_line_and_an_unknown_one_is_refused():
    calendar = one_chunk(SynthSpec(members=300, start_year=2023, years=2, seed=31), load_params())
    ids = calendar["medical_claim"]["claim_id"]
    assert ids.len() > 0 and not ids.str.starts_with(pre_death.PREFIX).any()
    with pytest.raises(ParameterError, match="last_year_of_life must be one of calendar, rolling"):
        SynthSpec(members=10, start_year=2023, years=1, seed=1, last_year_of_life="monthly")  # type: ignore[arg-type]


def _deaths(chunk: dict[str, pl.DataFrame]) -> pl.DataFrame:
    return chunk["eligibility"].group_by("person_id").agg(pl.col("death_date").max())


def test_the_added_services_fall_within_a_year_before_the_death_in_the_year_before_it(chunk):
    d = chunk["medical_claim"].filter(pl.col("claim_id").str.starts_with(pre_death.PREFIX))
    assert d["claim_id"].n_unique() > 100
    d = d.join(_deaths(chunk), on="person_id", how="left")
    died = d.filter(pl.col("death_date").is_not_null())
    lead = (pl.col("death_date") - pl.col("claim_start_date")).dt.total_days()
    assert died.filter(~lead.is_between(1, pre_death.LAST_YEAR_OF_LIFE - 1)).height == 0
    # all in the year before the death, but for the follow-on care of a stay late in it:
    # post-acute care (SNF 21x, home health 32x), whose months run on into the year of death,
    # and readmissions (drawn up to 40 days past the year's end)
    year_before = died["claim_start_date"].dt.year() == died["death_date"].dt.year() - 1
    post_acute = died["bill_type_code"].str.contains(r"^(21|32)").fill_null(False)
    early = died["claim_start_date"].dt.ordinal_day() <= 45
    assert (year_before | post_acute | early).all()
    assert year_before.mean() > 0.98
    assert died["death_date"].dt.year().min() > SPEC.start_year  # the first year has none
    # members alive at the panel's end who die after it: raised in its last year only
    alive = d.filter(pl.col("death_date").is_null())
    assert alive.height > 0
    assert (alive["claim_start_date"].dt.year() == SPEC.start_year + SPEC.years - 1).all()


def test_the_line_adds_no_wellness_visit(chunk):
    """The wellness visit (and the nursing-facility rounds, whose codes the intensity-driven
    visits of institutional members share) is drawn once with the year's services, not at the
    cost intensity: the line drew it again (73 "D" wellness visits on a 3,000-member panel)."""
    d = chunk["medical_claim"].filter(pl.col("claim_id").str.starts_with(pre_death.PREFIX))
    assert d.height > 0
    assert not (d["hcpcs_code"] == "G0439").any()


def test_the_line_is_appended_from_its_own_stream(chunk, monkeypatch):
    """Without the line every other row of every table is the same."""
    monkeypatch.setattr(pre_death, "raise_months_before_death", lambda *a, **k: None)
    without = one_chunk(SPEC, load_params())
    for table in ("eligibility", "pharmacy_claim", "provider_attribution"):
        assert chunk[table].equals(without[table]), table
    medical = chunk["medical_claim"].filter(~pl.col("claim_id").str.starts_with(pre_death.PREFIX))
    keys = ["claim_id", "claim_line_number"]
    assert medical.sort(keys).equals(without["medical_claim"].sort(keys))


def test_members_near_death_are_a_steady_share_of_the_years_stays(chunk):
    """Acute stays of members who die within 365 days of discharge are about the same share of
    the stays discharged January-July and August-November (panel years before the last, whose
    later deaths fall after the panel): on this panel 30.9% and 30.8%; with the calendar-year
    rule alone (the line off) 28.1% and 19.9%, a ratio of 0.71."""
    stays = (
        chunk["medical_claim"]
        .filter(pl.col("bill_type_code").str.starts_with("11"))
        .group_by("claim_id")
        .agg(pl.col("person_id").first(), pl.col("discharge_date").max())
        .join(_deaths(chunk), on="person_id", how="left")
        .filter(pl.col("discharge_date").dt.year() < SPEC.start_year + SPEC.years - 1)
        .filter(pl.col("discharge_date").dt.month() <= 11)
        .with_columns(
            (pl.col("death_date") - pl.col("discharge_date"))
            .dt.total_days()
            .is_between(0, 365)
            .fill_null(False)
            .alias("dying"),
            (pl.col("discharge_date").dt.month() >= 8).alias("autumn"),
        )
    )
    share = dict(stays.group_by("autumn").agg(pl.col("dying").mean()).iter_rows())
    assert share[True] > 0.85 * share[False]


def _frame(start, end, gap_start, gap_len) -> YearFrame:
    n = len(start)
    f = YearFrame(
        2024,
        np.ones(n, dtype=bool),
        np.array(start),
        np.array(end),
        np.array(gap_start),
        np.array(gap_len),
        np.zeros(n, dtype=np.int64),
        np.zeros(n),
        np.full(n, 75.0),
        np.zeros(n, dtype=bool),
    )
    f.refresh_days()
    return f


def test_the_window_is_the_years_enrolled_days_within_a_year_of_the_death():
    # the year's days 0-365 (relative); deaths on day 365 + 100 of the next year
    death = np.full(4, 365 + 100)
    yf = _frame(
        [0, 0, 0, 200],
        [365, 365, 365, 365],
        [10, 90, 200, NEVER],  # a gap before the window, one across its start, one inside
        [30, 40, 20, 0],
    )
    last = pre_death.DrawnYear(
        yf, np.zeros((1, 4), dtype=np.int64), *(np.ones(4),) * 2, np.ones(4), *(np.zeros(4),) * 2
    )
    w = pre_death.window(last, np.array([True, True, True, False]), death)
    # the 365 days ending on day 465 begin on day 101: the first gap is before it, the second
    # ends at day 130 inside it; with the 100 days of the year of death, 365 days in all
    assert w.start.tolist()[:3] == [101, 130, 101]
    assert w.days.tolist() == [265, 236, 245, 0]
    assert w.days[0] + 100 == pre_death.LAST_YEAR_OF_LIFE
    assert w.gap_len.tolist()[:3] == [0, 0, 20]
    assert not w.active[3]


def test_the_added_rate_is_the_excess_of_the_raised_over_the_ordinary():
    ctx = ServiceContext.__new__(ServiceContext)
    ctx.lam, ctx.lam_base = np.array([4.0, 1.0, 0.5]), np.array([1.0, 1.0, 1.0])
    assert intensity_term(ctx, 0.5) == pytest.approx([1.0, 0.0, 0.0])
    ctx.lam_base = None
    assert intensity_term(ctx, 2.0) == pytest.approx([16.0, 1.0, 0.25])


def test_claim_ids_of_the_line_are_distinct_in_cclf():
    from modeling.synth.cclf_writer.versions import id_number

    ids = pl.Series(["Y0003000000007", "D0003000000007", "C0003000000007"])
    numbers = pl.select(id_number(pl.lit(ids))).to_series().to_list()
    assert len(set(numbers)) == 3
    assert numbers[1] == 8 * 10**12 + 503 * 10**9 + 7


def test_the_deaths_after_the_panel_follow_the_panel_years(monkeypatch):
    """The year after the panel is drawn as the generator draws a year (health, conditions,
    age), so its expected deaths continue the panel years' (on seeds 1-5 and 9, 3,000 members:
    755, 767, 768 in 2023-2025 and 784 after). On this chunk: 134.4 expected in the last year,
    136.1 after it; with the last year's health and conditions at the next year's age 123.2 (8%
    short), at the same age 116.8."""
    from modeling.synth import enrollment

    in_panel: dict[int, float] = {}
    after: list[float] = []
    by_year, by_line = enrollment.death_probability, pre_death.death_probability

    def year(people, yf, levels, params):
        p = by_year(people, yf, levels, params)
        in_panel[yf.year] = float((p * yf.exposure * yf.active).sum())
        return p

    def line(people, yf, levels, params):
        p = by_line(people, yf, levels, params)
        end = yf.end == yf.end[yf.active].max()
        after.append(float((p * (yf.active & ~yf.dies & end)).sum()))
        return p

    monkeypatch.setattr(enrollment, "death_probability", year)
    monkeypatch.setattr(pre_death, "death_probability", line)
    one_chunk(SPEC, load_params())
    last = in_panel[SPEC.start_year + SPEC.years - 1]
    assert len(after) == 1 and 0.97 * last < after[0] < 1.10 * last
