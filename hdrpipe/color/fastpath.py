"""Verified baked-LUT fast path for :class:`~hdrpipe.color.Transform`, hybrid routed.

The exact ACES 2.0 output transform costs ~0.8 s of CPU per 1080p frame
(STACK-NOTES.md). For a (config, source, target, look) this module bakes the
exact OCIO processor once into a 3D LUT and evaluates it with OCIO:

``source → ACEScg (AP1, OCIO matrix) → clamp AP1 ≥ 0 → log2(x + 2⁻¹⁰) shaper over
0…256 → Lut3D (tetrahedral)``

The LUT samples the exact processor at the AP1 values of its grid nodes, so it
stands in for the whole OCIO stage (look and output transform included); a
target's numpy post-step (HLG re-encoding of the PQ render) runs after it as on
the exact path.

Hybrid evaluation: the output transform's gamut mapping bends sharply near the
AP1 boundary, where a LUT is off by hundreds of code values. A pixel is served
by the LUT only when, in AP1,

``min(r, g, b) ≥ (1 − threshold) · max(r, g, b)`` and ``max(r, g, b) ≤ ceiling``

(AP1 saturation ``(max − min) / max`` below ``threshold``, inside the shaper
range, finite); every other pixel (near or beyond the AP1 boundary, negative
components, speculars above the LUT range, NaN/Inf) goes through the exact
processor, so those pixels are bit-identical to the exact path. ``threshold``
is calibrated per bake on the stress set: the largest of
:data:`SATURATION_THRESHOLDS` whose served samples meet the budget.

Verification (issue #9, DESIGN.md "Colour"): each bake is compared with the
exact processor on a stress set (grey ramp −10…+8 stops around 0.18, the
ColorChecker 24 under an exposure sweep, dense AP1-volume samples, the AP1
gamut boundary) and — in ``auto`` mode — on the first frame the Transform
converts. Errors are measured on the final signal over the pixels the LUT
serves: p99.9 and max of the per-pixel max channel error in 10-bit code values
(signal × 1023), and max ΔE_ITP (ITU-R BT.2124, colour-science
``delta_E_ITP`` of ``RGB_to_ICtCp`` of the decoded display light in
Rec.2020). Budget: p99.9 ≤ 1 code value and max ΔE_ITP ≤ 2. A bake over
budget is rejected: ``auto`` uses the exact path (logged at INFO with the
reason), ``fast`` uses it anyway (logged at WARNING).

Colour paths (``Transform(color_path=…)``; when not given, ``$HDRPIPE_COLOR_PATH``,
else ``"exact"``): ``exact`` — OCIO exact processor; ``fast`` — hybrid LUT path
whenever a bake exists (display targets); ``auto`` — hybrid LUT path when the
bake and the first frame are within budget, else exact.

``$HDRPIPE_LUT_SIZE`` overrides the LUT size of Transform bakes (default
:data:`DEFAULT_LUT_SIZE`; experiments and tests).

Cache: bakes are stored as ``<key>.npz`` in ``$HDRPIPE_CACHE`` or
``~/.cache/hdrpipe/luts`` (written atomically); the key hashes the config's
cache id/name/version, source, OCIO end point, look identity, OCIO version, LUT
size, shaper parameters and :data:`BAKE_FORMAT`.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np
import PyOpenColorIO as ocio  # type: ignore[import-untyped]  # noqa: N813
from numpy.typing import NDArray

from ..errors import ColorError, InputError
from .transfer import decode_to_luminance

if TYPE_CHECKING:
    from .ocio import Target, Transform

__all__ = [
    "ColorPath",
    "COLOR_PATH_ENV",
    "CACHE_ENV",
    "BUDGET_P999_CODE10",
    "BUDGET_MAX_DELTA_E_ITP",
    "DEFAULT_LUT_SIZE",
    "SATURATION_THRESHOLDS",
    "Shaper",
    "StressSet",
    "BakeErrors",
    "Bake",
    "FastPath",
    "resolve_color_path",
    "cache_dir",
    "clear_memory_cache",
    "stress_set",
    "bake",
    "measure_errors",
    "verify",
    "signal_errors",
]

log = logging.getLogger(__name__)

ColorPath = Literal["auto", "exact", "fast"]
#: Environment variable a :class:`Transform` reads when ``color_path`` is not given.
COLOR_PATH_ENV = "HDRPIPE_COLOR_PATH"
#: Environment variable naming the bake cache directory.
CACHE_ENV = "HDRPIPE_CACHE"

#: Accuracy budget against the exact path (DESIGN.md "Colour", issue #9):
#: p99.9 of the per-pixel max channel error, 10-bit code values …
BUDGET_P999_CODE10 = 1.0
#: … and max ΔE_ITP (ITU-R BT.2124; 1 ≈ one just-noticeable difference).
BUDGET_MAX_DELTA_E_ITP = 2.0
CODE10 = 1023  # 10-bit full-range code values per unit signal

#: 129³ (OCIO's largest Lut3D): the exact ACES 2.0 transform has kinks (its
#: hue-sampled gamut tables), so LUT error falls only ~linearly with the grid
#: step; measured here 65³ failed the stress budget (p99.9 1.38 code values),
#: 97³ passed at 0.91, 129³ at 0.75 — at the same evaluation speed.
DEFAULT_LUT_SIZE = 129
#: ΔE_ITP is computed on at most this many pixels per comparison: all of them
#: below it, else the served pixels with the largest code error plus a stride
#: sample of the rest (colour-science ICtCp costs ~1 µs per pixel).
DELTA_E_PIXELS = 1 << 18
#: Candidate AP1-saturation thresholds, tried from the most permissive down.
SATURATION_THRESHOLDS = (
    0.99,
    0.98,
    0.97,
    0.96,
    0.95,
    0.94,
    0.93,
    0.92,
    0.9,
    0.88,
    0.85,
    0.8,
)
#: Frames checked against the exact path before ``auto`` commits to the LUT.
AUTO_FRAME_CHECKS = 1
#: The frame check computes the exact reference on every n-th row.
CHECK_ROW_STRIDE = 4
#: Bump when the bake layout or the routing rule changes (invalidates the cache).
BAKE_FORMAT = 1

_AP1_COLORSPACES = ("ACEScg", "ACES - ACEScg")


# ------------------------------------------------------------------ values


@dataclass(frozen=True, slots=True)
class Shaper:
    """The LUT's input shaper: ``s = (log2(x + offset) − log2(offset)) / span`` on AP1.

    ``x`` is clamped AP1 (≥ 0); ``maximum`` (scene-linear, diffuse white = 1)
    maps to ``s = 1``; ``span = log2(maximum + offset) − log2(offset)`` stops.
    """

    offset: float = 2.0**-10
    maximum: float = 256.0

    @property
    def span(self) -> float:
        return float(np.log2(self.maximum + self.offset) - np.log2(self.offset))

    def inverse(self, s: NDArray[np.float64]) -> NDArray[np.float64]:
        """Map shaper values ``s`` in [0, 1] back to AP1 linear (float64)."""
        x = np.exp2(np.log2(self.offset) + s * self.span) - self.offset
        return np.asarray(np.maximum(x, 0.0), dtype=np.float64)

    def transform(self) -> Any:
        """The OCIO ``LogAffineTransform`` computing ``s`` (per channel)."""
        tf = ocio.LogAffineTransform()
        tf.setBase(2.0)
        span = self.span
        tf.setLinSideSlopeValue([1.0] * 3)
        tf.setLinSideOffsetValue([self.offset] * 3)
        tf.setLogSideSlopeValue([1.0 / span] * 3)
        tf.setLogSideOffsetValue([-float(np.log2(self.offset)) / span] * 3)
        return tf


@dataclass(frozen=True, slots=True)
class StressSet:
    """Verification samples in ACEScg (AP1 linear, diffuse white = 1), (N, 3) float32.

    ``groups`` names contiguous slices: ``(name, start, stop)``.
    """

    ap1: NDArray[np.float32] = field(repr=False)
    groups: tuple[tuple[str, int, int], ...]
    seed: int = 0

    def __len__(self) -> int:
        return int(self.ap1.shape[0])


@dataclass(frozen=True, slots=True)
class BakeErrors:
    """Fast-vs-exact error over the pixels the LUT serves (routed ones are exact).

    ``p999_code10`` / ``max_code10``: p99.9 and max over served pixels of the
    per-pixel max channel |Δ signal| × 1023. ``max_delta_e_itp``: ITU-R BT.2124
    ΔE_ITP of the decoded display light. ``served``: fraction of pixels served
    by the LUT. ``samples``: pixels compared.
    """

    p999_code10: float
    max_code10: float
    max_delta_e_itp: float
    served: float
    samples: int
    groups: dict[str, dict[str, float]] = field(default_factory=dict, compare=False)

    @property
    def within_budget(self) -> bool:
        return (
            self.p999_code10 <= BUDGET_P999_CODE10
            and self.max_delta_e_itp <= BUDGET_MAX_DELTA_E_ITP
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["within_budget"] = self.within_budget
        return data

    @staticmethod
    def worst(*errors: BakeErrors | None) -> BakeErrors | None:
        """The element-wise worst of several measurements (``None`` ignored)."""
        found = [e for e in errors if e is not None]
        if not found:
            return None
        return BakeErrors(
            p999_code10=max(e.p999_code10 for e in found),
            max_code10=max(e.max_code10 for e in found),
            max_delta_e_itp=max(e.max_delta_e_itp for e in found),
            served=min(e.served for e in found),
            samples=sum(e.samples for e in found),
        )


@dataclass(frozen=True, slots=True)
class Bake:
    """A baked LUT and its verification.

    ``lut`` is (N, N, N, 3) float32 indexed ``[r, g, b]`` in shaper space (red
    major, blue fastest, as OCIO ``Lut3DTransform.setData`` expects).
    ``threshold`` / ``ceiling`` are the hybrid routing parameters (AP1
    saturation, AP1 max). ``errors`` is the stress-set verification at that
    threshold; ``accepted`` whether it met the budget; ``reason`` why not.
    """

    key: str
    identity: dict[str, Any] = field(compare=False)
    size: int
    shaper: Shaper
    threshold: float
    ceiling: float
    errors: BakeErrors
    accepted: bool
    reason: str | None
    lut: NDArray[np.float32] = field(repr=False, compare=False)
    cache_file: str | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly record (without the LUT data)."""
        return {
            "key": self.key,
            "identity": self.identity,
            "lut_size": self.size,
            "shaper": {
                "function": "log2(x + offset) over AP1 clamped >= 0",
                "offset": self.shaper.offset,
                "maximum": self.shaper.maximum,
            },
            "threshold": self.threshold,
            "ceiling": self.ceiling,
            "stress_errors": self.errors.to_dict(),
            "accepted": self.accepted,
            "reason": self.reason,
            "cache_file": self.cache_file,
        }


