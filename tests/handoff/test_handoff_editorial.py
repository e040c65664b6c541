"""FCPXML and CMX 3600 EDL read back by independent readers.

Readers: OTIO's ``cmx_3600`` and ``fcpx_xml`` adapters, ElementTree, and
lxml (libxml2) validating against the FCPXML 1.10 declarations of the elements
the writer uses, transcribed from Apple's DTD in :mod:`fcpxml_dtd` (Apple
publishes the DTD without a licence that allows shipping it). Every expected
record start, duration and rate comes from the manifest and SMPTE ST 12-1
arithmetic written out in the test, never from the writer.
"""

from __future__ import annotations

import copy
import re
import unicodedata
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import opentimelineio as otio
import pytest
from fcpxml_dtd import assert_fcpxml_valid, fcpxml_errors
from handoff_helpers import HOSTILE_NAMES, two_shot_manifest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from opentimelineio import opentime

from hdrpipe.errors import HandoffError
from hdrpipe.handoff import write_edl, write_fcpxml, write_otio
from hdrpipe.handoff.fcpxml import build_fcpxml
from hdrpipe.handoff.text import unescape

NTSC = Fraction(24000, 1001)
START = 3600 * 24  # 01:00:00:00 non-drop at 23.976 counts 24 labels per second

TIME = re.compile(r"(0|[0-9]+(/[0-9]+)?)s")


def check_fcpxml_structure(root: ET.Element) -> None:
    assert root.tag == "fcpxml" and root.get("version") == "1.10"
    assert_fcpxml_valid(root)


def seconds(value: str | None) -> Fraction:
    assert value is not None and TIME.fullmatch(value)
    return Fraction(value[:-1])


def url_path(url: str) -> str:
    parsed = urlparse(url)
    assert parsed.scheme == "file"
    return unquote(parsed.path)


def clips(track: otio.schema.Track) -> list[otio.schema.Clip]:
    return [c for c in track if isinstance(c, otio.schema.Clip)]


def fcpxml_timeline(path: Path) -> otio.schema.Timeline:
    """The OTIO adapter reads event > project as a collection of timelines."""
    got = otio.adapters.read_from_file(str(path), adapter_name="fcpx_xml")
    (timeline,) = list(got)
    assert isinstance(timeline, otio.schema.Timeline)
    return timeline


# --- FCPXML -----------------------------------------------------------------


def test_fcpxml_follows_the_dtd_and_places_media_inside_clips(
    manifest: dict[str, Any], tmp_path: Path
) -> None:
    doc = two_shot_manifest(manifest)
    root = ET.parse(write_fcpxml(doc, tmp_path / "sh010.fcpxml")).getroot()
    check_fcpxml_structure(root)
    frame = Fraction(1001, 24000)
    fmt = root.find("./resources/format")
    assert fmt is not None
    assert seconds(fmt.get("frameDuration")) == frame
    assert (fmt.get("width"), fmt.get("height")) == ("1920", "1080")
    assert fmt.get("colorSpace") == "9-16-9 (Rec. 2020 PQ)"
    asset = root.find("./resources/asset")
    assert asset is not None and asset.get("name") and asset.get("uid")
    rep = asset.find("media-rep")
    assert rep is not None
    assert url_path(rep.get("src", "")) == "/abs/out/sh010_prores4444xq-pq1000.mov"
    project = root.find("./event/project")
    assert project is not None
    assert project.get("name") == "sh010" and project.get("uid")
    seq = project.find("sequence")
    assert seq is not None
    assert seconds(seq.get("tcStart")) / frame == START
    assert seq.get("tcFormat") == "NDF"
    assert seconds(seq.get("duration")) / frame == 72
    media_in = seconds(asset.get("start"))
    media_out = media_in + seconds(asset.get("duration"))
    spine = [c for c in seq.iter("asset-clip")]
    assert [c.get("name") for c in spine] == ["plate", "sh020 plate"]
    # spine offsets are positions on the sequence timeline, which starts at tcStart
    assert [seconds(c.get("offset")) / frame for c in spine] == [START, START + 48]
    assert [seconds(c.get("duration")) / frame for c in spine] == [48, 24]
    for clip in spine:
        start = seconds(clip.get("start"))
        assert media_in <= start
        assert start + seconds(clip.get("duration")) <= media_out
    assert [(seconds(c.get("start")) - media_in) / frame for c in spine] == [0, 48]


