"""Issue 17 timings: the PUF reproduction and the synthetic region's cost in the generator.

    python benchmarks/bench_reproduce.py                       # reproduction of the shipped PUFs
    python benchmarks/bench_reproduce.py --generate 100000 --main /work/main   # + generator cost

``--generate N`` times ``generate`` for an N-member, 3-year panel with this checkout's code (the
region accumulated chunk by chunk) and with the code at ``--main`` (no region), each in its own
process, and checks the two datasets have the same content hash (the region moves no row).
Run it under the shared lock: ``flock /tmp/heavy.lock python benchmarks/bench_reproduce.py ...``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GENERATE = (
    "import time; from modeling.synth import generate, SynthSpec; t = time.perf_counter(); "
    "generate(SynthSpec(members={n}, start_year=2023, years=3, seed=20240601), {out!r}); "
    "print(time.perf_counter() - t)"
)


def reproduction() -> None:
    sys.path.insert(0, str(ROOT))
    from contracts.reproduce import reproduce_mssp, reproduce_reach, sample_puf

    for program, run in (("mssp", reproduce_mssp), ("reach", reproduce_reach)):
        frame = sample_puf(program)
        best = min(_timed(lambda f=frame, r=run: r(f)) for _ in range(3))
        result = run(frame)
        print(
            f"{program}: {result.rows.height:,} rows settled in {best:.3f} s (best of 3); "
            f"{int(result.rows['reproduced'].sum()):,} reproduced ({result.share_reproduced:.2%})"
        )


def _timed(call) -> float:
    t = time.perf_counter()
    call()
    return time.perf_counter() - t


def generator(members: int, main: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-region-") as tmp:
        hashes = {}
        for label, code in (("with the region (this checkout)", ROOT), ("without (main)", main)):
            out = str(Path(tmp) / label.split()[0])
            seconds = subprocess.run(
                [sys.executable, "-c", GENERATE.format(n=members, out=out)],
                env={"PYTHONPATH": str(code), "PATH": "/usr/bin:/bin"},
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            hashes[label] = json.loads((Path(out) / "manifest.json").read_text())["content_hash"]
            print(f"generate {members:,} members x 3 years {label}: {float(seconds):.1f} s")
        print("same content hash:", len(set(hashes.values())) == 1)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--generate", type=int, default=0)
    parser.add_argument("--main", type=Path, default=Path("/work/main"))
    args = parser.parse_args()
    reproduction()
    if args.generate:
        generator(args.generate, args.main)
