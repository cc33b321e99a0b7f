"""Acute legs: one row per acute inpatient claim, the unit that transfers are chained from.

A *leg* is one acute inpatient claim (type of bill 11x, service category ``acute inpatient``)
with its own facility, admission and discharge dates, MS-DRG and discharge status. Episode
engines chain a person's legs into anchor stays (a transfer: the next leg admitted on or before
the latest discharge so far; CMS shadow bundles ``c3_resolve_transfer_stays``) and price the
stay on its final leg, so they need each leg's own DRG and facility, which ``inpatient_stays``
(already merged stays) no longer carries.

Columns: ``claim_id, person_id, start`` (admission date, else the claim's first date), ``end``
(discharge date, else the claim's last date), ``drg_code`` and ``discharge_disposition_code``
(of the claim's last line carrying one), ``facility_npi`` (the first one on the claim),
``paid_amount`` (the claim's lines added up) and ``is_irf`` (the claim has a revenue center 0024
line: an inpatient rehabilitation facility bill, which is post-acute care, not a leg of an
acute stay, kept here flagged so that spending and GMLOS can tell them apart).
"""

from __future__ import annotations

import polars as pl

from modeling.validation import require_columns

IRF_REVENUE = "0024"  # IRF PPS: revenue code 0024 carries the HIPPS case-mix group
LEG_INPUT_COLUMNS = (
    "claim_id",
    "claim_line_number",
    "person_id",
    "claim_start_date",
    "claim_end_date",
    "admission_date",
    "discharge_date",
    "discharge_disposition_code",
    "drg_code",
    "revenue_center_code",
    "facility_npi",
    "paid_amount",
    "service_category",
)


def acute_legs(claim_lines: pl.LazyFrame) -> pl.LazyFrame:
    """One row per acute inpatient claim of ``claim_lines`` (canonical lines with
    ``service_category``, the core's ``claim_lines``), columns as in the module docstring,
    sorted by person, start, end and claim id."""
    require_columns(claim_lines, LEG_INPUT_COLUMNS, where="the acute legs table")
    ip = claim_lines.filter(pl.col("service_category") == "acute inpatient")
    order = ["claim_line_number"]
    return (
        ip.group_by("claim_id")
        .agg(
            pl.col("person_id").first(),
            pl.coalesce("admission_date", "claim_start_date").min().alias("start"),
            pl.coalesce("discharge_date", "claim_end_date").max().alias("end"),
            pl.col("drg_code").sort_by(order).drop_nulls().last(),
            pl.col("discharge_disposition_code").sort_by(order).drop_nulls().last(),
            pl.col("facility_npi").drop_nulls().first(),
            pl.col("paid_amount").sum(),
            (pl.col("revenue_center_code") == IRF_REVENUE).any().alias("is_irf"),
        )
        .sort("person_id", "start", "end", "claim_id")
    )
