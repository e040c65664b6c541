"""OTIO timeline and its EDL / FCPXML exports, read back through the same adapters."""

from __future__ import annotations

import copy
from fractions import Fraction
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import opentimelineio as otio
import pytest
from handoff_helpers import HOSTILE_NAMES, two_shot_manifest
from opentimelineio import opentime

from hdrpipe.handoff import build_timeline, write_edl, write_otio
from hdrpipe.handoff.otio import PLATES_TRACK

RATE = 24000 / 1001
# 01:00:00:00 non-drop at 23.976 counts 24 frames per second label: 3600 * 24.
START = 3600 * 24


def url_path(url: str) -> str:
    parsed = urlparse(url)
    assert parsed.scheme == "file"
    return unquote(parsed.path)


def clips(track: otio.schema.Track) -> list[otio.schema.Clip]:
    return [c for c in track if isinstance(c, otio.schema.Clip)]


def test_timeline_layout(manifest: dict[str, Any]) -> None:
    tl = build_timeline(manifest)
    assert tl.name == "sh010"
    assert tl.global_start_time == opentime.RationalTime(START, RATE)
    assert opentime.to_timecode(tl.global_start_time, RATE, False) == "01:00:00:00"
    assert tl.metadata["hdrpipe"]["rate"] == "24000/1001"
    names = [t.name for t in tl.tracks]
    assert names == [
        "prores4444xq-pq1000",
        "h264-sdr-review",
        "exr-acescg",
        PLATES_TRACK,
    ]

    mov = clips(tl.tracks[0])[0]
    assert isinstance(mov.media_reference, otio.schema.ExternalReference)
    assert (
        url_path(mov.media_reference.target_url)
        == "/abs/out/sh010_prores4444xq-pq1000.mov"
    )
    assert mov.name == "plate"
    assert mov.source_range == opentime.TimeRange(
        opentime.RationalTime(START, RATE), opentime.RationalTime(48, RATE)
    )
    assert (
        opentime.to_timecode(mov.source_range.start_time, RATE, False) == "01:00:00:00"
    )
    assert (
        opentime.to_timecode(mov.source_range.end_time_exclusive(), RATE, False)
        == "01:00:02:00"
    )

    exr = clips(tl.tracks[2])[0]
    ref = exr.media_reference
    assert isinstance(ref, otio.schema.ImageSequenceReference)
    assert exr.source_range.start_time == opentime.RationalTime(1001, RATE)
    # the reference resolves frame numbers to the delivered files
    assert (
        url_path(ref.target_url_for_image_number(0))
        == "/abs/out/sh010_exr-acescg/sh010.1001.exr"
    )
    assert ref.end_frame() == 1048
    plate = clips(tl.tracks[3])[0]
    assert url_path(plate.media_reference.target_url_for_image_number(47)) == (
        "/abs/shots/sh010/plate.1048.exr"
    )
    assert plate.metadata["hdrpipe"]["source_timecode"] == "00:00:41:17"


def test_otio_file_reads_back(manifest: dict[str, Any], tmp_path: Path) -> None:
    path = write_otio(manifest, tmp_path / "sh010.otio")
    tl = otio.adapters.read_from_file(str(path))
    ref = build_timeline(manifest)
    assert tl.global_start_time == ref.global_start_time
    for a, b in zip(tl.tracks, ref.tracks, strict=True):
        assert a.name == b.name
        assert [(c.name, c.source_range) for c in clips(a)] == [
            (c.name, c.source_range) for c in clips(b)
        ]
    assert Fraction(tl.metadata["hdrpipe"]["rate"]) == Fraction(24000, 1001)


def test_edl_reads_back_with_rate(manifest: dict[str, Any], tmp_path: Path) -> None:
    doc = two_shot_manifest(manifest)
    path = write_edl(doc, tmp_path / "sh010.edl")
    text = path.read_text()
    events = [line.split() for line in text.splitlines() if line[:3].isdigit()]
    # event, reel, V, C, src in, src out, rec in, rec out (CMX 3600 columns)
    assert [e[4:] for e in events] == [
        ["01:00:00:00", "01:00:02:00", "01:00:00:00", "01:00:02:00"],
        ["01:00:02:00", "01:00:03:00", "01:00:02:00", "01:00:03:00"],
    ]
    tl = otio.adapters.read_from_file(str(path), adapter_name="cmx_3600", rate=RATE)
    (track,) = tl.tracks
    got = clips(track)
    assert [c.name for c in got] == ["plate", "sh020 plate"]
    assert [c.source_range for c in got] == [
        opentime.TimeRange(
            opentime.RationalTime(START, RATE), opentime.RationalTime(48, RATE)
        ),
        opentime.TimeRange(
            opentime.RationalTime(START + 48, RATE), opentime.RationalTime(24, RATE)
        ),
    ]
    assert all(c.source_range.start_time.rate == RATE for c in got)
    # the reader encodes the first record timecode as the track's negative start
    assert -track.source_range.start_time == opentime.RationalTime(START, RATE)
    assert (
        url_path(got[0].media_reference.target_url)
        == "/abs/out/sh010_prores4444xq-pq1000.mov"
    )


def test_multi_shot_record_ranges(manifest: dict[str, Any]) -> None:
    tl = build_timeline(two_shot_manifest(manifest))
    for track in tl.tracks:
        got = clips(track)
        assert [c.range_in_parent().start_time.value for c in got] == [0, 48]
        assert [c.duration().value for c in got] == [48, 24]
    plates = clips(tl.tracks[-1])
    assert plates[1].source_range.start_time.value == 1
    assert url_path(plates[1].media_reference.target_url_for_image_number(0)) == (
        "/abs/shots/sh020/plate.0001.exr"
    )


def test_retimed_shot_gets_a_time_warp(manifest: dict[str, Any]) -> None:
    doc = copy.deepcopy(manifest)
    doc["shots"][0]["source_last"] = 1040  # 40 source frames -> 48 record frames
    plate = clips(build_timeline(doc).tracks[-1])[0]
    (warp,) = plate.effects
    assert isinstance(warp, otio.schema.LinearTimeWarp)
    assert warp.time_scalar == pytest.approx(40 / 48)


@pytest.mark.parametrize("name", HOSTILE_NAMES[:10], ids=range(10))
def test_hostile_paths_survive_urls(
    manifest: dict[str, Any], tmp_path: Path, name: str
) -> None:
    doc = copy.deepcopy(manifest)
    doc["outputs"][0]["path"] = f"/abs/out/{name}.mov"
    path = write_otio(doc, tmp_path / "h.otio")
    tl = otio.adapters.read_from_file(str(path))
    assert (
        url_path(clips(tl.tracks[0])[0].media_reference.target_url)
        == f"/abs/out/{name}.mov"
    )
