"""Service categories for medical claim lines, and pharmacy.

Rules, in order (institutional claims are categorized as a whole claim, by type of bill; an
outpatient claim with an emergency-department revenue center is an ED claim):

| claim | rule | category |
|---|---|---|
| institutional | bill type 11x | acute inpatient |
| institutional | bill type 18x (swing bed), 21x | skilled nursing facility |
| institutional | bill type 32x, 33x, 34x | home health |
| institutional | bill type 81x, 82x | hospice |
| institutional | bill type 13x or 85x with revenue center 045x or 0981 | emergency department |
| institutional | bill type 12x, 13x, 14x, 43x, 72x-76x, 79x, 83x, 85x | outpatient hospital |
| institutional | bill type 71x, 77x (RHC, FQHC) | office/professional |
| professional | HCPCS A0021-A0999 or place of service 41, 42 | ambulance |
| professional | HCPCS E, K, L, B4 or A4-A7 codes, or place of service 12 with such a code | durable medical equipment |
| professional | any other line | office/professional |
| either | anything else | other |

Professional services rendered in the ED or hospital are office/professional (they are paid
under the physician fee schedule), as in MedPAC's and CMS's spending breakdowns by sector.
"""

from __future__ import annotations

import polars as pl

from modeling.codes import ED_REVENUE
from modeling.validation import require_columns

CATEGORIES = (
    "acute inpatient",
    "skilled nursing facility",
    "home health",
    "hospice",
    "outpatient hospital",
    "emergency department",
    "office/professional",
    "ambulance",
    "durable medical equipment",
    "other",
)
PHARMACY = "pharmacy"


def bill_type() -> pl.Expr:
    """The type of bill (facility type, bill classification, frequency), with a leading 0 of the
    4-character form dropped: "0131" and "131" are both "131"."""
    bt = pl.col("bill_type_code").str.strip_chars()
    return pl.when(bt.str.len_chars() == 4).then(bt.str.slice(1)).otherwise(bt)


def bill_type_prefix() -> pl.Expr:
    """The first two digits of the type of bill (facility type and bill classification), with a
    leading 0 of the 4-character form dropped: "0131" and "131" are both "13"."""
    return bill_type().str.slice(0, 2)


def ed_claims(medical_claim: pl.LazyFrame) -> pl.LazyFrame:
    """person_id, claim_id of each claim with a line in an emergency-department revenue center
    (0450-0459, 0981): the claims whose outpatient facility lines are "emergency department".
    Few claims, so it is cheap to keep and makes the rule line by line (``with_service_category``
    with ``ed_claim_ids``)."""
    ed_line = pl.col("revenue_center_code").is_in(ED_REVENUE).fill_null(False)
    return medical_claim.filter(ed_line).select("person_id", "claim_id").unique()


# the category of an institutional claim by the first two digits of its type of bill (the rows
# of the table above); an outpatient bill (13x, 85x) of an ED claim is "emergency department"
_BILL_TYPE_CATEGORIES = {
    "11": "acute inpatient",
    **dict.fromkeys(("18", "21"), "skilled nursing facility"),
    **dict.fromkeys(("32", "33", "34"), "home health"),
    **dict.fromkeys(("81", "82"), "hospice"),
    **dict.fromkeys(
        ("12", "13", "14", "43", "72", "73", "74", "75", "76", "79", "83", "85"),
        "outpatient hospital",
    ),
    **dict.fromkeys(("71", "77"), "office/professional"),
}
# the claim-line columns the rule of ``with_service_category`` reads
CATEGORY_COLUMNS = (
    "claim_id",
    "claim_type",
    "bill_type_code",
    "revenue_center_code",
    "hcpcs_code",
    "place_of_service_code",
)

_ED_BILL_TYPES = ("13", "85")


