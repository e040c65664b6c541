"""Verified baked-LUT fast path for :class:`~hdrpipe.color.Transform`, hybrid routed.

The exact ACES 2.0 output transform costs ~0.8 s of CPU per 1080p frame
(STACK-NOTES.md). For a (config, source, target, look) this module bakes the
exact OCIO processor once into a 3D LUT and evaluates it with OCIO:

``source → ACEScg (AP1, OCIO matrix) → LUT coordinates → Lut3D (tetrahedral)``

The LUT samples the exact path at the AP1 values of its grid nodes, so it
stands in for the whole colour stage: OCIO (look and output transform
included) and the target's numpy post-step (the HLG re-encoding of the PQ
render), which the exact path runs per pixel. Two LUT domains (coordinates)
are tried, in order, until one meets the budget:

* ``rgb-log`` (:class:`Shaper`): clamp AP1 ≥ 0, log2(x + 2⁻¹⁰) per channel over
  0…256 — the PQ targets pass with it;
* ``chroma`` (:class:`ChromaDomain`): log2 of r + g + b and the chromaticity
  (r/s, g/s) over the range a min/max ``floor`` allows — the SDR and HLG views
  bend too much across chroma for the first (SDR: p99.9 2.5 code values) and
  pass with it, routing the more saturated pixels to the exact processor.

A node that lands on one of the exact transform's isolated singular points
(OCIO 2.6's ACES 2.0 SDR view returns black for some bright greens) is
re-sampled next to it (:func:`_bake_lut`).

Hybrid evaluation: the output transform's gamut mapping bends sharply near the
AP1 boundary, where a LUT is off by hundreds of code values. A pixel is served
by the LUT only when, in AP1,

``min(r, g, b) ≥ (1 − threshold) · max(r, g, b)`` and ``max(r, g, b) ≤ ceiling``

and it is inside the domain (AP1 saturation ``(max − min) / max`` below
``threshold``, inside the LUT range, finite); every other pixel (near or
beyond the AP1 boundary, negative components, speculars above the LUT range,
NaN/Inf) goes through the exact processor, so those pixels are bit-identical
to the exact path. ``threshold`` is calibrated per bake on the stress set: the
largest of :data:`SATURATION_THRESHOLDS` whose served samples meet the budget.

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
size, the domains tried and :data:`BAKE_FORMAT`.
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
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, get_args

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
BAKE_FORMAT = 3

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

    # -- the LUT-domain protocol (shared with ChromaDomain) --
    kind: ClassVar[str] = "rgb-log"

    @property
    def floor(self) -> float:
        """Smallest AP1 min/max the domain represents (0: any saturation)."""
        return 0.0

    def nodes(self, size: int) -> NDArray[np.float64]:
        """AP1 values of the LUT nodes, (size³, 3), red index slowest."""
        x = self.inverse(np.linspace(0.0, 1.0, size))
        x[0] = 0.0
        r, g, b = np.meshgrid(x, x, x, indexing="ij")
        return np.stack([r, g, b], axis=-1).reshape(-1, 3)

    def prefix(self) -> list[Any]:
        """OCIO transforms from AP1 to LUT coordinates: clamp ≥ 0, log shaper."""
        clamp = ocio.RangeTransform()
        clamp.setStyle(ocio.RANGE_CLAMP)
        clamp.setMinInValue(0.0)  # AP1 >= 0, as the ACES 2.0 output transform clamps
        clamp.setMinOutValue(0.0)
        return [clamp, self.transform()]

    def prepare(self, ap1: NDArray[np.float32]) -> None:
        """Numpy part of AP1 → LUT coordinates, in place on (n, 3): none here."""

    def inside(self, ap1: NDArray[np.float32]) -> NDArray[np.bool_] | None:
        """Pixels (n, 3) inside the domain beyond the bake's ceiling: no limit."""
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "function": "log2(x + offset) per channel over AP1 clamped >= 0",
            "offset": self.offset,
            "maximum": self.maximum,
        }


