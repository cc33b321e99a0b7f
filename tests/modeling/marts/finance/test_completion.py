from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from modeling.core.panel import Panel
from modeling.errors import DatasetError, ParameterError
from modeling.marts.finance.completion import (
    ALL,
    BF,
    DEVELOPMENT,
    TABLE_COLUMNS,
    CompletionOptions,
    complete,
    hindsight,
)

AS_OF = dt.date(2025, 6, 30)


@pytest.fixture(scope="module")
def done(three_year_dataset):
    return complete(three_year_dataset, as_of=AS_OF, options=CompletionOptions(draws=200))


def _paid_by(panel: Panel, as_of: dt.date) -> pl.DataFrame:
    """Paid by incurred month and category, by a direct filter (independent of the triangles)."""
    med = (
        panel.scan("claim_lines")
        .filter(pl.col("paid_date") <= as_of)
        .group_by(
            pl.col("claim_start_date").dt.truncate("1mo").alias("incurred_month"),
            "service_category",
        )
        .agg(pl.col("paid_amount").sum().alias("direct"))
    )
    rx = (
        panel.scan("pharmacy_claim")
        .filter(pl.col("paid_date") <= as_of)
        .group_by(pl.col("dispensing_date").dt.truncate("1mo").alias("incurred_month"))
        .agg(
            pl.lit("pharmacy").alias("service_category"),
            pl.col("paid_amount").sum().alias("direct"),
        )
    )
    return pl.concat([med, rx]).collect()


def test_one_row_per_month_and_category_with_the_columns_finance_reads(done):
    t = done.table
    assert t.columns[: len(TABLE_COLUMNS)] == list(TABLE_COLUMNS)
    assert t.select("incurred_month", "service_category").is_duplicated().sum() == 0
    assert {"pharmacy", ALL, "acute inpatient"} <= set(t["service_category"])
    assert t["incurred_month"].max() == dt.date(2025, 6, 1)
    assert t["incurred_month"].min() == dt.date(2023, 1, 1)
    months = t["incurred_month"].n_unique()
    assert t.filter(pl.col("service_category") == ALL).height == months == 30


def test_only_claims_paid_by_the_as_of_date_count(done, three_year_dataset):
    direct = _paid_by(Panel(three_year_dataset), AS_OF).filter(
        pl.col("incurred_month") <= dt.date(2025, 6, 1)
    )
    joined = done.table.join(direct, on=["incurred_month", "service_category"], how="inner")
    assert joined.height == direct.filter(pl.col("direct") != 0).height
    assert joined["paid_to_date"].to_numpy() == pytest.approx(joined["direct"].to_numpy(), abs=0.02)


def test_all_is_the_sum_of_the_categories(done):
    t = done.table
    parts = (
        t.filter(pl.col("service_category") != ALL)
        .group_by("incurred_month")
        .agg(pl.col("paid_to_date").sum().alias("p"), pl.col("ibnr").sum().alias("i"))
    )
    whole = t.filter(pl.col("service_category") == ALL).join(parts, on="incurred_month")
    assert whole["paid_to_date"].to_numpy() == pytest.approx(whole["p"].to_numpy())
    assert whole["ibnr"].to_numpy() == pytest.approx(whole["i"].to_numpy())
    e = whole["estimated_incurred"].to_numpy()
    assert e == pytest.approx((whole["paid_to_date"] + whole["ibnr"]).to_numpy())


def test_pharmacy_completes_at_once_and_inpatient_and_snf_slowest(done):
    f = done.factors.filter(pl.col("lag") == 0)
    cf = dict(zip(f["service_category"], f["completion_factor"], strict=True))
    assert cf["pharmacy"] > 0.95
    assert cf["acute inpatient"] < cf["office/professional"]
    assert cf["skilled nursing facility"] < cf["office/professional"]
    assert cf["skilled nursing facility"] < 0.1


def test_methods_follow_the_thresholds(done, three_year_dataset):
    t = done.table.filter(pl.col("service_category") == "office/professional")
    assert set(t.filter(pl.col("lag") >= 3)["method"]) == {DEVELOPMENT}
    assert set(t.filter(pl.col("lag") == 0)["method"]) == {BF}
    rx = done.table.filter(pl.col("service_category") == "pharmacy")
    assert set(rx["method"]) == {DEVELOPMENT}  # complete enough at lag 0 (>= 95%)
    late = complete(
        three_year_dataset,
        as_of=AS_OF,
        options=CompletionOptions(development_min_lag=0, draws=0),
    )
    assert set(late.table.filter(pl.col("service_category") != ALL)["method"]) == {DEVELOPMENT}


def test_reserves_and_intervals_are_coherent(done):
    t = done.table.filter(pl.col("service_category") != ALL)
    if done.speed_adjusted and done.payment_speed > 1:
        # a catch-up month paid early what was due later: a little negative IBNR is right
        assert (t["ibnr"] >= -0.05 * t["paid_to_date"] - 1e-6).all()
    else:
        assert (t["ibnr"] >= -1e-6).all()
    assert ((t["completion_factor"] > 0) & (t["completion_factor"] <= 1 + 1e-9)).all()
    recent = t.filter(pl.col("lag") <= 2, pl.col("ibnr") > 100)
    assert (recent["ibnr_se"] > 0).all()
    assert (recent["ibnr_lo"] <= recent["ibnr"] + 1e-6).all()
    assert (recent["ibnr_lo"] <= recent["ibnr_hi"]).all()
    # a skewed reserve (a few large claims) can have its mean above its 90th percentile; the
    # bulk of the reserves sits inside its interval
    assert (recent["ibnr"] <= recent["ibnr_hi"] + 1e-6).mean() > 0.8
    old = t.filter(pl.col("lag") >= 24)
    assert old["ibnr"].abs().max() < 0.005 * old["paid_to_date"].sum()


