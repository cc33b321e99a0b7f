"""CMS's published settlements reproduced row by row, the PUF reader, and the invariants of
``settle`` across every MSSP track and year in the parameters."""

from __future__ import annotations

from functools import cache

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.parameters import _csv, mssp_rules, reach_rules, sequestration_rate
from contracts.reproduce import (
    MSSP_REQUIRED,
    read_puf,
    reproduce_mssp,
    reproduce_reach,
    sample_puf,
)
from contracts.settlement import Performance, settle
from contracts.specs import MsspSpec, ReachSpec
from modeling.errors import ParameterError, SchemaError


@cache
def mssp():
    return reproduce_mssp(sample_puf("mssp"))


@cache
def reach():
    return reproduce_reach(sample_puf("reach"))


def test_every_mssp_row_reproduces_or_names_the_unpublished_input():
    result = mssp()
    assert result.rows.height == 1775
    assert result.share_reproduced >= 0.995
    exceptions = result.rows.filter(~pl.col("reproduced"))
    assert exceptions.height <= 0.005 * 1775
    for note in exceptions["note"]:
        assert "not published" in note, note  # each exception names the input CMS withholds
    # the reproduced rows carry no note, and agree within their tolerance
    ok = result.rows.filter(pl.col("reproduced"))
    assert (ok["note"] == "").all()
    assert (ok["difference"].abs() <= ok["tolerance"]).all()


def test_every_year_and_track_of_the_mssp_file_is_settled():
    summary = mssp().summary
    assert set(summary["performance_year"]) == set(range(2014, 2022))
    tracks = set(summary["track"])
    assert {"track_1", "track_2", "track_3", "track_1_plus", "enhanced"} <= tracks
    assert {f"basic_{x}" for x in "abcde"} <= tracks


def test_every_reach_row_reproduces_to_the_dollar():
    result = reach()
    assert result.rows.height == 148
    assert result.rows["reproduced"].all()
    assert float(result.rows["difference"].abs().max()) < 1.0
    assert set(result.summary["performance_year"]) == {2021, 2022, 2023}
    # the after-sequestration amount (2% of positive amounts) is checked too: one ACO's published
    # figure is not explained by sequestration, and its note says so
    noted = result.rows.filter(pl.col("note") != "")
    assert noted["aco_id"].to_list() == ["D0120"] and "not published" in noted["note"][0]


def test_six_month_2019_period_prorates_the_year():
    spec = MsspSpec(name="J", performance_year=2019, track="TRACK_1", performance_period_months=6)
    full = MsspSpec(name="Y", performance_year=2019, track="TRACK_1")
    perf = performance(10_000, 9_500, 20_000, 0.9)
    assert settle(spec, perf).amount == pytest.approx(settle(full, perf).amount * 0.5)
    with pytest.raises(ParameterError, match="only in 2019"):
        MsspSpec(name="x", performance_year=2020, track="TRACK_1", performance_period_months=6)


def test_reach_sequestration_on_savings_only():
    seq = ReachSpec(name="G", performance_year=2022, risk_option="global", sequestration=True)
    plain = ReachSpec(name="G", performance_year=2022, risk_option="global")
    gain, loss = Performance(10_000, 9_000, 100), Performance(10_000, 11_000, 100)
    assert settle(seq, gain).amount == pytest.approx(settle(plain, gain).amount * 0.98)
    assert settle(seq, loss).amount == settle(plain, loss).amount


def test_a_published_row_by_hand():
    # Palm Beach ACO, PY2021 ENHANCED: savings $84,231,357 >= 2% MSR, quality standard met: 75% of
    # the savings, less 2% sequestration (paid after July 2022), under the 20% payment limit
    row = mssp().rows.filter(pl.col("aco_id") == "A1001", pl.col("performance_year") == 2021)
    assert row["computed_amount"][0] == pytest.approx(84_231_357 * 0.75 * 0.98)
    assert row["published_amount"][0] == 61_910_047


