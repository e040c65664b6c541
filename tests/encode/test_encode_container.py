"""The container layer on its own: parts remuxed, tagged and verified as one movie.

Read back with MediaInfo (tags, timecode track) and PyAV (decoded planes), not
with the layer's own code.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from encode_helpers import decode_planes, make_frames
from pymediainfo import MediaInfo

from hdrpipe.encode import get_preset, open_writer
from hdrpipe.encode.container import finish_movie, remux_parts
from hdrpipe.errors import EncodeError
from hdrpipe.timecode import Timecode, parse_rate
from hdrpipe.types import ContentLightLevel

W, H = 64, 36
DF = parse_rate("29.97df")


def _part(
    path: Path, spec_name: str, frames: list[np.ndarray], start: Timecode
) -> Path:
    spec = get_preset(spec_name)
    with open_writer(spec, path, width=W, height=H, rate=DF, start_timecode=start) as w:
        for f in frames:
            w.write(f)
        w.close(light_level=ContentLightLevel(100, 50) if spec.hdr_metadata else None)
    return path


def test_parts_remuxed_tagged_and_verified(tmp_path: Path) -> None:
    frames = make_frames(5, W, H)
    start = Timecode.parse("00:00:59;28", DF)
    a = _part(tmp_path / "a.mp4", "h264-sdr-review", frames[:3], start)
    b = _part(tmp_path / "b.mp4", "h264-sdr-review", frames[3:], start + 3)
    out = tmp_path / "joined.mp4"
    spec = get_preset("h264-sdr-review")
    n = remux_parts(
        [a, b], out, container="mp4", rate=DF, start_timecode=start, frames=[3, 2]
    )
    assert n == 5
    info = finish_movie(
        out,
        spec,
        frames=5,
        rate=DF,
        start_timecode=start,
        mastering=None,
        light_level=None,
        has_alpha=False,
    )
    assert info["frames"] == 5 and info["start_timecode"] == "00:00:59;28"
    tracks = MediaInfo.parse(str(out)).tracks
    video = next(t for t in tracks if t.track_type == "Video").to_data()
    other = next(t for t in tracks if t.track_type == "Other").to_data()
    assert int(video["frame_count"]) == 5
    assert (video["framerate_num"], video["framerate_den"]) == ("30000", "1001")
    assert video["color_primaries"] == "BT.709"
    assert other["time_code_of_first_frame"] == "00:00:59;28"
    assert video["color_range"] == "Limited"  # nclx full_range_flag 0
    # the same pictures as the parts, in order
    joined = decode_planes(out)[0]
    parts = decode_planes(a)[0] + decode_planes(b)[0]
    assert len(joined) == len(parts) == 5
    for got, want in zip(joined, parts, strict=True):
        for pg, pw in zip(got, want, strict=True):
            np.testing.assert_array_equal(pg, pw)


def test_hdr_preset_without_light_level_refused(tmp_path: Path) -> None:
    frames = make_frames(2, W, H)
    start = Timecode(0, DF)
    part = _part(tmp_path / "p.mov", "prores422hq-pq1000", frames, start)
    with pytest.raises(EncodeError, match="light level"):
        finish_movie(
            part,
            get_preset("prores422hq-pq1000"),
            frames=2,
            rate=DF,
            start_timecode=start,
            mastering=None,
            light_level=None,
            has_alpha=False,
            pixel_aspect=Fraction(1),
        )


def test_remux_refuses_mismatched_parts(tmp_path: Path) -> None:
    frames = make_frames(2, W, H)
    start = Timecode(0, DF)
    a = _part(tmp_path / "a.mp4", "h264-sdr-review", frames, start)
    b = _part(tmp_path / "b.mov", "prores422hq-pq1000", frames, start)
    out = tmp_path / "x.mp4"
    with pytest.raises(EncodeError, match="cannot be remuxed"):
        remux_parts(
            [a, b], out, container="mp4", rate=DF, start_timecode=start, frames=[2, 2]
        )
    assert not out.exists()