# ------------------------------------------------------------------ helpers


def resolve_color_path(color_path: str | None) -> ColorPath:
    """Return ``color_path``, else ``$HDRPIPE_COLOR_PATH``, else ``"exact"``.

    Raises
    ------
    InputError
        Not one of ``auto``, ``exact``, ``fast``.
    """
    value = color_path if color_path else os.environ.get(COLOR_PATH_ENV, "") or "exact"
    value = value.strip().lower()
    if value not in get_args(ColorPath):
        where = "color_path" if color_path else f"${COLOR_PATH_ENV}"
        raise InputError(f"{where}={value!r}: expected one of auto, exact, fast")
    return value  # type: ignore[return-value]


def cache_dir() -> Path:
    """The bake cache directory: ``$HDRPIPE_CACHE`` or ``~/.cache/hdrpipe/luts``."""
    env = os.environ.get(CACHE_ENV, "")
    return Path(env) if env else Path.home() / ".cache" / "hdrpipe" / "luts"


def _colour() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import colour

    return colour


def _ap1_colorspace(config: Any) -> str:
    for name in _AP1_COLORSPACES:
        cs = config.getColorSpace(name)
        if cs is not None:
            return str(cs.getName())
    raise ColorError("config has no ACEScg colorspace: the fast path needs AP1")


