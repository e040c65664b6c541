"""Conform an edit: every pull through the engine, then the assembled master.

:func:`conform_timeline` runs the plan of :mod:`.pulls` (one engine job per
matched event) and, when the job delivers movies, :mod:`.assemble`'s master of
the cut; it sits above both, so neither imports the other.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ..conform.timecode import Timecode
from ..engine import ConformJob, Manifest, ProgressCallback, conform, write_manifest
from ..errors import InputError
from ..handoff import write_nuke_script
from ..sequence import open_sequence
from .assemble import assemble, assembly_pattern
from .match import DEFAULT_HANDLES
from .pulls import (
    ACES_PLATES,
    ACESCG_PLATES,
    DEFAULT_SHOT_NAME,
    EditorialResult,
    plan_timeline,
    write_pull_look,
)

__all__ = ["conform_timeline"]


def _plate_pattern(manifest: Manifest) -> str:
    """The pull's ACES2065-1 plates, else its ACEScg plates."""
    outputs = {o["preset"]: o["path"] for o in manifest.data["outputs"]}
    return str(outputs.get(ACES_PLATES) or outputs[ACESCG_PLATES])


def conform_timeline(
    job: ConformJob,
    media: Sequence[str | os.PathLike[str]],
    *,
    handles: int = DEFAULT_HANDLES,
    shot_name_template: str = DEFAULT_SHOT_NAME,
    on_progress: ProgressCallback | None = None,
) -> EditorialResult:
    """Pull every matched event of the edit: plates, manifest and .nk per shot.

    Each pull is ``hdrpipe.conform`` of its planned job (see the module
    docstring); the event's CDL file is written first. The editorial manifest
    ``OUTDIR/<cut>.editorial.json`` lists every event (match, pull range,
    source timecode, CDL, shot manifest and .nk; events filled with black
    under ``force``). ``on_progress(done, total)`` counts frames over all pulls.
    """
    planned = plan_timeline(
        job, media, handles=handles, shot_name_template=shot_name_template
    )
    total = sum(p.frames.count for p in planned.pulls)
    done = 0
    manifests = []
    shots: dict[int, dict[str, Any]] = {}
    if planned.movies:
        aces = assembly_pattern(planned, planned.master_name)
        if aces.parent.is_dir() and any(aces.parent.iterdir()) and not job.overwrite:
            raise InputError(f"output {aces.parent} exists (use --overwrite)")
    for pull in planned.pulls:
        write_pull_look(pull)

        def step(d: int, _t: int, base: int = done) -> None:
            if on_progress is not None:
                on_progress(base + d, total)

        manifest = conform(pull.job, on_progress=step)
        done += pull.frames.count
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
        }
    data = planned.to_dict()
    for row in data["events"]:
        row["pull_outputs"] = shots.get(row["event"])
    master: dict[str, Any] | None = None
    if planned.movies:
        plates = {
            p.match.event.index: open_sequence(_plate_pattern(m))
            for p, m in zip(planned.pulls, manifests, strict=True)
        }
        pattern, movie = assemble(planned, plates, planned.master_name, planned.movies)
        master = {
            "aces": str(pattern),
            "manifest": str(movie.path) if movie else None,
            "outputs": [o["path"] for o in movie.data["outputs"]] if movie else [],
            "record_start": str(Timecode(planned.cut.start, planned.cut.rate)),
            "frames": planned.cut.end - planned.cut.start,
        }
        if movie is not None:
            manifests.append(movie)
    data["master"] = master
    path = planned.outdir / f"{planned.master_name}.editorial.json"
    planned.outdir.mkdir(parents=True, exist_ok=True)
    write_manifest(path, data)
    return EditorialResult(planned, tuple(manifests), path, data)
