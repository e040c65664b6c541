"""hdrpipe's colour vocabulary: named RGB primaries, transfer characteristics and
Y'CbCr matrices, each with every name the pipeline meets it under, and the
RGB → RGB matrices from the published primaries.

One table per concept, one entry per standard:

* :class:`RGBSpace` — CIE 1931 xy of the primaries and white, the
  colour-science name they are tested against, the ITU-T H.273 ``ColourPrimaries``
  code point and its FFmpeg and MediaInfo names, the name ``validate`` reports
  for an EXR ``chromaticities`` attribute, the EXR attribute itself
  (:attr:`RGBSpace.chromaticities`), the OCIO colorspace of linear data in
  these primaries, and the Y'CbCr matrix a video in this container uses;
* :class:`TransferCharacteristic` — H.273 ``TransferCharacteristics``, FFmpeg
  and MediaInfo names, and the EOTF that decodes it (:mod:`hdrpipe.transfer`);
* :class:`MatrixCoefficients` — H.273 ``MatrixCoefficients``, FFmpeg and
  MediaInfo names.

The named colour targets (:mod:`hdrpipe.color_targets`) refer to these by
name; the encoder's tags, the probe's expected names, the EXR writer's
chromaticities, the mastering display and ``validate``'s chromaticity check are
all read from here.

A leaf module (numpy only) that ``validate``, ``encode`` and ``color`` all
read, so that none of them imports colour-science at run time: ``import colour``
costs 0.35–0.5 s of one core per process (its plotting and dataset modules load
eagerly), paid by every ``hdrpipe validate`` and every conform before its first
frame. colour-science stays the reference these values are tested against
(``tests/test_colorimetry.py``: chromaticities equal, matrices within 1e-9).

CIE 1931 xy, (red, green, blue, white):

* ``ACES2065-1`` (AP0, ACES white): SMPTE ST 2065-1:2012, §5.1 and §5.2.
* ``ACEScg`` (AP1, ACES white): Academy S-2014-004 (ACEScg), §4.1.
* ``ITU-R BT.709``: ITU-R BT.709-6, Part 1, items 1.3 and 1.4.
* ``ITU-R BT.2020``: ITU-R BT.2020-2, Table 3, items 3.3 and 3.4.
* ``P3-D65``: SMPTE EG 432-1:2010, Table A.1 (DCI-P3 primaries, D65 white).
* ``DCI-P3``: SMPTE RP 431-2:2011, Table 1 (DCI white).
* ``ITU-R BT.470 - 625``: ITU-R BT.470-6, Table 1 (625 lines; BT.601 625).
* ``SMPTE C``: SMPTE ST 170:2004, §7.5 (BT.601 525).

Code points: ITU-T H.273 (2016) Tables 2 (primaries), 3 (transfer) and 4
(matrix); FFmpeg names are ``libavutil/pixdesc.c``'s.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .errors import ColorError
from .transfer import (
    eotf_bt1886,
    eotf_bt2100_hlg,
    eotf_inverse_bt1886,
    eotf_inverse_bt2100_hlg,
    eotf_inverse_st2084,
    eotf_st2084,
)

__all__ = [
    "PRIMARIES",
    "Primaries",
    "RGBSpace",
    "SPACES",
    "TransferCharacteristic",
    "TRANSFERS",
    "MatrixCoefficients",
    "MATRICES",
    "H273_PRIMARIES",
    "H273_TRANSFER",
    "H273_MATRIX",
    "MEDIAINFO_PRIMARIES",
    "MEDIAINFO_TRANSFER",
    "MEDIAINFO_MATRIX",
    "rgb_space",
    "space_for_ffmpeg",
    "transfer_characteristic",
    "matrix_coefficients",
    "declared_spaces",
    "decode_to_luminance",
    "encode_from_luminance",
    "matrix_rgb_to_rgb",
    "matrix_rgb_to_xyz",
]

#: (red xy, green xy, blue xy, white xy).
Primaries = tuple[
    tuple[float, float], tuple[float, float], tuple[float, float], tuple[float, float]
]
XY = tuple[float, float]

_ACES_WHITE = (0.32168, 0.33767)
_D65 = (0.3127, 0.3290)
_DCI_WHITE = (0.314, 0.351)
_E = (1 / 3, 1 / 3)


@dataclass(frozen=True, slots=True)
class RGBSpace:
    """One set of RGB primaries and white point, under all its names.

    ``name`` is hdrpipe's (``"rec2020"``), used by the colour targets;
    ``colourspace`` colour-science's ``RGB_COLOURSPACES`` name (``None`` for CIE
    XYZ, which is no RGB space); ``ffmpeg``/``h273``/``mediainfo`` the video
    ``colour_primaries`` tag; ``declared`` the name ``validate`` reports for an
    EXR file whose ``chromaticities`` are these; ``ocio_linear`` the OCIO
    colorspace of scene-linear data in these primaries (the source of such a
    plate); ``matrix`` the FFmpeg name of the Y'CbCr matrix a video in this
    container is tagged with.
    """

    name: str
    red: XY
    green: XY
    blue: XY
    white: XY
    reference: str
    colourspace: str | None = None
    ffmpeg: str | None = None
    h273: int | None = None
    mediainfo: str | None = None
    declared: str | None = None
    ocio_linear: str | None = None
    matrix: str | None = None
    aliases: tuple[str, ...] = ()

    @property
    def xy(self) -> Primaries:
        """(red, green, blue, white) CIE 1931 xy."""
        return (self.red, self.green, self.blue, self.white)

    @property
    def chromaticities(self) -> tuple[float, ...]:
        """The EXR ``chromaticities`` attribute: (Rx, Ry, Gx, Gy, Bx, By, Wx, Wy)."""
        return tuple(float(v) for xy in self.xy for v in xy)


#: Every named set of primaries, in the order ``validate`` matches them.
_SPACE_LIST: tuple[RGBSpace, ...] = (
    RGBSpace(
        "ap0", (0.7347, 0.2653), (0.0, 1.0), (0.0001, -0.077), _ACES_WHITE,
        "SMPTE ST 2065-1:2012 §5.1-5.2", colourspace="ACES2065-1",
        declared="AP0", ocio_linear="ACES2065-1", aliases=("aces2065-1",),
    ),
    RGBSpace(
        "ap1", (0.713, 0.293), (0.165, 0.83), (0.128, 0.044), _ACES_WHITE,
        "Academy S-2014-004 §4.1", colourspace="ACEScg", declared="AP1",
        ocio_linear="ACEScg", aliases=("acescg",),
    ),
    RGBSpace(
        "rec709", (0.64, 0.33), (0.3, 0.6), (0.15, 0.06), _D65,
        "ITU-R BT.709-6 items 1.3-1.4", colourspace="ITU-R BT.709",
        ffmpeg="bt709", h273=1, mediainfo="BT.709", declared="Rec.709",
        ocio_linear="Linear Rec.709 (sRGB)", matrix="bt709",
        aliases=("bt709", "rec.709"),
    ),
    RGBSpace(
        "rec2020", (0.708, 0.292), (0.17, 0.797), (0.131, 0.046), _D65,
        "ITU-R BT.2020-2 Table 3", colourspace="ITU-R BT.2020",
        ffmpeg="bt2020", h273=9, mediainfo="BT.2020", declared="Rec.2020",
        ocio_linear="Linear Rec.2020", matrix="bt2020nc",
        aliases=("bt2020", "rec.2020"),
    ),
    # H.273 12 / FFmpeg smpte432 is "SMPTE EG 432-1" = P3-D65. BT.709's matrix
    # for Y'CbCr in a P3-D65 container, as Apple's Display P3 video does.
    RGBSpace(
        "p3d65", (0.68, 0.32), (0.265, 0.69), (0.15, 0.06), _D65,
        "SMPTE EG 432-1:2010 Table A.1", colourspace="P3-D65",
        ffmpeg="smpte432", h273=12, mediainfo="Display P3", declared="P3-D65",
        ocio_linear="Linear P3-D65", matrix="bt709", aliases=("p3-d65",),
    ),
    RGBSpace(
        "xyz", (1.0, 0.0), (0.0, 1.0), (0.0, 0.0), _E,
        "CIE XYZ as OpenEXR writes it (equal-energy white E)", declared="XYZ",
        ocio_linear="CIE XYZ-D65 - Scene-referred",
    ),
    RGBSpace(
        "dci-p3", (0.68, 0.32), (0.265, 0.69), (0.15, 0.06), _DCI_WHITE,
        "SMPTE RP 431-2:2011 Table 1", colourspace="DCI-P3", ffmpeg="smpte431",
        h273=11, mediainfo="DCI P3",
    ),
    RGBSpace(
        "bt470bg", (0.64, 0.33), (0.29, 0.6), (0.15, 0.06), _D65,
        "ITU-R BT.470-6 Table 1 (625 lines)", colourspace="ITU-R BT.470 - 625",
        ffmpeg="bt470bg", h273=5, matrix="bt470bg",
    ),
    RGBSpace(
        "smpte170m", (0.63, 0.34), (0.31, 0.595), (0.155, 0.07), _D65,
        "SMPTE ST 170:2004 §7.5", colourspace="SMPTE C", ffmpeg="smpte170m",
        h273=6, matrix="smpte170m",
    ),
)  # fmt: skip

#: hdrpipe primaries name → :class:`RGBSpace`.
SPACES: Mapping[str, RGBSpace] = MappingProxyType({s.name: s for s in _SPACE_LIST})

#: colour-science ``RGB_COLOURSPACES`` names → published primaries and white.
PRIMARIES: Mapping[str, Primaries] = MappingProxyType(
    {s.colourspace: s.xy for s in _SPACE_LIST if s.colourspace is not None}
)


def _lookup(table: Mapping[str, Any], name: str, what: str, extra: Any) -> Any:
    key = name.strip().lower() if isinstance(name, str) else name
    hit = table.get(key) or extra(key)
    if hit is None:
        raise ColorError(f"unknown {what} {name!r}; known: {', '.join(table)}")
    return hit


def rgb_space(name: str) -> RGBSpace:
    """The :class:`RGBSpace` named ``name`` (hdrpipe name, alias, FFmpeg name or
    colour-science name). Unknown names are a :class:`ColorError`."""

    def other(key: str) -> RGBSpace | None:
        for space in _SPACE_LIST:
            names = (space.ffmpeg, (space.colourspace or "").lower(), *space.aliases)
            if key in names:
                return space
        return None

    space: RGBSpace = _lookup(SPACES, name, "primaries", other)
    return space


def space_for_ffmpeg(name: str | None) -> RGBSpace | None:
    """The :class:`RGBSpace` whose FFmpeg ``color_primaries`` name is ``name``."""
    return next((s for s in _SPACE_LIST if s.ffmpeg and s.ffmpeg == name), None)


def declared_spaces() -> tuple[RGBSpace, ...]:
    """The spaces ``validate`` names an EXR ``chromaticities`` attribute after."""
    return tuple(s for s in _SPACE_LIST if s.declared is not None)


class _Decode(Protocol):
    def __call__(self, x: ArrayLike, peak: float) -> NDArray[np.floating[Any]]: ...


@dataclass(frozen=True, slots=True)
class TransferCharacteristic:
    """One transfer characteristic: its tags and, for display signals, its EOTF.

    ``name`` is hdrpipe's (``"pq"``); ``ffmpeg``/``h273``/``mediainfo`` the video
    ``transfer_characteristics`` tag (``None``: no video tag, e.g. scene-linear);
    ``decode(signal, peak)`` → display light in cd/m² and ``encode`` its inverse
    (``None`` for scene-referred encodings); ``default_peak`` the nominal display
    peak (cd/m²) when a target names none; ``mixes_channels``: the EOTF is not
    per channel (HLG's OOTF works on luminance).
    """

    name: str
    reference: str
    ffmpeg: str | None = None
    h273: int | None = None
    mediainfo: str | None = None
    decode: _Decode | None = None
    encode: _Decode | None = None
    default_peak: float | None = None
    mixes_channels: bool = False

    @property
    def is_display(self) -> bool:
        """True when the signal encodes display light (PQ, HLG, BT.1886)."""
        return self.decode is not None


_TRANSFER_LIST: tuple[TransferCharacteristic, ...] = (
    TransferCharacteristic(
        "pq", "SMPTE ST 2084:2014 / ITU-R BT.2100-2 Table 4", "smpte2084", 16, "PQ",
        lambda x, peak: eotf_st2084(x), lambda x, peak: eotf_inverse_st2084(x),
        10_000.0,
    ),
    TransferCharacteristic(
        "hlg", "ARIB STD-B67 / ITU-R BT.2100-2 Table 5", "arib-std-b67", 18, "HLG",
        lambda x, peak: eotf_bt2100_hlg(x, L_W=peak),
        lambda x, peak: eotf_inverse_bt2100_hlg(x, L_W=peak), 1000.0, True,
    ),
    # Tagged BT.709 (H.273 1): BT.1886 is the reference display of BT.709 video.
    TransferCharacteristic(
        "bt1886", "ITU-R BT.1886 Annex 1 (gamma 2.4)", "bt709", 1, "BT.709",
        lambda x, peak: eotf_bt1886(x, L_W=peak),
        lambda x, peak: eotf_inverse_bt1886(x, L_W=peak), 100.0,
    ),
    TransferCharacteristic("linear", "scene-linear (no video tag)"),
    TransferCharacteristic("acescct", "Academy S-2016-001 (ACEScct)"),
    # Video tags only (user presets): no target of hdrpipe renders them.
    TransferCharacteristic("smpte170m", "SMPTE ST 170 (BT.601)", "smpte170m", 6),
    TransferCharacteristic("bt2020-10", "ITU-R BT.2020 10-bit", "bt2020-10", 14),
    TransferCharacteristic("bt2020-12", "ITU-R BT.2020 12-bit", "bt2020-12", 15),
)  # fmt: skip

#: hdrpipe transfer name → :class:`TransferCharacteristic`.
TRANSFERS: Mapping[str, TransferCharacteristic] = MappingProxyType(
    {t.name: t for t in _TRANSFER_LIST}
)


def transfer_characteristic(name: str) -> TransferCharacteristic:
    """The :class:`TransferCharacteristic` named ``name`` (hdrpipe or FFmpeg name)."""

    def other(key: str) -> TransferCharacteristic | None:
        return next((t for t in _TRANSFER_LIST if t.ffmpeg == key), None)

    found: TransferCharacteristic = _lookup(TRANSFERS, name, "transfer", other)
    return found


@dataclass(frozen=True, slots=True)
class MatrixCoefficients:
    """One Y'CbCr matrix: FFmpeg name, H.273 ``MatrixCoefficients``, MediaInfo name."""

    ffmpeg: str
    h273: int
    reference: str
    mediainfo: str | None = None


_MATRIX_LIST: tuple[MatrixCoefficients, ...] = (
    MatrixCoefficients("bt709", 1, "ITU-R BT.709-6 item 3.2", "BT.709"),
    MatrixCoefficients("bt470bg", 5, "ITU-R BT.601-7 (625)"),
    MatrixCoefficients("smpte170m", 6, "SMPTE ST 170 (525)"),
    MatrixCoefficients("bt2020nc", 9, "ITU-R BT.2020-2 NCL", "BT.2020 non-constant"),
    MatrixCoefficients("bt2020c", 10, "ITU-R BT.2020-2 CL", "BT.2020 constant"),
)

#: FFmpeg matrix name → :class:`MatrixCoefficients`.
MATRICES: Mapping[str, MatrixCoefficients] = MappingProxyType(
    {m.ffmpeg: m for m in _MATRIX_LIST}
)


def matrix_coefficients(name: str) -> MatrixCoefficients:
    """The :class:`MatrixCoefficients` of FFmpeg name ``name``."""
    found: MatrixCoefficients = _lookup(MATRICES, name, "matrix", lambda k: None)
    return found


def _view(items: tuple[Any, ...], attr: str, key: str = "ffmpeg") -> dict[str, Any]:
    return {
        getattr(i, key): getattr(i, attr)
        for i in items
        if getattr(i, key) is not None and getattr(i, attr) is not None
    }


#: FFmpeg names → ITU-T H.273 code points (``colr`` box, VUI), read from the tables.
H273_PRIMARIES: Mapping[str, int] = MappingProxyType(_view(_SPACE_LIST, "h273"))
H273_TRANSFER: Mapping[str, int] = MappingProxyType(_view(_TRANSFER_LIST, "h273"))
H273_MATRIX: Mapping[str, int] = MappingProxyType(_view(_MATRIX_LIST, "h273"))
#: FFmpeg names → how MediaInfo reports the code point.
MEDIAINFO_PRIMARIES: Mapping[str, str] = MappingProxyType(
    _view(_SPACE_LIST, "mediainfo")
)
MEDIAINFO_TRANSFER: Mapping[str, str] = MappingProxyType(
    _view(_TRANSFER_LIST, "mediainfo")
)
MEDIAINFO_MATRIX: Mapping[str, str] = MappingProxyType(_view(_MATRIX_LIST, "mediainfo"))


class _DisplayTarget(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def transfer(self) -> str: ...
    @property
    def peak_luminance(self) -> float | None: ...


def _display_transfer(
    target: _DisplayTarget, what: str
) -> tuple[TransferCharacteristic, float]:
    tc = transfer_characteristic(target.transfer)
    if tc.decode is None or tc.encode is None:
        raise ColorError(
            f"target {target.name!r} is scene-referred ({target.transfer}); it has no "
            f"{what}"
        )
    return tc, target.peak_luminance or tc.default_peak or 0.0


def decode_to_luminance(
    signal: ArrayLike, target: _DisplayTarget
) -> NDArray[np.floating[Any]]:
    """Decode ``target``'s encoded display signal to display light (cd/m², per channel).

    ``signal`` is (…, 3) RGB code values in [0, 1] as :class:`~hdrpipe.color.Transform`
    produces them (an RGBA frame's alpha is dropped). PQ uses the absolute
    ST 2084 EOTF; HLG the BT.2100 EOTF at ``target.peak_luminance``; BT.1886
    the Annex 1 EOTF with ``L_W = target.peak_luminance`` and ``L_B = 0``.
    Scene-referred targets have no display light: :class:`ColorError`.
    """
    x = np.asarray(signal)
    x = x.astype(np.result_type(x.dtype, np.float32), copy=False)
    if x.ndim >= 1 and x.shape[-1] == 4:
        x = x[..., :3]
    tc, peak = _display_transfer(target, "display luminance in cd/m²")
    assert tc.decode is not None
    return tc.decode(x, peak)


def encode_from_luminance(
    light: ArrayLike, target: _DisplayTarget
) -> NDArray[np.floating[Any]]:
    """Encode display light (…, 3, cd/m²) to the signal of ``target`` (inverse of
    :func:`decode_to_luminance`)."""
    x = np.asarray(light)
    x = x.astype(np.result_type(x.dtype, np.float32), copy=False)
    tc, peak = _display_transfer(target, "display encoding")
    assert tc.encode is not None
    return tc.encode(x, peak)


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
