"""HEVC HDR10 opened without MaxCLL/MaxFALL: the light level SEI patched at close.

Independent readers: FFmpeg's HEVC decoder (PyAV frame side data
CONTENT_LIGHT_LEVEL, from the SEI of the bitstream), MediaInfo (SEI + boxes,
timecode track), the test's own box/NAL parser (``qt_reader``: the SEI in every
IRAP sample and in the ``hvcC`` arrays), and the decoded pixels of the same
frames encoded with the level given at open (the bitstreams differ only in the
SEI bytes).
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from encode_helpers import decode_planes, make_frames
from pymediainfo import MediaInfo
from qt_reader import read_movie, sei_messages

from hdrpipe.encode import get_preset, open_writer, verify
from hdrpipe.encode.hevc_sei import (
    PLACEHOLDER,
    _escape,
    parse_sei_rbsp,
    patch_content_light_level,
    read_hdr_sei,
)
from hdrpipe.encode.isobmff import read_colour_boxes
from hdrpipe.encode.video import default_mastering
from hdrpipe.errors import EncodeError
from hdrpipe.timecode import Timecode
from hdrpipe.types import ContentLightLevel, Rate

W, H, N = 96, 64, 13
RATE = Rate(Fraction(24))
TC = Timecode.parse("01:00:00:00", RATE)


def _spec():  # type: ignore[no-untyped-def]
    spec = get_preset("hevc-hdr10")
    # An IRAP (and so a light level SEI) every 4 frames: several to patch.
    params = spec.options["x265-params"] + ":keyint=4:min-keyint=4"
    return replace(spec, options={**dict(spec.options), "x265-params": params})


def _encode(path: Path, frames, at_open, at_close) -> None:  # type: ignore[no-untyped-def]
    w = open_writer(
        _spec(),
        path,
        width=W,
        height=H,
        rate=RATE,
        start_timecode=TC,
        light_level=at_open,
    )
    with w:
        for f in frames:
            w.write(f)
        w.close(light_level=at_close)


def _own_parser_levels(path: Path) -> tuple[set[tuple[int, int]], int, int]:
    """(distinct (MaxCLL, MaxFALL) of every light level SEI, in-band count, hvcC
    count), read with the test's own parser (H.265 D.2.35: two u(16))."""
    movie = read_movie(path)
    seen: set[tuple[int, int]] = set()
    in_band = in_hvcc = 0
    for index in range(len(movie.samples)):
        nals = movie.sample_nals(index)
        irap = any(16 <= (n[0] >> 1) & 0x3F <= 23 for n in nals)
        found = [
            p
            for n in nals
            if (n[0] >> 1) & 0x3F == 39
            for t, p in sei_messages(n)
            if t == 144
        ]
        assert len(found) == (1 if irap else 0), f"sample {index}: {found}"
        in_band += len(found)
        seen |= {
            (int.from_bytes(p[:2], "big"), int.from_bytes(p[2:4], "big")) for p in found
        }
    for nal_type, nal in movie.hvcc_nals:
        for t, p in sei_messages(nal) if nal_type == 39 else ():
            if t == 144:
                in_hvcc += 1
                seen.add((int.from_bytes(p[:2], "big"), int.from_bytes(p[2:4], "big")))
    return seen, in_band, in_hvcc


def _side_data_levels(path: Path) -> tuple[list[tuple[int, int]], int]:
    """Per decoded frame, FFmpeg's content light level (MaxCLL, MaxFALL); keyframes."""
    levels, keys = [], 0
    with av.open(str(path)) as c:
        for packet in c.demux(video=0):
            keys += bool(packet.is_keyframe and packet.size)
            for frame in packet.decode():
                found = [
                    bytes(sd)
                    for sd in frame.side_data
                    if sd.type.name == "CONTENT_LIGHT_LEVEL"
                ]
                assert len(found) == 1, "every frame carries the light level"
                b = found[0]
                levels.append(
                    (int.from_bytes(b[:4], "little"), int.from_bytes(b[4:8], "little"))
                )
    return levels, keys