def test_mid_month_as_of_counts_paid_dates_up_to_it(three_year_dataset):
    mid = complete(
        three_year_dataset, as_of=dt.date(2025, 6, 15), options=CompletionOptions(draws=0)
    )
    assert mid.table["incurred_month"].max() == dt.date(2025, 5, 1)
    direct = _paid_by(Panel(three_year_dataset), dt.date(2025, 6, 15))
    j = mid.table.join(direct, on=["incurred_month", "service_category"])
    assert j["paid_to_date"].to_numpy() == pytest.approx(j["direct"].to_numpy(), abs=0.02)


def test_completed_totals_are_close_to_the_later_paid_truth(three_year_dataset):
    """A backtest on the small panel (2,500 members: noisier than the 20,000-member default)."""
    truth = (
        _paid_by(Panel(three_year_dataset), dt.date(2030, 1, 1))
        .group_by("incurred_month")
        .agg(pl.col("direct").sum())
    )
    for as_of in (dt.date(2024, 9, 30), dt.date(2025, 3, 31)):
        t = complete(three_year_dataset, as_of=as_of, options=CompletionOptions(draws=0)).table
        j = t.filter(pl.col("service_category") == ALL).join(truth, on="incurred_month")
        err = (j["estimated_incurred"] / j["direct"] - 1).abs()
        ripe = j.with_columns(err=err).filter(pl.col("lag").is_between(3, 12))
        assert ripe["err"].max() < 0.03
        assert j.with_columns(err=err).filter(pl.col("lag") == 0)["err"].max() < 0.25


def test_hindsight_table(three_year_dataset):
    h = hindsight(three_year_dataset, as_of=AS_OF, valuations=3)
    assert h["valuation_date"].unique().sort().to_list() == [
        dt.date(2025, 3, 31),
        dt.date(2025, 4, 30),
        dt.date(2025, 5, 31),
    ]
    assert (h["paid_then"] <= h["paid_by_as_of"] + 0.01).all()
    assert np.isfinite(h["estimate_error"].to_numpy()).all()


def test_bad_options_and_dates(three_year_dataset):
    with pytest.raises(ParameterError):
        complete(three_year_dataset, as_of=AS_OF, options=CompletionOptions(window=0))
    with pytest.raises(ParameterError):
        complete(three_year_dataset, as_of="2025-06-30")  # type: ignore[arg-type]
    with pytest.raises(DatasetError):
        complete(three_year_dataset, as_of=dt.date(2022, 12, 15))


def test_the_interval_is_calibrated_by_hindsight_lag_by_lag(three_year_dataset):
    plain = complete(
        three_year_dataset,
        as_of=AS_OF,
        options=CompletionOptions(draws=200, calibrate_valuations=0),
    )
    calibrated = complete(three_year_dataset, as_of=AS_OF, options=CompletionOptions(draws=200))
    assert plain.interval_scales is not None and plain.interval_scales.height == 0
    scales = calibrated.interval_scales
    assert scales is not None and set(scales["kind"]) == {"category", ALL}
    assert (scales["scale"] > 0).all()
    key = ["service_category", "incurred_month"]
    width = lambda t: (t["ibnr_hi"] - t["ibnr_lo"]).to_numpy()  # noqa: E731
    for kind, bucket, scale in scales.iter_rows():
        sel = (
            (pl.col("service_category") == ALL)
            if kind == ALL
            else (pl.col("service_category") != ALL)
        )
        lag = pl.col("lag") == bucket if bucket < 12 else pl.col("lag") >= 12
        a = plain.table.filter(sel, lag).sort(key)
        b = calibrated.table.filter(sel, lag).sort(key)
        assert width(b) == pytest.approx(width(a) * scale, rel=1e-9, abs=1e-6)
    a, b = plain.table.sort(key), calibrated.table.sort(key)
    assert b["ibnr"].to_numpy() == pytest.approx(a["ibnr"].to_numpy())


def test_cells_read_a_range_of_people_at_a_time_equal_the_whole_read(three_year_dataset):
    """A big panel's claims are read by ranges of people (memory holds one range): the cells,
    distinct claim counts included, are exactly those of one whole read."""
    from modeling.marts.finance.triangles import Valuation, paid_cells, person_ranges

    panel = Panel(three_year_dataset)
    v = Valuation.at(dt.date(2025, 3, 31))
    ranges = person_ranges(panel, lines=20_000)
    assert ranges is not None and len(ranges) >= 5
    assert ranges == sorted(ranges) and all(a <= b for a, b in ranges)
    whole = paid_cells(panel, v, slice_lines=10**12).sort("service_category", "incurred", "lag")
    sliced = paid_cells(panel, v, slice_lines=20_000).sort("service_category", "incurred", "lag")
    assert sliced.select(whole.columns).equals(whole)
    assert person_ranges(panel, lines=10**12) is None
    assert person_ranges(panel.for_people(ranges[0][0], ranges[0][1]), lines=1) is None
