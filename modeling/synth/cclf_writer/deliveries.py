"""The records of every CCLF delivery, collected file family by file family."""

from __future__ import annotations

from datetime import date

import polars as pl

from modeling.ingest.cclf.layouts import Layout
from modeling.synth.cclf_writer.records import format_records

MONTHLY, RUNOUT = "Y", "R"  # the delivery kind in CMS's file names (ZCnY.., ZCnR..)


class Deliveries:
    """Formatted records by delivery (kind and month) and file type.

    A record goes to the monthly delivery of its month (the month a claim version took effect, a
    beneficiary's enrollment month); before the first month, to the first delivery; after the
    last month, to the run-out delivery, dated three months after the last month.
    """

    def __init__(self, layouts: dict[str, Layout], first_month: date, last_month: date) -> None:
        self.layouts = layouts
        self.first_month = first_month
        self.last_month = last_month
        self._records: dict[tuple[str, date, str], list[pl.Series]] = {}

    def add(self, frame: pl.DataFrame, file_type: str, month_col: str) -> None:
        """Format ``frame`` as ``file_type`` records, each into the delivery of its ``month_col``."""
        if frame.height == 0:
            return
        when = pl.col(month_col).dt.month_start()
        runout = when > self.last_month
        frame = frame.with_columns(
            pl.when(runout).then(pl.lit(RUNOUT)).otherwise(pl.lit(MONTHLY)).alias("_kind"),
            pl.when(runout)
            .then(pl.lit(self.last_month).dt.offset_by("3mo"))
            .when(when < self.first_month)
            .then(pl.lit(self.first_month))
            .otherwise(when)
            .alias("_delivery"),
        )
        frame = frame.with_columns(format_records(frame, self.layouts[file_type]).alias("_record"))
        for (kind, month), part in frame.group_by("_kind", "_delivery", maintain_order=True):
            self._records.setdefault((kind, month, file_type), []).append(
                part.get_column("_record")
            )

    def deliveries(self) -> list[tuple[str, date]]:
        """Every delivery with records (kind and month), in order."""
        return sorted({(kind, month) for kind, month, _ in self._records})

    def records(self, kind: str, month: date, file_type: str) -> pl.Series:
        """The records of one file of one delivery (none: an empty series)."""
        parts = self._records.get((kind, month, file_type), [])
        return pl.concat(parts) if parts else pl.Series([], dtype=pl.String)
