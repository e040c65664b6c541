"""What a conform asks for, resolved to frames: ``ConformJob`` → ``plan`` → ``JobPlan``.

No pixel is touched here beyond the source validation: headers, rates, timecode,
frame maps, raster placement and output names.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal, cast, get_args

from ..color import Transform, colorspace_name, get_target, source_colorspace
from ..color.fastpath import ColorPath
from ..encode.limits import check_frame_size
from ..encode.presets import DeliverySpec, carries_alpha, get_preset, load_presets
from ..errors import InputError, ValidationError
from ..exr import ExrHeader
from ..outputs import FILE_NAME_MAX_BYTES, check_name, check_outdir, output_path
from ..resample.reformat import FITS, Fit, Placement, parse_raster, plan_reformat
from ..resample.retime import METHODS, Method, Sample, frame_map
from ..sequence import Sequence as ImageSequence
from ..sequence import open_sequence, parse_frame_range
from ..timecode import DROP_FRAME_RATES, Timecode, parse_rate
from ..types import FrameRange, Rate
from ..validation import Report, Validator, validate
from ..validation.checks import identify_chromaticities
from .budget import MemoryEstimate, fit_budget

__all__ = [
    "ConformJob",
    "JobPlan",
    "Shot",
    "Output",
    "plan",
    "job_name",
    "job_files",
    "readable_header",
    "manifest_path",
    "check_report",
    "ValidateSources",
    "ProgressCallback",
    "ColorPath",
    "COLOR_PATHS",
    "RetimeChoice",
    "RETIME_CHOICES",
    "FITS",
    "AlphaChoice",
    "ALPHA_CHOICES",
    "DEFAULT_SOURCE_RATE",
    "EXR_FIRST_FRAME",
]

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]

DEFAULT_SOURCE_RATE = Rate(Fraction(24))
EXR_FIRST_FRAME = 1001
#: ``plan(validate_sources=…)``: every check, none, or the header checks only.
ValidateSources = bool | Literal["headers"]
# The choices a job offers come from the stage that implements them (one
# definition each): a method, fit or colour path added there is offered here.
#: ``ConformJob.retime`` (``--retime``): ``auto`` (below) or a retime method.
RetimeChoice = Literal["auto"] | Method
RETIME_CHOICES: tuple[str, ...] = ("auto", *METHODS)
#: ``ConformJob.color_path`` (``--color-path``), ``hdrpipe.color.fastpath``'s.
COLOR_PATHS: tuple[str, ...] = get_args(ColorPath)
#: ``ConformJob.alpha`` (``--alpha``): what a source alpha becomes per deliverable.
AlphaChoice = Literal["keep", "drop", "error"]
ALPHA_CHOICES: tuple[str, ...] = ("keep", "drop", "error")


@dataclass(frozen=True)
class ConformJob:
    """What to make: sources, deliverables, rate, timecode, raster, colour.

    ``inputs`` are sequences or paths (patterns, files, directories) concatenated
    in order; ``deliver`` are preset ids (``hdrpipe presets``).

    ``alpha`` says what a source alpha channel becomes (``--alpha``):
    ``"keep"`` (default) keeps it in the deliverables that carry alpha
    (ProRes 4444, EXR) and delivers the premultiplied R'G'B' — the colour as
    stored, through the transform, as finishing tools do — to the others, with
    a WARNING and an ``alpha_dropped`` finding in the output's manifest record;
    ``"drop"`` delivers R'G'B' only everywhere (same finding); ``"error"``
    refuses a job whose source has alpha and a deliverable cannot carry it
    (:class:`~hdrpipe.errors.InputError`, exit 2).

    ``start_tc`` is text (``--start-tc``, parsed at the job's rate) or a
    :class:`~hdrpipe.timecode.Timecode` at the job's rate, used as is.
    """

    inputs: tuple[str | os.PathLike[str] | ImageSequence, ...]
    deliver: tuple[str, ...]
    outdir: str | os.PathLike[str]
    fps: str | int | Fraction | Rate | None = None
    retime: str = "auto"  # RetimeChoice, checked in __post_init__
    start_tc: str | Timecode | None = None
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
    color_path: str = "auto"  # COLOR_PATHS (hdrpipe.color.fastpath)
    alpha: str = "keep"  # AlphaChoice, checked in __post_init__
    #: Memory budget ("8G", bytes); None: a share of the memory available.
    max_memory: str | int | None = None

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
        if self.retime not in RETIME_CHOICES:
            raise InputError(
                f"unknown retime method {self.retime!r}; "
                f"use one of {', '.join(RETIME_CHOICES)}"
            )
        if self.color_path not in COLOR_PATHS:
            raise InputError(
                f"unknown colour path {self.color_path!r}; "
                f"use one of {', '.join(COLOR_PATHS)}"
            )
        if self.fit not in FITS:
            raise InputError(f"unknown fit {self.fit!r}; use one of {', '.join(FITS)}")
        if self.look is not None:
            # Relative to where the job was made, not to the OCIO config's folder
            # (OCIO's search path) nor to a farm worker's working directory.
            object.__setattr__(self, "look", _absolute_look(self.look))
        if self.alpha not in ALPHA_CHOICES:
            raise InputError(
                f"unknown alpha choice {self.alpha!r}; "
                f"use one of {', '.join(ALPHA_CHOICES)}"
            )
        if self.frames is not None and len(self.inputs) > 1:
            raise InputError(
                "--frames selects frames of a single input; give one input"
            )


def _absolute_look(look: str | os.PathLike[str]) -> str | os.PathLike[str]:
    """A look file (``grade.cdl``, ``grade.ccc#id``) made absolute; a config look
    name (no such file) is left as it is."""
    text = os.fspath(look)
    if Path(text).exists():
        return str(Path(text).absolute())
    head, sep, cccid = text.rpartition("#")
    if sep and head and Path(head).exists():
        return f"{Path(head).absolute()}#{cccid}"
    return look


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
    pixel_aspect: float = 1.0  # EXR pixelAspectRatio (pixel width / height)
    #: The first frame's EXR ``timeCode`` at the source rate (drop-frame flag
    #: honoured where it exists), None when absent or impossible at that rate.
    source_timecode: Timecode | None = None
    unreadable: tuple[int, ...] = ()  # damaged frames (validated with --force): held

    @property
    def record_frames(self) -> int:
        return len(self.samples)


@dataclass(frozen=True)
class Output:
    """One deliverable: its preset, where it goes, whether it carries alpha.

    ``findings`` are what the plan decided about this output that its manifest
    record must say (e.g. ``alpha_dropped``), as JSON-friendly dicts.
    """

    spec: DeliverySpec
    path: Path
    has_alpha: bool = False
    findings: tuple[Mapping[str, Any], ...] = ()


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
    #: Pixel aspect of the delivery raster: the first source's without
    #: ``reformat`` (the deliverable keeps its pixels), 1.0 with it.
    pixel_aspect: float = 1.0
    memory: MemoryEstimate | None = None

    @property
    def frames(self) -> int:
        return sum(shot.record_frames for shot in self.shots)

    @property
    def has_alpha(self) -> bool:
        return any(shot.has_alpha for shot in self.shots)

    def timecode(self, record_frame: int) -> Timecode:
        return self.start_timecode + record_frame


def job_name(job: ConformJob) -> str:
    """The base name of a job's outputs, unplanned (``name`` or the first input's)."""
    if job.name:
        return job.name
    first = job.inputs[0]
    seq = first if isinstance(first, ImageSequence) else open_sequence(first)
    return seq.name


def readable_header(seq: ImageSequence) -> ExrHeader:
    """The first frame header that reads: a damaged frame is validation's to report."""
    first_error: InputError | None = None
    for frame in seq.frames:
        try:
            return seq.header(frame)
        except InputError as err:
            first_error = first_error or err
    raise ValidationError(f"{seq.pattern}: no frame header is readable ({first_error})")


def check_report(
    job: ConformJob, seq: ImageSequence, report: Report, *, final: bool = True
) -> None:
    """Stop an unforced job whose source fails ``job.profile``.

    With ``job.force`` the failures are logged (once: when ``final``) and the
    job goes on; the manifest records them.

    Raises
    ------
    ValidationError
        ``report`` fails and ``job.force`` is off.
    """
    if report.status != "fail":
        return
    failed = "; ".join(c.message for c in report.checks if c.status == "fail")
    if not job.force:
        raise ValidationError(
            f"{seq.pattern} fails the {job.profile!r} profile: {failed} "
            "(--force conforms it anyway and records the failures)"
        )
    if final:
        log.warning(
            "%s fails validation, conforming anyway (--force): %s", seq.pattern, failed
        )


def _validate_sources(
    job: ConformJob,
    sequences: Sequence[ImageSequence],
    mode: ValidateSources,
    on_progress: ProgressCallback | None,
) -> list[Report | None]:
    """Validate the sources with ``job.profile``; a failure stops an unforced job.

    ``mode="headers"`` judges only the header checks (the pixel checks are left
    to a stream that decodes the frames anyway, see ``run(validators=…)``).
    """
    if not mode:
        return [None] * len(sequences)
    total = sum(len(seq.frames) for seq in sequences)
    done = 0

    def step(d: int, _t: int) -> None:
        if on_progress is not None:
            on_progress(done + d, total)

    reports: list[Report | None] = []
    for seq in sequences:
        if mode == "headers":
            report = Validator(
                seq, job.profile, source_space=job.source_colorspace
            ).check_headers()
        else:
            report = validate(
                seq,
                profile=job.profile,
                on_progress=step,
                source_space=job.source_colorspace,
            )
        done += len(seq.frames)
        reports.append(report)
        check_report(job, seq, report, final=mode is True)
    return reports


def _unreadable(report: Report | None) -> tuple[int, ...]:
    if report is None:
        return ()
    readable = report.check("readable")
    return tuple(readable.frames) if readable is not None else ()


def _source_rate(seq: ImageSequence) -> Rate:
    fps = readable_header(seq).frames_per_second
    if fps:
        return parse_rate(Fraction(fps))
    return DEFAULT_SOURCE_RATE


def _source_timecode(seq: ImageSequence, header: ExrHeader, rate: Rate) -> Timecode:
    """The EXR ``timeCode`` of ``header`` as a timecode at the source ``rate``.

    The header's drop-frame flag counts where drop-frame exists (29.97, 59.94);
    elsewhere it is logged and ignored. A label the source rate cannot have
    (frames at or above its timebase) is the source's fault.

    Raises
    ------
    InputError
        The label does not exist at the source rate.
    """
    assert header.time_code is not None
    drop = bool(header.attributes.get("timeCodeDropFrame", False))
    if drop and rate.fps not in DROP_FRAME_RATES:
        log.warning(
            "%s: timeCode %s has the drop-frame flag at %s fps, where drop-frame "
            "timecode does not exist; read as non-drop",
            seq.pattern,
            header.time_code,
            rate,
        )
        drop = False
    source = Rate(rate.fps, drop_frame=drop)
    try:
        return Timecode.parse(header.time_code, source, strict=False)
    except InputError as err:
        raise InputError(
            f"{header.path}: EXR timeCode {header.time_code} at the source rate "
            f"{source} fps: {err} (--start-tc sets the start instead)"
        ) from err


def _shot_timecode(
    seq: ImageSequence, header: ExrHeader, rate: Rate
) -> Timecode | None:
    """:func:`_source_timecode`, or None (logged) when absent or impossible."""
    if not header.time_code:
        return None
    try:
        return _source_timecode(seq, header, rate)
    except InputError as err:
        log.warning("%s", err)
        return None


def _pixel_aspect(header: ExrHeader) -> float:
    """The EXR ``pixelAspectRatio`` (width / height of a pixel), 1.0 if absent."""
    value = header.attributes.get("PixelAspectRatio", 1.0)
    try:
        aspect = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        aspect = float("nan")
    if not (math.isfinite(aspect) and aspect > 0):
        raise InputError(
            f"{header.path}: pixelAspectRatio {value!r} is not a positive number"
        )
    return aspect


def _resolve_retime(method: str, source: Rate, target: Rate) -> Method:
    if method != "auto":
        return cast(Method, method)  # one of METHODS (ConformJob checks)
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
    return identify_chromaticities(readable_header(seq).chromaticities)


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
    """Every output path under ``outdir`` (checked after resolution, symlinks too)."""
    outputs = []
    for spec in specs:
        if spec.kind == "exr":
            folder = output_path(outdir, f"{name}_{spec.name}")
            path = folder / check_name(
                f"{name}.####{spec.extension}", "output name", FILE_NAME_MAX_BYTES
            )
        else:
            path = output_path(outdir, f"{name}_{spec.name}{spec.extension}")
        outputs.append(Output(spec, path))
    return tuple(outputs)


def job_specs(job: ConformJob) -> list[DeliverySpec]:
    """The delivery specs of ``job`` (shipped presets and its presets file)."""
    extra = load_presets(job.presets_file) if job.presets_file else None
    return [get_preset(name, extra=extra) for name in job.deliver]


def job_files(job: ConformJob) -> tuple[Path, ...]:
    """What running ``job`` writes, unplanned: its deliverables and manifest.

    The paths :func:`plan` gives the deliverables (EXR plates as their
    ``####`` pattern), then ``OUTDIR/<name>.manifest.json``, from the job's
    name, OUTDIR and presets alone (no source is read): for the job-lock
    record of a job that runs ``job`` later
    (:meth:`hdrpipe.engine.lock.JobLock.record_outputs`).
    """
    specs = job_specs(job)
    name = check_name(job_name(job), "job name (--name)")
    outputs = _output_paths(name, Path(job.outdir), specs)
    return (
        *(out.path for out in outputs),
        output_path(job.outdir, f"{name}.manifest.json"),
    )


def manifest_path(plan_: JobPlan) -> Path:
    """``OUTDIR/<name>.manifest.json``, checked to stay inside ``OUTDIR``."""
    return output_path(plan_.job.outdir, f"{plan_.name}.manifest.json")


def _header_has_alpha(header: ExrHeader) -> bool:
    return any(ch.name in ("A", "a") for ch in header.channels)


def _alpha_outputs(
    job: ConformJob, outputs: Sequence[Output], with_alpha: Sequence[str]
) -> tuple[Output, ...]:
    """Decide per deliverable what the sources' alpha becomes (``job.alpha``).

    Raises
    ------
    InputError
        ``job.alpha == "error"`` and a deliverable cannot carry the alpha.
    """
    if not with_alpha:
        return tuple(outputs)
    sources = ", ".join(with_alpha)
    result = []
    for out in outputs:
        spec = out.spec
        if job.alpha == "keep" and carries_alpha(spec):
            result.append(replace(out, has_alpha=True))
            continue
        if job.alpha == "error" and not carries_alpha(spec):
            raise InputError(
                f"preset {spec.name!r} cannot carry alpha (ProRes 4444 and EXR do) "
                f"and {sources} has an alpha channel (--alpha error); "
                "--alpha keep delivers its premultiplied RGB instead"
            )
        if job.alpha == "error":
            result.append(replace(out, has_alpha=True))
            continue
        reason = (
            "--alpha drop" if job.alpha == "drop" else "the preset cannot carry alpha"
        )
        message = (
            f"{spec.name}: alpha of {sources} dropped ({reason}); the deliverable "
            "holds the premultiplied colour as stored, over black"
        )
        log.warning("%s", message)
        finding = {
            "id": "alpha_dropped",
            "severity": "warning",
            "message": message,
            "details": {"reason": reason, "sources": list(with_alpha)},
        }
        result.append(replace(out, has_alpha=False, findings=(*out.findings, finding)))
    return tuple(result)


def _existing(path: Path) -> list[Path]:
    if "####" in path.name:
        prefix, suffix = path.name.rsplit("####", 1)
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
    validate_sources: ValidateSources = True,
    on_progress: ProgressCallback | None = None,
) -> JobPlan:
    """Resolve a job: validate the sources, map frames, place rasters, name outputs.

    ``validate_sources=False`` skips the validation: for farm chunks of a job
    whose sources were validated when it was planned. ``"headers"`` runs only
    the header checks (no pixel is decoded): for a run that validates the
    pixels as it decodes them (``run(validators=…)``, what ``conform`` does);
    ``JobPlan.reports`` then hold the header checks only.

    Raises
    ------
    InputError
        Unknown preset, rate, raster, bad frame range, outputs that exist
        (without ``overwrite``) or that would replace a source, an unsafe job
        name (:func:`hdrpipe.outputs.check_name`), an output that would land
        outside ``job.outdir``, an output folder that is a file or not writable,
        a raster a preset's encoder cannot encode (odd sizes for 4:2:2/4:2:0,
        encoder minimums), an estimated peak memory over the budget
        (``job.max_memory``), a ``job.source_colorspace`` the OCIO config
        does not have.
    ValidationError
        A source fails the ``job.profile`` checks and ``job.force`` is off.
    """
    specs = job_specs(job)
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
    first_header = readable_header(sequences[0])
    first_rate = _source_rate(sequences[0])
    rate = parse_rate(job.fps) if job.fps is not None else first_rate
    method = _resolve_retime(job.retime, first_rate, rate)
    if isinstance(job.start_tc, Timecode):
        if job.start_tc.rate != rate:
            raise InputError(
                f"start timecode {job.start_tc} is at {job.start_tc.rate} fps, "
                f"the job at {rate}"
            )
        start = job.start_tc
    elif job.start_tc:
        start = Timecode.parse(job.start_tc, rate)
    elif first_header.time_code:
        start = _source_timecode(sequences[0], first_header, first_rate).to_rate(rate)
    else:
        start = Timecode(0, rate)
    if job.reformat:
        width, height = parse_raster(job.reformat)
        pixel_aspect = 1.0
    else:
        width, height = first_header.width, first_header.height
        pixel_aspect = _pixel_aspect(first_header)

    # OCIO config, colour targets and look resolve now (cheap), not after validation.
    if job.source_colorspace:
        # A typo is the user's (exit 2, before any header is judged against
        # it); an alias becomes the config's own name, which validation
        # judges by and the manifest and hand-offs record.
        job = replace(
            job,
            source_colorspace=colorspace_name(
                job.source_colorspace, job.config, what="--source-colorspace"
            ),
        )
    for target in dict.fromkeys(spec.target for spec in specs):
        get_target(target, config=job.config)
    if job.look is not None:
        Transform(
            target=specs[0].target, look=job.look, config=job.config, color_path="exact"
        )

    # What the run would refuse, refused now (and by --dry-run): OUTDIR, the
    # peak memory against the budget (a mistyped raster or a frame whose data
    # window decodes to gigabytes), sizes the encoders cannot open.
    outdir = check_outdir(job.outdir)
    headers = [readable_header(seq) for seq in sequences]
    dpx = [
        s.pattern
        for s, h in zip(sequences, headers, strict=True)
        if h.file_format == "dpx"
    ]
    if dpx and not job.source_colorspace:
        # DPX code values are display or log signal and the header names no
        # primaries: assuming ACES2065-1 would be wrong on every pixel.
        raise InputError(
            f"{dpx[0]}: a DPX sequence has no colour space in its header; give "
            "the one it is encoded in with --source-colorspace (an OCIO colour "
            "space, e.g. ACEScct)"
        )
    alpha = any(ch.name in ("A", "a") for h in headers for ch in h.channels)
    memory = fit_budget(
        headers,
        width,
        height,
        specs,
        has_alpha=alpha,
        resampled=method in ("blend", "flow")
        or any((h.width, h.height) != (width, height) for h in headers),
        max_memory=job.max_memory,
    )

    name = check_name(job.name or sequences[0].name, "job name (--name)")
    outputs = _alpha_outputs(
        job,
        _output_paths(name, outdir, specs),
        [
            s.pattern
            for s, h in zip(sequences, headers, strict=True)
            if _header_has_alpha(h)
        ],
    )
    output_path(outdir, f"{name}.manifest.json")
    for out in outputs:  # with each output's own alpha decision
        check_frame_size(out.spec, width, height, has_alpha=out.has_alpha)
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
        header = readable_header(seq)
        src_rate = _source_rate(seq)
        shot_method = _resolve_retime(job.retime, src_rate, rate)
        if shot_method != method:
            log.info(
                "%s: retime %s (its rate is %s)", seq.pattern, shot_method, src_rate
            )
        samples = frame_map(src_rate, rate, shot_method, seq.frame_range)
        source_aspect = _pixel_aspect(header)
        # Source pixels measured in delivery pixels: an anamorphic 2:1 plate
        # reformatted to a square-pixel raster is twice as wide as it is stored.
        placement = plan_reformat(
            header.width,
            header.height,
            width,
            height,
            cast(Fit, job.fit),
            pixel_aspect=source_aspect / pixel_aspect,
        )
        has_alpha = _header_has_alpha(header)
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
                pixel_aspect=source_aspect,
                source_timecode=_shot_timecode(seq, header, src_rate),
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
        pixel_aspect=pixel_aspect,
        memory=memory,
    )
