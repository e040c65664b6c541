"""Peak RSS of a conform per preset at 1080p and UHD against the ``--dry-run`` estimate.

Usage::

    .venv/bin/python bench/memory.py [--frames 64] [--sizes 1080p,uhd]
                                     [--presets a,b] [--plates DIR]
                                     [--presets-file FILE] [--workers-threads N]

For every (size, preset) it runs one job (one deliverable) in a fresh
subprocess on the fixture plate (``fixtures.generate``, generated once under
``--plates``, default a folder in the system temporary directory) and prints:

* the measured peak RSS of the child: ``ru_maxrss`` and ``VmHWM`` (Linux keeps
  ``ru_maxrss`` across the ``exec`` from the forking process, so this parent
  imports nothing heavy; ``VmHWM`` belongs to the child's image alone);
* the estimate ``plan()`` makes before the first frame (what ``conform
  --dry-run`` reports), its queue depth, and the error of the estimate against
  the measured peak (``(estimate - measured) / measured``).

Budgets (issue "Scale"): ≤ 1 GB at 1080p, ≤ 2 GB at UHD for any single
deliverable; rows over budget are marked. Memory numbers are repeatable; the
wall seconds (``s``) are only indicative on a shared machine, the child's CPU
seconds (``cpu s``, user + system) much less affected by load.

Short clips hide x265's steady state (its look-ahead fills first): use ≥ 64
frames. Nothing is asserted: the numbers are for people.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: The shipped presets (hdrpipe.encode.presets.PRESETS), listed here so this
#: parent process does not import hdrpipe (see the module docstring).
PRESETS = (
    "prores4444xq-pq1000",
    "prores422hq-pq1000",
    "hevc-hdr10",
    "hevc-hlg",
    "h264-sdr-review",
    "exr-acescg",
    "exr-aces",
    "hevc-hdr10-lowmem",
    "hevc-hlg-lowmem",
)
SIZES = {"1080p": (1920, 1080), "uhd": (3840, 2160)}
#: Budgets per raster for one deliverable (bytes, decimal as --max-memory).
BUDGET = {"1080p": 1_000_000_000, "uhd": 2_000_000_000}

_CHILD = r"""
import json, resource, sys, time
from hdrpipe.memory import tune_allocator
tune_allocator()  # as the CLI does
from hdrpipe.engine import ConformJob, plan
from hdrpipe.engine.job import job_specs
from hdrpipe.engine.manifest import conform
plate, outdir, preset, presets_file, threads = sys.argv[1:6]
job = ConformJob(inputs=(plate,), deliver=(preset,), outdir=outdir, overwrite=True,
                 presets_file=presets_file or None)
if any(s.low_memory for s in job_specs(job)):
    tune_allocator(lean=True)  # as the CLI does for a low_memory preset
planned = plan(job)
estimate = planned.memory.to_dict()
t0 = time.perf_counter()
if threads == "plan":
    pass
elif threads:
    from hdrpipe.engine import run
    run(planned, threads=int(threads))
else:
    conform(job)
seconds = time.perf_counter() - t0
with open("/proc/self/status") as f:
    hwm = next(int(l.split()[1]) for l in f if l.startswith("VmHWM"))
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"ru_maxrss": usage.ru_maxrss * 1024, "vmhwm": hwm * 1024,
                  "seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime,
                  "estimate": estimate}))
"""


def plate(root: Path, size: str, frames: int) -> Path:
    """The fixture plate of ``size`` with ``frames`` frames (made once)."""
    width, height = SIZES[size]
    out = root / f"plate_{size}_{frames}"
    if not (out / f"plate.{1000 + frames:04d}.exr").exists():
        subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from fixtures.generate import make_plate; "
                "make_plate(sys.argv[1], width=int(sys.argv[2]), "
                "height=int(sys.argv[3]), frames=int(sys.argv[4]))",
                str(out),
                str(width),
                str(height),
                str(frames),
            ],
            check=True,
            cwd=ROOT,
        )
    return out / "plate.####.exr"


def measure(
    pattern: Path, preset: str, presets_file: str, threads: int | str | None
) -> dict[str, object]:
    """One job in a fresh subprocess; its peak RSS and the plan's estimate."""
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                _CHILD,
                str(pattern),
                tmp,
                preset,
                presets_file,
                str(threads or ""),
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    if done.returncode != 0:
        raise SystemExit(f"{preset}: job failed:\n{done.stderr[-2000:]}")
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


#: Encoder options of the long-GOP presets before their memory settings (x265
#: and x264 medium defaults: look-ahead 20 / 40 frames, frame threads from the
#: core count), to measure what the shipped settings cost.
BEFORE = {
    "hevc-hdr10": {
        "preset": "medium",
        "crf": "6",
        "tune": "grain",
        "x265-params": "no-open-gop=1:log-level=error",
    },
    "h264-sdr-review": {"preset": "medium", "crf": "18"},
}
#: Shipped presets that trade quality for memory, compared with their base.
LOW_MEMORY = {"hevc-hdr10": "hevc-hdr10-lowmem"}


