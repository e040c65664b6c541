"""ACES Metadata File: valid per the AMF 2.0 XSD, transform IDs per the OCIO config.

The XSD (``acesMetadataFile.xsd`` v2.0 and the ASC CDL, SMPTE ST 433 and
XML-DSig schemas it imports) ships under tests/handoff/data/aces-amf with its
licences, from github.com/ampas/aces-amf (commit 0d1d74dd); lxml's XMLSchema
(libxml2) validates every AMF written here against it. A test shows the
validator accepts the Academy's own example and rejects broken documents.
Expected transform IDs are the ACES 2.0 IDs written out.
"""

from __future__ import annotations

import copy
import re
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest
from handoff_helpers import DATA, amf_schema_errors, assert_amf_valid

from hdrpipe.color.config import PROJECT_CONFIG
from hdrpipe.errors import HandoffError
from hdrpipe.handoff import build_amf, write_amf, write_handoff
from hdrpipe.handoff.amf import NoTransformIdError
from hdrpipe.handoff.text import unescape

TID = "urn:ampas:aces:transformId:v2.0:"

A = "{urn:ampas:aces:amf:v2.0}"
C = "{urn:ASC:CDL:v1.01}"
# acesMetadataFile.xsd v2.0 simple types tnInputTransform / tnOutputTransform /
# tnColorSpaceConversionTransform (v2.0 branches).
TN_INPUT = re.compile(
    r"urn:ampas:aces:transformId:v2\.0:(Input\.\S+\.\S+\.a\d+\.v\d+|"
    r"CSC\.\S+\.a\d+\.v\d+)"
)
TN_OUTPUT = re.compile(r"urn:ampas:aces:transformId:v2\.0:Output\.\S+\.\S+\.a\d+\.v\d+")
TN_CSC = re.compile(r"urn:ampas:aces:transformId:v2\.0:CSC\.\S+\.\S+\.a\d+\.v\d+")


def tags(el: ET.Element) -> list[str]:
    return [child.tag for child in el]


def check_info(el: ET.Element, extra: list[str] | None = None) -> None:
    # infoType: description?, author*, dateTime, uuid (+ systemVersion for pipelineInfo)
    seq = [t for t in tags(el) if t not in (A + "description", A + "author")]
    assert seq == [A + "dateTime", A + "uuid"] + (extra or [])
    dt = el.find(A + "dateTime")
    assert tags(dt) == [A + "creationDateTime", A + "modificationDateTime"]
    for child in dt:
        datetime.fromisoformat(child.text.replace("Z", "+00:00"))
    value = el.find(A + "uuid").text
    assert value.startswith("urn:uuid:")
    uuid.UUID(value[len("urn:uuid:") :])


def check_transform(el: ET.Element, pattern: re.Pattern[str]) -> None:
    assert el.get("applied") in ("true", "false")
    body = [t for t in tags(el) if t not in (A + "description", A + "hash")]
    assert body == [A + "transformId"]
    assert pattern.fullmatch(el.find(A + "transformId").text)


def validate_amf(path: Path) -> ET.Element:
    assert_amf_valid(path)  # the AMF 2.0 XSD itself (tests/handoff/data/aces-amf)
    root = ET.parse(path).getroot()
    # and what the schema cannot say: infoType order, transform kinds
    check_info(root.find(A + "amfInfo"))
    pipeline = root.find(A + "pipeline")
    check_info(pipeline[0], [A + "systemVersion"])
    for it in pipeline.findall(A + "inputTransform"):
        check_transform(it, TN_INPUT)
    for ot in pipeline.findall(A + "outputTransform"):
        check_transform(ot, TN_OUTPUT)
    return root


def test_demo_amf(manifest: dict[str, Any], tmp_path: Path) -> None:
    root = validate_amf(write_amf(manifest, tmp_path / "sh010.amf"))
    pipeline = root.find(A + "pipeline")
    # ACES2065-1 source: no input transform; ACES 2.0 HDR 1000-nit Rec.2100 PQ output.
    assert pipeline.find(A + "inputTransform") is None
    assert pipeline.find(f"{A}outputTransform/{A}transformId").text == (
        "urn:ampas:aces:transformId:v2.0:"
        "Output.Academy.Rec2100-D65_1000nit_in_Rec2100-D65_ST2084.a2.v1"
    )


