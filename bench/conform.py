"""Benchmark the conform engine: fps against the stages alone, peak RSS against length.

Usage: ``.venv/bin/python bench/conform.py [--short 48] [--long 240] [--preset ID]
[--report-only] [--editorial [bench/editorial.py's options]]``

``--editorial`` runs the editorial case instead: a conform of the test cut
(EDL, four events, pulls with handles) against plain conforms of the same
frames, cost per event (``bench/editorial.py``, which it runs).

Prints, for a 1080p Ray3-like plate (generated once under bench/out/):

* ms/frame of each stage measured alone on the same frames (EXR decode, colour,
  encode fed pre-coloured frames) and the serial sum of them;
* the engine's end-to-end fps for the short and the long clip, each in a fresh
  subprocess, and its peak RSS — which must not grow with clip length;
* the QC report's cost (what ``hdrpipe conform`` does after the job:
  ``attach_report`` in the same process, with the previews the job's
  validators kept; matplotlib loaded by ``report.plots.warm_up`` while the job
  runs, as the CLI does, its CPU counted as the report's)
  against the job's wall and CPU time, for one ProRes deliverable and for the
  demo's four (ProRes, HEVC HDR10, H.264 SDR review, ACEScg EXR) at the short
  length: the target is under 10 %. The wall share is the report's time after
  the job; the job runs on every core and the report on one, so an idle
  machine shows the largest share. The CPU share does not depend on the load.
  ``--report-only`` runs just these two jobs.

Nothing is asserted: the numbers are for people (and the issue notes).
"""

from __future__ import annotations

import argparse
import json
import os
import runpy
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
plate, outdir, presets, color_path = sys.argv[1:5]
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
c0 = cpu()
t0 = time.perf_counter()
from hdrpipe.report.plots import warm_up
warming = warm_up()  # as the CLI does: matplotlib loads while the job runs
job = ConformJob(inputs=(plate,), deliver=tuple(presets.split(",")), outdir=outdir,
                 overwrite=True, color_path=color_path)
m = conform(job)
elapsed = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
c1 = cpu()
t0 = time.perf_counter()
from hdrpipe.cli.report import attach_report
assert attach_report(m.path, m.to_dict(), previews=m.previews)
report = time.perf_counter() - t0
warming.join()  # its CPU is the report's, not the job's
print(json.dumps({"frames": m.data["frames"], "seconds": elapsed, "rss_mb": rss,
                  "report_seconds": report,
                  "job_cpu": c1 - c0 - warming.cpu_seconds,
                  "report_cpu": cpu() - c1 + warming.cpu_seconds}))
"""

#: ``make demo``'s deliverables.
DEMO_PRESETS = (
    "prores4444xq-pq1000",
    "hevc-hdr10",
    "h264-sdr-review",
    "exr-acescg",
)
#: The issue's budget: the QC report costs under this share of the job's time.
REPORT_BUDGET = 0.10


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


def _engine(
    pattern: Path, presets: tuple[str, ...], color_path: str
) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        argv = [str(pattern), tmp, ",".join(presets), color_path]
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, *argv],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    return json.loads(out.strip().splitlines()[-1])


def _verdict(share: float) -> str:
    return "meets" if share < REPORT_BUDGET else "MISSES"


def _report_cases(short: Path, n: int, preset: str, color_path: str) -> None:
    load = os.getloadavg()[0]
    print(
        f"QC report cost, 1080p {n} frames, budget < {REPORT_BUDGET:.0%} "
        f"(load average {load:.1f} on {os.cpu_count()} cores):"
    )
    for label, presets in (
        (f"1 deliverable ({preset})", (preset,)),
        (f"demo's {len(DEMO_PRESETS)} deliverables", DEMO_PRESETS),
    ):
        r = _engine(short, presets, color_path)
        wall = r["report_seconds"] / r["seconds"]
        cpu = r["report_cpu"] / r["job_cpu"]
        print(
            f"  {label}:\n"
            f"    CPU  {r['report_cpu']:5.2f} s / job {r['job_cpu']:6.1f} s = "
            f"{100 * cpu:4.1f} % -> {_verdict(cpu)} the budget\n"
            f"    wall {r['report_seconds']:5.2f} s / job {r['seconds']:6.1f} s = "
            f"{100 * wall:4.1f} % -> {_verdict(wall)} the budget"
        )


def main() -> int:
    if "--editorial" in sys.argv[1:]:  # the editorial case, its own options
        sys.argv.remove("--editorial")
        script = Path(__file__).with_name("editorial.py")
        runpy.run_path(str(script), run_name="__main__")
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--short", type=int, default=48)
    ap.add_argument("--long", type=int, default=240)
    ap.add_argument("--preset", default="prores4444xq-pq1000")
    ap.add_argument("--stage-frames", type=int, default=8)
    ap.add_argument("--color-path", default="auto", choices=("auto", "exact", "fast"))
    ap.add_argument(
        "--report-only", action="store_true", help="only the QC report's cost"
    )
    args = ap.parse_args()

    if args.report_only:
        _report_cases(_plate(args.short), args.short, args.preset, args.color_path)
        return 0
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
        r = _engine(pattern, (args.preset,), args.color_path)
        fps = r["frames"] / r["seconds"]
        rss.append(r["rss_mb"])
        print(
            f"  {n:4d} frames: {r['seconds']:7.1f} s  {fps:6.2f} fps  "
            f"({fps * serial:4.2f}x the serial sum of stages)  "
            f"peak RSS {r['rss_mb']:7.0f} MB"
        )
    print(f"peak RSS long/short: {rss[1] / rss[0]:.2f} (flat memory = about 1.0)")
    _report_cases(short, args.short, args.preset, args.color_path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
