"""CCLF layouts: the packet's field tables as data."""

from __future__ import annotations

import pytest

from modeling.errors import SchemaError
from modeling.ingest.cclf.layouts import load_layouts
from tests.modeling.ingest.cclf.builders import LAYOUTS


def test_layouts_are_contiguous_and_named_by_cms():
    assert LAYOUTS["CCLF1"].record_length == 437
    assert LAYOUTS["CCLF5"].record_length == 388
    assert LAYOUTS["CCLF8"].record_length == 549
    assert {f.kind for f in LAYOUTS["CCLF5"].fields if f.name.endswith("_AMT")} == {"amount"}
    with pytest.raises(SchemaError, match="Shipped versions: v36"):
        load_layouts("v99")