def test_cdl_and_acescg_source(manifest: dict[str, Any], tmp_path: Path) -> None:
    ocio = pytest.importorskip("PyOpenColorIO")
    doc = copy.deepcopy(manifest)
    doc["color"]["source_colorspace"] = "ACEScg"
    doc["color"]["look_cdl"] = {
        "slope": [1.1, 1.0, 0.9],
        "offset": [0.01, 0.0, -0.01],
        "power": [1.0, 1.05, 1.0],
        "saturation": 0.9,
        "id": "g1",
        "path": "/abs/looks/g1.cdl",
    }
    root = validate_amf(write_amf(doc, tmp_path / "cdl.amf"))
    pipeline = root.find(A + "pipeline")
    csc = pipeline.find(f"{A}inputTransform/{A}transformId").text
    config = ocio.Config.CreateFromFile("ocio://studio-config-latest")
    assert (
        csc
        in config.getColorSpace("ACEScg")
        .getInterchangeAttribute("amf_transform_ids")
        .split()
    )
    look = pipeline.find(A + "lookTransform")
    sop = look.find(C + "SOPNode")
    assert [float(v) for v in sop.find(C + "Slope").text.split()] == [1.1, 1.0, 0.9]
    assert [float(v) for v in sop.find(C + "Offset").text.split()] == [0.01, 0.0, -0.01]
    assert [float(v) for v in sop.find(C + "Power").text.split()] == [1.0, 1.05, 1.0]
    assert float(look.find(f"{C}SatNode/{C}Saturation").text) == 0.9
    acescct_ids = (
        config.getColorSpace("ACEScct")
        .getInterchangeAttribute("amf_transform_ids")
        .split()
    )
    ws = look.find(A + "cdlWorkingSpace")
    for side in ws:
        assert side.find(A + "transformId").text in acescct_ids


def test_no_display_deliverable_is_an_error(
    manifest: dict[str, Any], tmp_path: Path
) -> None:
    doc = copy.deepcopy(manifest)
    doc["outputs"] = [o for o in doc["outputs"] if o["kind"] == "exr"]
    with pytest.raises(HandoffError, match="display-referred"):
        write_amf(doc, tmp_path / "x.amf")
    written = write_handoff(doc, tmp_path / "ho")
    assert "amf" not in written and "fcpxml" not in written
    assert {"nuke", "otio", "edl"} <= set(written)


def test_write_handoff_one_amf_per_display_deliverable(
    manifest: dict[str, Any], tmp_path: Path
) -> None:
    written = write_handoff(manifest, tmp_path)
    assert written["amf"] == written["amf:prores4444xq-pq1000"]
    sdr = validate_amf(written["amf:h264-sdr-review"])
    assert sdr.find(f"{A}pipeline/{A}outputTransform/{A}transformId").text.endswith(
        "Output.Academy.Rec709-D65_100nit_in_Rec709-D65_BT1886.a2.v1"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [
            "sh010.nk",
            "sh010.otio",
            "sh010.edl",
            "sh010.fcpxml",
            "sh010_prores4444xq-pq1000.amf",
            "sh010_h264-sdr-review.amf",
        ]
    )


def test_cdl_file_look_is_read(manifest: dict[str, Any], tmp_path: Path) -> None:
    cc = tmp_path / "grade.cc"
    cc.write_text(
        '<ColorCorrection id="sh010_v2" xmlns="urn:ASC:CDL:v1.01">'
        "<SOPNode><Slope>1.2 1.0 0.8</Slope><Offset>0.0 0.01 0.02</Offset>"
        "<Power>1.0 1.0 1.1</Power></SOPNode>"
        "<SatNode><Saturation>0.85</Saturation></SatNode></ColorCorrection>",
        encoding="utf-8",
    )
    doc = copy.deepcopy(manifest)
    doc["color"]["look"] = str(cc)
    root = validate_amf(write_amf(doc, tmp_path / "cc.amf"))
    sop = root.find(f"{A}pipeline/{A}lookTransform/{C}SOPNode")
    assert [float(v) for v in sop.find(C + "Slope").text.split()] == [1.2, 1.0, 0.8]
    assert [float(v) for v in sop.find(C + "Power").text.split()] == [1.0, 1.0, 1.1]
    sat = root.find(f"{A}pipeline/{A}lookTransform/{C}SatNode/{C}Saturation")
    assert float(sat.text) == 0.85
    doc["color"]["look"] = str(tmp_path / "missing.cdl")
    with pytest.raises(HandoffError, match="missing.cdl"):
        write_amf(doc, tmp_path / "bad.amf")


