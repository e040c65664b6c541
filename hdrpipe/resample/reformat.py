"""Reformat: resize a picture into a delivery raster (letterbox, crop, stretch).

:func:`plan_reformat` is pure integer geometry: it decides the scaled size and
placement, keeping sizes and offsets even where it can (4:2:0 and 4:2:2
encoders subsample chroma by 2, so an even active area keeps bars and picture
from sharing a chroma sample). :func:`apply_reformat` does the pixels with
OpenImageIO's ``ImageBufAlgo.resize`` on scene-linear float32 data (resizing
light, not a display encoding) and pads with black (0.0, alpha 0).

Note that sharp filters (``lanczos3``) ring around HDR speculars, as every
windowed sinc does; the values are not clamped here (docs/design-notes.md,
"Pixel math"). Use ``blackman-harris`` or ``mitchell`` for less ringing.

The :attr:`Placement.active` rectangle excludes the bars so HDR metadata
(MaxFALL, CTA-861.3) can be measured over the picture only.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import OpenImageIO as oiio  # noqa: N813
from numpy.typing import NDArray

from ..errors import ConformError, InputError

__all__ = [
    "Fit",
    "FITS",
    "RASTERS",
    "Placement",
    "parse_raster",
    "plan_reformat",
    "resize",
    "apply_reformat",
    "fill_display_window",
]

log = logging.getLogger(__name__)

Fit = Literal["letterbox", "pillarbox", "crop", "stretch", "none"]
FITS: tuple[str, ...] = get_args(Fit)

#: Named delivery rasters (width, height). UHD and HD per ITU-R BT.2020/BT.709
#: image formats; DCI per the DCI Digital Cinema System Specification container sizes.
RASTERS: dict[str, tuple[int, int]] = {
    "uhd": (3840, 2160),
    "2160p": (3840, 2160),
    "4k-uhd": (3840, 2160),
    "uhd-vertical": (2160, 3840),
    "hd": (1920, 1080),
    "1080p": (1920, 1080),
    "hd-vertical": (1080, 1920),
    "720p": (1280, 720),
    "dci4k": (4096, 2160),
    "dci2k": (2048, 1080),
}

_MAX_SIDE = 32768
_SIZE_RE = re.compile(r"^\s*(\d+)\s*[x×X*]\s*(\d+)\s*$")


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a resized picture lands in a delivery raster (all in pixels).

    ``offset`` is the top-left of the resized picture in the raster (negative
    when cropping); ``active`` is ``(x, y, w, h)`` of the picture inside the
    raster, bars excluded.
    """

    width: int
    height: int
    scaled: tuple[int, int]
    offset: tuple[int, int]
    active: tuple[int, int, int, int]

    @property
    def is_identity(self) -> bool:
        """True when the source already is the raster (nothing to do)."""
        return self.scaled == (self.width, self.height) and self.offset == (0, 0)


def parse_raster(text: str) -> tuple[int, int]:
    """Parse a delivery raster: ``WxH`` or a name (``uhd``, ``1080p``, ``dci4k`` …).

    >>> parse_raster("uhd"), parse_raster("1920x804")
    ((3840, 2160), (1920, 804))
    """
    if not isinstance(text, str):
        raise InputError(
            f"raster must be text like '3840x2160' or a name, got {text!r}"
        )
    key = text.strip().lower()
    if key in RASTERS:
        return RASTERS[key]
    match = _SIZE_RE.match(key)
    if match is None:
        raise InputError(
            f"cannot parse raster {text!r}: use WIDTHxHEIGHT (e.g. 3840x2160) or "
            "one of "
            f"{', '.join(RASTERS)}"
        )
    width, height = int(match[1]), int(match[2])
    if not (1 <= width <= _MAX_SIDE and 1 <= height <= _MAX_SIDE):
        raise InputError(f"raster {text!r}: width and height must be 1..{_MAX_SIDE}")
    return width, height


def _even(value: float) -> int:
    """Round to the nearest even integer, at least 2."""
    return max(2, 2 * round(value / 2))


def _center(raster: int, size: int) -> int:
    """Centred offset, rounded toward zero to an even number (bars differ by ≤ 2 px)."""
    return 2 * int((raster - size) / 4)


