"""LUT domains: the coordinates a fast-path LUT is indexed by (AP1 → [0, 1]³).

* :class:`Shaper` (``rgb-log``): clamp AP1 ≥ 0, log2(x + offset) per channel;
* :class:`ChromaDomain` (``chroma``): log2 of r + g + b and the chromaticity.

Both give the AP1 values of their grid nodes (``nodes``), the OCIO transforms
and the numpy step that map AP1 to LUT coordinates (``prefix``, ``prepare``),
and which pixels they represent (``inside``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import PyOpenColorIO as ocio  # noqa: N813
from numpy.typing import NDArray

from ...errors import ColorError

__all__ = ["Shaper", "ChromaDomain", "Domain"]


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

    def inside(
        self,
        ap1: NDArray[np.float32],
        mx: NDArray[np.float32],
        mn: NDArray[np.float32],
    ) -> NDArray[np.bool_] | None:
        """Pixels (n, 3) inside the domain beyond the bake's ceiling: no limit.

        ``mx`` / ``mn`` are the pixels' max and min of R, G, B (the caller has them).
        """
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

    def inside(
        self,
        ap1: NDArray[np.float32],
        mx: NDArray[np.float32],
        mn: NDArray[np.float32],
    ) -> NDArray[np.bool_] | None:
        """Pixels (n, 3) with AP1 min/max ≥ ``floor`` and r + g + b ≤ ``maximum``.

        ``mx`` / ``mn`` are the pixels' max and min of R, G, B (the caller has them).
        """
        r, g, b = ap1[:, 0], ap1[:, 1], ap1[:, 2]
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