@dataclass(frozen=True, slots=True)
class ChromaDomain:
    """LUT domain of AP1 brightness and chromaticity, for strongly curved targets.

    A LUT over per-channel log R, G, B (:class:`Shaper`) resolves chroma near
    neutral only as finely as its brightness steps (0.14 stops at 129³): the
    ACES 2.0 SDR output transform bends too much across chroma for that
    (measured: 2.5 code values at p99.9 on low-saturation samples). Here the
    axes are

    * ``u = (log2(s + offset) − log2(offset)) / span``, ``s = r + g + b``
      (AP1, clamped ≥ 0), ``s ≤ maximum``;
    * ``v, w = (r / s − lo) / (hi − lo), (g / s − lo) / (hi − lo)``,

    so the grid spends its nodes on the chromaticities of pixels whose AP1
    min/max is at least ``floor`` (``lo = floor / (2 + floor)``; ``hi`` ≥
    ``1 / (1 + 2·floor)`` is chosen so that neutral, 1/3, lies on a node plane
    and greys interpolate along grid lines only). Pixels outside (more
    saturated, brighter, negative) are routed to the exact processor.
    """

    floor: float
    size: int
    offset: float = 2.0**-10
    maximum: float = 768.0

    kind: ClassVar[str] = "chroma"

    @property
    def span(self) -> float:
        return float(np.log2(self.maximum + self.offset) - np.log2(self.offset))

    @property
    def lo(self) -> float:
        return self.floor / (2.0 + self.floor)

    @property
    def hi(self) -> float:
        lo, top, steps = self.lo, 1.0 / (1.0 + 2.0 * self.floor), self.size - 1
        neutral = int(np.floor((1.0 / 3.0 - lo) / (top - lo) * steps))
        return lo + (1.0 / 3.0 - lo) * steps / max(neutral, 1)

    def nodes(self, size: int) -> NDArray[np.float64]:
        """AP1 values of the LUT nodes, (size³, 3), ``u`` index slowest.

        Nodes with ``v + w`` beyond the chromaticity triangle (negative blue)
        are clamped onto its edge; no served pixel interpolates from them.
        """
        if size != self.size:
            raise ColorError(f"chroma domain of a {self.size}³ LUT asked for {size}³")
        g = np.linspace(0.0, 1.0, size)
        u, v, w = (a.reshape(-1) for a in np.meshgrid(g, g, g, indexing="ij"))
        s = np.exp2(np.log2(self.offset) + u * self.span) - self.offset
        s = np.maximum(s, 0.0)
        p_r = self.lo + v * (self.hi - self.lo)
        p_g = self.lo + w * (self.hi - self.lo)
        p_b = np.maximum(1.0 - p_r - p_g, 0.0)
        return np.asarray(np.stack([p_r, p_g, p_b], axis=-1) * s[:, None], np.float64)

    def prefix(self) -> list[Any]:
        return []

    def prepare(self, ap1: NDArray[np.float32]) -> None:
        """AP1 (n, 3) → (u, v, w) in place (clamped ≥ 0 first; black → neutral)."""
        f32 = np.float32
        np.maximum(ap1, f32(0.0), out=ap1)
        r, g, b = ap1[:, 0], ap1[:, 1], ap1[:, 2]
        s = r + g
        s += b
        scale = f32(1.0 / (self.hi - self.lo))
        inv = np.zeros_like(s)
        np.divide(scale, s, out=inv, where=s > 0)
        shift = f32(-self.lo / (self.hi - self.lo))
        np.multiply(r, inv, out=r)
        r += shift
        np.multiply(g, inv, out=g)
        g += shift
        s += f32(self.offset)
        np.log2(s, out=s)
        s *= f32(1.0 / self.span)
        s += f32(-np.log2(self.offset) / self.span)
        # Channel order of the LUT axes: (u, v, w).
        b[...] = g
        g[...] = r
        r[...] = s

    def inside(self, ap1: NDArray[np.float32]) -> NDArray[np.bool_] | None:
        """Pixels (n, 3) with AP1 min/max ≥ ``floor`` and r + g + b ≤ ``maximum``."""
        r, g, b = ap1[:, 0], ap1[:, 1], ap1[:, 2]
        mx = np.maximum(np.maximum(r, g), b)
        mn = np.minimum(np.minimum(r, g), b)
        ok = mn >= mx * np.float32(self.floor)
        s = r + g
        s += b
        ok &= s <= np.float32(self.maximum)
        return np.asarray(ok)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "function": "u = log2(r+g+b + offset), v, w = chromaticity r/s, g/s "
            "over [lo, hi] (AP1 clamped >= 0)",
            "floor": self.floor,
            "offset": self.offset,
            "maximum": self.maximum,
            "lo": self.lo,
            "hi": self.hi,
        }


