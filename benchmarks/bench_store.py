"""Benchmark: the workspace store on DuckDB and PostgreSQL, alone and under concurrency.

Per backend: the latency of one operation (save a scenario, list 100 scenarios, load a model of
the size `vbc train` registers, ~200 KB); several processes saving at once (throughput, and that
every save landed); several processes registering at once (versions distinct and consecutive);
and a reader's latency while another process saves back to back (the app beside a `vbc`
command). Every operation opens, runs one transaction and closes (``modeling.store``).

Usage:
    python benchmarks/bench_store.py [--backend duckdb|postgresql|both] [--dsn DSN]
        [--writers 4] [--saves 50] [--reads 60] [--out results.json]

PostgreSQL uses --dsn or $VBC_TEST_POSTGRES_DSN; each run makes a schema of its own and drops it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from modeling.store import WorkspaceStore  # noqa: E402

WORKER = """
import os, sys, time
sys.path.insert(0, sys.argv[1])
from modeling.store import WorkspaceStore
backend, location, job, n, tag = sys.argv[2:7]
store = WorkspaceStore.open(location) if backend == "duckdb" else WorkspaceStore.postgres(location)
if job == "save":
    for i in range(int(n)):
        store.save_scenario(f"{tag}-{i}", "bench", {"i": i, "pad": "x" * 500})
elif job == "register":
    for i in range(int(n)):
        print(store.register_model("bench", {"by": tag}, os.urandom(1000)).version, flush=True)
else:
    print("writing", flush=True)
    i = 0
    while not os.path.exists(n):
        store.save_scenario(f"{tag}-{i}", "loop", {"i": i})
        i += 1
    print(i, flush=True)
"""


def _ms(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    return {
        "p50_ms": round(1000 * statistics.median(ordered), 1),
        "p95_ms": round(1000 * ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1),
        "max_ms": round(1000 * ordered[-1], 1),
    }


def _timed(call: Callable[[], object], n: int) -> dict[str, float]:
    seconds = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    return _ms(seconds)


def _spawn(backend: str, location: str, job: str, n: str, tag: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, str(ROOT), backend, location, job, n, tag],
        stdout=subprocess.PIPE,
        text=True,
    )


@contextmanager
def _location(backend: str, dsn: str | None) -> Iterator[str]:
    if backend == "duckdb":
        with tempfile.TemporaryDirectory(prefix="bench-store-") as folder:
            yield str(Path(folder) / "workspace.duckdb")
        return
    import psycopg
    from psycopg.conninfo import make_conninfo

    if not dsn:
        raise SystemExit("PostgreSQL needs --dsn or $VBC_TEST_POSTGRES_DSN")
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield make_conninfo(dsn, options=f"-c search_path={schema}")
    finally:
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


def bench(backend: str, location: str, *, writers: int, saves: int, reads: int) -> dict:
    opened = (
        WorkspaceStore.open(location) if backend == "duckdb" else WorkspaceStore.postgres(location)
    )
    result: dict[str, object] = {"backend": backend}
    result["save_scenario"] = _timed(lambda: opened.save_scenario("s", "one", {"a": 1}), reads)
    for i in range(100 - reads):
        opened.save_scenario(f"fill-{i}", "one", {"a": i})
    result["list_100_scenarios"] = _timed(lambda: opened.list_scenarios("one"), reads)
    opened.register_model("size", {}, os.urandom(200_000))
    result["get_model_200kb"] = _timed(lambda: opened.get_model("size"), reads)

    started = time.perf_counter()
    procs = [_spawn(backend, location, "save", str(saves), f"w{k}") for k in range(writers)]
    codes = [p.wait() for p in procs]
    seconds = time.perf_counter() - started
    landed = len(opened.list_scenarios("bench"))
    result["concurrent_saves"] = {
        "processes": writers,
        "saves_each": saves,
        "exit_codes": codes,
        "landed": landed,
        "expected": writers * saves,
        "seconds": round(seconds, 2),
        "saves_per_second": round(landed / seconds, 1),
    }

    procs = [_spawn(backend, location, "register", "10", f"r{k}") for k in range(writers)]
    versions = sorted(int(v) for p in procs for v in p.communicate()[0].split())
    result["concurrent_registrations"] = {
        "processes": writers,
        "each": 10,
        "versions_distinct_and_consecutive": versions == list(range(1, 10 * writers + 1)),
    }

    with tempfile.TemporaryDirectory() as folder:
        stop = Path(folder) / "stop"
        writer = _spawn(backend, location, "loop", str(stop), "loop")
        assert writer.stdout is not None and writer.stdout.readline().strip() == "writing"
        failures, seconds_each = 0, []
        for _ in range(reads):
            began = time.perf_counter()
            try:
                opened.list_scenarios("one")
            except Exception:  # noqa: BLE001 - counted: the figure is how many reads fail
                failures += 1
            seconds_each.append(time.perf_counter() - began)
        stop.touch()
        written = int(writer.communicate()[0].split()[-1])
    result["reads_beside_a_writer"] = {
        **_ms(seconds_each),
        "reads": reads,
        "failed": failures,
        "writer_saves_meanwhile": written,
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["duckdb", "postgresql", "both"], default="both")
    parser.add_argument("--dsn", default=os.environ.get("VBC_TEST_POSTGRES_DSN"))
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--saves", type=int, default=50)
    parser.add_argument("--reads", type=int, default=60)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    backends = ["duckdb", "postgresql"] if args.backend == "both" else [args.backend]
    results = {"load_average_at_start": os.getloadavg()[0], "cpus": os.cpu_count(), "runs": []}
    for backend in backends:
        with _location(backend, args.dsn) as location:
            run = bench(backend, location, writers=args.writers, saves=args.saves, reads=args.reads)
        results["runs"].append(run)
        print(json.dumps(run, indent=1), flush=True)
    results["load_average_at_end"] = os.getloadavg()[0]
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
