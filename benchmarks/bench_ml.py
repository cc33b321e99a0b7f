"""Benchmark: features + training of every risk model on a 100,000-member panel, and scoring a
1,000,000-member panel (features, predictions, tiers, drivers) with the trained models.

Usage: python benchmarks/bench_ml.py --train DATASET_100K --score DATASET_1M
Datasets come from ``vbc synth --members 100000 --years 3 --seed 7`` and ``vbc synth --members 1000000
--years 3`` (the figures in RESULTS.md were measured on those).
"""

from __future__ import annotations

import argparse
import resource
import time

from modeling.dataset import Dataset
from risk_stratification.ml.pipeline import score, train


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--train", required=True, help="dataset folder to train on (100,000 members, 3 years)"
    )
    parser.add_argument(
        "--score", required=True, help="dataset folder to score (1,000,000 members)"
    )
    args = parser.parse_args()

    steps: list[tuple[str, float]] = []
    last = [time.perf_counter()]

    def progress(message: str) -> None:
        now = time.perf_counter()
        steps.append((message, now - last[0]))
        last[0] = now
        print(f"  {message}", flush=True)

    start = time.perf_counter()
    trained = train(Dataset(args.train), seed=0, progress=progress)
    total = time.perf_counter() - start
    print(
        f"features + training of all models on {trained.card['evaluation']['rows_train']:,} + {trained.card['evaluation']['rows_test']:,} people: {total:.1f} s"
    )
    e = trained.evaluation
    print(
        f"  held-out cost R2 {e.metric('model', 'cost', 'r2'):.4f} (CMS-HCC {e.metric('cms_hcc', 'cost', 'r2'):.4f}, prior cost {e.metric('prior_cost', 'cost', 'r2'):.4f}); "
        f"admission ROC-AUC {e.metric('model', 'admission', 'roc_auc'):.4f} (CMS-HCC {e.metric('cms_hcc', 'admission', 'roc_auc'):.4f})"
    )

    start = time.perf_counter()
    steps.clear()
    last[0] = start
    scored = score(Dataset(args.score), trained, progress=progress)
    seconds = time.perf_counter() - start
    steps.append(("tiers, drivers and output", time.perf_counter() - last[0]))
    # each step's time is printed beside the message that started it
    for (message, _), (_, took) in zip(steps, steps[1:], strict=False):
        print(f"    {took:6.1f} s  {message}")
    explained = scored["driver_1"].is_not_null().sum()
    print(
        f"scoring {scored.height:,} members (features, 4 predictions and 2 baselines, tiers; drivers for the {explained:,} in the highest, high and rising tiers): {seconds:.1f} s; peak RSS {peak_rss_gb():.2f} GB"
    )


if __name__ == "__main__":
    main()