def test_the_reader_matches_columns_in_any_case_and_names_a_missing_one():
    frame = sample_puf("mssp").head(50)
    upper = frame.rename({c: c.upper() for c in frame.columns})
    a = reproduce_mssp(frame).rows
    b = reproduce_mssp(upper).rows
    assert a.equals(b)
    with pytest.raises(SchemaError, match="earnsaveloss"):
        read_puf(frame.drop("earnsaveloss"), program="mssp")
    with pytest.raises(SchemaError, match="final_benchmark"):
        read_puf(sample_puf("reach").drop("final_benchmark"), program="reach")
    with pytest.raises(SchemaError, match="No PUF file"):
        reproduce_mssp("/nonexistent/puf.csv")
    with pytest.raises(SchemaError, match="differ only in case"):
        read_puf(frame.with_columns(pl.col("n_ab").alias("N_AB")), program="mssp")


def test_a_puf_file_that_is_not_utf8_is_refused_not_read_lossily(tmp_path):
    frame = sample_puf("mssp").head(3)
    good = tmp_path / "puf.csv"
    frame.write_csv(good)
    with_bom = tmp_path / "bom.csv"
    with_bom.write_bytes(b"\xef\xbb\xbf" + good.read_bytes())
    assert read_puf(with_bom, program="mssp").equals(read_puf(good, program="mssp"))
    latin = tmp_path / "latin.csv"
    latin.write_bytes(
        good.read_bytes().replace(b"\n", "\nNuestra Se\u00f1ora,".encode("cp1252"), 1)
    )
    with pytest.raises(SchemaError, match="not UTF-8 text"):
        read_puf(latin, program="mssp")


def test_cms_track_flags_stand_in_for_the_derived_track():
    frame = sample_puf("mssp").filter(pl.col("performance_year") == "2021").head(40)
    flags = {
        "Current_Track_1": "track_1",
        "Current_Track_3": "track_3",
        "Current_Track_1_Plus": "track_1_plus",
        "Current_ENHANCED": "enhanced",
    } | {f"Current_BASIC_{x.upper()}": f"basic_{x}" for x in "abcde"}
    cms_layout = frame.with_columns(
        pl.when(pl.col("track") == t).then(pl.lit("1")).otherwise(pl.lit("0")).alias(c)
        for c, t in flags.items()
    ).drop("track")
    assert reproduce_mssp(cms_layout).rows.equals(reproduce_mssp(frame).rows)
    assert read_puf(cms_layout, program="mssp")["track"].to_list() == frame["track"].to_list()
    with pytest.raises(SchemaError, match="Current_Track"):
        read_puf(frame.drop("track"), program="mssp")


def test_required_columns_are_cms_names():
    assert {"earnsaveloss", "abtotbnchmk", "n_ab"} <= set(MSSP_REQUIRED)


# ------------------------------------------------------------------ parameters as data


def test_every_track_and_year_has_rules_with_a_source():
    table = _csv("mssp_parameters.csv")
    years = {int(y) for y in table["performance_year"]}
    assert years == set(range(2013, 2027))
    for r in table.iter_rows(named=True):
        rules = mssp_rules(int(r["performance_year"]), r["track"], r["level"] or None)
        assert rules.source and rules.status
    assert mssp_rules(2019, "TRACK_3", None).max_sharing_rate == 0.75  # January-June 2019
    assert mssp_rules(2019, "ENHANCED", None).quality_rule == "score_scaled"  # July-December
    assert mssp_rules(2021, "BASIC", "E").quality_rule == "standard"
    assert mssp_rules(2017, "TRACK_2", None).loss_cap_schedule == (0.05, 0.075, 0.10)
    with pytest.raises(ParameterError, match="mssp_parameters.csv"):
        mssp_rules(2020, "TRACK_2", None)  # Track 2 ended with the January-June 2019 period


