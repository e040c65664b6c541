"""Conform an edit: every pull through the engine, then the assembled master.

:func:`conform_timeline` runs the plan of :mod:`.pulls` (one engine job per
matched event, by a :class:`PullRunner`: this process, or the farm split by
event) and, when the job delivers movies, :mod:`.assemble`'s master of the cut
with its hand-off; it sits above both, so neither imports the other.

The whole job holds the job lock ``OUTDIR/.<cut>.hdrpipe.lock``
(:mod:`hdrpipe.engine.lock`; ``<cut>`` is the master's name), whose record
lists every file the job makes (pulls, master, hand-off, editorial manifest):
a second editorial job for that OUTDIR and cut is refused, and what a killed
one left is removed before a rerun starts. The job is complete only with its
``OUTDIR/<cut>.editorial.json``, written last. Each pull also holds its own
lock (``OUTDIR/<shot>/.<shot>.hdrpipe.lock``) while it runs.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from ..engine import ConformJob, Manifest, ProgressCallback, conform, write_manifest
from ..engine.job import job_files
from ..engine.lock import JobLock, hold
from ..errors import InputError
from ..handoff import write_nuke_script
from ..report.job import job_report, report_path
from ..sequence import open_sequence
from ..timecode import Timecode
from .match import DEFAULT_HANDLES, InputSpaces
from .pulls import (
    ACES_PLATES,
    ACESCG_PLATES,
    DEFAULT_SHOT_NAME,
    EditorialPlan,
    EditorialResult,
    Pull,
    plan_timeline,
    write_pull_look,
)

__all__ = ["conform_timeline", "editorial_files", "PullRunner", "LocalRunner"]


def _plate_pattern(manifest: Manifest) -> str:
    """The pull's ACES2065-1 plates, else its ACEScg plates."""
    outputs = {o["preset"]: o["path"] for o in manifest.data["outputs"]}
    return str(outputs.get(ACES_PLATES) or outputs[ACESCG_PLATES])


class PullRunner(Protocol):
    """What runs an editorial job's engine jobs: the pulls, then the master's movies.

    ``resume`` says the runner keeps work an interrupted run completed; the
    assembled master EXR is then reused when it is complete and newer than
    every pull.
    """

    resume: bool

    def run_pulls(
        self, pulls: Sequence[Pull], on_progress: ProgressCallback | None
    ) -> list[Manifest]:
        """Make every pull (its ``.cc`` is written); manifests in ``pulls`` order."""
        ...

    def run_master(self, job: ConformJob, lock: JobLock | None = None) -> Manifest:
        """Make the movies of the assembled master (an ordinary conform job).

        ``lock`` is the editorial job's lock: the master's movies have the
        cut's name in OUTDIR, so they run under it (not a second lock).
        """
        ...


class LocalRunner:
    """The pulls one after the other in this process, then the master's movies."""

    resume = False

    def run_pulls(
        self, pulls: Sequence[Pull], on_progress: ProgressCallback | None
    ) -> list[Manifest]:
        total = sum(p.frames.count for p in pulls)
        done = 0
        manifests = []
        for pull in pulls:

            def step(d: int, _t: int, base: int = done) -> None:
                if on_progress is not None:
                    on_progress(base + d, total)

            manifests.append(conform(pull.job, on_progress=step))
            done += pull.frames.count
        return manifests

    def run_master(self, job: ConformJob, lock: JobLock | None = None) -> Manifest:
        return conform(job, lock=lock)


def _engine_files(job: ConformJob) -> list[Path]:
    """An engine job's deliverables, manifest and QC page."""
    *outputs, manifest = job_files(job)
    return [*outputs, manifest, report_path(manifest)]


def editorial_files(planned: EditorialPlan, *, handoff: bool = False) -> list[Path]:
    """Every file :func:`conform_timeline` makes for ``planned`` (for its lock).

    Per pull: its plates, manifest, QC page, ``.nk`` and ``.cc``; for the
    master: its ACES EXR sequence, movies, manifest, QC page and (with
    ``handoff``) OTIO, EDL and AMF folder; last the editorial manifest.
    """
    files: list[Path] = []
    for pull in planned.pulls:
        files += _engine_files(pull.job)
        files.append(pull.outdir / f"{pull.name}.nk")
        if pull.look is not None:
            files.append(pull.look)
    name = planned.master_name
    if planned.movies:
        from .assemble import assembly_pattern

        files.append(assembly_pattern(planned, name))
        master = dataclasses.replace(planned.job, deliver=planned.movies, name=name)
        files += _engine_files(master)
        if handoff:
            from .handoff import master_handoff_names

            files += [planned.outdir / n for n in master_handoff_names(name)]
    files.append(planned.manifest_path)
    return files


