"""Hand-built members written as a dataset, for the quality measure tests."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import polars as pl

from modeling.core.panel import Panel
from modeling.dataset import write_dataset
from modeling.schema import ELIGIBILITY, MEDICAL_CLAIM, PHARMACY_CLAIM, PROVIDER_ATTRIBUTION

D = dt.date
_ids = itertools.count()
BORN, FIRST, LAST = D(1950, 6, 1), D(2023, 1, 1), D(2025, 12, 31)


class Book:
    """Members and their claims, written with ``panel(tmp_path)``."""

    def __init__(self) -> None:
        self.elig: list[dict] = []
        self.med: list[dict] = []
        self.rx: list[dict] = []
        self.attr: list[dict] = []

    def member(
        self,
        pid: str,
        *,
        gender: str = "female",
        birth: dt.date = BORN,
        start: dt.date = FIRST,
        end: dt.date = LAST,
        death: dt.date | None = None,
        npi: str = "1111111111",
        dual: str = "NA",
        status: str = "10",
    ) -> Book:
        self.elig.append(
            dict(
                person_id=pid,
                member_id=pid,
                payer="medicare",
                payer_type="medicare",
                plan="ffs",
                gender=gender,
                birth_date=birth,
                death_date=death,
                enrollment_start_date=start,
                enrollment_end_date=end,
                original_reason_entitlement_code="0",
                dual_status_code=dual,
                medicare_status_code=status,
            )
        )
        for y in range(start.year, end.year + 1):
            self.attr.append(
                dict(person_id=pid, year=y, provider_npi=npi, provider_tin="T", provider_name="Dr")
            )
        return self

    def stay(
        self,
        pid: str,
        admit: dt.date,
        discharge: dt.date,
        *,
        pdx: str = "I10",
        dx: tuple[str, ...] = (),
        px: tuple[str, ...] = (),
        source: str = "1",
        admit_type: str = "1",
        disposition: str = "01",
        drg: str = "193",
    ) -> Book:
        cid = f"IP{next(_ids)}"
        row = dict(
            claim_id=cid,
            claim_line_number=1,
            claim_type="institutional",
            person_id=pid,
            payer="medicare",
            claim_start_date=admit,
            claim_end_date=discharge,
            admission_date=admit,
            discharge_date=discharge,
            admit_source_code=source,
            admit_type_code=admit_type,
            discharge_disposition_code=disposition,
            bill_type_code="111",
            drg_code=drg,
            revenue_center_code="0100",
            paid_amount=1000.0,
            diagnosis_code_1=pdx,
        )
        for i, code in enumerate(dx, start=2):
            row[f"diagnosis_code_{i}"] = code
        for i, code in enumerate(px, start=1):
            row[f"procedure_code_{i}"] = code
        self.med.append(row)
        return self

    def visit(self, pid: str, on: dt.date, hcpcs: str = "99213", *, dx: str = "I10") -> Book:
        self.med.append(
            dict(
                claim_id=f"P{next(_ids)}",
                claim_line_number=1,
                claim_type="professional",
                person_id=pid,
                payer="medicare",
                claim_start_date=on,
                claim_end_date=on,
                place_of_service_code="11",
                hcpcs_code=hcpcs,
                paid_amount=80.0,
                diagnosis_code_1=dx,
            )
        )
        return self

    def hospice(self, pid: str, on: dt.date) -> Book:
        self.med.append(
            dict(
                claim_id=f"H{next(_ids)}",
                claim_line_number=1,
                claim_type="institutional",
                person_id=pid,
                payer="medicare",
                claim_start_date=on,
                claim_end_date=on,
                bill_type_code="811",
                revenue_center_code="0651",
                paid_amount=200.0,
                diagnosis_code_1="C349",
            )
        )
        return self

    def fill(self, pid: str, on: dt.date, ndc: str, days: int = 30) -> Book:
        self.rx.append(
            dict(
                claim_id=f"R{next(_ids)}",
                claim_line_number=1,
                person_id=pid,
                payer="medicare part d",
                dispensing_date=on,
                ndc_code=ndc,
                days_supply=days,
                quantity=float(days),
                paid_amount=10.0,
            )
        )
        return self

    def panel(self, tmp_path: Path) -> Panel:
        def frame(rows: list[dict], schema) -> pl.DataFrame:
            base = {c: None for c in schema.names}
            return pl.DataFrame([dict(base, **r) for r in rows], schema=schema.polars_schema)

        tables = {
            "eligibility": frame(self.elig, ELIGIBILITY),
            "medical_claim": frame(self.med, MEDICAL_CLAIM),
            "provider_attribution": frame(self.attr, PROVIDER_ATTRIBUTION),
        }
        if self.rx:
            tables["pharmacy_claim"] = frame(self.rx, PHARMACY_CLAIM)
        write_dataset(tmp_path / "ds", tables, {"kind": "test"})
        return Panel(tmp_path / "ds")


METFORMIN, INSULIN, LISINOPRIL, ARNI, ATORVASTATIN, ROSUVASTATIN = (
    "99003000130",
    "99003000530",
    "99001000130",
    "99006000330",
    "99002000130",
    "99002000230",
)


def of(frame: pl.LazyFrame | pl.DataFrame, measure_id: str) -> pl.DataFrame:
    f = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
    return f.filter(pl.col("measure_id") == measure_id).sort("person_id")
