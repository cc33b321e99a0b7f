from __future__ import annotations

import datetime as dt

import numpy as np

from modeling.synth.arrays import days_to_date, ranks_within


def test_ranks_within_groups():
    assert ranks_within(np.array([2, 0, 3])).tolist() == [0, 1, 0, 1, 2]
    assert ranks_within(np.array([], dtype=np.int64)).tolist() == []


def test_days_to_date():
    assert days_to_date(np.array([0, 19723])).to_list() == [
        dt.date(1970, 1, 1),
        dt.date(2024, 1, 1),
    ]
