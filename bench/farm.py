"""Benchmark the farm: scaling from 1 to 2 Dask workers, and chunk + stitch overhead.

Usage: ``.venv/bin/python bench/farm.py [--width 640] [--height 360] [--frames 48]
[--chunk 12] [--preset prores4444xq-pq1000]``

On one Ray3-like plate (generated once under bench/out/), prints:

* the plain engine (``hdrpipe.engine.conform``, one process) — the baseline;
* ``hdrpipe.farm.plan_job`` + ``run`` on a warm local cluster of 1 and of 2
  worker processes (cluster start-up timed apart), its fps and the scaling
  efficiency ``fps(2) / (2 × fps(1))``;
* the overhead of the farm against the engine (1 worker vs plain) and the
  stitch alone (lossless remux + verify of the finished parts).

Every number includes validation and planning, like a user's run. The
machine's other load shows in the numbers: run it on an idle machine.
Nothing is asserted.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fixtures.generate import make_plate  # noqa: E402
from hdrpipe import farm  # noqa: E402
from hdrpipe.engine import ConformJob, conform  # noqa: E402


def _plate(width: int, height: int, frames: int) -> Path:
    out = ROOT / "bench" / "out" / f"farm_plate_{width}x{height}_{frames}"
    if not (out / f"plate.{1000 + frames:04d}.exr").exists():
        make_plate(out, width=width, height=height, frames=frames)
    return out / "plate.####.exr"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--chunk", type=int, default=12)
    parser.add_argument("--preset", default="prores4444xq-pq1000")
    args = parser.parse_args(argv)
    logging.getLogger("distributed").setLevel(logging.ERROR)

    from distributed import Client, LocalCluster

    plate = _plate(args.width, args.height, args.frames)
    work = Path(tempfile.mkdtemp(prefix="hdrpipe-bench-farm-"))
    try:

        def job(tag: str) -> ConformJob:
            return ConformJob(
                inputs=(str(plate),), deliver=(args.preset,), outdir=work / tag
            )

        print(
            f"plate {args.width}x{args.height}, {args.frames} frames, "
            f"{args.preset}, chunk {args.chunk}, {os.cpu_count()} CPUs"
        )
        t0 = time.perf_counter()
        conform(job("plain"))
        plain = time.perf_counter() - t0
        print(
            f"engine (1 process):        {plain:7.2f} s  {args.frames / plain:6.2f} fps"
        )

        results = {}
        for n in (1, 2):
            t0 = time.perf_counter()
            with (
                LocalCluster(
                    n_workers=n,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                ) as cluster,
                Client(cluster) as client,
            ):
                client.wait_for_workers(n)
                startup = time.perf_counter() - t0
                # Warm the workers (imports, OCIO config) on a throw-away chunk.
                warm = farm.plan_job(
                    ConformJob(
                        inputs=(str(plate),),
                        deliver=(args.preset,),
                        outdir=work / f"warm{n}",
                        frames=f"1001-{1000 + n}",
                    ),
                    chunk=1,
                )
                farm.run(warm, client=client)
                t0 = time.perf_counter()
                plan = farm.plan_job(job(f"farm{n}"), chunk=args.chunk)
                farm.run(plan, client=client, keep_parts=True)
                elapsed = time.perf_counter() - t0
            results[n] = elapsed
            print(
                f"farm, {n} worker{'s' if n > 1 else ' '}:          {elapsed:7.2f} s  "
                f"{args.frames / elapsed:6.2f} fps  "
                f"(cluster start-up {startup:.2f} s, not included)"
            )
        efficiency = results[1] / (2 * results[2])
        print(f"scaling efficiency 1 → 2 workers: {efficiency:.0%}")
        print(
            f"farm overhead vs engine (1 worker): {results[1] / plain - 1:+.0%} "
            f"({results[1] - plain:+.2f} s)"
        )
        t0 = time.perf_counter()
        farm.stitch(plan, keep_parts=True)
        stitched = time.perf_counter() - t0
        print(
            f"stitch alone (remux {len(plan.chunks)} parts + verify + manifest): "
            f"{stitched:.2f} s ({stitched / plain:.0%} of the engine run)"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
