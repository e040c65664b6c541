"""The streaming conform pipeline: sources → retime → reformat → colour → writers.

``plan(job)`` turns a :class:`ConformJob` (what the user asked for) into a
:class:`JobPlan` (every output frame's source samples, the raster, the presets,
the output paths) without touching a pixel; ``run(plan)`` streams the frames.
``conform(job)`` does both and returns the :class:`Manifest`.

Streaming: a reader thread decodes, retimes and reformats frames (the only stage
that needs neighbours, kept in a small cache), a colour thread applies one OCIO
transform per distinct colour target (OCIO itself spreads each frame over row
strips), and one thread per deliverable converts and encodes. Stages are joined
by bounded queues, so memory is flat in clip length: at most
``QUEUE_DEPTH`` items wait between two stages.

Choices (documented for users in README):

* Retime ``auto``: ``asis`` when the target rate is the source rate or its NTSC
  (×1000/1001) variant — the usual 24 → 23.976 "play as" pull-down, same frames —
  and ``nearest`` otherwise, which keeps the duration.
* Source rate: the EXR ``framesPerSecond`` attribute, else 24 fps.
* Start timecode: ``start_tc``, else the first source frame's EXR ``timeCode``,
  else 00:00:00:00.
* HEVC HDR10 bakes MaxCLL/MaxFALL into its SEI when the encoder opens, so a job
  with such a deliverable first measures the light level of that colour target
  over the whole clip (one extra colour pass), then encodes. Every other
  deliverable gets the level measured while it is encoded; both measure the
  same signal and therefore agree.
* Outputs: ``OUTDIR/<name>_<preset>.<ext>`` for movies,
  ``OUTDIR/<name>_<preset>/<name>.####.exr`` (from frame 1001) for EXR. Existing
  outputs are never replaced unless ``overwrite``; an output path that is a
  source file is refused.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
from numpy.typing import NDArray

from . import __version__
from .color import (
    LightLevelMeter,
    Transform,
    get_target,
    mastering_display_for,
    resolve_config,
    source_colorspace,
)
from .conform.flow import FlowCache
from .conform.rates import parse_rate
from .conform.reformat import (
    Fit,
    Placement,
    apply_reformat,
    parse_raster,
    plan_reformat,
)
from .conform.retime import Method, Sample, frame_map, retime_frame
from .conform.timecode import Timecode
from .encode import open_writer
from .encode.presets import DeliverySpec, get_preset, load_presets, spec_to_dict
from .errors import ConformError, HdrpipeError, InputError, ValidationError
from .exr import ExrHeader, read_pixels
from .sequence import Sequence as ImageSequence
from .sequence import open_sequence, parse_frame_range
from .types import ContentLightLevel, FrameRange, Rate
from .validate import Report, validate
from .validate.checks import identify_chromaticities

__all__ = [
    "ConformJob",
    "JobPlan",
    "Shot",
    "Output",
    "Manifest",
    "plan",
    "measure",
    "run",
    "write_manifest",
    "manifest_data",
    "conform",
    "ProgressCallback",
    "DEFAULT_SOURCE_RATE",
    "EXR_FIRST_FRAME",
]

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]

DEFAULT_SOURCE_RATE = Rate(Fraction(24))
EXR_FIRST_FRAME = 1001
QUEUE_DEPTH = 2
MANIFEST_SCHEMA = "hdrpipe.manifest/1"
ColorPath = Literal["auto", "exact", "fast"]
RetimeChoice = Literal["auto", "asis", "nearest", "blend", "flow"]
_RETIME_METHODS = ("auto", "asis", "nearest", "blend", "flow")
_COLOR_PATHS = ("auto", "exact", "fast")
_FITS = ("letterbox", "pillarbox", "crop", "stretch")


@dataclass(frozen=True)
class ConformJob:
    """What to make: sources, deliverables, rate, timecode, raster, colour.

    ``inputs`` are sequences or paths (patterns, files, directories) concatenated
    in order; ``deliver`` are preset ids (``hdrpipe presets``).
    """

    inputs: tuple[str | os.PathLike[str] | ImageSequence, ...]
    deliver: tuple[str, ...]
    outdir: str | os.PathLike[str]
    fps: str | int | Fraction | Rate | None = None
    retime: str = "auto"  # RetimeChoice, checked in __post_init__
    start_tc: str | None = None
    frames: str | FrameRange | None = None
    reformat: str | None = None
    fit: str = "letterbox"  # Fit, checked in __post_init__
    config: str | os.PathLike[str] | None = None
    look: str | os.PathLike[str] | None = None
    name: str | None = None
    source_colorspace: str | None = None
    profile: str = "ray3"
    force: bool = False
    overwrite: bool = False
    include_mattes: bool = False
    presets_file: str | os.PathLike[str] | None = None
    color_path: str = "auto"  # auto | exact | fast (hdrpipe.color.fastpath)

    def __post_init__(self) -> None:
        inputs = self.inputs
        if isinstance(inputs, (str, os.PathLike, ImageSequence)):
            inputs = (inputs,)
        deliver = (self.deliver,) if isinstance(self.deliver, str) else self.deliver
        object.__setattr__(self, "inputs", tuple(inputs))
        object.__setattr__(self, "deliver", tuple(dict.fromkeys(deliver)))
        if not self.inputs:
            raise InputError("conform needs at least one input sequence")
        if not self.deliver:
            raise InputError("conform needs at least one --deliver preset")
        if self.retime not in _RETIME_METHODS:
            raise InputError(
                f"unknown retime method {self.retime!r}; "
                f"use one of {', '.join(_RETIME_METHODS)}"
            )
        if self.color_path not in _COLOR_PATHS:
            raise InputError(
                f"unknown colour path {self.color_path!r}; "
                f"use one of {', '.join(_COLOR_PATHS)}"
            )
        if self.fit not in _FITS:
            raise InputError(f"unknown fit {self.fit!r}; use one of {', '.join(_FITS)}")
        if self.frames is not None and len(self.inputs) > 1:
            raise InputError(
                "--frames selects frames of a single input; give one input"
            )


@dataclass(frozen=True)
class Shot:
    """One input sequence placed on the record (output) timeline."""

    sequence: ImageSequence
    source_range: FrameRange
    source_rate: Rate
    samples: tuple[Sample, ...]
    record_first: int
    placement: Placement
    colorspace: str
    has_alpha: bool
    colorspace_warning: str | None = None
    unreadable: tuple[int, ...] = ()  # damaged frames (validated with --force): held

    @property
    def record_frames(self) -> int:
        return len(self.samples)


@dataclass(frozen=True)
class Output:
    """One deliverable: its preset and where it goes."""

    spec: DeliverySpec
    path: Path


@dataclass(frozen=True)
class JobPlan:
    """A job resolved down to frames: no pixels read yet (besides headers)."""

    job: ConformJob
    name: str
    rate: Rate
    retime: Method
    start_timecode: Timecode
    shots: tuple[Shot, ...]
    width: int
    height: int
    outputs: tuple[Output, ...]
    reports: tuple[Report, ...] = ()

    @property
    def frames(self) -> int:
        return sum(shot.record_frames for shot in self.shots)

    @property
    def has_alpha(self) -> bool:
        return any(shot.has_alpha for shot in self.shots)

    def timecode(self, record_frame: int) -> Timecode:
        return self.start_timecode + record_frame


@dataclass(frozen=True)
class Manifest:
    """What a conform made, as written to ``OUTDIR/<name>.manifest.json``."""

    path: Path
    data: Mapping[str, Any] = field(repr=False)

    @property
    def outputs(self) -> list[dict[str, Any]]:
        return list(self.data["outputs"])

    def to_dict(self) -> dict[str, Any]:
        """A deep, JSON-plain copy (what the manifest file holds)."""
        copy: dict[str, Any] = json.loads(json.dumps(self.data))
        return copy


# --------------------------------------------------------------------------- plan


def _readable_header(seq: ImageSequence) -> ExrHeader:
    """The first frame header that reads: a damaged frame is validation's to report."""
    first_error: InputError | None = None
    for frame in seq.frames:
        try:
            return seq.header(frame)
        except InputError as err:
            first_error = first_error or err
    raise ValidationError(f"{seq.pattern}: no frame header is readable ({first_error})")


