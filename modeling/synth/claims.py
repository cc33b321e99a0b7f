"""Assembling generated services into canonical claim lines.

Services are generated as numpy arrays, one element per claim, with fixed line structures
(an inpatient claim has room-and-board, pharmacy, laboratory and, when admitted through the
emergency department, ED revenue-center lines). ``ClaimBook`` collects them and turns them into
the canonical ``medical_claim`` table: claim ids, line numbers, diagnosis codes (principal plus
the member's documented conditions for the year, up to each claim form's limit) and paid dates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from modeling.schema import DIAGNOSIS_COLUMNS, PROCEDURE_COLUMNS


def _col(value, n: int) -> pl.Series | np.ndarray:
    arr = np.asarray(value)
    if arr.ndim == 0:
        arr = np.full(n, value, dtype=object if value is None else None)
    if arr.dtype == object:
        return pl.Series(arr.tolist(), dtype=pl.String)
    return arr


@dataclass
class ClaimBook:
    """Headers and lines of one chunk's medical claims, kept as frames until ``to_frame``."""

    headers: list[pl.DataFrame] = field(default_factory=list)
    lines: list[pl.DataFrame] = field(default_factory=list)
    next_key: int = 0

    def add(self, person: np.ndarray, year: int, start: np.ndarray, end: np.ndarray, *, claim_type: str, lines: list[dict], **header) -> np.ndarray:
        """Add one claim per element of ``person``; each dict in ``lines`` is one line per claim.

        A line dict holds arrays (or scalars) for ``revenue_center_code``, ``hcpcs_code``,
        ``service_unit_quantity``, ``paid_amount``, ``allowed_amount`` and optionally
        ``line_start``/``line_end`` and ``mask`` (claims that have the line).
        """
        n = len(person)
        if n == 0:
            return np.empty(0, dtype=np.int64)
        keys = np.arange(self.next_key, self.next_key + n, dtype=np.int64)
        self.next_key += n
        frame = {"claim_key": keys, "person": person.astype(np.int64), "year": np.full(n, year, dtype=np.int32),
                 "claim_type": np.full(n, claim_type), "claim_start": start.astype(np.int64), "claim_end": end.astype(np.int64)}
        for name, value in header.items():
            frame[name] = _col(value, n)
        self.headers.append(pl.DataFrame(frame))
        for order, spec in enumerate(lines):
            spec = dict(spec)
            mask = spec.pop("mask", None)
            cols = {"claim_key": keys, "line_order": np.full(n, order, dtype=np.int32)}
            for name, value in spec.items():
                cols[name] = _col(value, n)
            part = pl.DataFrame(cols)
            self.lines.append(part.filter(pl.Series(mask)) if mask is not None else part)
        return keys

    def to_frame(self, coded: pl.DataFrame, *, chunk: int, person_ids: pl.Series, member_ids: pl.Series, rng: np.random.Generator) -> pl.DataFrame:
        """Canonical medical_claim rows. ``coded`` holds each person-year's documented codes (list)."""
        if not self.headers:
            return pl.DataFrame()
        head = pl.concat(self.headers, how="diagonal_relaxed")
        n = head.height
        head = head.with_columns(
            pl.Series("offset", rng.integers(0, 1 << 30, n)),
            pl.Series("lag", _paid_lag_days(rng, n, head["claim_type"].to_numpy())),
        )
        head = _assign_diagnoses(head, coded)
        lines = pl.concat(self.lines, how="diagonal_relaxed").sort(["claim_key", "line_order"])
        lines = lines.with_columns(pl.int_range(1, pl.len() + 1).over("claim_key").cast(pl.Int32).alias("claim_line_number"))
        as_date = lambda c: pl.col(c).cast(pl.Int32).cast(pl.Date)  # noqa: E731
        out = lines.join(head, on="claim_key", how="left").with_columns(
            (pl.lit(f"C{chunk:04d}") + pl.col("claim_key").cast(pl.String).str.zfill(9)).alias("claim_id"),
        )
        out = out.with_columns(
            person_ids.gather(out["person"]).alias("person_id"),
            member_ids.gather(out["person"]).alias("member_id"),
        )
        return out.select(
            "claim_id",
            "claim_line_number",
            "claim_type",
            "person_id",
            "member_id",
            pl.lit("medicare").alias("payer"),
            pl.lit("original medicare").alias("plan"),
            as_date("claim_start").alias("claim_start_date"),
            as_date("claim_end").alias("claim_end_date"),
            pl.coalesce(as_date("line_start"), as_date("claim_start")).alias("claim_line_start_date") if "line_start" in out.columns else as_date("claim_start").alias("claim_line_start_date"),
            pl.coalesce(as_date("line_end"), as_date("claim_end")).alias("claim_line_end_date") if "line_end" in out.columns else as_date("claim_end").alias("claim_line_end_date"),
            as_date("admission").alias("admission_date"),
            as_date("discharge").alias("discharge_date"),
            pl.col("admit_source_code"),
            pl.col("admit_type_code"),
            pl.col("discharge_disposition_code"),
            pl.col("place_of_service_code"),
            pl.col("bill_type_code"),
            pl.when(pl.col("drg_code").is_not_null()).then(pl.lit("ms-drg")).alias("drg_code_type"),
            pl.col("drg_code"),
            pl.col("revenue_center_code"),
            pl.col("service_unit_quantity").cast(pl.Float64),
            pl.col("hcpcs_code"),
            pl.col("rendering_npi"),
            pl.col("billing_npi"),
            pl.col("facility_npi"),
            (as_date("claim_end").cast(pl.Int32) + pl.col("lag")).cast(pl.Date).alias("paid_date"),
            pl.col("paid_amount").cast(pl.Float64).round(2),
            pl.col("allowed_amount").cast(pl.Float64).round(2),
            pl.lit("icd-10-cm").alias("diagnosis_code_type"),
            *[pl.col(c) for c in DIAGNOSIS_COLUMNS],
            pl.when(pl.col("procedure_code_1").is_not_null()).then(pl.lit("icd-10-pcs")).alias("procedure_code_type"),
            *[pl.col(c) if c == "procedure_code_1" else pl.lit(None, dtype=pl.String).alias(c) for c in PROCEDURE_COLUMNS],
            pl.lit("synthetic").alias("data_source"),
        )


