"""Write the final MaxCLL/MaxFALL into every light level SEI of an HEVC file; read them.

x265 writes the HDR10 content light level SEI (ITU-T H.265 D.2.35,
``payloadType`` 144: ``max_content_light_level`` and
``max_pic_average_light_level``, u(16) each) into every IRAP access unit when it
opens, before a single frame is coded. Measuring them first costs a whole extra
decode + colour pass, so the writer opens x265 with :data:`PLACEHOLDER` and
:func:`patch_content_light_level` rewrites every such SEI once the stream's real
light level is known.

x265 puts each SEI message in its own prefix SEI NAL unit (``nal_unit_type``
39): for the placeholder that NAL is exactly ``4E 01 90 04 FF FF FF FF 80``
(header, payloadType, payloadSize, payload, rbsp trailing bits). It sits in
two kinds of places, and every copy is patched:

* in band, in the coded samples, found through the video track's sample table
  (``stsz``/``stsc``/``stco``|``co64``, ISO/IEC 14496-12 §8.7) and the ``hvcC``
  NAL length size (ISO/IEC 14496-15 §8.3.3.1);
* out of band, in the ``hvcC`` decoder configuration record of the sample
  entry: FFmpeg copies the header SEIs of the first access unit into its NAL
  unit arrays (ISO/IEC 14496-15 §8.3.3.1.2: ``NAL_unit_type`` 39 arrays, each
  NAL unit preceded by a u(16) ``nalUnitLength``). A reader that opens the file
  (MediaInfo, players that configure the decoder from ``hvcC``) sees this copy
  before any sample.

Most values fit the same nine bytes and are patched in place. A value whose
bytes hold ``00 00`` followed by ``00``–``03`` needs an emulation prevention
byte (H.265 §7.4.2: MaxCLL = 0, or MaxCLL a multiple of 256 with MaxFALL ≤ 3):
then each such NAL grows by one byte (never shrinks: the placeholder itself
needs no emulation prevention byte) and the file is rebuilt with its NAL
lengths, sample sizes, ``hvcC``, chunk offsets (also for the ``moov`` growth
when ``moov`` precedes ``mdat``) and ``mdat`` size adjusted.

:func:`read_hdr_sei` reads every copy back (in-band SEI of each sample, and the
``hvcC`` arrays): the writer's verification requires them to agree with the
``clli``/``mdcv`` boxes and MediaInfo.
"""

from __future__ import annotations

import bisect
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import EncodeError
from ..outputs import atomic_open
from ..types import ContentLightLevel
from . import isobmff

__all__ = [
    "PLACEHOLDER",
    "HdrSei",
    "patch_content_light_level",
    "read_hdr_sei",
    "parse_sei_rbsp",
]

#: The light level x265 is opened with when the real one is not known yet.
PLACEHOLDER = ContentLightLevel(65535, 65535)

_MDCV_PAYLOAD_TYPE = 137  # H.265 Annex D.2.1: mastering_display_colour_volume
_CLL_PAYLOAD_TYPE = 144  # H.265 Annex D.2.1: content_light_level_info
_PREFIX_SEI = 39  # H.265 Table 7-1: PREFIX_SEI_NUT
_IRAP = range(16, 24)  # H.265 Table 7-1: BLA_W_LP .. RSV_IRAP_VCL23
# forbidden_zero_bit 0, nal_unit_type 39 (PREFIX_SEI_NUT, H.265 Table 7-1),
# nuh_layer_id 0, nuh_temporal_id_plus1 1.
_NAL_HEADER = b"\x4e\x01"
# Largest SEI NAL unit read back whole (x265's user data SEI is ~2.5 kB).
_MAX_SEI_NAL = 1 << 16


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


def _unescape(ebsp: bytes) -> bytes:
    """H.265 §7.3.1.1: drop each emulation_prevention_three_byte (00 00 03)."""
    out = bytearray()
    zeros = 0
    for byte in ebsp:
        if zeros >= 2 and byte == 3:
            zeros = 0
            continue
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


def _cll_nal(level: ContentLightLevel) -> bytes:
    """The whole content-light-level prefix SEI NAL unit (header included)."""
    rbsp = bytes([_CLL_PAYLOAD_TYPE, 4]) + struct.pack(
        ">HH", level.max_cll, level.max_fall
    )
    return _NAL_HEADER + _escape(rbsp + b"\x80")