def plan_reformat(
    src_width: int,
    src_height: int,
    width: int,
    height: int,
    fit: Fit = "letterbox",
    *,
    pixel_aspect: float = 1.0,
) -> Placement:
    """Plan how a ``src_width × src_height`` picture fills a ``width × height`` raster.

    Parameters
    ----------
    fit
        ``letterbox`` / ``pillarbox``: fit inside, pad with black (both words
        mean the same; the aspect ratios decide where the bars go).
        ``crop``: fill the raster, cropping the overflow (centred).
        ``stretch``: scale each axis to the raster (distorts).
        ``none``: keep the source pixels 1:1, centred (pad or crop);
        ``pixel_aspect`` is ignored.
    pixel_aspect
        Source pixel aspect ratio (width/height of one pixel); the display
        aspect is ``src_width * pixel_aspect / src_height``.

    The fitted side equals the raster side; the other is rounded to an even
    number, and offsets are even where the size difference allows.

    >>> plan_reformat(1920, 804, 3840, 2160).active
    (0, 276, 3840, 1608)
    """
    for name, value in (
        ("source width", src_width),
        ("source height", src_height),
        ("width", width),
        ("height", height),
    ):
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not 1 <= value <= _MAX_SIDE
        ):
            raise InputError(
                f"reformat: {name} must be an integer 1..{_MAX_SIDE}, got {value!r}"
            )
    if fit not in FITS:
        raise InputError(f"unknown fit {fit!r}; choose one of {', '.join(FITS)}")
    if not (math.isfinite(pixel_aspect) and pixel_aspect > 0):
        raise InputError(f"pixel aspect must be positive, got {pixel_aspect}")

    display_w = src_width * pixel_aspect  # source width in square pixels
    if fit == "stretch":
        scaled = (width, height)
    elif fit == "none":
        scaled = (src_width, src_height)
    else:
        sx, sy = width / display_w, height / src_height
        inside = fit in ("letterbox", "pillarbox")
        by_width = (sx <= sy) if inside else (sx >= sy)
        if by_width:
            scaled = (
                width,
                _even(src_height * sx) if height % 2 == 0 else round(src_height * sx),
            )
        else:
            scaled = (
                _even(display_w * sy) if width % 2 == 0 else round(display_w * sy),
                height,
            )
        if inside:  # rounding up to even may exceed the raster by one pixel
            scaled = (min(scaled[0], width), min(scaled[1], height))
    offset = (_center(width, scaled[0]), _center(height, scaled[1]))
    x0, y0 = max(0, offset[0]), max(0, offset[1])
    x1, y1 = min(width, offset[0] + scaled[0]), min(height, offset[1] + scaled[1])
    return Placement(width, height, scaled, offset, (x0, y0, x1 - x0, y1 - y0))


