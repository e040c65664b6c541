"""The job manifest (``OUTDIR/<name>.manifest.json``) and ``conform``, the whole job."""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

from .._version import __version__
from ..color import resolve_config
from ..color.looks import look_record
from ..encode.presets import spec_to_dict
from ..errors import HdrpipeError, InputError
from ..outputs import atomic_write, discard
from ..sequence import Sequence as ImageSequence
from ..sequence import file_sha256
from ..validation import Validator
from .job import (
    ConformJob,
    JobPlan,
    ProgressCallback,
    _resolve_retime,
    job_name,
    manifest_path,
    plan,
    readable_header,
)
from .lock import JobLock, hold
from .stream import run

__all__ = ["Manifest", "manifest_data", "write_manifest", "conform", "MANIFEST_SCHEMA"]

MANIFEST_SCHEMA = "hdrpipe.manifest/1"


@dataclass(frozen=True)
class Manifest:
    """What a conform made, as written to ``OUTDIR/<name>.manifest.json``."""

    path: Path
    data: Mapping[str, Any] = field(repr=False)
    #: Input pattern → frame → (step, decimated stored RGB) of the frames its
    #: validator kept (first, middle, last): a QC report made in this process
    #: reuses them instead of decoding again. Not part of the JSON.
    previews: Mapping[str, Mapping[int, tuple[int, Any]]] = field(
        default_factory=dict, repr=False, compare=False
    )

    @property
    def outputs(self) -> list[dict[str, Any]]:
        return list(self.data["outputs"])

    def to_dict(self) -> dict[str, Any]:
        """A deep, JSON-plain copy (what the manifest file holds)."""
        copy: dict[str, Any] = json.loads(json.dumps(self.data))
        return copy


def _fraction_text(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}"


def _input_digests(
    seq: ImageSequence, stop: threading.Event | None = None
) -> dict[str, str] | None:
    """Frame file name → sha256 of every frame of ``seq``; None once ``stop`` is set."""
    found: dict[str, str] = {}
    for f in seq.frames:
        if stop is not None and stop.is_set():
            return None
        found[seq.path(f).name] = file_sha256(seq.path(f))
    return found


