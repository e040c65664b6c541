"""Hand-off of the assembled master, read back by independent readers.

Readers: OTIO's own ``otio_json`` and ``cmx_3600`` adapters, a regular
expression over the EDL's event lines, and the AMF 2.0 XSD (with the ASC CDL
v1.01 schema it imports) through the stdlib checker of tests/handoff. Expected
record ranges, CDL values and frame ids come from the fixture cut
(fixtures/editorial.py), never from the writer.
"""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import opentimelineio as otio
import pytest

from fixtures.editorial import EVENTS, RECORD_START, frame_id, read_id
from hdrpipe.editorial import conform_timeline
from hdrpipe.engine import ConformJob
from hdrpipe.exr import read_pixels

HANDOFF_TESTS = Path(__file__).resolve().parent.parent / "handoff"
sys.path.insert(0, str(HANDOFF_TESTS))
from handoff_helpers import assert_amf_valid  # noqa: E402

A = "{urn:ampas:aces:amf:v2.0}"
C = "{urn:ASC:CDL:v1.01}"
PQ1000 = (
    "urn:ampas:aces:transformId:v2.0:"
    "Output.Academy.Rec2100-D65_1000nit_in_Rec2100-D65_ST2084.a2.v1"
)
# Record frames from the cut start: A 0-11, B 12-21, C 22-31 (the dissolve from
# B over 22-27 is baked in), D 32-39 (reversed).
RANGES = [(0, 12), (12, 10), (22, 10), (32, 8)]
SHOTS = [f"{i:03d}_{spec.clip.name}" for i, spec in enumerate(EVENTS, start=1)]


def _tc(frames: int) -> str:
    # SMPTE ST 12-1 non-drop labels at 24 fps: 86400 frames an hour.
    hh, mm, ss = frames // 86400, frames // 1440 % 60, frames // 24 % 60
    return f"{hh:02d}:{mm:02d}:{ss:02d}:{frames % 24:02d}"


@pytest.fixture(scope="module")
def data(
    media_root: Path,
    cut_files: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Any]:
    job = ConformJob(
        inputs=(cut_files["edl"],),
        deliver=("exr-aces", "prores4444xq-pq1000"),
        outdir=tmp_path_factory.mktemp("handoff"),
        fps="24",
        color_path="exact",
    )
    return conform_timeline(job, [media_root], handles=0, handoff=True).data


def test_otio_is_the_cut_on_the_master(data: dict[str, Any]) -> None:
    master = data["master"]
    timeline = otio.adapters.read_from_file(master["handoff"]["otio"])
    assert timeline.global_start_time == otio.opentime.RationalTime(RECORD_START, 24)
    movie_track, exr_track = timeline.tracks
    (movie,) = master["outputs"]
    assert movie_track.name == "prores4444xq-pq1000"
    for track in (movie_track, exr_track):
        clips = list(track.find_clips())
        assert [c.name for c in clips] == SHOTS
        assert [
            (round(c.range_in_parent().start_time.value), round(c.duration().value))
            for c in clips
        ] == RANGES
    for clip, (start, n), spec in zip(
        movie_track.find_clips(), RANGES, EVENTS, strict=True
    ):
        ref = clip.media_reference
        assert unquote(urlparse(ref.target_url).path) == movie
        assert clip.source_range.start_time.value == RECORD_START + start
        assert clip.source_range.duration.value == n
        sop = clip.metadata["cdl"]["asc_sop"]
        assert (list(sop["slope"]), list(sop["offset"]), list(sop["power"])) == (
            list(spec.slope),
            list(spec.offset_cdl),
            list(spec.power),
        )
        assert clip.metadata["cdl"]["asc_sat"] == spec.saturation
    infos = [c.metadata["hdrpipe"] for c in movie_track.find_clips()]
    assert [i["speed"] for i in infos] == ["1", "1", "1", "-1"]
    assert infos[2]["transition_in"]["frames"] == 6
    # The EXR track's frames are the master's: the id at each clip's first frame.
    for clip, (start, _n), spec in zip(
        exr_track.find_clips(), RANGES, EVENTS, strict=True
    ):
        ref = clip.media_reference
        first = int(clip.source_range.start_time.value)
        url = ref.target_url_for_image_number(first - ref.start_frame)
        px = read_pixels(unquote(urlparse(url).path))
        if start != 22:  # record frame 22 is inside the dissolve
            assert read_id(px) == frame_id(spec.clip.number, spec.offset)


EDL_EVENT = re.compile(
    r"^(\d{3})\s+(\S+)\s+V\s+C\s+" + r"\s+".join([r"(\d\d:\d\d:\d\d:\d\d)"] * 4)
)


def test_edl_events_record_timecode_and_cdl(data: dict[str, Any]) -> None:
    path = data["master"]["handoff"]["edl"]
    text = Path(path).read_text()
    events = [m.groups() for line in text.splitlines() if (m := EDL_EVENT.match(line))]
    assert [(e[4], e[5]) for e in events] == [
        (_tc(RECORD_START + s), _tc(RECORD_START + s + n)) for s, n in RANGES
    ]
    assert all(e[2:4] == e[4:6] for e in events)  # master source TC = record TC
    assert {e[1] for e in events} == {"EDITORIA"}  # reel of editorial_cut_…mov
    timeline = otio.adapters.read_from_file(path, adapter_name="cmx_3600", rate=24)
    clips = list(timeline.find_clips())
    assert [c.name for c in clips] == SHOTS
    for clip, spec in zip(clips, EVENTS, strict=True):
        cdl = clip.metadata["cdl"]
        assert cdl["asc_sop"]["slope"] == pytest.approx(list(spec.slope))
        assert cdl["asc_sop"]["offset"] == pytest.approx(list(spec.offset_cdl))
        assert cdl["asc_sop"]["power"] == pytest.approx(list(spec.power))
        assert cdl["asc_sat"] == pytest.approx(spec.saturation)


def test_one_amf_per_event_with_its_cdl(data: dict[str, Any]) -> None:
    amfs = {k: v for k, v in data["master"]["handoff"].items() if k.startswith("amf:")}
    assert sorted(amfs) == [f"amf:{s}_prores4444xq-pq1000" for s in SHOTS]
    aces = data["master"]["aces"]
    for shot, (start, n), spec in zip(SHOTS, RANGES, EVENTS, strict=True):
        root = ET.parse(amfs[f"amf:{shot}_prores4444xq-pq1000"]).getroot()
        assert_amf_valid(root)
        seq = root.find(f"{A}clipId/{A}sequence")
        assert seq is not None
        assert root.find(f"{A}clipId/{A}clipName").text == shot
        assert (seq.text, seq.get("idx")) == (aces, "#")
        assert (int(seq.get("min")), int(seq.get("max"))) == (
            1001 + start,
            1000 + start + n,
        )
        look = root.find(f"{A}pipeline/{A}lookTransform")
        assert look.get("applied") == "true"
        values = {
            tag: [float(v) for v in look.find(f"{C}SOPNode/{C}{tag}").text.split()]
            for tag in ("Slope", "Offset", "Power")
        }
        assert values == {
            "Slope": list(spec.slope),
            "Offset": list(spec.offset_cdl),
            "Power": list(spec.power),
        }
        assert float(look.find(f"{C}SatNode/{C}Saturation").text) == spec.saturation
        out = root.find(f"{A}pipeline/{A}outputTransform")
        assert out.get("applied") == "false"
        assert out.find(f"{A}transformId").text == PQ1000
