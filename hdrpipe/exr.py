"""Read and write OpenEXR headers and pixels.

OpenImageIO reads headers and pixels (it is robust on OpenEXR's fuzz corpus and
releases the GIL while decoding); the OpenEXR Python bindings write files, so the
header we write is exactly the one we ask for (OIIO refuses an
``acesImageContainerFlag`` with a compressed file in its "strict" ACES mode, and
ST 2065-4 container rules are a *validation* concern here, not a writer's one).

Conventions follow the OpenEXR file layout ("OpenEXR File Layout", openexr.com):
windows are inclusive ``(xmin, ymin, xmax, ymax)`` boxes; the display window is
the image frame, the data window is where pixels are stored.

DPX (SMPTE ST 268) frames are read too, through the same OpenImageIO calls, so
a DPX sequence goes wherever an EXR sequence goes: its header is an
:class:`ExrHeader` with ``file_format == "dpx"``, no ``chromaticities`` (DPX
has none), ``time_code`` from the television header's SMPTE time code (OIIO's
``smpte:TimeCode``, the same ST 12-1 packing as EXR's ``timeCode``; OIIO
also gives it as text, ``dpx:TimeCode``), ``frames_per_second`` from ``dpx:FrameRate``
(film header), else ``dpx:TemporalFrameRate`` (television header), and
channel types ``uint<bits>`` (``uint10`` for 10-bit, from
``oiio:BitsPerSample``). Its pixels are read as float32 code values
normalised to 0..1, exactly code / (2^bits - 1) (``_to_samples``):
display-referred or log signal, never scene-linear light, so a
DPX has no meaning until a colour space is given for it. Writing stays
OpenEXR only.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import OpenEXR
import OpenImageIO as oiio  # noqa: N813 - the usual alias
from numpy.typing import NDArray

from .colorimetry import SPACES
from .errors import InputError, OutputError
from .outputs import discard, publish, staging_dir
from .timecode import Timecode, parse_rate

__all__ = [
    "Channel",
    "ExrHeader",
    "read_header",
    "Decoded",
    "decode",
    "read_pixels",
    "read_stored",
    "read_rows",
    "READ_BAND_BYTES",
    "rgb_channels",
    "check_decodes",
    "write_exr",
    "write_exr_multipart",
    "AP0_CHROMATICITIES",
    "AP1_CHROMATICITIES",
    "REC709_CHROMATICITIES",
    "REC2020_CHROMATICITIES",
    "P3D65_CHROMATICITIES",
    "XYZ_CHROMATICITIES",
    "COMPRESSIONS",
    "MAX_CHANNELS",
    "READ_FORMATS",
]

log = logging.getLogger(__name__)

# Chromaticities as the EXR ``chromaticities`` attribute stores them:
# (Rx, Ry, Gx, Gy, Bx, By, Wx, Wy), CIE 1931 xy, from the published primaries
# of :mod:`hdrpipe.colorimetry` (the references are cited there).
#: ACES AP0 primaries, ACES white (SMPTE ST 2065-1).
AP0_CHROMATICITIES = SPACES["ap0"].chromaticities
#: ACES AP1 primaries, ACES white (S-2014-004 ACEScg).
AP1_CHROMATICITIES = SPACES["ap1"].chromaticities
#: ITU-R BT.709-6 (D65 white).
REC709_CHROMATICITIES = SPACES["rec709"].chromaticities
#: ITU-R BT.2020-2 (D65 white).
REC2020_CHROMATICITIES = SPACES["rec2020"].chromaticities
#: SMPTE EG 432-1 P3-D65 (DCI-P3 primaries, D65 white).
P3D65_CHROMATICITIES = SPACES["p3d65"].chromaticities
#: CIE XYZ as an RGB space (equal-energy white E), as OpenEXR writes it for XYZ data.
XYZ_CHROMATICITIES = SPACES["xyz"].chromaticities

#: OpenEXR compression names (as ``exrheader`` prints them) → enum.
COMPRESSIONS: Mapping[str, Any] = MappingProxyType(
    {
        "none": OpenEXR.NO_COMPRESSION,
        "rle": OpenEXR.RLE_COMPRESSION,
        "zips": OpenEXR.ZIPS_COMPRESSION,
        "zip": OpenEXR.ZIP_COMPRESSION,
        "piz": OpenEXR.PIZ_COMPRESSION,
        "pxr24": OpenEXR.PXR24_COMPRESSION,
        "b44": OpenEXR.B44_COMPRESSION,
        "b44a": OpenEXR.B44A_COMPRESSION,
        "dwaa": OpenEXR.DWAA_COMPRESSION,
        "dwab": OpenEXR.DWAB_COMPRESSION,
    }
)

#: More channels than this in one part is refused as an absurd header.
MAX_CHANNELS = 1024

#: File formats read (OpenImageIO format names); every other one is refused.
READ_FORMATS = ("openexr", "dpx")

_PIXEL_TYPES = {"half": np.float16, "float": np.float32, "uint": np.uint32}
#: numpy types of the sample types :func:`_read_request` asks OpenImageIO for.
_REQUEST_DTYPES = {**_PIXEL_TYPES, "uint8": np.uint8, "uint16": np.uint16}

# Attributes that ExrHeader carries as fields (OIIO names), not in ``attributes``.
_FIELD_ATTRIBUTES = frozenset(
    {
        "compression",
        "chromaticities",
        "smpte:TimeCode",
        "framesPerSecond",
        "FramesPerSecond",
        "acesImageContainerFlag",
        "oiio:subimages",
        "multiView",
        "openexr:chunkCount",
    }
)


@dataclass(frozen=True, slots=True)
class Channel:
    """One EXR channel: its name and storage type (``"half" | "float" | "uint"``)."""

    name: str
    pixel_type: str


@dataclass(frozen=True, slots=True)
class ExrHeader:
    """The header of one EXR file (part 0, plus the part count).

    ``width``/``height`` are the display window size in pixels; windows are
    inclusive ``(xmin, ymin, xmax, ymax)`` boxes. ``time_code`` is
    ``"HH:MM:SS:FF"`` from the ``timeCode`` attribute (SMPTE ST 12-1 packing);
    ``attributes`` holds every other attribute as JSON-friendly values.
    ``file_format`` is the OpenImageIO format name: ``"openexr"`` or ``"dpx"``
    (see the module docstring for what a DPX header holds).
    """

    path: Path
    width: int
    height: int
    data_window: tuple[int, int, int, int]
    display_window: tuple[int, int, int, int]
    channels: tuple[Channel, ...]
    compression: str
    chromaticities: tuple[float, ...] | None
    time_code: str | None
    frames_per_second: Fraction | None
    aces_image_container_flag: int | None
    parts: int
    tiled: bool
    multi_view: tuple[str, ...] | None
    attributes: Mapping[str, object] = field(default_factory=dict)
    file_format: str = "openexr"

    @property
    def channel_names(self) -> tuple[str, ...]:
        """Channel names in file order."""
        return tuple(c.name for c in self.channels)

    @property
    def data_size(self) -> tuple[int, int]:
        """Data window (width, height) in pixels."""
        x0, y0, x1, y1 = self.data_window
        return x1 - x0 + 1, y1 - y0 + 1


def _json_value(value: object) -> object:
    """Convert an OIIO attribute value to something ``json.dumps`` accepts."""
    if isinstance(value, (bool, int, str)) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, (tuple, list)):
        return [_json_value(v) for v in value]
    if isinstance(value, np.ndarray):
        return _json_value(value.tolist())
    if isinstance(value, np.generic):
        return _json_value(value.item())
    return str(value)


def _bcd(value: int) -> int:
    return (value >> 4) * 10 + (value & 0x0F)


def _decode_time_code(
    packed: object, fps: Fraction | None = None
) -> tuple[str, bool] | None:
    """Decode OIIO's ``smpte:TimeCode`` (time-and-flags, user data) to text.

    Packing per SMPTE ST 12-1 as OpenEXR's ``TimeCode`` class stores it (TV60):
    BCD frames in bits 0–5, drop-frame flag bit 6, seconds bits 8–14, field
    phase bit 15, minutes bits 16–22, hours bits 24–29. Above 30 fps the frames
    field counts frame pairs and the field phase marks the second of a pair.
    """
    if not isinstance(packed, (tuple, list)) or not packed:
        return None
    word = int(packed[0]) & 0xFFFFFFFF
    frames = _bcd(word & 0x3F)
    if fps is not None and fps > 30:
        frames = 2 * frames + ((word >> 15) & 1)
    seconds = _bcd((word >> 8) & 0x7F)
    minutes = _bcd((word >> 16) & 0x7F)
    hours = _bcd((word >> 24) & 0x3F)
    drop = bool(word & 0x40)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}:{frames:02d}", drop


def _pixel_type_name(
    desc: oiio.TypeDesc,
    file_format: str = "openexr",
    attrs: Mapping[str, object] | None = None,
) -> str:
    text = str(desc)
    if file_format == "dpx" and text in ("uint8", "uint16") and attrs is not None:
        # 10- and 12-bit DPX samples are read into uint16: name the stored depth.
        bits = attrs.get("oiio:BitsPerSample")
        return f"uint{bits}" if isinstance(bits, int) else text
    if text == "half":
        return "half"
    if text == "float":
        return "float"
    if text in ("uint", "uint32"):
        return "uint"
    return text


def _open(path: Path) -> oiio.ImageInput:
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if not path.is_file():
        raise InputError(f"{path}: not a file")
    inp = oiio.ImageInput.open(str(path))
    if inp is None:
        message = _error_text(oiio.geterror)
        if path.suffix.lower() == ".dpx":
            first = message.strip().splitlines()[0] if message.strip() else "unknown"
            raise InputError(f"{path}: not a readable DPX file: {first}")
        raise InputError(
            f"{path}: not a readable EXR file: {_exr_reason(path, message)}"
        )
    if inp.format_name() not in READ_FORMATS:
        fmt = inp.format_name()
        inp.close()
        raise InputError(
            f"{path}: not an OpenEXR or DPX file (OpenImageIO reads it as {fmt})"
        )
    return inp


def _error_text(geterror: Callable[[], str]) -> str:
    """OpenImageIO's error message; a damaged header can make it undecodable."""
    try:
        return geterror() or "unknown error"
    except UnicodeDecodeError as err:
        # The message quotes bytes of the file: keep them escaped, never crash.
        raw = err.object if isinstance(err.object, bytes) else b""
        return raw.decode("utf-8", "backslashreplace") or "undecodable error message"


