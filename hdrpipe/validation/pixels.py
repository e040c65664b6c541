"""Per-frame pixel statistics, computed once per frame on the stored samples.

Pure numpy on the decoded (H, W, C) array: no I/O. Counts are of *samples*
(one channel of one pixel) for ``nonfinite``/``negative`` and of *pixels* for
``gamut``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..colorimetry import matrix_rgb_to_rgb
from ..transfer import eotf_inverse_st2084 as _pq
from .footage import FootageStats, footage_from, footage_windows

__all__ = [
    "FrameStats",
    "frame_stats",
    "StripStats",
    "effective_bits",
    "acescct_encode",
    "eotf_inverse_st2084",
    "gamut_matrices",
    "GAMUT_TOLERANCE",
    "GAMUT_SAMPLE_PIXELS",
]

# ACEScct, Academy S-2016-001 (ACEScct), section 4.4.
ACESCCT_X_BRK = 0.0078125
ACESCCT_A = 10.5402377416545
ACESCCT_B = 0.0729055341958355

#: Luminance of scene-linear 1.0 when probing for PQ-quantised content, cd/m².
PQ_REFERENCE_WHITE = 100.0


@functools.lru_cache(maxsize=1)
def gamut_matrices() -> dict[str, NDArray[Any]]:
    """AP0→AP1 and AP0→Rec.2020 matrices (``hdrpipe.colorimetry``), computed once.

    ``"AP1"``: ACES2065-1 → ACEScg (same ACES white, no adaptation);
    ``"Rec.2020"``: ACES2065-1 → ITU-R BT.2020 linear (ACES white → D65, CAT02);
    ``"test"``: both, stacked (6, 3) with the tolerance folded in (below).
    """
    ap1 = np.array(matrix_rgb_to_rgb("ACES2065-1", "ACEScg"))
    rec2020 = np.array(matrix_rgb_to_rgb("ACES2065-1", "ITU-R BT.2020"))
    # Folding the tolerance into the matrix: (M_i + tol·[1,1,1]) · rgb < 0.
    # Rows 0-2: AP1, rows 3-5: Rec.2020; applied as (6, 3) @ (3, N), which numpy
    # hands to BLAS (an (N, 3) @ (3, 6) product is ~30x slower here).
    test = np.ascontiguousarray(
        np.concatenate([ap1 + GAMUT_TOLERANCE, rec2020 + GAMUT_TOLERANCE]),
        dtype=np.float32,
    )
    return {"AP1": ap1, "Rec.2020": rec2020, "test": test}


#: A pixel is outside a gamut when a target component is below
#: ``-GAMUT_TOLERANCE × (R + G + B)`` of the AP0 pixel: half storage rounds
#: each AP0 sample by up to 2^-11 relative, which the matrices amplify.
GAMUT_TOLERANCE = 2e-3

#: Frames with more pixels than this are tested for gamut on every n-th row
#: only, n chosen so about this many pixels are tested: the exact test of every
#: pixel of a 1080p frame costs ~40 % of its decode (bench/validate.py), and a
#: share of pixels is a statistic that 1/8 of the rows estimates well.
GAMUT_SAMPLE_PIXELS = 1 << 18

#: At most this many pixels per frame feed the bit-depth estimate.
BIT_DEPTH_SAMPLES = 1 << 12


@dataclass(frozen=True, slots=True)
class FrameStats:
    """Pixel statistics of one frame (data window, RGB(A) channels)."""

    pixels: int
    gamut_pixels: int
    samples: int
    nan: int
    inf: int
    negative: int
    outside_ap1: int  # of gamut_pixels
    outside_rec2020: int  # of gamut_pixels
    codes: dict[str, NDArray[np.float64]] = field(default_factory=dict)
    #: Luminance statistics for the generated-footage checks (None: not asked).
    footage: FootageStats | None = None


def acescct_encode(lin: NDArray[Any]) -> NDArray[np.float64]:
    """ACEScct encoding of AP1 linear values (Academy S-2016-001, section 4.4)."""
    lin = np.asarray(lin, np.float64)
    safe = np.maximum(lin, ACESCCT_X_BRK)
    return np.where(
        lin <= ACESCCT_X_BRK,
        ACESCCT_A * lin + ACESCCT_B,
        (np.log2(safe) + 9.72) / 17.52,
    )


def eotf_inverse_st2084(luminance: NDArray[Any]) -> NDArray[np.float64]:
    """PQ code value (0–1) of luminance in cd/m², in float64 (SMPTE ST 2084:2014,
    eq. 5.2; :func:`hdrpipe.transfer.eotf_inverse_st2084`)."""
    return np.asarray(_pq(np.asarray(luminance, np.float64)), np.float64)


#: Samples counted per block for NaN, Inf and negatives: the counts' masks
#: and temporaries are a block's, not a frame's (at UHD a whole-frame mask is
#: 25 MB, held while the reader already holds the frame).
COUNT_BLOCK_SAMPLES = 1 << 20


def _count_half(u: NDArray[np.uint16]) -> tuple[int, int, int]:
    """Count NaN, ±Inf and finite negative (non-zero) half samples from their bits.

    IEEE 754 binary16: sign bit 0x8000, exponent 0x7C00 all ones for Inf (zero
    mantissa) and NaN (non-zero mantissa).
    """
    if int(u.max()) < 0x7C00:  # one pass: every sample is finite and >= +0
        return 0, 0, 0
    nan = inf = negative = 0
    for block in _blocks(u):
        mag = block & np.uint16(0x7FFF)
        nan += int(np.count_nonzero(mag > 0x7C00))
        inf += int(np.count_nonzero(mag == 0x7C00))
        negative += int(np.count_nonzero((block > 0x8000) & (block < 0xFC00)))
    return nan, inf, negative


def _count_float(a: NDArray[np.float32]) -> tuple[int, int, int]:
    """Count NaN, ±Inf and finite negative float32 samples."""
    nan = inf = negative = 0
    for block in _blocks(a):
        nan += int(np.count_nonzero(np.isnan(block)))
        inf += int(np.count_nonzero(np.isinf(block)))
        negative += int(
            np.count_nonzero(block < 0) - np.count_nonzero(np.isneginf(block))
        )
    return nan, inf, negative


def _blocks(a: NDArray[Any]) -> Iterator[NDArray[Any]]:
    """``a``'s samples in flat blocks of :data:`COUNT_BLOCK_SAMPLES`."""
    flat = a.reshape(-1)
    for start in range(0, flat.size, COUNT_BLOCK_SAMPLES):
        yield flat[start : start + COUNT_BLOCK_SAMPLES]


