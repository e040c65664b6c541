"""HDR static metadata: SMPTE ST 2086 mastering display and CTA-861.3 MaxCLL / MaxFALL.

* :func:`mastering_display` (:mod:`hdrpipe.color_targets`, re-exported) builds
  the ST 2086 colour volume from named primaries (published tables in
  :mod:`hdrpipe.colorimetry`); :func:`mastering_display_for` is it for a
  target. :class:`~hdrpipe.types.MasteringDisplay` converts to
  the integer units of x265 ``master-display`` and the ISO BMFF ``mdcv`` box
  (xy in 0.00002, luminance in 0.0001 cd/m²).
* :class:`LightLevelMeter` accumulates CTA-861.3 (2015) §3 content light levels
  over a stream of frames of the FINAL display-encoded signal: per pixel
  max(R, G, B) in cd/m²; MaxCLL = max over all pixels of all frames; MaxFALL =
  max over frames of the frame's mean of that per-pixel value.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..color_targets import ST2086_MIN_LUMINANCE, mastering_display
from ..colorimetry import transfer_characteristic
from ..errors import ColorError
from ..types import ContentLightLevel, MasteringDisplay
from .targets import Target, get_target

__all__ = [
    "mastering_display",
    "mastering_display_for",
    "FrameLight",
    "LightLevelMeter",
]


def mastering_display_for(
    target: Target, *, min_luminance: float = ST2086_MIN_LUMINANCE
) -> MasteringDisplay | None:
    """Return the mastering display of an HDR target (``None`` for SDR/scene-linear).

    The primaries are the gamut the output transform limits to
    (``target.limiting_primaries``, e.g. P3-D65 for a P3-limited master in a
    Rec.2020 container), else the container primaries; the peak is
    ``target.peak_luminance``.
    """
    if target.transfer not in ("pq", "hlg") or target.peak_luminance is None:
        return None
    return mastering_display(
        target.limiting_primaries or target.primaries,
        max_luminance=target.peak_luminance,
        min_luminance=min_luminance,
    )


@dataclass(frozen=True, slots=True)
class FrameLight:
    """CTA-861.3 light statistics of one frame, or of a band of its rows.

    ``max_light``: the largest per-pixel max(R, G, B) display light, cd/m²;
    ``light_sum``: the sum of that light over the pixels the frame average
    covers (the active picture unless the mattes are included), cd/m²;
    ``pixels``: how many pixels that sum covers. Bands of one frame add up
    (``+``) to the whole frame.
    """

    max_light: float = 0.0
    light_sum: float = 0.0
    pixels: int = 0

    def __add__(self, other: FrameLight) -> FrameLight:
        return FrameLight(
            max(self.max_light, other.max_light),
            self.light_sum + other.light_sum,
            self.pixels + other.pixels,
        )

    @property
    def average(self) -> float:
        """The frame average light (cd/m²) of the pixels summed."""
        return self.light_sum / self.pixels if self.pixels else 0.0


#: Pixels decoded per block: float64 temporaries of a block stay in L2 cache.
_BLOCK_PIXELS = 1 << 15


class LightLevelMeter:
    """Streaming CTA-861.3 MaxCLL / MaxFALL accumulator over display-encoded frames.

    Feed every output frame (the signal of ``target`` as :class:`Transform` made
    it, (H, W, 3|4), alpha ignored) to :meth:`add`. ``active=(x, y, w, h)`` is the
    picture area inside letterbox/pillarbox mattes: by default the mattes are
    excluded from the frame average (MaxFALL); ``include_mattes=True`` averages
    the whole frame. MaxCLL always covers every pixel (mattes are black). The
    manifest records ``include_mattes`` (see :meth:`to_dict`).

    A frame can also be measured in bands of rows where it is made
    (:meth:`measure` on each band, e.g. in the colour stage's worker threads
    while the rows are in cache) and added once complete (:meth:`add_light`).

    Values are measured on the float signal (before quantisation to 10/12 bits),
    decoded in float64. :meth:`result` rounds to the nearest integer cd/m²
    (CTA-861.3 carries integer cd/m² in uint16) — e.g. a 1000-nit specular gives
    MaxCLL 1000, not 1001 for a float error. NaN pixels count as black
    (``validate`` reports them). Thread-safe; chunked farm runs :meth:`merge`
    their meters.
    """

    def __init__(self, target: Target, *, include_mattes: bool = False) -> None:
        self._tc = transfer_characteristic(target.transfer)
        if not self._tc.is_display:
            raise ColorError(
                f"target {target.name!r} is scene-referred ({target.transfer}): "
                "MaxCLL/MaxFALL are defined on a display signal"
            )
        self.target = target
        self.include_mattes = bool(include_mattes)
        self.frames = 0
        self.max_cll_exact = 0.0
        self.max_fall_exact = 0.0
        #: (max light, frame average) of each frame, cd/m², in the order added.
        self.per_frame: list[tuple[float, float]] = []
        self._lock = threading.Lock()

    def _light(self, rgb: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """Per-pixel max(R, G, B) display light (cd/m², float64) of (…, 3) signal."""
        tc = self._tc
        assert tc.decode is not None
        peak = self.target.peak_luminance or tc.default_peak or 0.0
        if tc.mixes_channels:
            # The HLG EOTF mixes channels (OOTF on luminance): decode, then max.
            light = np.asarray(tc.decode(rgb.astype(np.float64), peak))
            return np.fmax(np.fmax(light[..., 0], light[..., 1]), light[..., 2])
        # PQ and BT.1886 decode each channel with the same increasing curve, so
        # max(EOTF(R), EOTF(G), EOTF(B)) = EOTF(max(R, G, B)): one decode per pixel.
        m = np.fmax(np.fmax(rgb[..., 0], rgb[..., 1]), rgb[..., 2]).astype(np.float64)
        return np.asarray(tc.decode(m, peak))

    def measure(
        self,
        signal: ArrayLike,
        *,
        active: tuple[int, int, int, int] | None = None,
        first_row: int = 0,
        frame_height: int | None = None,
    ) -> FrameLight:
        """Measure rows ``first_row …`` of a ``frame_height``-row frame; add nothing.

        ``signal`` is (rows, W, 3|4); by default it is the whole frame. Pure and
        thread-safe: the bands of a frame can be measured concurrently and their
        :class:`FrameLight` summed.
        """
        arr = np.asarray(signal)
        if arr.ndim != 3 or arr.shape[2] not in (3, 4):
            raise ColorError(f"LightLevelMeter: expected (H, W, 3|4), got {arr.shape}")
        rows, width = arr.shape[:2]
        height = rows if frame_height is None else int(frame_height)
        x0, y0, x1, y1 = 0, 0, width, height
        if active is not None and not self.include_mattes:
            x, y, w, h = (int(v) for v in active)
            if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > width or y + h > height:
                raise ColorError(
                    f"LightLevelMeter: active area {active} outside the "
                    f"{width}x{height} frame"
                )
            x0, y0, x1, y1 = x, y, x + w, y + h
        total = FrameLight()
        if rows == 0 or width == 0:
            return total
        step = max(1, _BLOCK_PIXELS // width)
        for a in range(0, rows, step):
            light = self._light(arr[a : a + step, :, :3])
            top, bottom = first_row + a, first_row + a + light.shape[0]
            # NaN pixels are black: fmax skips them, a NaN sum is redone without.
            peak = float(np.fmax.reduce(light, axis=None))
            band = FrameLight(0.0 if math.isnan(peak) else peak)
            lo, hi = max(top, y0), min(bottom, y1)
            if hi > lo:
                avg = light[lo - top : hi - top, x0:x1]
                light_sum = float(avg.sum())
                if math.isnan(light_sum):
                    light_sum = float(np.nansum(avg))
                band = FrameLight(band.max_light, light_sum, int(avg.size))
            total = total + band
        return total

    def add_light(self, light: FrameLight) -> None:
        """Add one whole frame measured with :meth:`measure` (its bands summed)."""
        with self._lock:
            self.frames += 1
            self.max_cll_exact = max(self.max_cll_exact, light.max_light)
            self.max_fall_exact = max(self.max_fall_exact, light.average)
            self.per_frame.append((light.max_light, light.average))

    def add(
        self, signal: ArrayLike, *, active: tuple[int, int, int, int] | None = None
    ) -> None:
        """Measure one frame. ``active`` = (x, y, w, h) picture area in pixels."""
        self.add_light(self.measure(signal, active=active))

    def merge(self, other: LightLevelMeter) -> LightLevelMeter:
        """Return a new meter holding both meters' frames (chunked farm runs)."""
        if other.include_mattes != self.include_mattes:
            raise ColorError(
                "cannot merge light-level meters with different include_mattes"
            )
        if (other.target.transfer, other.target.peak_luminance) != (
            self.target.transfer,
            self.target.peak_luminance,
        ):
            raise ColorError(
                f"cannot merge light-level meters of targets {self.target.name!r} and "
                f"{other.target.name!r}"
            )
        merged = LightLevelMeter(self.target, include_mattes=self.include_mattes)
        merged.frames = self.frames + other.frames
        merged.max_cll_exact = max(self.max_cll_exact, other.max_cll_exact)
        merged.max_fall_exact = max(self.max_fall_exact, other.max_fall_exact)
        merged.per_frame = self.per_frame + other.per_frame  # self's frames first
        return merged

    def result(self) -> ContentLightLevel:
        """Return MaxCLL / MaxFALL as integers cd/m² (nearest, clamped to uint16)."""

        def q(v: float) -> int:
            return min(65535, max(0, math.floor(v + 0.5)))

        return ContentLightLevel(
            max_cll=q(self.max_cll_exact), max_fall=q(self.max_fall_exact)
        )

    def to_dict(self) -> dict[str, Any]:
        """``{"max_cll", "max_fall", "frames", "include_mattes", "target", …}``.

        ``max_cll``/``max_fall`` are the rounded integers of :meth:`result`; the
        ``*_exact`` floats let chunk meters be merged without rounding twice.
        ``per_frame`` holds each frame's ``max_rgb`` and ``frame_average``
        (cd/m², 0.01 precision) in the order the frames were added — the
        per-frame curves of the QC report.
        """
        r = self.result()
        return {
            "per_frame": {
                "max_rgb": [round(m, 2) for m, _a in self.per_frame],
                "frame_average": [round(a, 2) for _m, a in self.per_frame],
            },
            "max_cll": r.max_cll,
            "max_fall": r.max_fall,
            "frames": self.frames,
            "include_mattes": self.include_mattes,
            "target": self.target.name,
            "max_cll_exact": self.max_cll_exact,
            "max_fall_exact": self.max_fall_exact,
        }

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], target: Target | None = None
    ) -> LightLevelMeter:
        """Rebuild a meter from :meth:`to_dict` (default target: the one named)."""
        meter = cls(
            target or get_target(str(data["target"])),
            include_mattes=bool(data.get("include_mattes", False)),
        )
        meter.frames = int(data.get("frames", 0))
        meter.max_cll_exact = float(data.get("max_cll_exact", data.get("max_cll", 0.0)))
        meter.max_fall_exact = float(
            data.get("max_fall_exact", data.get("max_fall", 0.0))
        )
        per = data.get("per_frame") or {}
        meter.per_frame = [
            (float(m), float(a))
            for m, a in zip(
                per.get("max_rgb", ()), per.get("frame_average", ()), strict=False
            )
        ]
        return meter

    def __repr__(self) -> str:
        r = self.result()
        return (
            f"LightLevelMeter(target={self.target.name!r}, frames={self.frames}, "
            f"max_cll={r.max_cll}, max_fall={r.max_fall}, "
            f"include_mattes={self.include_mattes})"
        )
