"""Stream record frames: decode → retime → reformat → colour → encoder threads.

Stages are threads joined by bounded queues (``QUEUE_DEPTH`` items), so memory is
flat in clip length; a failure anywhere cancels every stage and aborts every
writer, so nothing appears under a final name.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import queue
import threading
from collections import OrderedDict
from collections.abc import (
    Callable,
    Collection,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from pathlib import Path
from typing import Any, Protocol, cast

import numpy as np
from numpy.typing import NDArray

from ..color import (
    FrameLight,
    LightLevelMeter,
    Target,
    Transform,
    mastering_display_for,
)
from ..encode import light_level_at_close, open_writer
from ..encode.hevc_sei import PLACEHOLDER
from ..encode.quality import bitrate_floor_finding
from ..errors import (
    ColorError,
    ConformError,
    HdrpipeError,
    InputError,
    OutputError,
    ValidationError,
)
from ..exr import decode, read_pixels
from ..memory import release_free_memory
from ..resample.flow import FlowCache
from ..resample.reformat import apply_reformat
from ..resample.retime import Sample, retime_frame
from ..timecode import Timecode
from ..types import ContentLightLevel
from ..validation import Validator
from .budget import QUEUE_DEPTH, frames_ahead, slow_writer
from .job import (
    EXR_FIRST_FRAME,
    ColorPath,
    JobPlan,
    Output,
    ProgressCallback,
    Shot,
    check_report,
)

__all__ = ["measure", "run", "transforms_for", "QUEUE_DEPTH"]

log = logging.getLogger(__name__)


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


def _acquire(slots: threading.Semaphore, failed: threading.Event) -> None:
    while not slots.acquire(timeout=0.1):
        if failed.is_set():
            raise _Cancelled


def _get(q: queue.Queue[Any], failed: threading.Event) -> Any:
    while True:
        if failed.is_set():
            raise _Cancelled
        try:
            return q.get(timeout=0.1)
        except queue.Empty:
            continue


_END = object()

#: A decoded frame: float32, or float16 as stored in a half EXR.
Pixels = NDArray[np.floating[Any]]


class _SourceFrames:
    """Decoded source frames of one shot, with a small cache for retime neighbours.

    With a ``validator`` each frame is decoded once for both: the validator keeps
    its statistics, the stream its pixels; a source that now fails for good
    (a damaged frame, NaN/Inf) stops an unforced job at once.
    """

    def __init__(
        self,
        plan_: JobPlan,
        shot: Shot,
        channels: str,
        validator: Validator | None = None,
        cache_size: int = 2,
    ) -> None:
        self._job = plan_.job
        self._shot = shot
        self.pattern = shot.sequence.pattern
        self._channels = channels
        self._validator = validator
        self._cache: OrderedDict[int, Pixels] = OrderedDict()
        self._size = cache_size
        self._present = set(shot.sequence.frames) - set(shot.unreadable)
        #: Source frame → the frame held in its place (--force on gaps/damage).
        self.held: dict[int, int] = {}
        # 24 → 60 style maps interpolate several output frames from one pair.
        self.flow_cache = FlowCache()

    def _nearest_present(self, frame: int) -> int:
        if not self._present:
            raise ValidationError(
                f"{self._shot.sequence.pattern}: no readable frame to hold in place "
                f"of frame {frame}"
            )
        return min(self._present, key=lambda f: (abs(f - frame), f))

    def _decode(self, frame: int) -> Pixels | None:
        """The frame's pixels, or None when it is damaged (validated streams only)."""
        path = self._shot.sequence.path(frame)
        v = self._validator
        if v is None or v.seen(frame):
            if v is not None and v.unreadable(frame) is not None:
                return None
            try:
                return decode(path, channels=self._channels).pixels(widen=False)
            except InputError:
                # Unvalidated stream (a farm chunk): a damaged frame is held like
                # a validated one under --force (an I/O error is no InputError).
                if v is not None or not self._job.force:
                    raise
                return None
        decoded = v.read(frame)
        # Failures no later frame can clear stop an unforced job now, not at the end.
        check_report(self._job, self._shot.sequence, v.problems(), final=False)
        if decoded is not None:
            return decoded.pixels(self._channels, widen=False)
        if v.unreadable(frame) is not None:
            return None
        return read_pixels(path, channels=self._channels)  # no R, G, B: its error

    def _note_held(self, frame: int, held: int) -> None:
        if held != frame and frame not in self.held:
            # Only reachable with --force on gaps or damaged frames: hold the nearest.
            log.warning(
                "%s: frame %d is missing or damaged: holding frame %d",
                self.pattern,
                frame,
                held,
            )
            self.held[frame] = held

    def __call__(self, frame: int) -> Pixels:
        """Source ``frame`` (or the nearest readable one), in its stored precision."""
        pixels: Pixels | None = None
        while pixels is None:
            held = frame if frame in self._present else self._nearest_present(frame)
            if held in self._cache:
                self._cache.move_to_end(held)
                self._note_held(frame, held)
                return self._cache[held]
            # Room for the new frame first: a frame the colour stage has
            # finished with is freed before its successor is decoded, not
            # after (at UHD, 50 MB less while the reader decodes).
            while len(self._cache) >= self._size:
                self._cache.popitem(last=False)
            pixels = self._decode(held)
            if pixels is None:
                self._present.discard(held)
        self._note_held(frame, held)
        if pixels.shape[2] == 3 and self._channels == "RGBA":
            alpha = np.ones(pixels.shape[:2] + (1,), pixels.dtype)
            pixels = np.concatenate([pixels, alpha], axis=2)
        self._cache[held] = pixels
        return pixels