def quality(frames: int, width: int, height: int, names: list[str]) -> None:
    """Quality of the shipped long-GOP settings against :data:`BEFORE`.

    For the presets of :data:`BEFORE` in ``names``; with their
    :data:`LOW_MEMORY` variant (a third row) when it is in ``names`` too.

    Same fixture frames (``fixtures.generate.render_frame``, colour-transformed
    to the preset's target) into both: PSNR of the decoded Y' against the
    encoder's input codes, grain retention (``hdrpipe.encode.quality``) on the
    fixture's flat patch, and the data rate.
    """
    from dataclasses import replace
    from fractions import Fraction

    import av
    import numpy as np

    sys.path.insert(0, str(ROOT))
    from fixtures.generate import grain_patch, render_frame
    from hdrpipe.color import Transform
    from hdrpipe.encode import get_preset, open_writer
    from hdrpipe.encode.quality import grain_retention
    from hdrpipe.types import ContentLightLevel, Rate

    rate = Rate(Fraction(24000, 1001))
    level = ContentLightLevel(1000, 200)
    rows, cols = grain_patch(width, height)
    scene = [render_frame(width, height, i, seed=5) for i in range(frames)]
    print(
        f"\nquality cost of the memory settings, {width}x{height}, {frames} frames "
        "(PSNR of decoded Y' vs the encoder's input codes; grain: decoded/input "
        "high-pass sigma of the flat patch)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for name, before in BEFORE.items():
            if name not in names:
                continue
            shipped = get_preset(name)
            transform = Transform(target=shipped.target)
            signals = [transform.apply(f) for f in scene]
            cases = [("before", replace(shipped, options=before)), ("shipped", shipped)]
            if LOW_MEMORY.get(name) in names:
                cases.append(("lowmem", get_preset(LOW_MEMORY[name])))
            for label, spec in cases:
                path = Path(tmp) / f"{name}-{label}{spec.extension}"
                with open_writer(
                    spec,
                    path,
                    width=width,
                    height=height,
                    rate=rate,
                    light_level=level if spec.needs_light_level_at_open else None,
                    overwrite=True,
                ) as writer:
                    inputs = [writer.planes(f)[0] for f in signals]  # type: ignore[attr-defined]
                    for f in signals:
                        writer.write(f)
                    writer.close(level)
                decoded = []
                with av.open(str(path)) as movie:
                    for fr in movie.decode(video=0):
                        plane = fr.planes[0]
                        dtype = np.dtype(np.uint8 if spec.bit_depth <= 8 else np.uint16)
                        a = np.frombuffer(plane, dtype).reshape(
                            -1, plane.line_size // dtype.itemsize
                        )
                        decoded.append(a[: plane.height, : plane.width].astype(float))
                peak = 2**spec.bit_depth - 1
                mse = np.mean(
                    [
                        np.mean((d - i) ** 2)
                        for d, i in zip(decoded, inputs, strict=True)
                    ]
                )
                psnr = 10 * np.log10(peak**2 / mse)
                kept = grain_retention(
                    [d[rows, cols] for d in decoded], [i[rows, cols] for i in inputs]
                )
                mbps = path.stat().st_size * 8 / float(frames / rate.fps) / 1e6
                print(
                    f"  {name:<16} {label:<8} PSNR Y {psnr:6.2f} dB   grain {kept:6.1%}"
                    f"   {mbps:7.2f} Mb/s"
                )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=64)
    ap.add_argument("--sizes", default="1080p,uhd")
    ap.add_argument("--presets", default=",".join(PRESETS))
    ap.add_argument("--quality-only", action="store_true", help="skip the memory rows")
    ap.add_argument("--presets-file", default="", help="user presets (experiments)")
    ap.add_argument(
        "--plates",
        type=Path,
        default=Path(tempfile.gettempdir()) / "hdrpipe-bench-memory",
        help="folder of the generated plates (reused between runs)",
    )
    ap.add_argument(
        "--threads",
        type=int,
        default=None,
        help="the share of cores a farm worker gives the stream (default: all)",
    )
    ap.add_argument(
        "--quality",
        type=int,
        default=0,
        metavar="FRAMES",
        help="also encode FRAMES 1080p frames with the long-GOP presets (of "
        "--presets) before and after their memory settings, and the low-memory "
        "variants, and print PSNR, grain and bitrate",
    )
    ap.add_argument(
        "--estimate-only",
        action="store_true",
        help="plan each case and print the estimate only (no encode)",
    )
    args = ap.parse_args(argv)
    sizes = [s for s in args.sizes.split(",") if s]
    presets = [p for p in args.presets.split(",") if p]
    print(
        f"peak RSS of one deliverable, {args.frames} frames, fresh process per row; "
        f"cores {len(os.sched_getaffinity(0))}"
    )
    print(
        f"{'size':<6} {'preset':<22} {'measured':>9} {'estimate':>9} {'error':>7} "
        f"{'depth':>5} {'budget':>7} {'s':>6} {'cpu s':>6}"
    )
    worst = 0.0
    for size in [] if args.quality_only else sizes:
        pattern = plate(args.plates, size, args.frames)
        for preset in presets:
            r = measure(
                pattern,
                preset,
                args.presets_file,
                "plan" if args.estimate_only else args.threads,
            )
            est = r["estimate"]
            assert isinstance(est, dict)
            estimate = int(est["estimated_peak_bytes"])
            if args.estimate_only:
                print(f"{size:<6} {preset:<22} {'-':>9} {estimate / 1e9:7.2f}GB")
                continue
            measured = int(r["vmhwm"])  # type: ignore[call-overload]
            error = (estimate - measured) / measured
            worst = max(worst, abs(error))
            over = "OVER" if measured > BUDGET[size] else "ok"
            print(
                f"{size:<6} {preset:<22} {measured / 1e9:7.2f}GB "
                f"{estimate / 1e9:7.2f}GB "
                f"{error:+7.1%} {est['frames_in_flight_per_stage']:>5} {over:>7} "
                f"{float(r['seconds']):6.1f} "  # type: ignore[arg-type]
                f"{float(r['cpu']):6.1f}",  # type: ignore[arg-type]
                flush=True,
            )
    if not (args.estimate_only or args.quality_only):
        print(f"largest estimate error: {worst:.1%} (target <= 20 %)")
    if args.quality:
        quality(args.quality, *SIZES["1080p"], presets)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
