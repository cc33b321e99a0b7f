from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def history(small_dataset):
    """The small dataset's panel history, read once for every contracts test that projects."""
    from contracts.projection import panel_history

    return panel_history(small_dataset)
