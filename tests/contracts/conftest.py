from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def history(small_dataset):
    """The small dataset's panel history, read once for every contracts test that projects."""
    from contracts.history import panel_history

    return panel_history(small_dataset, payment_score_years=(2025,))
