"""Per-frame statistics for the generated-footage checks, on a decimated frame.

Pure numpy on the decoded (H, W, C) ACES2065-1 array: no I/O. What one frame
leaves behind is small (a few numbers, a ≤ 32-column thumbnail, a digest and
optionally a radial power spectrum of ≤ 128 bins), so the validation pass
stays streaming whatever the clip length.

Luminance is CIE 1931 Y of the AP0 samples (scene-linear, diffuse white 1.0),
Y = 0.3439664498 R + 0.7281660966 G − 0.0721325464 B (SMPTE ST 2065-1:2012,
the AP0 normalised primary matrix, second row).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "FootageStats",
    "footage_stats",
    "footage_from",
    "footage_windows",
    "luminance_ap0",
    "radial_power_spectrum",
    "AP0_Y",
    "LUMA_SAMPLE_PIXELS",
    "THUMB_COLUMNS",
    "LOG_FLOOR",
    "SPECTRUM_CROP",
    "SPECTRUM_BINS",
]

#: Second row of the ACES2065-1 (AP0) RGB→XYZ matrix, SMPTE ST 2065-1:2012.
AP0_Y = (0.3439664498, 0.7281660966, -0.0721325464)

#: The statistics are taken on every n-th row and column, n chosen so that about
#: this many pixels are used (a 1080p frame: every 5th; small frames: all).
LUMA_SAMPLE_PIXELS = 1 << 16

#: Columns of the block-mean thumbnail used for frame-to-frame comparisons.
THUMB_COLUMNS = 32

#: Luminance floor before log2 (≈ −17 stops below diffuse white): black is finite.
LOG_FLOOR = 2.0**-17

#: Side of the centred square crop whose spectrum the ``upscale`` check reads
#: (full resolution: decimation would hide exactly what is looked for).
SPECTRUM_CROP = 256

#: Radial frequency bins over 0 … 0.5 cycles/pixel.
SPECTRUM_BINS = 64


@dataclass(frozen=True, slots=True)
class FootageStats:
    """Luminance statistics of one frame (scene-linear Y, diffuse white = 1.0).

    ``thumb`` is log2 of block-mean luminance on a ``THUMB_COLUMNS``-wide grid
    (float32); ``digest`` a BLAKE2b digest of the decimated stored samples, equal
    for bit-identical frames; ``spectrum`` the radial power spectrum of the
    centred crop (``SPECTRUM_BINS`` bins over 0 … 0.5 cycles/pixel) or None when
    not sampled for this frame.
    """

    mean: float
    p50: float
    p99: float
    thumb: NDArray[np.float32]
    digest: bytes
    spectrum: NDArray[np.float64] | None = None


def luminance_ap0(rgb: NDArray[Any]) -> NDArray[np.float32]:
    """Luminance Y of (..., 3) ACES2065-1 samples, float32, same leading shape.

    >>> float(luminance_ap0(np.ones((1, 3), np.float32))[0])  # AP0 white: Y = 1
    1.0
    """
    r = rgb[..., 0].astype(np.float32)
    y = r * np.float32(AP0_Y[0])
    y += rgb[..., 1].astype(np.float32) * np.float32(AP0_Y[1])
    y += rgb[..., 2].astype(np.float32) * np.float32(AP0_Y[2])
    return y


def _block_mean(y: NDArray[np.float32], columns: int) -> NDArray[np.float32]:
    """Mean of square blocks tiling ``y`` (H, W), about ``columns`` across."""
    h, w = y.shape
    block = max(w // columns, 1)
    rows, cols = max(h // block, 1), max(w // block, 1)
    bh, bw = min(block, h), min(block, w)
    cut = y[: rows * bh, : cols * bw]
    means = cut.reshape(rows, bh, cols, bw).mean(axis=(1, 3), dtype=np.float64)
    return np.asarray(means, np.float32)


def radial_power_spectrum(
    y: NDArray[Any], bins: int = SPECTRUM_BINS
) -> NDArray[np.float64]:
    """Radially averaged power spectrum of a square (N, N) image.

    The image is log-encoded by the caller, mean-removed and Hann-windowed here
    (so the tile edges do not leak power into every frequency). Returns
    ``bins`` mean powers over radial frequency 0 … 0.5 cycles/pixel, bin ``i``
    covering ``[i, i + 1) × 0.5 / bins``.
    """
    img = np.asarray(y, np.float64)
    n = img.shape[0]
    window = np.hanning(n)
    tile = (img - img.mean()) * window[:, None] * window[None, :]
    power = np.abs(np.fft.fft2(tile)) ** 2
    f = np.fft.fftfreq(n)
    radius = np.hypot(f[:, None], f[None, :])
    index = np.minimum((radius / 0.5 * bins).astype(np.int64), bins)
    sums = np.bincount(index.ravel(), weights=power.ravel(), minlength=bins + 1)
    counts = np.bincount(index.ravel(), minlength=bins + 1)
    return np.asarray(sums[:bins] / np.maximum(counts[:bins], 1), np.float64)


def footage_windows(
    height: int, width: int, *, want_spectrum: bool
) -> tuple[int, tuple[int, int, int] | None]:
    """What :func:`footage_stats` reads of an ``height`` x ``width`` frame.

    ``(step, crop)``: every ``step``-th row and column, and the centred square
    ``(top, left, side)`` whose spectrum is taken (None: no spectrum).
    """
    step = max(int(np.sqrt(height * width / LUMA_SAMPLE_PIXELS)), 1)
    crop = None
    if want_spectrum and min(height, width) >= SPECTRUM_CROP // 2:
        n = min(SPECTRUM_CROP, height, width)
        crop = ((height - n) // 2, (width - n) // 2, n)
    return step, crop


def footage_stats(stored: NDArray[Any], *, want_spectrum: bool) -> FootageStats:
    """Compute :class:`FootageStats` of one (H, W, C) float16/float32 frame.

    Non-finite samples count as black here (``nonfinite`` reports them).
    """
    h, w = stored.shape[:2]
    step, crop = footage_windows(h, w, want_spectrum=want_spectrum)
    window = None
    if crop is not None:
        top, left, n = crop
        window = stored[top : top + n, left : left + n, :3]
    return footage_from(stored[::step, ::step, :3], window)


def footage_from(sampled: NDArray[Any], crop: NDArray[Any] | None) -> FootageStats:
    """:class:`FootageStats` from the pixels :func:`footage_windows` names.

    ``sampled``: the decimated frame (RGB); ``crop``: the spectrum's centred
    square (RGB) or None. A frame read in strips gathers both from its strips.
    """
    digest = hashlib.blake2b(np.ascontiguousarray(sampled).tobytes(), digest_size=16)
    y = luminance_ap0(sampled)
    y = np.nan_to_num(y, nan=0.0, posinf=0.0, neginf=0.0)
    np.maximum(y, 0.0, out=y)
    flat = y.ravel()
    p50, p99 = (float(v) for v in np.percentile(flat, (50.0, 99.0)))
    thumb = np.log2(np.maximum(_block_mean(y, THUMB_COLUMNS), LOG_FLOOR))
    spectrum = None
    if crop is not None:
        crop = luminance_ap0(crop)
        crop = np.nan_to_num(crop, nan=0.0, posinf=0.0, neginf=0.0)
        spectrum = radial_power_spectrum(np.log2(np.maximum(crop, LOG_FLOOR)))
    return FootageStats(
        mean=float(flat.mean(dtype=np.float64)),
        p50=p50,
        p99=p99,
        thumb=thumb.astype(np.float32),
        digest=digest.digest(),
        spectrum=spectrum,
    )
