"""Every hand-off of a real (tiny) conform agrees on record start, duration and rate.

Conforms of a 12-frame 192x108 plate: as the demo does (23.976 from
01:00:00:00), retimed 24 -> 30, letterboxed into 4:3, and starting 6 frames
before midnight; plus the demo's manifest with hostile names. Each hand-off is
read back by a reader that is not hdrpipe's: OTIO's native and cmx_3600
readers, ElementTree for FCPXML (exact rationals; structure validated by lxml
against the FCPXML 1.10 declarations in fcpxml_dtd.py) and AMF (validated by lxml
against the AMF 2.0 XSD), the Tcl word splitter for the .nk, MediaInfo for the
movie itself.
Expected numbers come from the job's parameters and SMPTE ST 12-1 arithmetic
written out here.
"""

from __future__ import annotations

import copy
import math
import re
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path
from typing import Any

import opentimelineio as otio
import pytest
from fcpxml_dtd import assert_fcpxml_valid
from handoff_helpers import assert_amf_valid
from lxml import etree
from pymediainfo import MediaInfo
from test_handoff_nuke import nodes

from fixtures.generate import make_plate
from hdrpipe.engine import ConformJob, conform
from hdrpipe.errors import HandoffError
from hdrpipe.handoff import write_handoff

W, H, N = 192, 108, 12


def tc_frames(tc: str, fps: Fraction) -> int:
    """Non-drop SMPTE ST 12-1 label -> frames (timebase = rounded rate)."""
    hh, mm, ss, ff = (int(v) for v in re.split(r"[:;]", tc))
    return ((hh * 60 + mm) * 60 + ss) * round(fps) + ff


@pytest.fixture(scope="module")
def plate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_plate(
        tmp_path_factory.mktemp("src"), width=W, height=H, frames=N, seed=5
    )


SCENARIOS = {
    "demo": dict(fps="24000/1001", start_tc="01:00:00:00"),
    "retimed": dict(fps="30", start_tc="01:00:00:00", retime="nearest"),
    "letterboxed": dict(fps="24", start_tc="10:00:00:00", reformat="192x144"),
    "midnight": dict(fps="24", start_tc="23:59:59:18"),
}


def run(plate: Path, out: Path, **job: Any) -> dict[str, Any]:
    manifest = conform(
        ConformJob(
            inputs=(str(plate),),
            deliver=("prores422hq-pq1000", "exr-acescg"),
            outdir=str(out),
            color_path="exact",
            **job,
        )
    )
    return manifest.to_dict()


def read_everything(
    doc: dict[str, Any], out: Path
) -> dict[str, tuple[int, int, Fraction]]:
    """(record start frame, duration in frames, rate) as each reader sees it."""
    try:
        written = write_handoff(doc, out)
    except HandoffError as err:
        assert "EDL" in str(err) and "24:00:00:00" in str(err)
        written = {
            kind: out / f"{doc['name']}.{ext}"
            for kind, ext in (("nuke", "nk"), ("otio", "otio"), ("fcpxml", "fcpxml"))
        }
    seen: dict[str, tuple[int, int, Fraction]] = {}
    rate_meta = Fraction(doc["rate"])

    tl = otio.adapters.read_from_file(str(written["otio"]))
    movie_track = tl.tracks[0]
    seen["otio"] = (
        round(tl.global_start_time.value),
        round(movie_track.duration().value),
        Fraction(tl.metadata["hdrpipe"]["rate"]),
    )
    if "edl" in written:
        edl = otio.adapters.read_from_file(
            str(written["edl"]), "cmx_3600", rate=float(rate_meta)
        )
        (track,) = edl.tracks
        clips = [c for c in track if isinstance(c, otio.schema.Clip)]
        fcm = written["edl"].read_text(encoding="utf-8").splitlines()[1]
        assert fcm == "FCM: NON-DROP FRAME"
        seen["edl"] = (
            round(-track.source_range.start_time.value),
            round(sum(c.duration().value for c in clips)),
            rate_meta,
        )
    assert_fcpxml_valid(written["fcpxml"])  # FCPXML 1.10 declarations, by lxml
    root = ET.parse(written["fcpxml"]).getroot()
    frame = Fraction(root.find("./resources/format").get("frameDuration")[:-1])
    seq = root.find(".//sequence")
    seen["fcpxml"] = (
        Fraction(seq.get("tcStart")[:-1]) / frame,
        Fraction(seq.get("duration")[:-1]) / frame,
        1 / frame,
    )
    ns = nodes(written["nuke"].read_text(encoding="utf-8"))
    root_knobs = ns[0][1]
    (read,) = [k for cls, k in ns if cls == "Read" and "record" in k.get("label", "")]
    fps = Fraction(float(root_knobs["fps"])).limit_denominator(1001)
    seen["nuke"] = (
        tc_frames(read["label"].split()[-1], fps),
        int(root_knobs["last_frame"]) - int(root_knobs["first_frame"]) + 1,
        fps,
    )
    for key, path in written.items():
        if key.startswith("amf:"):
            assert_amf_valid(path)
    return seen


