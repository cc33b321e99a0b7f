from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modeling.errors import ParameterError, SchemaError
from modeling.marts.finance.completion import CompletionOptions, complete
from modeling.marts.finance.trend import (
    EFFECTS,
    FACTORS,
    TOTAL,
    bridge,
    monthly_cost,
    risk_by_month,
    seasonal_index,
)


def _monthly(
    values: dict[str, list[tuple[float, float]]], member_months=(100.0, 110.0)
) -> pl.DataFrame:
    """One month per year (January 2024, January 2025): {category: [(services, paid) by year]}."""
    rows = []
    for cat, by_year in values.items():
        for (services, paid), year, mm in zip(by_year, (2024, 2025), member_months, strict=True):
            rows.append((cat, dt.date(year, 1, 1), mm, services, paid))
    return pl.DataFrame(
        rows,
        schema=["service_category", "incurred_month", "member_months", "services", "paid"],
        orient="row",
    )


def test_bridge_by_hand():
    # inpatient: 10 -> 12 admits at 1,000 -> 1,100; office: 100 -> 100 visits at 100 -> 100
    m = _monthly(
        {
            "acute inpatient": [(10, 10_000), (12, 13_200)],
            "office/professional": [(100, 10_000), (100, 10_000)],
        },
        (100, 100),
    )
    risk = pl.DataFrame(
        {"incurred_month": [dt.date(2024, 1, 1), dt.date(2025, 1, 1)], "risk": [1.0, 1.1]}
    )
    b = bridge(m, risk=risk, grain="month")
    ip = b.filter(pl.col("service_category") == "acute inpatient").row(0, named=True)
    assert ip["pmpm_prior"] == pytest.approx(100) and ip["pmpm"] == pytest.approx(132)
    assert ip["risk_factor"] == pytest.approx(1.1)
    assert ip["utilization_factor"] == pytest.approx(1.2 / 1.1)
    assert ip["unit_cost_factor"] == pytest.approx(1.1)
    t = b.filter(pl.col("service_category") == TOTAL).row(0, named=True)
    # v = u / R: 2024 (0.1, 1.0), 2025 (0.12/1.1, 1/1.1); C0 = (1000, 100)
    v1 = np.array([0.12, 1.0]) / 1.1
    v0 = np.array([0.1, 1.0])
    c0, c1 = np.array([1000, 100.0]), np.array([1100, 100.0])
    assert t["utilization_factor"] == pytest.approx(v1.sum() / v0.sum())
    assert t["mix_factor"] == pytest.approx((v1 @ c0 / v1.sum()) / (v0 @ c0 / v0.sum()))
    assert t["unit_cost_factor"] == pytest.approx(v1 @ c1 / (v1 @ c0))
    assert t["pmpm"] / t["pmpm_prior"] == pytest.approx(np.prod([t[f] for f in FACTORS]))
    assert sum(t[e] for e in EFFECTS) == pytest.approx(t["pmpm_change"])


@settings(max_examples=60, deadline=None)
@given(
    data=st.lists(
        st.tuples(st.floats(1, 1e4), st.floats(1, 1e6), st.floats(1, 1e4), st.floats(1, 1e6)),
        min_size=1,
        max_size=6,
    ),
    r0=st.floats(0.5, 2),
    r1=st.floats(0.5, 2),
)
def test_bridge_is_exact(data, r0, r1):
    m = _monthly({f"c{i}": [(s0, p0), (s1, p1)] for i, (s0, p0, s1, p1) in enumerate(data)})
    risk = pl.DataFrame(
        {"incurred_month": [dt.date(2024, 1, 1), dt.date(2025, 1, 1)], "risk": [r0, r1]}
    )
    b = bridge(m, risk=risk, grain="month")
    product = np.prod(b.select(FACTORS).to_numpy(), axis=1)
    assert product == pytest.approx((b["pmpm"] / b["pmpm_prior"]).to_numpy(), rel=1e-9)
    steps = b.select(EFFECTS).to_numpy().sum(axis=1)
    assert steps == pytest.approx(b["pmpm_change"].to_numpy(), rel=1e-9, abs=1e-6)
    total = b.filter(pl.col("service_category") == TOTAL)
    parts = b.filter(pl.col("service_category") != TOTAL)
    assert total["pmpm"][0] == pytest.approx(parts["pmpm"].sum())


def test_bridge_on_the_panel_and_seasonality(three_year_dataset):
    m = monthly_cost(three_year_dataset)
    b = bridge(m, grain="year")
    assert set(b["period"].dt.year()) == {2024, 2025}
    assert TOTAL in set(b["service_category"]) and "pharmacy" in set(b["service_category"])
    t = b.filter(pl.col("service_category") == TOTAL)
    assert (t["pmpm"] / t["pmpm_prior"]).to_numpy() == pytest.approx(
        np.prod(t.select(FACTORS).to_numpy(), axis=1)
    )
    s = seasonal_index(m).filter(pl.col("service_category") == "acute inpatient")
    assert s.height == 12
    assert s["index"].mean() == pytest.approx(1.0, abs=0.02)
    # winter respiratory admissions: January above July
    idx = dict(zip(s["month"], s["index"], strict=True))
    assert idx[1] > idx[7]


def test_completed_monthly_cost_only_to_the_as_of_month(three_year_dataset):
    c = complete(three_year_dataset, as_of=dt.date(2025, 3, 31), options=CompletionOptions(draws=0))
    m = monthly_cost(three_year_dataset, completion=c)
    assert m["incurred_month"].max() == dt.date(2025, 3, 1)
    full = monthly_cost(three_year_dataset)
    old = m.join(full, on=["service_category", "incurred_month"], suffix="_full").filter(
        pl.col("incurred_month") <= dt.date(2024, 3, 1)
    )
    # long run-out months: completed equals what was eventually paid (and counted)
    assert old["paid"].sum() == pytest.approx(old["paid_full"].sum(), rel=1e-3)
    assert old["services"].sum() == pytest.approx(old["services_full"].sum(), rel=1e-3)


def test_risk_by_month_and_errors(three_year_dataset):
    from modeling.core.panel import Panel

    panel = Panel(three_year_dataset)
    people = panel.scan("member_months").select("person_id", "year").unique().collect()
    risk = people.with_columns(
        pl.when(pl.col("year") == 2025).then(1.2).otherwise(1.0).alias("risk_score")
    )
    r = risk_by_month(risk, panel.scan("member_months"))
    assert r.filter(pl.col("incurred_month").dt.year() == 2025)["risk"].to_numpy() == pytest.approx(
        1.2
    )
    b = bridge(monthly_cost(panel), risk=r, grain="year")
    assert b.filter(pl.col("period").dt.year() == 2025)["risk_factor"].to_numpy() == pytest.approx(
        1.2
    )
    with pytest.raises(SchemaError):
        risk_by_month(risk.drop("risk_score"), panel.scan("member_months"))
    with pytest.raises(ParameterError):
        bridge(monthly_cost(panel), grain="week")