def _exr_reason(path: Path, oiio_message: str) -> str:
    """Ask the OpenEXR library why a file failed (its message is more specific)."""
    try:
        OpenEXR.File(str(path), header_only=True)
    except Exception as err:  # noqa: BLE001 - any decoder error is the answer we want
        return (
            str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        )
    return (
        oiio_message.strip().splitlines()[0]
        if oiio_message.strip()
        else "unknown error"
    )


def _windows(
    spec: oiio.ImageSpec,
) -> tuple[tuple[int, int, int, int], tuple[int, int, int, int]]:
    data = (spec.x, spec.y, spec.x + spec.width - 1, spec.y + spec.height - 1)
    display = (
        spec.full_x,
        spec.full_y,
        spec.full_x + spec.full_width - 1,
        spec.full_y + spec.full_height - 1,
    )
    return data, display


def _check_sane(path: Path, spec: oiio.ImageSpec, max_pixels: int) -> None:
    """Refuse a header that would allocate absurd memory, before any pixel read."""
    if spec.nchannels <= 0 or spec.nchannels > MAX_CHANNELS:
        raise InputError(
            f"{path}: {spec.nchannels} channels (expected 1..{MAX_CHANNELS}): refused"
        )
    for label, w, h in (
        ("data window", spec.width, spec.height),
        ("display window", spec.full_width, spec.full_height),
    ):
        if w <= 0 or h <= 0:
            raise InputError(f"{path}: empty {label} {w}x{h}")
        if w * h > max_pixels:
            raise InputError(
                f"{path}: {label} {w}x{h} = {w * h} pixels exceeds the limit of "
                f"{max_pixels} pixels: refused before reading pixels"
            )


