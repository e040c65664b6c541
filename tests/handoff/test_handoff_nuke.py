"""The .nk script: structure pinned for the demo job, hostile file names survive."""

from __future__ import annotations

import copy
import math
import re
import subprocess
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from handoff_helpers import HOSTILE_NAMES, two_shot_manifest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hdrpipe.errors import HandoffError, InputError
from hdrpipe.handoff import NukeFrameTokenError, write_nuke_script
from hdrpipe.handoff.tcl import tokenize, unescape_subst

# Knobs documented in Foundry's Nuke Reference Guide for each class we write
# (Read, Write, OCIODisplay, OCIOColorSpace, OCIOCDLTransform, AppendClip, Root,
# Dissolve, FrameRange, OCIOFileTransform, OCIOLookTransform)
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
    "OCIODisplay": {"colorspace", "display", "view", "name", "label", "xpos", "ypos"},
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
    "Dissolve": {"inputs", "which", "name", "xpos", "ypos"},
    # Foundry's OFlow reference: Input Range, Method, Timing, Frame
    "OFlow2": {"input.first", "input.last", "interpolation", "timing2"}
    | {"timingFrame2", "name", "xpos", "ypos"},
    "FrameRange": {"first_frame", "last_frame", "name", "label", "xpos", "ypos"},
    "OCIOFileTransform": {"file", "cccid", "name", "xpos", "ypos"},
    "OCIOLookTransform": {
        "in_colorspace",
        "out_colorspace",
        "look",
        "name",
        "xpos",
        "ypos",
    },
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
    # a movie: no frame token, so no '#' (Nuke would read it as a frame digit)
    doc["outputs"][0]["path"] = f'{tmp_root}/"q" $y [x] {{.mov'
    doc["outputs"][2]["path"] = f"{tmp_root}/{HOSTILE_NAMES[10]}"
    doc["shots"][0]["name"] = 'sh[exec touch /tmp/pwned] "x" {y'
    doc["color"]["config"]["uri"] = "/cfg/$OCIO [exec id]/config.ocio"
    return doc


def nuke_frame_path(knob: str, frame: int) -> str:
    """The file Nuke opens for ``frame``: Tcl-unescape, then the frame tokens.

    Nuke's file knob rules (Foundry, Nuke User Guide, "Naming Conventions"):
    printf ``%0Nd``/``%d`` (``%%`` a literal percent) or runs of ``#`` (one
    digit each) become the frame number.
    """
    text = unescape_subst(knob)
    if "%" in text:
        return re.sub(
            r"%(%|0?(\d*)d)",
            lambda m: "%" if m.group(1) == "%" else f"{frame:0{m.group(2) or 0}d}",
            text,
        )
    return re.sub(r"#+", lambda m: f"{frame:0{len(m.group(0))}d}", text)


def on_disk(pattern: str, frame: int) -> str:
    """The real file of ``frame``: the last ####/%04d of the file name replaced."""
    head, _, name = pattern.rpartition("/")
    tokens = list(re.finditer(r"#+|%0?\d*d", name))
    if tokens:
        m = tokens[-1]
        pad = len(m.group(0)) if m.group(0)[0] == "#" else int(m.group(0)[1:-1] or 0)
        name = name[: m.start()] + f"{frame:0{pad}d}" + name[m.end() :]
    return f"{head}/{name}"


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=range(len(HOSTILE_NAMES)))
def test_hostile_paths_read_back_exactly(
    manifest: dict[str, Any], tmp_path: Path, name: str
) -> None:
    doc = copy.deepcopy(manifest)
    path = f"/abs/shots/{name}"
    doc["inputs"][0]["path"] = path
    doc["outputs"][2]["path"] = f"/abs/out/{name}"
    if "#" in name.replace("####", ""):
        # Nuke reads every '#' as a frame digit and has no escape for it
        with pytest.raises(HandoffError, match="literal '#'"):
            write_nuke_script(doc, tmp_path / "h.nk")
        return
    text = write_nuke_script(doc, tmp_path / "h.nk").read_text(encoding="utf-8")
    named = by_name(text)
    # knob text is escaped for Tcl and for Nuke's frame tokens: Nuke opens the file
    read = named["Read_plate"][1]["file"]
    assert nuke_frame_path(read, 1001) == on_disk(path, 1001)
    write = named["Write_exr_acescg"][1]["file"]
    assert nuke_frame_path(write, 1001) == on_disk(f"/abs/out/{name}", 1001)
    # no command text outside a quoted word: the only substitutions are the stack ops
    subs = re.findall(
        r"(?<!\\)\[[^\]]*\]",
        "\n".join(
            line for line in text.splitlines() if line.startswith(("set ", "push "))
        ),
    )
    assert subs == ["[stack 0]"]