@pytest.mark.slow
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_readers_agree(plate: Path, tmp_path: Path, scenario: str) -> None:
    job = SCENARIOS[scenario]
    doc = run(plate, tmp_path / "out", **job)
    fps = Fraction(job["fps"])
    start = tc_frames(job["start_tc"], fps)
    frames = N if scenario != "retimed" else math.ceil(N * 30 / 24)
    want = (start, frames, fps)
    seen = read_everything(doc, tmp_path / "handoff")
    assert seen, "no reader ran"
    for reader, got in seen.items():
        assert got == want, (reader, got, want)
    assert ("edl" in seen) == (scenario != "midnight")
    # the delivered movie itself: MediaInfo's timecode and frame count
    movie = Path(doc["outputs"][0]["path"])
    info = [t.to_data() for t in MediaInfo.parse(str(movie)).tracks]
    video = next(t for t in info if t["track_type"] == "Video")
    assert int(video["frame_count"]) == frames
    tmcd = next(
        t["time_code_of_first_frame"] for t in info if t.get("time_code_of_first_frame")
    )
    assert tc_frames(tmcd, fps) == start
    if scenario == "letterboxed":
        fmt = nodes((tmp_path / "handoff" / f"{doc['name']}.nk").read_text())[0][1]
        # 16:9 picture in 192x144: 108 active rows, 18-row bars (bottom-left box)
        assert fmt["format"].split()[:7] == ["192", "144", "0", "18", "192", "126", "1"]


@pytest.mark.slow
def test_hostile_names_agree(plate: Path, tmp_path: Path) -> None:
    doc = run(plate, tmp_path / "out", **SCENARIOS["demo"])
    doc = copy.deepcopy(doc)
    hostile = 'sh 010 "q" $x;{y} \\ [z] 50% %04d ünï\nline'
    doc["name"] = hostile
    doc["shots"][0]["name"] = hostile
    seen = read_everything(doc, tmp_path / "handoff")
    want = (3600 * 24, N, Fraction(24000, 1001))
    assert set(seen) == {"otio", "edl", "fcpxml", "nuke"}
    assert all(got == want for got in seen.values()), seen


CCC = (
    '<ColorCorrectionCollection xmlns="urn:ASC:CDL:v1.01">'
    '<ColorCorrection id="sh005"><SOPNode><Slope>0.5 0.5 0.5</Slope>'
    "<Offset>0 0 0</Offset><Power>1 1 1</Power></SOPNode></ColorCorrection>"
    '<ColorCorrection id="sh010"><SOPNode><Slope>1.2 1.0 0.8</Slope>'
    "<Offset>0.01 0 0</Offset><Power>1 1 1.1</Power></SOPNode>"
    "<SatNode><Saturation>0.9</Saturation></SatNode></ColorCorrection>"
    "</ColorCorrectionCollection>"
)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["ccc", "config-look"])
def test_a_conformed_look_reaches_every_handoff(
    plate: Path, tmp_path: Path, kind: str
) -> None:
    A, C = "{urn:ampas:aces:amf:v2.0}", "{urn:ASC:CDL:v1.01}"
    ccc = tmp_path / "grade.ccc"
    ccc.write_text(CCC, encoding="utf-8")
    look = f"{ccc}#sh010" if kind == "ccc" else "ACES 1.3 Reference Gamut Compression"
    doc = run(plate, tmp_path / "out", fps="24", start_tc="01:00:00:00", look=look)
    record = doc["color"]["look"]
    assert record["kind"] == kind
    written = write_handoff(doc, tmp_path / "handoff")
    ns = nodes(written["nuke"].read_text(encoding="utf-8"))
    assert_amf_valid(written["amf"])
    amf = ET.parse(written["amf"]).getroot()
    timeline = otio.adapters.read_from_file(str(written["otio"]))
    otio_look = timeline.metadata["hdrpipe"]["look"]  # keep timeline alive
    assert otio_look["kind"] == kind
    if kind == "ccc":
        assert (record["file"], record["cccid"]) == (str(ccc), "sh010")
        (cdl,) = [k for cls, k in ns if cls == "OCIOCDLTransform"]
        assert [float(v) for v in cdl["slope"].split()] == [1.2, 1.0, 0.8]
        sop = amf.find(f"{A}pipeline/{A}lookTransform/{C}SOPNode/{C}Slope")
        assert [float(v) for v in sop.text.split()] == [1.2, 1.0, 0.8]
        assert amf.find(f"{A}pipeline/{A}lookTransform/{A}file") is None
    else:
        (lk,) = [k for cls, k in ns if cls == "OCIOLookTransform"]
        assert lk["look"] == look
        tid = amf.find(f"{A}pipeline/{A}lookTransform/{A}transformId").text
        assert tid.endswith("Look.Academy.ReferenceGamutCompress.a2.v1")


