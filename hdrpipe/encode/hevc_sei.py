"""Write the final MaxCLL/MaxFALL into the light level SEI of a finished HEVC file.

x265 writes the HDR10 content light level SEI (ITU-T H.265 D.2.35,
``payloadType`` 144: ``max_content_light_level`` and
``max_pic_average_light_level``, u(16) each) into every IRAP access unit when it
opens, before a single frame is coded. Measuring them first costs a whole extra
decode + colour pass, so the writer opens x265 with :data:`PLACEHOLDER` and
:func:`patch_content_light_level` rewrites the four payload bytes of every such
SEI once the stream's real light level is known.

x265 puts each SEI message in its own prefix SEI NAL unit (``nal_unit_type``
39): for the placeholder that NAL is exactly ``4E 01 90 04 FF FF FF FF 80``
(header, payloadType, payloadSize, payload, rbsp trailing bits), found through
the video track's sample table (``stsz``/``stsc``/``stco``|``co64``, ISO/IEC
14496-12 §8.7) and the ``hvcC`` NAL length size (ISO/IEC 14496-15 §8.3.3).

Most values fit the same nine bytes and are patched in place. A value whose
bytes hold ``00 00`` followed by ``00``–``03`` needs an emulation prevention
byte (H.265 §7.4.2: MaxCLL = 0, or MaxCLL a multiple of 256 with MaxFALL ≤ 3):
then each such NAL grows by one byte and the file is rebuilt with its NAL
lengths, sample sizes, chunk offsets and ``mdat`` size adjusted.
"""

from __future__ import annotations

import bisect
import os
import struct
from dataclasses import dataclass
from pathlib import Path

from ..errors import EncodeError
from ..outputs import atomic_open
from ..types import ContentLightLevel
from . import isobmff

__all__ = ["PLACEHOLDER", "patch_content_light_level"]

#: The light level x265 is opened with when the real one is not known yet.
PLACEHOLDER = ContentLightLevel(65535, 65535)

_CLL_PAYLOAD_TYPE = 144  # H.265 Annex D.2.1: content_light_level_info
# forbidden_zero_bit 0, nal_unit_type 39 (PREFIX_SEI_NUT, H.265 Table 7-1),
# nuh_layer_id 0, nuh_temporal_id_plus1 1.
_NAL_HEADER = b"\x4e\x01"


def _escape(rbsp: bytes) -> bytes:
    """H.265 §7.4.2: insert 0x03 after every 00 00 that precedes a byte ≤ 03."""
    out = bytearray()
    zeros = 0
    for byte in rbsp:
        if zeros >= 2 and byte <= 3:
            out.append(3)
            zeros = 0
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


def _cll_nal(level: ContentLightLevel) -> bytes:
    """The whole content-light-level prefix SEI NAL unit (header included)."""
    rbsp = bytes([_CLL_PAYLOAD_TYPE, 4]) + struct.pack(
        ">HH", level.max_cll, level.max_fall
    )
    return _NAL_HEADER + _escape(rbsp + b"\x80")


@dataclass(frozen=True)
class _Table:
    """Where the video samples are, and the ``stbl`` boxes that say so."""

    samples: list[tuple[int, int]]  # (file offset, size), decode order
    nal_length_size: int


def _full_box_u32s(payload: bytes, count: int, at: int = 4) -> tuple[int, ...]:
    return struct.unpack_from(f">{count}I", payload, at)


def _sample_sizes(stsz: isobmff.Box) -> list[int]:
    """Every sample's size from an ``stsz`` box (one size for all, or a table)."""
    size, count = _full_box_u32s(stsz.prefix, 2)
    if size:
        return [size] * count
    return list(_full_box_u32s(stsz.prefix, count, 12))


def _video_stbl(moov: isobmff.Box) -> tuple[isobmff.Box, isobmff.Box]:
    """The video track's ``stbl`` and its sample entry."""
    for trak in moov.find(b"trak"):
        handler = next(trak.find(b"mdia", b"hdlr"), None)
        if handler is None or handler.prefix[8:12] != b"vide":
            continue
        stbl = next(trak.find(b"mdia", b"minf", b"stbl"), None)
        stsd = next(trak.find(b"mdia", b"minf", b"stbl", b"stsd"), None)
        if stbl is not None and stsd is not None and stsd.children:
            return stbl, stsd.children[0]
    raise EncodeError("no video track")


def _child(box: isobmff.Box, *types: bytes) -> isobmff.Box | None:
    return next((c for c in box.children or () if c.type in types), None)