def _post(transform: Transform, rgb: NDArray[np.float32]) -> None:
    """Apply the Transform's numpy step after OCIO (HLG from PQ), in place."""
    if transform._hlg_from_pq:
        from .ocio import _pq_to_hlg_inplace

        _pq_to_hlg_inplace(rgb, transform.target.peak_luminance or 1000.0)


def _apply_cpu(cpu: Any, rgb: NDArray[np.float32]) -> None:
    """``applyRGB`` on (N, 3) or (H, W, 3) float32 in chunks of 2¹⁶ pixels."""
    flat = rgb.reshape(-1, 3)
    step = 1 << 16
    for a in range(0, flat.shape[0], step):
        chunk = flat[a : a + step]
        cpu.applyRGB(chunk.reshape(-1, 1, 3))


# ------------------------------------------------------------------ stress set


def _colorchecker_ap1() -> NDArray[np.float64]:
    """ColorChecker 24 ("After November 2014", colour-science) in ACEScg via CAT02."""
    colour = _colour()
    cc = colour.CCS_COLOURCHECKERS["ColorChecker24 - After November 2014"]
    xyY = np.array(list(cc.data.values()), dtype=np.float64)
    XYZ = colour.xyY_to_XYZ(xyY)
    return np.asarray(
        colour.XYZ_to_RGB(
            XYZ,
            "ACEScg",
            illuminant=cc.illuminant,
            chromatic_adaptation_transform="CAT02",
        ),
        dtype=np.float64,
    )


