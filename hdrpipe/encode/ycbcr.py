"""R'G'B' → Y'CbCr (narrow range, integer code values) and back, in numpy.

Matrices: ITU-R BT.2020-2 Table 4 / BT.2100-2 Table 6 (non-constant luminance,
K_R = 0.2627, K_B = 0.0593) and ITU-R BT.709-6 Item 3.2 (K_R = 0.2126,
K_B = 0.0722)::

    E'_Y  = K_R E'_R + (1 - K_R - K_B) E'_G + K_B E'_B
    E'_Cb = (E'_B - E'_Y) / (2 (1 - K_B))
    E'_Cr = (E'_R - E'_Y) / (2 (1 - K_R))

Quantisation (narrow range): BT.2100-2 Table 9 / BT.709-6 Item 4.6, with n the
bit depth and rounding to nearest (not truncation)::

    D'_Y = Round((219 E'_Y + 16) · 2^(n-8))
    D'_C = Round((224 E'_C + 128) · 2^(n-8))

Results are limited to the video data range 2^(n-8) … 2^n − 2^(n-8) − 1 (codes
outside it are reserved for timing references, BT.2100-2 Table 9 note).

Chroma down-sampling (done on the non-linear E'_Cb/E'_Cr before quantisation):

* 4:2:2 and 4:2:0 horizontally: chroma **co-sited** with the even luma
  columns, 3-tap [1, 2, 1] / 4 filter centred on them.
* 4:2:0 vertically: chroma **mid-way** between luma rows 2k and 2k+1, 4-tap
  [1, 3, 3, 1] / 8 filter centred between them.

That is chroma sample location type 0 (ITU-T H.273 §8.7 / H.265 Annex E
``chroma_sample_loc_type`` 0, FFmpeg ``AVCHROMA_LOC_LEFT``), the one the writers
signal. Edges replicate the border sample. :func:`ycbcr_to_rgb` up-samples
with linear interpolation at the same sites.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "BandConverter",
    "MATRICES",
    "CHROMA_LOCATION",
    "rgb_to_ycbcr",
    "ycbcr_to_rgb",
    "quantise_alpha",
    "dequantise_alpha",
    "downsample_chroma",
    "upsample_chroma",
    "code_range",
]

Matrix = Literal["bt2020nc", "bt709"]
Chroma = Literal["444", "422", "420"]

# (K_R, K_B): ITU-R BT.2020-2 Table 4 (= BT.2100-2 Table 6) and BT.709-6 Item 3.2.
MATRICES: dict[str, tuple[float, float]] = {
    "bt2020nc": (0.2627, 0.0593),
    "bt709": (0.2126, 0.0722),
}

#: FFmpeg chroma_sample_location implemented by :func:`downsample_chroma`.
CHROMA_LOCATION = "left"


def code_range(bit_depth: int) -> tuple[int, int]:
    """Return the (lowest, highest) video data code at ``bit_depth`` bits.

    BT.2100-2 Table 9: 4…1019 at 10 bits, 16…4079 at 12 bits; 1…254 at 8 bits.
    """
    s = 1 << (bit_depth - 8)
    return s, (1 << bit_depth) - s - 1


def _coefficients(matrix: str) -> tuple[float, float, float]:
    try:
        k_r, k_b = MATRICES[matrix]
    except KeyError:
        raise ValueError(
            f"unknown Y'CbCr matrix {matrix!r}; known: {', '.join(MATRICES)}"
        ) from None
    return k_r, 1.0 - k_r - k_b, k_b


def _pad_edge(
    a: NDArray[np.float32], axis: int, before: int, after: int
) -> NDArray[np.float32]:
    width = [(0, 0)] * a.ndim
    width[axis] = (before, after)
    return np.pad(a, width, mode="edge")


def downsample_chroma(c: NDArray[np.float32], chroma: Chroma) -> NDArray[np.float32]:
    """Down-sample a chroma plane (H, W) float32 to the ``chroma`` layout.

    Output is (H, ceil(W/2)) for 4:2:2 and (ceil(H/2), ceil(W/2)) for 4:2:0;
    siting as in the module docstring (type 0). Odd sizes replicate the edge.
    """
    c = np.asarray(c, dtype=np.float32)
    if chroma == "444":
        return c
    h, w = c.shape
    # Horizontal: co-sited [1, 2, 1]/4 centred on even columns 0, 2, 4, …
    p = _pad_edge(c, 1, 1, 2)  # p[:, j + 1] == c[:, j]
    n = (w + 1) // 2
    left = p[:, 0 : 2 * n : 2]
    mid = p[:, 1 : 2 * n + 1 : 2]
    right = p[:, 2 : 2 * n + 2 : 2]
    out = (left + 2.0 * mid + right) * np.float32(0.25)
    if chroma == "422":
        return out.astype(np.float32, copy=False)
    # Vertical: interstitial [1, 3, 3, 1]/8 centred between rows 2k and 2k+1.
    m = (h + 1) // 2
    q = _pad_edge(out, 0, 1, 3)  # q[i + 1] == out[i]
    r0 = q[0 : 2 * m : 2]
    r1 = q[1 : 2 * m + 1 : 2]
    r2 = q[2 : 2 * m + 2 : 2]
    r3 = q[3 : 2 * m + 3 : 2]
    v = (r0 + r3 + np.float32(3.0) * (r1 + r2)) * np.float32(0.125)
    return v.astype(np.float32, copy=False)


def upsample_chroma(
    c: NDArray[np.floating], chroma: Chroma, shape: tuple[int, int]
) -> NDArray[np.float32]:
    """Up-sample a chroma plane to ``shape`` (H, W), linear at the type-0 sites."""
    c = np.asarray(c, dtype=np.float32)
    h, w = shape
    if chroma == "444":
        return c
    if chroma == "420":
        # Chroma row k sits at luma row 2k + 0.5: luma row 2k is 1/4 towards k-1,
        # 2k+1 is 1/4 towards k+1.
        p = _pad_edge(c, 0, 1, 1)
        even = np.float32(0.75) * p[1:-1] + np.float32(0.25) * p[:-2]
        odd = np.float32(0.75) * p[1:-1] + np.float32(0.25) * p[2:]
        v = np.empty((2 * c.shape[0], c.shape[1]), dtype=np.float32)
        v[0::2] = even
        v[1::2] = odd
        c = v[:h]
    # Horizontal: chroma column k sits at luma column 2k (co-sited).
    p = _pad_edge(c, 1, 0, 1)
    out = np.empty((c.shape[0], 2 * c.shape[1]), dtype=np.float32)
    out[:, 0::2] = c
    out[:, 1::2] = np.float32(0.5) * (p[:, :-1] + p[:, 1:])
    return out[:, :w]


#: Pixels converted per block: the float32 temporaries of a block stay in cache.
_BLOCK_PIXELS = 1 << 15

Planes = tuple[NDArray[np.uint16], NDArray[np.uint16], NDArray[np.uint16]]


def _quantise(
    e: NDArray[np.float32],
    gain: float,
    offset: float,
    scale: np.float32,
    limits: tuple[int, int],
    out: NDArray[np.uint16],
) -> None:
    """``out = clip(floor((gain·e + offset)·scale + 0.5))``; ``e`` is overwritten.

    ``scale`` is a power of two, so ``(gain·e + offset)·scale`` rounds exactly as
    ``gain·scale·e + offset·scale``: one multiply-add less per sample.
    """
    e *= np.float32(gain) * scale
    e += np.float32(offset) * scale
    e += np.float32(0.5)  # round half up (floor(x + 0.5))
    np.floor(e, out=e)
    np.clip(e, limits[0], limits[1], out=e)
    np.copyto(out, e, casting="unsafe")


def rgb_to_ycbcr(
    rgb: ArrayLike,
    *,
    matrix: Matrix,
    bit_depth: int,
    chroma: Chroma,
    out: Planes | None = None,
) -> Planes:
    """Convert display-encoded R'G'B' (H, W, ≥3) in [0, 1] to narrow-range Y'CbCr codes.

    Parameters
    ----------
    rgb
        Non-linear R'G'B' signal (PQ, HLG or BT.1886 code values as floats in
        [0, 1]); channels beyond the third (alpha) are ignored.
    matrix
        ``"bt2020nc"`` (BT.2020/BT.2100 non-constant luminance) or ``"bt709"``.
    bit_depth
        8, 10 or 12.
    chroma
        ``"444"``, ``"422"`` or ``"420"`` (type-0 siting, see module docstring).
    out
        Optional (Y, Cb, Cr) uint16 arrays of the output shapes to write into
        (e.g. views of an encoder's frame buffers, which may be row-strided).

    Returns
    -------
    (Y, Cb, Cr)
        uint16 planes; Y is (H, W), Cb/Cr are (H, W), (H, ⌈W/2⌉) or (⌈H/2⌉, ⌈W/2⌉).
        The arrays of ``out`` when given.

    Examples
    --------
    >>> import numpy as np
    >>> y, cb, cr = rgb_to_ycbcr(np.ones((1, 1, 3), np.float32), matrix="bt2020nc",
    ...                          bit_depth=10, chroma="444")
    >>> int(y[0, 0]), int(cb[0, 0]), int(cr[0, 0])
    (940, 512, 512)
    """
    a = np.asarray(rgb)
    if a.ndim != 3 or a.shape[2] < 3:
        raise ValueError(f"expected (H, W, 3|4) R'G'B', got shape {a.shape}")
    conv = BandConverter(
        a.shape[0],
        a.shape[1],
        matrix=matrix,
        bit_depth=bit_depth,
        chroma=chroma,
        out=out,
    )
    conv.band(0, a)
    return conv.finish()


def _hfilter(c: NDArray[np.float32]) -> NDArray[np.float32]:
    """The horizontal half of :func:`downsample_chroma` (same operations)."""
    p = _pad_edge(c, 1, 1, 2)  # p[:, j + 1] == c[:, j]
    n = (c.shape[1] + 1) // 2
    left = p[:, 0 : 2 * n : 2]
    mid = p[:, 1 : 2 * n + 1 : 2]
    right = p[:, 2 : 2 * n + 2 : 2]
    return (left + 2.0 * mid + right) * np.float32(0.25)


def _vfilter(
    r0: NDArray[np.float32],
    r1: NDArray[np.float32],
    r2: NDArray[np.float32],
    r3: NDArray[np.float32],
) -> NDArray[np.float32]:
    """The vertical half of :func:`downsample_chroma` (same operations)."""
    return (r0 + r3 + np.float32(3.0) * (r1 + r2)) * np.float32(0.125)


#: Rows :meth:`BandConverter.band` converts at a time (more are split): its
#: float32 chroma rows stay small whatever the caller hands it.
_BAND_PIXELS = 1 << 18
#: Rows of a band within this distance of its edges are kept for the 4:2:0
#: chroma rows whose [1, 3, 3, 1] filter reaches into the neighbouring band.
_EDGE_ROWS = 3


class BandConverter:
    """One frame's Y'CbCr codes, converted band of rows by band of rows.

    :func:`rgb_to_ycbcr` of a whole frame, for a caller that has the R'G'B'
    signal only a band at a time (a colour stage working in strips): bands
    (:meth:`band`) may come in any order and from several threads at once, and
    must cover the frame once; then :meth:`finish`. The codes are those of
    :func:`rgb_to_ycbcr` to the bit: every sample goes through the same float32
    operations. A 4:2:0 chroma row whose vertical filter reaches into a
    neighbouring band is made by :meth:`finish`, from the horizontally filtered
    edge rows each band kept; no float32 plane of the frame is ever held.
    """

    def __init__(
        self,
        height: int,
        width: int,
        *,
        matrix: Matrix,
        bit_depth: int,
        chroma: Chroma,
        out: Planes | None = None,
    ) -> None:
        h, w = height, width
        chroma_shape = {
            "444": (h, w),
            "422": (h, (w + 1) // 2),
            "420": ((h + 1) // 2, (w + 1) // 2),
        }[chroma]
        if out is None:
            out = (
                np.empty((h, w), np.uint16),
                np.empty(chroma_shape, np.uint16),
                np.empty(chroma_shape, np.uint16),
            )
        if (
            out[0].shape != (h, w)
            or chroma_shape != out[1].shape
            or chroma_shape != out[2].shape
        ):
            raise ValueError(
                f"out planes {[p.shape for p in out]} do not fit {w}x{h} {chroma}"
            )
        self.height, self.width = h, w
        self.out: Planes = out
        self._chroma = chroma
        self._k = _coefficients(matrix)
        self._scale = np.float32(1 << (bit_depth - 8))
        self._limits = code_range(bit_depth)
        # 4:2:0 only: chroma rows left to finish() and the edge rows they need
        # (row -> horizontally filtered Cb, Cr). Threads add to them: list.extend
        # and dict item assignment are atomic.
        self._pending: list[int] = []
        self._rows: list[int] = []  # rows converted, per band
        self._edges: dict[int, tuple[NDArray[np.float32], NDArray[np.float32]]] = {}

    def band(self, first: int, rgb: ArrayLike) -> None:
        """Convert rows ``first`` … ``first + len(rgb)`` (R'G'B', (n, W, ≥3))."""
        a = np.asarray(rgb)
        if (
            a.ndim != 3
            or a.shape[2] < 3
            or a.shape[1] != self.width
            or first < 0
            or first + a.shape[0] > self.height
        ):
            raise ValueError(
                f"band of shape {a.shape} at row {first} does not fit "
                f"{self.width}x{self.height} R'G'B'"
            )
        step = max(1, _BAND_PIXELS // max(self.width, 1))
        step += step % 2  # whole 4:2:0 row pairs
        for top in range(0, a.shape[0], step):
            self._band(first + top, a[top : top + step])
        self._rows.append(a.shape[0])

    def _band(self, first: int, a: NDArray[Any]) -> None:
        k_r, k_g, k_b = self._k
        f32 = np.float32
        h, w = a.shape[:2]
        y_out, cb_out, cr_out = self.out
        scale, limits = self._scale, self._limits
        sub = self._chroma != "444"
        if sub:
            n2 = (w + 1) // 2
            h_cb, h_cr = np.empty((h, n2), f32), np.empty((h, n2), f32)
        rows = max(1, _BLOCK_PIXELS // max(w, 1))
        block = (min(rows, h), w)
        y, cb, cr, t = (np.empty(block, f32) for _ in range(4))
        kcb, kcr = f32(1.0 / (2.0 * (1.0 - k_b))), f32(1.0 / (2.0 * (1.0 - k_r)))
        for top in range(0, h, rows):
            src = a[top : top + rows]
            n = src.shape[0]
            r, g, b = (src[..., i].astype(f32, copy=False) for i in range(3))
            yb, cbb, crb, tb = y[:n], cb[:n], cr[:n], t[:n]
            # E'_Y = K_R E'_R + K_G E'_G + K_B E'_B, summed in this order.
            np.multiply(r, f32(k_r), out=yb)
            np.multiply(g, f32(k_g), out=tb)
            yb += tb
            np.multiply(b, f32(k_b), out=tb)
            yb += tb
            np.subtract(b, yb, out=cbb)
            cbb *= kcb
            np.subtract(r, yb, out=crb)
            crb *= kcr
            at = first + top
            _quantise(yb, 219.0, 16.0, scale, limits, y_out[at : at + n])
            if not sub:
                _quantise(cbb, 224.0, 128.0, scale, limits, cb_out[at : at + n])
                _quantise(crb, 224.0, 128.0, scale, limits, cr_out[at : at + n])
            else:
                # Sub-sampled chroma is filtered before it is quantised.
                h_cb[top : top + n] = _hfilter(cbb)
                h_cr[top : top + n] = _hfilter(crb)
        if not sub:
            return
        if self._chroma == "422":
            _quantise(h_cb, 224.0, 128.0, scale, limits, cb_out[first : first + h])
            _quantise(h_cr, 224.0, 128.0, scale, limits, cr_out[first : first + h])
            return
        self._vertical(first, h_cb, h_cr)

    def _vertical(
        self, first: int, h_cb: NDArray[np.float32], h_cr: NDArray[np.float32]
    ) -> None:
        """4:2:0: the chroma rows whose luma rows 2k, 2k+1 start in this band."""
        n = h_cb.shape[0]
        last = first + n  # rows first … last - 1
        top = self.height - 1
        ks = np.arange((first + 1) // 2, (last - 1) // 2 + 1)
        # Chroma row k filters rows 2k-1 … 2k+2, the edges replicated.
        need = np.clip(2 * ks[:, None] + np.arange(-1, 3), 0, top)
        inside = ((need >= first) & (need < last)).all(axis=1)
        done = ks[inside]  # a contiguous run: only the band's ends reach out
        if done.size:
            local = need[inside] - first
            scale, limits = self._scale, self._limits
            lo, hi = int(done[0]), int(done[-1]) + 1
            for plane, out in ((h_cb, self.out[1]), (h_cr, self.out[2])):
                v = _vfilter(*(plane[local[:, j]] for j in range(4)))
                _quantise(v, 224.0, 128.0, scale, limits, out[lo:hi])
        # Rows a neighbouring band's edge chroma rows need (whichever band
        # owns those), and this band's own edge chroma rows: left to finish().
        keep: set[int] = set()
        if first > 0:
            keep.update(range(first, min(first + _EDGE_ROWS, last)))
        if last < self.height:
            keep.update(range(max(last - _EDGE_ROWS, first), last))
        for row in keep:
            self._edges[row] = (h_cb[row - first].copy(), h_cr[row - first].copy())
        self._pending.extend(int(k) for k in ks[~inside])

    def finish(self) -> Planes:
        """The chroma rows left by the bands' edges; the (Y, Cb, Cr) planes."""
        if sum(self._rows) != self.height:
            raise ValueError(
                f"bands of {sum(self._rows)} rows in all do not cover the frame "
                f"({self.height} rows) once"
            )
        if self._pending:
            ks = np.array(sorted(self._pending))
            need = np.clip(2 * ks[:, None] + np.arange(-1, 3), 0, self.height - 1)
            try:
                for i, out in ((0, self.out[1]), (1, self.out[2])):
                    v = _vfilter(
                        *(
                            np.stack([self._edges[int(r)][i] for r in need[:, j]])
                            for j in range(4)
                        )
                    )
                    codes = np.empty(v.shape, np.uint16)
                    _quantise(v, 224.0, 128.0, self._scale, self._limits, codes)
                    out[ks] = codes
            except KeyError as err:
                raise ValueError(
                    f"row {err} of the frame was never converted"
                ) from None
            self._pending.clear()
            self._edges.clear()
        return self.out


def ycbcr_to_rgb(
    y: ArrayLike,
    cb: ArrayLike,
    cr: ArrayLike,
    *,
    matrix: Matrix,
    bit_depth: int,
    chroma: Chroma,
) -> NDArray[np.float32]:
    """Invert :func:`rgb_to_ycbcr`: narrow-range codes → R'G'B' float32 (H, W, 3).

    Chroma is up-sampled to the luma size with linear interpolation at the
    type-0 sites; no clamping (values outside [0, 1] show coding errors).
    """
    k_r, k_g, k_b = _coefficients(matrix)
    f32 = np.float32
    yq = np.asarray(y, dtype=f32)
    scale = f32(1 << (bit_depth - 8))
    e_y = (yq / scale - f32(16.0)) / f32(219.0)
    e_cb = (np.asarray(cb, dtype=f32) / scale - f32(128.0)) / f32(224.0)
    e_cr = (np.asarray(cr, dtype=f32) / scale - f32(128.0)) / f32(224.0)
    e_cb = upsample_chroma(e_cb, chroma, yq.shape)
    e_cr = upsample_chroma(e_cr, chroma, yq.shape)
    r = e_y + f32(2.0 * (1.0 - k_r)) * e_cr
    b = e_y + f32(2.0 * (1.0 - k_b)) * e_cb
    g = (e_y - f32(k_r) * r - f32(k_b) * b) / f32(k_g)
    return np.stack([r, g, b], axis=-1).astype(np.float32, copy=False)


def quantise_alpha(alpha: ArrayLike, bit_depth: int) -> NDArray[np.uint16]:
    """Quantise alpha in [0, 1] to full-range codes 0 … 2^n − 1 (never narrow)."""
    a = np.asarray(alpha, dtype=np.float32)
    top = np.float32((1 << bit_depth) - 1)
    codes: NDArray[np.float32] = np.clip(np.floor(a * top + np.float32(0.5)), 0, top)
    return codes.astype(np.uint16)


def dequantise_alpha(codes: ArrayLike, bit_depth: int) -> NDArray[np.float32]:
    """Invert :func:`quantise_alpha`."""
    return (
        np.asarray(codes, dtype=np.float32) / np.float32((1 << bit_depth) - 1)
    ).astype(np.float32)