def test_reach_published_discounts_and_the_partly_known_2026():
    assert [reach_rules(y, "global").discount for y in (2021, 2022, 2023, 2025)] == [
        0.02,
        0.02,
        0.03,
        0.04,
    ]
    assert all(reach_rules(y, "professional").discount == 0 for y in range(2021, 2027))
    assert reach_rules(2026, "professional").quality_withhold == 0.05
    with pytest.raises(ParameterError, match=r"Known: .*5%.*10%.*Not found.*discount"):
        reach_rules(2026, "global")


def test_sequestration_by_payment_year():
    assert sequestration_rate(2018) == 0.02
    assert sequestration_rate(2019) == sequestration_rate(2020) == 0.0  # CARES Act moratorium
    assert sequestration_rate(2021) == 0.02
    with pytest.raises(ParameterError, match="mssp_sequestration.csv"):
        sequestration_rate(2010)


def test_reach_heba_enters_gross_savings_and_the_corridor_base():
    spec = ReachSpec(name="G", performance_year=2023, risk_option="global", benchmark_basis="final")
    # benchmark 1,000 + HEBA 100, cost 770: gross 330 = 30% of 1,100: 25 points at 100%, 5 at 50%
    r = settle(spec, Performance(1000, 770, 1, health_equity_adjustment_per_capita=100))
    assert r.amount == pytest.approx(1100 * (0.25 + 0.05 * 0.5))


# ------------------------------------------------------------------ invariants of settle

COMBOS = [
    (int(r["performance_year"]), r["track"], r["level"] or None)
    for r in _csv("mssp_parameters.csv").iter_rows(named=True)
]


def spec_for(year: int, track: str, level: str | None, *, sequestration: bool = True):
    return MsspSpec(
        name="p",
        performance_year=year,
        track=track,  # type: ignore[arg-type]
        level=level,  # type: ignore[arg-type]
        sequestration=sequestration,
        two_sided_year=2 if track == "TRACK_2" else None,
    )


def performance(bench: float, exp: float, n: int, quality: float, **kw) -> Performance:
    return Performance(
        bench,
        exp,
        n,
        assigned_beneficiaries=n,
        quality_score=quality,
        participant_ffs_revenue=0.4 * bench * n,
        **kw,
    )


@settings(max_examples=300, deadline=None)
@given(
    combo=st.sampled_from(COMBOS),
    bench=st.floats(8_000, 16_000),
    e1=st.floats(0.6, 1.4),
    e2=st.floats(0.6, 1.4),
    n=st.integers(5_000, 120_000),
    quality=st.floats(0.3, 1.0),
)
def test_settlement_is_monotone_in_expenditures(combo, bench, e1, e2, n, quality):
    spec = spec_for(*combo)
    low, high = sorted((e1, e2))
    a = settle(spec, performance(bench, bench * low, n, quality)).amount
    b = settle(spec, performance(bench, bench * high, n, quality)).amount
    assert b <= a + 1e-6  # spending more never pays more


@settings(max_examples=200, deadline=None)
@given(
    combo=st.sampled_from(COMBOS),
    bench=st.floats(8_000, 16_000),
    e=st.floats(0.6, 1.4),
    n=st.integers(5_000, 120_000),
    quality=st.floats(0.3, 1.0),
)
def test_sequestration_never_touches_losses(combo, bench, e, n, quality):
    on = settle(spec_for(*combo), performance(bench, bench * e, n, quality))
    off = settle(spec_for(*combo, sequestration=False), performance(bench, bench * e, n, quality))
    if off.amount <= 0:
        assert on.amount == off.amount
    else:
        rate = sequestration_rate(combo[0])
        limit = off.figures.performance_payment_limit
        assert on.amount == pytest.approx(
            min(off.figures.shared_savings_before_limit * (1 - rate), limit)
        )


