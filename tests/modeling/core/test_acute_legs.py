"""The core's acute legs: one row per acute inpatient claim with its own dates, MS-DRG,
discharge status and facility, IRF bills flagged."""

from __future__ import annotations

import datetime as dt

import polars as pl

from modeling.core.acute_legs import LEG_INPUT_COLUMNS, acute_legs
from modeling.core.panel import CORE_TABLES, Panel

D = dt.date


def _line(
    claim,
    n,
    person,
    start,
    end,
    *,
    drg=None,
    disp=None,
    rev="0120",
    npi="H1",
    paid=100.0,
    cat="acute inpatient",
):
    return {
        "claim_id": claim,
        "claim_line_number": n,
        "person_id": person,
        "claim_start_date": start,
        "claim_end_date": end,
        "admission_date": start,
        "discharge_date": end,
        "discharge_disposition_code": disp,
        "drg_code": drg,
        "revenue_center_code": rev,
        "facility_npi": npi,
        "paid_amount": paid,
        "service_category": cat,
    }


def test_one_row_per_acute_claim_with_its_last_line_codes_and_irf_flag():
    lines = pl.DataFrame(
        [
            _line("C1", 1, "P1", D(2025, 3, 1), D(2025, 3, 4), drg="470", paid=9000.0),
            _line("C1", 2, "P1", D(2025, 3, 1), D(2025, 3, 4), drg="470", disp="02", paid=1000.0),
            _line("C2", 1, "P1", D(2025, 3, 4), D(2025, 3, 9), drg="481", disp="01", npi="H2"),
            _line("C3", 1, "P1", D(2025, 3, 9), D(2025, 3, 20), rev="0024", npi="R1"),
            _line("C4", 1, "P1", D(2025, 3, 9), D(2025, 3, 9), cat="office/professional"),
        ],
        schema_overrides={"claim_line_number": pl.Int32},
    ).select(LEG_INPUT_COLUMNS)
    legs = acute_legs(lines.lazy()).collect()
    assert legs["claim_id"].to_list() == ["C1", "C2", "C3"]
    c1 = legs.row(0, named=True)
    assert (c1["drg_code"], c1["discharge_disposition_code"], c1["paid_amount"]) == (
        "470",
        "02",
        10000.0,
    )
    assert (c1["start"], c1["end"], c1["facility_npi"]) == (D(2025, 3, 1), D(2025, 3, 4), "H1")
    assert legs["is_irf"].to_list() == [False, False, True]


def test_acute_legs_is_a_core_table_of_the_panel(small_dataset):
    assert "acute_legs" in CORE_TABLES
    panel = Panel(small_dataset)
    legs = panel.read("acute_legs")
    ip_claims = (
        panel.scan("claim_lines")
        .filter(pl.col("service_category") == "acute inpatient")
        .select(pl.col("claim_id").n_unique())
        .collect()
        .item()
    )
    assert legs.height == ip_claims > 0
    assert legs["claim_id"].is_unique().all()
