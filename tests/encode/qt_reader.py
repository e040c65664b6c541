"""An independent reader of MOV/MP4 boxes and H.264/H.265 NAL units for tests.

Written from the specifications, sharing no code with ``hdrpipe.encode``:
ISO/IEC 14496-12 (boxes, sample tables), Apple's QuickTime File Format
(ImageDescription, ``colr`` nclc, ``fiel``, ``pasp``), ISO/IEC 14496-15
(``avcC``/``hvcC``), ITU-T H.265 §7.3 / Annex D (SEI) and ITU-T H.264 §7.3.2.1 /
Annex E (SPS, VUI).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Movie", "read_movie", "sei_messages", "h264_vui"]

_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"dinf", b"edts"}


def _boxes(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """(type, payload start, box end) of each box in data[start:end]."""
    out = []
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        head = 8
        if size == 1:
            (size,) = struct.unpack_from(">Q", data, pos + 8)
            head = 16
        elif size == 0:
            size = end - pos
        assert size >= head and pos + size <= end, f"bad box {kind!r} at {pos}"
        out.append((kind, pos + head, pos + size))
        pos += size
    return out


def _unescape(ebsp: bytes) -> bytes:
    out, zeros = bytearray(), 0
    for b in ebsp:
        if zeros >= 2 and b == 3:
            zeros = 0
            continue
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return bytes(out)


def sei_messages(nal: bytes) -> list[tuple[int, bytes]]:
    """(payloadType, payload) of each SEI message of an H.265 SEI NAL unit."""
    rbsp = _unescape(nal[2:])
    out, pos = [], 0
    while pos < len(rbsp) and rbsp[pos:] != b"\x80":
        vals = []
        for _ in range(2):
            v = 0
            while rbsp[pos] == 0xFF:
                v, pos = v + 255, pos + 1
            vals.append(v + rbsp[pos])
            pos += 1
        out.append((vals[0], rbsp[pos : pos + vals[1]]))
        pos += vals[1]
    return out


@dataclass
class Movie:
    """What the tests look at in a movie's first video track."""

    fourcc: str = ""
    vendor: bytes = b""
    compressor: str = ""
    depth: int = 0
    entry_boxes: dict[str, list[bytes]] = field(default_factory=dict)
    samples: list[bytes] = field(default_factory=list)  # raw sample data
    nal_length_size: int = 4
    hvcc_nals: list[tuple[int, bytes]] = field(default_factory=list)  # (type, NAL)
    avcc_sps: list[bytes] = field(default_factory=list)

    def box(self, kind: str) -> bytes | None:
        found = self.entry_boxes.get(kind, [])
        assert len(found) <= 1, f"{len(found)} {kind} boxes in the sample entry"
        return found[0] if found else None

    def sample_nals(self, index: int) -> list[bytes]:
        data, n, pos, out = self.samples[index], self.nal_length_size, 0, []
        while pos < len(data):
            length = int.from_bytes(data[pos : pos + n], "big")
            out.append(data[pos + n : pos + n + length])
            pos += n + length
        assert pos == len(data), f"sample {index}: NAL lengths overrun"
        return out


def _walk(
    data: bytes, start: int, end: int, found: dict[bytes, tuple[int, int]]
) -> None:
    """Record the first (payload start, end) of each box type, depth first."""
    for kind, p0, p1 in _boxes(data, start, end):
        found.setdefault(kind, (p0, p1))
        if kind in _CONTAINERS:
            _walk(data, p0, p1, found)


def read_movie(path: Path) -> Movie:
    data = path.read_bytes()
    movie = Movie()
    moov = next(b for b in _boxes(data, 0, len(data)) if b[0] == b"moov")
    for trak in (b for b in _boxes(data, moov[1], moov[2]) if b[0] == b"trak"):
        found: dict[bytes, tuple[int, int]] = {}
        _walk(data, trak[1], trak[2], found)
        hdlr = found[b"hdlr"]
        if data[hdlr[0] + 8 : hdlr[0] + 12] != b"vide":
            continue
        stsd = found[b"stsd"]
        _size, kind = struct.unpack_from(">I4s", data, stsd[0] + 8)
        entry = _boxes(data, stsd[0] + 8, stsd[1])[0]
        e0 = entry[1]
        movie.fourcc = kind.decode()
        # QuickTime ImageDescription / VisualSampleEntry: vendor at byte 12,
        # compressor name (Pascal string, 32 bytes) at 42, depth at 74.
        movie.vendor = data[e0 + 12 : e0 + 16]
        name_len = data[e0 + 42]
        movie.compressor = data[e0 + 43 : e0 + 43 + name_len].decode("latin-1")
        (movie.depth,) = struct.unpack_from(">H", data, e0 + 74)
        for k, p0, p1 in _boxes(data, e0 + 78, entry[2]):
            movie.entry_boxes.setdefault(k.decode("latin-1"), []).append(data[p0:p1])
        hvcc = movie.box("hvcC")
        if hvcc is not None:
            movie.nal_length_size = (hvcc[21] & 3) + 1
            pos = 23
            for _ in range(hvcc[22]):
                nal_type = hvcc[pos] & 0x3F
                (count,) = struct.unpack_from(">H", hvcc, pos + 1)
                pos += 3
                for _ in range(count):
                    (n,) = struct.unpack_from(">H", hvcc, pos)
                    movie.hvcc_nals.append((nal_type, hvcc[pos + 2 : pos + 2 + n]))
                    pos += 2 + n
            assert pos == len(hvcc), "hvcC arrays do not fill the record"
        avcc = movie.box("avcC")
        if avcc is not None:
            movie.nal_length_size = (avcc[4] & 3) + 1
            pos = 6
            for _ in range(avcc[5] & 0x1F):
                (n,) = struct.unpack_from(">H", avcc, pos)
                movie.avcc_sps.append(avcc[pos + 2 : pos + 2 + n])
                pos += 2 + n
        # Sample table: sizes, chunk offsets, samples per chunk.
        p0, _p1 = found[b"stsz"]
        fixed, count = struct.unpack_from(">II", data, p0 + 4)
        sizes = (
            [fixed] * count
            if fixed
            else list(struct.unpack_from(f">{count}I", data, p0 + 12))
        )
        if b"stco" in found:
            p0, _ = found[b"stco"]
            (nc,) = struct.unpack_from(">I", data, p0 + 4)
            chunks = list(struct.unpack_from(f">{nc}I", data, p0 + 8))
        else:
            p0, _ = found[b"co64"]
            (nc,) = struct.unpack_from(">I", data, p0 + 4)
            chunks = list(struct.unpack_from(f">{nc}Q", data, p0 + 8))
        p0, _ = found[b"stsc"]
        (nr,) = struct.unpack_from(">I", data, p0 + 4)
        runs = [struct.unpack_from(">III", data, p0 + 8 + 12 * i) for i in range(nr)]
        s = 0
        for i, (first, per, _d) in enumerate(runs):
            last = runs[i + 1][0] - 1 if i + 1 < nr else nc
            for c in range(first, last + 1):
                off = chunks[c - 1]
                for _ in range(per):
                    movie.samples.append(data[off : off + sizes[s]])
                    off += sizes[s]
                    s += 1
        assert s == count
        return movie
    raise AssertionError(f"{path}: no video track")