@pytest.mark.parametrize(
    "level",
    [
        ContentLightLevel(1234, 567),  # same length: patched in place
        ContentLightLevel(256, 2),  # 01 00 00 02: an emulation prevention byte
        ContentLightLevel(0, 0),  # black: 00 00 00 00 needs one too
    ],
    ids=["in-place", "grows", "zero"],
)
def test_light_level_given_at_close_reaches_every_sei(
    tmp_path: Path, level: ContentLightLevel
) -> None:
    frames = make_frames(N, W, H, seed=5)
    patched, baked = tmp_path / "patched.mp4", tmp_path / "baked.mp4"
    _encode(patched, frames, None, level)
    _encode(baked, frames, level, level)

    levels, keys = _side_data_levels(patched)
    assert keys >= 3 and len(levels) == N
    assert set(levels) == {(level.max_cll, level.max_fall)}
    assert _side_data_levels(baked)[0] == levels
    # Same pictures as the stream x265 wrote with the real level at open.
    got, _bits, _fmt = decode_planes(patched)
    want, _bits, _fmt = decode_planes(baked)
    assert len(got) == len(want) == N
    for a, b in zip(got, want, strict=True):
        for pa, pb in zip(a, b, strict=True):
            np.testing.assert_array_equal(pa, pb)
    # MediaInfo: the SEI/boxes (0 = "unknown": not shown), and the timecode track
    # whose chunk offsets moved when the NALs grew.
    tracks = MediaInfo.parse(str(patched)).tracks
    video = next(t for t in tracks if t.track_type == "Video").to_data()
    other = next(t for t in tracks if t.track_type == "Other").to_data()
    if level.max_cll:
        assert video["maximum_content_light_level"].startswith(f"{level.max_cll} ")
        assert video["maximum_frameaverage_light_level"].startswith(
            f"{level.max_fall} "
        )
    assert other["time_code_of_first_frame"] == str(TC)
    assert int(video["frame_count"]) == N
    assert read_colour_boxes(patched)["clli"] == {
        "max_cll": level.max_cll,
        "max_fall": level.max_fall,
    }
    # Every copy, in band (one per IRAP) and in hvcC, holds the level: no 65535.
    seen, in_band, in_hvcc = _own_parser_levels(patched)
    assert seen == {(level.max_cll, level.max_fall)}
    assert in_band == keys and in_hvcc == 1

    # hvcC equals x265's with the level given at open, but for x265's user data
    # SEI (payloadType 5: its settings text, which names the max-cll it was given).
    def config(path: Path) -> list[tuple[int, bytes]]:
        return [
            (t, n)
            for t, n in read_movie(path).hvcc_nals
            if t != 39 or sei_messages(n)[0][0] != 5
        ]

    assert config(patched) == config(baked)


def _placeholder_faststart(path: Path, frames) -> None:  # type: ignore[no-untyped-def]
    """x265 with the placeholder level into an MP4 whose moov precedes mdat."""
    with av.open(str(path), "w", options={"movflags": "faststart"}) as c:
        s = c.add_stream("libx265", rate=24)
        s.width, s.height, s.pix_fmt = W, H, "yuv420p10le"
        s.codec_tag = "hvc1"
        s.options = {
            "x265-params": "log-level=error:keyint=4:min-keyint=4:hdr10=1:"
            "repeat-headers=1:master-display=G(8500,39850)B(6550,2300)"
            "R(35400,14600)WP(15635,16450)L(10000000,1):"
            f"max-cll={PLACEHOLDER.max_cll},{PLACEHOLDER.max_fall}"
        }
        for i, f in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(
                (np.clip(f, 0, 1) * 255).astype(np.uint8), format="rgb24"
            ).reformat(format="yuv420p10le")
            vf.pts = i
            for p in s.encode(vf):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)


def test_growth_with_moov_before_mdat_moves_chunk_offsets(tmp_path: Path) -> None:
    path = tmp_path / "fast.mp4"
    frames = make_frames(9, W, H, seed=2)
    _placeholder_faststart(path, frames)
    data = path.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")
    before, _bits, _fmt = decode_planes(path)
    level = ContentLightLevel(512, 1)  # 02 00 00 01: grows by one byte per copy
    n = patch_content_light_level(path, level)
    seen, in_band, in_hvcc = _own_parser_levels(path)
    assert seen == {(512, 1)} and n == in_band + in_hvcc and in_hvcc == 1
    levels, keys = _side_data_levels(path)
    assert keys == in_band >= 3 and set(levels) == {(512, 1)}
    after, _bits, _fmt = decode_planes(path)
    assert len(after) == len(before) == 9
    for a, b in zip(after, before, strict=True):
        for pa, pb in zip(a, b, strict=True):
            np.testing.assert_array_equal(pa, pb)
    sei = read_hdr_sei(path)
    assert {v for _i, v in sei.in_band_cll} | set(sei.hvcc_cll) == {level}


