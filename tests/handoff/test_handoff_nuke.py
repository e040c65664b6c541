"""The .nk script: structure pinned for the demo job, hostile file names survive."""

from __future__ import annotations

import copy
import re
import subprocess
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from handoff_helpers import HOSTILE_NAMES, two_shot_manifest

from hdrpipe.errors import HandoffError
from hdrpipe.handoff import write_nuke_script
from hdrpipe.handoff.tcl import tokenize, unescape_subst

# Knobs documented in Foundry's Nuke Reference Guide for each class we write
# (Read, Write, OCIODisplay, OCIOColorSpace, OCIOCDLTransform, AppendClip, Root)
# plus the node-graph knobs every node has (name, label, xpos, ypos, disable).
NUKE_KNOBS = {
    "Root": {
        "inputs",
        "name",
        "frame",
        "first_frame",
        "last_frame",
        "lock_range",
        "fps",
        "format",
        "colorManagement",
        "OCIO_config",
        "customOCIOConfigPath",
        "workingSpaceLUT",
    },
    "Read": {
        "inputs",
        "file_type",
        "file",
        "format",
        "first",
        "last",
        "origfirst",
        "origlast",
        "origset",
        "before",
        "after",
        "on_error",
        "frame_mode",
        "frame",
        "colorspace",
        "raw",
        "premultiplied",
        "name",
        "label",
        "xpos",
        "ypos",
    },
    "Write": {
        "file",
        "file_type",
        "colorspace",
        "raw",
        "channels",
        "datatype",
        "compression",
        "write_ACES_compliant_EXR",
        "create_directories",
        "first",
        "last",
        "use_limit",
        "frame_mode",
        "frame",
        "disable",
        "name",
        "xpos",
        "ypos",
    },
    "OCIODisplay": {"colorspace", "display", "view", "name", "xpos", "ypos"},
    "OCIOColorSpace": {"in_colorspace", "out_colorspace", "name", "xpos", "ypos"},
    "OCIOCDLTransform": {
        "slope",
        "offset",
        "power",
        "saturation",
        "name",
        "xpos",
        "ypos",
    },
    "AppendClip": {"inputs", "firstFrame", "name", "xpos", "ypos"},
}


def parse_nk(text: str) -> list[tuple[str, Any]]:
    """Read a .nk back: ('node', cls, {knob: value}) or ('stack', words)."""
    out: list[tuple[str, Any]] = []
    for words in tokenize(text, allow_substitution=True):
        if words[0] in ("set", "push"):
            out.append(("stack", words))
            continue
        if words[0] == "version":
            out.append(("version", words[1:]))
            continue
        assert len(words) == 2, words
        cls, body = words
        knob_words = tokenize(body)  # knob bodies must hold no substitution at all
        pairs = {}
        for kw in knob_words:
            assert len(kw) == 2, kw
            assert kw[0] not in pairs, f"duplicate knob {kw[0]}"
            pairs[kw[0]] = kw[1]
        out.append(("node", (cls, pairs)))
    return out


def nodes(text: str) -> list[tuple[str, dict[str, str]]]:
    return [item for kind, item in parse_nk(text) if kind == "node"]


def by_name(text: str) -> dict[str, tuple[str, dict[str, str]]]:
    return {k.get("name", cls): (cls, k) for cls, k in nodes(text)}