def test_schema_validator_accepts_academy_example_and_rejects_broken(
    manifest: dict[str, Any],
) -> None:
    assert_amf_valid(DATA / "aces-amf" / "example2.amf")
    doc = copy.deepcopy(manifest)
    doc["color"]["look_cdl"] = {
        "slope": [1.1, 1.0, 0.9],
        "offset": [0.0, 0.0, 0.0],
        "power": [1.0, 1.0, 1.0],
        "saturation": 0.9,
    }
    good = build_amf(doc).getroot()
    assert_amf_valid(good)

    def broken(change: Any) -> ET.Element:
        root = copy.deepcopy(good)
        change(root)
        return root

    pipe = A + "pipeline"
    out_id = f"{pipe}/{A}outputTransform/{A}transformId"
    slope = f"{pipe}/{A}lookTransform/{C}SOPNode/{C}Slope"
    power = f"{pipe}/{A}lookTransform/{C}SOPNode/{C}Power"

    def move_output_first(root: ET.Element) -> None:
        p = root.find(pipe)
        o = p.find(A + "outputTransform")
        p.remove(o)
        p.insert(1, o)

    for change in (
        lambda r: r.find(f"{pipe}/{A}outputTransform").set("applied", "maybe"),
        lambda r: r.find(out_id).__setattr__("text", TID + "Output.Foo"),
        move_output_first,
        lambda r: r.find(slope).__setattr__("text", "1 2"),
        lambda r: r.find(power).__setattr__("text", "1 0 1"),
        lambda r: r.find(f"{A}amfInfo/{A}uuid").__setattr__("text", "x"),
        lambda r: r.remove(r.find(A + "amfInfo")),
    ):
        assert amf_schema_errors(broken(change))