def _validate_sources(
    job: ConformJob,
    sequences: Sequence[ImageSequence],
    enabled: bool,
    on_progress: ProgressCallback | None,
) -> list[Report | None]:
    """Validate the sources with ``job.profile``; a failure stops an unforced job."""
    if not enabled:
        return [None] * len(sequences)
    total = sum(len(seq.frames) for seq in sequences)
    done = 0

    def step(d: int, _t: int) -> None:
        if on_progress is not None:
            on_progress(done + d, total)

    reports: list[Report | None] = []
    for seq in sequences:
        report = validate(seq, profile=job.profile, on_progress=step)
        done += len(seq.frames)
        reports.append(report)
        if report.status != "fail":
            continue
        failed = "; ".join(c.message for c in report.checks if c.status == "fail")
        if not job.force:
            raise ValidationError(
                f"{seq.pattern} fails the {job.profile!r} profile: {failed} "
                "(--force conforms it anyway and records the failures)"
            )
        log.warning(
            "%s fails validation, conforming anyway (--force): %s", seq.pattern, failed
        )
    return reports


def _unreadable(report: Report | None) -> tuple[int, ...]:
    if report is None:
        return ()
    readable = report.check("readable")
    return tuple(readable.frames) if readable is not None else ()


def _source_rate(seq: ImageSequence) -> Rate:
    fps = _readable_header(seq).frames_per_second
    if fps:
        return parse_rate(Fraction(fps))
    return DEFAULT_SOURCE_RATE