def test_demo_script_structure(manifest: dict[str, Any], tmp_path: Path) -> None:
    path = write_nuke_script(manifest, tmp_path / "sh010.nk")
    text = path.read_text(encoding="utf-8")
    items = parse_nk(text)
    assert items[0] == ("version", ["15.1", "v1"])
    classes = [cls for cls, _ in nodes(text)]
    assert classes == [
        "Root",
        "Read",
        "OCIODisplay",
        "OCIODisplay",
        "Write",
        "Read",
        "Read",
        "Read",
    ]
    for cls, knobs in nodes(text):
        assert set(knobs) <= NUKE_KNOBS[cls], (cls, set(knobs) - NUKE_KNOBS[cls])

    root = nodes(text)[0][1]
    # fps: the double nearest 24000/1001 (23.976023976023978).
    assert float(root["fps"]) == 24000 / 1001
    assert Fraction(root["fps"]).limit_denominator(1001) == Fraction(24000, 1001)
    assert root["format"].split() == [
        "1920",
        "1080",
        "0",
        "0",
        "1920",
        "1080",
        "1",
        "hdrpipe_1920x1080",
    ]
    assert (root["first_frame"], root["last_frame"], root["frame"]) == (
        "1001",
        "1048",
        "1001",
    )
    assert root["colorManagement"] == "OCIO"
    assert root["OCIO_config"] == "custom"
    assert root["customOCIOConfigPath"] == "ocio://studio-config-latest"
    assert root["name"] == str(path)

    named = by_name(text)
    cls, plate = named["Read_plate"]
    assert plate["file"] == "/abs/shots/sh010/plate.####.exr"
    assert (plate["first"], plate["last"], plate["origfirst"], plate["origlast"]) == (
        "1001",
        "1048",
        "1001",
        "1048",
    )
    assert (plate["frame_mode"], plate["frame"]) == ("start at", "1001")
    assert plate["colorspace"] == "ACES2065-1"
    assert (plate["raw"], plate["premultiplied"]) == ("false", "false")
    assert plate["on_error"] == "error"

    for preset, display, view in [
        (
            "prores4444xq_pq1000",
            "Rec.2100-PQ - Display",
            "ACES 2.0 - HDR 1000 nits (Rec.2020)",
        ),
        (
            "h264_sdr_review",
            "Rec.1886 Rec.709 - Display",
            "ACES 2.0 - SDR 100 nits (Rec.709)",
        ),
    ]:
        cls, review = named[f"Review_{preset}"]
        assert cls == "OCIODisplay"
        assert (review["colorspace"], review["display"], review["view"]) == (
            "ACEScg",
            display,
            view,
        )

    cls, write = named["Write_exr_acescg"]
    assert write["file"] == "/abs/out/sh010_exr-acescg/sh010.####.exr"
    assert (write["file_type"], write["colorspace"], write["datatype"]) == (
        "exr",
        "ACEScg",
        "16 bit half",
    )
    assert write["compression"] == "PIZ Wavelet (32 scanlines)"
    assert (write["first"], write["last"], write["use_limit"]) == (
        "1001",
        "1048",
        "true",
    )
    assert (write["channels"], write["create_directories"], write["disable"]) == (
        "rgb",
        "true",
        "true",
    )

    cls, mov = named["Read_prores4444xq_pq1000"]
    # Nuke numbers movie frames from 1; "start at" 1001 puts frame 1 on record 0.
    assert (mov["file_type"], mov["first"], mov["last"], mov["frame"]) == (
        "mov",
        "1",
        "48",
        "1001",
    )
    assert mov["colorspace"] == "Rec.2100-PQ - Display"
    cls, exr = named["Read_exr_acescg"]
    assert (exr["first"], exr["last"], exr["colorspace"]) == ("1001", "1048", "ACEScg")

    stack = [item for kind, item in items if kind == "stack"]
    assert stack == [
        ["set", "N0ec0", "[stack 0]"],
        ["push", "$N0ec0"],
        ["push", "$N0ec0"],
    ]


def test_script_colourspaces_exist_in_the_config(
    manifest: dict[str, Any], tmp_path: Path
) -> None:
    ocio = pytest.importorskip("PyOpenColorIO")
    config = ocio.Config.CreateFromFile(manifest["color"]["config"]["uri"])
    text = write_nuke_script(manifest, tmp_path / "a.nk").read_text(encoding="utf-8")
    for cls, knobs in nodes(text):
        for key in ("colorspace", "in_colorspace", "out_colorspace", "workingSpaceLUT"):
            if key in knobs:
                assert config.getColorSpace(knobs[key]) is not None, (
                    cls,
                    key,
                    knobs[key],
                )
        if cls == "OCIODisplay":
            assert knobs["view"] in list(config.getViews(knobs["display"]))