def project(manifest: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(manifest)
    doc["color"]["config"] = {"uri": str(PROJECT_CONFIG), "source": "project"}
    return doc


def test_ids_from_the_project_config(manifest: dict[str, Any], tmp_path: Path) -> None:
    ocio = pytest.importorskip("PyOpenColorIO")
    doc = project(manifest)
    root = validate_amf(write_amf(doc, tmp_path / "pq.amf"))
    got = root.find(f"{A}pipeline/{A}outputTransform/{A}transformId").text
    assert got == TID + "Output.Academy.Rec2100-D65_1000nit_in_Rec2100-D65_ST2084.a2.v1"
    config = ocio.Config.CreateFromFile(str(PROJECT_CONFIG))
    view = config.getViewTransform("ACES 2.0 - HDR 1000 nits (Rec.2020)")
    assert got in view.getInterchangeAttribute("amf_transform_ids").split()


def test_hlg_id_only_where_the_config_defines_one(
    manifest: dict[str, Any], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    doc = project(manifest)
    doc["outputs"][1].update(
        preset="hevc-hlg",
        target="hlg-1000",
        display="Rec.2100-HLG - Display",
        view="ACES 2.0 - HDR 1000 nits (Rec.2020)",
    )
    # ACES 2.0 has no Rec.2020-limited HLG output transform, nor does the config
    with pytest.raises(NoTransformIdError, match="no ACES output transform ID"):
        write_amf(doc, tmp_path / "hlg.amf", "hevc-hlg")
    written = write_handoff(doc, tmp_path / "ho")
    assert "amf:hevc-hlg" not in written and "amf:prores4444xq-pq1000" in written
    assert "no AMF for hevc-hlg" in caplog.text
    # the P3-D65-limited view on the HLG display has an ID in the built-in config
    doc = copy.deepcopy(manifest)
    doc["outputs"][1].update(
        preset="hevc-hlg",
        display="Rec.2100-HLG - Display",
        view="ACES 2.0 - HDR 1000 nits (P3 D65)",
    )
    root = validate_amf(write_amf(doc, tmp_path / "hlg.amf", "hevc-hlg"))
    got = root.find(f"{A}pipeline/{A}outputTransform/{A}transformId").text
    assert got == TID + "Output.Academy.P3-D65_1000nit_in_Rec2100-D65_HLG.a2.v1"


@pytest.mark.parametrize("name", ["nul\x00name", 'q"uote <&>', "tab\tnew\nline", "é"])
def test_any_name_gives_valid_xml(
    manifest: dict[str, Any], tmp_path: Path, name: str
) -> None:
    doc = copy.deepcopy(manifest)
    doc["name"] = name
    root = validate_amf(write_amf(doc, tmp_path / "n.amf"))
    assert unescape(root.find(f"{A}clipId/{A}clipName").text) == name


def test_config_look_is_its_aces_id(manifest: dict[str, Any], tmp_path: Path) -> None:
    doc = project(manifest)
    doc["color"]["look"] = {
        "kind": "config-look",
        "name": "ACES 1.3 Reference Gamut Compression",
        "file": None,
        "cccid": None,
        "process_space": "ACES2065-1",
        "cdl": None,
        "aces_transform_id": None,  # read from the config
    }
    root = validate_amf(write_amf(doc, tmp_path / "lmt.amf"))
    got = root.find(f"{A}pipeline/{A}lookTransform/{A}transformId").text
    assert got == TID + "Look.Academy.ReferenceGamutCompress.a2.v1"
    doc["color"]["look"]["name"] = "A look the config does not have"
    with pytest.raises(HandoffError, match="no ACES transform ID"):
        write_amf(doc, tmp_path / "none.amf")


CCC = (
    '<ColorCorrectionCollection xmlns="urn:ASC:CDL:v1.01">'
    '<ColorCorrection id="sh010"><SOPNode><Slope>1.2 1.0 0.8</Slope>'
    "<Offset>0 0 0</Offset><Power>1 1 1</Power></SOPNode>"
    "<SatNode><Saturation>0.5</Saturation></SatNode></ColorCorrection>"
    '<ColorCorrection id="sh020"><SOPNode><Slope>0.9 0.9 0.9</Slope>'
    "<Offset>0 0 0</Offset><Power>1 1 1</Power></SOPNode></ColorCorrection>"
    "</ColorCorrectionCollection>"
)


def test_ccc_with_id_and_lut_looks(manifest: dict[str, Any], tmp_path: Path) -> None:
    ccc = tmp_path / "grade.ccc"
    ccc.write_text(CCC, encoding="utf-8")
    doc = copy.deepcopy(manifest)
    doc["color"]["look"] = f"{ccc}#sh020"  # an older manifest's look string
    root = validate_amf(write_amf(doc, tmp_path / "ccc.amf"))
    look = root.find(f"{A}pipeline/{A}lookTransform")
    slope = look.find(f"{C}SOPNode/{C}Slope").text
    assert [float(v) for v in slope.split()] == [0.9, 0.9, 0.9]
    assert float(look.find(f"{C}SatNode/{C}Saturation").text) == 1.0
    assert look.find(A + "file") is None  # not "grade.ccc#sh020" as a file
    lut = tmp_path / "show lmt.cube"
    doc["color"]["look"] = {
        "kind": "lut",
        "name": None,
        "file": str(lut),
        "cccid": None,
        "process_space": "ACES2065-1",
        "cdl": None,
        "aces_transform_id": None,
    }
    root = validate_amf(write_amf(doc, tmp_path / "lut.amf"))
    file_url = root.find(f"{A}pipeline/{A}lookTransform/{A}file").text
    assert unquote(urlparse(file_url).path) == str(lut)
    doc["color"]["look"]["process_space"] = "ACEScct"
    with pytest.raises(HandoffError, match="ACES2065-1"):
        write_amf(doc, tmp_path / "bad.amf")


def test_retarget_named_from_record_or_builtin_target(
    manifest: dict[str, Any], tmp_path: Path
) -> None:
    doc = copy.deepcopy(manifest)
    doc["outputs"][0]["target"] = "hdr-pq-600-rec2020"  # no color.transforms
    root = validate_amf(write_amf(doc, tmp_path / "builtin.amf"))
    text = root.find(f"{A}pipeline/{A}outputTransform/{A}description").text
    assert "BT.2390" in text and "1000 -> 600 cd/m2" in text
    # a recorded transform (a 4000 -> 800 retarget) wins over the built-in table
    doc["color"]["transforms"] = [
        {
            "source": "ACES2065-1",
            "target": {
                "name": "hdr-pq-600-rec2020",
                "peak_luminance": 800.0,
                "retarget_from": 4000.0,
            },
        }
    ]
    root = validate_amf(write_amf(doc, tmp_path / "recorded.amf"))
    text = root.find(f"{A}pipeline/{A}outputTransform/{A}description").text
    assert "4000 -> 800 cd/m2" in text
    doc["color"]["transforms"][0]["target"]["retarget_from"] = None
    root = validate_amf(write_amf(doc, tmp_path / "plain.amf"))
    text = root.find(f"{A}pipeline/{A}outputTransform/{A}description").text
    assert "BT.2390" not in text