class _Bits:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def u(self, n: int) -> int:
        v = 0
        for _ in range(n):
            byte = self.data[self.pos >> 3]
            v = (v << 1) | ((byte >> (7 - (self.pos & 7))) & 1)
            self.pos += 1
        return v

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
        return (1 << zeros) - 1 + self.u(zeros)

    def se(self) -> int:
        k = self.ue()
        return (k + 1) // 2 if k % 2 else -(k // 2)


def _skip_scaling_list(b: _Bits, size: int) -> None:
    last, nxt = 8, 8
    for _ in range(size):
        if nxt:
            nxt = (last + b.se() + 256) % 256
        last = nxt or last


def h264_vui(sps_nal: bytes) -> dict[str, int]:
    """The VUI fields of an H.264 SPS NAL unit (ITU-T H.264 §7.3.2.1.1, E.1.1).

    Returns aspect_ratio_idc (and sar), video_full_range_flag, colour code
    points, timing_info_present_flag, num_units_in_tick, time_scale and
    fixed_frame_rate_flag (whichever are present).
    """
    b = _Bits(_unescape(sps_nal[1:]))
    profile = b.u(8)
    b.u(16)  # constraint flags, reserved, level_idc
    b.ue()  # seq_parameter_set_id
    if profile in (100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135):
        chroma = b.ue()
        if chroma == 3:
            b.u(1)
        b.ue(), b.ue(), b.u(1)  # bit depths, qpprime_y_zero_transform_bypass
        if b.u(1):  # seq_scaling_matrix_present_flag
            for i in range(8 if chroma != 3 else 12):
                if b.u(1):
                    _skip_scaling_list(b, 16 if i < 6 else 64)
    b.ue()  # log2_max_frame_num_minus4
    poc_type = b.ue()
    if poc_type == 0:
        b.ue()
    elif poc_type == 1:
        b.u(1), b.se(), b.se()
        for _ in range(b.ue()):
            b.se()
    b.ue(), b.u(1)  # max_num_ref_frames, gaps_in_frame_num_value_allowed_flag
    b.ue(), b.ue()  # pic_width_in_mbs_minus1, pic_height_in_map_units_minus1
    if not b.u(1):  # frame_mbs_only_flag
        b.u(1)
    b.u(1)  # direct_8x8_inference_flag
    if b.u(1):  # frame_cropping_flag
        b.ue(), b.ue(), b.ue(), b.ue()
    vui: dict[str, int] = {"vui_parameters_present_flag": b.u(1)}
    if not vui["vui_parameters_present_flag"]:
        return vui
    if b.u(1):  # aspect_ratio_info_present_flag
        vui["aspect_ratio_idc"] = b.u(8)
        if vui["aspect_ratio_idc"] == 255:
            vui["sar_width"], vui["sar_height"] = b.u(16), b.u(16)
    if b.u(1):  # overscan_info_present_flag
        b.u(1)
    if b.u(1):  # video_signal_type_present_flag
        b.u(3)
        vui["video_full_range_flag"] = b.u(1)
        if b.u(1):
            vui["colour_primaries"] = b.u(8)
            vui["transfer_characteristics"] = b.u(8)
            vui["matrix_coefficients"] = b.u(8)
    if b.u(1):  # chroma_loc_info_present_flag
        b.ue(), b.ue()
    vui["timing_info_present_flag"] = b.u(1)
    if vui["timing_info_present_flag"]:
        vui["num_units_in_tick"] = b.u(32)
        vui["time_scale"] = b.u(32)
        vui["fixed_frame_rate_flag"] = b.u(1)
    return vui