# Separable filters with the definitions and radii OpenImageIO uses for these
# names (checked numerically against ImageBufAlgo.resize in the tests):
# Lanczos a = 3; Mitchell-Netravali cubic ("Reconstruction Filters in Computer
# Graphics", SIGGRAPH 1988) with B = C = 1/3; Catmull-Rom is B = 0, C = 1/2.
def _lanczos3(x: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.where(np.abs(x) < 3.0, np.sinc(x) * np.sinc(x / 3.0), 0.0)


def _cubic(b: float, c: float) -> Callable[[NDArray[np.float64]], NDArray[np.float64]]:
    def kernel(x: NDArray[np.float64]) -> NDArray[np.float64]:
        x = np.abs(x)
        near = (
            (12 - 9 * b - 6 * c) * x**3 + (-18 + 12 * b + 6 * c) * x**2 + (6 - 2 * b)
        ) / 6
        far = (
            (-b - 6 * c) * x**3
            + (6 * b + 30 * c) * x**2
            + (-12 * b - 48 * c) * x
            + (8 * b + 24 * c)
        ) / 6
        return np.where(x < 1.0, near, np.where(x < 2.0, far, 0.0))

    return kernel


def _triangle(x: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.maximum(0.0, 1.0 - np.abs(x))


_SEPARABLE: dict[
    str, tuple[Callable[[NDArray[np.float64]], NDArray[np.float64]], float]
] = {
    "lanczos3": (_lanczos3, 3.0),
    "mitchell": (_cubic(1 / 3, 1 / 3), 2.0),
    "catmull-rom": (_cubic(0.0, 0.5), 2.0),
    "triangle": (_triangle, 1.0),
}
_BLOCK = 8  # output rows per matrix product (fastest measured: 8 < 16 < 64)
# Largest x/y scale mismatch the separable path is used for (see resize()).
_ANISOTROPY = 0.02


def _taps(
    n_in: int, n_out: int, name: str
) -> tuple[NDArray[np.intp], NDArray[np.float32]]:
    """Source indices and normalised weights (n_out, taps) of a 1-D resize.

    Pixel centres map as ``(j + 0.5) / scale - 0.5``; when shrinking, the
    filter is widened by ``1 / scale`` (anti-aliasing); taps past the edge
    repeat the edge pixel. This reproduces ``ImageBufAlgo.resize`` to ~1e-6.
    """
    kernel, radius = _SEPARABLE[name]
    scale = n_out / n_in
    stretch = max(1.0, 1.0 / scale)
    centre = (np.arange(n_out) + 0.5) / scale - 0.5
    reach = radius * stretch
    first = np.floor(centre - reach).astype(np.intp) + 1
    count = int(np.ceil(2 * reach)) + 1
    index = first[:, None] + np.arange(count)[None, :]
    weight = kernel((index - centre[:, None]) / stretch)
    weight /= weight.sum(axis=1, keepdims=True)
    return np.clip(index, 0, n_in - 1), weight.astype(np.float32)


def _resample_rows(
    data: NDArray[np.float32], n_out: int, name: str
) -> NDArray[np.float32]:
    """Resize axis 0 of a 2-D float32 array with banded matrix products."""
    n_in = data.shape[0]
    index, weight = _taps(n_in, n_out, name)
    out = np.empty((n_out, data.shape[1]), dtype=np.float32)
    rows = np.arange(index.shape[0])[:, None].repeat(index.shape[1], axis=1)
    for j0 in range(0, n_out, _BLOCK):
        j1 = min(n_out, j0 + _BLOCK)
        lo, hi = int(index[j0:j1].min()), int(index[j0:j1].max()) + 1
        band = np.zeros((j1 - j0, hi - lo), dtype=np.float32)
        np.add.at(band, (rows[j0:j1] - j0, index[j0:j1] - lo), weight[j0:j1])
        np.matmul(band, data[lo:hi], out=out[j0:j1])
    return out


def _resize_separable(
    frame: NDArray[np.float32], size: tuple[int, int], name: str
) -> NDArray[np.float32]:
    h, w, c = frame.shape
    width, height = size
    rows = frame.reshape(h, w * c)
    # Mitchell blurs even at scale 1 (as in OIIO); the others are identity there.
    interpolating = name != "mitchell"
    if height != h or not interpolating:
        rows = _resample_rows(rows, height, name)
    if width != w or not interpolating:
        cols = np.ascontiguousarray(rows.reshape(height, w, c).transpose(1, 0, 2))
        cols = _resample_rows(cols.reshape(w, height * c), width, name)
        return np.ascontiguousarray(cols.reshape(width, height, c).transpose(1, 0, 2))
    return np.ascontiguousarray(rows.reshape(height, width, c))


def _resize_oiio(
    frame: NDArray[np.float32], size: tuple[int, int], filtername: str
) -> NDArray[np.float32]:
    h, w, c = frame.shape
    src = oiio.ImageBuf(oiio.ImageSpec(w, h, c, oiio.FLOAT))
    if not src.set_pixels(
        oiio.ROI(0, w, 0, h, 0, 1, 0, c), np.ascontiguousarray(frame)
    ):
        raise ConformError(
            f"reformat: cannot load {w}x{h}x{c} pixels: {src.geterror()}"
        )
    roi = oiio.ROI(0, size[0], 0, size[1], 0, 1, 0, c)
    dst = oiio.ImageBufAlgo.resize(src, filtername=filtername, roi=roi)
    if dst.has_error:
        raise ConformError(
            f"reformat: resize {w}x{h} -> {size[0]}x{size[1]} "
            f"with {filtername!r} failed: "
            f"{dst.geterror()}"
        )
    pixels = dst.get_pixels(oiio.FLOAT)
    if pixels is None:
        raise ConformError(f"reformat: resize produced no pixels: {dst.geterror()}")
    return np.ascontiguousarray(pixels.reshape(size[1], size[0], c), dtype=np.float32)


def resize(
    frame: NDArray[np.float32],
    size: tuple[int, int],
    *,
    filter: str = "lanczos3",
    engine: Literal["auto", "oiio"] = "auto",
) -> NDArray[np.float32]:
    """Resize a float32 (H, W, C) frame to ``size`` = (width, height) with ``filter``.

    With ``engine="auto"``, ``lanczos3``, ``mitchell``, ``catmull-rom`` and
    ``triangle`` run as two separable passes of banded matrix products
    (BLAS) when the horizontal and vertical scale factors agree within 2 %
    (every letterbox, pillarbox and crop fit). That reproduces OpenImageIO's
    ``ImageBufAlgo.resize`` (pixel-centre mapping ``(j + 0.5) / s - 0.5``,
    filter widened by ``1 / s`` when shrinking, edge pixels repeated) to
    ~1e-5 relative (tests/resample/test_reformat.py) at a fraction of its
    cost (OIIO evaluates the 2-D kernel per pixel: 2-3 s for 1080p → UHD
    RGBA on this machine, see bench/retime.py). OIIO weights strongly
    anisotropic scales differently, so those, any other filter name
    (``blackman-harris``, ``gaussian``, ``box`` …) and ``engine="oiio"`` go
    through OpenImageIO itself.
    """
    h, w = frame.shape[:2]
    sx, sy = size[0] / w, size[1] / h
    if engine == "auto" and filter in _SEPARABLE and abs(sx / sy - 1.0) <= _ANISOTROPY:
        return _resize_separable(
            np.ascontiguousarray(frame, dtype=np.float32), size, filter
        )
    return _resize_oiio(frame, size, filter)


def apply_reformat(
    frame: NDArray[np.float32], placement: Placement, *, filter: str = "lanczos3"
) -> NDArray[np.float32]:
    """Resize ``frame`` and place it in the raster described by ``placement``.

    Parameters
    ----------
    frame
        Scene-linear float32 (H, W, C) frame, C = 3 or 4 (RGBA premultiplied:
        resizing it is a linear filter, so alpha and colour stay consistent).
    placement
        From :func:`plan_reformat` for this frame's size.
    filter
        OpenImageIO filter name (``lanczos3``, ``blackman-harris``,
        ``mitchell``, ``catmull-rom``, ``box`` …), see :func:`resize`.

    Returns
    -------
    New float32 (height, width, C) array; bars are 0.0 in every channel.
    """
    if frame.ndim != 3 or frame.shape[2] not in (3, 4):
        raise ConformError(f"reformat: frame must be (H, W, 3|4), got {frame.shape}")
    if placement.is_identity and frame.shape[:2] == (placement.height, placement.width):
        return np.array(frame, dtype=np.float32, order="C")
    sw, sh = placement.scaled
    if frame.shape[:2] == (sh, sw):
        picture = np.ascontiguousarray(frame, dtype=np.float32)
    else:
        picture = resize(frame, (sw, sh), filter=filter)
    out = np.zeros(
        (placement.height, placement.width, frame.shape[2]), dtype=np.float32
    )
    ax, ay, aw, ah = placement.active
    ox, oy = placement.offset
    out[ay : ay + ah, ax : ax + aw] = picture[
        ay - oy : ay - oy + ah, ax - ox : ax - ox + aw
    ]
    return out


def fill_display_window(
    pixels: NDArray[np.float32],
    data_window: tuple[int, int, int, int],
    display_window: tuple[int, int, int, int],
) -> NDArray[np.float32]:
    """Place data-window pixels into the display window, black elsewhere.

    OpenEXR stores pixels for the data window only; the picture is the
    display window, and pixels outside the data window are black (0.0)
    (OpenEXR "Technical Introduction", *Data Window* and *Display Window*).

    Parameters
    ----------
    pixels
        Float32 (h, w, C) pixels of the data window.
    data_window, display_window
        Inclusive ``(xmin, ymin, xmax, ymax)`` boxes as stored in the header;
        either may extend outside the other.

    Returns
    -------
    New float32 (H, W, C) array for the display window.
    """
    dx0, dy0, dx1, dy1 = data_window
    wx0, wy0, wx1, wy1 = display_window
    if pixels.shape[:2] != (dy1 - dy0 + 1, dx1 - dx0 + 1):
        raise ConformError(
            f"data window {data_window} needs {dx1 - dx0 + 1}x{dy1 - dy0 + 1} pixels, "
            f"got {pixels.shape[1]}x{pixels.shape[0]}"
        )
    if wx1 < wx0 or wy1 < wy0:
        raise ConformError(f"empty display window {display_window}")
    out = np.zeros((wy1 - wy0 + 1, wx1 - wx0 + 1, pixels.shape[2]), dtype=np.float32)
    x0, y0 = max(dx0, wx0), max(dy0, wy0)
    x1, y1 = min(dx1, wx1), min(dy1, wy1)
    if x1 >= x0 and y1 >= y0:
        out[y0 - wy0 : y1 - wy0 + 1, x0 - wx0 : x1 - wx0 + 1] = pixels[
            y0 - dy0 : y1 - dy0 + 1, x0 - dx0 : x1 - dx0 + 1
        ]
    return out
