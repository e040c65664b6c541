"""Peak memory of a planned job, estimated before the first frame, against a budget.

The stream holds, at most (``depth`` = items per queue, :data:`QUEUE_DEPTH`):

* reader: the frame being decoded (stored precision; the cache frees its last
  frame before the next is decoded, and keeps two when retimes blend
  neighbours), plus, when the frame is retimed or reformatted, float32
  copies of the sources and the result;
* ``depth`` rendered frames (none behind x265 at ``depth`` 1: the reader
  renders no frame ahead there), the colour stage's input and one signal per
  colour target, ``depth`` coloured items (one signal per target), per colour
  target feeding an EXR writer ``depth``
  queued signals and the one being written (float32, shared by deliverables of
  one target; behind ProRes and x264 that queue stays empty), and per colour
  target feeding x265 the signal being converted: x265's
  queue holds the encoder's Y'CbCr frames instead (``depth``, the one waiting
  to be queued and the one being coded: :func:`encoder_frame_bytes` each);
* per EXR deliverable the frame being written (float32); per movie
  deliverable its Y'CbCr code planes (:data:`VIDEO_WRITER_BYTES_PER_SAMPLE`)
  and the encoder's own state: ProRes holds a frame per frame thread (16-bit
  samples), libx265/libx264 their look-ahead, reference and frame-thread
  pictures: :data:`ENCODER_FIXED_BYTES` and :data:`ENCODER_BYTES_PER_PIXEL` plus
  :data:`LOOKAHEAD_BYTES_PER_PIXEL` per look-ahead frame (``rc-lookahead`` of
  the preset, else the encoder's ``medium`` default
  :data:`DEFAULT_LOOKAHEAD`) and, for x265, :data:`BFRAME_BYTES_PER_PIXEL` per
  B-frame in a row (``bframes``, medium's 4 by default);
* the interpreter and libraries (:data:`~hdrpipe.memory.BASE_BYTES`, plus
  :data:`~hdrpipe.memory.MOVIE_BASE_BYTES` once a job has a movie).

The constants are calibrated with ``bench/memory.py`` (peak RSS of one
deliverable per preset at 1080p and UHD over 64 frames; docs/memory.md has the
table and the formula for several deliverables). A job with several
deliverables sums each deliverable's writer and encoder parts; the reader and
the queues are shared (the queued signals once per colour target).

When the estimate exceeds the budget with ``depth`` 2 but fits with 1, the job
runs with 1 (slower: less overlap between stages); when it does not fit
even then, the job is refused before any output is opened. A job with an x265
deliverable larger than 2K (:data:`LARGE_PIXELS`) always runs with 1: x265 is
then the slowest stage by far, and deeper queues in front of it only hold
memory (at UHD, 175 MB per frame in flight).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..encode.presets import DeliverySpec
from ..encode.video import FRAME_THREADS
from ..errors import InputError
from ..exr import ExrHeader
from ..memory import (
    BASE_BYTES,
    MOVIE_BASE_BYTES,
    decoded_bytes,
    format_size,
    resolve_budget,
)

__all__ = [
    "MemoryEstimate",
    "estimate_memory",
    "fit_budget",
    "ENCODER_BYTES_PER_PIXEL",
    "ENCODER_FIXED_BYTES",
    "LOOKAHEAD_BYTES_PER_PIXEL",
    "DEFAULT_LOOKAHEAD",
    "VIDEO_WRITER_BYTES_PER_SAMPLE",
    "QUEUE_DEPTH",
    "lookahead",
    "bframes",
    "encoder_frame_bytes",
    "frames_ahead",
    "queue_depth",
    "slow_writer",
    "LARGE_PIXELS",
    "BFRAME_BYTES_PER_PIXEL",
]

log = logging.getLogger(__name__)

#: Items each bounded queue of the stream holds (frames in flight per stage).
QUEUE_DEPTH = 2
#: Output pixels above which a job with an x265 deliverable keeps one frame in
#: flight per stage (2K DCI, 2048x1080; UHD is 3840x2160).
LARGE_PIXELS = 2048 * 1080

#: Long-GOP encoder state per output pixel (bytes) besides its look-ahead:
#: reference and reordered pictures with their analysis data, the frame being
#: coded. Fitted to bench/memory.py (x265 medium + tune=grain, one frame
#: thread; x264 medium, 4 threads).
ENCODER_BYTES_PER_PIXEL: Mapping[str, int] = {
    "libx265": 160,
    "libx264": 10,
}
#: Long-GOP encoder state that does not grow with the raster (bytes): x264's
#: frame-thread and look-ahead contexts. Fitted to bench/memory.py, where the
#: review preset peaks at 0.57-0.67 GB at 1080p and 1.25-1.43 GB at UHD over
#: several runs (x264's own allocation varies run to run).
ENCODER_FIXED_BYTES: Mapping[str, int] = {"libx264": 90 * 10**6}
#: Per frame of look-ahead (bytes per output pixel): the source picture and
#: its half-resolution planes (x265: 10-bit samples in 16 bits).
LOOKAHEAD_BYTES_PER_PIXEL: Mapping[str, float] = {
    "libx265": 5.5,
    "libx264": 4.0,
}
#: ``rc-lookahead`` of the encoders' ``medium`` preset (a preset without one).
DEFAULT_LOOKAHEAD: Mapping[str, int] = {"libx265": 20, "libx264": 40}
#: Per B-frame in a row (x265 ``bframes``) beyond none, bytes per output pixel:
#: the reordered source pictures x265 holds with their analysis data
#: (:data:`ENCODER_BYTES_PER_PIXEL` is at medium's 4).
BFRAME_BYTES_PER_PIXEL: Mapping[str, float] = {"libx265": 12.5}
#: ``bframes`` of x265's ``medium`` preset.
DEFAULT_BFRAMES = 4
#: A movie writer's Y'CbCr conversion buffers, bytes per sample of the signal.
VIDEO_WRITER_BYTES_PER_SAMPLE = 4
_LOOKAHEAD_RE = re.compile(r"(?:^|[:,])rc[-_]lookahead=(\d+)")
_BFRAMES_RE = re.compile(r"(?:^|[:,])bframes=(\d+)")


def bframes(spec: DeliverySpec) -> int:
    """The most B-frames in a row of an x265 preset (``bframes``, else medium's)."""
    match = _BFRAMES_RE.search(spec.options.get("x265-params", ""))
    return int(match[1]) if match is not None else DEFAULT_BFRAMES


def encoder_frame_bytes(spec: DeliverySpec, pixels: int) -> int:
    """Bytes of one encoder input frame of ``spec`` (Y'CbCr planes, 8/16-bit)."""
    samples = {"420": 1.5, "422": 2.0}.get(spec.chroma or "", 3.0)
    return int(pixels * samples * (2 if spec.bit_depth > 8 else 1))


def queue_depth(width: int, height: int, specs: Sequence[DeliverySpec]) -> int:
    """The deepest queues a job runs with (before the budget): see the module doc."""
    if width * height > LARGE_PIXELS and any(s.codec == "libx265" for s in specs):
        return 1
    return QUEUE_DEPTH


def lookahead(spec: DeliverySpec) -> int:
    """The look-ahead depth (frames) a long-GOP preset's encoder runs with."""
    codec = spec.codec or ""
    found = spec.options.get("rc-lookahead") or spec.options.get("rc_lookahead")
    for key in ("x265-params", "x264-params", "x264opts"):
        match = _LOOKAHEAD_RE.search(spec.options.get(key, ""))
        if match is not None:
            found = match[1]
    try:
        return int(found) if found is not None else DEFAULT_LOOKAHEAD.get(codec, 0)
    except ValueError:
        return DEFAULT_LOOKAHEAD.get(codec, 0)


@dataclass(frozen=True)
class MemoryEstimate:
    """A job's estimated peak memory (bytes) at ``depth`` and the budget it met."""

    peak: int
    budget: int
    depth: int
    source: str
    parts: Mapping[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "estimated_peak_bytes": self.peak,
            "estimated_peak": format_size(self.peak),
            "budget_bytes": self.budget,
            "budget": format_size(self.budget),
            "budget_source": self.source,
            "frames_in_flight_per_stage": self.depth,
            "parts_bytes": dict(self.parts),
        }


def frames_ahead(depth: int, *, behind_x265: bool) -> int:
    """Rendered source frames the stream holds besides the one being decoded.

    ``depth`` (the colour stage's input counted), but none behind x265 at
    ``depth`` 1 (a UHD job): x265 is several times slower than decode and
    colour together there, so the reader renders the next frame only once
    the colour stage has taken the last (measured at UHD: 0.03-0.06 GB lower
    peak at the same wall time).
    """
    return 0 if behind_x265 and depth == 1 else depth


def slow_writer(spec: DeliverySpec) -> bool:
    """A writer whose input queue is counted full: slower than the colour stage.

    Measured (bench/memory.py): compressed EXR and x265 are; ProRes and x264
    keep up with the colour stage. Uncompressed EXR keeps up too, but with
    glibc's adaptive mapping threshold (the CLI's allocator since 2026-12-05)
    the signals it freed stay in the heap: its 1080p peak was 0.45 GB, as
    much as a full queue (0.33 GB with the old fixed 1 MiB threshold).
    """
    if spec.kind == "exr":
        return True
    return spec.codec == "libx265"


def estimate_memory(
    headers: Sequence[ExrHeader],
    width: int,
    height: int,
    specs: Sequence[DeliverySpec],
    *,
    has_alpha: bool,
    resampled: bool,
    depth: int = QUEUE_DEPTH,
    threads: int | None = None,
) -> dict[str, int]:
    """Bytes each part of the stream holds at its peak (see the module docstring).

    ``headers``: one per shot (the largest frame of each); ``resampled``: some
    shot is retimed from several frames or reformatted (float32 copies).
    """
    channels = 4 if has_alpha else 3
    pixels = width * height
    signal = pixels * channels * 4  # float32 R'G'B'(A) at the output raster
    names = ("R", "G", "B", "A") if has_alpha else ("R", "G", "B")
    source = max(decoded_bytes(h, names) for h in headers)
    source_pixels = max(decoded_bytes(h, names) // (2 * channels) for h in headers)
    # The frame being decoded: the decoder fills it band by band and the
    # validation counts block by block (a few MB besides), and the reader's
    # cache frees its last frame first (two when a retime blends neighbours).
    reader = source
    rendered = source
    if resampled:
        reader += source + 2 * source_pixels * channels * 4 + 2 * signal
        rendered = max(source, signal)
    # Encoders slower than the colour stage (slow_writer): EXR takes signals
    # (depth queued, one being written); x265 takes Y'CbCr frames the colour
    # stage makes strip by strip, so its target needs no whole signal.
    early = [s for s in specs if slow_writer(s) and s.kind != "exr"]
    # Rendered frames not yet coloured, the colour stage's input counted (the
    # reader waits for room before rendering the next).
    flight = frames_ahead(depth, behind_x265=bool(early)) * rendered
    whole = {s.target for s in specs if s not in early}
    # Coloured items not yet consumed (the one being made and the one a
    # blocked consumer holds included): depth + 1 per whole signal and per
    # early frame; then each x265 queue and the frame being encoded.
    flight += len(whole) * (depth + 1) * signal
    flight += sum((2 * depth + 2) * encoder_frame_bytes(s, pixels) for s in early)
    slow = {s.target for s in specs if slow_writer(s) and s.kind == "exr"}
    flight += len(slow) * (depth + 1) * signal
    writers = 0
    encoders = 0
    movies = False
    for spec in specs:
        if spec.kind == "exr":
            writers += signal
            continue
        movies = True
        if spec not in early:  # x265's frames are counted in flight
            writers += pixels * channels * VIDEO_WRITER_BYTES_PER_SAMPLE
        state = ENCODER_BYTES_PER_PIXEL.get(spec.codec or "")
        if state is not None:
            per_pixel = state + LOOKAHEAD_BYTES_PER_PIXEL[spec.codec or ""] * lookahead(
                spec
            )
            if spec.codec in BFRAME_BYTES_PER_PIXEL:
                per_b = BFRAME_BYTES_PER_PIXEL[spec.codec or ""]
                per_pixel += per_b * (bframes(spec) - DEFAULT_BFRAMES)
            encoders += int(pixels * per_pixel) + ENCODER_FIXED_BYTES.get(
                spec.codec or "", 0
            )
        else:  # frame-threaded intra codecs (ProRes): a frame per thread
            frame_threads = threads or min(len(os.sched_getaffinity(0)), FRAME_THREADS)
            encoders += frame_threads * pixels * channels * 2
    return {
        "base": BASE_BYTES + (MOVIE_BASE_BYTES if movies else 0),
        "reader": reader,
        "frames_in_flight": flight,
        "writers": writers,
        "encoders": encoders,
    }


def fit_budget(
    headers: Sequence[ExrHeader],
    width: int,
    height: int,
    specs: Sequence[DeliverySpec],
    *,
    has_alpha: bool,
    resampled: bool,
    max_memory: str | int | None,
    threads: int | None = None,
    processes: int = 1,
) -> MemoryEstimate:
    """The estimate at the deepest queues that fit the budget.

    ``processes`` pipelines run at once (local farm workers) share the budget.

    Raises
    ------
    InputError
        Even one frame in flight per stage does not fit (the message gives the
        estimate, the budget and where the budget comes from).
    """
    budget, origin = resolve_budget(max_memory)
    best: MemoryEstimate | None = None
    deepest = queue_depth(width, height, specs)
    for depth in range(deepest, 0, -1):
        parts = estimate_memory(
            headers,
            width,
            height,
            specs,
            has_alpha=has_alpha,
            resampled=resampled,
            depth=depth,
            threads=threads,
        )
        peak = sum(parts.values()) * processes
        best = MemoryEstimate(peak, budget, depth, origin, parts)
        if peak <= budget:
            if depth < deepest:
                log.warning(
                    "estimated peak memory %s exceeds the budget %s with %d frames "
                    "in flight per stage: running with %d (slower)",
                    format_size(sum(parts.values()) * processes),
                    format_size(budget),
                    deepest,
                    depth,
                )
            return best
    assert best is not None
    who = f" for {processes} worker processes" if processes > 1 else ""
    raise InputError(
        f"estimated peak memory {format_size(best.peak)}{who} "
        f"({width}x{height} output, source frames of "
        f"{format_size(max(decoded_bytes(h) for h in headers))}, "
        f"{len(specs)} deliverable(s)) exceeds the memory budget "
        f"{format_size(budget)} ({origin})"
    )