class _Digests:
    """The sha256 of every input frame, hashed on a thread while the job runs.

    Hashing after the last frame is a serial tail of one core (0.2 s per 48
    1080p half-PIZ frames, 1 s per 240); hashlib releases the GIL, so beside the
    stream it costs only the CPU it uses. :meth:`close` stops it between files.
    """

    def __init__(self, plan_: JobPlan) -> None:
        self._sequences = [shot.sequence for shot in plan_.shots]
        self._digests: dict[str, dict[str, str]] = {}
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="hdrpipe-sha256", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        try:
            for seq in self._sequences:
                if seq.pattern in self._digests:
                    continue
                found = _input_digests(seq, self._stop)
                if found is None:
                    return
                self._digests[seq.pattern] = found
        except BaseException as err:  # re-raised by result(), in the job's thread
            self._error = err

    def result(self) -> dict[str, dict[str, str]]:
        """Per input pattern, frame file name → sha256 (waits for the thread)."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._digests

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def manifest_data(
    plan_: JobPlan,
    outputs: list[dict[str, Any]],
    elapsed: float,
    *,
    digests: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, Any]:
    """Build the job manifest (schema ``hdrpipe.manifest/1``).

    ``digests`` (input pattern → frame file name → sha256) are the inputs'
    hashes when already computed; any input missing from it is hashed here.
    """
    digests = digests or {}
    ocio_config, config = resolve_config(plan_.job.config)
    transforms = {
        (t["source"], t["target"]["name"]): t
        for out in outputs
        for t in out.get("transforms", [])
    }
    inputs = []
    shots = []
    for i, shot in enumerate(plan_.shots):
        report = plan_.reports[i] if i < len(plan_.reports) else None
        seq = shot.sequence
        header = readable_header(seq)
        record_in = plan_.timecode(shot.record_first)
        record_out = plan_.timecode(shot.record_first + shot.record_frames)
        placement = {
            "record_first": shot.record_first,
            "record_frames": shot.record_frames,
            "record_in": str(record_in),
            "record_out": str(record_out),
        }
        inputs.append(
            {
                "path": seq.pattern,
                "name": seq.name,
                "first": shot.source_range.first,
                "last": shot.source_range.last,
                "frames": len(seq.frames),
                "missing": list(seq.missing),
                "rate": _fraction_text(shot.source_rate.fps),
                "width": header.width,
                "height": header.height,
                "pixel_aspect": shot.pixel_aspect,
                "colorspace": shot.colorspace,
                "colorspace_warning": shot.colorspace_warning,
                "time_code": header.time_code,
                "source_timecode": None
                if shot.source_timecode is None
                else str(shot.source_timecode),
                "sha256": dict(digests.get(seq.pattern) or _input_digests(seq) or {}),
                "active": list(shot.placement.active),
                **placement,
                "validation": report.to_dict() if report is not None else None,
            }
        )
        shots.append(
            {
                "name": seq.name,
                "input": i,
                "source_first": shot.source_range.first,
                "source_last": shot.source_range.last,
                # this shot's frame-map method ("auto" resolves per source rate)
                "retime": _resolve_retime(
                    plan_.job.retime, shot.source_rate, plan_.rate
                ),
                **placement,
            }
        )
    look = plan_.job.look
    actives = {tuple(s.placement.active) for s in plan_.shots}
    return {
        "schema": MANIFEST_SCHEMA,
        "hdrpipe_version": __version__,
        "name": plan_.name,
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "elapsed_seconds": round(elapsed, 3),
        "rate": _fraction_text(plan_.rate.fps),
        "drop_frame": plan_.rate.drop_frame,
        "start_timecode": str(plan_.start_timecode),
        "frames": plan_.frames,
        "retime": plan_.retime,
        "raster": {
            "width": plan_.width,
            "height": plan_.height,
            "pixel_aspect": plan_.pixel_aspect,
            "active": list(actives.pop()) if len(actives) == 1 else None,
            "fit": plan_.job.fit,
        },
        "hdr_metadata": {"include_mattes": plan_.job.include_mattes},
        "color": {
            "config": dataclasses.asdict(config),
            "source_colorspace": plan_.shots[0].colorspace,
            # Structured (kind, file, cccid, CDL values, process space, ACES ID):
            # a config look stays a name, farm jobs and hand-offs read this.
            "look": look_record(look, ocio_config) if look is not None else None,
            "color_path": {
                target: t["color_path"]["path"]
                for (_src, target), t in transforms.items()
            },
            "transforms": list(transforms.values()),
        },
        "presets": [spec_to_dict(out.spec) for out in plan_.outputs],
        "inputs": inputs,
        "outputs": outputs,
        "shots": shots,
        "validation_forced": plan_.job.force
        and any(r.status == "fail" for r in plan_.reports),
    }


def write_manifest(
    path: Path, data: Mapping[str, Any], *, overwrite: bool = True
) -> Path:
    """Write the manifest JSON atomically (:func:`hdrpipe.outputs.atomic_write`)."""
    text = json.dumps(data, indent=2, default=str) + "\n"
    return atomic_write(path, text, overwrite=overwrite)


def conform(
    job: ConformJob,
    *,
    on_progress: ProgressCallback | None = None,
    lock: JobLock | None = None,
) -> Manifest:
    """Run a whole conform: validate, plan, encode, write the manifest.

    The sources are validated with ``job.profile`` while they are decoded for
    the deliverables (header checks first, before any pixel): a failure that no
    later frame can clear (a damaged frame, NaN/Inf) stops an unforced job at
    that frame, the others (bit depth, gamut) when the last frame is decoded;
    either way no output is left under its final name. ``on_progress(done,
    total)`` is called from worker threads as frames complete; it must be quick
    and thread-safe.

    The job holds the lock of its OUTDIR and name while it runs
    (:mod:`hdrpipe.engine.lock`; pass ``lock`` when the caller holds it already):
    a second job for the same outputs is refused, and what a dead job left is
    removed first.

    Raises
    ------
    JobLockedError
        Another live job is writing the same OUTDIR and name.
    """
    if lock is None:
        with hold(job.outdir, job_name(job)) as held:
            return _conform(job, on_progress, held)
    return _conform(job, on_progress, lock)


def _conform(
    job: ConformJob, on_progress: ProgressCallback | None, lock: JobLock
) -> Manifest:
    started = time.monotonic()
    # Header checks now (a typo or a wrong file fails at once); the pixel checks
    # run on the frames the stream decodes anyway: one decode for both.
    plan_ = plan(job, validate_sources="headers")
    target = manifest_path(plan_)
    if os.path.lexists(target) and not job.overwrite:
        # Refused now: at the end it would cost the deliverables just made.
        raise InputError(f"output {target} exists (use --overwrite to replace it)")
    lock.record_outputs([out.path for out in plan_.outputs])
    validators = [
        Validator(
            shot.sequence,
            job.profile,
            max_memory=job.max_memory,
            previews=True,
            source_space=job.source_colorspace,
        )
        for shot in plan_.shots
    ]
    for validator in validators:
        validator.check_headers()  # cached headers: so frames bring no new header
    digests = _Digests(plan_)
    try:
        outputs = run(plan_, on_progress=on_progress, validators=validators)
        found = digests.result()
    finally:
        digests.close()
    plan_ = dataclasses.replace(plan_, reports=tuple(v.report() for v in validators))
    data = manifest_data(plan_, outputs, time.monotonic() - started, digests=found)
    try:
        path = write_manifest(target, data, overwrite=job.overwrite)
    except HdrpipeError:
        # Deliverables without their manifest are no finished job: take them back.
        for out in outputs:
            made = Path(out["path"])
            discard(made.parent if out.get("kind") == "exr" else made)
        raise
    previews: dict[str, dict[int, tuple[int, Any]]] = {}
    for v in validators:  # one shot's plate may be used twice
        previews.setdefault(v.input, {}).update(v.previews())
    return Manifest(path=path, data=data, previews=previews)
