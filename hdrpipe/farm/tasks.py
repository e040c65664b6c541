"""The two chunk tasks: measure (light level) and run (encode), both idempotent.

A task re-plans the job from the :class:`FarmPlan` (headers only, no
re-validation) and makes its record frames. Retime methods that read
neighbouring source frames (``blend``, ``flow``) need no overlap in the plan:
the engine maps every record frame to the source samples it needs and the task
reads those, whichever chunk they also belong to.

Each attempt writes its movie parts under names unique to the attempt, then
renames them to the chunk's part names and writes the completion record last,
so two attempts of one chunk (a retry racing a worker thought dead) never write
the same file, and a record always describes finished parts.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..color import LightLevelMeter, Transform, get_target
from ..encode.exr_writer import frame_path
from ..engine import EXR_FIRST_FRAME, JobPlan, transforms_for
from ..engine import measure as engine_measure
from ..engine import plan as engine_plan
from ..engine import run as engine_run
from ..errors import ConformError, InputError
from ..types import ContentLightLevel
from .plan import FarmPlan, patched_at_stitch, staged_exr
from .sources import ChunkValidator, save_stats, stats_path
from .state import (
    CHUNK_RECORD_SCHEMA,
    MEASURE_RECORD_SCHEMA,
    ProgressFile,
    complete_record,
    describe_files,
    progress_path,
    record_path,
    source_digests,
    write_json_atomic,
)

__all__ = [
    "run_chunk",
    "measure_chunk",
    "job_light_levels",
    "task_plan",
    "chunk_done",
    "chunk_sources",
]

log = logging.getLogger(__name__)

_PLANS: OrderedDict[str, JobPlan] = OrderedDict()
_PLANS_LOCK = threading.Lock()
_PLAN_CACHE_SIZE = 2


#: Per process and job: transforms no task is using (see :func:`_job_transforms`).
_TRANSFORMS: OrderedDict[str, list[dict[tuple[str, str], Transform]]] = OrderedDict()


def _plan_key(farm: FarmPlan) -> str:
    return json.dumps([farm.name, farm.job], sort_keys=True, default=str)


def task_plan(farm: FarmPlan) -> JobPlan:
    """The engine plan of ``farm``'s job, without validation (cached per process).

    Tasks own their outputs (``overwrite``): the user's choice was checked
    once, when the farm plan was made.
    """
    key = _plan_key(farm)
    with _PLANS_LOCK:
        cached = _PLANS.get(key)
        if cached is not None:
            _PLANS.move_to_end(key)
            return cached
    planned = engine_plan(farm.conform_job(overwrite=True), validate_sources=False)
    if (
        planned.frames != farm.frames
        or str(planned.start_timecode) != farm.start_timecode
    ):
        raise ConformError(
            f"{farm.plan_path}: the sources changed since the job was planned "
            f"({planned.frames} record frames from {planned.start_timecode}, planned "
            f"{farm.frames} from {farm.start_timecode}); plan it again"
        )
    with _PLANS_LOCK:
        _PLANS[key] = planned
        while len(_PLANS) > _PLAN_CACHE_SIZE:
            _PLANS.popitem(last=False)
    return planned


@contextlib.contextmanager
def _job_transforms(
    farm: FarmPlan, planned: JobPlan, threads: int | None
) -> Iterator[dict[tuple[str, str], Transform]]:
    """The job's transforms for one task, kept in this process for its next one.

    A worker then sets up the fast path (the LUT's OCIO processors) and checks
    it against the exact path on a frame once per job, as one engine run does,
    instead of once per chunk (about 0.45 CPU s a chunk at 1080p, measured by
    ``bench/farm.py``). Each task borrows a set no other task is using (tasks
    running at once in one worker get their own); a task that fails does not
    give its set back. Each chunk's records report the routed fraction of its
    own frames (:meth:`Transform.restart_count`).
    """
    key = json.dumps([_plan_key(farm), threads])
    with _PLANS_LOCK:
        idle = _TRANSFORMS.get(key)
        transforms = idle.pop() if idle else None
    if transforms is None:
        targets = list(dict.fromkeys(out.spec.target for out in planned.outputs))
        transforms = transforms_for(planned, targets, threads)
    else:
        for transform in transforms.values():
            transform.restart_count()
    yield transforms
    with _PLANS_LOCK:
        _TRANSFORMS.setdefault(key, []).append(transforms)
        _TRANSFORMS.move_to_end(key)
        while len(_TRANSFORMS) > _PLAN_CACHE_SIZE:
            _TRANSFORMS.popitem(last=False)


def _chunk(farm: FarmPlan, index: int) -> Any:
    if isinstance(index, bool) or not 0 <= index < len(farm.chunks):
        raise InputError(
            f"{farm.plan_path}: no chunk {index} (the plan has {len(farm.chunks)}: "
            f"0..{len(farm.chunks) - 1})"
        )
    return farm.chunks[index]


def chunk_sources(planned: JobPlan, record_range: range) -> list[Path]:
    """The source frame files a chunk's record frames read (retime neighbours too)."""
    paths = []
    for shot in planned.shots:
        present = set(shot.sequence.frames)
        for sample in shot.samples:
            if shot.record_first + sample.index in record_range:
                paths += [shot.sequence.path(f) for f in sample.sources if f in present]
    return paths


def chunk_done(farm: FarmPlan, index: int) -> dict[str, Any] | None:
    """The record of chunk ``index`` if it is complete and still valid, else None.

    Beyond :func:`~hdrpipe.farm.state.complete_record` (files and sources
    unchanged): for jobs that bake MaxCLL/MaxFALL into their parts, the level
    the chunk baked in must still be the job's (a changed source elsewhere can
    change it).
    """
    record = complete_record(farm, "chunk", index)
    if record is None or not farm.measure_targets:
        return record
    try:
        levels = job_light_levels(farm)
    except ConformError:
        return None  # measure chunks to redo first
    now = {t: {"max_cll": v.max_cll, "max_fall": v.max_fall} for t, v in levels.items()}
    if record.get("light_levels") != now:
        log.info(
            "chunk %d must be redone: the job's light level is now %s, it baked %s",
            index,
            now,
            record.get("light_levels"),
        )
        return None
    return record


def _worker() -> dict[str, Any]:
    return {"host": socket.gethostname(), "pid": os.getpid()}


def measure_chunk(
    farm: FarmPlan, index: int, *, resume: bool = False, threads: int | None = None
) -> dict[str, Any]:
    """Measure MaxCLL/MaxFALL of chunk ``index`` for each of ``farm.measure_targets``.

    Writes ``STATE/measure-NNNN.json`` (the meters, mergeable) and returns it.
    With ``resume`` a chunk already measured is not measured again. ``threads``:
    this task's share of the machine (see :func:`run_chunk`).
    """
    chunk = _chunk(farm, index)
    if resume:
        done = complete_record(farm, "measure", index)
        if done is not None:
            log.info("measure chunk %d already complete", index)
            return done
    started = time.time()
    cpu = time.process_time()
    planned = task_plan(farm)
    progress = ProgressFile(progress_path(farm, "measure", index))
    meters: dict[str, Any] = {}
    for n, target in enumerate(farm.measure_targets):
        base = n * chunk.frames
        total = len(farm.measure_targets) * chunk.frames

        def step(done: int, _total: int, base: int = base, total: int = total) -> None:
            progress(base + done, total)

        with _job_transforms(farm, planned, threads) as transforms:
            meter = engine_measure(
                planned,
                target,
                record_range=chunk.record_range,
                on_progress=step,
                threads=threads,
                transforms=transforms,
            )
        meters[target] = meter.to_dict()
    record = {
        "schema": MEASURE_RECORD_SCHEMA,
        "index": index,
        "record_range": [chunk.start, chunk.stop],
        "meters": meters,
        "files": [],
        "sources": source_digests(chunk_sources(planned, chunk.record_range)),
        "started": started,
        "elapsed": round(time.time() - started, 3),
        "cpu": round(time.process_time() - cpu, 3),
        "worker": _worker(),
    }
    write_json_atomic(record_path(farm, "measure", index), record)
    progress.clear()
    log.info(
        "measure chunk %d: frames %d-%d measured", index, chunk.start, chunk.stop - 1
    )
    return record


def job_light_levels(farm: FarmPlan) -> dict[str, ContentLightLevel]:
    """Merge every measure chunk's meters into the job-wide MaxCLL/MaxFALL per target.

    Raises
    ------
    ConformError
        A measure chunk has not completed (run ``hdrpipe farm measure-chunk``).
    """
    if not farm.measure_targets:
        return {}
    missing = []
    merged: dict[str, LightLevelMeter] = {}
    config = farm.job.get("config")
    targets = {t: get_target(t, config=config) for t in farm.measure_targets}
    for chunk in farm.chunks:
        record = complete_record(farm, "measure", chunk.index)
        if record is None:
            missing.append(chunk.index)
            continue
        for name, data in record["meters"].items():
            meter = LightLevelMeter.from_dict(data, targets[name])
            merged[name] = merged[name].merge(meter) if name in merged else meter
    if missing:
        raise ConformError(
            f"{farm.plan_path}: measure chunk(s) {missing} not complete; "
            "HEVC HDR10 bakes "
            "MaxCLL/MaxFALL of the whole job into every part, so run "
            "`hdrpipe farm measure-chunk PLAN N` for every chunk first"
        )
    return {name: meter.result() for name, meter in merged.items()}


def _exr_files(farm: FarmPlan, chunk: Any) -> list[Path]:
    files = []
    for out in farm.outputs:
        if out["kind"] == "exr":
            files += [
                frame_path(staged_exr(farm, out), EXR_FIRST_FRAME + i)
                for i in chunk.record_range
            ]
    return files


def run_chunk(
    farm: FarmPlan, index: int, *, resume: bool = False, threads: int | None = None
) -> dict[str, Any]:
    """Make chunk ``index``'s record frames (movie parts, EXR frames); record it.

    Idempotent: the movie parts are written under attempt-unique names, verified
    by their writers, renamed to the chunk's part names, and only then is
    ``STATE/chunk-NNNN.json`` (outputs, probe, light-level meters, files with
    SHA-256 of every file) written atomically. EXR frames go to the state
    folder (:func:`~hdrpipe.farm.plan.staged_exr`) until the stitch. With
    ``resume`` a chunk whose record exists and whose files still match is
    skipped (logged at INFO).

    ``threads`` is this task's share of the machine: its colour pool, ProRes
    frame threads and x265 pool are sized from it (default: every core, right
    for one task per machine; a local cluster of N workers passes cores // N).

    Raises
    ------
    ConformError
        The job needs measured light levels that are not complete yet.
    """
    chunk = _chunk(farm, index)
    if resume:
        done = chunk_done(farm, index)
        if done is not None:
            log.info("chunk %d already complete", index)
            return done
    started = time.time()
    cpu = time.process_time()
    planned = task_plan(farm)
    levels = job_light_levels(farm)
    # Hashed before the frames are read: a source rewritten while the chunk
    # runs makes the record disagree with it, and a resume redoes the chunk.
    sources = source_digests(chunk_sources(planned, chunk.record_range))
    attempt = uuid.uuid4().hex[:8]
    parts = {preset: Path(path) for preset, path in chunk.parts.items()}
    attempt_paths = {
        preset: path.with_name(f".{path.stem}.{attempt}{path.suffix}")
        for preset, path in parts.items()
    }
    for path in parts.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    staged = {
        out["preset"]: staged_exr(farm, out)
        for out in farm.outputs
        if out["kind"] == "exr"
    }
    progress = ProgressFile(progress_path(farm, "chunk", index))
    job = planned.job
    validators = (
        [
            ChunkValidator(
                shot.sequence,
                job.profile,
                max_memory=job.max_memory,
                source_space=job.source_colorspace,
            )
            for shot in planned.shots
        ]
        if farm.validate_in_chunks
        else None
    )
    try:
        with _job_transforms(farm, planned, threads) as transforms:
            outputs = engine_run(
                planned,
                record_range=chunk.record_range,
                paths={**attempt_paths, **staged},
                light_levels=levels or None,
                on_progress=progress,
                threads=threads,
                validators=validators,
                placeholder_light_level=[
                    out.spec.name
                    for out in planned.outputs
                    if patched_at_stitch(out.spec, farm)
                ],
                transforms=transforms,
            )
        for preset, tmp in attempt_paths.items():
            os.replace(tmp, parts[preset])
    finally:
        for tmp in attempt_paths.values():
            tmp.unlink(missing_ok=True)
    for record in outputs:
        if record["preset"] in parts:
            final = str(parts[record["preset"]])
            record["path"] = final
            if record.get("probe"):
                record["probe"]["path"] = final
    files = describe_files(list(parts.values()), checksum=True)
    files += describe_files(_exr_files(farm, chunk), checksum=True)
    if validators is not None:
        stats = save_stats(
            stats_path(farm.state, index), [v.frames_read() for v in validators]
        )
        files += describe_files([stats], checksum=True)
    record = {
        "schema": CHUNK_RECORD_SCHEMA,
        "index": index,
        "record_range": [chunk.start, chunk.stop],
        "light_levels": {
            t: {"max_cll": v.max_cll, "max_fall": v.max_fall} for t, v in levels.items()
        },
        "outputs": outputs,
        "files": files,
        "sources": sources,
        "started": started,
        "elapsed": round(time.time() - started, 3),
        "cpu": round(time.process_time() - cpu, 3),
        "worker": _worker(),
    }
    write_json_atomic(record_path(farm, "chunk", index), record)
    progress.clear()
    log.info("chunk %d: record frames %d-%d done", index, chunk.start, chunk.stop - 1)
    return record
