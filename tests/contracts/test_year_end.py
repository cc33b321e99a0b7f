from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from contracts.year_end import (
    budget_vs_actual,
    monthly_budget,
    parse_budget,
    read_budget,
    year_end,
    year_end_settlement,
)
from modeling.errors import ParameterError, SchemaError
from modeling.marts.finance.completion import CompletionOptions, complete
from modeling.marts.finance.forecast import ForecastOptions, forecast
from modeling.marts.finance.trend import TOTAL, monthly_cost


def _actual(months=(1, 2), mm=(100.0, 100.0), paid=(10_000.0, 12_000.0)):
    return pl.DataFrame(
        {
            "service_category": "acute inpatient",
            "incurred_month": [dt.date(2025, m, 1) for m in months],
            "member_months": list(mm),
            "services": [1.0] * len(months),
            "paid": list(paid),
        }
    )


def test_volume_and_rate_variance_by_hand():
    actual = _actual(mm=(110.0, 110.0), paid=(11_000.0, 13_200.0))
    budget = pl.DataFrame(
        {
            "month": [dt.date(2025, 1, 1), dt.date(2025, 2, 1)],
            "service_category": "acute inpatient",
            "budget_pmpm": [100.0, 100.0],
            "budget_member_months": [100.0, 100.0],
        }
    )
    v = budget_vs_actual(actual, budget, calendar_year=2025, through=dt.date(2025, 2, 1))
    row = v.filter(pl.col("service_category") == "acute inpatient").row(0, named=True)
    assert row["budget"] == pytest.approx(20_000)
    assert row["actual"] == pytest.approx(24_200)
    assert row["volume_variance"] == pytest.approx(20 * 100)  # 20 more member months at $100
    assert row["rate_variance"] == pytest.approx((24_200 / 220 - 100) * 220)
    assert row["volume_variance"] + row["rate_variance"] == pytest.approx(row["variance"])
    total = v.filter(pl.col("service_category") == TOTAL).row(0, named=True)
    assert total["variance"] == pytest.approx(4_200)


def test_an_annual_budget_is_seasonalized_and_keeps_its_mean():
    history = pl.concat(
        [
            _actual(
                months=tuple(range(1, 13)),
                mm=(100.0,) * 12,
                paid=tuple(10_000.0 * (1.3 if m in (1, 12) else 1.0) for m in range(1, 13)),
            ).with_columns(pl.col("incurred_month").dt.offset_by(f"{y}y"))
            for y in (-2, -1)
        ]
    )
    b = parse_budget(
        pl.DataFrame({"service_category": ["acute inpatient"], "pmpm": [100.0]}), calendar_year=2025
    )
    mb = monthly_budget(b, history, calendar_year=2025)
    assert mb.height == 12
    assert mb["budget_pmpm"].mean() == pytest.approx(100.0)
    jan = mb.filter(pl.col("month") == dt.date(2025, 1, 1))["budget_pmpm"][0]
    jun = mb.filter(pl.col("month") == dt.date(2025, 6, 1))["budget_pmpm"][0]
    assert jan > jun


def test_budget_file_errors(tmp_path):
    with pytest.raises(ParameterError):
        read_budget(tmp_path / "none.csv", calendar_year=2025)
    bad = tmp_path / "b.csv"
    bad.write_text("category,pmpm\nacute inpatient,100\n")
    with pytest.raises(SchemaError):
        read_budget(bad, calendar_year=2025)
    bad.write_text("service_category,pmpm\nsurgery,100\n")
    with pytest.raises(ParameterError):
        read_budget(bad, calendar_year=2025)
    bad.write_text("service_category,pmpm\nacute inpatient,-1\n")
    with pytest.raises(ParameterError):
        read_budget(bad, calendar_year=2025)


def test_year_end_and_its_settlement_through_the_projection(small_dataset, history):
    from contracts.projection import Assumptions, project
    from contracts.specs import preset

    a = Assumptions(minimum_savings_rate=0.02)  # a small panel: below the MSR table
    done = complete(small_dataset, as_of=dt.date(2024, 6, 30), options=CompletionOptions(draws=100))
    monthly = monthly_cost(small_dataset, completion=done)
    fc = forecast(monthly, small_dataset, options=ForecastOptions(months=6, backtest_origins=2))
    outlook = year_end(done, fc, calendar_year=2024)
    assert outlook.months.height == 12
    assert set(outlook.months["source"]) == {"completed", "forecast"}
    assert outlook.low <= outlook.total <= outlook.high
    assert outlook.medical < outlook.total  # pharmacy is not Parts A and B
    spec = preset("mssp-basic-e-2024")
    settled = year_end_settlement(spec, history, outlook, assumptions=a, draws=200)
    base = project(spec, history, a)
    assert (
        settled.projection.performance.benchmark_per_capita == base.performance.benchmark_per_capita
    )
    assert settled.projection.performance.expenditure_per_capita == pytest.approx(
        base.performance.expenditure_per_capita * settled.scale
    )
    assert settled.summary.p05 <= settled.summary.median <= settled.summary.p95
    assert settled.expected == pytest.approx(settled.summary.deterministic_settlement)
    with pytest.raises(ParameterError):
        year_end_settlement(preset("mssp-basic-e-2025"), history, outlook, assumptions=a)
