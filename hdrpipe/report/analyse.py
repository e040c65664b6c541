"""Measure what the QC report shows, on decimated frames of one shot.

The report re-reads only the frames it needs: the contact-sheet frames (first,
middle, last and flagged ones) and up to :data:`CURVE_FRAMES` frames spread
over the clip for the light-level curves and the histogram. Each is decimated
to at most :data:`REPORT_WIDTH` pixels across before any colour work, so a
1080p frame costs its decode plus ~1/25 of a colour transform; after a job,
the first, middle and last frames come decimated from its validator (no decode).
384 across is about what the contact sheet shows (four thumbnails across a
laptop screen) and keeps the report's colour work at ~0.1 s per frame shown.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..color import LightLevelMeter, Transform, decode_to_luminance
from ..colorimetry import matrix_rgb_to_rgb
from ..errors import HdrpipeError
from ..exr import decode
from ..sequence import Sequence
from ..validation import PREVIEW_WIDTH, preview_step
from ..validation.pixels import GAMUT_TOLERANCE

__all__ = [
    "ShotAnalysis",
    "analyse_shot",
    "CURVE_FRAMES",
    "REPORT_WIDTH",
    "MAX_FLAGGED_FRAMES",
    "HISTOGRAM_EDGES",
    "BT2100_LUMA",
]

log = logging.getLogger(__name__)

#: Frames (evenly spread) measured for the per-frame light-level curves.
CURVE_FRAMES = 32
#: Frames are decimated to at most this many pixels across before colour work
#: (the width of the previews a job's validator keeps, so they can be reused).
REPORT_WIDTH = PREVIEW_WIDTH
#: Flagged frames shown on the contact sheet at most (the findings list them all).
MAX_FLAGGED_FRAMES = 9
#: Luminance histogram bins of the HDR master, cd/m² (log-spaced 0.01 … 10 000).
HISTOGRAM_EDGES = tuple(float(v) for v in np.logspace(-2, 4, 61))
#: Luma coefficients of ITU-R BT.2100-2 Table 6 (R, G, B of the Rec.2020 signal).
BT2100_LUMA = (0.2627, 0.6780, 0.0593)


@dataclass(frozen=True)
class ShotAnalysis:
    """What the report draws for one shot (pictures decimated, light in cd/m²).

    ``curve_frames`` with ``max_rgb`` (per-frame max of max(R, G, B) light) and
    ``frame_average`` (per-frame mean of it, CTA-861.3) are measured on the
    decimated frames, so peaks of a few pixels can be under-read: the exact
    MaxCLL/MaxFALL are the manifest's.
    """

    name: str
    pattern: str
    width: int
    height: int
    step: int
    hdr_target: str
    hdr_peak: float | None
    sdr_target: str
    contact: dict[int, NDArray[np.uint8]] = field(repr=False)
    flagged: dict[int, tuple[str, ...]]
    curve_frames: tuple[int, ...]
    max_rgb: tuple[float, ...]
    frame_average: tuple[float, ...]
    false_colour_frame: int | None
    false_colour: NDArray[np.float32] | None = field(repr=False)
    histogram: tuple[int, ...]
    outside_ap1: NDArray[np.float32] | None = field(repr=False)
    outside_p3: NDArray[np.float32] | None = field(repr=False)
    share_ap1: float
    share_p3: float | None
    bad_pixel_maps: dict[str, tuple[int, NDArray[np.bool_]]] = field(repr=False)
    unreadable: tuple[int, ...]


def _spread(frames: tuple[int, ...], n: int) -> list[int]:
    if len(frames) <= n:
        return list(frames)
    idx = np.linspace(0, len(frames) - 1, n).round().astype(int)
    return [frames[i] for i in sorted(set(idx.tolist()))]


def _block_any(mask: NDArray[np.bool_], step: int) -> NDArray[np.bool_]:
    """True where any pixel of each ``step``² block is True (padded at the edges)."""
    h, w = mask.shape
    ph, pw = -h % step, -w % step
    padded = np.pad(mask, ((0, ph), (0, pw)))
    blocks = padded.reshape((h + ph) // step, step, (w + pw) // step, step)
    return np.asarray(blocks.any(axis=(1, 3)))


def _outside(rgb: NDArray[np.float32], m: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Pixels with a component < −tolerance × (R + G + B) after the matrix ``m``."""
    out = np.einsum("ij,hwj->hwi", m.astype(np.float32), rgb)
    floor = -GAMUT_TOLERANCE * np.abs(rgb.sum(axis=2))
    return np.asarray((out < floor[..., None]).any(axis=2) & np.isfinite(rgb).all(2))