def _depth(plan_: JobPlan) -> int:
    """Items per queue: what the memory budget allowed when the job was planned."""
    return plan_.memory.depth if plan_.memory is not None else QUEUE_DEPTH


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
) -> Pixels:
    """Retime and reformat one record frame.

    A frame that needs neither (one source, raster unchanged) is handed on in its
    stored precision: the colour stage widens it strip by strip as it converts
    it, instead of a whole-frame float32 copy here.
    """
    placement = shot.placement
    if len(sample.sources) == 1:
        source = frames(sample.sources[0])
        if (
            placement.scaled == (placement.width, placement.height)
            and placement.offset == (0, 0)
            and source.shape[1::-1] == placement.scaled
        ):
            return source

    def widened(frame: int) -> NDArray[np.float32]:
        return np.asarray(frames(frame), dtype=np.float32)

    picture = retime_frame(sample, widened, plan_.retime, flow_cache=frames.flow_cache)
    identity = (
        placement.scaled == (placement.width, placement.height) == picture.shape[1::-1]
    )
    if not (identity and placement.offset == (0, 0)):
        picture = apply_reformat(picture, placement)
    return np.ascontiguousarray(picture, dtype=np.float32)


def transforms_for(
    plan_: JobPlan, targets: Iterable[str], threads: int | None = None
) -> dict[tuple[str, str], Transform]:
    """One :class:`Transform` per (shot colour space, target) of ``plan_``.

    What :func:`run` and :func:`measure` convert with; a caller that runs a job
    in slices (a farm worker) may make them once and pass them to each call, so
    the fast path is set up and checked once per process, as in one ``run``.
    """
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
                    threads=threads,
                )
    return result


class _Bands(Protocol):
    """A frame made from a colour target's signal band by band in the colour
    stage (:class:`hdrpipe.encode.video.PreparedFrame`)."""

    def band(self, first: int, rows: NDArray[np.float32]) -> None: ...

    def finish(self) -> Any: ...


#: What the colour stage hands on per record frame: target -> whole signal (the
#: targets asked for whole), and the frames made band by band (one per entry
#: of ``early``, in its order).
_Consume = Callable[[int, Shot, dict[str, NDArray[np.float32]], list[Any]], None]


