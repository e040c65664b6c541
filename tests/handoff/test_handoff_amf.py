"""ACES Metadata File: structure per the AMF 2.0 XSD, transform IDs per the OCIO config.

The ACES AMF XSD is not shipped in any PyPI package (checked the package index
for aces/amf names), so the document is validated against the element structure
of ``acesMetadataFile.xsd`` v2.0 (Academy S-2019-001), transcribed below: element
order, required children, ``applied`` attributes and the transformId patterns.
"""

from __future__ import annotations

import copy
import re
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from hdrpipe.errors import HandoffError
from hdrpipe.handoff import write_amf, write_handoff

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
    root = ET.parse(path).getroot()
    assert root.tag == A + "acesMetadataFile"
    assert root.get("version") == "2.0"
    order = tags(root)
    assert order[0] == A + "amfInfo" and A + "pipeline" in order
    assert order[: order.index(A + "pipeline") + 1] in (
        [A + "amfInfo", A + "pipeline"],
        [A + "amfInfo", A + "clipId", A + "pipeline"],
    )
    check_info(root.find(A + "amfInfo"))
    clip = root.find(A + "clipId")
    if clip is not None:
        assert tags(clip)[0] == A + "clipName" and tags(clip)[1] in (
            A + "sequence",
            A + "file",
            A + "uuid",
        )
    pipeline = root.find(A + "pipeline")
    ptags = tags(pipeline)
    assert ptags[0] == A + "pipelineInfo"
    check_info(pipeline[0], [A + "systemVersion"])
    version = pipeline[0].find(A + "systemVersion")
    assert tags(version) == [A + "majorVersion", A + "minorVersion", A + "patchVersion"]
    assert all(re.fullmatch(r"\d", v.text) for v in version)
    rest = ptags[1:]
    if rest and rest[0] == A + "inputTransform":
        check_transform(pipeline[1], TN_INPUT)
        rest = rest[1:]
    if rest and rest[-1] == A + "outputTransform":
        check_transform(pipeline.find(A + "outputTransform"), TN_OUTPUT)
        rest = rest[:-1]
    assert set(rest) <= {A + "lookTransform", A + "workingLocation"}
    for look in pipeline.findall(A + "lookTransform"):
        assert look.get("applied") in ("true", "false")
        ws = look.find(A + "cdlWorkingSpace")
        if ws is not None:
            assert tags(ws)[-1] == A + "fromCdlWorkingSpace"
            for side in ws:
                check_transform_id = side.find(A + "transformId").text
                assert TN_CSC.fullmatch(check_transform_id)
            assert [t for t in tags(look) if t != A + "description"][1:] == [
                C + "SOPNode",
                C + "SatNode",
            ]
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


def test_output_ids_are_the_configs_amf_ids(
    manifest: dict[str, Any], tmp_path: Path
) -> None:
    """For every ACES 2.0 display/view of the studio config, OCIO lists our ID."""
    ocio = pytest.importorskip("PyOpenColorIO")
    from hdrpipe.handoff.amf import DISPLAY_ENCODING, output_transform_id

    config = ocio.Config.CreateFromFile("ocio://studio-config-latest")
    checked = 0
    for display in config.getDisplays():
        if display not in DISPLAY_ENCODING:
            continue
        for view in config.getViews(display):
            vt_name = config.getDisplayViewTransformName(display, view)
            if not vt_name or not view.startswith("ACES 2.0"):
                continue
            ids = config.getViewTransform(vt_name).getInterchangeAttribute(
                "amf_transform_ids"
            )
            assert output_transform_id(display, view) in ids.split(), (display, view)
            checked += 1
    assert checked >= 10


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