def _apply_matrix(m: NDArray[Any], rgb: NDArray[Any]) -> NDArray[np.float64]:
    """``rgb @ m.T`` for (N, 3) rows, element-wise.

    Not ``@``/``einsum``: those wake BLAS threads that keep spinning afterwards
    and steal CPU from the decoder threads (see :func:`_count_outside`).
    """
    r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    return np.stack([m[i, 0] * r + m[i, 1] * g + m[i, 2] * b for i in range(3)], axis=1)


def _bit_depth_step(pixels: int) -> int:
    """Every n-th pixel (row-major) feeds the bit-depth estimate.

    An odd stride, so the samples do not line up with image columns.
    """
    return max(pixels // BIT_DEPTH_SAMPLES, 1) | 1


def _bit_depth_codes(rgb: NDArray[Any]) -> dict[str, NDArray[np.float64]]:
    """Sample near-neutral pixels and encode them as ACEScct and PQ code values.

    Only pixels whose AP1 components are within 2:1 of each other are used:
    there the AP0→AP1 matrix does not amplify half rounding, so a value
    quantised in ACEScct/PQ before being stored keeps its code exactly enough.
    ``rgb``: the sampled pixels, (N, 3).
    """
    sample = rgb.astype(np.float64)
    sample = sample[np.isfinite(sample).all(axis=1)]
    m = gamut_matrices()
    ap1 = _apply_matrix(m["AP1"], sample)
    lo, hi = ap1.min(axis=1), ap1.max(axis=1)
    neutral = ap1[(lo > 1e-4) & (lo >= 0.5 * hi)]
    rec2020 = _apply_matrix(m["Rec.2020"], sample)
    lo2, hi2 = rec2020.min(axis=1), rec2020.max(axis=1)
    neutral2020 = rec2020[(lo2 > 1e-4) & (lo2 >= 0.5 * hi2)]
    return {
        "ACEScct": np.unique(acescct_encode(neutral).ravel()),
        "PQ": np.unique(eotf_inverse_st2084(neutral2020.ravel() * PQ_REFERENCE_WHITE)),
    }


def _count_outside(
    planar: NDArray[np.float32], m: NDArray[np.float32]
) -> tuple[int, int]:
    """Pixels with a negative component after each 3-row block of ``m`` (6, 3).

    Element-wise on (3, N) planes rather than ``m @ planar``: the BLAS product
    is faster alone, but its worker threads keep spinning afterwards and steal
    the CPU the decoder threads need (measured in bench/validate.py).
    """
    r, g, b = planar
    counts = []
    for block in (0, 3):
        low = r * m[block, 0]
        low += g * m[block, 1]
        low += b * m[block, 2]
        for i in (block + 1, block + 2):
            acc = r * m[i, 0]
            acc += g * m[i, 1]
            acc += b * m[i, 2]
            np.minimum(low, acc, out=low)
        counts.append(int(np.count_nonzero(low < 0)))
    return counts[0], counts[1]


def frame_stats(
    stored: NDArray[Any],
    *,
    want_gamut: bool = True,
    want_bit_depth: bool = True,
    want_footage: bool = False,
    want_spectrum: bool = False,
) -> FrameStats:
    """Compute :class:`FrameStats` of one (H, W, C) float16/float32 frame.

    ``want_footage`` adds the luminance statistics of :mod:`.footage`
    (``want_spectrum``: with the radial power spectrum of a centred crop).
    """
    h, w = stored.shape[:2]
    acc = StripStats(
        h,
        w,
        want_gamut=want_gamut,
        want_bit_depth=want_bit_depth,
        want_footage=want_footage,
        want_spectrum=want_spectrum,
    )
    acc.add(stored)
    return acc.result()


class StripStats:
    """:class:`FrameStats` of a frame fed as strips of whole rows, top to bottom.

    For a frame too large to hold decoded at once: the counts add up strip by
    strip, and the samples the gamut, bit-depth and footage statistics take
    (every n-th row, every n-th pixel, a decimated grid and a centred crop, all
    in frame coordinates) are gathered from the strips they fall in. The
    result is exactly :func:`frame_stats` of the whole frame, which is this
    class fed the frame as one strip.
    """

    def __init__(
        self,
        height: int,
        width: int,
        *,
        want_gamut: bool = True,
        want_bit_depth: bool = True,
        want_footage: bool = False,
        want_spectrum: bool = False,
    ) -> None:
        self._height, self._width = height, width
        self._want_gamut, self._want_bits = want_gamut, want_bit_depth
        self._want_footage = want_footage
        self._row = 0
        self._samples = self._nan = self._inf = self._negative = 0
        self._tested = self._outside_ap1 = self._outside_2020 = 0
        self._gamut_step = max(-(-height * width // GAMUT_SAMPLE_PIXELS), 1)
        self._bits_step = _bit_depth_step(height * width)
        self._luma_step, self._crop = footage_windows(
            height, width, want_spectrum=want_spectrum
        )
        self._bits: list[NDArray[Any]] = []
        self._sampled: list[NDArray[Any]] = []
        self._cropped: list[NDArray[Any]] = []

    def add(self, rows: NDArray[Any]) -> None:
        """The next strip: (n, W, C) float16/float32 samples of rows y0..y0+n."""
        n, w, c = rows.shape
        if w != self._width or self._row + n > self._height:
            raise ValueError(
                f"strip of {n}x{w} at row {self._row} does not fit a "
                f"{self._width}x{self._height} frame"
            )
        y0, self._row = self._row, self._row + n
        self._samples += n * w * c
        if rows.dtype == np.float16:
            nan, inf, negative = _count_half(rows.view(np.uint16))
        else:
            nan, inf, negative = _count_float(rows.astype(np.float32, copy=False))
        self._nan += nan
        self._inf += inf
        self._negative += negative
        first = (-y0) % self._gamut_step  # the frame's every n-th row, from row 0
        if self._want_gamut and first < n:
            planar = (
                rows[first :: self._gamut_step, :, :3]
                .reshape(-1, 3)
                .T.astype(np.float32, order="C")
            )
            if nan or inf:  # non-finite pixels belong to `nonfinite`, not to a gamut
                planar = np.ascontiguousarray(
                    planar[:, np.isfinite(planar).all(axis=0)]
                )
            self._tested += int(planar.shape[1])
            ap1, rec2020 = _count_outside(planar, gamut_matrices()["test"])
            self._outside_ap1 += ap1
            self._outside_2020 += rec2020
        if self._want_bits:
            flat = rows[:, :, :3].reshape(-1, 3)
            # A copy: a view would keep the whole strip alive until the end.
            first = (-y0 * w) % self._bits_step
            self._bits.append(flat[first :: self._bits_step].copy())
        if self._want_footage:
            step = self._luma_step
            first = (-y0) % step
            self._sampled.append(rows[first::step, ::step, :3].copy())
            if self._crop is not None:
                top, left, side = self._crop
                a, b = max(top - y0, 0), min(top + side - y0, n)
                if a < b:
                    self._cropped.append(rows[a:b, left : left + side, :3].copy())

    def result(self) -> FrameStats:
        """The statistics of the whole frame (every row must have been added)."""
        if self._row != self._height:
            raise ValueError(f"{self._row} of {self._height} rows added")
        codes: dict[str, NDArray[np.float64]] = {}
        if self._want_bits:
            codes = _bit_depth_codes(np.concatenate(self._bits))
        footage = None
        if self._want_footage:
            crop = np.concatenate(self._cropped) if self._cropped else None
            footage = footage_from(np.concatenate(self._sampled), crop)
        return FrameStats(
            pixels=self._height * self._width,
            gamut_pixels=self._tested,
            samples=self._samples,
            nan=self._nan,
            inf=self._inf,
            negative=self._negative,
            outside_ap1=self._outside_ap1,
            outside_rec2020=self._outside_2020,
            codes=codes,
            footage=footage,
        )


#: Bit depths probed, and the mean distance to the nearest code (in code
#: values, 0–0.5) under which content counts as quantised at that depth.
#: Unquantised content averages 0.25.
PROBED_BITS = (8, 10, 12)
QUANTISED_MEAN_DISTANCE = {8: 0.12, 10: 0.12, 12: 0.15}
#: Fewer distinct code values than this cannot support a decision.
MIN_DISTINCT_CODES = 64


def effective_bits(codes: dict[str, NDArray[np.float64]]) -> dict[str, Any]:
    """Estimate the effective precision of content from sampled code values.

    For each encoding (ACEScct, PQ) and depth n in 8/10/12, code values are
    scaled to full-range (2^n − 1) and narrow-range (219·2^(n−8) + 16·2^(n−8))
    integers; content quantised at n bits sits on integers. Returns
    ``{"effective_bits": 8|10|12|16, "encoding": name|None, "range": ...,
    "scores": {...}}`` where 16 means "no quantisation found" (native half).
    """
    scores: dict[str, dict[str, float]] = {}
    best: tuple[int, str, str] | None = None
    for encoding, values in codes.items():
        if values.size < MIN_DISTINCT_CODES:
            continue
        enc_scores: dict[str, float] = {}
        for bits in PROBED_BITS:
            for rng, scale, offset in (
                ("full", 2.0**bits - 1, 0.0),
                ("narrow", 219.0 * 2 ** (bits - 8), 16.0 * 2 ** (bits - 8)),
            ):
                x = values * scale + offset
                d = float(np.mean(np.abs(x - np.round(x))))
                enc_scores[f"{bits}_{rng}"] = round(d, 4)
                if d < QUANTISED_MEAN_DISTANCE[bits] and (
                    best is None or bits < best[0]
                ):
                    best = (bits, encoding, rng)
        scores[encoding] = enc_scores
    if best is None:
        return {
            "effective_bits": 16,
            "encoding": None,
            "range": None,
            "scores": scores,
            "distinct_codes": {k: int(v.size) for k, v in codes.items()},
        }
    return {
        "effective_bits": best[0],
        "encoding": best[1],
        "range": best[2],
        "scores": scores,
        "distinct_codes": {k: int(v.size) for k, v in codes.items()},
    }
