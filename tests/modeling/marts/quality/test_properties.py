"""Property: adding a qualifying event never lowers a rate, for every rate-type measure family
where the rule allows it.

- screening: another mammogram or colonoscopy (a numerator event; it enters no exclusion);
- follow-up after discharge and medication reconciliation: another visit or 1111F (numerator
  events; the data's end is held fixed by a claim on the last day, so no stay enters or leaves
  the run-out window);
- PQIs: another stay with a qualifying principal diagnosis (heart failure, PQI 08) on days
  apart from every other stay (an overlapping one would merge stays, which can lower a count);
- SUPD and SPC: another statin fill (their denominators read diabetes fills and diagnoses).

Not monotone by rule, so not tested this way: PDC rates (a new fill can add a member to the
denominator below 80%; the member's own PDC never falls, ``test_adherence``), readmission and
mortality (an added stay is itself an index stay or a first admission) and length of stay.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modeling.marts.quality.adherence import spc_rows, supd_rows
from modeling.marts.quality.hospital import followup_rows, mrp_rows
from modeling.marts.quality.pqi import pqi_rows
from modeling.marts.quality.screening import breast_screening_rows, colorectal_screening_rows
from tests.modeling.marts.quality.builders import ATORVASTATIN, METFORMIN, Book, D

YEAR = 2024
PEOPLE = ("A", "B", "C")
day = st.integers(0, 3 * 365 - 1)  # 2023-01-01 .. 2025-12-30
KINDS = ("mammogram", "colonoscopy", "stay", "visit", "reconciliation", "metformin", "statin")
event = st.tuples(st.sampled_from(PEOPLE), st.sampled_from(KINDS), day, st.integers(0, 6))
member = st.tuples(st.integers(1945, 1978), st.sampled_from(["female", "male"]))


def _on(offset: int) -> dt.date:
    return D(2023, 1, 1) + dt.timedelta(days=offset)


def _book(members, events, extra) -> Book:
    b = Book()
    for pid, (born, gender) in zip(PEOPLE, members, strict=True):
        b.member(pid, birth=D(born, 3, 1), gender=gender)
    b.member("END").visit("END", D(2025, 12, 31))  # the data's end, fixed
    for pid, kind, offset, n in [*events, *extra]:
        on = _on(offset)
        if kind == "mammogram":
            b.visit(pid, on, "77067")
        elif kind == "colonoscopy":
            b.visit(pid, on, "45378")
        elif kind == "stay":
            pdx = ("I5023", "J189", "I10")[n % 3]
            b.stay(pid, on, on + dt.timedelta(days=n), pdx=pdx, disposition=("01", "06")[n % 2])
        elif kind == "visit":
            b.visit(pid, on)
        elif kind == "reconciliation":
            b.visit(pid, on, "1111F")
        elif kind == "metformin":
            b.fill(pid, on, METFORMIN, days=30 * (1 + n % 3))
        else:
            b.fill(pid, on, ATORVASTATIN, days=30 * (1 + n % 3))
    return b


def _rates(frame: pl.LazyFrame) -> dict[str, float]:
    f = frame.collect()
    if "measure_id" not in f.columns:
        f = f.with_columns(pl.lit("m").alias("measure_id"))
    sums = f.group_by("measure_id").agg(pl.col("numerator").sum(), pl.col("denominator").sum())
    return {
        r["measure_id"]: r["numerator"] / r["denominator"]
        for r in sums.iter_rows(named=True)
        if r["denominator"] > 0
    }


FAMILIES = {
    "screening": (
        ("mammogram", "colonoscopy"),
        lambda p: pl.concat(
            [
                breast_screening_rows(p, YEAR).with_columns(pl.lit("breast").alias("measure_id")),
                colorectal_screening_rows(p, YEAR).with_columns(pl.lit("crc").alias("measure_id")),
            ]
        ),
    ),
    "transitions": (
        ("visit", "reconciliation"),
        lambda p: pl.concat(
            [
                followup_rows(p, YEAR, days=7).with_columns(pl.lit("7").alias("measure_id")),
                followup_rows(p, YEAR, days=14).with_columns(pl.lit("14").alias("measure_id")),
                mrp_rows(p, YEAR).with_columns(pl.lit("mrp").alias("measure_id")),
            ]
        ),
    ),
    "statins": (
        ("statin",),
        lambda p: pl.concat(
            [
                supd_rows(p, YEAR).with_columns(pl.lit("supd").alias("measure_id")),
                spc_rows(p, YEAR).with_columns(pl.lit("spc").alias("measure_id")),
            ]
        ),
    ),
}


def _check(family: str, members, events, extra_event) -> None:
    kinds, rows_of = FAMILIES[family]
    pid, _, offset, n = extra_event
    # numerator events of a discharge land after one of the member's stays when there is one
    ends = [o + k for p, kind, o, k in events if p == pid and kind == "stay"]
    if family == "transitions" and ends:
        offset = min(ends[offset % len(ends)] + 1 + offset % 14, 3 * 365 - 1)
    extra = [(pid, kinds[n % len(kinds)], offset, n)]
    with tempfile.TemporaryDirectory() as tmp:
        before = _rates(rows_of(_book(members, events, []).panel(Path(tmp) / "a")))
        after = _rates(rows_of(_book(members, events, extra).panel(Path(tmp) / "b")))
    for measure_id, rate in before.items():
        assert after[measure_id] >= rate - 1e-12, (measure_id, rate, after[measure_id])


PROPERTY = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(st.lists(member, min_size=3, max_size=3), st.lists(event, max_size=10), event)
def test_another_screening_test_never_lowers_a_screening_rate(members, events, extra):
    _check("screening", members, events, extra)


@PROPERTY
@given(
    st.lists(member, min_size=3, max_size=3),
    st.lists(event, max_size=10),
    st.tuples(st.integers(365, 700), st.integers(0, 6)),
    event,
)
def test_another_visit_never_lowers_follow_up_or_reconciliation(members, events, stay, extra):
    # member A has a 2024 stay, and the extra visit or 1111F is A's, after one of A's stays
    a_stay = ("A", "stay", stay[0], stay[1])
    _check("transitions", members, [*events, a_stay], ("A", *extra[1:]))


@PROPERTY
@given(st.lists(member, min_size=3, max_size=3), st.lists(event, max_size=10), event)
def test_another_statin_fill_never_lowers_supd_or_spc(members, events, extra):
    _check("statins", members, events, extra)


@PROPERTY
@given(
    st.lists(member, min_size=3, max_size=3),
    st.lists(event, max_size=10),
    st.sampled_from(PEOPLE),
    st.integers(365, 2 * 365 - 1),
)
def test_another_separate_qualifying_stay_never_lowers_a_pqi_rate(members, events, pid, offset):
    admit = _on(offset)
    taken = [
        (_on(o), _on(o) + dt.timedelta(days=n))
        for p, kind, o, n in events
        if p == pid and kind == "stay"
    ]
    # apart from every stay of the member by more than a day (the core merges within a day)
    if any(s - dt.timedelta(days=2) <= admit <= e + dt.timedelta(days=2) for s, e in taken):
        return
    with tempfile.TemporaryDirectory() as tmp:
        before = _rates(pqi_rows(_book(members, events, []).panel(Path(tmp) / "a"), YEAR))
        # n = 0: a same-day stay with principal diagnosis I5023 (heart failure, PQI 08)
        extra = [(pid, "stay", offset, 0)]
        after = _rates(pqi_rows(_book(members, events, extra).panel(Path(tmp) / "b"), YEAR))
    assert set(after) == set(before)
    for measure_id, rate in before.items():
        assert after[measure_id] >= rate - 1e-12, measure_id
    assert after["pqi_08"] > before["pqi_08"]