def _stream(
    plan_: JobPlan,
    targets: Sequence[str],
    consume: _Consume,
    *,
    record_range: range | None = None,
    tick: Callable[[], None] | None = None,
    transforms: Mapping[tuple[str, str], Transform] | None = None,
    meters: Mapping[str, LightLevelMeter] | None = None,
    validators: Sequence[Validator] | None = None,
    held: list[dict[str, Any]] | None = None,
    early: Sequence[tuple[str, Callable[[], _Bands]]] = (),
    whole: Collection[str] | None = None,
) -> None:
    """Decode → retime → reformat → colour every record frame; hand each to ``consume``.

    Three threads joined by bounded queues: this thread consumes, a reader renders
    frames and a colour thread applies the transforms. ``meters`` (target →
    meter) measure each target's signal inside the colour stage's workers, band
    by band while it is in cache, and add every frame before it is consumed.
    ``validators`` (one per shot) validate the source frames as they are decoded.

    ``early`` (target, frame factory): frames made in the colour stage from the
    target's signal band by band as its strips are converted (an encoder's
    Y'CbCr frame), handed to ``consume`` instead of the signal. ``whole``: the
    targets whose whole float32 signal ``consume`` needs (default all); the
    others are never held whole (at UHD, 100 MB per frame).
    """
    if transforms is None:
        transforms = transforms_for(plan_, targets)
    meters = dict(meters or {})
    channels = "RGBA" if plan_.has_alpha else "RGB"
    failed = threading.Event()
    depth = _depth(plan_)
    rendered: queue.Queue[Any] = queue.Queue(depth)
    coloured: queue.Queue[Any] = queue.Queue(depth)
    # Rendered frames not yet coloured: the queue's and the one in the colour
    # stage. The reader renders the next frame only when there is room, rather
    # than holding a finished one while the queue is full (at UHD, 50 MB of
    # half floats: the reader stays one frame ahead of the colour stage).
    # Behind x265 at one frame per stage it renders none ahead (frames_ahead).
    room = threading.Semaphore(frames_ahead(depth, behind_x265=bool(early)) + 1)
    # Likewise coloured items not yet consumed, the one being made and the one
    # the consumer holds while a full writer queue blocks it included.
    room_coloured = threading.Semaphore(depth + 1)

    by_shot = {
        id(shot): v for shot, v in zip(plan_.shots, validators or (), strict=False)
    }

    def read() -> None:
        sources: dict[int, _SourceFrames] = {}
        for index, shot, sample in _record_frames(plan_, record_range):
            frames = sources.get(id(shot))
            if frames is None:
                frames = _SourceFrames(
                    plan_,
                    shot,
                    channels,
                    by_shot.get(id(shot)),
                    # Blends read each source twice (this sample and the next);
                    # one-to-one or held frames need only the last one.
                    cache_size=max((len(s.sources) for s in shot.samples), default=1),
                )
                sources[id(shot)] = frames
            _acquire(room, failed)
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
        if held is not None:
            for shot_frames in sources.values():
                held.extend(
                    {"input": shot_frames.pattern, "frame": f, "held": h}
                    for f, h in sorted(shot_frames.held.items())
                )
        _put(rendered, _END, failed)

    def convert(
        index: int, shot: Shot, target: str, picture: Pixels, made: list[Any]
    ) -> NDArray[np.float32] | None:
        """The target's signal (if asked for whole); its early frames into ``made``."""
        transform = transforms[(shot.colorspace, target)]
        meter = meters.get(target)
        slots = [i for i, (t, _) in enumerate(early) if t == target]
        frames = [early[i][1]() for i in slots]
        # list.append is atomic: the colour pool's workers share these.
        light: list[FrameLight] = []
        bad: list[int] = []

        def on_strip(first: int, rows: NDArray[np.float32]) -> None:
            finite = np.isfinite(rows)
            if not finite.all():
                bad.append(int(finite.size - np.count_nonzero(finite)))
            if meter is not None:
                light.append(
                    meter.measure(
                        rows,
                        active=shot.placement.active,
                        first_row=first,
                        frame_height=picture.shape[0],
                    )
                )
            for frame in frames:
                frame.band(first, rows)

        signal = None
        if whole is None or target in whole:
            signal = transform.apply(picture, on_strip=on_strip)
        else:
            transform.apply_strips(picture, on_strip)
        if bad and np.isfinite(picture).all():
            raise ColorError(
                f"{shot.sequence.pattern}: record frame {index}: the colour "
                f"transform to {target} gives {sum(bad)} non-finite sample(s) "
                "(NaN/Inf) from finite pixels; check the look (CDL "
                "slope/power/saturation)"
            )
        if meter is not None:
            meter.add_light(sum(light, FrameLight()))
        for i, frame in zip(slots, frames, strict=True):
            made[i] = frame.finish()
        return signal

    def colour() -> None:
        _acquire(room_coloured, failed)
        while (item := _get(rendered, failed)) is not _END:
            index, shot, picture = item
            made: list[Any] = [None] * len(early)
            signals = {}
            for t in targets:
                signal = convert(index, shot, t, picture, made)
                if signal is not None:
                    signals[t] = signal
                del signal
            del item, picture  # not held while a full queue blocks the put
            room.release()
            _put(coloured, (index, shot, signals, made), failed)
            del signals, made
            if early:  # behind x265: what this frame's strips freed, now
                release_free_memory()
            _acquire(room_coloured, failed)
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
            del item
            room_coloured.release()
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
    """One deliverable's Y'CbCr conversion and encoder, fed through a bounded queue.

    Behind an encoder slower than the colour stage (x265, :func:`slow_writer`)
    the queue stays full: there the colour stage makes the encoder's Y'CbCr
    frame itself, strip by strip as it converts (:attr:`early`,
    ``VideoWriter.begin_frame``), and the queues hold those (4:2:0 10-bit: an
    eighth of the float32 R'G'B' signal), never the signal.
    """

    def __init__(
        self, output: Output, writer: Any, failed: threading.Event, depth: int
    ) -> None:
        self.output = output
        self.writer = writer
        self.queue: queue.Queue[Any] = queue.Queue(depth)
        self._failed = failed
        #: Fed frames the colour stage made (``writer.begin_frame``), not signals.
        self.early = slow_writer(output.spec) and hasattr(writer, "begin_frame")
        self.thread = _Stage(output.spec.name, self._run, failed)
        self.thread.start()

    def _run(self) -> None:
        while (item := _get(self.queue, self._failed)) is not _END:
            frame, time_code = item
            del item  # the encoder may hold the frame: only it keeps it alive
            if self.early:
                self.writer.write_prepared(frame)
                del frame
                # The slowest stage: what the others freed meanwhile (frames,
                # strips) leaves the heap before more is allocated.
                release_free_memory()
            else:
                self.writer.write(frame, time_code=time_code)
                del frame

    def put(self, prepared: Any, time_code: Timecode) -> None:
        _put(self.queue, (prepared, time_code), self._failed)

    def finish(self) -> None:
        _put(self.queue, _END, self._failed)
        self.thread.join()


