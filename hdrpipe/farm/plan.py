"""A conform job cut into frame-range chunks, as plain JSON data any farm can run.

:func:`plan_job` checks the sources' headers (the engine's ``plan``) and splits
the record (output) timeline into chunks of ``chunk`` frames. The
:class:`FarmPlan` is written to ``OUTDIR/<name>.farm.json``; every task (a
Dask worker, a Deadline/OpenCue/Tractor task running ``hdrpipe farm
run-chunk PLAN N``) re-plans the job from it without re-validating
(``plan(job, validate_sources=False)``) and makes only its record frames.

State lives next to the outputs, in ``OUTDIR/.<name>.farm/``::

    parts/<name>_<preset>.c0003.mov   movie part of chunk 3 (stitched at the end)
    exr/<name>_<preset>/<name>.1001.exr
                                      EXR frames, moved into OUTDIR at the end
    measure-0003.json                 chunk 3's light-level meters (HEVC HDR10 jobs)
    chunk-0003.json                   chunk 3 complete: outputs, probe, meters, files
    chunk-0003.progress               frames made so far by a running chunk

so the state directory must be on storage every worker and the submitting
machine share (as the outputs are).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..color.looks import absolute_look
from ..encode import light_level_at_close
from ..encode.presets import DeliverySpec
from ..engine import ConformJob, JobPlan, ProgressCallback
from ..engine import plan as engine_plan
from ..engine.job import job_name
from ..errors import InputError
from ..outputs import atomic_write
from ..sequence import Sequence as ImageSequence
from ..sequence import open_sequence
from ..types import Rate
from .state import reset_state

__all__ = [
    "DEFAULT_CHUNK",
    "FARM_PLAN_SCHEMA",
    "Chunk",
    "FarmPlan",
    "plan_job",
    "job_to_dict",
    "job_from_dict",
    "job_name",
    "plan_path_for",
    "staged_exr",
]

DEFAULT_CHUNK = 48
FARM_PLAN_SCHEMA = "hdrpipe.farm.plan/1"


@dataclass(frozen=True)
class Chunk:
    """Record frames ``start`` (inclusive) to ``stop`` (exclusive) and their part files.

    ``parts`` maps each movie preset id to the part this chunk writes; EXR
    deliverables have no part (chunks write their frames, numbered ``1001 +
    record index``, into the state folder :func:`staged_exr`, which the stitch
    moves into OUTDIR as a whole).
    """

    index: int
    start: int
    stop: int
    parts: Mapping[str, str] = field(default_factory=dict)

    @property
    def record_range(self) -> range:
        return range(self.start, self.stop)

    @property
    def frames(self) -> int:
        return self.stop - self.start

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "record_range": [self.start, self.stop],
            "parts": dict(self.parts),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Chunk:
        start, stop = data["record_range"]
        return cls(
            int(data["index"]), int(start), int(stop), dict(data.get("parts", {}))
        )


@dataclass(frozen=True)
class FarmPlan:
    """A planned job as data: job fields, chunks, outputs, state directory.

    ``job`` holds the :class:`~hdrpipe.engine.ConformJob` fields as JSON
    (absolute paths). ``outputs`` are ``{"preset", "kind", "target", "path"}``;
    ``measure_targets`` are the colour targets whose MaxCLL/MaxFALL must be
    measured over the whole job before any chunk encodes (presets that bake it
    in at open: ``hevc-hdr10``). ``validation`` keeps the sources' reports from
    planning (chunks do not re-validate).
    """

    name: str
    job: Mapping[str, Any]
    chunk_size: int
    frames: int
    rate: str
    start_timecode: str
    outdir: str
    state_dir: str
    plan_path: str
    outputs: tuple[Mapping[str, Any], ...]
    measure_targets: tuple[str, ...]
    chunks: tuple[Chunk, ...]
    validation: tuple[Mapping[str, Any] | None, ...] = ()
    has_alpha: bool = False
    created: str = ""
    #: The plan judged the header checks only; the chunks validate the pixels
    #: of the frames they decode and the stitch judges the job
    #: (:mod:`.sources`). Plans written before validated every frame here.
    validate_in_chunks: bool = False

    @property
    def state(self) -> Path:
        return Path(self.state_dir)

    def conform_job(self, *, overwrite: bool | None = None) -> ConformJob:
        """Rebuild the job; ``overwrite=True`` for tasks (chunks own their outputs)."""
        job = job_from_dict(self.job)
        fields: dict[str, Any] = {"name": self.name}
        if overwrite is not None:
            fields["overwrite"] = overwrite
        return _replace_job(job, **fields)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": FARM_PLAN_SCHEMA,
            "name": self.name,
            "created": self.created,
            "job": dict(self.job),
            "chunk_size": self.chunk_size,
            "frames": self.frames,
            "rate": self.rate,
            "start_timecode": self.start_timecode,
            "has_alpha": self.has_alpha,
            "outdir": self.outdir,
            "state_dir": self.state_dir,
            "plan_path": self.plan_path,
            "outputs": [dict(o) for o in self.outputs],
            "measure_targets": list(self.measure_targets),
            "chunks": [c.to_dict() for c in self.chunks],
            "validation": list(self.validation),
            "validate_in_chunks": self.validate_in_chunks,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=str) + "\n"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FarmPlan:
        if data.get("schema") != FARM_PLAN_SCHEMA:
            raise InputError(
                f"not a farm plan (schema {data.get('schema')!r}, "
                f"expected {FARM_PLAN_SCHEMA!r})"
            )
        try:
            return cls(
                name=str(data["name"]),
                job=dict(data["job"]),
                chunk_size=int(data["chunk_size"]),
                frames=int(data["frames"]),
                rate=str(data["rate"]),
                start_timecode=str(data["start_timecode"]),
                outdir=str(data["outdir"]),
                state_dir=str(data["state_dir"]),
                plan_path=str(data["plan_path"]),
                outputs=tuple(dict(o) for o in data["outputs"]),
                measure_targets=tuple(data.get("measure_targets", ())),
                chunks=tuple(Chunk.from_dict(c) for c in data["chunks"]),
                validation=tuple(data.get("validation", ())),
                has_alpha=bool(data.get("has_alpha", False)),
                created=str(data.get("created", "")),
                validate_in_chunks=bool(data.get("validate_in_chunks", False)),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise InputError(f"damaged farm plan: {err}") from err

    @classmethod
    def from_json(cls, text: str) -> FarmPlan:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise InputError(f"farm plan is not JSON: {err}") from err
        return cls.from_dict(data)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> FarmPlan:
        """Read a plan written by :meth:`save` (``OUTDIR/<name>.farm.json``)."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as err:
            raise InputError(f"{p}: cannot read farm plan: {err}") from err
        try:
            return cls.from_json(text)
        except InputError as err:
            raise InputError(f"{p}: {err}") from err

    def save(self) -> Path:
        """Write the plan atomically to :attr:`plan_path`."""
        path = Path(self.plan_path)
        return atomic_write(path, self.to_json())