def _table(moov: isobmff.Box) -> _Table:
    stbl, entry = _video_stbl(moov)
    hvcc = _child(entry, b"hvcC")
    stsz, stsc = _child(stbl, b"stsz"), _child(stbl, b"stsc")
    stco = _child(stbl, b"stco", b"co64")
    if hvcc is None or stsz is None or stsc is None or stco is None:
        raise EncodeError("video track without hvcC / stsz / stsc / stco")
    nal_length_size = (hvcc.prefix[21] & 3) + 1
    sizes = _sample_sizes(stsz)
    count = len(sizes)
    (n_runs,) = _full_box_u32s(stsc.prefix, 1)
    runs = [_full_box_u32s(stsc.prefix, 3, 8 + 12 * i) for i in range(n_runs)]
    (n_chunks,) = _full_box_u32s(stco.prefix, 1)
    fmt = ">{}I" if stco.type == b"stco" else ">{}Q"
    chunks = struct.unpack_from(fmt.format(n_chunks), stco.prefix, 8)
    samples: list[tuple[int, int]] = []
    sample = 0
    for i, (first, per_chunk, _desc) in enumerate(runs):
        last = runs[i + 1][0] - 1 if i + 1 < n_runs else n_chunks
        for chunk in range(first, last + 1):
            offset = chunks[chunk - 1]
            for _ in range(per_chunk):
                if sample >= count:
                    break
                samples.append((offset, sizes[sample]))
                offset += sizes[sample]
                sample += 1
    if sample != count:
        raise EncodeError(f"sample table covers {sample} of {count} samples")
    return _Table(samples, nal_length_size)


def _placeholders(path: Path, table: _Table) -> list[tuple[int, int]]:
    """(sample index, file offset of the NAL's length field) of each placeholder SEI.

    Reads only each NAL unit's length field (and the nine bytes of NAL units
    of the placeholder's length), not the coded pictures.
    """
    placeholder = _cll_nal(PLACEHOLDER)
    n = table.nal_length_size
    found = []
    with path.open("rb") as fh:
        for index, (offset, size) in enumerate(table.samples):
            pos = 0
            while pos + n <= size:
                fh.seek(offset + pos)
                length = int.from_bytes(fh.read(n), "big")
                if length == len(placeholder) and fh.read(length) == placeholder:
                    found.append((index, offset + pos))
                pos += n + length
    return found


def patch_content_light_level(
    path: str | os.PathLike[str], level: ContentLightLevel
) -> int:
    """Replace the :data:`PLACEHOLDER` light level SEIs of an HEVC MOV/MP4 by ``level``.

    Returns the number of SEI NAL units rewritten (one per IRAP access unit).

    Raises
    ------
    EncodeError
        The file holds no placeholder SEI (not opened with :data:`PLACEHOLDER`),
        or its sample table is not one this module reads.
    """
    p = Path(path)
    moov = isobmff.read_moov(p)
    try:
        table = _table(moov)
        found = _placeholders(p, table)
    except (struct.error, IndexError, EncodeError) as err:
        raise EncodeError(f"{p}: cannot read the HEVC sample table: {err}") from err
    if not found:
        raise EncodeError(f"{p}: no placeholder content light level SEI to patch")
    nal = _cll_nal(level)
    n = table.nal_length_size
    old = len(_cll_nal(PLACEHOLDER))
    if len(nal) == old:
        with p.open("r+b") as fh:
            for _index, at in found:
                fh.seek(at + n)
                fh.write(nal)
        return len(found)
    _rebuild(p, moov, table, found, nal, old)
    return len(found)


def _rebuild(
    path: Path,
    moov: isobmff.Box,
    table: _Table,
    found: list[tuple[int, int]],
    nal: bytes,
    old: int,
) -> None:
    """Rewrite ``path`` with each placeholder NAL replaced by the longer ``nal``."""
    n = table.nal_length_size
    grow = len(nal) - old
    at = sorted(a for _i, a in found)

    def shift(offset: int) -> int:
        return offset + grow * bisect.bisect_left(at, offset)

    stbl, _entry = _video_stbl(moov)
    stsz = _child(stbl, b"stsz")
    assert stsz is not None
    sizes = _sample_sizes(stsz)
    for index, _a in found:
        sizes[index] += grow
    stsz.prefix = stsz.prefix[:4] + struct.pack(
        f">II{len(sizes)}I", 0, len(sizes), *sizes
    )
    try:
        isobmff.move_chunk_offsets(moov, shift)
    except EncodeError as err:
        raise EncodeError(f"{path}: {err}") from err
    top = isobmff._top_level(path)
    try:
        with path.open("rb") as src, atomic_open(path) as dst:
            for box_type, offset, header, box_size in top:
                if box_type == b"moov":
                    dst.write(moov.to_bytes())
                    continue
                src.seek(offset)
                if box_type != b"mdat":
                    dst.write(src.read(box_size))
                    continue
                inside = [a for a in at if offset < a < offset + box_size]
                new_size = box_size + grow * len(inside)
                if header == 8:
                    if new_size > 0xFFFFFFFF:
                        raise EncodeError(f"{path}: mdat outgrows a 32-bit size")
                    dst.write(struct.pack(">I4s", new_size, b"mdat"))
                else:
                    dst.write(struct.pack(">I4sQ", 1, b"mdat", new_size))
                pos = offset + header
                src.seek(pos)
                for a in inside:
                    _copy(src, dst, a - pos)
                    dst.write((len(nal)).to_bytes(n, "big") + nal)
                    src.seek(a + n + old)
                    pos = a + n + old
                _copy(src, dst, offset + box_size - pos)
    except OSError as err:
        raise EncodeError(f"{path}: cannot rewrite: {err}") from err


def _copy(src: object, dst: object, count: int) -> None:
    left = count
    while left > 0:
        block = src.read(min(left, 1 << 20))  # type: ignore[attr-defined]
        if not block:
            raise EncodeError("file shorter than its boxes say")
        dst.write(block)  # type: ignore[attr-defined]
        left -= len(block)
