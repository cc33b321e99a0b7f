"""Proportion of days covered (PQA), SUPD and SPC on hand-built members, and its properties."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from modeling.marts.quality.adherence import (
    pdc,
    pdc_rows,
    proportion_of_days_covered,
    spc_rows,
    supd_rows,
)
from tests.modeling.marts.quality.builders import (
    ARNI,
    ATORVASTATIN,
    INSULIN,
    LISINOPRIL,
    METFORMIN,
    Book,
    D,
    of,
)

LOSARTAN = "99001000330"


def _pdc(frame) -> dict[tuple[str, str], tuple[int, int]]:
    f = frame.collect()
    return {
        (r["person_id"], r["drug_class"]): (r["covered_days"], r["period_days"])
        for r in f.iter_rows(named=True)
    }


def test_pdc_shifts_same_drug_overlaps_and_sets_facility_days_aside(tmp_path):
    b = Book()
    b.member("Q", birth=D(1950, 1, 1))  # four 90-day fills: 360 of 366 days (2024 is leap)
    for m in (1, 4, 7, 10):
        b.fill("Q", D(2024, m, 1), METFORMIN, 90)
    b.member("S", birth=D(1950, 1, 1))  # refill early: shifted to start the day after
    b.fill("S", D(2024, 1, 1), METFORMIN, 30).fill("S", D(2024, 1, 15), METFORMIN, 30)
    b.member("U", birth=D(1950, 1, 1))  # two drugs of a class overlap: a day counts once
    b.fill("U", D(2024, 1, 1), LISINOPRIL, 30).fill("U", D(2024, 1, 15), LOSARTAN, 30)
    b.member("H", birth=D(1950, 1, 1))  # a 10-day stay inside the supply
    b.fill("H", D(2024, 1, 1), METFORMIN, 90).fill("H", D(2024, 7, 1), METFORMIN, 30)
    b.stay("H", D(2024, 2, 1), D(2024, 2, 10))
    b.member("L", birth=D(1950, 1, 1))  # first fill 78 days before year end: no period
    b.fill("L", D(2024, 10, 15), METFORMIN, 30).fill("L", D(2024, 11, 15), METFORMIN, 30)
    b.member("O", birth=D(1950, 1, 1)).fill("O", D(2024, 1, 1), METFORMIN, 90)  # one fill
    b.member("X", birth=D(1950, 1, 1), death=D(2024, 6, 30), end=D(2024, 6, 30))
    b.fill("X", D(2024, 1, 1), METFORMIN, 90).fill("X", D(2024, 4, 1), METFORMIN, 90)
    got = _pdc(pdc(b.panel(tmp_path), 2024))
    assert got == {
        ("Q", "diabetes_noninsulin"): (360, 366),
        ("S", "diabetes_noninsulin"): (60, 366),
        ("U", "ras"): (44, 366),
        ("H", "diabetes_noninsulin"): (110, 356),
        ("X", "diabetes_noninsulin"): (180, 182),  # period ends at death (Jan 1 - Jun 30)
    }


def test_pdc_measures_apply_the_threshold_and_exclusions(tmp_path):
    b = Book()
    b.member("A", birth=D(1950, 1, 1))  # 300/366 = 0.82: met
    b.fill("A", D(2024, 1, 1), ATORVASTATIN, 150).fill("A", D(2024, 6, 1), ATORVASTATIN, 150)
    b.member("B", birth=D(1950, 1, 1))  # 290/366 = 0.79: not met
    b.fill("B", D(2024, 1, 1), ATORVASTATIN, 145).fill("B", D(2024, 6, 1), ATORVASTATIN, 145)
    b.member("I", birth=D(1950, 1, 1))  # insulin user: out of the diabetes measure
    b.fill("I", D(2024, 1, 1), METFORMIN, 180).fill("I", D(2024, 7, 1), METFORMIN, 180)
    b.fill("I", D(2024, 2, 1), INSULIN, 30)
    b.member("V", birth=D(1950, 1, 1))  # sacubitril/valsartan user: out of RAS
    b.fill("V", D(2024, 1, 1), LISINOPRIL, 180).fill("V", D(2024, 7, 1), LISINOPRIL, 180)
    b.fill("V", D(2024, 9, 1), ARNI, 30)
    b.member("E", birth=D(1950, 1, 1), status="11")  # ESRD: out of all
    b.fill("E", D(2024, 1, 1), ATORVASTATIN, 180).fill("E", D(2024, 7, 1), ATORVASTATIN, 180)
    r = pdc_rows(b.panel(tmp_path), 2024).collect()
    statins = of(r, "pdc_statins")
    assert dict(zip(statins["person_id"], statins["numerator"], strict=True)) == {
        "A": 1.0,
        "B": 0.0,
    }
    assert of(r, "pdc_diabetes").is_empty()
    assert of(r, "pdc_ras").is_empty()


def test_supd_and_spc_denominators_and_statin_fills(tmp_path):
    b = Book()
    b.member("D1", birth=D(1960, 1, 1)).fill("D1", D(2024, 1, 1), METFORMIN).fill(
        "D1", D(2024, 2, 1), METFORMIN
    )
    b.fill("D1", D(2024, 3, 1), ATORVASTATIN)
    b.member("D2", birth=D(1960, 1, 1)).fill("D2", D(2024, 1, 1), METFORMIN).fill(
        "D2", D(2024, 2, 1), METFORMIN
    )
    b.member("D3", birth=D(1940, 1, 1)).fill("D3", D(2024, 1, 1), METFORMIN).fill(
        "D3", D(2024, 2, 1), METFORMIN
    )  # 84: too old
    b.member("D4", birth=D(1960, 1, 1)).fill("D4", D(2024, 1, 1), METFORMIN)  # one fill
    panel = b.panel(tmp_path)
    supd = supd_rows(panel, 2024).collect().sort("person_id")
    assert supd["person_id"].to_list() == ["D1", "D2"]
    assert supd["numerator"].to_list() == [1.0, 0.0]

    c = Book()
    c.member("S1", gender="male", birth=D(1960, 1, 1)).visit("S1", D(2023, 5, 1), dx="I214")
    c.fill("S1", D(2024, 3, 1), ATORVASTATIN)
    c.member("S2", gender="female", birth=D(1988, 1, 1)).visit("S2", D(2023, 5, 1), dx="I214")
    c.member("S3", gender="female", birth=D(1960, 1, 1)).visit("S3", D(2023, 5, 1), dx="I2510")
    c.visit("S3", D(2024, 5, 1), dx="I2510")  # IVD in both years
    c.member("S4", gender="female", birth=D(1960, 1, 1)).visit("S4", D(2024, 5, 1), dx="I2510")
    spc = spc_rows(c.panel(tmp_path / "c"), 2024).collect().sort("person_id")
    assert spc["person_id"].to_list() == ["S1", "S3"]  # S2 is a woman under 40; S4 one year
    assert spc["numerator"].to_list() == [1.0, 0.0]


fill = st.tuples(st.integers(0, 365), st.sampled_from([30, 60, 90]))


def _frame(fills: list[tuple[int, int]]) -> pl.LazyFrame:
    start = dt.date(2024, 1, 1)
    return pl.LazyFrame(
        {
            "person_id": ["P"] * len(fills),
            "drug_class": ["statin"] * len(fills),
            "drug": ["x"] * len(fills),
            "dispensing_date": [start + dt.timedelta(days=d) for d, _ in fills],
            "days_supply": [s for _, s in fills],
        },
        schema={
            "person_id": pl.String,
            "drug_class": pl.String,
            "drug": pl.String,
            "dispensing_date": pl.Date,
            "days_supply": pl.Int64,
        },
    )


MEMBERS = pl.LazyFrame(
    {"person_id": ["P"], "death_date": [None]},
    schema={"person_id": pl.String, "death_date": pl.Date},
)
NO_STAYS = pl.LazyFrame(schema={"person_id": pl.String, "start": pl.Int64, "end": pl.Int64})


def _value(fills):
    out = proportion_of_days_covered(_frame(fills), MEMBERS, NO_STAYS, 2024).collect()
    return None if out.is_empty() else out["pdc"][0]


@settings(max_examples=60, deadline=None)
@given(st.lists(fill, min_size=2, max_size=8), fill)
def test_pdc_is_a_proportion_and_another_fill_never_lowers_it(fills, extra):
    before = _value(fills)
    if before is None:
        return
    assert 0.0 <= before <= 1.0
    first = min(d for d, _ in fills)
    after = _value([*fills, (max(extra[0], first), extra[1])])
    assert after is not None and after >= before - 1e-12


# ---- differential test: the vectorized PDC against a day-by-day count of PQA's rule ----------

YEAR_START = dt.date(2024, 1, 1)
many_fill = st.tuples(
    st.sampled_from(["P1", "P2", "P3"]),
    st.sampled_from(["statin", "ras"]),
    st.sampled_from(["x", "y"]),
    st.integers(0, 365),
    st.integers(1, 200),
)
stay = st.tuples(st.sampled_from(["P1", "P2", "P3"]), st.integers(-20, 370), st.integers(0, 40))


def _day_by_day(fills, stays, deaths) -> dict[tuple[str, str], tuple[int, int]]:
    """PQA's PDC counted one day at a time: each drug's fills shifted one after another in date
    order, the union of the drugs' days, inpatient days out of the period and the covered days."""
    last = (dt.date(2024, 12, 31) - YEAR_START).days
    out = {}
    for person, cls in {(p, c) for p, c, *_ in fills}:
        own = [f for f in fills if f[0] == person and f[1] == cls]
        dates = {d for *_, d, _ in own}
        death = deaths.get(person)
        end = min(last, death) if death is not None else last
        first = min(dates)
        if len(dates) < 2 or end - first + 1 < 91:
            continue
        days: set[int] = set()
        for drug in {f[2] for f in own}:
            free = -(10**9)
            for _, _, _, d, supply in sorted(f for f in own if f[2] == drug):
                start = max(d, free)
                days.update(range(start, start + supply))
                free = start + supply
        facility = {day for p, s, n in stays if p == person for day in range(s, s + n + 1)}
        period = set(range(first, end + 1)) - facility
        out[(person, cls)] = (len(days & period), len(period))
    return out