def test_fcpxml_validator_rejects_what_the_dtd_forbids(
    manifest: dict[str, Any],
) -> None:
    """The 1.10 declarations catch order, required, enumerated and ID faults."""
    good = build_fcpxml(manifest).getroot()
    assert good is not None
    assert fcpxml_errors(good) == []

    def broken(change: Any) -> ET.Element:
        root = copy.deepcopy(good)
        change(root)
        return root

    def resources_last(root: ET.Element) -> None:
        res = root.find("resources")
        root.remove(res)
        root.append(res)

    def second_spine(root: ET.Element) -> None:
        root.find(".//sequence").append(ET.Element("spine"))

    for change in (
        lambda r: r.set("version", "1.8"),  # #FIXED "1.10"
        resources_last,  # fcpxml: resources before events
        second_spine,  # sequence: (note?, spine, metadata?)
        lambda r: r.find(".//asset-clip").set("tcFormat", "drop"),  # (DF | NDF)
        lambda r: r.find(".//asset-clip").set("ref", "r9"),  # IDREF to no ID
        lambda r: r.find(".//asset-clip").attrib.pop("ref"),  # #REQUIRED
        lambda r: r.find(".//asset").set("id", "r1"),  # ID values are unique
        lambda r: r.find(".//media-rep").attrib.pop("src"),  # #REQUIRED
        lambda r: r.find(".//asset-clip").set("gamma", "2.2"),  # undeclared
        lambda r: r.find(".//asset-clip").set("offset", "3.5s"),  # no %time;
        lambda r: r.find(".//sequence").set("format", "r2"),  # not a <format>
    ):
        assert fcpxml_errors(broken(change))


@pytest.mark.parametrize(
    ("preset", "expected"),
    [
        ("prores4444xq-pq1000", "9-16-9 (Rec. 2020 PQ)"),
        ("h264-sdr-review", "1-1-1 (Rec. 709)"),
    ],
)
def test_fcpxml_color_space_of_each_deliverable(
    manifest: dict[str, Any], tmp_path: Path, preset: str, expected: str
) -> None:
    path = write_fcpxml(manifest, tmp_path / "c.fcpxml", preset)
    fmt = ET.parse(path).getroot().find("./resources/format")
    assert fmt is not None and fmt.get("colorSpace") == expected


def test_fcpxml_hlg_and_refused_p3(manifest: dict[str, Any], tmp_path: Path) -> None:
    doc = copy.deepcopy(manifest)
    doc["outputs"][0].update(preset="hevc-hlg", target="hlg-1000")
    path = write_fcpxml(doc, tmp_path / "hlg.fcpxml", "hevc-hlg")
    fmt = ET.parse(path).getroot().find("./resources/format")
    assert fmt is not None and fmt.get("colorSpace") == "9-18-9 (Rec. 2020 HLG)"
    doc["outputs"][0].update(target="hdr-pq-1000-p3d65")
    with pytest.raises(HandoffError, match="cannot name"):
        write_fcpxml(doc, tmp_path / "p3.fcpxml", "hevc-hlg")
    # unnamed: the next deliverable FCPXML can describe is used
    fmt = ET.parse(write_fcpxml(doc, tmp_path / "any.fcpxml")).getroot()
    assert fmt.find("./resources/format").get("colorSpace") == "1-1-1 (Rec. 709)"


def test_fcpxml_pixel_aspect(manifest: dict[str, Any], tmp_path: Path) -> None:
    doc = copy.deepcopy(manifest)
    doc["raster"]["pixel_aspect"] = 2.0
    fmt = ET.parse(write_fcpxml(doc, tmp_path / "a.fcpxml")).getroot()
    node = fmt.find("./resources/format")
    assert node is not None
    assert (node.get("paspH"), node.get("paspV")) == ("2", "1")