def _resolve_retime(method: str, source: Rate, target: Rate) -> Method:
    if method != "auto":
        return cast(Method, method)  # one of _RETIME_METHODS (ConformJob checks)
    if source.fps == target.fps or target.fps in (
        source.fps * Fraction(1000, 1001),
        source.fps * Fraction(1001, 1000),
    ):
        return "asis"
    return "nearest"


def _declared_chromaticities(seq: ImageSequence, check: Report | None) -> str | None:
    """The ``chromaticities`` check's verdict, else the first header's."""
    if check is not None:
        for result in check.checks:
            if result.id == "chromaticities":
                declared: str | None = result.details.get("declared")
                return declared
    return identify_chromaticities(_readable_header(seq).chromaticities)


def _source_colorspace(
    seq: ImageSequence, override: str | None, check: Report | None
) -> tuple[str, str | None]:
    """The OCIO colorspace of a source and, when it is a guess or a conflict, why."""
    colorspace, warning = source_colorspace(
        _declared_chromaticities(seq, check), override
    )
    if warning:
        log.warning("%s: %s", seq.pattern, warning)
    return colorspace, warning


def _output_paths(
    name: str, outdir: Path, specs: Sequence[DeliverySpec]
) -> tuple[Output, ...]:
    outputs = []
    for spec in specs:
        if spec.kind == "exr":
            path = outdir / f"{name}_{spec.name}" / f"{name}.####{spec.extension}"
        else:
            path = outdir / f"{name}_{spec.name}{spec.extension}"
        outputs.append(Output(spec, path))
    return tuple(outputs)


def _existing(path: Path) -> list[Path]:
    if "####" in path.name:
        prefix, suffix = path.name.split("####", 1)
        if not path.parent.is_dir():
            return []
        return [
            p
            for p in path.parent.iterdir()
            if p.name.startswith(prefix) and p.name.endswith(suffix)
        ]
    return [path] if path.exists() else []