def parse_sei_rbsp(rbsp: bytes) -> Iterator[tuple[int, bytes]]:
    """Yield ``(payloadType, payload)`` of each SEI message of an SEI RBSP.

    ``rbsp`` is the NAL unit payload after the two-byte header, emulation
    prevention bytes removed. H.265 §7.3.5: payloadType and payloadSize are
    each a run of 0xFF bytes (255 each) plus a last byte.

    Raises
    ------
    EncodeError
        A message runs past the end of the NAL unit.
    """
    pos = 0
    # more_rbsp_data(): stop at the rbsp_trailing_bits (0x80 then zero bytes).
    while pos < len(rbsp) and rbsp[pos:].rstrip(b"\x00") not in (b"", b"\x80"):
        values = []
        for _ in range(2):
            value = 0
            while pos < len(rbsp) and rbsp[pos] == 0xFF:
                value += 255
                pos += 1
            if pos >= len(rbsp):
                raise EncodeError("SEI message header runs past the NAL unit")
            value += rbsp[pos]
            pos += 1
            values.append(value)
        payload_type, size = values
        if pos + size > len(rbsp):
            raise EncodeError(
                f"SEI payload {payload_type} of {size} bytes runs past the NAL unit"
            )
        yield payload_type, rbsp[pos : pos + size]
        pos += size


@dataclass(frozen=True)
class HdrSei:
    """Every HDR10 static metadata SEI of an HEVC MOV/MP4, where it was found.

    ``samples``: video samples (access units); ``irap_samples``: decode-order
    indices of the samples holding an IRAP picture (H.265 Table 7-1, types
    16–23). ``in_band_cll``/``in_band_mdcv``: ``(sample index, value)`` of each
    SEI message found in the samples, in decode order; ``hvcc_cll``/
    ``hvcc_mdcv``: each copy in the ``hvcC`` NAL unit arrays. Light levels in
    cd/m²; mastering displays in the integer units of :func:`isobmff.parse_mdcv`.
    """

    samples: int
    irap_samples: tuple[int, ...]
    in_band_cll: tuple[tuple[int, ContentLightLevel], ...]
    in_band_mdcv: tuple[tuple[int, dict[str, object]], ...]
    hvcc_cll: tuple[ContentLightLevel, ...]
    hvcc_mdcv: tuple[dict[str, object], ...]

    def to_dict(self) -> dict[str, object]:
        """A JSON-friendly summary: counts and the distinct values of each copy."""

        def levels(found: list[ContentLightLevel]) -> list[dict[str, int]]:
            distinct = sorted({(v.max_cll, v.max_fall) for v in found})
            return [{"max_cll": c, "max_fall": f} for c, f in distinct]

        def displays(found: list[dict[str, object]]) -> list[dict[str, object]]:
            out: list[dict[str, object]] = []
            for d in found:
                if d not in out:
                    out.append(d)
            return out

        return {
            "samples": self.samples,
            "irap_samples": len(self.irap_samples),
            "in_band": {
                "content_light_level_count": len(self.in_band_cll),
                "content_light_level": levels([v for _i, v in self.in_band_cll]),
                "mastering_display_count": len(self.in_band_mdcv),
                "mastering_display": displays([v for _i, v in self.in_band_mdcv]),
            },
            "hvcC": {
                "content_light_level": levels(list(self.hvcc_cll)),
                "mastering_display": displays(list(self.hvcc_mdcv)),
            },
        }


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


def _hvcc(moov: isobmff.Box) -> isobmff.Box:
    _stbl, entry = _video_stbl(moov)
    hvcc = _child(entry, b"hvcC")
    if hvcc is None:
        raise EncodeError("video sample entry without hvcC")
    return hvcc


def _table(moov: isobmff.Box) -> _Table:
    stbl, _entry = _video_stbl(moov)
    hvcc = _hvcc(moov)
    stsz, stsc = _child(stbl, b"stsz"), _child(stbl, b"stsc")
    stco = _child(stbl, b"stco", b"co64")
    if stsz is None or stsc is None or stco is None:
        raise EncodeError("video track without stsz / stsc / stco")
    # ISO/IEC 14496-15 §8.3.3.1.2: lengthSizeMinusOne, low 2 bits of byte 21.
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


# -- hvcC NAL unit arrays (ISO/IEC 14496-15 §8.3.3.1.2) -----------------------------

# Bytes of HEVCDecoderConfigurationRecord before numOfArrays.
_HVCC_HEADER = 22


