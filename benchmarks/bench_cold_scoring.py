"""Benchmark: a fresh dataset's first scoring with the trained risk models, side by side across
two checkouts of the code (issue 14: the core must make it no slower than a68c2ff's re-deriving).

Each run trains on the training panel once per code (the trained models are cached in a pickle,
so training is not timed again), then scores the December members of the scoring panel from a
fresh folder that hard-links the panel's canonical Parquet files and holds no derived core, so
every table the scoring needs is derived in the timed run. Wall time, process CPU (user +
system), peak RSS and the time of each progress step are printed.

Usage (one run; the code is chosen by the checkout on ``PYTHONPATH``)::

    PYTHONPATH=/path/to/checkout python benchmarks/bench_cold_scoring.py \
        --train /tmp/bench/p100k --score /tmp/bench/p1m --fresh /tmp/bench/fresh \
        --trained /tmp/bench/trained_main.pkl

Panels come from ``vbc synth --members 100000 --years 3 --seed 7`` and ``--members 1000000``.
Rounds alternate the codes' order; run them on a quiet machine, as the speed drifts by 20%.
"""

from __future__ import annotations

import argparse
import os
import pickle
import resource
import shutil
import time
from collections.abc import Callable
from pathlib import Path

try:  # a68c2ff kept the pipeline at the package's top
    from risk_stratification.ml.pipeline import score, train
except ImportError:  # pragma: no cover - depends on the checkout benchmarked
    from risk_stratification.pipeline import score, train  # type: ignore[no-redef]

from modeling.dataset import Dataset


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def fresh_copy(panel: Path, fresh: Path) -> Path:
    """A folder holding the panel's own files (hard links) and nothing derived from them."""
    if fresh.exists():
        shutil.rmtree(fresh)
    fresh.mkdir(parents=True)
    for item in panel.iterdir():
        if item.is_file():
            os.link(item, fresh / item.name)
        elif item.is_dir() and not item.name.startswith(("core", ".core", "_core")):
            shutil.copytree(item, fresh / item.name, copy_function=os.link)
    return fresh


def trained_models(train_panel: Path, cache: Path) -> object:
    if cache.exists():
        with cache.open("rb") as handle:
            return pickle.load(handle)
    started = time.perf_counter()
    trained = train(Dataset(train_panel), seed=0)
    print(f"trained on {train_panel} in {time.perf_counter() - started:.1f} s (cached in {cache})")
    with cache.open("wb") as handle:
        pickle.dump(trained, handle)
    return trained


def timed_progress() -> tuple[Callable[[str], None], list[tuple[str, float, float]]]:
    steps: list[tuple[str, float, float]] = []

    def progress(message: str) -> None:
        steps.append((message, time.perf_counter(), process_cpu()))

    return progress, steps


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", type=Path, required=True, help="training panel (100k)")
    parser.add_argument("--score", type=Path, required=True, help="panel to score (1M)")
    parser.add_argument("--fresh", type=Path, required=True, help="scratch folder (replaced)")
    parser.add_argument("--trained", type=Path, required=True, help="pickle of trained models")
    parser.add_argument("--train-only", action="store_true", help="train and cache, then stop")
    args = parser.parse_args()

    trained = trained_models(args.train, args.trained)
    if args.train_only:
        return
    dataset = Dataset(fresh_copy(args.score, args.fresh))
    progress, steps = timed_progress()
    wall, cpu = time.perf_counter(), process_cpu()
    scored = score(dataset, trained, progress=progress)  # type: ignore[arg-type]
    steps.append(("end", time.perf_counter(), process_cpu()))
    marks = [("start", wall, cpu), *steps]
    for (message, t0, c0), (_, t1, c1) in zip(marks, marks[1:], strict=False):
        print(f"    {t1 - t0:6.1f} s wall {c1 - c0:6.1f} s CPU  {message}")
    print(
        f"RESULT scored {scored.height:,} members: wall {marks[-1][1] - wall:.1f} s, "
        f"CPU {marks[-1][2] - cpu:.1f} s, peak RSS {peak_rss_gb():.2f} GB"
    )


if __name__ == "__main__":
    main()