def read_header(
    path: str | os.PathLike[str], *, max_pixels: int = 1 << 28
) -> ExrHeader:
    """Read the header of an EXR (part 0) or DPX file without touching pixels.

    Raises
    ------
    InputError
        The file is missing, not an EXR or DPX, damaged, or declares a data/display
        window larger than ``max_pixels`` or more than ``MAX_CHANNELS`` channels.
    """
    p = Path(path)
    inp = _open(p)
    try:
        spec = inp.spec()
        _check_sane(p, spec, max_pixels)
        parts = 1
        while inp.seek_subimage(parts, 0):
            parts += 1
        inp.seek_subimage(0, 0)
        spec = inp.spec()
        file_format = str(inp.format_name())
    finally:
        inp.close()
    data, display = _windows(spec)
    attrs: dict[str, object] = {}
    for attr in spec.extra_attribs:
        attrs[attr.name] = attr.value
    formats = spec.channelformats or (spec.format,) * spec.nchannels
    channels = tuple(
        Channel(name, _pixel_type_name(fmt, file_format, attrs))
        for name, fmt in zip(spec.channelnames, formats, strict=True)
    )
    compression = str(attrs.get("compression", "none")).split(":")[0].lower()
    chroma = attrs.get("chromaticities")
    chromaticities = (
        tuple(float(v) for v in chroma) if isinstance(chroma, (tuple, list)) else None
    )
    fps_value = attrs.get("framesPerSecond", attrs.get("FramesPerSecond"))
    fps: Fraction | None = None
    if isinstance(fps_value, (tuple, list)) and len(fps_value) == 2 and fps_value[1]:
        fps = Fraction(int(fps_value[0]), int(fps_value[1]))
    if file_format == "dpx":
        fps = _dpx_rate(p, attrs)
    tc = _decode_time_code(attrs.get("smpte:TimeCode"), fps)
    flag = attrs.get("acesImageContainerFlag")
    views = attrs.get("multiView")
    multi_view = (
        tuple(str(v) for v in views)
        if isinstance(views, (tuple, list))
        else ((str(views),) if isinstance(views, str) else None)
    )
    extra = {k: _json_value(v) for k, v in attrs.items() if k not in _FIELD_ATTRIBUTES}
    if tc is not None:
        extra["timeCodeDropFrame"] = tc[1]
    return ExrHeader(
        path=p,
        width=spec.full_width,
        height=spec.full_height,
        data_window=data,
        display_window=display,
        channels=channels,
        compression=compression,
        chromaticities=chromaticities,
        time_code=tc[0] if tc else None,
        frames_per_second=fps,
        aces_image_container_flag=int(flag) if isinstance(flag, int) else None,
        parts=parts,
        tiled=spec.tile_width > 0,
        multi_view=multi_view,
        attributes=MappingProxyType(extra),
        file_format=file_format,
    )