def _delivered(
    wt: _WriterThread, signals: Mapping[str, NDArray[np.float32]]
) -> NDArray[np.float32]:
    """The signal ``wt``'s deliverable takes (its target's; alpha dropped if so)."""
    signal = signals[wt.output.spec.target]
    if signal.shape[2] == 4 and not wt.output.has_alpha:
        # Alpha dropped (JobPlan decided, logged, recorded): the premultiplied
        # colour as stored.
        signal = np.ascontiguousarray(signal[..., :3])
    return signal


def _resolved_targets(
    transforms: Mapping[tuple[str, str], Transform],
) -> dict[str, Target]:
    """Target name → the Target each Transform resolved in the job's OCIO config."""
    return {name: t.target for (_source, name), t in transforms.items()}


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
    validators: Sequence[Validator] | None = None,
    threads: int | None = None,
) -> LightLevelMeter:
    """Measure CTA-861.3 MaxCLL/MaxFALL of one colour target over record frames.

    ``validators`` (one per shot) validate the source frames as they are decoded
    (see :func:`run`); ``threads`` sizes the colour pool (see :func:`run`).
    """
    frames = _record_range(plan_, record_range)
    if transforms is None:
        transforms = transforms_for(plan_, [target], threads)
    meter = LightLevelMeter(
        _resolved_targets(transforms)[target], include_mattes=plan_.job.include_mattes
    )
    done = 0

    def consume(
        _index: int,
        _shot: Shot,
        _signals: dict[str, NDArray[np.float32]],
        _made: list[Any],
    ) -> None:
        nonlocal done
        done += 1
        if on_progress is not None:
            on_progress(done, len(frames))

    _stream(
        plan_,
        [target],
        consume,
        record_range=frames,
        transforms=transforms,
        meters={target: meter},
        validators=validators,
        whole=(),  # only measured: no signal is held whole
    )
    return meter


def _judge(plan_: JobPlan, validators: Sequence[Validator] | None) -> None:
    """Finish the streamed validation: frames the stream skipped are read now."""
    for shot, validator in zip(plan_.shots, validators or (), strict=False):
        check_report(plan_.job, shot.sequence, validator.report())


