"""Benchmark hdrpipe.color.Transform: ms/frame per target, one thread and all threads,
next to a plain single ``applyRGB`` call of the same OCIO processor, in the same run.

    .venv/bin/python bench/color.py [--size 1920x1080] [--frames 3] [--targets a,b]

Prints one line per target (and a JSON document with ``--json``). Numbers are
wall-clock medians over ``--frames`` frames after one warm-up frame; CPU time of
the whole process is printed too, since the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hdrpipe.color import LightLevelMeter, Transform, target_names  # noqa: E402

__all__ = ["main"]


def _frame(width: int, height: int) -> NDArray[np.float32]:
    try:
        from fixtures.generate import render_frame
    except ImportError:
        rng = np.random.default_rng(0)
        return (rng.random((height, width, 3)) ** 4 * 50).astype(np.float32)
    return render_frame(width, height, 0, seed=1)


def _time(fn: Callable[[], object], frames: int) -> tuple[float, float]:
    fn()  # warm-up (first-touch allocations, lazy OCIO setup)
    wall, cpu = [], []
    for _ in range(frames):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall) * 1e3, statistics.median(cpu) * 1e3


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--frames", type=int, default=3)
    parser.add_argument("--targets", default=",".join(target_names()))
    parser.add_argument("--threads", type=int, default=0, help="0: all usable CPUs")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    all_threads = args.threads or len(os.sched_getaffinity(0))
    frame = _frame(width, height)
    rows: list[dict[str, Any]] = []
    print(
        f"hdrpipe.color bench: {width}x{height}, {args.frames} frames (median), "
        f"{all_threads} threads available",
        file=sys.stderr,
    )
    header = (
        f"{'target':<22}{'build ms':>9}{'applyRGB':>10}{'1 thread':>10}"
        f"{f'{all_threads} threads':>12}{'speed-up':>9}{'meter':>8}"
    )
    print(header)
    for name in args.targets.split(","):
        t0 = time.perf_counter()
        one = Transform(target=name, threads=1)
        build_ms = (time.perf_counter() - t0) * 1e3
        many = Transform(target=name, threads=all_threads)
        cpu = one.processor.getDefaultCPUProcessor()
        buf = frame.copy()

        def plain(cpu: Any = cpu, buf: NDArray[np.float32] = buf) -> None:
            buf[...] = frame
            cpu.applyRGB(buf)

        plain_ms, _ = _time(plain, args.frames)
        one_ms, one_cpu = _time(lambda one=one: one.apply(frame), args.frames)
        many_ms, many_cpu = _time(lambda many=many: many.apply(frame), args.frames)
        meter_ms = float("nan")
        if one.target.is_display:
            signal = many.apply(frame)
            meter = LightLevelMeter(one.target)
            meter_ms, _ = _time(lambda m=meter, s=signal: m.add(s), args.frames)
        row = {
            "target": name,
            "pipeline": one.pipeline,
            "processor_build_ms": round(build_ms, 1),
            "plain_applyrgb_ms": round(plain_ms, 1),
            "one_thread_ms": round(one_ms, 1),
            "one_thread_cpu_ms": round(one_cpu, 1),
            "all_threads": all_threads,
            "all_threads_ms": round(many_ms, 1),
            "all_threads_cpu_ms": round(many_cpu, 1),
            "meter_ms": None if math.isnan(meter_ms) else round(meter_ms, 1),
        }
        rows.append(row)
        print(
            f"{name:<22}{build_ms:>9.0f}{plain_ms:>10.1f}{one_ms:>10.1f}"
            f"{many_ms:>12.1f}{plain_ms / many_ms:>8.2f}x{meter_ms:>8.1f}",
            flush=True,
        )
    if args.json:
        doc = {"size": [width, height], "frames": args.frames, "rows": rows}
        print(json.dumps(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
