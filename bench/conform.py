"""Benchmark the conform engine: fps against the stages alone, peak RSS against length.

Usage: ``.venv/bin/python bench/conform.py [--short 48] [--long 240] [--preset ID]``

Prints, for a 1080p Ray3-like plate (generated once under bench/out/):

* ms/frame of each stage measured alone on the same frames (EXR decode, colour,
  encode fed pre-coloured frames) and the serial sum of them;
* the engine's end-to-end fps for the short and the long clip, each in a fresh
  subprocess, and its peak RSS — which must not grow with clip length;
* the QC report's cost (``hdrpipe.report.write_report`` on the job's manifest,
  in the same process after the job, imports included) against the job's wall
  and CPU time: the target is under 10 %. On a loaded machine the wall-clock
  share overstates it (the report is mostly one thread, the job uses every
  core); the CPU share does not depend on the load.

Nothing is asserted: the numbers are for people (and the issue notes).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fixtures.generate import make_plate  # noqa: E402
from hdrpipe.color import (  # noqa: E402
    LightLevelMeter,
    Transform,
    mastering_display_for,
)
from hdrpipe.encode import open_writer  # noqa: E402
from hdrpipe.encode.presets import get_preset  # noqa: E402
from hdrpipe.exr import read_pixels  # noqa: E402
from hdrpipe.types import Rate  # noqa: E402

_CHILD = r"""
import json, resource, sys, time
from hdrpipe.engine import ConformJob, conform
plate, outdir, preset, color_path = sys.argv[1:5]
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
c0 = cpu()
t0 = time.perf_counter()
job = ConformJob(inputs=(plate,), deliver=(preset,), outdir=outdir, overwrite=True,
                 color_path=color_path)
m = conform(job)
elapsed = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
c1 = cpu()
t0 = time.perf_counter()
from hdrpipe.report import write_report
write_report(m, outdir + "/qc.html")
report = time.perf_counter() - t0
print(json.dumps({"frames": m.data["frames"], "seconds": elapsed, "rss_mb": rss,
                  "report_seconds": report, "job_cpu": c1 - c0,
                  "report_cpu": cpu() - c1}))
"""


def _plate(frames: int) -> Path:
    out = ROOT / "bench" / "out" / f"plate1080_{frames}"
    pattern = out / "plate.####.exr"
    if not (out / f"plate.{1000 + frames:04d}.exr").exists():
        make_plate(out, frames=frames)
    return pattern


def _stages(pattern: Path, preset: str, n: int, color_path: str) -> dict[str, float]:
    paths = [str(pattern).replace("####", f"{1001 + i:04d}") for i in range(n)]
    t0 = time.perf_counter()
    frames = [read_pixels(p, channels="RGB") for p in paths]
    decode = (time.perf_counter() - t0) / n
    spec = get_preset(preset)
    transform = Transform(target=spec.target, color_path=color_path)
    transform.apply(frames[0])  # bake / verify / warm up outside the timing
    t0 = time.perf_counter()
    signals = [transform.apply(f) for f in frames]
    colour = (time.perf_counter() - t0) / n
    h, w = frames[0].shape[:2]
    meter = LightLevelMeter(transform.target)
    for s in signals:
        meter.add(s)
    with tempfile.TemporaryDirectory() as tmp:
        writer = open_writer(
            spec,
            Path(tmp) / f"stage{spec.extension}",
            width=w,
            height=h,
            rate=Rate(Fraction(24)),
            mastering=mastering_display_for(transform.target),
            light_level=meter.result(),
        )
        t0 = time.perf_counter()
        for s in signals:
            writer.write(s)
        writer.close(light_level=meter.result())
        encode = (time.perf_counter() - t0) / n
    return {"decode": decode, "colour": colour, "encode": encode}


def _engine(pattern: Path, preset: str, color_path: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, str(pattern), tmp, preset, color_path],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--short", type=int, default=48)
    ap.add_argument("--long", type=int, default=240)
    ap.add_argument("--preset", default="prores4444xq-pq1000")
    ap.add_argument("--stage-frames", type=int, default=8)
    ap.add_argument("--color-path", default="auto", choices=("auto", "exact", "fast"))
    args = ap.parse_args()

    short, long_ = _plate(args.short), _plate(args.long)
    stages = _stages(short, args.preset, args.stage_frames, args.color_path)
    serial = sum(stages.values())
    print(
        f"1080p, preset {args.preset}, colour path {args.color_path}, "
        f"stages alone ({args.stage_frames} frames):"
    )
    for name, sec in stages.items():
        print(f"  {name:<8} {sec * 1000:8.1f} ms/frame")
    print(f"  {'sum':<8} {serial * 1000:8.1f} ms/frame  = {1 / serial:6.2f} fps serial")
    print("engine end to end (fresh process each; includes validation and manifest):")
    rss = []
    for pattern, n in ((short, args.short), (long_, args.long)):
        r = _engine(pattern, args.preset, args.color_path)
        fps = r["frames"] / r["seconds"]
        rss.append(r["rss_mb"])
        print(
            f"  {n:4d} frames: {r['seconds']:7.1f} s  {fps:6.2f} fps  "
            f"({fps * serial:4.2f}x the serial sum of stages)  "
            f"peak RSS {r['rss_mb']:7.0f} MB"
        )
        print(
            f"        QC report: {r['report_seconds']:6.1f} s = "
            f"{100 * r['report_seconds'] / r['seconds']:4.1f} % of the job's time; "
            f"CPU {r['report_cpu']:5.1f} s = "
            f"{100 * r['report_cpu'] / r['job_cpu']:4.1f} % of the job's "
            f"{r['job_cpu']:.1f} s"
        )
    print(f"peak RSS long/short: {rss[1] / rss[0]:.2f} (flat memory = about 1.0)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