def hostile_manifest(
    base: dict[str, Any], tmp_root: str = "/abs/hostile"
) -> dict[str, Any]:
    doc = copy.deepcopy(base)
    doc["inputs"][0]["path"] = f"{tmp_root}/{HOSTILE_NAMES[0]}"
    doc["outputs"][0]["path"] = f"{tmp_root}/{HOSTILE_NAMES[4]}.mov"
    doc["outputs"][2]["path"] = f"{tmp_root}/{HOSTILE_NAMES[10]}"
    doc["shots"][0]["name"] = 'sh[exec touch /tmp/pwned] "x" {y'
    doc["color"]["config"]["uri"] = "/cfg/$OCIO [exec id]/config.ocio"
    return doc


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=range(len(HOSTILE_NAMES)))
def test_hostile_paths_read_back_exactly(
    manifest: dict[str, Any], tmp_path: Path, name: str
) -> None:
    doc = copy.deepcopy(manifest)
    path = f"/abs/shots/{name}"
    doc["inputs"][0]["path"] = path
    doc["outputs"][2]["path"] = f"/abs/out/{name}"
    text = write_nuke_script(doc, tmp_path / "h.nk").read_text(encoding="utf-8")
    named = by_name(text)
    # knob text is escaped for Nuke's Tcl evaluation; un-escaping gives the path
    assert unescape_subst(named["Read_plate"][1]["file"]) == path
    assert unescape_subst(named["Write_exr_acescg"][1]["file"]) == f"/abs/out/{name}"
    # no command text outside a quoted word: the only substitutions are the stack ops
    subs = re.findall(
        r"(?<!\\)\[[^\]]*\]",
        "\n".join(
            line for line in text.splitlines() if line.startswith(("set ", "push "))
        ),
    )
    assert subs == ["[stack 0]"]


def test_whole_script_in_tclsh(
    manifest: dict[str, Any], tmp_path: Path, tclsh: str
) -> None:
    """Source the .nk in a real Tcl interpreter with recording node procs.

    Each node proc parses its knob body as a Tcl list and evaluates the file
    knob with ``subst`` the way Nuke evaluates string knobs; exec is replaced
    by a recorder first, so nothing can run.
    """
    doc = hostile_manifest(manifest)
    nk = write_nuke_script(doc, tmp_path / "hostile.nk")
    driver = tmp_path / "driver.tcl"
    driver.write_text(
        "rename exec {}\n"
        'proc exec args { puts stderr "EXECUTED $args"; return EXECUTED }\n'
        "fconfigure stdout -encoding utf-8 -translation lf\n"
        "proc version args {}\nproc stack args { return node }\nproc push args {}\n"
        "proc node {cls body} {\n"
        "  foreach {k v} $body {\n"
        "    if {$k in {file name customOCIOConfigPath label}} {\n"
        "      set h [binary encode hex [encoding convertto utf-8 [subst $v]]]\n"
        '      puts "$cls $k $h"\n'
        "    }\n  }\n}\n"
        "foreach c {Root Read Write OCIODisplay OCIOColorSpace OCIOCDLTransform\n"
        "           AppendClip} {\n"
        '  proc $c body "node $c \\$body"\n}\n'
        f"source -encoding utf-8 {{{nk}}}\n",
        encoding="utf-8",
    )
    proc = subprocess.run(
        [tclsh, str(driver)], capture_output=True, timeout=30, check=False
    )
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    assert b"EXECUTED" not in proc.stderr
    seen = {}
    for line in proc.stdout.decode("ascii").splitlines():
        cls, knob, hexval = line.split(" ")
        seen.setdefault((cls, knob), []).append(bytes.fromhex(hexval).decode("utf-8"))
    assert seen[("Read", "file")][0] == doc["inputs"][0]["path"]
    assert doc["outputs"][0]["path"] in seen[("Read", "file")]
    assert seen[("Write", "file")] == [doc["outputs"][2]["path"]]
    assert seen[("Root", "customOCIOConfigPath")] == [doc["color"]["config"]["uri"]]
    assert all(
        re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", n) for n in seen[("Read", "name")]
    )


