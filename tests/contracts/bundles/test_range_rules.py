"""The vectorized building blocks of the episode builder against plain Python: runs of
overlapping rows (transfer chaining, enrollment spans) and the window-to-claims range look-up."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

import contracts.bundles.distribution as dist
from contracts.bundles.episodes import run_numbers
from contracts.bundles.spending import index_claims, window_pairs

DAY0 = dt.date(2024, 1, 1)
rows = st.lists(
    st.tuples(
        st.sampled_from(["A", "B", "C"]),
        st.integers(0, 60),
        st.integers(0, 20),
    ),
    min_size=0,
    max_size=40,
)


def _naive_runs(frame: list[tuple[str, int, int]], gap: int) -> list[int]:
    out, run, person, latest = [], 0, None, None
    for p, start, end in frame:
        if p != person or start > latest + gap:
            run, latest = run + 1, end
        else:
            latest = max(latest, end)
        person = p
        out.append(run)
    return out


@settings(max_examples=150, deadline=None)
@given(rows, st.integers(0, 2))
def test_run_numbers_equal_a_person_by_person_loop(data, gap):
    data = sorted((p, s, s + d) for p, s, d in data)
    frame = pl.DataFrame(
        {
            "person_id": [p for p, _, _ in data],
            "start": [DAY0 + dt.timedelta(days=s) for _, s, _ in data],
            "end": [DAY0 + dt.timedelta(days=e) for _, _, e in data],
        },
        schema={"person_id": pl.String, "start": pl.Date, "end": pl.Date},
    )
    got = frame.select(run_numbers("person_id", "start", "end", gap_days=gap)).to_series()
    assert got.to_list() == _naive_runs(data, gap)


def test_run_numbers_chain_a_transfer_and_split_a_gap():
    frame = pl.DataFrame(
        {
            "person_id": ["A", "A", "A", "B"],
            "start": [DAY0, DAY0 + dt.timedelta(days=4), DAY0 + dt.timedelta(days=6), DAY0],
            "end": [
                DAY0 + dt.timedelta(days=4),
                DAY0 + dt.timedelta(days=5),
                DAY0 + dt.timedelta(days=8),
                DAY0,
            ],
        }
    )
    # day 4 admission on the day-4 discharge chains (a transfer); day 6 after a day-5 end does not
    assert frame.select(run_numbers("person_id", "start", "end")).to_series().to_list() == [
        1,
        1,
        2,
        3,
    ]


windows = st.lists(
    st.tuples(st.sampled_from(["A", "B", "C", "D"]), st.integers(0, 80), st.integers(0, 40)),
    max_size=12,
)
claims = st.lists(st.tuples(st.sampled_from(["A", "B", "C"]), st.integers(0, 130)), max_size=60)


@settings(max_examples=150, deadline=None)
@given(windows, claims, st.integers(0, 2), st.integers(0, 30))
def test_window_pairs_equal_a_join_on_the_person_and_a_filter(ws, cs, before, after):
    win = pl.DataFrame(
        {
            "episode_id": [f"e{i}" for i in range(len(ws))],
            "person_id": [p for p, _, _ in ws],
            "anchor_start": [DAY0 + dt.timedelta(days=s) for _, s, _ in ws],
            "window_end": [DAY0 + dt.timedelta(days=s + d) for _, s, d in ws],
        },
        schema={
            "episode_id": pl.String,
            "person_id": pl.String,
            "anchor_start": pl.Date,
            "window_end": pl.Date,
        },
    )
    spans = pl.DataFrame(
        {
            "claim_id": [f"c{i}" for i in range(len(cs))],
            "person_id": [p for p, _ in cs],
            "start": [DAY0 + dt.timedelta(days=s) for _, s in cs],
        },
        schema={"claim_id": pl.String, "person_id": pl.String, "start": pl.Date},
    )
    got = window_pairs(index_claims(spans), win, before_days=before, after_days=after)
    expected = win.join(spans, on="person_id", how="inner").filter(
        (pl.col("start") >= pl.col("anchor_start") - pl.duration(days=before))
        & (pl.col("start") <= pl.col("window_end") + pl.duration(days=after))
    )
    key = ["episode_id", "claim_id"]
    assert sorted(got.select(key).rows()) == sorted(expected.select(key).rows())
    assert "person_id" not in got.columns  # the windows carry the person; claims do not repeat it


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 40),
    st.integers(1, 300),
    st.floats(0.0, 3.0),
    st.integers(1, 50),
    st.integers(0, 2**31),
)
def test_bootstrap_sums_in_blocks_equal_one_draw_of_every_year(n, draws, mean, chunk, seed):
    values = np.random.default_rng(seed + 1).lognormal(9, 1, (n, 2))
    one = np.random.default_rng(seed)
    volume = one.poisson(mean, draws)  # zero-volume years included
    picks = one.integers(0, n, int(volume.sum()))
    year_of = np.repeat(np.arange(draws), volume)
    expected = [np.bincount(year_of, weights=values[picks, k], minlength=draws) for k in (0, 1)]
    blocks = np.random.default_rng(seed)
    assert (blocks.poisson(mean, draws) == volume).all()
    old, dist.CHUNK_PICKS = dist.CHUNK_PICKS, chunk
    try:
        got = dist._bootstrap_sums(blocks, volume, values)
    finally:
        dist.CHUNK_PICKS = old
    for k in (0, 1):
        assert np.allclose(got[k], expected[k], rtol=1e-12, atol=1e-6)
    # the generator is left where one draw would leave it
    assert blocks.random() == one.random()