def plan(
    job: ConformJob,
    *,
    validate_sources: bool = True,
    on_progress: ProgressCallback | None = None,
) -> JobPlan:
    """Resolve a job: validate the sources, map frames, place rasters, name outputs.

    ``validate_sources=False`` skips the pixel validation (headers only): for farm
    chunks of a job whose sources were validated when it was planned.

    Raises
    ------
    InputError
        Unknown preset, rate, raster, bad frame range, outputs that exist
        (without ``overwrite``) or that would replace a source.
    ValidationError
        A source fails the ``job.profile`` checks and ``job.force`` is off.
    """
    extra = load_presets(job.presets_file) if job.presets_file else None
    specs = [get_preset(name, extra=extra) for name in job.deliver]
    sequences = [
        item if isinstance(item, ImageSequence) else open_sequence(item)
        for item in job.inputs
    ]
    if job.frames is not None:
        wanted = (
            job.frames
            if isinstance(job.frames, FrameRange)
            else parse_frame_range(job.frames)
        )
        seq = sequences[0]
        if wanted.first < seq.frame_range.first or wanted.last > seq.frame_range.last:
            raise InputError(
                f"--frames {wanted} is outside {seq.pattern} ({seq.frame_range})"
            )
        sequences = [open_sequence(seq.pattern, frames=wanted)]

    # Everything cheap first (headers, rate, timecode, raster, outputs), so a typo
    # fails at once instead of after the pixel validation.
    first_header = _readable_header(sequences[0])
    first_rate = _source_rate(sequences[0])
    rate = parse_rate(job.fps) if job.fps is not None else first_rate
    method = _resolve_retime(job.retime, first_rate, rate)
    if job.start_tc:
        start = Timecode.parse(job.start_tc, rate)
    elif first_header.time_code:
        # A drop-frame label on a non-drop delivery is re-read, not refused.
        start = Timecode.parse(first_header.time_code, rate, strict=False)
    else:
        start = Timecode(0, rate)
    if job.reformat:
        width, height = parse_raster(job.reformat)
    else:
        width, height = first_header.width, first_header.height

    # OCIO config, colour targets and look resolve now (cheap), not after validation.
    for target in dict.fromkeys(spec.target for spec in specs):
        get_target(target, config=job.config)
    if job.look is not None:
        Transform(
            target=specs[0].target, look=job.look, config=job.config, color_path="exact"
        )

    name = job.name or sequences[0].name
    outdir = Path(job.outdir).absolute()
    outputs = _output_paths(name, outdir, specs)
    sources = {seq.path(f).resolve() for seq in sequences for f in seq.frames}
    for out in outputs:
        for existing in _existing(out.path):
            if existing.resolve() in sources:
                raise InputError(f"output {existing} would overwrite a source file")
            if not job.overwrite:
                raise InputError(
                    f"output {existing} exists (use --overwrite to replace it)"
                )

    reports = _validate_sources(job, sequences, validate_sources, on_progress)

    shots = []
    record = 0
    for seq, report in zip(sequences, reports, strict=True):
        header = _readable_header(seq)
        src_rate = _source_rate(seq)
        shot_method = _resolve_retime(job.retime, src_rate, rate)
        if shot_method != method:
            log.info(
                "%s: retime %s (its rate is %s)", seq.pattern, shot_method, src_rate
            )
        samples = frame_map(src_rate, rate, shot_method, seq.frame_range)
        placement = plan_reformat(
            header.width, header.height, width, height, cast(Fit, job.fit)
        )
        has_alpha = any(ch.name in ("A", "a") for ch in header.channels)
        colorspace, warning = _source_colorspace(seq, job.source_colorspace, report)
        shots.append(
            Shot(
                sequence=seq,
                source_range=seq.frame_range,
                source_rate=src_rate,
                samples=tuple(samples),
                record_first=record,
                placement=placement,
                colorspace=colorspace,
                has_alpha=has_alpha,
                colorspace_warning=warning,
                unreadable=_unreadable(report),
            )
        )
        record += len(samples)

    return JobPlan(
        job=job,
        name=name,
        rate=rate,
        retime=method,
        start_timecode=start,
        shots=tuple(shots),
        width=width,
        height=height,
        outputs=outputs,
        reports=tuple(r for r in reports if r is not None),
    )


# --------------------------------------------------------------------------- run


class _Cancelled(Exception):  # noqa: N818 - control flow, never seen by users
    """Raised in a stage when another stage failed, to unwind it quietly."""