def with_service_category(
    medical_claim: pl.LazyFrame,
    *,
    ed_claim_ids: pl.Series | None = None,
    coded: bool = False,
) -> pl.LazyFrame:
    """Add ``service_category`` to every medical claim line (lines that have it already are
    returned as they are, so a caller can categorize once and reuse the result).

    ``ed_claim_ids``: the ids of the claims with an ED revenue-center line (``ed_claims``) when
    the caller has them. The rule is then evaluated line by line, so a filter on the result (a
    year, a range of people) is applied while the lines are read; without them they are found
    among ``medical_claim``'s own lines, which needs all of its lines first.

    ``coded``: add ``service_category_code`` instead, the category's position in
    ``CATEGORIES`` (``category_name`` names it): the same rule, for a caller that groups the
    lines by category and names the groups after, which is cheaper than naming every line."""
    names = medical_claim.collect_schema().names()
    if "service_category" in names or (coded and CODE_COLUMN in names):
        return medical_claim
    require_columns(medical_claim, CATEGORY_COLUMNS, where="with_service_category")
    coded_lines = medical_claim.with_columns(
        bill_type_prefix().alias("_bill_type_prefix")
    ).with_columns(_category_code(_ed_claim(ed_claim_ids)).alias(CODE_COLUMN))
    if coded:
        return coded_lines.drop("_bill_type_prefix")
    return coded_lines.with_columns(
        category_name(pl.col(CODE_COLUMN)).alias("service_category")
    ).drop("_bill_type_prefix", CODE_COLUMN)


CODE_COLUMN = "service_category_code"
_CODE = {category: n for n, category in enumerate(CATEGORIES)}


def category_name(code: pl.Expr) -> pl.Expr:
    """The service category whose position in ``CATEGORIES`` is ``code``."""
    # an element-wise mapping (a ``gather`` from the names would stop filters from being
    # pushed below it, to the reading of the lines)
    return code.replace_strict(dict(enumerate(CATEGORIES)), return_dtype=pl.String)


def _ed_claim(ed_claim_ids: pl.Series | None) -> pl.Expr:
    if ed_claim_ids is None:
        # membership in the few ED claims' ids: the same flag as a window over claim_id, at a
        # fraction of its cost
        ed_line = pl.col("revenue_center_code").is_in(ED_REVENUE).fill_null(False)
        return pl.col("claim_id").is_in(pl.col("claim_id").filter(ed_line).unique().implode())
    return pl.col("claim_id").is_in(ed_claim_ids.implode())


def _code(category: str) -> pl.Expr:
    return pl.lit(_CODE[category], pl.UInt8)


def _category_code(ed_claim: pl.Expr) -> pl.Expr:
    """The rule of the module's table, as positions in ``CATEGORIES`` (small integers are
    cheaper to choose between and to group by than the names)."""
    bt = pl.col("_bill_type_prefix")
    by_bill_type = {prefix: _CODE[category] for prefix, category in _BILL_TYPE_CATEGORIES.items()}
    institutional = (
        pl.when(bt.is_in(_ED_BILL_TYPES) & ed_claim)
        .then(_code("emergency department"))
        .otherwise(bt.replace_strict(by_bill_type, default=_CODE["other"], return_dtype=pl.UInt8))
    )
    hcpcs = pl.col("hcpcs_code").fill_null("")
    pos = pl.col("place_of_service_code").fill_null("")
    ambulance = hcpcs.str.contains(r"^A0\d{3}$") | pos.is_in(["41", "42"])
    dme = hcpcs.str.contains(r"^([EKL]\d{4}|B4\d{3}|A[4-7]\d{3})$")
    professional = (
        pl.when(ambulance)
        .then(_code("ambulance"))
        .when(dme)
        .then(_code("durable medical equipment"))
        .otherwise(_code("office/professional"))
    )
    return (
        pl.when(pl.col("claim_type") == "institutional")
        .then(institutional)
        .when(pl.col("claim_type") == "professional")
        .then(professional)
        .otherwise(_code("other"))
    )