def _hvcc_nals(record: bytes) -> list[tuple[int, int, bytes]]:
    """(array NAL_unit_type, offset of the u16 nalUnitLength, NAL unit) of each NAL."""
    if len(record) < _HVCC_HEADER + 1:
        raise EncodeError(f"hvcC of {len(record)} bytes is too short")
    pos = _HVCC_HEADER + 1
    out = []
    for _ in range(record[_HVCC_HEADER]):
        nal_type = record[pos] & 0x3F
        (count,) = struct.unpack_from(">H", record, pos + 1)
        pos += 3
        for _ in range(count):
            (length,) = struct.unpack_from(">H", record, pos)
            if pos + 2 + length > len(record):
                raise EncodeError("hvcC NAL unit runs past the record")
            out.append((nal_type, pos, record[pos + 2 : pos + 2 + length]))
            pos += 2 + length
    return out


def _patch_hvcc(record: bytes, old: bytes, new: bytes) -> tuple[bytes, int]:
    """Replace each NAL unit ``old`` of the hvcC arrays by ``new``.

    Returns the new record and the number of NAL units replaced.
    """
    out = bytearray()
    last = 0
    n = 0
    for _nal_type, at, nal in _hvcc_nals(record):
        if nal != old:
            continue
        out += record[last:at] + struct.pack(">H", len(new)) + new
        last = at + 2 + len(old)
        n += 1
    return bytes(out + record[last:]), n


# -- reading every copy -------------------------------------------------------------


def _sei_messages(nal: bytes) -> Iterator[tuple[int, bytes]]:
    return parse_sei_rbsp(_unescape(nal[2:]))


def _collect(
    nal: bytes, cll: list[ContentLightLevel], mdcv: list[dict[str, object]]
) -> None:
    for payload_type, payload in _sei_messages(nal):
        if payload_type == _CLL_PAYLOAD_TYPE and len(payload) >= 4:
            cll.append(ContentLightLevel(*struct.unpack_from(">HH", payload)))
        elif payload_type == _MDCV_PAYLOAD_TYPE and len(payload) >= 24:
            mdcv.append(isobmff.parse_mdcv(payload))  # H.265 D.2.28 = mdcv layout


def read_hdr_sei(path: str | os.PathLike[str]) -> HdrSei:
    """Read every content light level and mastering display SEI of an HEVC MOV/MP4.

    Walks the NAL units of every video sample (reading only NAL headers, and
    whole NAL units only for prefix SEIs) and the ``hvcC`` arrays.

    Raises
    ------
    EncodeError
        No HEVC video track, or its sample table or NAL units cannot be read.
    """
    p = Path(path)
    try:
        moov = isobmff.read_moov(p)
        table = _table(moov)
        record = _hvcc(moov).prefix
        hvcc_cll: list[ContentLightLevel] = []
        hvcc_mdcv: list[dict[str, object]] = []
        for nal_type, _at, nal in _hvcc_nals(record):
            if nal_type == _PREFIX_SEI:
                _collect(nal, hvcc_cll, hvcc_mdcv)
        irap: list[int] = []
        in_cll: list[tuple[int, ContentLightLevel]] = []
        in_mdcv: list[tuple[int, dict[str, object]]] = []
        n = table.nal_length_size
        with p.open("rb") as fh:
            for index, (offset, size) in enumerate(table.samples):
                pos = 0
                is_irap = False
                while pos + n + 2 <= size:
                    fh.seek(offset + pos)
                    length = int.from_bytes(fh.read(n), "big")
                    if length < 2 or pos + n + length > size:
                        raise EncodeError(
                            f"sample {index}: NAL unit of {length} bytes at byte "
                            f"{pos} does not fit the sample ({size} bytes)"
                        )
                    head = fh.read(2)
                    nal_type = (head[0] >> 1) & 0x3F
                    is_irap = is_irap or nal_type in _IRAP
                    if nal_type == _PREFIX_SEI and length <= _MAX_SEI_NAL:
                        cll: list[ContentLightLevel] = []
                        mdcv: list[dict[str, object]] = []
                        _collect(head + fh.read(length - 2), cll, mdcv)
                        in_cll += [(index, v) for v in cll]
                        in_mdcv += [(index, v) for v in mdcv]
                    pos += n + length
                if is_irap:
                    irap.append(index)
    except (struct.error, IndexError, OSError) as err:
        raise EncodeError(f"{p}: cannot read the HEVC SEI: {err}") from err
    except EncodeError as err:
        raise EncodeError(f"{p}: cannot read the HEVC SEI: {err}") from err
    return HdrSei(
        samples=len(table.samples),
        irap_samples=tuple(irap),
        in_band_cll=tuple(in_cll),
        in_band_mdcv=tuple(in_mdcv),
        hvcc_cll=tuple(hvcc_cll),
        hvcc_mdcv=tuple(hvcc_mdcv),
    )