class _Stage(threading.Thread):
    """A worker thread that records the first exception it meets."""

    def __init__(
        self, name: str, target: Callable[[], None], failed: threading.Event
    ) -> None:
        super().__init__(name=f"hdrpipe-{name}", daemon=True)
        self._target_fn = target
        self._failed = failed
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._target_fn()
        except _Cancelled:
            pass
        except BaseException as err:  # noqa: BLE001 - handed to the calling thread
            self.error = err
            self._failed.set()


def _put(q: queue.Queue[Any], item: Any, failed: threading.Event) -> None:
    while True:
        if failed.is_set():
            raise _Cancelled
        try:
            q.put(item, timeout=0.1)
            return
        except queue.Full:
            continue


def _get(q: queue.Queue[Any], failed: threading.Event) -> Any:
    while True:
        if failed.is_set():
            raise _Cancelled
        try:
            return q.get(timeout=0.1)
        except queue.Empty:
            continue


_END = object()


class _SourceFrames:
    """Decoded source frames of one shot, with a small cache for retime neighbours."""

    def __init__(self, shot: Shot, channels: str, cache_size: int = 2) -> None:
        self._shot = shot
        self._channels = channels
        self._cache: OrderedDict[int, NDArray[np.float32]] = OrderedDict()
        self._size = cache_size
        self._present = set(shot.sequence.frames) - set(shot.unreadable)
        # 24 → 60 style maps interpolate several output frames from one pair.
        self.flow_cache = FlowCache()

    def _nearest_present(self, frame: int) -> int:
        return min(self._present, key=lambda f: (abs(f - frame), f))

    def __call__(self, frame: int) -> NDArray[np.float32]:
        if frame not in self._present:
            # Only reachable with --force on gaps or damaged frames: hold the nearest.
            held = self._nearest_present(frame)
            log.info("frame %d is missing or damaged: holding frame %d", frame, held)
            frame = held
        if frame in self._cache:
            self._cache.move_to_end(frame)
            return self._cache[frame]
        pixels = read_pixels(self._shot.sequence.path(frame), channels=self._channels)
        if pixels.shape[2] == 3 and self._channels == "RGBA":
            alpha = np.ones(pixels.shape[:2] + (1,), np.float32)
            pixels = np.concatenate([pixels, alpha], axis=2)
        self._cache[frame] = pixels
        while len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return pixels


def _record_frames(
    plan_: JobPlan, record_range: range | None = None
) -> Iterator[tuple[int, Shot, Sample]]:
    for shot in plan_.shots:
        for sample in shot.samples:
            index = shot.record_first + sample.index
            if record_range is None or index in record_range:
                yield index, shot, sample


def _render(
    plan_: JobPlan, shot: Shot, sample: Sample, frames: _SourceFrames
) -> NDArray[np.float32]:
    picture = retime_frame(sample, frames, plan_.retime, flow_cache=frames.flow_cache)
    placement = shot.placement
    identity = (
        placement.scaled == (placement.width, placement.height) == picture.shape[1::-1]
    )
    if not (identity and placement.offset == (0, 0)):
        picture = apply_reformat(picture, placement)
    return np.ascontiguousarray(picture, dtype=np.float32)


def _transforms(
    plan_: JobPlan, targets: Iterable[str]
) -> dict[tuple[str, str], Transform]:
    job = plan_.job
    result: dict[tuple[str, str], Transform] = {}
    for shot in plan_.shots:
        for target in targets:
            key = (shot.colorspace, target)
            if key not in result:
                result[key] = Transform(
                    source=shot.colorspace,
                    target=target,
                    look=job.look,
                    config=job.config,
                    color_path=cast(ColorPath, job.color_path),
                )
    return result


