"""Retime: map output frames to source frames, then build output pixels.

:func:`frame_map` is pure (no pixels): for each output frame it gives the
source frame numbers and weights. :func:`retime_frame` turns one
:class:`Sample` into pixels with :func:`blend` or motion-compensated
interpolation (:mod:`hdrpipe.resample.flow`).

Output count rule (every method but ``asis``)
---------------------------------------------
Output frame ``i`` shows source time ``i / target_fps``: its exact position
in source frames is ``first + i * source_fps / target_fps``. The output keeps
the source's duration, ``M = ceil(N * target_fps / source_fps)`` frames for
``N`` source frames (at least 1), so 24 → 48 gives **2N** frames, 24 → 30
gives ``ceil(1.25 N)``. Positions past the last source frame are clamped to it
(the last source frame is held), so for up-conversion (target ≥ source rate)
the last output frame is exactly the last source frame. Output frame 0 is
always exactly the first source frame. For down-conversion the last output
frame is the source frame on the cadence, which may precede the last one.

``asis`` ("play as"): output frame ``i`` is source frame ``first + i``, count
``N``; only the rate (and so duration and timecode) changes.
``nearest``: the source frame nearest the position, ties to the earlier frame
(``ceil(p - 1/2)``), which makes 24 → 48 an exact doubling and 24 → 30 the
stable 4-in-5 cadence ``0 1 2 2 3 | 4 5 6 6 7``.
``blend`` / ``flow``: the two neighbours ``floor(p)`` and ``floor(p) + 1``
with weights ``1 - f`` and ``f`` (``f`` the fractional part); integral
positions give one source with weight exactly 1.0. ``flow`` interpolates
along the motion (:func:`hdrpipe.resample.flow.interpolate`) and never across a
scene cut: when the two neighbours belong to different shots it holds the
nearer one (``f <= 1/2`` holds ``floor(p)``), as ``nearest`` would. ``blend``
is a plain dissolve and does not look for cuts.

Blending happens in scene-linear light; RGBA is assumed premultiplied (as
OpenEXR stores it), so alpha is blended with the same weights.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal, get_args

import numpy as np
from numpy.typing import NDArray

from ..errors import ConformError, InputError
from ..types import FrameRange, Rate
from . import flow as _flow

__all__ = [
    "Method",
    "METHODS",
    "Sample",
    "output_count",
    "sample_at",
    "frame_map",
    "blend",
    "retime_frame",
]

log = logging.getLogger(__name__)

Method = Literal["asis", "nearest", "blend", "flow"]
METHODS: tuple[str, ...] = get_args(Method)


@dataclass(frozen=True, slots=True)
class Sample:
    """One output frame: which source frames, with which weights.

    ``sources`` are source frame numbers (e.g. 1001, 1002), ``weights`` sum to
    1 (exactly 1.0 for one source), ``position`` is the exact source-time
    position in source frames (e.g. ``1001 + 1/2``), clamped to the range.
    """

    index: int
    sources: tuple[int, ...]
    weights: tuple[float, ...]
    position: Fraction

    @property
    def t(self) -> float:
        """Interpolation phase between the two sources (0.0 for a single source)."""
        return self.weights[1] if len(self.weights) == 2 else 0.0


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise InputError(
            f"unknown retime method {method!r}; choose one of {', '.join(METHODS)}"
        )


def output_count(
    source_rate: Rate, target_rate: Rate, method: Method, count: int
) -> int:
    """Return the number of output frames for ``count`` source frames.

    ``asis`` keeps ``count``; other methods keep the duration:
    ``ceil(count * target_fps / source_fps)``, at least 1.

    >>> from fractions import Fraction
    >>> output_count(Rate(Fraction(24)), Rate(Fraction(48)), "flow", 120)
    240
    """
    _check_method(method)
    if count < 1:
        raise InputError(f"frame count must be >= 1, got {count}")
    if method == "asis":
        return count
    return max(1, math.ceil(Fraction(count) * target_rate.fps / source_rate.fps))


def sample_at(
    source_rate: Rate,
    target_rate: Rate,
    method: Method,
    source_range: FrameRange,
    index: int,
) -> Sample:
    """Return output frame ``index`` of :func:`frame_map` alone (chunked/farm work)."""
    n_out = output_count(source_rate, target_rate, method, source_range.count)
    if not 0 <= index < n_out:
        raise InputError(f"output frame {index} is outside 0..{n_out - 1}")
    first, last = source_range.first, source_range.last
    if method == "asis":
        return Sample(index, (first + index,), (1.0,), Fraction(first + index))
    rel = min(
        Fraction(index) * source_rate.fps / target_rate.fps, Fraction(last - first)
    )
    position = first + rel
    if method == "nearest":
        frame = math.ceil(position - Fraction(1, 2))
        return Sample(index, (frame,), (1.0,), position)
    base = math.floor(position)
    frac = position - base
    if frac == 0:
        return Sample(index, (base,), (1.0,), position)
    w1 = float(frac)
    return Sample(index, (base, base + 1), (1.0 - w1, w1), position)


def frame_map(
    source_rate: Rate, target_rate: Rate, method: Method, source_range: FrameRange
) -> tuple[Sample, ...]:
    """Map every output frame to source frames and weights (pure, no pixels).

    See the module docstring for the count rule and the per-method choice.

    >>> from fractions import Fraction
    >>> r24, r48 = Rate(Fraction(24)), Rate(Fraction(48))
    >>> m = frame_map(r24, r48, "blend", FrameRange(1001, 1002))
    >>> [(s.sources, s.weights) for s in m]  # doctest: +NORMALIZE_WHITESPACE
    [((1001,), (1.0,)), ((1001, 1002), (0.5, 0.5)),
     ((1002,), (1.0,)), ((1002,), (1.0,))]
    """
    n_out = output_count(source_rate, target_rate, method, source_range.count)
    return tuple(
        sample_at(source_rate, target_rate, method, source_range, i)
        for i in range(n_out)
    )


def blend(
    frames: Sequence[NDArray[np.float32]], weights: Sequence[float]
) -> NDArray[np.float32]:
    """Return the weighted sum of frames, in scene-linear light.

    Parameters
    ----------
    frames
        Float32 arrays of one shape (H, W, C); RGBA is premultiplied, so alpha
        is blended with the same weights as colour.
    weights
        One finite weight per frame; they should sum to 1.

    Returns
    -------
    A new float32 (H, W, C) C-contiguous array.
    """
    if len(frames) == 0 or len(frames) != len(weights):
        raise ConformError(
            f"blend needs one weight per frame, got {len(frames)} frames "
            f"and {len(weights)} weights"
        )
    shape = frames[0].shape
    for i, frame in enumerate(frames):
        if frame.shape != shape:
            raise ConformError(
                f"blend: frame {i} has shape {frame.shape}, expected {shape}"
            )
    if not all(math.isfinite(w) for w in weights):
        raise ConformError(f"blend: weights must be finite, got {tuple(weights)}")
    out = np.multiply(frames[0], np.float32(weights[0]), dtype=np.float32)
    for frame, weight in zip(frames[1:], weights[1:], strict=True):
        out += np.multiply(frame, np.float32(weight), dtype=np.float32)
    return out


def retime_frame(
    sample: Sample,
    get_frame: Callable[[int], NDArray[np.float32]],
    method: Method,
    *,
    flow_cache: _flow.FlowCache | None = None,
) -> NDArray[np.float32]:
    """Build the pixels of one output frame.

    A single-source sample returns ``get_frame(source)`` itself (not a copy:
    frames are never modified in place). Two sources are blended (``blend``)
    or motion-interpolated (``flow``; with ``flow_cache`` the flow of a source
    pair is computed once for all output frames between them; a pair that
    straddles a scene cut returns a copy of the nearer source).

    Raises
    ------
    ConformError
        Mismatched frames or an OpenCV failure, with the source frame numbers.
    """
    _check_method(method)
    if len(sample.sources) == 1:
        frame = get_frame(sample.sources[0])
        if frame.dtype != np.float32 or not frame.flags.c_contiguous:
            frame = np.ascontiguousarray(frame, dtype=np.float32)
        return frame
    if len(sample.sources) != 2 or method in ("asis", "nearest"):
        raise ConformError(
            f"output frame {sample.index}: method {method!r} cannot use "
            f"sources {sample.sources}"
        )
    a, b = sample.sources
    frame_a, frame_b = get_frame(a), get_frame(b)
    try:
        if method == "blend":
            return blend((frame_a, frame_b), sample.weights)
        if flow_cache is not None:
            return flow_cache.interpolate(a, b, frame_a, frame_b, sample.t)
        return _flow.interpolate(frame_a, frame_b, sample.t)
    except ConformError as err:
        raise ConformError(
            f"output frame {sample.index} (source {a}-{b}): {err}"
        ) from err
