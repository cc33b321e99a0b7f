"""CMS-HCC risk adjustment: the V24, V28 and ESRD V24 models scored for a whole panel, and the
payment-year layer.

``tables`` reads a model's tables, ``demographics`` and ``conditions`` hold the steps every model
shares, ``engine.score`` scores people with a model's ``SegmentModel`` (``CommunityModel``, or
``esrd.EsrdModel``), and ``payment`` turns raw scores into payment scores. ``panel`` scores a
dataset's members for a payment year, ``inputs`` reads them from the canonical tables and
``gaps`` finds recapture gaps; import those from their modules.
"""

from risk_stratification.hcc.conditions import (
    CcIndex,
    apply_hierarchies,
    cc_index,
    condition_categories,
    interaction_flags,
)
from risk_stratification.hcc.demographics import (
    age_as_of_february_1,
    age_cell,
    common_flags,
    new_enrollee_cell,
)
from risk_stratification.hcc.engine import (
    CommunityModel,
    HccScores,
    SegmentModel,
    score,
    segment_model,
)
from risk_stratification.hcc.esrd import (
    EsrdModel,
    esrd_demographics,
    esrd_other_terms,
    esrd_payment_parameters,
    esrd_payment_scores,
)
from risk_stratification.hcc.payment import (
    parameters_for_payment_year,
    payment_scores,
    payment_year_parameters,
)
from risk_stratification.hcc.tables import MODELS, HccTables, load_tables, package_csv

__all__ = [
    "MODELS",
    "CcIndex",
    "CommunityModel",
    "EsrdModel",
    "HccScores",
    "HccTables",
    "SegmentModel",
    "age_as_of_february_1",
    "age_cell",
    "apply_hierarchies",
    "cc_index",
    "common_flags",
    "condition_categories",
    "esrd_demographics",
    "esrd_other_terms",
    "esrd_payment_parameters",
    "esrd_payment_scores",
    "interaction_flags",
    "load_tables",
    "new_enrollee_cell",
    "package_csv",
    "parameters_for_payment_year",
    "payment_scores",
    "payment_year_parameters",
    "score",
    "segment_model",
]
