"""Peak memory of a planned job, estimated before the first frame, against a budget.

The stream holds, at most (``depth`` = items per queue, :data:`QUEUE_DEPTH`):

* reader: the frame being decoded, its decoder's buffer and the two cached
  source frames retimes read again (stored precision), plus, when the frame
  is retimed or reformatted, float32 copies of the sources and the result;
* ``depth`` rendered frames, the colour stage's input and one signal per
  colour target, ``depth`` coloured items (one signal per target), and per
  deliverable ``depth`` queued signals and the one being converted (float32,
  shared by deliverables of one target);
* per movie deliverable its Y'CbCr conversion buffers and the encoder's own
  state: ProRes holds a frame per frame thread, libx265/libx264 their
  look-ahead and reference pictures (:data:`ENCODER_BYTES_PER_PIXEL`);
* the interpreter and libraries (:data:`~hdrpipe.memory.BASE_BYTES`).

When the estimate exceeds the budget with ``depth`` 2 but fits with 1, the job
runs with 1 (slower: less overlap between stages); when it does not fit
even then, the job is refused before any output is opened.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..encode.presets import DeliverySpec
from ..encode.video import FRAME_THREADS
from ..errors import InputError
from ..exr import ExrHeader
from ..memory import BASE_BYTES, decoded_bytes, format_size, resolve_budget

__all__ = [
    "MemoryEstimate",
    "estimate_memory",
    "fit_budget",
    "ENCODER_BYTES_PER_PIXEL",
    "QUEUE_DEPTH",
]

log = logging.getLogger(__name__)

#: Items each bounded queue of the stream holds (frames in flight per stage).
QUEUE_DEPTH = 2

#: Encoder state per output pixel (bytes), beyond the frames queued for it.
#: libx265 medium holds ~700 MB at 1080p (look-ahead, references, frame
#: threads): ~340 B/pixel. x264 holds less (its look-ahead is 8-bit 4:2:0).
ENCODER_BYTES_PER_PIXEL: Mapping[str, int] = {
    "libx265": 340,
    "libx264": 120,
}


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
    reader = 4 * source
    rendered = source
    if resampled:
        reader += 2 * source_pixels * channels * 4 + 2 * signal
        rendered = max(source, signal)
    targets = len({spec.target for spec in specs})
    flight = depth * rendered + rendered + targets * signal * (1 + depth)
    flight += targets * (depth + 1) * signal
    writers = 0
    encoders = 0
    for spec in specs:
        if spec.kind == "exr":
            writers += signal
            continue
        writers += pixels * channels * 12  # Y'CbCr float32 + uint16 planes, AVFrame
        per_pixel = ENCODER_BYTES_PER_PIXEL.get(spec.codec or "")
        if per_pixel is not None:
            encoders += pixels * per_pixel
        else:  # frame-threaded intra codecs (ProRes): a frame per thread
            encoders += (threads or FRAME_THREADS) * pixels * channels * 4
    return {
        "base": BASE_BYTES,
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
    for depth in (QUEUE_DEPTH, 1):
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
            if depth < QUEUE_DEPTH:
                log.warning(
                    "estimated peak memory %s exceeds the budget %s with %d frames "
                    "in flight per stage: running with %d (slower)",
                    format_size(sum(parts.values()) * processes),
                    format_size(budget),
                    QUEUE_DEPTH,
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