def _stream(
    plan_: JobPlan,
    targets: Sequence[str],
    consume: Callable[[int, Shot, dict[str, NDArray[np.float32]]], None],
    *,
    record_range: range | None = None,
    tick: Callable[[], None] | None = None,
    transforms: Mapping[tuple[str, str], Transform] | None = None,
) -> None:
    """Decode → retime → reformat → colour every record frame; hand each to ``consume``.

    Three threads joined by bounded queues: this thread consumes, a reader renders
    frames and a colour thread applies the transforms.
    """
    if transforms is None:
        transforms = _transforms(plan_, targets)
    channels = "RGBA" if plan_.has_alpha else "RGB"
    failed = threading.Event()
    rendered: queue.Queue[Any] = queue.Queue(QUEUE_DEPTH)
    coloured: queue.Queue[Any] = queue.Queue(QUEUE_DEPTH)

    def read() -> None:
        sources: dict[int, _SourceFrames] = {}
        for index, shot, sample in _record_frames(plan_, record_range):
            frames = sources.setdefault(id(shot), _SourceFrames(shot, channels))
            try:
                picture = _render(plan_, shot, sample, frames)
            except HdrpipeError:
                raise
            except Exception as err:
                raise ConformError(
                    f"{shot.sequence.pattern}: record frame {index} "
                    f"(source {sample.sources}): {err}"
                ) from err
            _put(rendered, (index, shot, picture), failed)
        _put(rendered, _END, failed)

    def colour() -> None:
        while (item := _get(rendered, failed)) is not _END:
            index, shot, picture = item
            signals = {
                t: transforms[(shot.colorspace, t)].apply(picture) for t in targets
            }
            _put(coloured, (index, shot, signals), failed)
        _put(coloured, _END, failed)

    stages = [_Stage("read", read, failed), _Stage("colour", colour, failed)]
    for stage in stages:
        stage.start()
    try:
        while True:
            try:
                item = _get(coloured, failed)
            except _Cancelled:  # a stage failed: its error is raised below
                break
            if item is _END:
                break
            consume(*item)
            if tick is not None:
                tick()
    finally:
        failed.set()  # stops the stages if the consumer raised (no-op when they ended)
        for stage in stages:
            stage.join()
    for stage in stages:
        if stage.error is not None:
            raise stage.error


class _WriterThread:
    """One deliverable's Y'CbCr conversion and encoder, fed through a bounded queue."""

    def __init__(self, output: Output, writer: Any, failed: threading.Event) -> None:
        self.output = output
        self.writer = writer
        self.queue: queue.Queue[Any] = queue.Queue(QUEUE_DEPTH)
        self._failed = failed
        self.thread = _Stage(output.spec.name, self._run, failed)
        self.thread.start()

    def _run(self) -> None:
        while (item := _get(self.queue, self._failed)) is not _END:
            frame, time_code = item
            self.writer.write(frame, time_code=time_code)

    def put(self, frame: NDArray[np.float32], time_code: str) -> None:
        _put(self.queue, (frame, time_code), self._failed)

    def finish(self) -> None:
        _put(self.queue, _END, self._failed)
        self.thread.join()


def _target(plan_: JobPlan, name: str) -> Any:
    """The colour target ``name`` as the job's OCIO config defines it."""
    return get_target(name, config=plan_.job.config)


def _record_range(plan_: JobPlan, record_range: range | None) -> range:
    whole = range(plan_.frames)
    if record_range is None:
        return whole
    if (
        record_range.step != 1
        or record_range.start < 0
        or record_range.stop > plan_.frames
    ):
        raise InputError(f"record range {record_range} is not inside 0..{plan_.frames}")
    return record_range


def measure(
    plan_: JobPlan,
    target: str,
    *,
    record_range: range | None = None,
    on_progress: ProgressCallback | None = None,
    transforms: Mapping[tuple[str, str], Transform] | None = None,
) -> LightLevelMeter:
    """Measure CTA-861.3 MaxCLL/MaxFALL of one colour target over record frames."""
    frames = _record_range(plan_, record_range)
    meter = LightLevelMeter(
        _target(plan_, target), include_mattes=plan_.job.include_mattes
    )
    done = 0

    def consume(
        _index: int, shot: Shot, signals: dict[str, NDArray[np.float32]]
    ) -> None:
        nonlocal done
        meter.add(signals[target][..., :3], active=shot.placement.active)
        done += 1
        if on_progress is not None:
            on_progress(done, len(frames))

    _stream(plan_, [target], consume, record_range=frames, transforms=transforms)
    return meter


