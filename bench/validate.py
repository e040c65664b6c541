"""Benchmark: `hdrpipe.validate` fps next to plain OpenImageIO decode fps.

Generates (once) a 48-frame 1920×1080 fixture plate under ``bench/out/`` (and
prints how long that took: the brief's bar is < 30 s on 2 cores), then on the
same frames in the same run measures:

* plain OIIO decode: ``ImageInput.open`` + ``read_image`` of every frame, in
  its stored type (half), one Python thread and two Python threads (OIIO also
  uses its own decode threads); the faster is the baseline;
* ``hdrpipe.validate(profile="ray3")`` with 2 workers (every check, pixels
  read once).

Target: validate ≥ 0.8 × the decode baseline. The machine is shared, so each
round alternates decode and validate and the best round of each is kept; CPU
ms per frame (process time) is printed too, as it is less sensitive to load.
Usage: ``python bench/validate.py [--frames 48] [--width 1920 --height 1080]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import OpenImageIO as oiio  # noqa: N813 - the usual alias

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fixtures.generate import make_plate  # noqa: E402
from hdrpipe.sequence import open_sequence  # noqa: E402
from hdrpipe.validation import validate  # noqa: E402

__all__ = ["main"]


def _decode(path: Path) -> None:
    inp = oiio.ImageInput.open(str(path))
    if inp is None:
        raise RuntimeError(oiio.geterror())
    spec = inp.spec()
    pixels = inp.read_image(0, 0, 0, spec.nchannels, "half")
    inp.close()
    if pixels is None:
        raise RuntimeError(f"{path}: decode failed")


def _decode_fps(paths: list[Path], threads: int) -> tuple[float, float]:
    """(frames per wall second, CPU ms per frame) of a plain decode loop."""
    cpu, start = time.process_time(), time.perf_counter()
    if threads == 1:
        for p in paths:
            _decode(p)
    else:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(_decode, paths))
    return (
        len(paths) / (time.perf_counter() - start),
        (time.process_time() - cpu) / len(paths) * 1000,
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=48)
    ap.add_argument("--width", type=int, default=1920)
    ap.add_argument("--height", type=int, default=1080)
    ap.add_argument(
        "--repeat", type=int, default=3, help="alternating rounds (best kept)"
    )
    args = ap.parse_args(argv)
    out = ROOT / "bench" / "out" / f"validate-{args.width}x{args.height}-{args.frames}"
    if not any(out.glob("plate.*.exr")):
        start = time.perf_counter()
        make_plate(out, width=args.width, height=args.height, frames=args.frames)
        took = time.perf_counter() - start
        print(
            f"generate  {args.frames} frames {args.width}x{args.height}: {took:.1f} s "
            f"({args.frames / took:.1f} fps, 2 threads)"
        )
    seq = open_sequence(out / "plate.####.exr")
    paths = [seq.path(f) for f in seq.frames]
    _decode_fps(paths[:4], 1)  # warm the page cache and OIIO
    validate(seq, "ray3", workers=2)
    best_decode = best_validate = 0.0
    cpu_decode = cpu_validate = float("inf")
    status = "?"
    for _ in range(args.repeat):
        d1, c1 = _decode_fps(paths, 1)
        d2, c2 = _decode_fps(paths, 2)
        cpu, start = time.process_time(), time.perf_counter()
        report = validate(seq, "ray3", workers=2)
        v = len(paths) / (time.perf_counter() - start)
        cv = (time.process_time() - cpu) / len(paths) * 1000
        status = report.status
        print(
            f"round     oiio decode 1 thread {d1:6.1f} fps ({c1:5.1f} ms CPU/frame) | "
            f"2 threads {d2:6.1f} fps ({c2:5.1f}) | "
            f"validate(ray3, 2 workers) {v:6.1f} fps ({cv:5.1f})"
        )
        best_decode = max(best_decode, d1, d2)
        best_validate = max(best_validate, v)
        cpu_decode = min(cpu_decode, c1, c2)
        cpu_validate = min(cpu_validate, cv)
    print(
        f"result    best wall: decode {best_decode:.1f} fps, "
        f"validate {best_validate:.1f} fps, "
        f"ratio {best_validate / best_decode:.2f} (target >= 0.80); "
        f"CPU per frame: decode {cpu_decode:.1f} ms, validate {cpu_validate:.1f} ms, "
        f"ratio {cpu_decode / cpu_validate:.2f}; report {status}; "
        f"cpus {os.cpu_count()}, "
        f"load {os.getloadavg()[0]:.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
