"""Benchmark: CMS-HCC V28 scoring of N people with about 15 diagnoses each, and throughput
against hccinfhir.calculate_raf (per person) measured in the same run on the same people.

Usage: python benchmarks/bench_hcc.py [--people 1000000] [--reference-sample 5000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import polars as pl
from hccinfhir.model_calculate import calculate_raf

from risk_stratification.hcc import load_tables, score

NON_HCC_CODES = [
    "I10",
    "E785",
    "Z0000",
    "Z23",
    "M5450",
    "E039",
    "K219",
    "M810",
    "J069",
    "N390",
    "R079",
    "E559",
    "H2513",
    "G4733",
    "M1711",
    "D649",
    "R42",
    "Z87891",
    "I2510",
    "F329",
    "N189",
    "R739",
    "Z1231",
    "L570",
    "R0600",
]


def make_panel(n: int, seed: int = 1, hcc_share: float = 0.35) -> tuple[pl.DataFrame, pl.DataFrame]:
    """People with Poisson(15) diagnoses each; ``hcc_share`` of them are codes from the V28
    mapping table (drawn uniformly, so rare severe HCCs are over-represented), the rest common
    non-HCC codes, roughly the mix of a Medicare member's year of claims."""
    rng = np.random.default_rng(seed)
    hcc_codes = load_tables("V28").dx_to_cc["diagnosis_code"].unique().sort().to_numpy()
    people = pl.DataFrame(
        {
            "person_id": np.arange(n).astype(str),
            "age": rng.integers(25, 100, n),
            "gender": rng.choice(["female", "male"], n),
            "orec": rng.choice(["0", "1"], n, p=[0.85, 0.15]),
            "dual_status_code": rng.choice(["NA", "02", "01"], n, p=[0.82, 0.12, 0.06]),
            "lti": rng.random(n) < 0.02,
            "new_enrollee": rng.random(n) < 0.05,
            "snp": np.zeros(n, dtype=bool),
        }
    )
    k = rng.poisson(15, n)
    total = int(k.sum())
    codes = np.where(
        rng.random(total) < hcc_share,
        rng.choice(hcc_codes, total),
        rng.choice(np.array(NON_HCC_CODES), total),
    )
    dx = pl.DataFrame(
        {"person_id": np.repeat(people["person_id"].to_numpy(), k), "diagnosis_code": codes}
    )
    return people, dx


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--reference-sample", type=int, default=5_000)
    args = parser.parse_args()
    people, dx = make_panel(args.people)
    t0 = time.perf_counter()
    result = score(people, dx, model="V28", payment_year=2026)
    ours = time.perf_counter() - t0
    print(
        f"vectorized V28: {args.people:,} people, {dx.height:,} diagnoses ({dx.height / args.people:.1f} per person) in {ours:.2f} s "
        f"= {args.people / ours:,.0f} people/s; mean raw score {result.scores['raw_score'].mean():.3f}"
    )
    sample = people.head(args.reference_sample).join(
        dx.group_by("person_id").agg("diagnosis_code"), on="person_id", how="left"
    )
    t0 = time.perf_counter()
    for r in sample.iter_rows(named=True):
        calculate_raf(
            r["diagnosis_code"] or [],
            model_name="CMS-HCC Model V28",
            age=r["age"],
            sex="F" if r["gender"] == "female" else "M",
            dual_elgbl_cd=r["dual_status_code"],
            orec=r["orec"],
            crec=r["orec"],
            new_enrollee=r["new_enrollee"],
            lti=r["lti"] and not r["new_enrollee"],
        )
    ref = time.perf_counter() - t0
    ref_rate = sample.height / ref
    print(
        f"hccinfhir.calculate_raf: {sample.height:,} people in {ref:.2f} s = {ref_rate:,.0f} people/s"
    )
    print(f"throughput ratio: {args.people / ours / ref_rate:.1f}x")


if __name__ == "__main__":
    main()
