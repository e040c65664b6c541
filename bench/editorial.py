"""Benchmark the editorial conform: cost per event against plain conforms.

Usage: ``.venv/bin/python bench/editorial.py [--size 960x540] [--handles 8]``

Generates the test cut's four stamped clips (fixtures/editorial.py) under a temp
folder, then times, in this process:

* ``conform_timeline`` of the EDL (read, match, one pull per event, .cc/.nk,
  editorial manifest) delivering ``exr-aces``;
* plain ``conform`` jobs of the same sequences and frame ranges (what a TD
  scripting the pulls by hand would run).

The difference is the editorial overhead per event — an upper bound: the
editorial run goes first (cold OCIO processors) and its pulls also apply each
event's CDL, the plain ones none. Nothing is asserted. On 2 shared cores at
320x180 (110 frames): 1.27 s/event against 0.88 s/event.

``--farm N`` adds the same editorial job on a local Dask cluster of N workers
(one task per pull, hdrpipe.farm.editorial) against the in-process run above.
``--master-frames N`` times writing N frames of the assembled master the way
assemble does (staged folder, each header read back, renamed into place)
against plain per-frame ``write_exr`` into the final folder (the old way).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fixtures.editorial import CLIPS, editorial_timeline, make_clip, write_cut  # noqa: E402
from hdrpipe.editorial import conform_timeline  # noqa: E402
from hdrpipe.engine import ConformJob, conform  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="960x540")
    ap.add_argument("--handles", type=int, default=8)
    ap.add_argument("--color-path", default="exact", choices=("auto", "exact", "fast"))
    ap.add_argument("--farm", type=int, default=0, help="also run on N local workers")
    ap.add_argument("--master-frames", type=int, default=0)
    args = ap.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for clip in CLIPS:
            make_clip(root / "media" / clip.name, clip, width=width, height=height)
        cut = write_cut(editorial_timeline(), root / "cut")["edl"]
        job = ConformJob(
            inputs=(cut,),
            deliver=("exr-aces",),
            outdir=root / "editorial",
            fps="24",
            color_path=args.color_path,
        )
        t0 = time.perf_counter()
        result = conform_timeline(job, [root / "media"], handles=args.handles)
        editorial = time.perf_counter() - t0
        pulls = result.plan.pulls
        t0 = time.perf_counter()
        for pull in pulls:
            assert pull.match.media is not None
            conform(
                ConformJob(
                    inputs=(pull.match.media.sequence.pattern,),
                    deliver=("exr-aces",),
                    frames=pull.frames,
                    outdir=root / "plain" / pull.name,
                    color_path=args.color_path,
                )
            )
        plain = time.perf_counter() - t0
        farm = _farm(job, root, args) if args.farm else None
        master = _master_write(root, width, height, args.master_frames)
    frames = sum(p.frames.count for p in pulls)
    n = len(pulls)
    print(f"{n} events, {frames} frames at {width}x{height}, handles {args.handles}:")
    print(f"  editorial conform  {editorial:7.2f} s  ({editorial / n:6.2f} s/event)")
    print(f"  plain conforms     {plain:7.2f} s  ({plain / n:6.2f} s/event)")
    print(f"  overhead per event {(editorial - plain) / n:+7.2f} s")
    if farm is not None:
        print(
            f"  on {args.farm} local workers {farm:7.2f} s  ({editorial / farm:.2f}x)"
        )
    if master is not None:
        staged, direct = master
        print(
            f"  master EXR, {args.master_frames} frames: staged {staged:.2f} s, "
            f"direct {direct:.2f} s ({staged / direct:.2f}x)"
        )
    return 0


def _farm(job: ConformJob, root: Path, args: argparse.Namespace) -> float:
    import dataclasses

    from hdrpipe.farm.editorial import EditorialFarm

    farm_job = dataclasses.replace(job, outdir=root / "farm")
    t0 = time.perf_counter()
    with EditorialFarm(workers=args.farm) as runner:
        conform_timeline(
            farm_job, [root / "media"], handles=args.handles, runner=runner
        )
    return time.perf_counter() - t0


def _master_write(
    root: Path, width: int, height: int, n: int
) -> tuple[float, float] | None:
    if n <= 0:
        return None
    import dataclasses
    from fractions import Fraction

    import numpy as np

    from hdrpipe.editorial.assemble import MASTER_COMPRESSION
    from hdrpipe.encode.exr_writer import ExrWriter
    from hdrpipe.encode.presets import get_preset
    from hdrpipe.exr import AP0_CHROMATICITIES, write_exr
    from hdrpipe.types import Rate

    rng = np.random.default_rng(1)
    frame = rng.random((height, width, 3), dtype=np.float32)
    spec = dataclasses.replace(
        get_preset("exr-aces"), exr_compression=MASTER_COMPRESSION
    )
    t0 = time.perf_counter()
    writer = ExrWriter(
        spec,
        root / "staged" / "m.####.exr",
        width=width,
        height=height,
        rate=Rate(Fraction(24)),
        whole_folder=True,
    )
    for _ in range(n):
        writer.write(frame, time_code="01:00:00:00")
    writer.close()
    staged = time.perf_counter() - t0
    (root / "direct").mkdir()
    t0 = time.perf_counter()
    for i in range(n):
        write_exr(
            root / "direct" / f"m.{1001 + i:04d}.exr",
            frame,
            compression=MASTER_COMPRESSION,
            chromaticities=AP0_CHROMATICITIES,
            time_code="01:00:00:00",
            frames_per_second=Fraction(24),
        )
    return staged, time.perf_counter() - t0


if __name__ == "__main__":
    sys.exit(main())