@pytest.mark.parametrize("combo", COMBOS, ids=[f"{y}-{t}-{lv or ''}" for y, t, lv in COMBOS])
def test_caps_bind_exactly_at_their_limits(combo):
    year, track, level = combo
    rules = mssp_rules(year, track, level)
    spec = spec_for(year, track, level)
    bench, n = 10_000.0, 20_000
    total = bench * n
    seq = sequestration_rate(year)
    rate = rules.max_sharing_rate
    limit = rules.payment_limit_pct_benchmark * total
    # savings whose shared amount after sequestration equals the limit exactly, and above it
    at = limit / (rate * (1 - seq)) / total
    for savings_rate in (at, at + 0.02):
        r = settle(spec, performance(bench, bench * (1 - savings_rate), n, 1.0))
        assert r.amount == pytest.approx(limit, rel=1e-12)
    below = settle(spec, performance(bench, bench * (1 - at + 0.01), n, 1.0))
    assert below.amount < limit
    if not rules.two_sided:
        return
    r = settle(spec, performance(bench, bench * 1.5, n, 1.0, euc_affected_share=0.0))
    cap = r.figures.loss_cap
    assert cap is not None and r.amount == pytest.approx(-cap, rel=1e-12)
    loss_rate = r["shared_loss_rate"]
    at_loss = cap / loss_rate / total
    exact = settle(spec, performance(bench, bench * (1 + at_loss), n, 1.0, euc_affected_share=0.0))
    assert exact.amount == pytest.approx(-cap, rel=1e-9)
    inside = settle(
        spec, performance(bench, bench * (1 + at_loss * 0.9), n, 1.0, euc_affected_share=0.0)
    )
    assert inside.amount > -cap


def test_the_covid_emergency_cancels_every_shared_loss():
    for year in (2020, 2021):
        r = settle(spec_for(year, "ENHANCED", None), performance(10_000, 11_000, 20_000, 0.9))
        assert r.amount == 0 and r["euc_adjustment"] > 0
    r = settle(spec_for(2019, "ENHANCED", None), performance(10_000, 11_000, 20_000, 0.9))
    assert r.amount < 0


def test_track_2_needs_its_year_of_two_sided_risk_for_losses():
    spec = MsspSpec(name="T2", performance_year=2017, track="TRACK_2")
    with pytest.raises(ParameterError, match="two_sided_year"):
        settle(spec, performance(10_000, 11_000, 20_000, 1.0))


def test_a_single_year_cms_file_in_percent_without_a_year_column():
    frame = sample_puf("mssp").filter(pl.col("performance_year") == "2018")
    cms = frame.drop("performance_year").with_columns(
        (pl.col(c).cast(pl.Float64) * 100).cast(pl.String)
        for c in ("minsavperc", "qualscore", "finalsharerate")
    )
    with pytest.raises(SchemaError, match="give the performance year"):
        read_puf(cms, program="mssp")
    a = reproduce_mssp(cms, performance_year=2018).rows
    b = reproduce_mssp(frame).rows
    assert a["reproduced"].to_list() == b["reproduced"].to_list()
    assert (a["computed_amount"] - b["computed_amount"]).abs().max() < 1e-6


def test_a_track_2_loss_without_the_agreement_year():
    row = sample_puf("mssp").filter(
        pl.col("performance_year") == "2017", pl.col("track") == "track_2"
    )
    no_year = row.drop("current_start_date")
    # the 2017 loss (1.8% of the benchmark x 40%) is far below even the 5% limit: reproduced
    assert reproduce_mssp(no_year).rows["reproduced"].all()
    big = no_year.with_columns(
        (pl.col("abtotbnchmk").cast(pl.Float64) * 1.3).cast(pl.String).alias("abtotexp"),
        pl.lit("-1").alias("disadj"),
    )
    rows = reproduce_mssp(big).rows
    losing = rows.filter(pl.col("published_amount") < 0)
    assert losing.height == 1 and "not published" in losing["note"][0]