@pytest.mark.slow
def test_a_retargeted_deliverable_is_named_in_amf_and_nk(
    plate: Path, tmp_path: Path
) -> None:
    """The 600-nit retarget (BT.2390 after the 1000-nit view) reaches the hand-off."""
    A = "{urn:ampas:aces:amf:v2.0}"
    presets = tmp_path / "p.toml"
    presets.write_text(
        "[presets.prores422hq-pq600]\n"
        'base = "prores422hq-pq1000"\n'
        'target = "hdr-pq-600-rec2020"\n'
        "mastering_max_luminance = 600.0\n",
        encoding="utf-8",
    )
    doc = conform(
        ConformJob(
            inputs=(str(plate),),
            deliver=("prores422hq-pq1000", "prores422hq-pq600"),
            outdir=str(tmp_path / "out"),
            presets_file=presets,
            color_path="exact",
        )
    ).to_dict()
    written = write_handoff(doc, tmp_path / "handoff")
    view = "ACES 2.0 - HDR 1000 nits (Rec.2020)"
    aces_1000 = (
        "urn:ampas:aces:transformId:v2.0:"
        "Output.Academy.Rec2100-D65_1000nit_in_Rec2100-D65_ST2084.a2.v1"
    )
    descriptions = {}
    for preset in ("prores422hq-pq1000", "prores422hq-pq600"):
        path = written[f"amf:{preset}"]
        assert_amf_valid(path)
        tree = etree.parse(str(path), etree.XMLParser(no_network=True))
        ot = tree.find(f"{A}pipeline/{A}outputTransform")
        # the ACES output transform actually applied, then the named EETF
        assert ot.findtext(f"{A}transformId") == aces_1000
        descriptions[preset] = ot.findtext(f"{A}description")
        pipeline_info = tree.findtext(f"{A}pipeline/{A}pipelineInfo/{A}description")
        assert descriptions[preset] in pipeline_info
    assert "BT.2390" not in descriptions["prores422hq-pq1000"]
    retarget = descriptions["prores422hq-pq600"]
    assert retarget.startswith(f"Rec.2100-PQ - Display / {view}, then ")
    assert "ITU-R BT.2390 EETF" in retarget and "maxRGB" in retarget
    assert "1000 -> 600 cd/m2" in retarget
    # .nk (Tcl reader): one review node per rendering, on the view the EETF
    # starts from, the retargeted one labelled with the EETF and both peaks
    ns = nodes(written["nuke"].read_text(encoding="utf-8"))
    displays = [k for cls, k in ns if cls == "OCIODisplay"]
    assert [(k["display"], k["view"]) for k in displays] == [
        ("Rec.2100-PQ - Display", view)
    ] * 2
    assert "label" not in displays[0]
    label = displays[1]["label"]
    assert label.startswith("prores422hq-pq600: ")
    assert "ITU-R BT.2390 EETF" in label and "1000 -> 600 cd/m2" in label
    # the same peak the movie's mastering display carries (manifest, one truth)
    (out600,) = [o for o in doc["outputs"] if o["preset"] == "prores422hq-pq600"]
    assert out600["hdr"]["mastering_display"].endswith("L(6000000,1)")
