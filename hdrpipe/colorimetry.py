"""Published RGB primaries and white points, and the RGB → RGB matrices from them.

A leaf module (numpy only) that ``validate`` and ``color`` both read, so that
neither imports colour-science at run time: ``import colour`` costs 0.35–0.5 s
of one core per process (its plotting and dataset modules load eagerly), paid by
every ``hdrpipe validate`` and every conform before its first frame.
colour-science stays the reference these values are tested against
(``tests/test_colorimetry.py``: chromaticities equal, matrices within 1e-9).

CIE 1931 xy, (red, green, blue, white):

* ``ACES2065-1`` (AP0, ACES white): SMPTE ST 2065-1:2012, §5.1 and §5.2.
* ``ACEScg`` (AP1, ACES white): Academy S-2014-004 (ACEScg), §4.1.
* ``ITU-R BT.709``: ITU-R BT.709-6, Part 1, items 1.3 and 1.4.
* ``ITU-R BT.2020``: ITU-R BT.2020-2, Table 3, items 3.3 and 3.4.
* ``P3-D65``: SMPTE EG 432-1:2010, Table A.1 (DCI-P3 primaries, D65 white).
"""

from __future__ import annotations

import functools

import numpy as np
from numpy.typing import NDArray

__all__ = ["PRIMARIES", "Primaries", "matrix_rgb_to_rgb", "matrix_rgb_to_xyz"]

#: (red xy, green xy, blue xy, white xy).
Primaries = tuple[
    tuple[float, float], tuple[float, float], tuple[float, float], tuple[float, float]
]

_ACES_WHITE = (0.32168, 0.33767)
_D65 = (0.3127, 0.3290)

#: colour-science ``RGB_COLOURSPACES`` names → published primaries and white.
PRIMARIES: dict[str, Primaries] = {
    "ACES2065-1": ((0.7347, 0.2653), (0.0, 1.0), (0.0001, -0.077), _ACES_WHITE),
    "ACEScg": ((0.713, 0.293), (0.165, 0.83), (0.128, 0.044), _ACES_WHITE),
    "ITU-R BT.709": ((0.64, 0.33), (0.3, 0.6), (0.15, 0.06), _D65),
    "ITU-R BT.2020": ((0.708, 0.292), (0.17, 0.797), (0.131, 0.046), _D65),
    "P3-D65": ((0.68, 0.32), (0.265, 0.69), (0.15, 0.06), _D65),
}

# CIECAM02 chromatic adaptation (CAT02) cone response matrix: CIE 159:2004, §3.
_CAT02 = np.array(
    [
        [0.7328, 0.4296, -0.1624],
        [-0.7036, 1.6975, 0.0061],
        [0.0030, 0.0136, 0.9834],
    ]
)


def _xyz(xy: tuple[float, float]) -> NDArray[np.float64]:
    x, y = xy
    return np.array([x / y, 1.0, (1.0 - x - y) / y])


def _space(name: str) -> Primaries:
    try:
        return PRIMARIES[name]
    except KeyError:
        raise ValueError(
            f"unknown RGB colourspace {name!r}; known: {', '.join(PRIMARIES)}"
        ) from None


@functools.cache
def matrix_rgb_to_xyz(name: str) -> NDArray[np.float64]:
    """Normalised primary matrix of ``name``: linear RGB → CIE XYZ (white Y = 1).

    SMPTE RP 177-1993, §3.3: columns are the primaries' XYZ, scaled so that
    RGB (1, 1, 1) maps to the white point.
    """
    red, green, blue, white = _space(name)
    chroma = np.stack([_xyz(red), _xyz(green), _xyz(blue)], axis=1)
    scale = np.linalg.solve(chroma, _xyz(white))
    matrix = chroma * scale
    matrix.flags.writeable = False
    return matrix


def _cat02(
    src_white: tuple[float, float], dst_white: tuple[float, float]
) -> NDArray[np.float64]:
    """von Kries adaptation in CAT02 cone space, XYZ under src → XYZ under dst."""
    gain = (_CAT02 @ _xyz(dst_white)) / (_CAT02 @ _xyz(src_white))
    return np.asarray(np.linalg.inv(_CAT02) @ np.diag(gain) @ _CAT02, np.float64)


@functools.cache
def matrix_rgb_to_rgb(src: str, dst: str) -> NDArray[np.float64]:
    """Linear RGB in ``src`` → linear RGB in ``dst``, CAT02 between differing whites.

    As colour-science's ``matrix_RGB_to_RGB(…, chromatic_adaptation_transform=
    "CAT02")``; the identity of white points skips the adaptation.
    """
    matrix = matrix_rgb_to_xyz(src)
    src_white, dst_white = _space(src)[3], _space(dst)[3]
    if src_white != dst_white:
        matrix = _cat02(src_white, dst_white) @ matrix
    out = np.linalg.inv(matrix_rgb_to_xyz(dst)) @ matrix
    out.flags.writeable = False
    return out
