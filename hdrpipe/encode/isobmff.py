"""A small ISO BMFF / QuickTime box reader and writer for the video sample entry.

FFmpeg (as bundled with PyAV 18) offers no way to attach ``mdcv``/``clli``,
writes ``FFMP`` as the QuickTime vendor and writes ``pasp``/``fiel`` only when
the stream's aspect ratio / field order are set. This module rewrites the video
sample entry of a finished MOV/MP4 so it carries (see
``docs/container-metadata.md`` for which box goes where, and the sources):

* ``colr`` type ``nclc`` (MOV; Apple QuickTime File Format, "Color parameter
  atom": primaries, transfer function and matrix indexes, u16 each, no range
  flag) or ``nclx`` (MP4; the same three ITU-T H.273 code points plus
  ``full_range_flag`` (1 bit) + 7 reserved bits, ISO/IEC 14496-12:2022 §12.1.5);
* ``pasp`` — PixelAspectRatioBox, hSpacing and vSpacing (u32 each, ISO/IEC
  14496-12:2022 §12.1.4; QuickTime "Pixel aspect ratio");
* ``fiel`` — QuickTime field handling: field count (u8, 1 = progressive) and
  field ordering (u8, 0 = only one field) (QuickTime File Format, "Video sample
  description extensions");
* ``mdcv`` — MasteringDisplayColourVolumeBox (ISO/IEC 14496-12:2022 §12.1.6 /
  Apple QuickTime File Format): display_primaries_x/y for G, B, R (u16, 0.00002
  units), white_point_x/y (u16), max then min display_mastering_luminance (u32,
  0.0001 cd/m²), same order and units as the H.265 D.2.28 SEI / SMPTE ST 2086;
* ``clli`` — ContentLightLevelBox (§12.1.7): max_content_light_level,
  max_pic_average_light_level (u16, cd/m²; CTA-861.3).

Growing the sample entry grows every ancestor box; if ``moov`` precedes
``mdat`` every ``stco``/``co64`` chunk offset is shifted by the growth.
"""

from __future__ import annotations

import os
import shutil
import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import EncodeError
from ..outputs import atomic_open
from ..types import ContentLightLevel, MasteringDisplay

__all__ = [
    "Box",
    "parse_boxes",
    "serialize_boxes",
    "make_box",
    "colr_nclx",
    "colr_nclc",
    "pasp",
    "fiel",
    "mdcv",
    "clli",
    "parse_colr",
    "parse_mdcv",
    "parse_clli",
    "parse_pasp",
    "parse_fiel",
    "read_moov",
    "video_sample_entries",
    "move_chunk_offsets",
    "patch_video_sample_entry",
    "read_colour_boxes",
]

# Boxes whose payload is only child boxes.
_CONTAINERS = frozenset(
    {
        b"moov",
        b"trak",
        b"mdia",
        b"minf",
        b"stbl",
        b"edts",
        b"dinf",
        b"mvex",
        b"moof",
        b"traf",
    }
)
# Bytes between a VisualSampleEntry header and its child boxes (ISO/IEC 14496-12
# §12.1.3: SampleEntry 8 + VisualSampleEntry 70; same as QuickTime ImageDescription).
_VISUAL_SAMPLE_ENTRY_PREFIX = 78
# QuickTime ImageDescription "Vendor" (ISO: pre_defined/reserved), bytes 12-15.
_VENDOR = slice(12, 16)


@dataclass
class Box:
    """One box: ``type`` (4 bytes), a raw ``prefix`` (non-box payload before children),
    ``children`` (for containers) and a raw ``suffix`` (trailing non-box bytes)."""

    type: bytes
    prefix: bytes = b""
    children: list[Box] | None = None
    suffix: bytes = b""

    @property
    def payload(self) -> bytes:
        if self.children is None:
            return self.prefix
        return self.prefix + serialize_boxes(self.children) + self.suffix

    def to_bytes(self) -> bytes:
        body = self.payload
        size = len(body) + 8
        if size <= 0xFFFFFFFF:
            return struct.pack(">I4s", size, self.type) + body
        return struct.pack(">I4sQ", 1, self.type, size + 8) + body

    def find(self, *path: bytes) -> Iterator[Box]:
        """Yield descendants along ``path`` (each element a child type)."""
        if not path:
            yield self
            return
        for child in self.children or ():
            if child.type == path[0]:
                yield from child.find(*path[1:])