Domain = Shaper | ChromaDomain


def _domain_from_dict(data: dict[str, Any], size: int) -> Domain:
    if data.get("kind") == ChromaDomain.kind:
        return ChromaDomain(
            floor=float(data["floor"]),
            size=size,
            offset=float(data["offset"]),
            maximum=float(data["maximum"]),
        )
    return Shaper(offset=float(data["offset"]), maximum=float(data["maximum"]))


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

    ``lut`` is (N, N, N, 3) float32 indexed ``[i, j, k]`` over the ``domain``'s
    coordinates (first axis slowest, as OCIO ``Lut3DTransform.setData``
    expects). ``threshold`` / ``ceiling`` are the hybrid routing parameters (AP1
    saturation, AP1 max; the domain may route more). ``errors`` is the
    stress-set verification at that threshold; ``accepted`` whether it met the
    budget; ``reason`` why not; ``attempts`` every domain tried, in order.
    """

    key: str
    identity: dict[str, Any] = field(compare=False)
    size: int
    domain: Domain
    threshold: float
    ceiling: float
    errors: BakeErrors
    accepted: bool
    reason: str | None
    lut: NDArray[np.float32] = field(repr=False, compare=False)
    cache_file: str | None = field(default=None, compare=False)
    attempts: tuple[dict[str, Any], ...] = field(default=(), compare=False)

    @property
    def shaper(self) -> Shaper:
        """The domain of an ``rgb-log`` bake (ColorError for another kind)."""
        if not isinstance(self.domain, Shaper):
            raise ColorError(f"bake {self.key[:12]} is a {self.domain.kind} bake")
        return self.domain

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly record (without the LUT data)."""
        return {
            "key": self.key,
            "identity": self.identity,
            "lut_size": self.size,
            "domain": self.domain.to_dict(),
            "threshold": self.threshold,
            "ceiling": self.ceiling,
            "stress_errors": self.errors.to_dict(),
            "accepted": self.accepted,
            "reason": self.reason,
            "attempts": list(self.attempts),
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
    ap1: NDArray[np.float32], threshold: float, ceiling: float, domain: Domain
) -> NDArray[np.bool_]:
    """Pixels the LUT serves: AP1 saturation < threshold, max ≤ ceiling, inside
    the domain, not NaN."""
    flat = ap1.reshape(-1, 3)
    r, g, b = flat[:, 0], flat[:, 1], flat[:, 2]
    mx = np.maximum(np.maximum(r, g), b)
    mn = np.minimum(np.minimum(r, g), b)
    served = mn >= mx * np.float32(1.0 - threshold)
    served &= mx <= np.float32(ceiling)
    inside = domain.inside(flat)
    if inside is not None:
        served &= inside
    return served


