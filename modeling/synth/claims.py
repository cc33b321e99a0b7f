"""Assembling generated services into canonical claim lines.

Services are generated as numpy arrays, one element per claim, with fixed line structures
(an inpatient claim has room-and-board, pharmacy, laboratory and, when admitted through the
emergency department, ED revenue-center lines). ``ClaimBook`` collects them and turns them into
the canonical ``medical_claim`` table: claim ids, line numbers, diagnosis codes (principal plus
the member's documented conditions for the year, up to each claim form's limit) and paid dates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from modeling.schema import DIAGNOSIS_COLUMNS, PROCEDURE_COLUMNS


@dataclass(frozen=True)
class Pick:
    """Strings chosen from a small set by index (-1 for null): far cheaper than numpy string arrays."""

    values: tuple[str, ...] | np.ndarray
    index: np.ndarray

    def series(self) -> pl.Series:
        idx = pl.Series(self.index, dtype=pl.Int64)
        return pl.Series(list(self.values), dtype=pl.String).gather(idx.set(idx < 0, None))


OPTIONAL_HEADER = {
    "pcs": pl.String,
    "admission": pl.Int64,
    "discharge": pl.Int64,
    "admit_source_code": pl.String,
    "admit_type_code": pl.String,
    "discharge_disposition_code": pl.String,
    "place_of_service_code": pl.String,
    "drg_code": pl.String,
    "rendering_npi": pl.String,
    "facility_npi": pl.String,
    "billing_npi": pl.String,
}
"""Header fields a claim may lack (null when no claim of a book has them, unless its lines do)."""


def _col(value: Any, n: int) -> pl.Series | np.ndarray:
    if isinstance(value, Pick):
        return value.series()
    if value is None or isinstance(value, str | int | float):
        dtype = pl.String if value is None or isinstance(value, str) else None
        return pl.repeat(value, n, dtype=dtype, eager=True)
    arr = np.asarray(value)
    if arr.dtype == object:
        return pl.Series(arr.tolist(), dtype=pl.String)
    return arr


@dataclass
class ClaimBook:
    """Headers and lines of one chunk's medical claims, kept as frames until ``to_frame``."""

    headers: list[pl.DataFrame] = field(default_factory=list)
    lines: list[pl.DataFrame] = field(default_factory=list)
    next_key: int = 0
    # key ranges [first, end) of the main stream's 30-day readmissions (outcomes.thinned_readmissions)
    readmission_spans: list[tuple[int, int]] = field(default_factory=list)

    def add(
        self,
        person: np.ndarray,
        year: int,
        start: np.ndarray,
        end: np.ndarray,
        *,
        claim_type: str,
        lines: list[dict[str, Any]],
        **header: Any,
    ) -> np.ndarray:
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
        frame = {
            "claim_key": keys,
            "person": person.astype(np.int64),
            "year": np.full(n, year, dtype=np.int32),
            "claim_type": pl.repeat(claim_type, n, eager=True),
            "claim_start": start.astype(np.int64),
            "claim_end": end.astype(np.int64),
        }
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

    def to_frame(
        self,
        coded: pl.DataFrame,
        *,
        chunk: int,
        person_ids: pl.Series,
        member_ids: pl.Series,
        rng: np.random.Generator,
        price_level: float = 1.0,
        fallback: tuple[str, ...] = ("Z0000",),
        prefix: str = "C",
    ) -> pl.DataFrame:
        """Canonical medical_claim rows. ``coded`` holds each person-year's documented codes, one row per code;
        claim ids are ``prefix`` + chunk + claim key (books of one chunk need different prefixes)."""
        if not self.headers:
            return pl.DataFrame()
        head = pl.concat(self.headers, how="diagonal_relaxed")  # row i is claim_key i
        # a book of a few lines may lack header fields other lines give: null in its claims
        line_fields = {c for part in self.lines for c in part.columns}
        head = head.with_columns(
            pl.lit(None, dtype=dtype).alias(name)
            for name, dtype in OPTIONAL_HEADER.items()
            if name not in head.columns and name not in line_fields
        )
        n = head.height
        head = head.with_columns(
            pl.Series("lag", _paid_lag_days(rng, n, head["claim_type"].to_numpy()))
        )
        dx = _diagnosis_slots(head, coded, rng, fallback)
        head = head.drop("principal", "n_dx").with_columns(dx).rename({"pcs": "procedure_code_1"})
        lines = pl.concat(self.lines, how="diagonal_relaxed")
        lines = lines.sort(["claim_key", "line_order"])
        lines = lines.with_columns(
            pl.Series("claim_line_number", _line_numbers(lines["claim_key"].to_numpy()))
        )
        out = pl.concat([lines, head.drop("claim_key")[lines["claim_key"]]], how="horizontal")
        person = out["person"]
        for c, dtype in (
            ("line_start", pl.Int64),
            ("line_end", pl.Int64),
            ("hcpcs_code", pl.String),
        ):
            if c not in out.columns:
                out = out.with_columns(pl.lit(None, dtype=dtype).alias(c))
        as_date = lambda c: pl.col(c).cast(pl.Int32).cast(pl.Date)  # noqa: E731
        return out.select(
            (
                pl.lit(f"{prefix}{chunk:04d}") + pl.col("claim_key").cast(pl.String).str.zfill(9)
            ).alias("claim_id"),
            "claim_line_number",
            "claim_type",
            person_ids.gather(person).alias("person_id"),
            member_ids.gather(person).alias("member_id"),
            pl.lit("medicare").alias("payer"),
            pl.lit("original medicare").alias("plan"),
            as_date("claim_start").alias("claim_start_date"),
            as_date("claim_end").alias("claim_end_date"),
            pl.coalesce(as_date("line_start"), as_date("claim_start")).alias(
                "claim_line_start_date"
            ),
            pl.coalesce(as_date("line_end"), as_date("claim_end")).alias("claim_line_end_date"),
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
            (pl.col("paid_amount").cast(pl.Float64) * price_level).round(2),
            (pl.col("allowed_amount").cast(pl.Float64) * price_level).round(2),
            pl.lit("icd-10-cm").alias("diagnosis_code_type"),
            *[
                pl.col(c) if c in out.columns else pl.lit(None, dtype=pl.String).alias(c)
                for c in DIAGNOSIS_COLUMNS
            ],
            pl.when(pl.col("procedure_code_1").is_not_null())
            .then(pl.lit("icd-10-pcs"))
            .alias("procedure_code_type"),
            *[
                pl.col(c) if c == "procedure_code_1" else pl.lit(None, dtype=pl.String).alias(c)
                for c in PROCEDURE_COLUMNS
            ],
            pl.lit("synthetic").alias("data_source"),
        )


