"""The calibrator of the binary risk models."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from risk_stratification.ml.models import calibrator


def test_calibrator_by_hand():
    # bins of 2 in score order: rates 0.5, 0.0, 1.0 at mean scores 0.15, 0.35, 0.55; the first
    # two violate the order and pool to 0.25; between 0.35 and 0.55 the map is linear
    cal = calibrator(
        np.array([0.6, 0.1, 0.4, 0.2, 0.5, 0.3]), np.array([1, 0, 0, 1, 1, 0.0]), people_per_bin=2
    )
    assert cal.predict([0.0, 0.15, 0.35, 0.45, 0.55, 0.9]).tolist() == pytest.approx(
        [0.25, 0.25, 0.25, 0.625, 1.0, 1.0]
    )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0, 1), st.booleans()), min_size=1, max_size=400),
    st.integers(1, 60),
)
def test_calibrator_is_monotone_and_keeps_the_event_rate(people, per_bin):
    raw, outcome = np.array([p[0] for p in people]), np.array([float(p[1]) for p in people])
    cal = calibrator(raw, outcome, people_per_bin=per_bin)
    grid = np.linspace(-0.1, 1.1, 50)
    assert (
        np.all(np.diff(cal.predict(grid)) >= -1e-12)
        and cal.predict(grid).min() >= 0
        and cal.predict(grid).max() <= 1
    )
    # every rate comes from at least per_bin people: fewer events than that never reach certainty
    if len(raw) >= per_bin and outcome.sum() < per_bin:
        assert cal.predict(raw).max() < 1
    # isotonic regression keeps the weighted mean: bins' fitted rates average to the event rate
    bins = np.array_split(np.argsort(raw, kind="stable"), max(1, len(raw) // per_bin))
    fitted = cal.predict([raw[b].mean() for b in bins])
    assert np.average(fitted, weights=[len(b) for b in bins]) == pytest.approx(
        outcome.mean(), abs=1e-9
    )
