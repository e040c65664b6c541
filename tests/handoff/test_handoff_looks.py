"""Looks as structured data: what the manifest records and what the farm carries."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from handoff_helpers import load_sample

from hdrpipe.color.config import PROJECT_CONFIG
from hdrpipe.errors import HandoffError
from hdrpipe.handoff.manifest import check_manifest, look_spec

GAMUT_LMT = "ACES 1.3 Reference Gamut Compression"
CCC = (
    '<ColorCorrectionCollection xmlns="urn:ASC:CDL:v1.01">'
    '<ColorCorrection id="sh010"><SOPNode><Slope>1.2 1.0 0.8</Slope>'
    "<Offset>0.01 0 0</Offset><Power>1 1 1.1</Power></SOPNode>"
    "<SatNode><Saturation>0.5</Saturation></SatNode></ColorCorrection>"
    '<ColorCorrection id="sh020"><SOPNode><Slope>0.9 0.9 0.9</Slope>'
    "<Offset>0 0 0</Offset><Power>1 1 1</Power></SOPNode></ColorCorrection>"
    "</ColorCorrectionCollection>"
)


@pytest.fixture
def config() -> Any:
    ocio = pytest.importorskip("PyOpenColorIO")
    return ocio.Config.CreateFromFile(str(PROJECT_CONFIG))


def test_record_of_a_config_look(config: Any) -> None:
    from hdrpipe.color.looks import look_record

    rec = look_record(GAMUT_LMT, config)
    assert rec["kind"] == "config-look" and rec["name"] == GAMUT_LMT
    assert rec["file"] is None
    # the config's look entry: process_space ACES2065-1, its Look.* ID
    assert rec["process_space"] == "ACES2065-1"
    assert rec["aces_transform_id"] == (
        "urn:ampas:aces:transformId:v2.0:Look.Academy.ReferenceGamutCompress.a2.v1"
    )
    doc = load_sample()
    doc["color"]["look"] = rec
    assert look_spec(check_manifest(doc)["color"]) == rec


def test_record_of_a_ccc_correction(
    config: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hdrpipe.color.looks import look_record

    (tmp_path / "grade.ccc").write_text(CCC, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    rec = look_record("grade.ccc#sh010", config)
    assert rec["kind"] == "ccc" and rec["cccid"] == "sh010"
    assert rec["file"] == str(tmp_path / "grade.ccc")  # absolute, from the cwd
    assert rec["process_space"] == "ACEScct"  # the config's color_timing role
    assert rec["cdl"]["slope"] == [1.2, 1.0, 0.8]
    assert rec["cdl"]["offset"] == [0.01, 0.0, 0.0]
    assert rec["cdl"]["power"] == [1.0, 1.0, 1.1]
    assert rec["cdl"]["saturation"] == 0.5


def test_record_of_a_lut(config: Any, tmp_path: Path) -> None:
    from hdrpipe.color.looks import look_record

    lut = tmp_path / "show.cube"
    lut.write_text("LUT_3D_SIZE 2\n" + "0 0 0\n" * 8, encoding="utf-8")
    rec = look_record(lut, config)
    assert rec["kind"] == "lut" and rec["file"] == str(lut)
    assert rec["process_space"] == "ACES2065-1" and rec["cdl"] is None


def test_farm_plan_keeps_a_config_look_a_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hdrpipe.engine import ConformJob
    from hdrpipe.farm.plan import job_to_dict

    monkeypatch.chdir(tmp_path)
    (tmp_path / "grade.ccc").write_text(CCC, encoding="utf-8")

    def planned(look: str) -> Any:
        job = ConformJob(
            inputs=("/abs/plate.####.exr",),
            deliver=("exr-acescg",),
            outdir=str(tmp_path),
            look=look,
        )
        return job_to_dict(job)["look"]

    assert planned(GAMUT_LMT) == GAMUT_LMT
    assert planned("grade.ccc#sh020") == f"{tmp_path / 'grade.ccc'}#sh020"
    assert planned("grade.ccc") == str(tmp_path / "grade.ccc")


def test_legacy_look_strings(tmp_path: Path) -> None:
    ccc = tmp_path / "grade.ccc"
    ccc.write_text(CCC, encoding="utf-8")
    spec = look_spec({"look": f"{ccc}#sh020"})
    assert spec is not None and spec["kind"] == "ccc"
    assert spec["file"] == str(ccc) and spec["cccid"] == "sh020"
    assert spec["cdl"]["slope"] == [0.9, 0.9, 0.9]
    spec = look_spec({"look": GAMUT_LMT})
    assert spec is not None and spec["kind"] == "config-look"
    with pytest.raises(HandoffError, match="sh999"):
        look_spec({"look": f"{ccc}#sh999"})


@pytest.mark.parametrize(
    "look",
    [
        {"kind": "paint"},
        {"kind": "config-look", "name": None},
        {"kind": "cc", "file": None},
        {"kind": "cc", "file": "/a.cc", "cdl": {"slope": [1, 1]}},
    ],
    ids=["kind", "name", "file", "cdl"],
)
def test_malformed_look_records_are_refused(look: dict[str, Any]) -> None:
    doc = copy.deepcopy(load_sample())
    doc["color"]["look"] = look
    with pytest.raises(HandoffError, match="color.look"):
        check_manifest(doc)


def test_otio_and_edl_carry_the_look(tmp_path: Path) -> None:
    import opentimelineio as otio

    from hdrpipe.handoff import write_edl, write_otio

    doc = load_sample()
    cdl = {
        "slope": [1.1, 1.0, 0.9],
        "offset": [0.01, 0.0, 0.0],
        "power": [1.0, 1.0, 1.05],
        "saturation": 0.8,
    }
    doc["color"]["look"] = {
        "kind": "cc",
        "name": None,
        "file": "/abs/looks/sh010.cc",
        "cccid": None,
        "process_space": "ACEScct",
        "cdl": cdl,
        "aces_transform_id": None,
    }
    tl = otio.adapters.read_from_file(str(write_otio(doc, tmp_path / "l.otio")))

    def plain(value: Any) -> Any:
        if hasattr(value, "items"):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, str) or not hasattr(value, "__iter__"):
            return value
        return [plain(v) for v in value]

    assert plain(tl.metadata["hdrpipe"]["look"]) == doc["color"]["look"]
    edl = write_edl(doc, tmp_path / "l.edl")
    back = otio.adapters.read_from_file(str(edl), "cmx_3600", rate=24000 / 1001)
    (clip,) = list(back.tracks[0].find_clips())
    got = clip.metadata["cdl"]
    assert [list(got["asc_sop"][k]) for k in ("slope", "offset", "power")] == [
        cdl["slope"],
        cdl["offset"],
        cdl["power"],
    ]
    assert got["asc_sat"] == 0.8