def _served(ap1: NDArray[np.float32], baked: Bake) -> NDArray[np.bool_]:
    return _served_mask(ap1, baked.threshold, baked.ceiling, baked.domain)


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
        self, transform: Transform, lut: NDArray[np.float32], domain: Domain
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
            group = ocio.GroupTransform([*domain.prefix(), lut_tf])
            self.lut = _uncached_config().getProcessor(group).getDefaultCPUProcessor()
        except ocio.Exception as err:
            raise ColorError(f"cannot build the fast-path processors: {err}") from err
        self.exact = transform._cpu
        self.domain = domain

    def apply_lut(self, ap1: NDArray[np.float32]) -> None:
        """AP1 (…, 3) float32 → the LUT's signal, in place (domain mapping + LUT)."""
        flat = ap1.reshape(-1, 3)
        step = 1 << 16
        for a in range(0, flat.shape[0], step):
            chunk = flat[a : a + step]
            self.domain.prepare(chunk)
            self.lut.applyRGB(chunk.reshape(-1, 1, 3))


class FastPath:
    """Hybrid evaluator of one :class:`Bake` for one Transform (thread-safe).

    :meth:`apply_rgb` converts a C-contiguous float32 (H, W, 3) strip in place
    to the Transform's final signal (its numpy post-step, the HLG re-encoding,
    included): LUT for served pixels, the exact processor for the others.
    """

    def __init__(self, transform: Transform, baked: Bake) -> None:
        self.bake = baked
        self._p = _Processors(transform, baked.lut, baked.domain)
        self._transform = transform
        self._lock = threading.Lock()
        self._pixels = 0
        self._routed = 0

    def apply_rgb(self, strip: NDArray[np.float32]) -> None:
        flat = strip.reshape(-1, 3)
        src = flat.copy()
        self._p.to_ap1.applyRGB(strip)
        served = _served(flat, self.bake)
        routed = np.flatnonzero(~served)
        self._p.domain.prepare(flat)
        self._p.lut.applyRGB(strip)
        if routed.size:
            sub = np.ascontiguousarray(src[routed]).reshape(-1, 1, 3)
            self._p.exact.applyRGB(sub)
            _post(self._transform, sub)
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


def _identity(
    transform: Transform, size: int, domains: tuple[Domain, ...]
) -> dict[str, Any]:
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
        "domains": [d.to_dict() for d in domains],
    }


