"""The files of each delivery: CCLF1-8 with their records, CCLF9 and CCLF0.

Files are named as CMS names them (``P.A9999.ACO.ZC1Y24.D240131.T1200000``): entity, file type,
``Y`` monthly or ``R`` run-out, performance year, and the delivery's date (the last day of its
month) and time. Every delivery has every file, empty when it has no records. Each monthly
delivery carries the full CCLF9 (every MBI change up to its date); CCLF0 lists each file of its
delivery with its record count and record length. The benefit-enhancement files (CCLFA, CCLFB)
are not written: the synthetic population has no benefit enhancements.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from modeling.ingest.cclf.layouts import Layout
from modeling.synth.cclf_writer.beneficiaries import Population
from modeling.synth.cclf_writer.deliveries import MONTHLY, Deliveries
from modeling.synth.cclf_writer.records import format_records, write_lines

FILE_TYPES = ("CCLF1", "CCLF2", "CCLF3", "CCLF4", "CCLF5", "CCLF6", "CCLF7", "CCLF8", "CCLF9")
DESCRIPTIONS = {
    "CCLF1": "Part A Claims Header",
    "CCLF2": "Part A Revenue Center",
    "CCLF3": "Part A Procedure",
    "CCLF4": "Part A Diagnosis",
    "CCLF5": "Part B Physicians",
    "CCLF6": "Part B DME",
    "CCLF7": "Part D",
    "CCLF8": "Beneficiary Demographics",
    "CCLF9": "BENE XREF",
}


@dataclass(frozen=True)
class FilesWritten:
    """How many files and lines were written."""

    files: int
    lines: int


def cross_reference(population: Population) -> pl.DataFrame:
    """CCLF9 rows: each MBI change (current, previous, effective date) and its date."""
    return population.changes.join(
        population.people.select("person_id", "member_id"), on="person_id"
    ).select(
        pl.lit("M").alias("HICN_MBI_XREF_IND"),
        pl.col("member_id").alias("CRNT_NUM"),
        pl.col("previous").alias("PRVS_NUM"),
        pl.col("change_date").alias("PRVS_ID_EFCTV_DT"),
        "change_date",
    )


def write_delivery_files(
    deliveries: Deliveries,
    xref: pl.DataFrame,
    out: Path,
    *,
    entity: str,
    layouts: dict[str, Layout],
) -> FilesWritten:
    """Every file of every delivery into ``out``."""
    n_files = n_lines = 0
    for i, (kind, month) in enumerate(deliveries.deliveries()):
        day = date(month.year, month.month, calendar.monthrange(month.year, month.month)[1])
        stamp = f"D{day:%y%m%d}.T12{i:05d}"
        counts = []
        for file_type in FILE_TYPES:
            if file_type == "CCLF9":
                rows = (
                    format_records(xref.filter(pl.col("change_date") <= day), layouts["CCLF9"])
                    if kind == MONTHLY
                    else pl.Series([], dtype=pl.String)
                )
            else:
                rows = deliveries.records(kind, month, file_type)
            name = f"P.{entity}.ACO.ZC{file_type[-1]}{kind}{month.year % 100:02d}.{stamp}"
            write_lines(out / name, rows)
            counts.append((file_type, rows.len(), layouts[file_type].record_length))
            n_files += 1
            n_lines += rows.len()
        header = f"{'File Number':<13}|{'File Description':<20}|{'Total Records Count':<20}|{'Record Length':<13}"
        body = [f"{t:<13}|{DESCRIPTIONS[t]:<20}|{n:<20}|{length:<13}" for t, n, length in counts]
        write_lines(
            out / f"P.{entity}.ACO.ZC0{kind}{month.year % 100:02d}.{stamp}",
            pl.Series([header, *body]),
        )
        n_files += 1
        n_lines += len(body) + 1
    return FilesWritten(n_files, n_lines)
