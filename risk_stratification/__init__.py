"""Risk stratification, built on the canonical tables in ``modeling``.

- ``risk_stratification.hcc``: CMS-HCC risk scores (V24, V28 and the ESRD V24 model) for a whole
  panel, the payment-year layer (normalization, blend, MA coding adjustment), a dataset's panel
  scored for a payment year (``hcc.panel``) and HCC recapture gaps (``hcc.gaps``).
- ``risk_stratification.ml``: machine-learned risk (next-year cost, admission, ED visit, top-5%
  cost, 30-day readmission), evaluated on a later year against CMS-HCC and prior cost, with
  plain-words drivers and risk tiers.

Care-management targeting (which members to reach, with which program) is not built yet; it will
live in ``risk_stratification/targeting/``.

The subpackages are imported on first use (``risk_stratification.ml`` imports LightGBM), so
reading CMS-HCC scores does not load the ML stack.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["hcc", "ml"]


def __getattr__(name: str) -> ModuleType:
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
