"""The ISO BMFF box writer on hand-built files, checked with a parser written here."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from hdrpipe.encode import isobmff
from hdrpipe.errors import EncodeError
from hdrpipe.types import ContentLightLevel, MasteringDisplay

BT2020 = MasteringDisplay(
    red=(0.708, 0.292),
    green=(0.170, 0.797),
    blue=(0.131, 0.046),
    white=(0.3127, 0.3290),
    max_luminance=1000.0,
    min_luminance=0.0001,
)


def box(t: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), t) + payload


def walk(
    data: bytes, start: int = 0, end: int | None = None
) -> list[tuple[bytes, int, int]]:
    """Independent flat parser: (type, payload start, end) of the boxes in
    data[start:end].
    """
    end = len(data) if end is None else end
    out, pos = [], start
    while pos < end:
        size, t = struct.unpack_from(">I4s", data, pos)
        assert size >= 8 and pos + size <= end, f"bad box {t!r} at {pos}"
        out.append((t, pos + 8, pos + size))
        pos += size
    assert pos == end, "boxes do not tile their parent exactly"
    return out


def child(
    data: bytes, parent: tuple[bytes, int, int], t: bytes, skip: int = 0
) -> tuple[bytes, int, int]:
    return next(b for b in walk(data, parent[1] + skip, parent[2]) if b[0] == t)


def make_movie(*, moov_first: bool, fourcc: bytes = b"apch") -> tuple[bytes, bytes]:
    """A minimal MOV: ftyp, mdat with a sentinel sample, moov (video trak + tmcd
    trak).
    """
    sentinel = b"SAMPLE-DATA-0123"
    entry_prefix = (
        bytes(6) + struct.pack(">H", 1) + bytes(70)
    )  # SampleEntry + VisualSampleEntry fields
    nclc = box(b"colr", b"nclc" + struct.pack(">HHH", 9, 16, 9))
    fiel = box(b"fiel", b"\x01\x00")
    entry = box(fourcc, entry_prefix + nclc + fiel)
    stsd = box(b"stsd", struct.pack(">II", 0, 1) + entry)

    def moov_bytes(offset: int) -> bytes:
        stco = box(b"stco", struct.pack(">III", 0, 1, offset))
        stbl = box(b"stbl", stsd + stco)
        minf = box(b"minf", box(b"vmhd", bytes(12)) + stbl)
        hdlr = box(b"hdlr", struct.pack(">I4s4s", 0, b"mhlr", b"vide") + bytes(13))
        trak = box(
            b"trak",
            box(b"tkhd", bytes(84))
            + box(b"mdia", box(b"mdhd", bytes(24)) + hdlr + minf),
        )
        tmcd_entry = box(b"tmcd", bytes(26))
        tstbl = box(b"stbl", box(b"stsd", struct.pack(">II", 0, 1) + tmcd_entry))
        thdlr = box(b"hdlr", struct.pack(">I4s4s", 0, b"mhlr", b"tmcd") + bytes(13))
        ttrak = box(b"trak", box(b"mdia", thdlr + box(b"minf", tstbl)))
        return box(b"moov", box(b"mvhd", bytes(100)) + trak + ttrak)

    ftyp = box(b"ftyp", b"qt  " + bytes(4) + b"qt  ")
    mdat_payload = b"\x00" * 5 + sentinel
    if moov_first:
        moov_len = len(moov_bytes(0))
        offset = len(ftyp) + moov_len + 8 + 5
        data = ftyp + moov_bytes(offset) + box(b"mdat", mdat_payload)
    else:
        offset = len(ftyp) + 8 + 5
        data = ftyp + box(b"mdat", mdat_payload) + moov_bytes(offset)
    return data, sentinel


def sample_entry(data: bytes) -> tuple[bytes, int, int]:
    moov = next(b for b in walk(data) if b[0] == b"moov")
    trak = next(b for b in walk(data, moov[1], moov[2]) if b[0] == b"trak")
    mdia = child(data, trak, b"mdia")
    minf = child(data, mdia, b"minf")
    stbl = child(data, minf, b"stbl")
    stsd = child(data, stbl, b"stsd")
    return walk(data, stsd[1] + 8, stsd[2])[0]


def chunk_offset(data: bytes) -> int:
    moov = next(b for b in walk(data) if b[0] == b"moov")
    trak = next(b for b in walk(data, moov[1], moov[2]) if b[0] == b"trak")
    stbl = child(data, child(data, child(data, trak, b"mdia"), b"minf"), b"stbl")
    stco = child(data, stbl, b"stco")
    return struct.unpack_from(">I", data, stco[1] + 8)[0]


def test_box_bytes_match_the_layout() -> None:
    # nclx: 'colr' size 19, then 'nclx', u16 ×3, 1 byte with full_range_flag in the
    # top bit.
    assert (
        isobmff.colr_nclx(9, 16, 9, full_range=False)
        == bytes.fromhex("00000013636f6c72")
        + b"nclx"
        + bytes.fromhex("000900100009")
        + b"\x00"
    )
    assert isobmff.colr_nclx(1, 1, 1, full_range=True)[-1] == 0x80
    # mdcv: G, B, R, WP xy in 0.00002 units, then max, min luminance in 0.0001 cd/m²
    # (u32).
    # BT.2020 (ITU-R BT.2020-2 Table 3): G (0.170, 0.797) → 8500, 39850, …
    expected = struct.pack(
        ">8HII", 8500, 39850, 6550, 2300, 35400, 14600, 15635, 16450, 10_000_000, 1
    )
    assert isobmff.mdcv(BT2020) == struct.pack(">I4s", 32, b"mdcv") + expected
    assert isobmff.clli(ContentLightLevel(1000, 400)) == bytes.fromhex(
        "0000000c636c6c6903e80190"
    )


@pytest.mark.parametrize("moov_first", [False, True], ids=["moov-last", "moov-first"])
def test_patch_sample_entry(tmp_path: Path, moov_first: bool) -> None:
    data, sentinel = make_movie(moov_first=moov_first)
    p = tmp_path / "m.mov"
    p.write_bytes(data)
    assert data[chunk_offset(data) : chunk_offset(data) + len(sentinel)] == sentinel

    colr = isobmff.colr_nclx(9, 16, 9, full_range=False)
    extra = [isobmff.mdcv(BT2020), isobmff.clli(ContentLightLevel(1000, 400))]
    isobmff.patch_video_sample_entry(p, colr=colr, extra=extra)
    out = p.read_bytes()

    walk(out)  # every size tiles its parent
    entry = sample_entry(out)
    kids = walk(out, entry[1] + 78, entry[2])
    assert [k[0] for k in kids] == [b"colr", b"fiel", b"mdcv", b"clli"]
    assert out[kids[0][1] - 8 : kids[0][2]] == colr  # nclc replaced in place by nclx
    assert out[kids[2][1] - 8 : kids[2][2]] == extra[0]
    assert out[kids[3][1] - 8 : kids[3][2]] == extra[1]
    assert len(out) == len(data) + 1 + 32 + 12  # nclc→nclx grows by one byte
    # The chunk offset still points at the sample (shifted when moov precedes mdat).
    off = chunk_offset(out)
    assert out[off : off + len(sentinel)] == sentinel
    # The tmcd track is untouched.
    assert out.count(b"tmcd") == data.count(b"tmcd")

    # Patching again replaces rather than duplicates.
    isobmff.patch_video_sample_entry(
        p, colr=colr, extra=[isobmff.clli(ContentLightLevel(800, 100))]
    )
    again = p.read_bytes()
    entry = sample_entry(again)
    kids = walk(again, entry[1] + 78, entry[2])
    assert [k[0] for k in kids] == [b"colr", b"fiel", b"mdcv", b"clli"]
    assert again[kids[3][1] : kids[3][2]] == struct.pack(">HH", 800, 100)


def test_read_colour_boxes_round_trip(tmp_path: Path) -> None:
    data, _ = make_movie(moov_first=False, fourcc=b"hvc1")
    p = tmp_path / "m.mp4"
    p.write_bytes(data)
    assert isobmff.read_colour_boxes(p)["colr"] == [
        {"type": "nclc", "primaries": 9, "transfer": 16, "matrix": 9}
    ]
    isobmff.patch_video_sample_entry(
        p,
        colr=isobmff.colr_nclx(9, 18, 9, full_range=True),
        extra=[isobmff.clli(ContentLightLevel(4000, 1000))],
    )
    got = isobmff.read_colour_boxes(p)
    assert got["fourcc"] == "hvc1"
    assert got["colr"] == [
        {
            "type": "nclx",
            "primaries": 9,
            "transfer": 18,
            "matrix": 9,
            "full_range": True,
        }
    ]
    assert got["clli"] == {"max_cll": 4000, "max_fall": 1000}
    assert got["mdcv"] is None


@pytest.mark.parametrize(
    ("made", "expected"),
    [
        # QuickTime colr nclc: size 18, 'colr', 'nclc', three u16 indexes.
        (
            isobmff.colr_nclc(9, 16, 9),
            b"\x00\x00\x00\x12colrnclc\x00\x09\x00\x10\x00\x09",
        ),
        # pasp: hSpacing, vSpacing u32 (ISO/IEC 14496-12 §12.1.4.2).
        (isobmff.pasp(1, 1), b"\x00\x00\x00\x10pasp" + b"\x00\x00\x00\x01" * 2),
        (isobmff.pasp(4, 3), b"\x00\x00\x00\x10pasp\x00\x00\x00\x04\x00\x00\x00\x03"),
        # fiel: field count 1 (progressive), ordering 0 (QuickTime).
        (isobmff.fiel(1, 0), b"\x00\x00\x00\x0afiel\x01\x00"),
        (isobmff.fiel(2, 9), b"\x00\x00\x00\x0afiel\x02\x09"),
    ],
    ids=["nclc", "pasp-square", "pasp-4:3", "fiel-progressive", "fiel-interlaced"],
)
def test_quicktime_box_layouts(made: bytes, expected: bytes) -> None:
    assert made == expected


@pytest.mark.parametrize(
    "call",
    [
        lambda: isobmff.pasp(0, 1),
        lambda: isobmff.fiel(1, 1),
        lambda: isobmff.fiel(2, 0),
    ],
    ids=["pasp-zero", "fiel-progressive-ordered", "fiel-interlaced-unordered"],
)
def test_invalid_quicktime_boxes_are_refused(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(EncodeError):
        call()


def test_vendor_pasp_fiel_patched_and_read_back(tmp_path: Path) -> None:
    data, sentinel = make_movie(moov_first=True)
    p = tmp_path / "m.mov"
    p.write_bytes(data)
    isobmff.patch_video_sample_entry(
        p,
        colr=isobmff.colr_nclc(9, 16, 9),
        extra=[isobmff.pasp(1, 1), isobmff.fiel(1, 0)],
        vendor=b"appl",
    )
    out = p.read_bytes()
    entry = sample_entry(out)
    assert out[entry[1] + 12 : entry[1] + 16] == b"appl"  # ImageDescription vendor
    kids = walk(out, entry[1] + 78, entry[2])
    assert [k[0] for k in kids] == [b"colr", b"pasp", b"fiel"]  # old fiel replaced
    off = chunk_offset(out)
    assert out[off : off + len(sentinel)] == sentinel
    got = isobmff.read_colour_boxes(p)
    assert (got["vendor"], got["pasp"], got["fiel"]) == ("appl", [1, 1], [1, 0])
    with pytest.raises(EncodeError, match="four-character"):
        isobmff.patch_video_sample_entry(p, vendor=b"apple")