def _key(identity: dict[str, Any]) -> str:
    text = json.dumps(identity, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


#: A node whose exact value differs from the median of its six neighbours by more
#: than this (signal units) is re-sampled next to its position (see _bake_lut).
HOLE_JUMP = 0.2


def _exact_at(
    transform: Transform, from_ap1: Any, ap1: NDArray[np.floating[Any]]
) -> NDArray[np.float32]:
    """The Transform's exact final signal (numpy post-step included) at AP1 points."""
    grid = np.ascontiguousarray(ap1, dtype=np.float32).reshape(-1, 3)
    _apply_cpu(from_ap1, grid)
    _apply_cpu(transform._cpu, grid)
    _post(transform, grid)
    return grid


def _bake_lut(
    transform: Transform, size: int, domain: Domain, from_ap1: Any
) -> tuple[NDArray[np.float32], int]:
    """Sample the exact processor at the domain's nodes; return (LUT, nodes re-sampled).

    OCIO 2.6's ACES 2.0 output transform has isolated singular points (e.g. the
    SDR view returns black for a bright green around AP1 (69.3, 194.4, 32.0),
    and white 1e-4 away from it). A node that lands on one would spoil all
    eight cells around it, so a node that jumps away from its neighbours is
    re-sampled 2⁻¹⁰ / 2⁻⁸ away (in brightness) and keeps whichever value is
    closest to the neighbours' median.
    """
    nodes = domain.nodes(size)
    lut = _exact_at(transform, from_ap1, nodes).reshape(size, size, size, 3)
    pad = np.pad(lut, ((1, 1), (1, 1), (1, 1), (0, 0)), mode="edge")
    inner = slice(1, -1)
    neighbours = np.stack(
        [
            pad[2:, inner, inner],
            pad[:-2, inner, inner],
            pad[inner, 2:, inner],
            pad[inner, :-2, inner],
            pad[inner, inner, 2:],
            pad[inner, inner, :-2],
        ]
    )
    median = np.median(neighbours, axis=0)
    holes = np.abs(lut - median).max(axis=-1) > HOLE_JUMP
    if holes.any():
        where = nodes.reshape(size, size, size, 3)[holes]
        target = median[holes]
        best = lut[holes]
        gap = np.abs(best - target).max(axis=-1)
        for factor in (1 + 2.0**-10, 1 - 2.0**-10, 1 + 2.0**-8, 1 - 2.0**-8):
            moved = _exact_at(transform, from_ap1, where * factor)
            d = np.abs(moved - target).max(axis=-1)
            better = d < gap
            best[better], gap[better] = moved[better], d[better]
        changed = np.abs(best - lut[holes]).max(axis=-1) > HOLE_JUMP / 2
        lut[holes] = best
        return lut, int(changed.sum())
    return lut, 0


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
        served = _served(ap1, fast.bake)
        fa = rgb.copy()
        for a in range(0, fa.shape[0], 1 << 16):
            fast.apply_rgb(fa[a : a + (1 << 16)])
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
    transform: Transform, procs: _Processors, stress: StressSet
) -> tuple[float, BakeErrors, bool]:
    """Pick the largest saturation threshold whose served samples meet the budget.

    Thresholds above what the domain represents (``1 − floor``) serve the
    same pixels as ``1 − floor``: they are skipped.
    """
    src = stress.ap1.reshape(-1, 1, 3).copy()
    _apply_cpu(procs.from_ap1, src)
    exact = src.copy()
    _apply_cpu(procs.exact, exact)
    _post(transform, exact)
    lut_only = stress.ap1.reshape(-1, 1, 3).copy()
    procs.apply_lut(lut_only)
    ap1 = src.copy()
    # The AP1 the evaluator will see (round trip included).
    _apply_cpu(procs.to_ap1, ap1)
    top = 1.0 - procs.domain.floor
    candidates = [t for t in SATURATION_THRESHOLDS if t <= top] or [top]
    if top < SATURATION_THRESHOLDS[0] and top not in candidates:
        candidates.insert(0, top)
    last: BakeErrors | None = None
    for threshold in candidates:
        served = _served_mask(ap1, threshold, procs.domain.maximum, procs.domain)
        # Routed pixels are the exact result by construction: compare served ones.
        errors = signal_errors(exact, lut_only, transform.target, served, stress.groups)
        last = errors
        if errors.within_budget:
            return threshold, errors, True
    assert last is not None
    return candidates[-1], last, False


#: AP1 min/max floors of the chroma-domain bakes tried after the rgb-log one
#: (first accepted wins): a higher floor resolves chroma more finely and routes
#: more saturated pixels to the exact processor.
CHROMA_FLOORS = (0.1, 0.2, 0.3)


def _domains(size: int) -> tuple[Domain, ...]:
    """The LUT domains a bake tries, in order: rgb-log, then chroma by floor."""
    return (Shaper(), *(ChromaDomain(floor=f, size=size) for f in CHROMA_FLOORS))