def conform_timeline(
    job: ConformJob,
    media: Sequence[str | os.PathLike[str]],
    *,
    handles: int = DEFAULT_HANDLES,
    shot_name_template: str = DEFAULT_SHOT_NAME,
    input_spaces: InputSpaces | None = None,
    on_progress: ProgressCallback | None = None,
    handoff: bool = False,
    runner: PullRunner | None = None,
    qc_report: bool = False,
) -> EditorialResult:
    """Pull every matched event of the edit: plates, manifest and .nk per shot.

    Each pull is ``hdrpipe.conform`` of its planned job (see the module
    docstring); the event's CDL file is written first. The editorial manifest
    ``OUTDIR/<cut>.editorial.json`` lists every event (match, pull range,
    source timecode, CDL, shot manifest and .nk; events filled with black
    under ``force``). ``on_progress(done, total)`` counts frames over all pulls.
    With ``handoff`` the assembled master gets its OTIO, EDL and per-event AMFs
    (:mod:`hdrpipe.editorial.handoff`); existing ones are refused up front
    unless ``job.overwrite``. ``runner`` makes the pulls and the master's
    movies (default :class:`LocalRunner`: one engine job after the other; the
    farm's runner splits the job by event, :mod:`hdrpipe.farm.editorial`).
    ``qc_report``: each pull and the assembled cut get their QC report beside
    their manifest (:mod:`hdrpipe.report.job`), listed as ``report``.

    The job holds ``OUTDIR/.<cut>.hdrpipe.lock`` from the end of planning to
    its end (module docstring); what a dead job for that cut left is removed
    first (kept with a resuming ``runner``).

    Raises
    ------
    JobLockedError
        Another live job holds the lock of OUTDIR and the cut (exit 2).
    """
    planned = plan_timeline(
        job,
        media,
        handles=handles,
        shot_name_template=shot_name_template,
        input_spaces=input_spaces,
    )
    resuming = runner is not None and runner.resume
    with hold(
        planned.outdir,
        planned.master_name,
        command="conform --timeline",
        keep_outputs=resuming,
        manifest=planned.manifest_path,
    ) as lock:
        lock.record_outputs(editorial_files(planned, handoff=handoff))
        return _conform_timeline(planned, lock, on_progress, handoff, runner, qc_report)


def _conform_timeline(
    planned: EditorialPlan,
    lock: JobLock,
    on_progress: ProgressCallback | None,
    handoff: bool,
    runner: PullRunner | None,
    qc_report: bool,
) -> EditorialResult:
    job = planned.job
    manifests = []
    shots: dict[int, dict[str, Any]] = {}
    if planned.movies:
        from .assemble import assembly_pattern

        aces = assembly_pattern(planned, planned.master_name)
        resuming = runner is not None and runner.resume
        exists = aces.parent.is_dir() and any(aces.parent.iterdir())
        if exists and not job.overwrite and not resuming:
            raise InputError(f"output {aces.parent} exists (use --overwrite)")
        if handoff and not job.overwrite:
            from .handoff import master_handoff_names

            for target in master_handoff_names(planned.master_name):
                if os.path.lexists(planned.outdir / target):
                    raise InputError(
                        f"hand-off {planned.outdir / target} exists (use --overwrite)"
                    )
    for pull in planned.pulls:
        write_pull_look(pull)
    run = runner if runner is not None else LocalRunner()
    pulled = run.run_pulls(planned.pulls, on_progress)
    for pull, manifest in zip(planned.pulls, pulled, strict=True):
        nk = write_nuke_script(manifest.to_dict(), pull.outdir / f"{pull.name}.nk")
        manifests.append(manifest)
        first = manifest.data["inputs"][0]
        shots[pull.match.event.index] = {
            "manifest": str(manifest.path),
            "nuke": str(nk),
            "cdl_file": str(pull.look) if pull.look else None,
            "frames": [pull.frames.first, pull.frames.last],
            "source_timecode": first.get("time_code"),
            "outputs": [o["path"] for o in manifest.data["outputs"]],
            "report": job_report(manifest) if qc_report else None,
        }
    data = planned.to_dict()
    for row in data["events"]:
        row["pull_outputs"] = shots.get(row["event"])
    master: dict[str, Any] | None = None
    if planned.movies:
        from .assemble import assemble

        plates = {
            p.match.event.index: open_sequence(_plate_pattern(m))
            for p, m in zip(planned.pulls, manifests, strict=True)
        }
        pattern, movie = assemble(
            planned,
            plates,
            planned.master_name,
            planned.movies,
            run_master=lambda master_job: run.run_master(master_job, lock=lock),
            reuse=run.resume,
        )
        master = {
            "aces": str(pattern),
            "manifest": str(movie.path) if movie else None,
            "outputs": [o["path"] for o in movie.data["outputs"]] if movie else [],
            "record_start": str(Timecode(planned.cut.start, planned.cut.rate)),
            "frames": planned.cut.end - planned.cut.start,
            "report": job_report(movie) if qc_report and movie else None,
        }
        if movie is not None:
            manifests.append(movie)
            if handoff:
                from .handoff import write_master_handoff

                written = write_master_handoff(
                    planned, pattern, movie.data, overwrite=job.overwrite
                )
                master["handoff"] = {k: str(v) for k, v in written.items()}
    data["master"] = master
    write_manifest(planned.manifest_path, data)
    return EditorialResult(planned, tuple(manifests), planned.manifest_path, data)