def run(
    plan_: JobPlan,
    *,
    record_range: range | None = None,
    paths: Mapping[str, Path] | None = None,
    light_levels: Mapping[str, ContentLightLevel] | None = None,
    on_progress: ProgressCallback | None = None,
) -> list[dict[str, Any]]:
    """Stream record frames of a planned job into its deliverables.

    Parameters
    ----------
    record_range
        Record (output) frame indices to make, default all; a farm chunk makes a
        slice. Movies then start at that frame's timecode and EXR numbering at
        ``EXR_FIRST_FRAME + record_range.start``.
    paths
        Preset id → path overriding the planned output path (farm parts).
    light_levels
        Colour target → light level already measured over the whole job (farm);
        encoders that need it at open use it instead of a measuring pass, and it
        is the level written into the files.

    Returns one JSON-friendly record per output (path, probe, HDR metadata and the
    light-level meter of the frames made, for merging chunks). Nothing appears
    under a final name unless its writer finished and verified.
    """
    frames = _record_range(plan_, record_range)
    given = dict(light_levels or {})
    outputs = tuple(
        Output(out.spec, Path(paths[out.spec.name]))
        if paths and out.spec.name in paths
        else out
        for out in plan_.outputs
    )
    targets = list(dict.fromkeys(out.spec.target for out in outputs))
    hdr_targets = [
        t for t in targets if mastering_display_for(_target(plan_, t)) is not None
    ]
    pre_measure = list(
        dict.fromkeys(
            out.spec.target
            for out in outputs
            if out.spec.needs_light_level_at_open and out.spec.target not in given
        )
    )
    total = len(frames) * (1 + len(pre_measure))
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if on_progress is not None:
            on_progress(done, total)

    # One Transform per (source, target) for the whole run: the fast path bakes and
    # checks once, and its record (path used, measured error) goes in the manifest.
    transforms = _transforms(plan_, targets)
    measured: dict[str, ContentLightLevel] = {}
    for target in pre_measure:
        log.info(
            "measuring MaxCLL/MaxFALL of %s before encoding (HEVC bakes them in)",
            target,
        )
        measured[target] = measure(
            plan_,
            target,
            record_range=frames,
            on_progress=lambda _d, _t: tick(),
            transforms=transforms,
        ).result()

    meters = {
        t: LightLevelMeter(_target(plan_, t), include_mattes=plan_.job.include_mattes)
        for t in hdr_targets
    }
    failed = threading.Event()
    threads: list[_WriterThread] = []
    try:
        for out in outputs:
            out.path.parent.mkdir(parents=True, exist_ok=True)
            target = _target(plan_, out.spec.target)
            known = given.get(out.spec.target, measured.get(out.spec.target))
            writer = open_writer(
                out.spec,
                out.path,
                width=plan_.width,
                height=plan_.height,
                rate=plan_.rate,
                start_timecode=str(plan_.timecode(frames.start)),
                first_frame=EXR_FIRST_FRAME + frames.start,
                has_alpha=plan_.has_alpha,
                mastering=mastering_display_for(target)
                if out.spec.hdr_metadata
                else None,
                light_level=known if out.spec.needs_light_level_at_open else None,
                overwrite=plan_.job.overwrite,
            )
            threads.append(_WriterThread(out, writer, failed))

        def consume(
            index: int, shot: Shot, signals: dict[str, NDArray[np.float32]]
        ) -> None:
            for target, meter in meters.items():
                meter.add(signals[target][..., :3], active=shot.placement.active)
            time_code = str(plan_.timecode(index))
            for wt in threads:
                wt.put(signals[wt.output.spec.target], time_code)

        _stream(
            plan_,
            targets,
            consume,
            record_range=frames,
            tick=tick,
            transforms=transforms,
        )
        for wt in threads:
            wt.finish()
        for wt in threads:
            if wt.thread.error is not None:
                raise wt.thread.error from None
        results = []
        for wt in threads:
            spec = wt.output.spec
            meter = meters.get(spec.target)
            level = meter.result() if meter is not None else None
            if spec.target in measured and level is not None:
                level = _agree(measured[spec.target], level, spec.name)
            level = given.get(spec.target, level)
            result = wt.writer.close(light_level=level)
            target = _target(plan_, spec.target)
            record = _output_record(wt.output, target, result, level)
            record["light_level_meter"] = meter.to_dict() if meter is not None else None
            record["transforms"] = [
                t.to_dict()
                for (_src, tgt), t in transforms.items()
                if tgt == spec.target
            ]
            results.append(record)
        return results
    except BaseException:
        failed.set()
        for wt in threads:
            wt.thread.join()
            wt.writer.abort()
        for wt in threads:
            if wt.thread.error is not None and not isinstance(
                wt.thread.error, _Cancelled
            ):
                raise wt.thread.error from None
        raise