def staged_exr(farm: FarmPlan, output: Mapping[str, Any]) -> Path:
    """Where chunks write an EXR deliverable's frames: ``STATE/exr/<folder>/<pattern>``.

    The plate appears in OUTDIR only when the stitch moves the whole folder, so
    an interrupted farm job never leaves a partial plate under its final name.
    """
    final = Path(output["path"])
    return farm.state / "exr" / final.parent.name / final.name


# --------------------------------------------------------------------------- job I/O


def _abs(value: str | os.PathLike[str] | None) -> str | None:
    """An absolute path for a path-like value; URIs (``ocio://``) stay as they are."""
    if value is None:
        return None
    text = os.fspath(value)
    if "://" in text:
        return text
    return os.path.abspath(os.path.expanduser(text))


def _rate_text(value: str | int | Fraction | Rate | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, Rate):
        return str(value)
    if isinstance(value, Fraction):
        return f"{value.numerator}/{value.denominator}"
    return str(value)


def job_to_dict(job: ConformJob) -> dict[str, Any]:
    """The job's fields as JSON (absolute paths; sequences as pattern + frame range)."""
    inputs: list[Any] = []
    for item in job.inputs:
        if isinstance(item, ImageSequence):
            inputs.append({"pattern": item.pattern, "frames": str(item.frame_range)})
        else:
            inputs.append(_abs(item))
    frames = job.frames
    return {
        "inputs": inputs,
        "deliver": list(job.deliver),
        "outdir": _abs(job.outdir),
        "fps": _rate_text(job.fps),
        "retime": job.retime,
        "start_tc": None if job.start_tc is None else str(job.start_tc),
        "frames": str(frames) if frames is not None else None,
        "reformat": job.reformat,
        "fit": job.fit,
        "config": _abs(job.config),
        # A config look is a name only the config resolves: never a path.
        "look": absolute_look(job.look) if job.look is not None else None,
        "name": job.name,
        "source_colorspace": job.source_colorspace,
        "profile": job.profile,
        "force": job.force,
        "overwrite": job.overwrite,
        "include_mattes": job.include_mattes,
        "presets_file": _abs(job.presets_file),
        "color_path": job.color_path,
        "alpha": job.alpha,
        "max_memory": job.max_memory,
    }


def job_from_dict(data: Mapping[str, Any]) -> ConformJob:
    """Rebuild a :class:`ConformJob` from :func:`job_to_dict`."""
    fields = dict(data)
    inputs: list[str | ImageSequence] = []
    for item in fields.pop("inputs"):
        if isinstance(item, Mapping):
            inputs.append(open_sequence(item["pattern"], frames=item.get("frames")))
        else:
            inputs.append(str(item))
    fields["deliver"] = tuple(fields["deliver"])
    try:
        return ConformJob(inputs=tuple(inputs), **fields)
    except TypeError as err:
        raise InputError(f"farm plan job fields: {err}") from err


def _replace_job(job: ConformJob, **changes: Any) -> ConformJob:
    return dataclasses.replace(job, **changes)