def _dpx_rate(path: Path, attrs: Mapping[str, object]) -> Fraction | None:
    """A DPX frame rate: film header, else television header; None if undefined.

    DPX stores rates as 32-bit floats (23.976 reads 23.9759998…): rounded to
    the millisecond of a frame before :func:`~hdrpipe.timecode.parse_rate`
    snaps NTSC shorthand to its exact rate.
    """
    for name in ("dpx:FrameRate", "dpx:TemporalFrameRate"):
        value = attrs.get(name)
        if isinstance(value, (int, float)) and math.isfinite(value) and value > 0:
            try:
                return parse_rate(round(float(value), 3)).fps
            except InputError as err:
                log.warning("%s: %s %r ignored: %s", path, name, value, err)
    return None


def rgb_channels(
    names: tuple[str, ...], *, alpha: bool = True
) -> tuple[str, ...] | None:
    """Return the R, G, B(, A) channel names an image would be read from, or None.

    Plain ``R``/``G``/``B`` win; otherwise the first layer (``layer.R`` …, in
    sorted order) that has all three.
    """
    present = set(names)
    prefixes = [""] + sorted({n.rsplit(".", 1)[0] + "." for n in names if "." in n})
    for prefix in prefixes:
        if all(prefix + c in present for c in "RGB"):
            found = tuple(prefix + c for c in "RGB")
            if alpha and prefix + "A" in present:
                found += (prefix + "A",)
            return found
    return None


def _rgba_indices(path: Path, names: tuple[str, ...], want_alpha: bool) -> list[int]:
    """Indices of the channels :func:`rgb_channels` picks; InputError if none."""
    found = rgb_channels(names, alpha=want_alpha)
    if found is not None:
        return [names.index(n) for n in found]
    index = set(names)
    missing = [c for c in "RGB" if c not in index]
    raise InputError(
        f"{path}: channels {list(names)} lack {', '.join(missing)}: "
        "an RGB(A) image is required"
    )


def _integer_bits(spec: oiio.ImageSpec) -> int | None:
    """Bits per sample of integer (DPX) storage; None for float storage."""
    if str(spec.format) not in ("uint8", "uint16"):
        return None
    bits = int(spec.get_int_attribute("oiio:BitsPerSample", 0))
    limit = 8 if str(spec.format) == "uint8" else 16
    return bits if 1 <= bits <= limit else limit


def _read_request(
    inp: oiio.ImageInput, spec: oiio.ImageSpec, idx: Sequence[int]
) -> str:
    """The sample type to ask OpenImageIO for: stored integers, half or float."""
    if inp.format_name() == "dpx" and _integer_bits(spec) is not None:
        return str(spec.format)
    formats = spec.channelformats or (spec.format,) * spec.nchannels
    # Half decodes ~3x faster than OIIO's half->float path; callers widen it.
    return "half" if all(str(formats[i]) == "half" for i in idx) else "float"


