"""HCC inputs read from the canonical tables: ESRD status from claims."""

from __future__ import annotations

import polars as pl


def test_esrd_status_from_claims():
    """Transplant admission (MS-DRG 652) in November 2025: on January 1, 2026 that is month 3
    (a transplant month); one in March 2025 is a graft in month 11; dialysis after the
    transplant means a failed graft; Z94.0 without recent dialysis is a graft of unknown age."""
    import datetime as dt

    from risk_stratification.hcc.inputs import esrd_status

    claims = pl.DataFrame(
        {
            "person_id": ["t", "g", "f", "f", "z", "d"],
            "claim_type": ["institutional"] * 6,
            "claim_start_date": [
                dt.date(2025, 11, 3),
                dt.date(2025, 3, 10),
                dt.date(2024, 5, 1),
                dt.date(2025, 9, 1),
                dt.date(2025, 6, 1),
                dt.date(2025, 12, 1),
            ],
            "claim_end_date": [
                dt.date(2025, 11, 9),
                dt.date(2025, 3, 15),
                dt.date(2024, 5, 8),
                dt.date(2025, 9, 30),
                dt.date(2025, 6, 1),
                dt.date(2025, 12, 31),
            ],
            "drg_code": ["652", "652", "008", None, None, None],
            "bill_type_code": ["111", "111", "111", "721", "131", "721"],
            "diagnosis_code_1": ["N186", "N186", "N186", "N186", "Z940", "N186"],
        }
    ).with_columns(
        [pl.lit(None, dtype=pl.String).alias(f"diagnosis_code_{i}") for i in range(2, 26)]
    )
    people = pl.DataFrame({"person_id": ["t", "g", "f", "z", "d", "n"]})
    out = esrd_status(claims.lazy(), people.lazy(), dt.date(2026, 1, 1)).collect().sort("person_id")
    assert dict(
        zip(
            out["person_id"], zip(out["esrd_status"], out["graft_months"], strict=True), strict=True
        )
    ) == {
        "d": ("dialysis", None),
        "f": ("dialysis", None),
        "g": ("graft", 11),
        "n": ("dialysis", None),
        "t": ("transplant", 3),
        "z": ("graft", None),
    }