def stress_set(
    *, n_volume: int = 1 << 17, n_boundary: int = 1 << 14, seed: int = 0
) -> StressSet:
    """Build the verification samples in ACEScg (AP1 linear), (N, 3) float32.

    Groups: ``grey_ramp`` (0.18 × 2^(−10…+8), 1025 steps); ``colorchecker``
    (24 patches × 2^(−6…+6) in ¼ stops); ``ap1_volume`` (``n_volume`` random
    samples: half uniform in the shaper cube, half at random max level
    0.18 × 2^(−12…+10), AP1 saturation and hue, so every grid cell and
    saturation is hit off-node); ``ap1_boundary`` (``n_boundary`` samples with
    one or two components at, just inside or just beyond 0).
    """
    rng = np.random.default_rng(seed)
    groups: list[tuple[str, NDArray[np.float64]]] = []
    ramp = 0.18 * np.exp2(np.linspace(-10.0, 8.0, 1025))
    groups.append(("grey_ramp", np.repeat(ramp[:, None], 3, axis=1)))
    chart = _colorchecker_ap1()
    stops = np.exp2(np.arange(-24, 25) / 4.0)
    groups.append(
        ("colorchecker", (chart[None, :, :] * stops[:, None, None]).reshape(-1, 3))
    )
    half = n_volume // 2
    cube = Shaper().inverse(rng.random((half, 3)))
    level = 0.18 * np.exp2(rng.uniform(-12.0, 10.0, (n_volume - half, 1)))
    u = rng.random((n_volume - half, 3))
    u = (u - u.min(1, keepdims=True)) / np.maximum(
        np.ptp(u, axis=1, keepdims=True), 1e-12
    )
    sat = rng.random((n_volume - half, 1)) ** 0.5
    groups.append(("ap1_volume", np.concatenate([cube, level * (1.0 - sat * u)])))
    level = 0.18 * np.exp2(rng.uniform(-10.0, 9.0, (n_boundary, 1)))
    u = rng.random((n_boundary, 3))
    lowest = np.argmin(u, axis=1)
    edge = rng.choice([0.0, 1e-4, 1e-3, 1e-2, -1e-3, -1e-2], size=n_boundary)
    u[np.arange(n_boundary), lowest] = edge
    two = rng.random(n_boundary) < 0.3  # on an AP1 primary: two components at ~0
    middle = np.argsort(u, axis=1)[:, 1]
    u[two, middle[two]] = edge[two]
    u /= np.maximum(np.abs(u).max(1, keepdims=True), 1e-12)
    groups.append(("ap1_boundary", level * u))
    starts = np.cumsum([0] + [len(g) for _, g in groups])
    return StressSet(
        ap1=np.ascontiguousarray(
            np.concatenate([g for _, g in groups]), dtype=np.float32
        ),
        groups=tuple(
            (name, int(a), int(b))
            for (name, _), a, b in zip(groups, starts[:-1], starts[1:], strict=True)
        ),
        seed=seed,
    )


# ------------------------------------------------------------------ errors


def _delta_e_itp(
    signal_a: NDArray[np.float32], signal_b: NDArray[np.float32], target: Target
) -> NDArray[np.float64]:
    """ΔE_ITP (ITU-R BT.2124, colour-science) between two encoded display signals."""
    colour = _colour()
    a = decode_to_luminance(signal_a.reshape(-1, 3).astype(np.float64), target)
    b = decode_to_luminance(signal_b.reshape(-1, 3).astype(np.float64), target)
    if target.primaries != "rec2020":
        space = {"rec709": "ITU-R BT.709", "p3d65": "P3-D65"}[target.primaries]
        m = colour.matrix_RGB_to_RGB(space, "ITU-R BT.2020")
        a, b = a @ m.T, b @ m.T
    # ICtCp's PQ is absolute: RGB in cd/m² (colour-science RGB_to_ICtCp, L_p = 10000).
    ia = colour.RGB_to_ICtCp(np.maximum(a, 0.0), method="ITU-R BT.2100-2 PQ")
    ib = colour.RGB_to_ICtCp(np.maximum(b, 0.0), method="ITU-R BT.2100-2 PQ")
    return np.asarray(colour.difference.delta_E_ITP(ia, ib), dtype=np.float64)