@settings(max_examples=80, deadline=None)
@given(
    st.lists(many_fill, min_size=1, max_size=14),
    st.lists(stay, max_size=4),
    st.dictionaries(st.sampled_from(["P1", "P2", "P3"]), st.integers(100, 365), max_size=1),
)
def test_pdc_equals_a_day_by_day_count(fills, stays, deaths):
    epoch = YEAR_START.toordinal() - dt.date(1970, 1, 1).toordinal()
    frame = pl.LazyFrame(
        {
            "person_id": [f[0] for f in fills],
            "drug_class": [f[1] for f in fills],
            "drug": [f[2] for f in fills],
            "dispensing_date": [YEAR_START + dt.timedelta(days=f[3]) for f in fills],
            "days_supply": [f[4] for f in fills],
        },
        schema={
            "person_id": pl.String,
            "drug_class": pl.String,
            "drug": pl.String,
            "dispensing_date": pl.Date,
            "days_supply": pl.Int64,
        },
    )
    members = pl.LazyFrame(
        {
            "person_id": ["P1", "P2", "P3"],
            "death_date": [
                YEAR_START + dt.timedelta(days=deaths[p]) if p in deaths else None
                for p in ("P1", "P2", "P3")
            ],
        },
        schema={"person_id": pl.String, "death_date": pl.Date},
    )
    # facility stays as the engine receives them: disjoint per person (merged first)
    merged: list[tuple[str, int, int]] = []
    for person in ("P1", "P2", "P3"):
        spans = sorted((s, s + n) for p, s, n in stays if p == person)
        for s, e in spans:
            if merged and merged[-1][0] == person and s <= merged[-1][2] + 1:
                merged[-1] = (person, merged[-1][1], max(merged[-1][2], e))
            else:
                merged.append((person, s, e))
    facility = pl.LazyFrame(
        {
            "person_id": [m[0] for m in merged],
            "start": [m[1] + epoch for m in merged],
            "end": [m[2] + epoch for m in merged],
        },
        schema={"person_id": pl.String, "start": pl.Int64, "end": pl.Int64},
    )
    got = _pdc(proportion_of_days_covered(frame, members, facility, 2024))
    assert got == _day_by_day(fills, stays, deaths)