def _to_samples(raw: NDArray[Any], spec: oiio.ImageSpec) -> NDArray[Any]:
    """Samples as hdrpipe holds them: integer codes → float32 code / (2^bits - 1).

    OpenImageIO widens 10- and 12-bit DPX samples to 16 bits by bit
    replication and its float conversion divides that by 65535: up to 0.014
    of a 10-bit code and 0.058 of a 12-bit code off ``code / (2^bits - 1)``
    (measured with OpenImageIO 3.2.2). The code is the top ``bits`` bits of
    the widened sample, so it is taken from there and normalised exactly.
    """
    if raw.dtype not in (np.uint8, np.uint16):
        return raw
    bits = _integer_bits(spec) or 8 * raw.dtype.itemsize
    codes = raw >> (8 * raw.dtype.itemsize - bits) if raw.dtype == np.uint16 else raw
    return codes.astype(np.float32) / np.float32(2**bits - 1)


#: Bytes of one band of rows when a frame is read whole (:func:`_read`).
#: OpenImageIO's ``read_image`` decodes into a buffer of its own and copies
#: it into the array it returns: a frame held twice while it is read
#: (measured with OpenImageIO 3.2: a UHD half RGB frame, 47 MiB, peaks at
#: +95 MiB). Read band by band into one array, it is held once plus a band,
#: at the same speed (each band still spans several chunks, decoded in
#: parallel). Small, because freed bands below glibc's adaptive mapping
#: threshold stay in its heap: 8 MiB bands raised a UHD HEVC job's steady
#: RSS by 40 MiB, 2 MiB ones did not.
READ_BAND_BYTES = 2 << 20


def read_rows(
    inp: oiio.ImageInput,
    spec: oiio.ImageSpec,
    path: Path,
    rows: int,
    channels: tuple[int, int],
    request: str,
    *,
    part: int = 0,
) -> Iterator[tuple[int, NDArray[Any]]]:
    """Decode the data window of the open ``inp`` in bands of ``rows`` whole rows.

    Yields ``(y, samples)`` top to bottom: ``y`` the band's first row counted
    from the top of the data window, ``samples`` an (n, W, C) array of the
    channels ``channels`` = (first, end) as OpenImageIO gives them in
    ``request`` precision. Scanline files are read with ``read_scanlines``,
    tiled ones with ``read_tiles`` over whole rows of tiles (``rows`` must then
    be a multiple of the tile height).

    Raises
    ------
    InputError
        A band cannot be decoded (damaged file), or the image is deep or a
        volume.
    """
    if spec.deep or spec.depth > 1:
        raise InputError(f"{path}: volume/deep images are not supported")
    lo, hi = channels
    tiled = int(spec.tile_height) > 0
    x0, x1 = spec.x, spec.x + spec.width
    end = spec.y + spec.height
    for y in range(spec.y, end, rows):
        y1 = min(y + rows, end)
        if tiled:
            raw = inp.read_tiles(
                part, 0, x0, x1, y, y1, spec.z, spec.z + 1, lo, hi, request
            )
        else:
            raw = inp.read_scanlines(part, 0, y, y1, spec.z, lo, hi, request)
        if raw is None or inp.has_error:
            reason = _error_text(inp.geterror)
            raise InputError(
                f"{path}: pixels unreadable (rows {y}..{y1 - 1}): {reason}"
            )
        band = np.asarray(raw).reshape(y1 - y, spec.width, hi - lo)
        del raw
        yield y - spec.y, band
        del band  # not held while the next band is decoded