def plan_path_for(job: ConformJob) -> Path:
    """Where :func:`plan_job` writes the plan: ``OUTDIR/<name>.farm.json``."""
    return Path(job.outdir).absolute() / f"{job_name(job)}.farm.json"


# --------------------------------------------------------------------------- planning


def _split(frames: int, chunk: int) -> list[tuple[int, int]]:
    """Record ranges of ``chunk`` frames (the last one may be shorter)."""
    return [(start, min(start + chunk, frames)) for start in range(0, frames, chunk)]


def _measure_targets(plan_: JobPlan) -> tuple[str, ...]:
    """Targets to measure before any chunk encodes: those of presets that bake
    MaxCLL/MaxFALL in at open and cannot have them patched afterwards.

    x265's SEI can be patched (:func:`patched_at_stitch`): its parts carry the
    placeholder and the stitch patches the job's level, so no measure phase.
    """
    return tuple(
        dict.fromkeys(
            out.spec.target
            for out in plan_.outputs
            if out.spec.needs_light_level_at_open and not light_level_at_close(out.spec)
        )
    )


def patched_at_stitch(spec: DeliverySpec, farm: FarmPlan) -> bool:
    """True when ``spec``'s parts carry the placeholder light level SEI, which the
    stitch patches to the level merged over all chunks (``hevc-hdr10``).

    Plans that list the target in ``measure_targets`` (made before parts were
    patched at the stitch) bake the measured level into every part instead.
    """
    return (
        spec.hdr_metadata
        and spec.needs_light_level_at_open
        and light_level_at_close(spec)
        and spec.target not in farm.measure_targets
    )


def farm_plan_from(
    plan_: JobPlan,
    job: ConformJob,
    *,
    chunk: int,
    validation: Sequence[Any] = (),
    validate_in_chunks: bool = False,
) -> FarmPlan:
    """Cut an engine :class:`JobPlan` into chunks (no I/O)."""
    outdir = Path(job.outdir).absolute()
    state = outdir / f".{plan_.name}.farm"
    parts_dir = state / "parts"
    chunks = []
    for index, (start, stop) in enumerate(_split(plan_.frames, chunk)):
        parts = {
            out.spec.name: str(
                parts_dir
                / f"{plan_.name}_{out.spec.name}.c{index:04d}{out.path.suffix}"
            )
            for out in plan_.outputs
            if out.spec.kind != "exr"
        }
        chunks.append(Chunk(index, start, stop, parts))
    outputs = tuple(
        {
            "preset": out.spec.name,
            "kind": out.spec.kind,
            "target": out.spec.target,
            "path": str(out.path),
        }
        for out in plan_.outputs
    )
    return FarmPlan(
        name=plan_.name,
        job=job_to_dict(job),
        chunk_size=chunk,
        frames=plan_.frames,
        rate=str(plan_.rate),
        start_timecode=str(plan_.start_timecode),
        outdir=str(outdir),
        state_dir=str(state),
        plan_path=str(outdir / f"{plan_.name}.farm.json"),
        outputs=outputs,
        measure_targets=_measure_targets(plan_),
        chunks=tuple(chunks),
        validation=tuple(validation),
        has_alpha=plan_.has_alpha,
        created=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        validate_in_chunks=validate_in_chunks,
    )


def plan_job(
    job: ConformJob,
    *,
    chunk: int = DEFAULT_CHUNK,
    on_progress: ProgressCallback | None = None,
) -> FarmPlan:
    """Plan ``job`` (header checks of its sources), cut it into chunks, write the plan.

    The pixels are validated by the chunks as they decode them, and the job is
    judged at the stitch, before anything is published (:mod:`.sources`).

    The plan goes to ``OUTDIR/<name>.farm.json``.

    Parameters
    ----------
    chunk
        Record frames per chunk (the last chunk takes the remainder). Every
        movie part is encoded on its own, so each part of a long-GOP HEVC
        deliverable starts with an IDR picture and holds only closed GOPs: chunk
        boundaries are closed-GOP boundaries by construction.

    A fresh plan clears the state directory ``OUTDIR/.<name>.farm/`` of an
    earlier run of the same name (resume with :func:`hdrpipe.farm.run`
    ``resume=True`` on the plan already written instead).

    Raises
    ------
    InputError
        ``chunk`` < 1, or anything the engine's ``plan`` refuses.
    ValidationError
        A source fails the header checks of the job's profile (and ``force``
        is off); the pixel checks fail at the chunk or at the stitch.
    """
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise InputError(f"chunk must be a positive number of frames, got {chunk!r}")
    # The header checks now (a typo or a wrong file fails at once); the pixel
    # checks run in the chunks, on the frames they decode anyway (.sources).
    plan_ = engine_plan(job, validate_sources="headers", on_progress=on_progress)
    validation = [report.to_dict() for report in plan_.reports]
    farm = farm_plan_from(
        plan_, job, chunk=chunk, validation=validation, validate_in_chunks=True
    )

    Path(farm.outdir).mkdir(parents=True, exist_ok=True)
    reset_state(farm)
    farm.save()
    return farm