def test_two_shots_are_appended_on_record_time(
    manifest: dict[str, Any], tmp_path: Path
) -> None:
    doc = two_shot_manifest(manifest)
    text = write_nuke_script(doc, tmp_path / "two.nk").read_text(encoding="utf-8")
    ns = nodes(text)
    classes = [cls for cls, _ in ns]
    assert classes[:4] == ["Root", "Read", "Read", "AppendClip"]
    # AppendClip input 0 is the top of the stack: the first shot is pushed last.
    second, first = ns[1][1], ns[2][1]
    assert first["file"] == "/abs/shots/sh010/plate.####.exr"
    assert (first["frame"], second["frame"]) == ("1001", "1049")
    assert second["file"] == "/abs/shots/sh020/plate.%04d.exr"
    assert (second["first"], second["last"]) == ("1", "24")
    assert ns[3][1]["inputs"] == "2"
    assert ns[0][1]["last_frame"] == str(1001 + 72 - 1)


def test_cdl_look_is_applied_in_acescct(
    manifest: dict[str, Any], tmp_path: Path
) -> None:
    doc = copy.deepcopy(manifest)
    doc["color"]["look_cdl"] = {
        "slope": [1.1, 1.0, 0.9],
        "offset": [0.01, 0.0, -0.01],
        "power": [1.0, 1.05, 1.0],
        "saturation": 0.9,
        "id": "sh010_grade",
        "path": "/abs/looks/sh010.cdl",
    }
    text = write_nuke_script(doc, tmp_path / "cdl.nk").read_text(encoding="utf-8")
    ns = nodes(text)
    i = [cls for cls, _ in ns].index("OCIOCDLTransform")
    assert ns[i - 1] == (
        "OCIOColorSpace",
        {
            "in_colorspace": "ACEScg",
            "out_colorspace": "ACEScct",
            "name": "CDL_to_working_space",
            "xpos": "0",
            "ypos": "120",
        },
    )
    cdl = ns[i][1]
    assert [float(v) for v in cdl["slope"].split()] == [1.1, 1.0, 0.9]
    assert [float(v) for v in cdl["offset"].split()] == [0.01, 0.0, -0.01]
    assert [float(v) for v in cdl["power"].split()] == [1.0, 1.05, 1.0]
    assert float(cdl["saturation"]) == 0.9
    assert ns[i + 1][1]["out_colorspace"] == "ACEScg"


def test_malformed_manifest_is_a_handoff_error(
    manifest: dict[str, Any], tmp_path: Path
) -> None:
    doc = copy.deepcopy(manifest)
    del doc["shots"]
    with pytest.raises(HandoffError, match="shots"):
        write_nuke_script(doc, tmp_path / "x.nk")
    assert not (tmp_path / "x.nk").exists()


def test_fileseq_at_pattern_becomes_hashes(
    manifest: dict[str, Any], tmp_path: Path
) -> None:
    doc = copy.deepcopy(manifest)
    doc["inputs"][0]["path"] = "/abs/sh@ots/plate.@@@@.exr"
    text = write_nuke_script(doc, tmp_path / "at.nk").read_text(encoding="utf-8")
    assert by_name(text)["Read_plate"][1]["file"] == "/abs/sh@ots/plate.####.exr"


def test_letterbox_active_area_in_format(
    manifest: dict[str, Any], tmp_path: Path
) -> None:
    # 2.39:1 picture letterboxed in UHD: active [x, y, w, h] = [0, 276, 3840, 1608]
    doc = copy.deepcopy(manifest)
    doc["raster"].update(width=3840, height=2160, active=[0, 276, 3840, 1608])
    text = write_nuke_script(doc, tmp_path / "lb.nk").read_text(encoding="utf-8")
    fmt = nodes(text)[0][1]["format"].split()
    # Nuke box x y r t, bottom-left origin: bottom bar 2160 - 276 - 1608 = 276 rows
    assert fmt[:7] == ["3840", "2160", "0", "276", "3840", "1884", "1"]