def _line_numbers(sorted_keys: np.ndarray) -> np.ndarray:
    """1, 2, ... within each run of equal claim keys (keys sorted)."""
    position = np.arange(len(sorted_keys))
    first = (
        np.r_[True, sorted_keys[1:] != sorted_keys[:-1]]
        if len(sorted_keys)
        else np.empty(0, dtype=bool)
    )
    run_start = np.maximum.accumulate(np.where(first, position, 0))
    return (position - run_start + 1).astype(np.int32)


def _paid_lag_days(rng: np.random.Generator, n: int, claim_type: np.ndarray) -> np.ndarray:
    """Days from claim end to payment: Medicare pays clean claims after a 14-30 day floor, with a long tail."""
    base = np.where(claim_type == "institutional", 16, 14)
    return (base + rng.lognormal(np.log(9.0), 0.9, n)).astype(np.int32)


def _integer(value: object) -> int:
    """The max or min of a non-empty integer column (polars types such scalars as a wide union)."""
    if not isinstance(value, int):
        raise TypeError(f"expected an integer, got {value!r}")
    return value


def _diagnosis_slots(
    head: pl.DataFrame, coded: pl.DataFrame, rng: np.random.Generator, fallback: tuple[str, ...]
) -> list[pl.Series]:
    """Diagnosis columns: the claim's principal code, then the person-year's documented codes, rotated
    from a random start so that different claims carry different subsets (as real claims do)."""
    principal = head["principal"].cast(pl.String)
    vocab = (
        pl.concat(
            [coded["code"], principal.drop_nulls(), pl.Series(list(fallback), dtype=pl.String)]
        )
        .unique()
        .sort()
    )
    enum = pl.Enum(vocab)
    code_idx = coded["code"].cast(enum).to_physical().to_numpy().astype(np.int64)
    n_people = (
        max(_integer(head["person"].max()), _integer(coded["person"].max()) if coded.height else 0)
        + 1
    )
    first_year = min(
        _integer(head["year"].min()), _integer(coded["year"].min()) if coded.height else 10_000
    )
    key = (coded["year"].to_numpy().astype(np.int64) - first_year) * n_people + coded[
        "person"
    ].to_numpy()
    order = np.lexsort((rng.random(len(key)), key))
    key, code_idx = key[order], code_idx[order]
    claim_key = (head["year"].to_numpy().astype(np.int64) - first_year) * n_people + head[
        "person"
    ].to_numpy()
    ptr = np.searchsorted(key, claim_key, side="left")
    length = np.searchsorted(key, claim_key, side="right") - ptr
    p_idx = principal.cast(enum).to_physical().to_numpy().astype(np.float64)
    has_principal = ~np.isnan(p_idx)
    p_idx = np.where(has_principal, p_idx, -1).astype(np.int64)
    take = np.clip(np.minimum(head["n_dx"].to_numpy() - has_principal, length), 0, None)
    start = rng.integers(0, 1 << 30, len(ptr)) % np.maximum(length, 1)
    width = int(take.max()) + 1 if len(take) else 1
    safe_length = np.maximum(length, 1)
    last = max(len(code_idx) - 1, 0)
    secondary = np.full(
        (width - 1, len(ptr)), -1, dtype=np.int64
    )  # one row per slot: contiguous writes
    for j in range(width - 1):
        offset = start + j
        offset -= safe_length * (offset >= safe_length)  # start + j < 2 * length whenever j < take
        value = code_idx[np.minimum(ptr + offset, last)] if len(code_idx) else np.full(len(ptr), -1)
        secondary[j] = np.where((j < take) & (value != p_idx), value, -1)
    secondary = secondary.T
    empty = np.full((len(ptr), 1), -1, dtype=np.int64)
    slots = np.where(
        has_principal[:, None],
        np.hstack([p_idx[:, None], secondary]),
        np.hstack([secondary, empty]),
    )
    # a claim always has a diagnosis: one with nothing documented gets a routine-visit code
    nothing = slots[:, 0] == -1
    fallback_idx = (
        pl.Series(list(fallback), dtype=pl.String)
        .cast(enum)
        .to_physical()
        .to_numpy()
        .astype(np.int64)
    )
    slots[nothing, 0] = fallback_idx[rng.integers(0, len(fallback_idx), int(nothing.sum()))]
    holes = ((slots[:, :-1] == -1) & (slots[:, 1:] != -1)).any(axis=1)
    if holes.any():  # close gaps left by an empty principal or a repeated code
        rows = slots[holes]
        order = np.argsort(rows == -1, axis=1, kind="stable")
        slots[holes] = np.take_along_axis(rows, order, axis=1)
    vocab_series = vocab.cast(pl.String)
    out = []
    for j in range(min(width, len(DIAGNOSIS_COLUMNS))):
        idx = pl.Series(slots[:, j])
        out.append(vocab_series.gather(idx.set(idx < 0, None)).alias(DIAGNOSIS_COLUMNS[j]))
    return out
