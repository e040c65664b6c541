"""HEVC HDR10 opened without MaxCLL/MaxFALL: the light level SEI patched at close.

Independent readers: FFmpeg's HEVC decoder (PyAV frame side data
CONTENT_LIGHT_LEVEL, from the SEI of the bitstream), MediaInfo (SEI + boxes,
timecode track), and the decoded pixels of the same frames encoded with the
level given at open (the bitstreams differ only in the SEI bytes).
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

from hdrpipe.encode import get_preset, open_writer
from hdrpipe.encode.hevc_sei import _escape, patch_content_light_level
from hdrpipe.encode.isobmff import read_colour_boxes
from hdrpipe.errors import EncodeError
from hdrpipe.types import ContentLightLevel, Rate

W, H, N = 96, 64, 13
RATE = Rate(Fraction(24))
TC = "01:00:00:00"


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
    assert other["time_code_of_first_frame"] == TC
    assert int(video["frame_count"]) == N
    assert read_colour_boxes(patched)["clli"] == {
        "max_cll": level.max_cll,
        "max_fall": level.max_fall,
    }


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