def test_fcpxml_reads_back_with_otio_at_integer_rate(
    manifest: dict[str, Any], tmp_path: Path
) -> None:
    # otio-fcpx-xml-adapter 1.0 reads rates as int(rate): exact at integer rates.
    doc = two_shot_manifest(manifest)
    doc["rate"] = "25/1"
    tl = fcpxml_timeline(write_fcpxml(doc, tmp_path / "sh010_25.fcpxml"))
    (track,) = tl.tracks
    start = 3600 * 25
    # the reader puts the record start (tcStart) in front as a gap, like CMX 3600
    lead = track[0]
    assert isinstance(lead, otio.schema.Gap)
    assert lead.duration() == opentime.RationalTime(start, 25)
    got = clips(track)
    assert [c.name for c in got] == ["plate", "sh020 plate"]
    assert [c.source_range for c in got] == [
        opentime.TimeRange(
            opentime.RationalTime(start, 25), opentime.RationalTime(48, 25)
        ),
        opentime.TimeRange(
            opentime.RationalTime(start + 48, 25), opentime.RationalTime(24, 25)
        ),
    ]


def test_fcpxml_drop_frame(manifest: dict[str, Any], tmp_path: Path) -> None:
    doc = copy.deepcopy(manifest)
    doc.update(rate="30000/1001", drop_frame=True, start_timecode="01:00:00;00")
    seq = ET.parse(write_fcpxml(doc, tmp_path / "df.fcpxml")).getroot()
    node = seq.find(".//sequence")
    assert node is not None and node.get("tcFormat") == "DF"
    # 01:00:00;00 drop frame = 108000 - 108 labels skipped (ST 12-1)
    assert seconds(node.get("tcStart")) * Fraction(30000, 1001) == 107892


# --- hostile names, every editorial format ----------------------------------

names = st.text(min_size=1, max_size=24).filter(
    lambda s: not re.search(r"\\[xu]", s)  # unambiguous for text.unescape
)
file_names = st.text(
    st.characters(blacklist_characters="/\x00", blacklist_categories=("Cs",)),
    min_size=1,
    max_size=24,
).filter(lambda s: s not in (".", ".."))


def hostile(manifest: dict[str, Any], name: str, file_name: str) -> dict[str, Any]:
    doc = copy.deepcopy(manifest)
    doc["name"] = name
    doc["shots"][0]["name"] = name
    doc["outputs"][0]["path"] = f"/abs/out/{file_name}.mov"
    return doc


def check_editorial_round_trip(
    doc: dict[str, Any], name: str, file_name: str, out: Path
) -> None:
    path = f"/abs/out/{file_name}.mov"
    # FCPXML: parses, follows the DTD, same names, same media
    fcpxml = write_fcpxml(doc, out / "h.fcpxml")
    root = ET.parse(fcpxml).getroot()
    check_fcpxml_structure(root)
    # OTIO's FCPXML reader (XPath by ids, which hold no names) reads it too
    (read_clip,) = clips(fcpxml_timeline(fcpxml).tracks[0])
    assert unescape(read_clip.name) == name
    (clip,) = root.iter("asset-clip")
    assert unescape(clip.get("name", "")) == name
    project = root.find("./event/project")
    assert project is not None and unescape(project.get("name", "")) == name
    rep = root.find("./resources/asset/media-rep")
    assert rep is not None and url_path(rep.get("src", "")) == path
    # EDL: OTIO's reader, same clip name (escaped on one line), media, timing
    edl = write_edl(doc, out / "h.edl")
    tl = otio.adapters.read_from_file(str(edl), adapter_name="cmx_3600", rate=NTSC)
    (track,) = tl.tracks
    (got,) = clips(track)
    assert unescape(got.name) == name
    assert url_path(got.media_reference.target_url) == path
    assert -track.source_range.start_time == opentime.RationalTime(START, NTSC)
    assert got.source_range.duration == opentime.RationalTime(48, NTSC)
    if "TITLE:" not in name:  # the reader deletes every "TITLE:" from the title
        assert unescape(tl.name) == name
    for line in edl.read_text(encoding="utf-8").splitlines():
        assert not any(unicodedata.category(c) == "Cc" for c in line), line
    # OTIO: the native file keeps names (NUL written as \x00) and the URL
    back = otio.adapters.read_from_file(str(write_otio(doc, out / "h.otio")))
    assert unescape(back.name) == name
    ref = clips(back.tracks[0])[0].media_reference
    assert url_path(ref.target_url) == path