def signal_errors(
    exact: NDArray[np.float32],
    fast: NDArray[np.float32],
    target: Target,
    served: NDArray[np.bool_] | None = None,
    groups: Iterable[tuple[str, int, int]] = (),
    *,
    delta_e_pixels: int = 0,
) -> BakeErrors:
    """Compare two encoded display signals (…, 3|4) over the ``served`` pixels.

    Returns p99.9 / max of the per-pixel max channel error in 10-bit code
    values and max ΔE_ITP (see :class:`BakeErrors`). With ``served=None`` every
    pixel counts. ΔE_ITP is computed on at most ``delta_e_pixels`` pixels
    (default :data:`DELTA_E_PIXELS`): the half with the largest code error plus
    a stride sample of the rest.
    """
    limit = delta_e_pixels or DELTA_E_PIXELS
    a = np.asarray(exact, np.float32)[..., :3].reshape(-1, 3)
    b = np.asarray(fast, np.float32)[..., :3].reshape(-1, 3)
    mask = (
        np.ones(a.shape[0], bool) if served is None else np.asarray(served).reshape(-1)
    )
    code = np.abs(a.astype(np.float64) - b).max(axis=1) * CODE10
    code = np.where(
        np.isnan(code), np.inf, code
    )  # a NaN where exact is finite is an error
    both_nan = np.isnan(a).any(1) & np.isnan(b).any(1)
    code[both_nan] = 0.0
    delta = np.zeros(a.shape[0])
    finite = mask & ~both_nan
    if finite.sum() > limit:
        idx = np.flatnonzero(finite)
        top = idx[np.argpartition(code[idx], idx.size - limit // 2)[-(limit // 2) :]]
        stride = idx[:: max(1, 2 * idx.size // limit)]
        finite = np.zeros_like(finite)
        finite[top] = True
        finite[stride] = True
    if finite.any():
        delta[finite] = _delta_e_itp(a[finite], b[finite], target)

    def stats(sel: NDArray[np.bool_]) -> tuple[float, float, float]:
        if not sel.any():
            return 0.0, 0.0, 0.0
        c = code[sel]
        return float(np.percentile(c, 99.9)), float(c.max()), float(delta[sel].max())

    p, mx, de = stats(mask)
    per_group = {}
    for name, start, stop in groups:
        sel = np.zeros_like(mask)
        sel[start:stop] = mask[start:stop]
        gp, gmx, gde = stats(sel)
        per_group[name] = {
            "p999_code10": round(gp, 4),
            "max_code10": round(gmx, 4),
            "max_delta_e_itp": round(gde, 4),
            "served": round(float(mask[start:stop].mean()) if stop > start else 0.0, 4),
        }
    return BakeErrors(
        p999_code10=p,
        max_code10=mx,
        max_delta_e_itp=de,
        served=float(mask.mean()) if mask.size else 0.0,
        samples=int(mask.size),
        groups=per_group,
    )


# ------------------------------------------------------------------ evaluator


def _served_mask(
    ap1: NDArray[np.float32], threshold: float, ceiling: float
) -> NDArray[np.bool_]:
    """Pixels the LUT serves: AP1 saturation < threshold, max ≤ ceiling, not NaN."""
    flat = ap1.reshape(-1, 3)
    r, g, b = flat[:, 0], flat[:, 1], flat[:, 2]
    mx = np.maximum(np.maximum(r, g), b)
    mn = np.minimum(np.minimum(r, g), b)
    served = mn >= mx * np.float32(1.0 - threshold)
    served &= mx <= np.float32(ceiling)
    return served


def _uncached_config() -> Any:
    """A raw OCIO config whose processor cache is off, for in-memory LUTs.

    OCIO 2.6's processor cache keys a Lut3DTransform on its description (size,
    interpolation, value range), not on all its data: a second bake of the same
    size would get the first bake's processor from a shared config.
    """
    config = ocio.Config.CreateRaw()
    config.setProcessorCacheFlags(ocio.PROCESSOR_CACHE_OFF)
    return config


class _Processors:
    """The OCIO CPU processors of one bake: source → AP1, AP1 → LUT, exact."""

    def __init__(
        self, transform: Transform, lut: NDArray[np.float32], shaper: Shaper
    ) -> None:
        config = transform._config
        ap1 = _ap1_colorspace(config)
        try:
            self.to_ap1 = config.getProcessor(
                ocio.ColorSpaceTransform(src=transform.source, dst=ap1)
            ).getDefaultCPUProcessor()
            self.from_ap1 = config.getProcessor(
                ocio.ColorSpaceTransform(src=ap1, dst=transform.source)
            ).getDefaultCPUProcessor()
            size = lut.shape[0]
            lut_tf = ocio.Lut3DTransform(gridSize=size)
            lut_tf.setData(np.ascontiguousarray(lut, np.float32).reshape(-1))
            lut_tf.setInterpolation(ocio.INTERP_TETRAHEDRAL)
            clamp = ocio.RangeTransform()
            clamp.setStyle(ocio.RANGE_CLAMP)
            clamp.setMinInValue(
                0.0
            )  # AP1 >= 0, as the ACES 2.0 output transform clamps
            clamp.setMinOutValue(0.0)
            group = ocio.GroupTransform([clamp, shaper.transform(), lut_tf])
            self.lut = _uncached_config().getProcessor(group).getDefaultCPUProcessor()
        except ocio.Exception as err:
            raise ColorError(f"cannot build the fast-path processors: {err}") from err
        self.exact = transform._cpu


class FastPath:
    """Hybrid evaluator of one :class:`Bake` for one Transform (thread-safe).

    :meth:`apply_rgb` converts a C-contiguous float32 (H, W, 3) strip in place
    exactly as the OCIO stage would (before the Transform's numpy post-step):
    LUT for served pixels, the exact processor for the others.
    """

    def __init__(self, transform: Transform, baked: Bake) -> None:
        self.bake = baked
        self._p = _Processors(transform, baked.lut, baked.shaper)
        self._lock = threading.Lock()
        self._pixels = 0
        self._routed = 0

    def apply_rgb(self, strip: NDArray[np.float32]) -> None:
        flat = strip.reshape(-1, 3)
        src = flat.copy()
        self._p.to_ap1.applyRGB(strip)
        served = _served_mask(strip, self.bake.threshold, self.bake.ceiling)
        routed = np.flatnonzero(~served)
        self._p.lut.applyRGB(strip)
        if routed.size:
            sub = np.ascontiguousarray(src[routed]).reshape(-1, 1, 3)
            self._p.exact.applyRGB(sub)
            flat[routed] = sub.reshape(-1, 3)
        with self._lock:
            self._pixels += flat.shape[0]
            self._routed += int(routed.size)

    @property
    def routed_fraction(self) -> float:
        """Fraction of pixels converted so far that went through the exact processor."""
        with self._lock:
            return self._routed / self._pixels if self._pixels else 0.0


# ------------------------------------------------------------------ bake


def _identity(transform: Transform, size: int, shaper: Shaper) -> dict[str, Any]:
    info = transform.config_info
    end = transform._end
    return {
        "format": BAKE_FORMAT,
        "config": {
            "cache_id": info.cache_id,
            "name": info.name,
            "version": info.version,
        },
        "source": transform.source,
        "target": {
            "name": transform.target.name,
            "display": end.display,
            "view": end.view,
            "colorspace": end.colorspace,
        },
        "look": None if transform.look is None else repr(transform.look.key),
        "ocio_version": ocio.__version__,
        "lut_size": size,
        "shaper": {"offset": shaper.offset, "maximum": shaper.maximum},
    }


def _key(identity: dict[str, Any]) -> str:
    text = json.dumps(identity, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _bake_lut(
    transform: Transform, size: int, shaper: Shaper, procs_from_ap1: Any
) -> NDArray[np.float32]:
    s = np.linspace(0.0, 1.0, size)
    x = shaper.inverse(s)
    x[0] = 0.0
    r, g, b = np.meshgrid(x, x, x, indexing="ij")  # red slowest, blue fastest
    grid = np.stack([r, g, b], axis=-1).reshape(-1, 3).astype(np.float32)
    _apply_cpu(procs_from_ap1, grid)
    _apply_cpu(transform._cpu, grid)
    return grid.reshape(size, size, size, 3)


def measure_errors(
    transform: Transform,
    fast: FastPath,
    frames: Iterable[NDArray[np.float32]],
    *,
    groups: Iterable[tuple[str, int, int]] = (),
) -> BakeErrors:
    """Compare ``fast`` with the exact processor on source ``frames`` (…, 3|4).

    Both paths include the Transform's numpy post-step; errors are over the
    pixels the LUT serves. Several frames are measured as one pixel set.
    """
    exact_all, fast_all, served_all = [], [], []
    for frame in frames:
        rgb = np.ascontiguousarray(np.asarray(frame, np.float32)[..., :3]).reshape(
            -1, 1, 3
        )
        ex = rgb.copy()
        _apply_cpu(fast._p.exact, ex)
        _post(transform, ex)
        ap1 = rgb.copy()
        _apply_cpu(fast._p.to_ap1, ap1)
        served = _served_mask(ap1, fast.bake.threshold, fast.bake.ceiling)
        fa = rgb.copy()
        for a in range(0, fa.shape[0], 1 << 16):
            fast.apply_rgb(fa[a : a + (1 << 16)])
        _post(transform, fa)
        exact_all.append(ex.reshape(-1, 3))
        fast_all.append(fa.reshape(-1, 3))
        served_all.append(served)
    if not exact_all:
        raise ColorError("measure_errors: no frames given")
    return signal_errors(
        np.concatenate(exact_all),
        np.concatenate(fast_all),
        transform.target,
        np.concatenate(served_all),
        groups,
    )


def _calibrate(
    transform: Transform,
    procs: _Processors,
    stress: StressSet,
    size: int,
    shaper: Shaper,
    lut: NDArray[np.float32],
) -> tuple[float, BakeErrors, bool]:
    """Pick the largest saturation threshold whose served samples meet the budget."""
    src = stress.ap1.reshape(-1, 1, 3).copy()
    _apply_cpu(procs.from_ap1, src)
    exact = src.copy()
    _apply_cpu(procs.exact, exact)
    _post(transform, exact)
    lut_only = stress.ap1.reshape(-1, 1, 3).copy()
    _apply_cpu(procs.lut, lut_only)
    _post(transform, lut_only)
    ap1 = src.copy()
    _apply_cpu(
        procs.to_ap1, ap1
    )  # the AP1 the evaluator will see (round trip included)
    last: BakeErrors | None = None
    for threshold in SATURATION_THRESHOLDS:
        served = _served_mask(ap1, threshold, shaper.maximum)
        # Routed pixels are the exact result by construction: compare served ones.
        errors = signal_errors(exact, lut_only, transform.target, served, stress.groups)
        last = errors
        if errors.within_budget:
            return threshold, errors, True
    assert last is not None
    return SATURATION_THRESHOLDS[-1], last, False


def bake(
    transform: Transform,
    *,
    size: int = DEFAULT_LUT_SIZE,
    shaper: Shaper = Shaper(),
    stress: StressSet | None = None,
    use_cache: bool = True,
) -> Bake:
    """Bake ``transform``'s OCIO stage into a verified LUT (or load it from the cache).

    The stress set (default :func:`stress_set`) calibrates the routing threshold
    and records the errors; ``accepted`` says whether the budget was met. The
    cache (:func:`cache_dir`) is read and written unless ``use_cache`` is off.

    Raises
    ------
    ColorError
        A scene-referred target (nothing to bake: its exact path is already a
        matrix/log) or a config without ACEScg.
    """
    if not transform.target.is_display:
        raise ColorError(
            f"{transform.description}: scene-referred target, no fast path needed"
        )
    if not 2 <= size <= 129:
        raise ColorError(f"LUT size {size}: OCIO Lut3D supports 2…129")
    identity = _identity(transform, size, shaper)
    key = _key(identity)
    with _bakes_lock:
        hit = _bakes.get(key)
    if hit is not None and use_cache:
        return hit
    path = cache_dir() / f"{key[:40]}.npz"
    result = _load(path, key, identity) if use_cache else None
    if result is None:
        result = _bake_new(transform, size, shaper, stress, key, identity)
        if use_cache:
            result = _store(path, result)
    if use_cache:
        with _bakes_lock:
            _bakes[key] = result
    return result


def _bake_new(
    transform: Transform,
    size: int,
    shaper: Shaper,
    stress: StressSet | None,
    key: str,
    identity: dict[str, Any],
) -> Bake:
    config = transform._config
    ap1 = _ap1_colorspace(config)
    from_ap1 = config.getProcessor(
        ocio.ColorSpaceTransform(src=ap1, dst=transform.source)
    ).getDefaultCPUProcessor()
    lut = _bake_lut(transform, size, shaper, from_ap1)
    procs = _Processors(transform, lut, shaper)
    stress = stress if stress is not None else stress_set()
    threshold, errors, accepted = _calibrate(
        transform, procs, stress, size, shaper, lut
    )
    reason = None
    if not accepted:
        reason = (
            f"{size}³ bake over budget on the stress set at AP1 saturation "
            f"threshold {threshold}: p99.9 {errors.p999_code10:.2f} code values "
            f"(budget {BUDGET_P999_CODE10:g}), max ΔE_ITP {errors.max_delta_e_itp:.2f} "
            f"(budget {BUDGET_MAX_DELTA_E_ITP:g})"
        )
    identity = dict(identity, stress={"samples": len(stress), "seed": stress.seed})
    log.info(
        "baked %d³ LUT for %s: threshold %.2f, stress p99.9 %.3f max %.2f code values, "
        "max ΔE_ITP %.3f%s",
        size,
        transform.description,
        threshold,
        errors.p999_code10,
        errors.max_code10,
        errors.max_delta_e_itp,
        "" if accepted else " — REJECTED",
    )
    return Bake(
        key=key,
        identity=identity,
        size=size,
        shaper=shaper,
        threshold=threshold,
        ceiling=shaper.maximum,
        errors=errors,
        accepted=accepted,
        reason=reason,
        lut=lut,
    )


_bakes_lock = threading.Lock()
_bakes: dict[str, Bake] = {}


def clear_memory_cache() -> None:
    """Forget the bakes held in memory (the on-disk cache stays)."""
    with _bakes_lock:
        _bakes.clear()


def _meta(result: Bake) -> dict[str, Any]:
    return {
        "key": result.key,
        "identity": result.identity,
        "threshold": result.threshold,
        "ceiling": result.ceiling,
        "errors": asdict(result.errors),
        "accepted": result.accepted,
        "reason": result.reason,
    }


def _store(path: Path, result: Bake) -> Bake:
    """Write the bake atomically (temp file in the same directory, then rename)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        np.savez(buf, lut=result.lut, meta=np.array(json.dumps(_meta(result))))
        fd, tmp = tempfile.mkstemp(prefix=path.stem, suffix=".partial", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(buf.getvalue())
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError as err:
        log.info("%s: cannot cache the bake (%s); continuing without", path, err)
        return result
    log.debug("cached bake %s", path)
    return _with_file(result, path)


def _with_file(result: Bake, path: Path) -> Bake:
    from dataclasses import replace

    return replace(result, cache_file=str(path))


def _load(path: Path, key: str, identity: dict[str, Any]) -> Bake | None:
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            lut = np.ascontiguousarray(data["lut"], np.float32)
            meta = json.loads(str(data["meta"]))
        size = identity["lut_size"]
        if meta["key"] != key or lut.shape != (size, size, size, 3):
            log.info("%s: cached bake does not match its key; re-baking", path)
            return None
        errors = BakeErrors(**meta["errors"])
        shaper = Shaper(**identity["shaper"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        log.info("%s: unreadable cached bake (%s); re-baking", path, err)
        return None
    log.debug("loaded cached bake %s", path)
    return Bake(
        key=key,
        identity=meta["identity"],
        size=size,
        shaper=shaper,
        threshold=float(meta["threshold"]),
        ceiling=float(meta["ceiling"]),
        errors=errors,
        accepted=bool(meta["accepted"]),
        reason=meta["reason"],
        lut=lut,
        cache_file=str(path),
    )


def verify(
    transform: Transform,
    frames: Iterable[NDArray[np.float32]],
    *,
    size: int = DEFAULT_LUT_SIZE,
) -> BakeErrors:
    """Measure the hybrid path of ``transform``'s bake against exact on ``frames``."""
    fast = FastPath(transform, bake(transform, size=size))
    return measure_errors(transform, fast, frames)


# ------------------------------------------------------------------ Transform glue


class _ColorPathState:
    """What a Transform evaluates with, and why (owned by the Transform)."""

    def __init__(self, transform: Transform, requested: ColorPath, size: int) -> None:
        self.requested: ColorPath = requested
        self.fast: FastPath | None = None
        self.baked: Bake | None = None
        self.reason: str | None = None
        self.frame_errors: BakeErrors | None = None
        self._checks_left = 0
        self._lock = threading.Lock()
        if requested == "exact":
            return
        if not transform.target.is_display:
            self.reason = "scene-referred target: the exact path is already cheap"
            return
        try:
            baked = bake(transform, size=size)
        except ColorError as err:
            self.reason = f"no bake: {err}"
            log.info(
                "%s: fast path unavailable, using exact: %s", transform.description, err
            )
            return
        self.baked = baked
        if not baked.accepted and requested == "auto":
            self.reason = baked.reason
            log.info(
                "%s: using the exact path: %s", transform.description, baked.reason
            )
            return
        if not baked.accepted:
            log.warning(
                "%s: fast path forced although %s", transform.description, baked.reason
            )
        self.fast = FastPath(transform, baked)
        if requested == "auto":
            self._checks_left = AUTO_FRAME_CHECKS

    @property
    def active(self) -> bool:
        return self.fast is not None

    @property
    def needs_frame_check(self) -> bool:
        return self._checks_left > 0

    def check_frame(
        self,
        transform: Transform,
        out: NDArray[np.float32],
        evaluate: Callable[[NDArray[np.float32], bool], None],
    ) -> None:
        """Convert ``out`` by LUT, check it against exact, fall back if over budget.

        The exact reference is computed on every :data:`CHECK_ROW_STRIDE`-th row
        (all rows of frames under 64 rows): a quarter of a real frame costs a
        quarter of the exact transform and still holds ~500 000 pixels at 1080p.
        """
        with self._lock:
            if self._checks_left <= 0 or self.fast is None:
                evaluate(out, self.fast is not None)
                return
            source = out.copy()
            evaluate(out, True)
            rows = slice(None, None, CHECK_ROW_STRIDE if out.shape[0] >= 64 else 1)
            exact = np.ascontiguousarray(source[rows])
            evaluate(exact, False)
            ap1 = np.ascontiguousarray(source[rows][..., :3])
            _apply_cpu(self.fast._p.to_ap1, ap1)
            served = _served_mask(ap1, self.fast.bake.threshold, self.fast.bake.ceiling)
            errors = signal_errors(
                exact, out[rows], transform.target, served, delta_e_pixels=1 << 16
            )
            self.frame_errors = BakeErrors.worst(self.frame_errors, errors)
            self._checks_left -= 1
            if not errors.within_budget:
                self.reason = (
                    f"first frame over budget: p99.9 {errors.p999_code10:.2f} "
                    f"code values, max ΔE_ITP {errors.max_delta_e_itp:.2f}"
                )
                log.info(
                    "%s: using the exact path: %s", transform.description, self.reason
                )
                self.fast = None
                self._checks_left = 0
                out[...] = source
                evaluate(out, False)

    def info(self) -> dict[str, Any]:
        fast = self.fast
        baked = self.baked
        worst = BakeErrors.worst(
            None if baked is None else baked.errors, self.frame_errors
        )
        return {
            "requested": self.requested,
            "path": "exact" if fast is None else "fast",
            "reason": self.reason,
            "bake": None if baked is None else baked.to_dict(),
            "frame_errors": None
            if self.frame_errors is None
            else self.frame_errors.to_dict(),
            "p999_code10": None if worst is None else round(worst.p999_code10, 4),
            "max_code10": None if worst is None else round(worst.max_code10, 4),
            "max_delta_e_itp": None
            if worst is None
            else round(worst.max_delta_e_itp, 4),
            "routed_exact_fraction": None
            if fast is None
            else round(fast.routed_fraction, 5),
            "budget": {
                "p999_code10": BUDGET_P999_CODE10,
                "max_delta_e_itp": BUDGET_MAX_DELTA_E_ITP,
            },
        }


def _state(transform: Transform, color_path: str | None) -> _ColorPathState:
    """Resolve ``color_path`` for a Transform (used by ``Transform.__init__``)."""
    text = os.environ.get("HDRPIPE_LUT_SIZE", "") or str(DEFAULT_LUT_SIZE)
    try:
        size = int(text)
    except ValueError as err:
        raise InputError(f"$HDRPIPE_LUT_SIZE={text!r}: expected an integer") from err
    return _ColorPathState(transform, resolve_color_path(color_path), size)
