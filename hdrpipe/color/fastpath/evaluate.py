"""Hybrid evaluation of a bake: the LUT for the pixels it serves, exact for the rest."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import numpy as np
import PyOpenColorIO as ocio  # noqa: N813
from numpy.typing import NDArray

from ...errors import ColorError
from ..pool import call_each
from ..stage import HasExactStage, as_stage
from .accuracy import BakeErrors, signal_errors
from .domains import Domain

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ..stage import ExactStage
    from .bake import Bake

__all__ = ["FastPath", "measure_errors"]

_AP1_COLORSPACES = ("ACEScg", "ACES - ACEScg")


def _ap1_colorspace(config: Any) -> str:
    for name in _AP1_COLORSPACES:
        cs = config.getColorSpace(name)
        if cs is not None:
            return str(cs.getName())
    raise ColorError("config has no ACEScg colorspace: the fast path needs AP1")


#: Pixels per ``applyRGB`` call on long pixel lists (bakes, checks, stress sets).
_CHUNK = 1 << 16


def _chunks(rgb: NDArray[np.float32]) -> list[NDArray[np.float32]]:
    """(N, 1, 3) views of (…, 3) float32 ``rgb`` of at most :data:`_CHUNK` pixels."""
    flat = rgb.reshape(-1, 3)
    return [
        flat[a : a + _CHUNK].reshape(-1, 1, 3) for a in range(0, flat.shape[0], _CHUNK)
    ]


def _apply_cpu(cpu: Any, rgb: NDArray[np.float32], threads: int = 1) -> None:
    """``applyRGB`` on (N, 3) or (H, W, 3) float32 in chunks of 2¹⁶ pixels.

    With ``threads`` > 1 the chunks are spread over the colour pool (applyRGB
    releases the GIL): a bake evaluates the exact processor at millions of
    points. Serial when called from a pool worker, which must not wait on its
    own pool.
    """
    call_each(cpu.applyRGB, _chunks(rgb), threads)


def _exact_signal(
    stage: ExactStage, rgb: NDArray[np.float32], threads: int = 1
) -> None:
    """The Transform's exact final signal of source ``rgb``, in place (with post)."""
    _apply_cpu(stage.cpu, rgb, threads)
    stage.post(rgb)


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
    inside = domain.inside(flat, mx, mn)
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
        self, stage: ExactStage, lut: NDArray[np.float32], domain: Domain
    ) -> None:
        config = stage.config
        ap1 = _ap1_colorspace(config)
        try:
            self.to_ap1 = config.getProcessor(
                ocio.ColorSpaceTransform(src=stage.source, dst=ap1)
            ).getDefaultCPUProcessor()
            self.from_ap1 = config.getProcessor(
                ocio.ColorSpaceTransform(src=ap1, dst=stage.source)
            ).getDefaultCPUProcessor()
            size = lut.shape[0]
            lut_tf = ocio.Lut3DTransform(gridSize=size)
            lut_tf.setData(np.ascontiguousarray(lut, np.float32).reshape(-1))
            lut_tf.setInterpolation(ocio.INTERP_TETRAHEDRAL)
            group = ocio.GroupTransform([*domain.prefix(), lut_tf])
            self.lut = _uncached_config().getProcessor(group).getDefaultCPUProcessor()
        except ocio.Exception as err:
            raise ColorError(f"cannot build the fast-path processors: {err}") from err
        self.exact = stage.cpu
        self.domain = domain

    def apply_lut(self, ap1: NDArray[np.float32]) -> None:
        """AP1 (…, 3) float32 → the LUT's signal, in place (domain mapping + LUT)."""
        for chunk in _chunks(ap1):
            self.domain.prepare(chunk.reshape(-1, 3))
            self.lut.applyRGB(chunk)


class FastPath:
    """Hybrid evaluator of one :class:`Bake` for one Transform (thread-safe).

    :meth:`apply_rgb` converts a C-contiguous float32 (H, W, 3) strip in place
    to the Transform's final signal (its numpy post-step, the HLG re-encoding,
    included): LUT for served pixels, the exact processor for the others.
    """

    def __init__(self, transform: HasExactStage, baked: Bake) -> None:
        stage = as_stage(transform)
        self.bake = baked
        self._p = _Processors(stage, baked.lut, baked.domain)
        self._stage = stage
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
            self._stage.post(sub)
            flat[routed] = sub.reshape(-1, 3)
        with self._lock:
            self._pixels += flat.shape[0]
            self._routed += int(routed.size)

    @property
    def routed_fraction(self) -> float:
        """Fraction of pixels converted so far that went through the exact processor."""
        with self._lock:
            return self._routed / self._pixels if self._pixels else 0.0

    def restart_count(self) -> None:
        """Count routed pixels afresh (the evaluator reused for another slice)."""
        with self._lock:
            self._pixels = self._routed = 0


def measure_errors(
    transform: HasExactStage,
    fast: FastPath,
    frames: Iterable[NDArray[np.float32]],
    *,
    groups: Iterable[tuple[str, int, int]] = (),
) -> BakeErrors:
    """Compare ``fast`` with the exact processor on source ``frames`` (…, 3|4).

    Both paths include the Transform's numpy post-step; errors are over the
    pixels the LUT serves. Several frames are measured as one pixel set.
    """
    stage = as_stage(transform)
    exact_all, fast_all, served_all = [], [], []
    for frame in frames:
        rgb = np.ascontiguousarray(np.asarray(frame, np.float32)[..., :3]).reshape(
            -1, 1, 3
        )
        ex = rgb.copy()
        _exact_signal(stage, ex)
        ap1 = rgb.copy()
        _apply_cpu(fast._p.to_ap1, ap1)
        served = _served(ap1, fast.bake)
        fa = rgb.copy()
        for chunk in _chunks(fa):
            fast.apply_rgb(chunk)
        exact_all.append(ex.reshape(-1, 3))
        fast_all.append(fa.reshape(-1, 3))
        served_all.append(served)
    if not exact_all:
        raise ColorError("measure_errors: no frames given")
    return signal_errors(
        np.concatenate(exact_all),
        np.concatenate(fast_all),
        stage.target,
        np.concatenate(served_all),
        groups,
    )