def _band_rows(spec: oiio.ImageSpec, channels: int, request: str) -> int:
    """Rows per band for a whole-frame read: about :data:`READ_BAND_BYTES`, in
    whole chunks (scanline blocks or rows of tiles) so no chunk is decoded twice."""
    chunk = int(spec.tile_height) or max(
        spec.get_int_attribute("oiio:RowsPerChunk", 1), 1
    )
    row_bytes = max(
        spec.width
        * channels
        * np.dtype(_REQUEST_DTYPES.get(request, np.float32)).itemsize,
        1,
    )
    chunks = max(READ_BAND_BYTES // (row_bytes * chunk), 1)
    return int(chunks * chunk)


def _read(
    p: Path, channels: str, part: int, max_pixels: int
) -> tuple[
    NDArray[Any], tuple[str, ...], tuple[int, int, int, int], tuple[int, int, int, int]
]:
    """Open once; return (RGB(A) data-window samples, names, data, display window)."""
    want_alpha = "A" in channels.upper()
    inp = _open(p)
    try:
        if part and not inp.seek_subimage(part, 0):
            raise InputError(f"{p}: has no part {part}")
        spec = inp.spec()
        _check_sane(p, spec, max_pixels)
        idx = _rgba_indices(p, tuple(spec.channelnames), want_alpha)
        request = _read_request(inp, spec, idx)
        lo, hi = min(idx), max(idx) + 1
        rows = _band_rows(spec, hi - lo, request)
        raw: NDArray[Any] | None = None
        for y, band in read_rows(inp, spec, p, rows, (lo, hi), request, part=part):
            if raw is None:
                raw = np.empty((spec.height, spec.width, hi - lo), band.dtype)
            raw[y : y + band.shape[0]] = band
            del band
        assert raw is not None  # _check_sane: at least one row
        names = tuple(spec.channelnames[i] for i in idx)
        data, display = _windows(spec)
    finally:
        inp.close()
    return _selected(raw, spec, idx, lo), names, data, display


def _selected(
    raw: NDArray[Any], spec: oiio.ImageSpec, idx: Sequence[int], lo: int
) -> NDArray[Any]:
    """Channels ``idx`` of samples read from channel ``lo`` on, C-contiguous and
    as hdrpipe holds them (:func:`_to_samples`)."""
    raw = _to_samples(raw, spec)
    sel = [i - lo for i in idx]
    if sel != list(range(raw.shape[2])):
        raw = raw[:, :, sel]
    return np.ascontiguousarray(raw)


def check_decodes(
    path: str | os.PathLike[str], *, part: int = 0, max_pixels: int = 1 << 28
) -> None:
    """Decode every channel of one part and discard it; InputError if that fails.

    For files validation cannot analyse (no R, G, B) but must still prove readable.
    """
    p = Path(path)
    inp = _open(p)
    try:
        if part and not inp.seek_subimage(part, 0):
            raise InputError(f"{p}: has no part {part}")
        spec = inp.spec()
        _check_sane(p, spec, max_pixels)
        raw = inp.read_image(part, 0, 0, spec.nchannels, "half")
        if raw is None or inp.has_error:
            reason = _error_text(inp.geterror)
            raise InputError(f"{p}: pixels unreadable: {reason}")
    finally:
        inp.close()


@dataclass(frozen=True)
class Decoded:
    """One part's R, G, B(, A) samples as stored, and where they sit.

    ``stored`` is a C-contiguous (H, W, C) array of the DATA window — float16
    when every channel read is half, else float32 — with channel ``names``;
    ``data_window`` / ``display_window`` are inclusive (xmin, ymin, xmax, ymax).
    """

    stored: NDArray[Any] = field(repr=False)
    names: tuple[str, ...]
    data_window: tuple[int, int, int, int]
    display_window: tuple[int, int, int, int]

    def pixels(
        self, channels: str = "RGBA", *, widen: bool = True
    ) -> NDArray[np.floating[Any]]:
        """(H, W, C) pixels of the display window (as :func:`read_pixels`).

        Float32, or with ``widen=False`` the stored precision (float16 for half
        files: half the memory, widened later by whoever computes on them).
        ``channels="RGB"`` drops a stored alpha channel.
        """
        raw = self.stored
        if "A" not in channels.upper() and raw.shape[2] > 3:
            raw = raw[:, :, :3]
        pixels = raw.astype(np.float32, copy=False) if widen else raw
        if self.data_window == self.display_window:
            return np.ascontiguousarray(pixels)
        return _display_placement(self.data_window, self.display_window, pixels)


def decode(
    path: str | os.PathLike[str],
    *,
    channels: str = "RGBA",
    part: int = 0,
    max_pixels: int = 1 << 28,
) -> Decoded:
    """Decode the R, G, B(, A) samples of one part once, in their stored precision.

    One read serves both who count what is stored (validation,
    :attr:`Decoded.stored`) and who process pixels (:meth:`Decoded.pixels`).

    Raises
    ------
    InputError
        Unreadable/damaged file, absurd header, missing R/G/B channel.
    """
    raw, names, data, display = _read(Path(path), channels, part, max_pixels)
    return Decoded(raw, names, data, display)


def read_stored(
    path: str | os.PathLike[str],
    *,
    channels: str = "RGBA",
    part: int = 0,
    max_pixels: int = 1 << 28,
) -> tuple[NDArray[Any], tuple[str, ...]]:
    """Read the R, G, B(, A) samples of the DATA window in their stored precision.

    Returns ``(array, names)``: a C-contiguous (H, W, C) array — float16 when
    every channel read is half, else float32 (uint is widened to float32) — and
    the channel names read. Used by validation, which counts what is stored.
    """
    decoded = decode(path, channels=channels, part=part, max_pixels=max_pixels)
    return decoded.stored, decoded.names


def _display_placement(
    spec_data: tuple[int, int, int, int],
    display: tuple[int, int, int, int],
    pixels: NDArray[Any],
) -> NDArray[Any]:
    out = np.zeros(
        (display[3] - display[1] + 1, display[2] - display[0] + 1, pixels.shape[2]),
        pixels.dtype,
    )
    data = spec_data
    # Intersection of the data window with the display window, in each frame.
    x0, y0 = max(data[0], display[0]), max(data[1], display[1])
    x1, y1 = min(data[2], display[2]), min(data[3], display[3])
    if x0 <= x1 and y0 <= y1:
        out[
            y0 - display[1] : y1 - display[1] + 1, x0 - display[0] : x1 - display[0] + 1
        ] = pixels[y0 - data[1] : y1 - data[1] + 1, x0 - data[0] : x1 - data[0] + 1]
    return out


def read_pixels(
    path: str | os.PathLike[str],
    *,
    channels: str = "RGBA",
    part: int = 0,
    max_pixels: int = 1 << 28,
) -> NDArray[np.float32]:
    """Read the RGB(A) pixels of one part, covering the display window.

    Returns a C-contiguous float32 array shaped (H, W, C), H×W the display
    window; data-window pixels sit at their offset and the area outside the
    data window is 0. C is 4 only when ``channels`` asks for ``A`` and the part
    has an alpha channel. Values are the stored values (scene-linear, no
    transform).

    Raises
    ------
    InputError
        Unreadable/damaged file, absurd header, missing R/G/B channel.
    """
    decoded = decode(path, channels=channels, part=part, max_pixels=max_pixels)
    return np.asarray(decoded.pixels(), dtype=np.float32)


def _time_code(label: Timecode | str, fps: Fraction | None = None) -> OpenEXR.TimeCode:
    """Pack a timecode as SMPTE ST 12-1 time code (OpenEXR ``TimeCode``).

    ``label``: a :class:`~hdrpipe.timecode.Timecode` (its fields and drop-frame
    flag), or raw ``HH:MM:SS:FF`` text written as given (``;`` before FF sets the
    drop-frame flag) for headers that need not be valid timecode at their rate.
    The frame field holds 0–29. Above 30 frames per second ST 12-1 counts frame
    *pairs*: the field holds ``FF // 2`` and the field-phase flag marks the second
    frame of a pair (:func:`_decode_time_code` reverses it for such rates).
    """
    if isinstance(label, Timecode):
        hours, minutes, seconds, frame = label.fields()
        drop, text = label.drop_frame, str(label)
    else:
        text = label
        parts = text.replace(";", ":").split(":")
        if len(parts) != 4 or not all(part.isdigit() for part in parts):
            raise InputError(f"time code {text!r}: expected HH:MM:SS:FF")
        hours, minutes, seconds, frame = (int(v) for v in parts)
        drop = ";" in text
    pairs = fps is not None and fps > 30
    if frame >= 30 and not pairs:
        raise InputError(
            f"time code {text!r}: frame {frame} needs a rate above 30 fps "
            f"(framesPerSecond {fps if fps is not None else 'unknown'})"
        )
    tc = OpenEXR.TimeCode()
    tc.hours, tc.minutes, tc.seconds = hours, minutes, seconds
    tc.frame = frame // 2 if pairs else frame
    if pairs:
        tc.fieldPhase = bool(frame % 2)
    tc.dropFrame = drop
    return tc


def _header(
    pixel_h: int,
    pixel_w: int,
    compression: str,
    chromaticities: tuple[float, ...] | None,
    time_code: Timecode | str | None,
    frames_per_second: Fraction | None,
    attributes: Mapping[str, object] | None,
    tiled: bool,
) -> dict[str, object]:
    comp = compression.lower()
    if comp not in COMPRESSIONS:
        raise InputError(
            f"compression {compression!r}: expected one of {sorted(COMPRESSIONS)}"
        )
    header: dict[str, object] = {
        "compression": COMPRESSIONS[comp],
        "type": OpenEXR.tiledimage if tiled else OpenEXR.scanlineimage,
    }
    if tiled:
        tiles = OpenEXR.TileDescription()
        tiles.xSize, tiles.ySize = 64, 64
        tiles.mode = OpenEXR.ONE_LEVEL
        header["tiles"] = tiles
    if chromaticities is not None:
        if len(chromaticities) != 8:
            raise InputError(
                f"chromaticities must be 8 floats, got {len(chromaticities)}"
            )
        header["chromaticities"] = tuple(float(v) for v in chromaticities)
    if time_code is not None:
        header["timeCode"] = _time_code(time_code, frames_per_second)
    if frames_per_second is not None:
        header["framesPerSecond"] = Fraction(frames_per_second)
    for key, value in (attributes or {}).items():
        if isinstance(value, (list, tuple)) and all(
            isinstance(v, float) for v in value
        ):
            header[key] = tuple(value)
        elif isinstance(value, Fraction):
            header[key] = value
        else:
            header[key] = value
    return header


def _channels(pixels: NDArray[Any], pixel_type: str) -> dict[str, NDArray[Any]]:
    arr = np.asarray(pixels)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise InputError(f"pixels must be (H, W, 3|4), got shape {arr.shape}")
    if pixel_type not in _PIXEL_TYPES:
        raise InputError(f"pixel_type {pixel_type!r}: expected half, float or uint")
    arr = arr.astype(_PIXEL_TYPES[pixel_type], copy=False)
    return {
        name: np.ascontiguousarray(arr[:, :, i])
        for i, name in enumerate("RGBA"[: arr.shape[2]])
    }


def _write_atomic(path: Path, exr: OpenEXR.File) -> Path:
    """Write into a private temporary folder beside ``path``, then publish."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"{path.parent}: cannot create: {err.strerror}") from err
    stage = staging_dir(path.parent, path.name)
    try:
        tmp = stage / f"frame{path.suffix or '.exr'}"
        try:
            exr.write(str(tmp))
        except Exception as err:  # OpenEXR raises bare exceptions (disk full too)
            raise OutputError(f"{path}: cannot write EXR: {err}") from err
        publish(tmp, path, overwrite=True)
    finally:
        discard(stage)
    return path


def write_exr(
    path: str | os.PathLike[str],
    pixels: NDArray[Any],
    *,
    pixel_type: str = "half",
    compression: str = "piz",
    chromaticities: tuple[float, ...] | None = None,
    time_code: Timecode | str | None = None,
    frames_per_second: Fraction | None = None,
    attributes: Mapping[str, object] | None = None,
    tiled: bool = False,
) -> Path:
    """Write (H, W, 3|4) pixels as an EXR with channels R, G, B(, A), atomically.

    The file is written in a private temporary folder beside ``path``, synced,
    then renamed over ``path`` (:func:`hdrpipe.outputs.publish`); a write
    failure (disk full, read-only) is an :class:`~hdrpipe.errors.OutputError`.
    ``time_code`` is a :class:`~hdrpipe.timecode.Timecode` (what the pipeline
    writes), or raw ``"HH:MM:SS:FF"`` text (``;`` before FF sets the drop-frame
    flag) to write any header, valid at its rate or not (test fixtures);
    ``attributes`` may hold any standard EXR attribute, e.g.
    ``{"acesImageContainerFlag": 1, "adoptedNeutral": (0.32168, 0.33767)}``.
    Tiled files use 64×64 one-level tiles.
    """
    p = Path(path)
    arr = np.asarray(pixels)
    chans = _channels(arr, pixel_type)
    header = _header(
        arr.shape[0],
        arr.shape[1],
        compression,
        chromaticities,
        time_code,
        frames_per_second,
        attributes,
        tiled,
    )
    try:
        exr = OpenEXR.File(header, chans)
    except Exception as err:
        raise InputError(f"{p}: cannot build EXR header: {err}") from err
    return _write_atomic(p, exr)


def write_exr_multipart(
    path: str | os.PathLike[str],
    images: list[NDArray[Any]],
    *,
    names: list[str] | None = None,
    pixel_type: str = "half",
    compression: str = "piz",
    chromaticities: tuple[float, ...] | None = None,
    attributes: Mapping[str, object] | None = None,
) -> Path:
    """Write (H, W, 3|4) images as the parts of one multi-part EXR, atomically."""
    p = Path(path)
    names = names or [f"part{i}" for i in range(len(images))]
    parts = []
    for image, name in zip(images, names, strict=True):
        arr = np.asarray(image)
        header = _header(
            arr.shape[0],
            arr.shape[1],
            compression,
            chromaticities,
            None,
            None,
            attributes,
            False,
        )
        parts.append(OpenEXR.Part(header, _channels(arr, pixel_type), name))
    try:
        exr = OpenEXR.File(parts)
    except Exception as err:
        raise InputError(f"{p}: cannot build multi-part EXR: {err}") from err
    return _write_atomic(p, exr)
