"""The shared text of numbers (``app.format``)."""

from __future__ import annotations

import math

from app.format import loss, money


def test_a_loss_measure_reads_as_a_loss_or_none_never_a_negative_loss():
    assert loss(12_345.4) == "$12,345"
    assert loss(0.0) == "none"
    assert loss(-0.3) == "none"  # rounds to $0: not a gain worth naming
    assert loss(-2_224.0) == "none (a gain of $2,224)"
    assert loss(-2_224.0, short=True) == "none" and loss(12_345.4, short=True) == "$12,345"
    assert loss(None) == "-" and loss(math.nan) == "-"
    assert money(-2_224.0) == "-$2,224"