def make_box(box_type: bytes | str, payload: bytes) -> bytes:
    """Return the bytes of a box with a 32-bit size header."""
    t = box_type.encode("ascii") if isinstance(box_type, str) else box_type
    return struct.pack(">I4s", len(payload) + 8, t) + payload


def _iter_raw(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """Yield (type, payload start, end) of the boxes in data[start:end]."""
    pos = start
    while pos + 8 <= end:
        size, box_type = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            if pos + 16 > end:
                break
            (size,) = struct.unpack_from(">Q", data, pos + 8)
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            break
        yield box_type, pos + header, pos + size
        pos += size


def parse_boxes(
    data: bytes, *, handler: bytes | None = None
) -> tuple[list[Box], bytes]:
    """Parse a run of boxes; return (boxes, trailing bytes that are not a box).

    Containers are parsed recursively; ``stsd`` and the visual sample entries of a
    ``vide`` track are parsed too (so their child boxes can be edited); any other
    box keeps its payload as raw ``prefix`` bytes.
    """
    boxes: list[Box] = []
    pos = 0
    for box_type, p0, p1 in _iter_raw(data, 0, len(data)):
        payload = data[p0:p1]
        pos = p1
        if box_type == b"trak":
            h = _track_handler(payload)
            kids, tail = parse_boxes(payload, handler=h)
            boxes.append(Box(box_type, b"", kids, tail))
        elif box_type in _CONTAINERS:
            kids, tail = parse_boxes(payload, handler=handler)
            boxes.append(Box(box_type, b"", kids, tail))
        elif box_type == b"stsd" and handler == b"vide" and len(payload) >= 8:
            entries, tail = parse_boxes(payload[8:], handler=b"vide-entry")
            boxes.append(Box(box_type, payload[:8], entries, tail))
        elif handler == b"vide-entry" and len(payload) >= _VISUAL_SAMPLE_ENTRY_PREFIX:
            kids, tail = parse_boxes(payload[_VISUAL_SAMPLE_ENTRY_PREFIX:])
            boxes.append(
                Box(box_type, payload[:_VISUAL_SAMPLE_ENTRY_PREFIX], kids, tail)
            )
        else:
            boxes.append(Box(box_type, payload))
    return boxes, data[pos:]


def _track_handler(trak_payload: bytes) -> bytes | None:
    """Return a track's ``mdia/hdlr`` handler_type (``b"vide"``, ``b"tmcd"``, …)."""
    for t, p0, p1 in _iter_raw(trak_payload, 0, len(trak_payload)):
        if t != b"mdia":
            continue
        for t2, q0, q1 in _iter_raw(trak_payload, p0, p1):
            if t2 == b"hdlr" and q1 - q0 >= 12:
                return trak_payload[q0 + 8 : q0 + 12]
    return None


def serialize_boxes(boxes: Sequence[Box]) -> bytes:
    """Serialise boxes, recomputing every size."""
    return b"".join(b.to_bytes() for b in boxes)


# -- colour boxes -----------------------------------------------------------------


def colr_nclx(primaries: int, transfer: int, matrix: int, *, full_range: bool) -> bytes:
    """Return a ``colr`` box of type ``nclx`` (19 bytes), ISO/IEC 14496-12 §12.1.5."""
    return make_box(
        b"colr",
        b"nclx"
        + struct.pack(">HHHB", primaries, transfer, matrix, 0x80 if full_range else 0),
    )


def colr_nclc(primaries: int, transfer: int, matrix: int) -> bytes:
    """Return a QuickTime ``colr`` box of type ``nclc`` (18 bytes).

    Apple QuickTime File Format, "Color parameter atom ('colr')": parameter type
    ``nclc``, then primaries, transfer function and matrix indexes (u16 each;
    the same code points as ITU-T H.273). No range flag: QuickTime video is
    narrow range unless the codec says otherwise (ProRes always is, SMPTE RDD 36).
    """
    return make_box(b"colr", b"nclc" + struct.pack(">HHH", primaries, transfer, matrix))


def pasp(h_spacing: int, v_spacing: int) -> bytes:
    """Return a ``pasp`` box (16 bytes): pixel aspect h_spacing:v_spacing (1:1 square).

    ISO/IEC 14496-12:2022 §12.1.4.2 (PixelAspectRatioBox), QuickTime "Pixel
    aspect ratio ('pasp')": hSpacing, vSpacing as u32, relative (not reduced
    necessarily; both > 0).
    """
    if h_spacing <= 0 or v_spacing <= 0:
        raise EncodeError(f"pixel aspect {h_spacing}:{v_spacing} must be positive")
    return make_box(b"pasp", struct.pack(">II", h_spacing, v_spacing))


def fiel(field_count: int = 1, field_ordering: int = 0) -> bytes:
    """Return a QuickTime ``fiel`` box (10 bytes); progressive is ``1, 0``.

    QuickTime File Format, "Video sample description extensions": field count
    1 (progressive) or 2 (interlaced), field ordering 0 when there is one field
    (1, 6, 9, 14 for the interlaced variants).
    """
    if (field_count, field_ordering) != (1, 0) and not (
        field_count == 2 and field_ordering in (1, 6, 9, 14)
    ):
        raise EncodeError(f"fiel {field_count}/{field_ordering} is not a valid pair")
    return make_box(b"fiel", bytes([field_count, field_ordering]))


def mdcv(display: MasteringDisplay) -> bytes:
    """Return an ``mdcv`` box (32 bytes) for ``display`` (G, B, R, white; max, min)."""
    u = display.xy_units()
    lmax, lmin = display.luminance_units()
    for k, (x, y) in u.items():
        if not (0 <= x <= 50000 and 0 <= y <= 50000):
            raise EncodeError(
                f"mastering display {k} xy units {x},{y} outside 0..50000"
            )
    payload = struct.pack(">8HII", *u["G"], *u["B"], *u["R"], *u["WP"], lmax, lmin)
    return make_box(b"mdcv", payload)


def clli(level: ContentLightLevel) -> bytes:
    """Return a ``clli`` box (12 bytes): MaxCLL, MaxFALL (cd/m²)."""
    return make_box(b"clli", struct.pack(">HH", level.max_cll, level.max_fall))


def parse_colr(payload: bytes) -> dict[str, object]:
    """Decode a ``colr`` payload (nclx, nclc or ICC) into a dict."""
    kind = payload[:4].decode("latin-1")
    out: dict[str, object] = {"type": kind}
    if kind in ("nclx", "nclc") and len(payload) >= 10:
        p, t, m = struct.unpack_from(">HHH", payload, 4)
        out.update(primaries=p, transfer=t, matrix=m)
        if kind == "nclx" and len(payload) >= 11:
            out["full_range"] = bool(payload[10] & 0x80)
    return out


def parse_mdcv(payload: bytes) -> dict[str, object]:
    """Decode an ``mdcv`` payload: xy in 0.00002 units, luminance in 0.0001 cd/m²."""
    v = struct.unpack_from(">8HII", payload, 0)
    return {
        "G": (v[0], v[1]),
        "B": (v[2], v[3]),
        "R": (v[4], v[5]),
        "WP": (v[6], v[7]),
        "max_luminance": v[8],
        "min_luminance": v[9],
    }


def parse_pasp(payload: bytes) -> tuple[int, int]:
    """Decode a ``pasp`` payload: (hSpacing, vSpacing)."""
    h, v = struct.unpack_from(">II", payload, 0)
    return h, v


def parse_fiel(payload: bytes) -> tuple[int, int]:
    """Decode a ``fiel`` payload: (field count, field ordering)."""
    return payload[0], payload[1]


def parse_clli(payload: bytes) -> dict[str, int]:
    """Decode a ``clli`` payload."""
    max_cll, max_fall = struct.unpack_from(">HH", payload, 0)
    return {"max_cll": max_cll, "max_fall": max_fall}


# -- file level -------------------------------------------------------------------


def _top_level(path: Path) -> list[tuple[bytes, int, int, int]]:
    """Return (type, offset, header_size, size) of each top-level box of a file."""
    out = []
    file_size = path.stat().st_size
    with path.open("rb") as fh:
        pos = 0
        while pos + 8 <= file_size:
            fh.seek(pos)
            head = fh.read(16)
            size, box_type = struct.unpack_from(">I4s", head, 0)
            header = 8
            if size == 1:
                (size,) = struct.unpack_from(">Q", head, 8)
                header = 16
            elif size == 0:
                size = file_size - pos
            if size < header or pos + size > file_size:
                raise EncodeError(f"{path}: damaged box {box_type!r} at offset {pos}")
            out.append((box_type, pos, header, size))
            pos += size
    return out


def read_moov(path: str | os.PathLike[str]) -> Box:
    """Read and parse the ``moov`` box of a MOV/MP4 file."""
    p = Path(path)
    top = _top_level(p)
    for box_type, off, header, size in top:
        if box_type == b"moov":
            with p.open("rb") as fh:
                fh.seek(off + header)
                payload = fh.read(size - header)
            kids, tail = parse_boxes(payload)
            return Box(b"moov", b"", kids, tail)
    raise EncodeError(f"{p}: no moov box")


def video_sample_entries(moov: Box) -> list[Box]:
    """Return the sample entries of every video (``vide``) track."""
    out: list[Box] = []
    for stsd in moov.find(b"trak", b"mdia", b"minf", b"stbl", b"stsd"):
        if stsd.children is not None:
            out.extend(stsd.children)
    return out


def read_colour_boxes(path: str | os.PathLike[str]) -> dict[str, object]:
    """Return the first video sample entry's fourcc, QuickTime vendor and decoded
    colr/mdcv/clli/pasp/fiel (``None`` when absent)."""
    entries = video_sample_entries(read_moov(path))
    if not entries:
        raise EncodeError(f"{path}: no video sample entry")
    entry = entries[0]
    colr: list[dict[str, object]] = []
    out: dict[str, object] = {
        "fourcc": entry.type.decode("latin-1"),
        "vendor": entry.prefix[_VENDOR].decode("latin-1")
        if entry.prefix[_VENDOR].strip(b"\0")
        else None,
        "colr": colr,
        "mdcv": None,
        "clli": None,
        "pasp": None,
        "fiel": None,
    }
    for child in entry.children or ():
        if child.type == b"colr":
            colr.append(parse_colr(child.prefix))
        elif child.type == b"mdcv":
            out["mdcv"] = parse_mdcv(child.prefix)
        elif child.type == b"clli":
            out["clli"] = parse_clli(child.prefix)
        elif child.type == b"pasp":
            out["pasp"] = list(parse_pasp(child.prefix))
        elif child.type == b"fiel":
            out["fiel"] = list(parse_fiel(child.prefix))
    return out


@dataclass
class _Patch:
    colr: bytes | None
    extra: list[bytes] = field(default_factory=list)
    vendor: bytes | None = None


def _patch_entry(entry: Box, patch: _Patch) -> None:
    if patch.vendor is not None:
        if len(patch.vendor) != 4 or len(entry.prefix) < _VENDOR.stop:
            raise EncodeError(f"vendor {patch.vendor!r} is not a four-character code")
        entry.prefix = (
            entry.prefix[: _VENDOR.start] + patch.vendor + entry.prefix[_VENDOR.stop :]
        )
    kids = entry.children if entry.children is not None else []
    drop = {bytes(raw[4:8]) for raw in patch.extra}
    new: list[Box] = []
    placed = False
    for child in kids:
        if (
            child.type == b"colr"
            and patch.colr
            and child.prefix[:4] in (b"nclc", b"nclx")
        ):
            if not placed:  # replace the first nclc/nclx in place, drop others
                new.append(Box(b"colr", patch.colr[8:]))
                placed = True
            continue
        if child.type in drop:
            continue
        new.append(child)
    if patch.colr and not placed:
        new.append(Box(b"colr", patch.colr[8:]))
    for raw in patch.extra:
        new.append(Box(raw[4:8], raw[8:]))
    entry.children = new


def move_chunk_offsets(moov: Box, move: Callable[[int], int]) -> None:
    """Rewrite every track's ``stco``/``co64`` chunk offsets through ``move``.

    Raises
    ------
    EncodeError
        A moved offset no longer fits its box (32-bit ``stco``).
    """
    for stbl in moov.find(b"trak", b"mdia", b"minf", b"stbl"):
        for child in stbl.children or ():
            if child.type not in (b"stco", b"co64"):
                continue
            (n,) = struct.unpack_from(">I", child.prefix, 4)
            fmt = f">{n}{'Q' if child.type == b'co64' else 'I'}"
            moved = [move(o) for o in struct.unpack_from(fmt, child.prefix, 8)]
            try:
                child.prefix = child.prefix[:8] + struct.pack(fmt, *moved)
            except struct.error as err:
                raise EncodeError(
                    f"chunk offsets overflow {child.type.decode()}: {err}"
                ) from err


def patch_video_sample_entry(
    path: str | os.PathLike[str],
    *,
    colr: bytes | None = None,
    extra: Sequence[bytes] = (),
    vendor: bytes | None = None,
) -> None:
    """Rewrite the video sample entry of ``path`` in place.

    ``colr`` (a full box, e.g. from :func:`colr_nclx`) replaces an existing
    ``nclc``/``nclx`` colr (or is appended); ``extra`` boxes (``pasp``, ``fiel``,
    ``mdcv``, ``clli``) replace any of the same type and are appended at the end
    of the entry; ``vendor`` (four bytes) replaces the QuickTime vendor field.
    When ``moov`` is the last box it is rewritten in place; otherwise the file
    is rebuilt through a sibling temporary file (with chunk offsets shifted when
    ``moov`` precedes the media data).
    """
    p = Path(path)
    top = _top_level(p)
    idx = next((i for i, t in enumerate(top) if t[0] == b"moov"), None)
    if idx is None:
        raise EncodeError(f"{p}: no moov box")
    _, off, header, size = top[idx]
    with p.open("rb") as fh:
        fh.seek(off + header)
        kids, tail = parse_boxes(fh.read(size - header))
    moov = Box(b"moov", b"", kids, tail)
    entries = video_sample_entries(moov)
    if not entries:
        raise EncodeError(f"{p}: no video sample entry to patch")
    for entry in entries:
        _patch_entry(entry, _Patch(colr, list(extra), vendor))
    new_moov = moov.to_bytes()
    delta = len(new_moov) - size
    mdat_after = any(t[0] == b"mdat" and t[1] > off for t in top)
    if mdat_after and delta:
        move_chunk_offsets(moov, lambda offset: offset + delta)
        new_moov = moov.to_bytes()
    if idx == len(top) - 1:
        with p.open("r+b") as fh:
            fh.seek(off)
            fh.write(new_moov)
            fh.truncate()
        return
    try:
        with p.open("rb") as src, atomic_open(p) as dst:
            shutil.copyfileobj(_Limited(src, off), dst)
            dst.write(new_moov)
            src.seek(off + size)
            shutil.copyfileobj(src, dst)
    except OSError as err:
        raise EncodeError(f"{p}: cannot rewrite: {err}") from err


class _Limited:
    """File-like that reads at most ``n`` bytes from the start of ``fh``."""

    def __init__(self, fh: object, n: int) -> None:
        self._fh = fh
        self._left = n
        fh.seek(0)  # type: ignore[attr-defined]

    def read(self, k: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        k = self._left if k < 0 else min(k, self._left)
        data: bytes = self._fh.read(k)  # type: ignore[attr-defined]
        self._left -= len(data)
        return data
