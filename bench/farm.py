"""Benchmark the farm: CPU per frame vs the engine, per-chunk costs, makespan model.

Usage::

    .venv/bin/python bench/farm.py [--size 1080p] [--frames 96] [--chunk 48]
        [--preset prores4444xq-pq1000 --preset hevc-hdr10] [--threads N]
        [--simulate NODES [--sim-size uhd --sim-frames 1440 --sim-chunk 48]]
        [--check-workers 2 --check-frames 96 --check-chunk 24]

For each preset, on one Ray3-like plate (``fixtures.generate``, written once
under bench/out/), every measurement in its own fresh process (imports done
first and timed apart, so no run inherits another's caches):

1. **engine**: ``hdrpipe.engine.conform`` in one process: CPU s/frame.
2. **farm, 1 worker**: ``plan_job`` + ``run`` on a local Dask cluster of one
   worker process (cluster start-up and worker imports done before the clock
   starts): CPU s/frame of the whole process tree (submitting process with the
   scheduler, nanny, worker), split into plan (source checks), measure chunks,
   encode chunks and the rest (stitch, Dask); the **overhead ratio** against
   the engine. Issue target: ≤ +10 %.
3. **per-chunk costs**: chunk tasks of ``--chunk`` frames and of a few frames
   run in one process, fitted as ``fixed + per_frame × frames`` (CPU and wall,
   with ``--threads`` threads, default the share of one of ``--check-workers``
   local workers), plus the fixed pieces timed alone: imports (a fresh
   interpreter, minus a bare one), plan re-load (JSON + engine plan without
   validation), colour transforms (OCIO config, processors, LUT bake) cold and
   warm, and source hashing per frame.

``--simulate NODES`` then predicts the makespan of a ``--sim-frames`` job at
``--sim-size`` on NODES workers, from per-chunk costs measured in the same run
at that size (chunks of 1 and 4 frames). The model: plan (source checks) runs
serially on the submitting machine, ∝ frames; each phase's chunks (measure,
for plans that list ``measure_targets``, then encode) are list-scheduled on
the workers, a chunk of n frames taking ``fixed + per_frame × n`` wall seconds
on a worker with the thread share measured, and at least its CPU seconds over
the cores a worker has (``--simulate``: one core per task thread; the check:
this machine's cores over ``--check-workers``) — the costs are measured with
one worker alone, whose pipeline threads spread over every core; the stitch
runs serially, ∝ frames. It checks the same model against a real
``--check-workers`` local run here (1080p, 96 frames, chunk 24): predicted vs
measured wall and CPU (``--check-only``: the check alone).

The machine's other load shows in the numbers (wall more than CPU): report
CPU seconds. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import heapq
import json
import logging
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIZES = {"1080p": (1920, 1080), "uhd": (3840, 2160), "small": (640, 360)}


def _size(text: str) -> tuple[int, int]:
    if text in SIZES:
        return SIZES[text]
    w, h = text.lower().split("x")
    return int(w), int(h)


def _plate(width: int, height: int, frames: int) -> Path:
    from fixtures.generate import make_plate

    out = ROOT / "bench" / "out" / f"farm_plate_{width}x{height}_{frames}"
    if not (out / f"plate.{1000 + frames:04d}.exr").exists():
        make_plate(out, width=width, height=height, frames=frames)
    return out / "plate.####.exr"


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _tree_cpu() -> float:
    """CPU seconds of this process and its live descendants (Dask nanny, worker)."""
    import psutil

    me = psutil.Process()
    total = 0.0
    for proc in [me, *me.children(recursive=True)]:
        try:
            t = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system
    return total


class _Clock:
    def __init__(self) -> None:
        self.cpu = _cpu()
        self.wall = time.perf_counter()

    def lap(self) -> dict[str, float]:
        cpu, wall = _cpu(), time.perf_counter()
        out = {"cpu": cpu - self.cpu, "wall": wall - self.wall}
        self.cpu, self.wall = cpu, wall
        return out


# --------------------------------------------------------------------------- children
# Each runs in a fresh interpreter (``bench/farm.py --child MODE JSON``) and
# prints one JSON line.


def _job(plate: str, preset: str, outdir: Path, **kw: Any) -> Any:
    from hdrpipe.engine import ConformJob

    return ConformJob(inputs=(plate,), deliver=(preset,), outdir=outdir, **kw)


def _allocator(a: dict[str, Any]) -> None:
    if a.get("allocator") == "tuned":  # what the CLI does first
        from hdrpipe.memory import tune_allocator

        tune_allocator()


def child_engine(a: dict[str, Any]) -> dict[str, Any]:
    from hdrpipe.engine import conform

    _allocator(a)

    job = _job(a["plate"], a["preset"], Path(a["work"]) / "engine")
    clock = _Clock()
    conform(job)
    return clock.lap()


def child_farm(a: dict[str, Any]) -> dict[str, Any]:
    """A real local Dask run: plan + run (+ stitch), CPU of the process tree."""
    logging.getLogger("distributed").setLevel(logging.ERROR)
    from distributed import Client

    from hdrpipe import farm
    from hdrpipe.farm.scheduler import local_cluster

    _allocator(a)
    workers = int(a["workers"])
    with local_cluster(workers) as cluster, Client(cluster) as client:
        client.wait_for_workers(workers)
        if a.get("allocator") == "tuned":
            from hdrpipe.memory import tune_allocator

            client.run(tune_allocator)  # as farm.run does for its own cluster
        client.run(lambda: __import__("hdrpipe.farm.tasks"))  # imports: timed apart
        time.sleep(1.0)  # let start-up settle
        tree0, wall0 = _tree_cpu(), time.perf_counter()
        clock = _Clock()
        plan = farm.plan_job(
            _job(a["plate"], a["preset"], Path(a["work"]) / f"farm{workers}"),
            chunk=int(a["chunk"]),
        )
        planned = clock.lap()
        manifest = farm.run(plan, client=client, threads=a.get("threads"))
        wall = time.perf_counter() - wall0
        tree = _tree_cpu() - tree0
    info = manifest.to_dict().get("farm", {})
    chunks = info.get("chunks", [])
    return {
        "cpu": tree,
        "wall": wall,
        "plan": planned,
        "measure_cpu": sum(c.get("measure_cpu_seconds") or 0.0 for c in chunks),
        "chunk_cpu": sum(c.get("cpu_seconds") or 0.0 for c in chunks),
        "stitch": info.get("stitch"),
        "chunks": len(plan.chunks),
    }


def child_chunks(a: dict[str, Any]) -> dict[str, Any]:
    """Chunk tasks in one process: fitted fixed + per-frame costs, and pieces."""
    from hdrpipe import farm
    from hdrpipe.farm import tasks
    from hdrpipe.farm.plan import FarmPlan
    from hdrpipe.farm.state import source_digests

    _allocator(a)
    threads = a.get("threads")
    small, big = int(a["small"]), int(a["big"])
    work = Path(a["work"])
    out: dict[str, Any] = {}

    def plan_for(tag: str, chunk: int, **kw: Any) -> Any:
        clock = _Clock()
        plan = farm.plan_job(
            _job(a["plate"], a["preset"], work / tag, **kw), chunk=chunk
        )
        frames = plan.frames
        return plan, {k: v / frames for k, v in clock.lap().items()}

    plan_s, per_frame_plan = plan_for("small", small)
    out["plan_per_frame"] = per_frame_plan
    # Fixed pieces, cold (the first task of a fresh worker process pays them).
    clock = _Clock()
    loaded = FarmPlan.load(plan_s.plan_path)
    out["plan_load"] = clock.lap()
    planned = tasks.task_plan(loaded)
    out["task_plan_cold"] = clock.lap()
    from hdrpipe.engine.stream import transforms_for

    targets = list(dict.fromkeys(o["target"] for o in loaded.outputs))
    transforms_for(planned, targets, threads)
    out["transforms_cold"] = clock.lap()
    transforms_for(planned, targets, threads)
    out["transforms_warm"] = clock.lap()
    chunk0 = loaded.chunks[0]
    paths = tasks.chunk_sources(planned, chunk0.record_range)
    source_digests(paths)
    lap = clock.lap()
    out["hash_per_frame"] = {k: v / max(len(paths), 1) for k, v in lap.items()}

    def timed(plan: Any, index: int) -> dict[str, dict[str, float]]:
        res = {}
        if plan.measure_targets:
            clock = _Clock()
            tasks.measure_chunk(plan, index, threads=threads)
            res["measure"] = clock.lap()
        clock = _Clock()
        tasks.run_chunk(plan, index, threads=threads)
        res["run"] = clock.lap()
        return res

    # chunk 0 was warmed by the pieces above (plan, transforms); chunk 1 is warm.
    first = timed(plan_s, 0)
    warm_small = timed(plan_s, 1)
    plan_b, _ = plan_for("big", big, frames=f"1001-{1000 + big}")  # one chunk
    warm_big = timed(plan_b, 0)
    clock = _Clock()
    farm.stitch(plan_b)
    out["stitch_per_frame"] = {k: v / plan_b.frames for k, v in clock.lap().items()}
    fits: dict[str, Any] = {}
    for phase in warm_big:
        fit = {}
        for unit in ("cpu", "wall"):
            ys, yb = warm_small[phase][unit], warm_big[phase][unit]
            per_frame = (yb - ys) / (big - small)
            fit[unit] = {
                "fixed": ys - per_frame * small,
                "per_frame": per_frame,
                "first_extra": first[phase][unit] - ys,
            }
        fits[phase] = fit
    out["fits"] = fits
    out["samples"] = {"first": first, "small": warm_small, "big": warm_big}
    return out


def child_imports(_a: dict[str, Any]) -> dict[str, Any]:
    def run(code: str) -> float:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)

    bare = min(run("pass") for _ in range(3))
    full = min(run("import hdrpipe.farm.tasks, distributed") for _ in range(3))
    return {"cpu": full - bare}


CHILDREN = {
    "engine": child_engine,
    "farm": child_farm,
    "chunks": child_chunks,
    "imports": child_imports,
}


ALLOCATOR = {"policy": "default"}


def _spawn(mode: str, **args: Any) -> dict[str, Any]:
    args.setdefault("allocator", ALLOCATOR["policy"])
    proc = subprocess.run(
        [sys.executable, __file__, "--child", mode, json.dumps(args, default=str)],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


# --------------------------------------------------------------------------- model


def list_schedule(durations: list[float], workers: int) -> float:
    """Makespan of tasks handed in order to the first free of ``workers`` slots."""
    free = [0.0] * max(1, workers)
    for d in durations:
        start = heapq.heappop(free)
        heapq.heappush(free, start + d)
    return max(free)


def predict(
    costs: dict[str, Any],
    frames: int,
    chunk: int,
    workers: int,
    unit: str = "wall",
    cores_per_worker: float | None = None,
) -> dict[str, float]:
    """Makespan (s) of ``frames`` in ``chunk``-frame chunks on ``workers`` workers.

    With ``cores_per_worker`` a chunk lasts at least its CPU seconds over the
    cores its worker has: the chunk costs were measured with one worker alone,
    whose pipeline threads (reader, colour, encoder) spread over every core.
    """
    sizes = [min(chunk, frames - s) for s in range(0, frames, chunk)]
    plan = costs["plan_per_frame"][unit] * frames
    stitch = costs["stitch_per_frame"][unit] * frames
    phases = {}
    for phase, fit in costs["fits"].items():

        def duration(i: int, n: int, f: dict[str, float]) -> float:
            # Each worker's first chunk also pays the cold costs (imports aside).
            return (
                f["fixed"]
                + f["per_frame"] * n
                + (f["first_extra"] if i < workers else 0)
            )

        durations = [duration(i, n, fit[unit]) for i, n in enumerate(sizes)]
        if unit == "wall" and cores_per_worker:
            durations = [
                max(d, duration(i, n, fit["cpu"]) / cores_per_worker)
                for i, (d, n) in enumerate(zip(durations, sizes, strict=True))
            ]
        phases[phase] = list_schedule(durations, workers)
    total = plan + sum(phases.values()) + stitch
    return {"plan": plan, **phases, "stitch": stitch, "total": total}


def predict_cpu(costs: dict[str, Any], frames: int, chunk: int) -> float:
    """CPU seconds of the same job (plan + every task + stitch), any worker count
    (the first task of each worker's extra cost aside)."""
    sizes = [min(chunk, frames - s) for s in range(0, frames, chunk)]
    total = (costs["plan_per_frame"]["cpu"] + costs["stitch_per_frame"]["cpu"]) * frames
    for fit in costs["fits"].values():
        f = fit["cpu"]
        total += sum(f["fixed"] + f["per_frame"] * n for n in sizes)
    return float(total)


# --------------------------------------------------------------------------- main


def _fmt(x: float) -> str:
    return f"{x:7.3f}"


def _overhead(args: Any, plate: str, preset: str, w: Path) -> None:
    """Engine vs a 1-worker farm, ``--repeat`` times alternated: CPU s/frame."""
    n = args.frames
    engine_cpu, farm_cpu = [], []
    for i in range(args.repeat):
        eng = _spawn("engine", plate=plate, preset=preset, work=w / f"e{i}")
        one = _spawn(
            "farm",
            plate=plate,
            preset=preset,
            work=w / f"f{i}",
            workers=1,
            chunk=args.chunk,
        )
        engine_cpu.append(eng["cpu"])
        farm_cpu.append(one["cpu"])
        rest = one["cpu"] - one["plan"]["cpu"] - one["measure_cpu"] - one["chunk_cpu"]
        print(
            f"run {i + 1}: engine {eng['cpu'] / n:.3f} CPU s/frame "
            f"({eng['cpu']:.1f} CPU s, {eng['wall']:.1f} s wall); farm, 1 worker "
            f"{one['cpu'] / n:.3f} ({one['cpu']:.1f} CPU s, {one['wall']:.1f} s wall, "
            f"{one['chunks']} chunks: plan {one['plan']['cpu']:.1f}, measure chunks "
            f"{one['measure_cpu']:.1f}, encode chunks {one['chunk_cpu']:.1f}, stitch "
            f"and Dask {rest:.1f}); overhead {one['cpu'] / eng['cpu'] - 1:+.1%}"
        )
    e, f = statistics.median(engine_cpu), statistics.median(farm_cpu)
    print(
        f"median of {args.repeat}: engine {e / n:.3f}, farm {f / n:.3f} CPU s/frame: "
        f"overhead {f / e - 1:+.1%} (target +10 %); load now "
        f"{os.getloadavg()[0]:.1f}"
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        result = CHILDREN[argv[1]](json.loads(argv[2]))
        print(json.dumps(result))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="1080p")
    parser.add_argument("--frames", type=int, default=96)
    parser.add_argument("--chunk", type=int, default=48)
    parser.add_argument("--preset", action="append")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--small", type=int, default=4, help="frames of the short chunks"
    )
    parser.add_argument("--simulate", type=int, metavar="NODES")
    parser.add_argument("--sim-size", default="uhd")
    parser.add_argument("--sim-frames", type=int, default=1440)
    parser.add_argument("--sim-chunk", type=int, default=48)
    parser.add_argument("--check-workers", type=int, default=2)
    parser.add_argument("--check-frames", type=int, default=96)
    parser.add_argument("--check-chunk", type=int, default=24)
    parser.add_argument("--skip-overhead", action="store_true")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="engine and farm runs, alternated; the medians give the overhead",
    )
    parser.add_argument("--skip-chunks", action="store_true")
    parser.add_argument(
        "--check-only",
        action="store_true",
        help="with --simulate: only the check against a real run here",
    )
    parser.add_argument(
        "--allocator",
        choices=("default", "tuned"),
        default="default",
        help="glibc defaults (a library caller) or hdrpipe.memory.tune_allocator "
        "(what the CLI sets: frame buffers mapped and unmapped each time)",
    )
    args = parser.parse_args(argv)
    ALLOCATOR["policy"] = args.allocator
    presets = args.preset or ["prores4444xq-pq1000", "hevc-hdr10"]
    cores = len(os.sched_getaffinity(0))
    threads = args.threads or max(1, cores // args.check_workers)
    width, height = _size(args.size)
    plate = str(_plate(width, height, args.frames))
    work = Path(tempfile.mkdtemp(prefix="hdrpipe-bench-farm-"))
    print(
        f"{width}x{height}, {args.frames} frames, chunk {args.chunk}, {cores} CPUs, "
        f"load {os.getloadavg()[0]:.1f}; chunk tasks with {threads} thread(s); "
        f"allocator {args.allocator}"
    )
    try:
        imports = _spawn("imports")
        print(
            f"imports (hdrpipe.farm.tasks + distributed, fresh interpreter): "
            f"{imports['cpu']:.2f} CPU s — once per Dask worker process, once per "
            "task for `hdrpipe farm run-chunk`"
        )
        for preset in presets:
            print(f"\n== {preset}")
            w = work / preset
            if not args.skip_overhead:
                _overhead(args, plate, preset, w)
            if args.skip_chunks:
                continue
            c = _spawn(
                "chunks",
                plate=plate,
                preset=preset,
                work=w / "chunks",
                small=args.small,
                big=args.chunk,
                threads=threads,
            )
            print(f"per-chunk costs ({threads} thread(s)), CPU s [wall s]:")
            for key, label in (
                ("plan_load", "plan re-load (JSON)"),
                ("task_plan_cold", "engine plan, no validation (cold)"),
                ("transforms_cold", "colour transforms (cold: config, processors)"),
                ("transforms_warm", "colour transforms (warm, cached)"),
                ("hash_per_frame", "source SHA-256, per frame"),
                ("plan_per_frame", "farm plan (source checks), per frame"),
                ("stitch_per_frame", "stitch, per frame"),
            ):
                print(f"  {label:46s} {_fmt(c[key]['cpu'])} [{c[key]['wall']:.3f}]")
            for phase, fit in c["fits"].items():
                cpu, wall = fit["cpu"], fit["wall"]
                print(
                    f"  {phase:7s} task: fixed {_fmt(cpu['fixed'])} + "
                    f"{cpu['per_frame']:.3f}/frame "
                    f"(first task +{cpu['first_extra']:.2f}) "
                    f"[wall {wall['fixed']:.2f} + {wall['per_frame']:.3f}/frame]"
                )
            if args.simulate:
                _simulate(args, preset, w, threads, c)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _simulate(
    args: argparse.Namespace,
    preset: str,
    work: Path,
    threads: int,
    costs_here: dict[str, Any],
) -> None:
    if not args.check_only:
        _simulate_size(args, preset, work, threads)
    # Check the model on a real run here, from this size's costs.
    cw, ch = _size(args.size)
    check_plate = str(_plate(cw, ch, args.check_frames))
    free_core = predict(
        costs_here, args.check_frames, args.check_chunk, args.check_workers
    )
    share = len(os.sched_getaffinity(0)) / args.check_workers
    predicted = predict(
        costs_here,
        args.check_frames,
        args.check_chunk,
        args.check_workers,
        cores_per_worker=share,
    )
    cpu = predict_cpu(costs_here, args.check_frames, args.check_chunk)
    load = os.getloadavg()[0]
    real = _spawn(
        "farm",
        plate=check_plate,
        preset=preset,
        work=work / "check",
        workers=args.check_workers,
        chunk=args.check_chunk,
        threads=threads,
    )
    print(
        f"check: {cw}x{ch}, {args.check_frames} frames, chunk {args.check_chunk}, "
        f"{args.check_workers} workers (load {load:.0f} → "
        f"{os.getloadavg()[0]:.0f}): makespan predicted {predicted['total']:.1f} s "
        f"({share:g} core(s) per worker; {free_core['total']:.1f} s if each chunk ran "
        f"as fast as alone), measured {real['wall']:.1f} s wall "
        f"({real['wall'] / predicted['total'] - 1:+.0%}); CPU predicted "
        f"{cpu:.1f} s, measured {real['cpu']:.1f} s ({real['cpu'] / cpu - 1:+.0%})"
    )


def _simulate_size(
    args: argparse.Namespace, preset: str, work: Path, threads: int
) -> None:
    sw, sh = _size(args.sim_size)
    sim_plate = str(_plate(sw, sh, 8))
    sim = _spawn(
        "chunks",
        plate=sim_plate,
        preset=preset,
        work=work / "sim",
        small=1,
        big=4,
        threads=threads,
    )
    # A node per worker, one core per task thread.
    p = predict(
        sim, args.sim_frames, args.sim_chunk, args.simulate, cores_per_worker=threads
    )
    one = predict(sim, args.sim_frames, args.sim_chunk, 1, cores_per_worker=threads)
    fits = ", ".join(
        f"{k} {v['wall']['fixed']:.2f} + {v['wall']['per_frame']:.2f}/frame"
        for k, v in sim["fits"].items()
    )
    print(
        f"simulate {args.sim_frames} frames {sw}x{sh}, chunk {args.sim_chunk}, "
        f"{args.simulate} workers of {threads} thread(s) and as many cores: "
        f"measured here {fits} s wall"
    )
    print(
        "  predicted makespan "
        + ", ".join(f"{k} {v:.0f}" for k, v in p.items())
        + f" s  ({p['total'] / 3600:.2f} h; 1 worker {one['total'] / 3600:.2f} h)"
    )


if __name__ == "__main__":
    sys.exit(main())
