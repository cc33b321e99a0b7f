"""The payment-year layer: normalization, blend, MA coding adjustment."""

from __future__ import annotations

import polars as pl
import pytest

from modeling.errors import ParameterError
from risk_stratification.hcc.payment import payment_scores


def test_payment_layer_blends_normalizes_and_adjusts():
    raw24 = pl.DataFrame({"person_id": ["A"], "raw_score": [1.2]})
    raw28 = pl.DataFrame({"person_id": ["A"], "raw_score": [1.1]})
    out = payment_scores({"V24": raw24, "V28": raw28}, 2025).row(0, named=True)
    n24, n28 = round(1.2 / 1.153, 3), round(1.1 / 1.045, 3)
    assert out["normalized_V24"] == n24 and out["normalized_V28"] == n28
    assert out["blended_score"] == round(0.33 * n24 + 0.67 * n28, 3)
    assert out["payment_score"] == round(out["blended_score"] * (1 - 0.059), 3)
    only28 = payment_scores({"V28": raw28}, 2026).row(0, named=True)
    assert only28["payment_score"] == round(round(1.1 / 1.067, 3) * 0.941, 3)


def test_missing_payment_year_is_a_clear_error():
    with pytest.raises(ParameterError, match="No CMS-HCC parameters for payment year 2031"):
        payment_scores({"V28": pl.DataFrame({"person_id": ["A"], "raw_score": [1.0]})}, 2031)