@pytest.mark.parametrize(
    ("rbsp", "escaped"),
    [
        (b"\x00\x00\x00", b"\x00\x00\x03\x00"),
        (b"\x00\x00\x01", b"\x00\x00\x03\x01"),
        (b"\x00\x00\x03", b"\x00\x00\x03\x03"),
        (b"\x00\x00\x04", b"\x00\x00\x04"),
        (b"\x00\x00\x00\x00\x80", b"\x00\x00\x03\x00\x00\x80"),
        (b"\x04\xd2\x02\x37", b"\x04\xd2\x02\x37"),
    ],
    ids=["000", "001", "003", "004-untouched", "zeros", "plain"],
)
def test_emulation_prevention(rbsp: bytes, escaped: bytes) -> None:
    # H.265 §7.4.2: 0x000000..0x000003 never appear inside a NAL unit payload.
    assert _escape(rbsp) == escaped


def test_a_file_without_the_placeholder_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "baked.mp4"
    level = ContentLightLevel(800, 90)
    _encode(path, make_frames(5, W, H), level, level)  # real level given at open
    before = path.read_bytes()
    with pytest.raises(EncodeError, match="no placeholder"):
        patch_content_light_level(path, ContentLightLevel(100, 10))
    assert path.read_bytes() == before


@pytest.mark.parametrize("where", ["hvcC", "in-band"])
def test_verify_fails_when_one_copy_disagrees(tmp_path: Path, where: str) -> None:
    path = tmp_path / "ok.mp4"
    level = ContentLightLevel(1234, 567)
    _encode(path, make_frames(9, W, H), None, level)  # verified at close
    good = _cll_bytes(level)
    data = path.read_bytes()
    moov = data.index(b"moov")
    # Put the placeholder back into one copy only (same length, nothing moves).
    at = data.index(good, moov) if where == "hvcC" else data.rindex(good, 0, moov)
    path.write_bytes(data[:at] + _cll_bytes(PLACEHOLDER) + data[at + len(good) :])
    seen, _in_band, _in_hvcc = _own_parser_levels(path)
    assert seen == {(1234, 567), (65535, 65535)}
    spec = _spec()
    with pytest.raises(EncodeError, match="content light level SEI.*65535"):
        verify(
            path,
            spec,
            frames=9,
            rate=RATE,
            start_timecode=TC,
            light_level=level,
            mastering=default_mastering(spec),
        )


def _cll_bytes(level: ContentLightLevel) -> bytes:
    # H.265 7.3.1.2 + D.2.35: NAL header 4E 01, payloadType 144, size 4, two u(16)
    # then rbsp_trailing_bits (no emulation prevention needed for these values).
    return (
        b"\x4e\x01\x90\x04"
        + level.max_cll.to_bytes(2, "big")
        + (level.max_fall.to_bytes(2, "big") + b"\x80")
    )


@pytest.mark.parametrize(
    ("rbsp", "messages"),
    [
        # H.265 7.3.5: payloadType 144, size 4, then rbsp_trailing_bits.
        (b"\x90\x04\x03\xb5\x00\x15\x80", [(144, b"\x03\xb5\x00\x15")]),
        # Two messages in one NAL unit.
        (
            b"\x90\x04\x00\x01\x00\x02\x89\x01\x07\x80",
            [(144, b"\x00\x01\x00\x02"), (137, b"\x07")],
        ),
        # payloadType 255 + 5 = 260 and payloadSize 255 + 1 (0xFF escapes).
        (b"\xff\x05\xff\x01" + bytes(256) + b"\x80", [(260, bytes(256))]),
        # Trailing cabac_zero_words after the stop bit are not a message.
        (b"\x90\x04\x01\x02\x03\x04\x80\x00\x00", [(144, b"\x01\x02\x03\x04")]),
    ],
    ids=["one", "two", "ff-escapes", "trailing-zeros"],
)
def test_sei_messages_are_split(rbsp: bytes, messages: list[tuple[int, bytes]]) -> None:
    assert list(parse_sei_rbsp(rbsp)) == messages


@pytest.mark.parametrize(
    "rbsp",
    [b"\x90\x04\x03\xb5\x80", b"\xff\xff", b"\x90"],
    ids=["payload-past-end", "type-past-end", "size-missing"],
)
def test_truncated_sei_is_refused(rbsp: bytes) -> None:
    with pytest.raises(EncodeError):
        list(parse_sei_rbsp(rbsp))