@dataclass
class _Frame:
    frame: int
    max_rgb: float = 0.0
    average: float = 0.0
    sdr: NDArray[np.uint8] | None = None
    luminance: NDArray[np.float32] | None = None
    out_ap1: NDArray[np.bool_] | None = None
    out_p3: NDArray[np.bool_] | None = None
    hist: NDArray[np.int64] | None = None
    maps: dict[str, NDArray[np.bool_]] = field(default_factory=dict)


def analyse_shot(
    seq: Sequence,
    *,
    checks: Iterable[Mapping[str, Any]] = (),
    hdr: Transform,
    sdr: Transform,
    name: str | None = None,
    workers: int = 2,
    curves: bool = True,
    on_frame: Callable[[], None] | None = None,
    previews: Mapping[int, tuple[int, NDArray[Any]]] | None = None,
) -> ShotAnalysis:
    """Read and measure the frames of ``seq`` the report needs.

    ``checks`` are the validation results as JSON objects (``validate --json``
    ``checks``): their frames join the contact sheet and the ``nonfinite`` /
    ``negative`` frames get pixel maps. ``hdr`` makes the HDR master's signal,
    ``sdr`` the review view. Unreadable frames are skipped (and listed).
    ``curves=False`` reads only the contact-sheet (and bad-pixel) frames: for a
    job whose manifest carries the exact per-frame light levels.
    ``previews`` (frame → (step, decimated stored RGB), what a job's
    :class:`~hdrpipe.validation.Validator` kept) stand in for decoding those
    frames again when their step is this analysis's (not for the frames whose
    NaN/negative maps need every pixel).
    """
    frames = tuple(seq.frames)
    flagged: dict[int, list[str]] = {}
    bad_frames: dict[str, int] = {}
    for check in checks:
        if check.get("status") == "pass":
            continue
        for f in check.get("frames") or ():
            if int(f) in frames:
                flagged.setdefault(int(f), []).append(str(check.get("id")))
        if check.get("id") in ("nonfinite", "negative") and check.get("frames"):
            present = [int(f) for f in check["frames"] if int(f) in frames]
            if present:
                bad_frames[str(check["id"])] = present[0]
    shown_flagged = sorted(flagged)[:MAX_FLAGGED_FRAMES]
    base = [frames[0], frames[len(frames) // 2], frames[-1]] if frames else []
    contact = sorted(set(base) | set(shown_flagged))
    spread = _spread(frames, CURVE_FRAMES) if curves else []
    sampled = sorted(set(spread) | set(contact) | set(bad_frames.values()))

    width = height = 0
    for f in frames:  # the first frame with a readable header sets the size
        try:
            header = seq.header(f)
        except HdrpipeError:
            continue
        width, height = header.width, header.height
        break
    step = preview_step(width)
    kept = dict(previews or {})
    meter = LightLevelMeter(hdr.target)
    to_ap1 = matrix_rgb_to_rgb("ACES2065-1", "ACEScg")
    rec2020_to_p3 = (
        matrix_rgb_to_rgb("ITU-R BT.2020", "P3-D65")
        if hdr.target.primaries == "rec2020"
        else None
    )
    edges = np.asarray(HISTOGRAM_EDGES)
    contact_set = set(contact)

    def one(frame: int) -> _Frame | None:
        kinds = [k for k, f in bad_frames.items() if f == frame]
        preview = kept.get(frame)
        if preview is not None and preview[0] == step and not kinds:
            result = _Frame(frame)
            small = np.ascontiguousarray(preview[1][..., :3], dtype=np.float32)
            return measure(result, small)
        try:
            stored = decode(seq.path(frame), channels="RGB").stored
        except (HdrpipeError, OSError, RuntimeError, ValueError) as err:
            log.info("report: frame %d unreadable: %s", frame, err)
            return None
        result = _Frame(frame)
        for kind in kinds:
            rgb = stored[..., :3]
            if kind == "nonfinite":
                mask = ~np.isfinite(rgb).all(axis=2)
            else:
                mask = ((rgb < 0) & np.isfinite(rgb)).any(axis=2)
            result.maps[kind] = _block_any(mask, step)
        small = np.ascontiguousarray(stored[::step, ::step, :3], dtype=np.float32)
        del stored
        return measure(result, small)

    def measure(result: _Frame, small: NDArray[np.float32]) -> _Frame:
        frame = result.frame
        signal = hdr.apply(small)
        light = meter.measure(signal)
        result.max_rgb, result.average = light.max_light, light.average
        linear = np.asarray(decode_to_luminance(signal, hdr.target), np.float32)
        lum = (
            linear[..., 0] * BT2100_LUMA[0]
            + linear[..., 1] * BT2100_LUMA[1]
            + linear[..., 2] * BT2100_LUMA[2]
        )
        lum = np.nan_to_num(lum, nan=0.0)
        result.hist = np.histogram(np.clip(lum, edges[0], edges[-1]), bins=edges)[0]
        if frame in contact_set:
            review = np.nan_to_num(sdr.apply(small), nan=0.0)
            result.sdr = (np.clip(review, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
            result.luminance = lum.astype(np.float32)
            result.out_ap1 = _outside(np.nan_to_num(small), to_ap1)
            if rec2020_to_p3 is not None:
                result.out_p3 = _outside(np.nan_to_num(linear), rec2020_to_p3)
        if on_frame is not None:
            on_frame()
        return result

    with ThreadPoolExecutor(max_workers=max(int(workers), 1)) as pool:
        done = [r for r in pool.map(one, sampled)]
    measured = [r for r in done if r is not None]
    unreadable = tuple(f for f, r in zip(sampled, done, strict=True) if r is None)
    shown = [r for r in measured if r.sdr is not None]
    brightest = max(shown, key=lambda r: r.max_rgb, default=None)
    hist = np.zeros(len(edges) - 1, np.int64)
    for r in measured:
        if r.hist is not None:
            hist += r.hist

    def share(
        maps: list[NDArray[np.bool_]],
    ) -> tuple[NDArray[np.float32] | None, float]:
        if not maps:
            return None, 0.0
        stack = np.stack(maps).astype(np.float32)
        return stack.mean(axis=0), float(stack.mean())

    ap1_map, ap1_share = share([r.out_ap1 for r in shown if r.out_ap1 is not None])
    p3_map, p3_share = share([r.out_p3 for r in shown if r.out_p3 is not None])
    bad_maps = {kind: (r.frame, m) for r in measured for kind, m in r.maps.items()}
    return ShotAnalysis(
        name=name or seq.name,
        pattern=seq.pattern,
        width=width,
        height=height,
        step=step,
        hdr_target=hdr.target.name,
        hdr_peak=hdr.target.peak_luminance,
        sdr_target=sdr.target.name,
        contact={r.frame: r.sdr for r in shown if r.sdr is not None},
        flagged={f: tuple(v) for f, v in sorted(flagged.items())},
        curve_frames=tuple(r.frame for r in measured),
        max_rgb=tuple(r.max_rgb for r in measured),
        frame_average=tuple(r.average for r in measured),
        false_colour_frame=brightest.frame if brightest else None,
        false_colour=brightest.luminance if brightest else None,
        histogram=tuple(int(v) for v in hist),
        outside_ap1=ap1_map,
        outside_p3=p3_map,
        share_ap1=ap1_share,
        share_p3=p3_share if rec2020_to_p3 is not None else None,
        bad_pixel_maps=bad_maps,
        unreadable=unreadable,
    )