def _paid_lag_days(rng: np.random.Generator, n: int, claim_type: np.ndarray) -> np.ndarray:
    """Days from claim end to payment: Medicare pays clean claims after a 14-30 day floor, with a long tail."""
    base = np.where(claim_type == "institutional", 16, 14)
    return (base + rng.lognormal(np.log(9.0), 0.9, n)).astype(np.int32)


def _assign_diagnoses(head: pl.DataFrame, coded: pl.DataFrame) -> pl.DataFrame:
    """Diagnosis slots: the claim's principal code, then the person-year's documented codes, rotated."""
    h = head.join(coded, on=["person", "year"], how="left").with_columns(pl.col("codes").fill_null(pl.lit([], dtype=pl.List(pl.String))))
    length = pl.col("codes").list.len()
    take = pl.min_horizontal(pl.col("n_dx") - pl.col("principal").is_not_null().cast(pl.Int64), length).clip(lower_bound=0)
    start = pl.when(length > 0).then(pl.col("offset") % pl.max_horizontal(length, 1)).otherwise(0)
    secondary = pl.concat_list(pl.col("codes"), pl.col("codes")).list.slice(start, take)
    dx = pl.concat_list(pl.col("principal").cast(pl.String), secondary).list.drop_nulls().list.unique(maintain_order=True)
    h = h.with_columns(dx.alias("dx"))
    return h.with_columns(
        [pl.col("dx").list.get(i, null_on_oob=True).alias(c) for i, c in enumerate(DIAGNOSIS_COLUMNS)]
        + [pl.col("pcs").alias("procedure_code_1")]
    ).drop("dx", "codes", "offset")
