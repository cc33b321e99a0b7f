from __future__ import annotations

import math

import polars as pl

from modeling.synth.calibration import measure, targets


def test_measure_reports_every_figure_on_a_small_panel(small_dataset):
    """Every calibration figure is measured (the tolerances are checked on 50,000 members, slow)."""
    report = measure(small_dataset)
    assert report["figure"].to_list() == targets()["figure"].to_list()
    achieved = report["achieved"].to_list()
    missing = [
        f for f, a in zip(report["figure"], achieved, strict=True) if a is None or math.isnan(a)
    ]
    assert missing == []
    assert report["within_tolerance"].dtype == pl.Boolean
    assert report["within_tolerance"].null_count() == 0
