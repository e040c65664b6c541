"""Checks for faults of generated footage: one function per check id.

``check_<id>(data, rule) -> CheckResult`` as in :mod:`.checks`, judging the
per-frame :class:`~hdrpipe.validation.footage.FootageStats` the validation pass
kept. Frames are compared with the previous/next frame *number* only when both
are on disk and readable (a gap is never a jump).

Thresholds (module constants, overridable per profile rule; stops are log2 of
scene-linear luminance):

* ``black``: the 99th percentile of luminance is below ``BLACK_P99`` (0.5 % of
  diffuse white: nothing in the frame reaches a dark grey).
* ``flash``: the frame's mean luminance is at least ``FLASH_STOPS`` (1 stop)
  above each neighbour's.
* ``flicker``: the frame's mean (or median) luminance departs from the average
  of its two neighbours by at least ``FLICKER_STOPS`` (0.1 stop, 7 %) —
  a second difference, so a steady fade is not flicker — while the picture
  keeps its structure (the thumbnails' correlation with both neighbours is at
  least ``CUT_CORRELATION``: otherwise it is a cut). Frames flagged ``black``
  or ``flash`` and their neighbours are left to those checks; of neighbouring
  departures only the largest is the jump (a one-frame jump of s stops departs
  by s/2 at each neighbour).
* ``duplicates``: the decimated stored samples are bit-identical to the
  previous frame's (a repeated frame: generator stall, bad retime).
* ``frozen``: not bit-identical, but no block of the 32-column luminance
  thumbnail moved by ``FROZEN_STOPS`` (0.03 stop, 2 %) from the previous frame:
  the picture stopped (re-encoded repeat, interpolation that gave up). Grain
  averages out in the blocks; motion of a fraction of a pixel per frame at
  1080p counts as frozen.
* ``upscale``: on the mean radial power spectrum of a centred 256² crop (log
  luminance) of up to 8 frames, for each candidate factor s (4/3, 1.5, 2) the
  power just below the would-be source Nyquist 0.5/s cycles/pixel is compared
  with the power just above it; a fall of at least ``UPSCALE_DROP_DB`` (10 dB)
  means the detail stops there. The largest such s is the upscale factor and
  the native resolution is the frame size / s. Native plates measured 3–7 dB
  (natural content falls, grain is flat); a 2× bilinear up-res 13–17 dB.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from .footage import SPECTRUM_BINS, FootageStats
from .registry import register_check
from .report import CheckResult, Status

if TYPE_CHECKING:
    from .checks import SequenceData

__all__ = [
    "check_flicker",
    "check_duplicates",
    "check_frozen",
    "check_black",
    "check_flash",
    "check_upscale",
    "BLACK_P99",
    "FLASH_STOPS",
    "FLICKER_STOPS",
    "CUT_CORRELATION",
    "FROZEN_STOPS",
    "UPSCALE_FACTORS",
    "UPSCALE_DROP_DB",
    "footage_series",
]

BLACK_P99 = 0.005
FLASH_STOPS = 1.0
FLICKER_STOPS = 0.1
CUT_CORRELATION = 0.5
FROZEN_STOPS = 0.03
#: Candidate upscale factors (720p→1080p is 1.5, HD→UHD and 2K→4K 2). Larger
#: factors put the band edge where natural images fall steeply on their own.
UPSCALE_FACTORS = (4 / 3, 1.5, 2.0)
UPSCALE_DROP_DB = 10.0


def _status(severity: Any) -> Status:
    return severity if severity in ("pass", "warn", "fail") else "fail"


def _frames_text(frames: list[int], limit: int = 8) -> str:
    shown = ", ".join(str(f) for f in frames[:limit])
    return shown + (f" … (+{len(frames) - limit})" if len(frames) > limit else "")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _footage(data: SequenceData) -> dict[int, FootageStats]:
    return {
        f: s.footage for f, s in sorted(data.stats.items()) if s.footage is not None
    }


def _stops(value: float) -> float:
    return float(np.log2(max(value, 2.0**-17)))


def footage_series(data: SequenceData) -> dict[str, Any]:
    """Per-frame luminance series (JSON-friendly): the evidence the report plots.

    ``{"frames": [...], "mean": [...], "p50": [...], "p99": [...]}``, scene-linear
    Y (diffuse white 1.0), rounded to 6 significant digits.
    """
    stats = _footage(data)
    return {
        "frames": list(stats),
        "mean": [float(f"{s.mean:.6g}") for s in stats.values()],
        "p50": [float(f"{s.p50:.6g}") for s in stats.values()],
        "p99": [float(f"{s.p99:.6g}") for s in stats.values()],
    }


def _result(
    check_id: str,
    rule: Mapping[str, Any],
    bad: list[int],
    ok_text: str,
    bad_text: str,
    details: dict[str, Any],
) -> CheckResult:
    if not bad:
        return CheckResult(check_id, "pass", ok_text, details=details)
    return CheckResult(
        check_id,
        _status(rule.get("severity", "warn")),
        f"{_plural(len(bad), 'frame')} {bad_text}: {_frames_text(bad)}",
        tuple(bad),
        details,
    )


def _black(stats: Mapping[int, FootageStats], rule: Mapping[str, Any]) -> list[int]:
    limit = float(rule.get("max_p99", BLACK_P99))
    return [f for f, s in stats.items() if s.p99 < limit]


def _flash(stats: Mapping[int, FootageStats], rule: Mapping[str, Any]) -> list[int]:
    stops = float(rule.get("stops", FLASH_STOPS))
    bad = []
    for f, s in stats.items():
        around = [stats[g] for g in (f - 1, f + 1) if g in stats]
        if around and all(_stops(s.mean) - _stops(n.mean) >= stops for n in around):
            bad.append(f)
    return bad


@register_check("black", footage=True)
def check_black(data: SequenceData, rule: Mapping[str, Any]) -> CheckResult:
    """Frames with nothing above a dark grey (``details.p99`` per flagged frame)."""
    stats = _footage(data)
    bad = _black(stats, rule)
    details = {
        "max_p99": float(rule.get("max_p99", BLACK_P99)),
        "p99": {str(f): stats[f].p99 for f in bad},
    }
    return _result("black", rule, bad, "no black frames", "black", details)


@register_check("flash", footage=True)
def check_flash(data: SequenceData, rule: Mapping[str, Any]) -> CheckResult:
    """Frames ``FLASH_STOPS`` or more brighter (mean luminance) than both neighbours."""
    stats = _footage(data)
    bad = _flash(stats, rule)
    details = {
        "stops": float(rule.get("stops", FLASH_STOPS)),
        "mean": {str(f): stats[f].mean for f in bad},
    }
    return _result("flash", rule, bad, "no flash frames", "flash", details)


def _correlation(a: NDArray[np.float32], b: NDArray[np.float32]) -> float:
    if a.shape != b.shape:
        return 0.0  # a frame of another size: never the same picture
    x = a.astype(np.float64).ravel() - float(a.mean())
    y = b.astype(np.float64).ravel() - float(b.mean())
    norm = float(np.sqrt((x * x).sum() * (y * y).sum()))
    # Two flat thumbnails (e.g. two black frames) have the same structure.
    return float((x * y).sum() / norm) if norm > 1e-12 else 1.0


@register_check("flicker", footage=True)
def check_flicker(data: SequenceData, rule: Mapping[str, Any]) -> CheckResult:
    """Brightness jumps of single frames not explained by a cut (see module doc).

    ``details.jumps`` maps each flagged frame to its departure in stops (mean
    and median); ``details.cuts`` lists frames that start a new shot;
    ``details.series`` the per-frame luminance.
    """
    stats = _footage(data)
    stops = float(rule.get("stops", FLICKER_STOPS))
    min_corr = float(rule.get("cut_correlation", CUT_CORRELATION))
    skip: set[int] = set()
    for f in _black(stats, {}) + _flash(stats, {}):
        skip.update((f - 1, f, f + 1))
    cuts = [
        f
        for f in stats
        if f - 1 in stats
        and _correlation(stats[f - 1].thumb, stats[f].thumb) < min_corr
    ]
    near_cut = set(cuts) | {f - 1 for f in cuts}
    departure: dict[int, tuple[float, float]] = {}
    for f, s in stats.items():
        prev, nxt = stats.get(f - 1), stats.get(f + 1)
        if prev is None or nxt is None or f in skip or f in near_cut:
            continue
        d_mean = _stops(s.mean) - (_stops(prev.mean) + _stops(nxt.mean)) / 2
        d_p50 = _stops(s.p50) - (_stops(prev.p50) + _stops(nxt.p50)) / 2
        departure[f] = (d_mean, d_p50)
    size = {f: max(abs(a), abs(b)) for f, (a, b) in departure.items()}
    jumps: dict[str, dict[str, float]] = {}
    for f, (d_mean, d_p50) in departure.items():
        # A one-frame jump of s stops departs by s/2 at its neighbours too: the
        # frame that departs most is the one that jumped.
        local = all(size[f] >= size.get(g, 0.0) for g in (f - 1, f + 1))
        if size[f] >= stops and local:
            jumps[str(f)] = {"mean": round(d_mean, 4), "p50": round(d_p50, 4)}
    bad = [int(f) for f in jumps]
    details = {
        "stops": stops,
        "jumps": jumps,
        "cuts": cuts,
        "series": footage_series(data),
    }
    return _result(
        "flicker",
        rule,
        bad,
        f"no luminance jumps ≥ {stops:g} stop",
        f"jump ≥ {stops:g} stop in luminance (not a cut)",
        details,
    )


@register_check("duplicates", footage=True)
def check_duplicates(data: SequenceData, rule: Mapping[str, Any]) -> CheckResult:
    """Frames bit-identical to the previous frame (``details.of``: frame → original)."""
    stats = _footage(data)
    of: dict[str, int] = {}
    for f, s in stats.items():
        prev = stats.get(f - 1)
        if prev is not None and prev.digest == s.digest:
            # A run of repeats all point at the first frame of the run.
            of[str(f)] = of.get(str(f - 1), f - 1)
    bad = [int(f) for f in of]
    return _result(
        "duplicates",
        rule,
        bad,
        "no repeated frames",
        "repeat the previous frame",
        {"of": of},
    )


@register_check("frozen", footage=True)
def check_frozen(data: SequenceData, rule: Mapping[str, Any]) -> CheckResult:
    """Frames near-identical to the previous one (not bit-identical): motion stopped.

    ``details.change`` is, per flagged frame, the largest block change in stops.
    """
    stats = _footage(data)
    limit = float(rule.get("stops", FROZEN_STOPS))
    black = set(_black(stats, {}))
    change: dict[str, float] = {}
    for f, s in stats.items():
        prev = stats.get(f - 1)
        if prev is None or prev.digest == s.digest or prev.thumb.shape != s.thumb.shape:
            continue
        if f in black and f - 1 in black:
            continue  # two black frames: the `black` check's finding
        moved = float(np.max(np.abs(s.thumb - prev.thumb)))
        if moved < limit:
            change[str(f)] = round(moved, 5)
    bad = [int(f) for f in change]
    return _result(
        "frozen",
        rule,
        bad,
        "picture moves between every pair of frames",
        f"near-identical to the previous frame (< {limit:g} stop change)",
        {"stops": limit, "change": change},
    )


def _fall_db(spectrum: NDArray[np.float64], s: float) -> float:
    """Fall (dB) of log power from just below 0.5/s cycles/pixel to just above it.

    Mean over 0.6 … 0.85 × 0.5/s minus mean over 1.15 … 1.6 × 0.5/s (capped
    at 0.48, below the corner bins the window leaves uneven).
    """
    freqs = (np.arange(SPECTRUM_BINS) + 0.5) * 0.5 / SPECTRUM_BINS
    fc = 0.5 / s
    below = (freqs >= 0.6 * fc) & (freqs <= 0.85 * fc)
    above = (freqs >= 1.15 * fc) & (freqs <= min(1.6 * fc, 0.48))
    if not below.any() or not above.any():
        return 0.0
    return float(10.0 * (spectrum[below].mean() - spectrum[above].mean()))


@register_check("upscale", footage=True)
def check_upscale(data: SequenceData, rule: Mapping[str, Any]) -> CheckResult:
    """Native detail versus an up-res, with the estimated native resolution.

    ``details``: ``factor`` (1.0 when no fall-off was found), ``native_width``,
    ``native_height``, ``drops_db`` per candidate factor, ``spectrum`` (mean
    log10 power per bin, over ``frequencies`` in cycles/pixel) and ``frames``
    (the frames sampled).
    """
    spectra = {
        f: s.footage.spectrum
        for f, s in sorted(data.stats.items())
        if s.footage is not None and s.footage.spectrum is not None
    }
    header = data.headers[min(data.headers)] if data.headers else None
    width, height = (header.width, header.height) if header else (0, 0)
    details: dict[str, Any] = {
        "factor": 1.0,
        "native_width": width,
        "native_height": height,
        "frames": list(spectra),
    }
    if not spectra:
        return CheckResult(
            "upscale",
            "pass",
            "frames too small to judge (needs ≥ 128 pixels)",
            details=details,
        )
    mean = np.mean([np.log10(np.maximum(s, 1e-30)) for s in spectra.values()], axis=0)
    threshold = float(rule.get("drop_db", UPSCALE_DROP_DB))
    drops: dict[str, float] = {}
    for s in UPSCALE_FACTORS:
        drops[f"{s:.3g}"] = round(_fall_db(mean, s), 2)
    # The lowest frequency where the detail stops is the source's Nyquist.
    over = [k for k in drops if drops[k] >= threshold]
    best = max(over, key=float, default=None)
    factor = float(best) if best is not None else 1.0
    freqs = (np.arange(SPECTRUM_BINS) + 0.5) * 0.5 / SPECTRUM_BINS
    details.update(
        factor=factor,
        native_width=int(round(width / factor)),
        native_height=int(round(height / factor)),
        drops_db=drops,
        drop_db_threshold=threshold,
        spectrum=[round(float(v), 4) for v in mean],
        frequencies=[round(float(v), 5) for v in freqs],
    )
    if factor == 1.0:
        return CheckResult(
            "upscale",
            "pass",
            f"detail up to the Nyquist frequency: native {width}x{height}",
            details=details,
        )
    return CheckResult(
        "upscale",
        _status(rule.get("severity", "warn")),
        f"detail stops at 1/{factor:.3g} of Nyquist "
        f"({drops[best or '']:.1f} dB fall): "
        f"upscaled from about {details['native_width']}x{details['native_height']}",
        (),
        details,
    )