def _agree(
    pre: ContentLightLevel, streamed: ContentLightLevel, preset: str
) -> ContentLightLevel:
    if pre != streamed:
        raise ConformError(
            f"{preset}: light level measured before encoding ({pre}) differs from the "
            f"one measured while encoding ({streamed}): the colour stage is not "
            "deterministic"
        )
    return pre


def _output_record(
    out: Output, target: Any, result: Any, level: ContentLightLevel | None
) -> dict[str, Any]:
    spec = out.spec
    mastering = mastering_display_for(target) if spec.hdr_metadata else None
    return {
        "preset": spec.name,
        "kind": spec.kind,
        "path": str(result.path),
        "container": spec.container,
        "codec": spec.codec,
        "target": spec.target,
        "display": target.display,
        "view": target.view,
        "colorspace": target.colorspace,
        "frames": result.frames,
        "first_frame": EXR_FIRST_FRAME if spec.kind == "exr" else None,
        "has_alpha": bool(result.probe.get("has_alpha", False))
        if result.probe
        else False,
        "hdr": None
        if mastering is None or level is None
        else {
            "max_cll": level.max_cll,
            "max_fall": level.max_fall,
            "mastering_display": mastering.x265(),
        },
        "probe": result.probe,
    }


# --------------------------------------------------------------------------- manifest


def _fraction_text(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest_data(
    plan_: JobPlan, outputs: list[dict[str, Any]], elapsed: float
) -> dict[str, Any]:
    """Build the job manifest (schema ``hdrpipe.manifest/1``)."""
    _config, config = resolve_config(plan_.job.config)
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
        header = _readable_header(seq)
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
                "colorspace": shot.colorspace,
                "colorspace_warning": shot.colorspace_warning,
                "time_code": header.time_code,
                "sha256": {seq.path(f).name: _sha256(seq.path(f)) for f in seq.frames},
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
            "pixel_aspect": 1.0,
            "active": list(actives.pop()) if len(actives) == 1 else None,
            "fit": plan_.job.fit,
        },
        "hdr_metadata": {"include_mattes": plan_.job.include_mattes},
        "color": {
            "config": dataclasses.asdict(config),
            "source_colorspace": plan_.shots[0].colorspace,
            "look": str(Path(look).absolute()) if look else None,
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


def write_manifest(path: Path, data: Mapping[str, Any]) -> Path:
    """Write the manifest JSON atomically (temp name, then rename)."""
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def conform(
    job: ConformJob, *, on_progress: ProgressCallback | None = None
) -> Manifest:
    """Run a whole conform: validate, plan, encode, write the manifest.

    ``on_progress(done, total)`` is called from worker threads as frames complete
    (validation first, then encoding); it must be quick and thread-safe.
    """
    started = time.monotonic()
    validating = [0, 0]

    def validation_progress(done: int, total: int) -> None:
        validating[:] = [done, total]
        if on_progress is not None:
            on_progress(done, total)

    plan_ = plan(job, on_progress=validation_progress)
    validated = validating[1]

    def progress(done: int, total: int) -> None:
        if on_progress is not None:
            on_progress(validated + done, validated + total)

    if on_progress is not None and validated:
        on_progress(validated, validated + plan_.frames)
    outputs = run(plan_, on_progress=progress)
    data = manifest_data(plan_, outputs, time.monotonic() - started)
    outdir = Path(job.outdir).absolute()
    path = write_manifest(outdir / f"{plan_.name}.manifest.json", data)
    return Manifest(path=path, data=data)