names = st.text(
    st.characters(blacklist_characters="/\x00", blacklist_categories=("Cs",)),
    min_size=1,
    max_size=20,
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(stem=names, directory=names)
def test_any_file_name_reaches_nuke_or_is_refused(
    manifest: dict[str, Any], tmp_path: Path, stem: str, directory: str
) -> None:
    doc = copy.deepcopy(manifest)
    path = f"/abs/{directory}/{stem}.####.exr"
    doc["inputs"][0]["path"] = path
    if "#" in stem + directory:
        with pytest.raises(HandoffError, match="literal '#'"):
            write_nuke_script(doc, tmp_path / "any.nk")
        return
    text = write_nuke_script(doc, tmp_path / "any.nk").read_text(encoding="utf-8")
    read = by_name(text)["Read_plate"][1]["file"]
    assert nuke_frame_path(read, 1001) == f"/abs/{directory}/{stem}.1001.exr"


@pytest.mark.parametrize("variant", ["plain", "retimed-with-look", "flow"])
def test_whole_script_in_tclsh(
    manifest: dict[str, Any], tmp_path: Path, tclsh: str, variant: str
) -> None:
    """Source the .nk in a real Tcl interpreter with recording node procs.

    Each node proc parses its knob body as a Tcl list and evaluates the file
    knob with ``subst`` the way Nuke evaluates string knobs; exec is replaced
    by a recorder first, so nothing can run.
    """
    doc = hostile_manifest(manifest)
    if variant == "flow":
        doc = retimed(doc, "30/1", "flow")
    elif variant != "plain":
        doc = retimed(doc, "48/1", "blend")
        doc["color"]["look"] = {
            "kind": "lut",
            "name": None,
            "file": "/abs/looks/[exec id] $x.cube",
            "cccid": None,
            "process_space": "ACES2065-1",
            "cdl": None,
            "aces_transform_id": None,
        }
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
        "           AppendClip Dissolve FrameRange OCIOFileTransform\n"
        "           OCIOLookTransform OFlow2} {\n"
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
    if variant == "plain":
        assert seen[("Write", "file")] == [doc["outputs"][2]["path"]]
    elif variant == "flow":
        assert len(seen[("Read", "file")]) == 1 + len(doc["outputs"])
        assert len(seen[("OFlow2", "name")]) == 1
    else:
        assert seen[("OCIOFileTransform", "file")] == [doc["color"]["look"]["file"]]
        assert len(seen[("Read", "file")]) == 2 + len(doc["outputs"])
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
            "name": "Look_to_process_space",
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


# --- retimed shots: the comp plays the deliverable's frame map --------------


def retimed(manifest: dict[str, Any], rate: str, method: str) -> dict[str, Any]:
    """sh010: 48 source frames at 24 fps conformed to ``rate`` by ``method``."""
    from hdrpipe.resample.retime import output_count
    from hdrpipe.types import Rate

    doc = copy.deepcopy(manifest)
    n = output_count(Rate(Fraction(24)), Rate(Fraction(rate)), method, 48)  # type: ignore[arg-type]
    doc.update(rate=rate, retime=method, frames=n)
    doc["inputs"][0]["rate"] = "24/1"
    doc["shots"][0].update(record_frames=n, retime=method)
    doc["outputs"] = [o for o in doc["outputs"] if o["kind"] != "exr"]
    for out in doc["outputs"]:
        out["frames"] = n
    return doc


def nuke_expr(expr: str, frame: int) -> float:
    """Evaluate a Nuke expression of ``frame`` (min, floor, ceil, arithmetic)."""
    assert re.fullmatch(r"[0-9a-z_ .()*/+,-]+", expr), expr
    value = eval(  # noqa: S307 - the character set above admits no names but these
        expr,
        {"__builtins__": {}},
        {"frame": frame, "min": min, "floor": math.floor, "ceil": math.ceil},
    )
    return float(value)


@pytest.mark.parametrize(
    ("rate", "method"),
    [("30/1", "nearest"), ("48/1", "nearest"), ("48/1", "blend"), ("30/1", "flow")],
    ids=["24to30-nearest", "24to48-nearest", "24to48-blend", "24to30-flow"],
)
def test_retimed_shot_plays_the_frame_map(
    manifest: dict[str, Any], tmp_path: Path, rate: str, method: str
) -> None:
    from hdrpipe.resample.retime import frame_map
    from hdrpipe.types import FrameRange, Rate

    doc = retimed(manifest, rate, method)
    text = write_nuke_script(doc, tmp_path / "rt.nk").read_text(encoding="utf-8")
    named = by_name(text)
    for cls, knobs in named.values():
        assert set(knobs) <= NUKE_KNOBS[cls], (cls, set(knobs) - NUKE_KNOBS[cls])
    samples = frame_map(
        Rate(Fraction(24)),
        Rate(Fraction(rate)),
        method,
        FrameRange(1001, 1048),  # type: ignore[arg-type]
    )
    read = named["Read_plate"][1]
    rng = named["Record_plate"][1]
    assert (rng["first_frame"], rng["last_frame"]) == ("1001", str(1000 + len(samples)))
    if method == "flow":
        # the Read plays source frames 1:1 from the record start; OFlow2 reads
        # the input frame of the frame map's fractional position, by motion
        assert (read["frame_mode"], read["frame"]) == ("start at", "1001")
        assert "Blend_plate" not in named and "Read_plate_next" not in named
        cls, oflow = named["OFlow_plate"]
        assert cls == "OFlow2"
        assert (oflow["interpolation"], oflow["timing2"]) == ("Motion", "Frame")
        assert (oflow["input.first"], oflow["input.last"]) == ("1001", "1048")
        for i, sample in enumerate(samples):
            # source frames 1001.. (the plate's numbers) play from project
            # frame 1001 (record start), so input frame = 1001 + (pos - 1001)
            pos = sum(
                w * s for s, w in zip(sample.sources, sample.weights, strict=True)
            )
            want = 1001 + (pos - 1001)
            got = nuke_expr(oflow["timingFrame2"].strip("{}"), 1001 + i)
            assert got == pytest.approx(want), (i, sample)
        assert "OFlow2" in rng["label"]
        return
    assert read["frame_mode"] == "expression"
    blend = named.get("Blend_plate")
    for i, sample in enumerate(samples):
        frame = 1001 + i  # project frame of record frame i
        a = nuke_expr(read["frame"], frame)
        if blend is None:
            assert sample.sources == (a,), (i, sample)
            continue
        b = nuke_expr(named["Read_plate_next"][1]["frame"], frame)
        w = nuke_expr(blend[1]["which"].strip("{}"), frame)
        got = {a: 1.0 - w, b: w} if a != b else {a: 1.0}
        want = dict(zip(sample.sources, sample.weights, strict=True))
        assert {k: v for k, v in got.items() if v} == pytest.approx(want), (i, sample)


def test_retime_expressions_in_tclsh(
    manifest: dict[str, Any], tmp_path: Path, tclsh: str
) -> None:
    """Tcl's expr reads the same numbers as the Nuke expressions (doubles)."""
    from hdrpipe.resample.retime import frame_map
    from hdrpipe.types import FrameRange, Rate

    doc = retimed(manifest, "30/1", "nearest")
    text = write_nuke_script(doc, tmp_path / "rt.nk").read_text(encoding="utf-8")
    expr = by_name(text)["Read_plate"][1]["frame"]
    script = tmp_path / "eval.tcl"
    script.write_text(
        "for {set f 1001} {$f < 1061} {incr f} {\n"
        f"  puts [expr {{{expr.replace('frame', '$f')}}}]\n}}\n",
        encoding="utf-8",
    )
    proc = subprocess.run(
        [tclsh, str(script)], capture_output=True, timeout=30, check=True
    )
    got = [float(v) for v in proc.stdout.decode().split()]
    samples = frame_map(
        Rate(Fraction(24)), Rate(Fraction(30)), "nearest", FrameRange(1001, 1048)
    )
    assert got == [float(s.sources[0]) for s in samples]


def test_pixel_aspect_is_in_every_format(
    manifest: dict[str, Any], tmp_path: Path
) -> None:
    doc = copy.deepcopy(manifest)
    doc["raster"]["pixel_aspect"] = 2.0  # 2x anamorphic
    text = write_nuke_script(doc, tmp_path / "pa.nk").read_text(encoding="utf-8")
    for cls, knobs in nodes(text):
        if "format" in knobs:
            assert knobs["format"].split()[6] == "2", (cls, knobs["format"])


def test_looks_of_every_kind(manifest: dict[str, Any], tmp_path: Path) -> None:
    doc = copy.deepcopy(manifest)
    look = {
        "kind": "ccc",
        "name": None,
        "file": "/abs/looks/grade [v2].ccc",
        "cccid": "sh010",
        "process_space": "ACEScct",
        "cdl": None,
        "aces_transform_id": None,
    }
    doc["color"]["look"] = look
    ns = nodes(write_nuke_script(doc, tmp_path / "f.nk").read_text(encoding="utf-8"))
    i = [cls for cls, _ in ns].index("OCIOFileTransform")
    assert unescape_subst(ns[i][1]["file"]) == look["file"]
    assert unescape_subst(ns[i][1]["cccid"]) == "sh010"  # not lost, not in the path
    assert ns[i - 1][1]["out_colorspace"] == "ACEScct"
    assert ns[i + 1][1]["in_colorspace"] == "ACEScct"
    doc["color"]["look"] = dict(
        look, kind="config-look", name="ACES 1.3 Reference Gamut Compression", file=None
    )
    ns = nodes(write_nuke_script(doc, tmp_path / "l.nk").read_text(encoding="utf-8"))
    (lk,) = [k for cls, k in ns if cls == "OCIOLookTransform"]
    assert lk["look"] == "ACES 1.3 Reference Gamut Compression"
    assert lk["in_colorspace"] == lk["out_colorspace"] == "ACEScg"


def test_handoff_writes_the_others_then_fails_loudly(
    manifest: dict[str, Any], tmp_path: Path
) -> None:
    from hdrpipe.handoff import write_handoff

    doc = copy.deepcopy(manifest)
    doc["inputs"][0]["path"] = "/abs/shots/take#2/plate.####.exr"
    with pytest.raises(HandoffError, match=r"nuke: .*literal '#'") as err:
        write_handoff(doc, tmp_path)
    # the job's own file name, not a failure of hdrpipe: a usage error (exit 2)
    assert isinstance(err.value, InputError) and err.value.exit_code == 2
    assert isinstance(err.value.__cause__, NukeFrameTokenError)
    assert not (tmp_path / "sh010.nk").exists()
    for name in ("sh010.otio", "sh010.edl", "sh010.fcpxml"):
        assert (tmp_path / name).is_file()
        assert str(tmp_path / name) in str(err.value)