def run(
    plan_: JobPlan,
    *,
    record_range: range | None = None,
    paths: Mapping[str, Path] | None = None,
    light_levels: Mapping[str, ContentLightLevel] | None = None,
    on_progress: ProgressCallback | None = None,
    validators: Sequence[Validator] | None = None,
    threads: int | None = None,
    placeholder_light_level: Collection[str] = (),
    transforms: Mapping[tuple[str, str], Transform] | None = None,
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
    validators
        One :class:`~hdrpipe.validation.Validator` per shot, for a plan made with
        ``validate_sources="headers"``: the first pass over the frames validates
        them as it decodes them (one decode for both). A source that fails for
        good (damaged frame, NaN/Inf) stops an unforced job at that frame; the
        other checks are judged after the pass, before any output is finished.
        Read the reports from the validators afterwards.
    threads
        Threads of this job's share of the machine: the colour pool's row
        strips, ProRes frame threads and x265's thread pool are sized from it
        (a farm worker running beside others passes cores // workers). Default:
        every core this process may use (ProRes at most ``FRAME_THREADS``).
    placeholder_light_level
        Preset ids whose writers bake MaxCLL/MaxFALL in at open and can have
        them patched later (x265's SEI, :mod:`hdrpipe.encode.hevc_sei`): they
        open and close with :data:`~hdrpipe.encode.hevc_sei.PLACEHOLDER` and
        keep it (farm parts: the stitch patches the job's level into the
        stitched movie). Their records still carry the meter of the frames made.
    transforms
        The job's transforms (:func:`transforms_for`, covering every shot's colour
        space and every output's target) when the caller keeps them between
        calls; default: made for this call. Each output record describes them as
        they are after this call (colour path, check errors, routed fraction).

    Returns one JSON-friendly record per output (path, probe, HDR metadata and the
    light-level meter of the frames made, for merging chunks). Nothing appears
    under a final name unless its writer finished and verified.
    """
    frames = _record_range(plan_, record_range)
    given = dict(light_levels or {})
    outputs = tuple(
        dataclasses.replace(out, path=Path(paths[out.spec.name]))
        if paths and out.spec.name in paths
        else out
        for out in plan_.outputs
    )
    targets = list(dict.fromkeys(out.spec.target for out in outputs))
    # One Transform per (source, target) for the whole run: the fast path bakes and
    # checks once, and its record (path used, measured error) goes in the manifest.
    if transforms is None:
        transforms = transforms_for(plan_, targets, threads)
    resolved = _resolved_targets(transforms)
    hdr_targets = [t for t in targets if mastering_display_for(resolved[t]) is not None]
    # Writers that bake MaxCLL/MaxFALL in at open and cannot patch them at close
    # need them measured first (one extra colour pass); x265's SEI is patched.
    pre_measure = list(
        dict.fromkeys(
            out.spec.target
            for out in outputs
            if not light_level_at_close(out.spec) and out.spec.target not in given
        )
    )
    total = len(frames) * (1 + len(pre_measure))
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if on_progress is not None:
            on_progress(done, total)

    measured: dict[str, ContentLightLevel] = {}
    for target in pre_measure:
        log.info(
            "measuring MaxCLL/MaxFALL of %s before encoding (baked in at open)",
            target,
        )
        measured[target] = measure(
            plan_,
            target,
            record_range=frames,
            on_progress=lambda _d, _t: tick(),
            transforms=transforms,
            validators=None if measured else validators,
        ).result()
    if pre_measure:
        _judge(plan_, validators)

    meters = {
        t: LightLevelMeter(resolved[t], include_mattes=plan_.job.include_mattes)
        for t in hdr_targets
    }
    failed = threading.Event()
    writers: list[_WriterThread] = []
    created: list[Path] = []  # output directories this run made, outermost first
    # A plate made in one run is staged as a whole and renamed into place (a farm
    # chunk adds its frames to the folder the stitch step finishes).
    whole_folder = record_range is None
    try:
        for out in outputs:
            folder = out.path.parent
            if out.spec.kind == "exr" and whole_folder:
                folder = folder.parent
            created += _make_dirs(folder)
            known = given.get(out.spec.target, measured.get(out.spec.target))
            if out.spec.name in placeholder_light_level:
                known = PLACEHOLDER
            writer = open_writer(
                out.spec,
                out.path,
                width=plan_.width,
                height=plan_.height,
                rate=plan_.rate,
                start_timecode=plan_.timecode(frames.start),
                first_frame=EXR_FIRST_FRAME + frames.start,
                has_alpha=out.has_alpha,
                mastering=mastering_display_for(resolved[out.spec.target])
                if out.spec.hdr_metadata
                else None,
                light_level=known if out.spec.needs_light_level_at_open else None,
                overwrite=plan_.job.overwrite,
                whole_folder=whole_folder,
                threads=threads,
                pixel_aspect=plan_.pixel_aspect,
            )
            writers.append(_WriterThread(out, writer, failed, _depth(plan_)))

        early = [wt for wt in writers if wt.early]

        def consume(
            index: int,
            _shot: Shot,
            signals: dict[str, NDArray[np.float32]],
            made: list[Any],
        ) -> None:
            time_code = plan_.timecode(index)
            frames = iter(made)
            prepared = [
                next(frames) if wt.early else _delivered(wt, signals) for wt in writers
            ]
            # The frames live on only in the queues that take them, not here
            # while a full queue blocks (the stream's item shares these).
            signals.clear()
            made.clear()
            prepared.reverse()
            for wt in writers:
                wt.put(prepared.pop(), time_code)

        held: list[dict[str, Any]] = []
        _stream(
            plan_,
            targets,
            consume,
            record_range=frames,
            tick=tick,
            transforms=transforms,
            meters=meters,
            validators=None if pre_measure else validators,
            held=held,
            early=[(wt.output.spec.target, wt.writer.begin_frame) for wt in early],
            whole={wt.output.spec.target for wt in writers if not wt.early},
        )
        if not pre_measure:
            _judge(plan_, validators)
        for wt in writers:
            wt.finish()
        for wt in writers:
            if wt.thread.error is not None:
                raise wt.thread.error from None
        results = []
        for wt in writers:
            spec = wt.output.spec
            meter = meters.get(spec.target)
            level = meter.result() if meter is not None else None
            if spec.target in measured and level is not None:
                level = _agree(measured[spec.target], level, spec.name)
            level = given.get(spec.target, level)
            result = wt.writer.close(
                light_level=PLACEHOLDER
                if spec.name in placeholder_light_level
                else level
            )
            record = _output_record(
                wt.output,
                resolved[spec.target],
                result,
                level,
                EXR_FIRST_FRAME + frames.start,
            )
            record["light_level_meter"] = meter.to_dict() if meter is not None else None
            # Source frames that another frame stood in for (--force), per output.
            record["held_frames"] = list(held)
            record["findings"] = [
                *(dict(f) for f in wt.output.findings),
                *_bitrate_findings(spec, result, plan_),
            ]
            record["transforms"] = [
                t.to_dict()
                for (_src, tgt), t in transforms.items()
                if tgt == spec.target
            ]
            results.append(record)
        return results
    except BaseException:
        failed.set()
        for wt in writers:
            wt.thread.join()
            wt.writer.abort()
        for folder in reversed(created):  # a failed job leaves no empty folder
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if empty: never what someone else put there
        for wt in writers:
            if wt.thread.error is not None and not isinstance(
                wt.thread.error, _Cancelled
            ):
                raise wt.thread.error from None
        raise


def _bitrate_findings(spec: Any, result: Any, plan_: JobPlan) -> list[dict[str, Any]]:
    """The bitrate-floor finding of a finished movie (logged as a WARNING), if any."""
    finding = bitrate_floor_finding(
        spec,
        Path(result.path),
        frames=result.frames,
        width=plan_.width,
        height=plan_.height,
        fps=plan_.rate.fps,
    )
    if finding is None:
        return []
    log.warning("%s", finding["message"])
    return [finding]


def _make_dirs(folder: Path) -> list[Path]:
    """``mkdir -p folder``; return the directories it created, outermost first."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    missing.reverse()
    for d in missing:
        try:
            d.mkdir(exist_ok=True)
        except OSError as err:
            raise OutputError(f"{d}: cannot create: {err.strerror}") from err
    return missing


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
    out: Output,
    target: Target,
    result: Any,
    level: ContentLightLevel | None,
    first_frame: int,
) -> dict[str, Any]:
    spec = out.spec
    # The writer's own value (the one every copy in the file was verified against).
    mastering = result.mastering if spec.hdr_metadata else None
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
        "first_frame": first_frame if spec.kind == "exr" else None,
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