def bake(
    transform: Transform,
    *,
    size: int = DEFAULT_LUT_SIZE,
    domains: tuple[Domain, ...] | None = None,
    stress: StressSet | None = None,
    use_cache: bool = True,
) -> Bake:
    """Bake ``transform``'s OCIO stage into a verified LUT (or load it from the cache).

    Each of ``domains`` (default: the per-channel log :class:`Shaper`, then
    :class:`ChromaDomain` at each of :data:`CHROMA_FLOORS`) is baked in turn
    until one meets the budget on the stress set (default :func:`stress_set`),
    which also calibrates its routing threshold; ``accepted`` says whether one
    did (else the bake holds the first domain's result), ``attempts`` records
    each try. The cache (:func:`cache_dir`) is read and written unless
    ``use_cache`` is off.

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
    tried = _domains(size) if domains is None else tuple(domains)
    identity = _identity(transform, size, tried)
    key = _key(identity)
    with _bakes_lock:
        hit = _bakes.get(key)
    if hit is not None and use_cache:
        return hit
    path = cache_dir() / f"{key[:40]}.npz"
    result = _load(path, key, identity) if use_cache else None
    if result is None:
        result = _bake_new(transform, size, tried, stress, key, identity)
        if use_cache:
            result = _store(path, result)
    if use_cache:
        with _bakes_lock:
            _bakes[key] = result
    return result


def _bake_new(
    transform: Transform,
    size: int,
    domains: tuple[Domain, ...],
    stress: StressSet | None,
    key: str,
    identity: dict[str, Any],
) -> Bake:
    config = transform._config
    ap1 = _ap1_colorspace(config)
    from_ap1 = config.getProcessor(
        ocio.ColorSpaceTransform(src=ap1, dst=transform.source)
    ).getDefaultCPUProcessor()
    stress = stress if stress is not None else stress_set()
    identity = dict(identity, stress={"samples": len(stress), "seed": stress.seed})
    attempts: list[dict[str, Any]] = []
    chosen: Bake | None = None
    for domain in domains:
        lut, holes = _bake_lut(transform, size, domain, from_ap1)
        procs = _Processors(transform, lut, domain)
        threshold, errors, accepted = _calibrate(transform, procs, stress)
        attempts.append(
            {
                "domain": domain.to_dict(),
                "threshold": threshold,
                "p999_code10": round(errors.p999_code10, 4),
                "max_code10": round(errors.max_code10, 4),
                "max_delta_e_itp": round(errors.max_delta_e_itp, 4),
                "served": round(errors.served, 4),
                "accepted": accepted,
                "resampled_nodes": holes,
            }
        )
        log.info(
            "baked %d³ %s LUT for %s: threshold %.2f, stress p99.9 %.3f max %.2f "
            "code values, max ΔE_ITP %.3f, %d node(s) re-sampled%s",
            size,
            domain.kind,
            transform.description,
            threshold,
            errors.p999_code10,
            errors.max_code10,
            errors.max_delta_e_itp,
            holes,
            "" if accepted else " — rejected",
        )
        if chosen is None or accepted:
            reason = None
            if not accepted:
                reason = (
                    f"{size}³ bake over budget on the stress set in every LUT domain "
                    f"tried ({', '.join(d.kind for d in domains)}); {domain.kind} "
                    f"at AP1 saturation threshold {threshold}: p99.9 "
                    f"{errors.p999_code10:.2f} code values (budget "
                    f"{BUDGET_P999_CODE10:g}), max ΔE_ITP "
                    f"{errors.max_delta_e_itp:.2f} (budget {BUDGET_MAX_DELTA_E_ITP:g})"
                )
            chosen = Bake(
                key=key,
                identity=identity,
                size=size,
                domain=domain,
                threshold=threshold,
                ceiling=domain.maximum,
                errors=errors,
                accepted=accepted,
                reason=reason,
                lut=lut,
            )
        if accepted:
            break
    assert chosen is not None
    return replace(chosen, attempts=tuple(attempts))


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
        "domain": result.domain.to_dict(),
        "attempts": list(result.attempts),
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
        domain = _domain_from_dict(meta["domain"], size)
        attempts = tuple(meta.get("attempts", ()))
    except (OSError, ValueError, KeyError, TypeError) as err:
        log.info("%s: unreadable cached bake (%s); re-baking", path, err)
        return None
    log.debug("loaded cached bake %s", path)
    return Bake(
        key=key,
        identity=meta["identity"],
        size=size,
        domain=domain,
        threshold=float(meta["threshold"]),
        ceiling=float(meta["ceiling"]),
        errors=errors,
        accepted=bool(meta["accepted"]),
        reason=meta["reason"],
        lut=lut,
        cache_file=str(path),
        attempts=attempts,
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
            served = _served(ap1, self.fast.bake)
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