# -- patching -----------------------------------------------------------------------


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
    """Replace every :data:`PLACEHOLDER` light level SEI of an HEVC file by ``level``.

    Both the in-band SEI NAL units (one per IRAP access unit) and the copies in
    the ``hvcC`` NAL unit arrays are rewritten. Returns the number of SEI NAL
    units rewritten, ``hvcC`` copies included.

    Raises
    ------
    EncodeError
        The file holds no placeholder SEI (not opened with :data:`PLACEHOLDER`),
        or its sample table is not one this module reads.
    """
    p = Path(path)
    top = isobmff._top_level(p)
    moov_at = next((t for t in top if t[0] == b"moov"), None)
    if moov_at is None:
        raise EncodeError(f"{p}: no moov box")
    moov = isobmff.read_moov(p)
    old_nal, nal = _cll_nal(PLACEHOLDER), _cll_nal(level)
    try:
        table = _table(moov)
        found = _placeholders(p, table)
        hvcc = _hvcc(moov)
        hvcc.prefix, in_hvcc = _patch_hvcc(hvcc.prefix, old_nal, nal)
    except (struct.error, IndexError, EncodeError) as err:
        raise EncodeError(f"{p}: cannot read the HEVC sample table: {err}") from err
    if not found and not in_hvcc:
        raise EncodeError(f"{p}: no placeholder content light level SEI to patch")
    n = table.nal_length_size
    if len(nal) == len(old_nal):
        new_moov = moov.to_bytes()
        _type, moov_off, _header, moov_size = moov_at
        if len(new_moov) != moov_size:  # same-length NALs cannot change moov
            raise EncodeError(f"{p}: moov size changed by an in-place patch")
        with p.open("r+b") as fh:
            for _index, at in found:
                fh.seek(at + n)
                fh.write(nal)
            fh.seek(moov_off)
            fh.write(new_moov)
        return len(found) + in_hvcc
    _rebuild(p, moov, top, table, found, nal, len(old_nal))
    return len(found) + in_hvcc


def _rebuild(
    path: Path,
    moov: isobmff.Box,
    top: list[tuple[bytes, int, int, int]],
    table: _Table,
    found: list[tuple[int, int]],
    nal: bytes,
    old: int,
) -> None:
    """Rewrite ``path`` with each placeholder NAL replaced by the longer ``nal``.

    ``moov`` already holds the patched ``hvcC``; here the sample sizes and
    chunk offsets follow the NAL growth in ``mdat`` and, when ``moov`` comes
    before the media data, the growth of ``moov`` itself.
    """
    n = table.nal_length_size
    grow = len(nal) - old
    at = sorted(a for _i, a in found)
    stbl, _entry = _video_stbl(moov)
    stsz = _child(stbl, b"stsz")
    assert stsz is not None
    sizes = _sample_sizes(stsz)
    for index, _a in found:
        sizes[index] += grow
    stsz.prefix = stsz.prefix[:4] + struct.pack(
        f">II{len(sizes)}I", 0, len(sizes), *sizes
    )
    _t, moov_off, _h, moov_size = next(t for t in top if t[0] == b"moov")
    # Chunk offsets keep their width (stco stays stco), so moov's size is final here.
    moov_grow = len(moov.to_bytes()) - moov_size

    def shift(offset: int) -> int:
        before_moov = moov_grow if moov_off < offset else 0
        return offset + before_moov + grow * bisect.bisect_left(at, offset)

    try:
        isobmff.move_chunk_offsets(moov, shift)
    except EncodeError as err:
        raise EncodeError(f"{path}: {err}") from err
    try:
        with path.open("rb") as src, atomic_open(path) as dst:
            for box_type, offset, header, box_size in top:
                if box_type == b"moov":
                    dst.write(moov.to_bytes())
                    continue
                src.seek(offset)
                if box_type != b"mdat":
                    _copy(src, dst, box_size)
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