@pytest.mark.parametrize("text", HOSTILE_NAMES + ['q"uote', "nul\x00", "%04d #"])
def test_hostile_names_every_format(
    manifest: dict[str, Any], tmp_path: Path, text: str
) -> None:
    check_editorial_round_trip(
        hostile(manifest, text, text.replace("/", "_").replace("\x00", "_")),
        text,
        text.replace("/", "_").replace("\x00", "_"),
        tmp_path,
    )


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(name=names, file_name=file_names)
def test_any_name_every_format(
    manifest: dict[str, Any], tmp_path: Path, name: str, file_name: str
) -> None:
    assume(not re.search(r"\\[xu]", file_name))
    check_editorial_round_trip(
        hostile(manifest, name, file_name), name, file_name, tmp_path
    )


# --- EDL timecode -----------------------------------------------------------


def events(text: str) -> list[list[str]]:
    return [line.split()[-4:] for line in text.splitlines() if line[:3].isdigit()]


@pytest.mark.parametrize(
    ("drop", "start", "fcm", "first_frame"),
    [
        (False, "01:00:00:00", "FCM: NON-DROP FRAME", 108000),
        (True, "01:00:00;00", "FCM: DROP FRAME", 107892),  # 108 labels skipped
    ],
    ids=["ndf", "df"],
)
def test_edl_counting_at_2997(
    manifest: dict[str, Any],
    tmp_path: Path,
    drop: bool,
    start: str,
    fcm: str,
    first_frame: int,
) -> None:
    doc = copy.deepcopy(manifest)
    doc.update(rate="30000/1001", drop_frame=drop, start_timecode=start)
    path = write_edl(doc, tmp_path / "x.edl")
    text = path.read_text()
    assert text.splitlines()[:2] == ["TITLE: sh010", fcm]
    sep = ";" if drop else ":"
    end = f"01:00:01{sep}18"  # 48 frames at 30 labels per second
    assert events(text) == [[start, end, start, end]]
    tl = otio.adapters.read_from_file(str(path), "cmx_3600", rate=30000 / 1001)
    (track,) = tl.tracks
    (clip,) = clips(track)
    assert clip.source_range.start_time.value == first_frame
    assert clip.source_range.duration.value == 48
    assert -track.source_range.start_time.value == first_frame


def test_edl_refuses_to_cross_midnight(
    manifest: dict[str, Any], tmp_path: Path
) -> None:
    doc = copy.deepcopy(manifest)
    doc["start_timecode"] = "23:59:59:18"  # 48 frames: out point 24:00:01:18
    with pytest.raises(HandoffError, match="24:00:00:00"):
        write_edl(doc, tmp_path / "m.edl")
    assert not (tmp_path / "m.edl").exists()
    # the last frame at 23:59:59:23 needs the out point 24:00:00:00: refused too
    doc["start_timecode"] = "23:59:58:00"
    with pytest.raises(HandoffError, match="24:00:00:00"):
        write_edl(doc, tmp_path / "m.edl")
    # one frame earlier fits, and reads back with a positive duration
    doc["start_timecode"] = "23:59:57:23"
    path = write_edl(doc, tmp_path / "m.edl")
    assert events(path.read_text()) == [["23:59:57:23", "23:59:59:23"] * 2]
    tl = otio.adapters.read_from_file(str(path), "cmx_3600", rate=NTSC)
    (clip,) = clips(tl.tracks[0])
    assert clip.source_range.duration == opentime.RationalTime(48, NTSC)


def test_across_midnight_otio_and_fcpxml_agree(
    manifest: dict[str, Any], tmp_path: Path
) -> None:
    doc = copy.deepcopy(manifest)
    doc["start_timecode"] = "23:59:59:18"
    start = (23 * 3600 + 59 * 60 + 59) * 24 + 18
    tl = otio.adapters.read_from_file(str(write_otio(doc, tmp_path / "m.otio")))
    assert tl.global_start_time == opentime.RationalTime(start, float(NTSC))
    assert clips(tl.tracks[0])[0].duration().value == 48
    root = ET.parse(write_fcpxml(doc, tmp_path / "m.fcpxml")).getroot()
    seq = root.find(".//sequence")
    assert seq is not None
    assert seconds(seq.get("tcStart")) * NTSC == start
    assert seconds(seq.get("duration")) * NTSC == 48
