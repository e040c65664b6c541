"""Write a Nuke ``.nk`` script for a conformed job, with Tcl-safe quoting.

The script is built as data first (:class:`NukeNode` specs in :func:`build_script`)
and rendered second (:func:`render_script`), so the in-Nuke hook can create the
same nodes through Nuke's Python API and tests can check the structure.

Layout (one column per shot, record time = project time):

* ``Root``: fps (the double nearest the exact rate), format with pixel aspect,
  frame range, OCIO colour management with the job's config.
* per shot a ``Read`` of the source plate: ``####`` pattern, first/last,
  ``frame_mode "start at"`` so the shot lands on its record frame, colourspace
  ``ACES2065-1`` (the manifest's source colourspace), ``raw false``.
* several shots are joined by ``AppendClip``; a CDL look, when the job had one,
  is applied in ACEScct (``OCIOColorSpace`` → ``OCIOCDLTransform`` → back).
* per display-referred deliverable an ``OCIODisplay`` with its display/view;
  a retargeted deliverable (BT.2390 EETF after the 1000-nit view, e.g.
  ``hdr-pq-600-rec2020``) gets its own, on the view the EETF starts from, with
  a label naming the EETF and both peaks (Nuke has no BT.2390 node; the Read
  of the delivered file shows the retargeted picture);
* per EXR deliverable a ``Write`` (disabled, so rendering the script never
  overwrites a delivered file by accident) with the deliverable's colourspace;
* per deliverable a ``Read`` of the delivered file, aligned on record time.

Knob names follow Foundry's Nuke Reference Guide (Read, Write, OCIODisplay,
OCIOColorSpace, OCIOCDLTransform, AppendClip, Dissolve, FrameRange, OFlow2,
Root project settings).
Project frame numbers: record frame ``r`` is Nuke frame ``base + r`` where
``base`` is the first EXR deliverable's ``first_frame`` (1001 when there is none).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..errors import HandoffError
from .manifest import (
    HandoffInputError,
    as_manifest,
    look_spec,
    output_retarget,
    parse_rate,
    start_timecode,
)
from .tcl import escape_subst, quote
from .text import write_text

__all__ = [
    "NukeFrameTokenError",
    "NukeNode",
    "StackOp",
    "Evaluated",
    "Literal",
    "build_script",
    "render_script",
    "write_nuke_script",
    "node_name",
    "nuke_pattern",
    "nuke_file",
    "record_base",
    "NUKE_VERSION",
]

log = logging.getLogger(__name__)

#: Script format version written on the ``version`` line (OCIO v2 configs and
#: ``customOCIOConfigPath`` need Nuke 14 or later).
NUKE_VERSION = "15.1 v1"
#: Project frame of record frame 0 when the job has no EXR deliverable.
DEFAULT_BASE_FRAME = 1001
#: OpenEXR compression names (OpenImageIO ``compression`` attribute) to the
#: labels of Nuke's Write ``compression`` knob.
EXR_COMPRESSION = {
    "none": "none",
    "rle": "RLE",
    "zips": "Zip (1 scanline)",
    "zip": "Zip (16 scanlines)",
    "piz": "PIZ Wavelet (32 scanlines)",
    "pxr24": "PXR24",
    "b44": "B44",
    "b44a": "B44A",
    "dwaa": "DWAA",
    "dwab": "DWAB",
}
#: Colourspace in which an ASC CDL is applied in ACES (S-2014-003 ACEScct).
CDL_WORKING_SPACE = "ACEScct"
_TIMECODE = re.compile(r"^\d{2}:\d{2}:\d{2}[:;]\d{2,3}$")


@dataclass(frozen=True, slots=True)
class Evaluated:
    """Text for a knob Nuke evaluates with Tcl substitution (file paths, labels).

    Rendered as ``quote(escape_subst(text))`` so neither the script parser nor
    the knob evaluation can substitute anything.
    """

    text: str


@dataclass(frozen=True, slots=True)
class Literal:
    """Pre-formatted Tcl text written as is (only for text built from numbers)."""

    text: str


KnobValue = str | int | float | bool | Evaluated | Literal | tuple[float, ...]


@dataclass(frozen=True, slots=True)
class NukeNode:
    """One node: its class and knobs in script order."""

    cls: str
    knobs: tuple[tuple[str, KnobValue], ...]

    def knob(self, name: str) -> KnobValue:
        """Return the value of knob ``name`` (KeyError when absent)."""
        for key, value in self.knobs:
            if key == name:
                return value
        raise KeyError(name)

    @property
    def name(self) -> str:
        value = self.knob("name")
        return value if isinstance(value, str) else str(value)


@dataclass(frozen=True, slots=True)
class StackOp:
    """A node-stack command: ``set VAR [stack 0]`` or ``push $VAR``."""

    op: str  # "set" | "push"
    var: str


def node_name(text: str, taken: set[str]) -> str:
    """Return a valid, unused Nuke node name (``[A-Za-z_]\\w*``) for ``text``."""
    base = re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_") or "node"
    if base[0].isdigit():
        base = "_" + base
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}{n}"
    taken.add(name)
    return name


def record_base(manifest: Mapping[str, Any]) -> int:
    """Project frame of record frame 0 (first EXR first_frame, else 1001)."""
    for out in manifest["outputs"]:
        if out["kind"] == "exr" and isinstance(out.get("first_frame"), int):
            return int(out["first_frame"])
    return DEFAULT_BASE_FRAME


def _format(
    width: int,
    height: int,
    pixel_aspect: float,
    name: str,
    active: list[int] | None = None,
) -> Literal:
    """Nuke format string ``"w h x y r t pa name"``.

    ``active`` is the manifest's picture area ``[x, y, w, h]`` (top-left origin,
    as ``hdrpipe.resample.reformat.Placement.active``); Nuke's ``x y r t`` box
    uses a bottom-left origin.
    """
    ax, ay, aw, ah = active if active else (0, 0, width, height)
    x, y, r, t = ax, height - (ay + ah), ax + aw, height - ay
    pa = format(float(pixel_aspect), ".17g")
    return Literal(quote(f"{width} {height} {x} {y} {r} {t} {pa} {name}"))


def _render_value(value: KnobValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Evaluated):
        return quote(escape_subst(value.text))
    if isinstance(value, Literal):
        return value.text
    if isinstance(value, tuple):
        return "{" + " ".join(repr(float(v)) for v in value) + "}"
    if isinstance(value, str):
        return quote(value)
    raise HandoffError(f"nuke: unsupported knob value {value!r}")


def render_script(
    items: list[NukeNode | StackOp], header: list[str] | None = None
) -> str:
    """Render node specs as ``.nk`` text (Tcl: one command per node)."""
    lines = list(header or [])
    for item in items:
        if isinstance(item, StackOp):
            if not re.fullmatch(r"N[0-9a-f]+", item.var):
                raise HandoffError(f"nuke: bad stack variable {item.var!r}")
            lines.append(
                f"set {item.var} [stack 0]" if item.op == "set" else f"push ${item.var}"
            )
            continue
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", item.cls):
            raise HandoffError(f"nuke: bad node class {item.cls!r}")
        lines.append(f"{item.cls} {{")
        for key, value in item.knobs:
            # knob names, with Nuke's dotted sub-knobs (OFlow2 input.first)
            if not re.fullmatch(
                r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?", key
            ):
                raise HandoffError(f"nuke: bad knob name {key!r}")
            lines.append(f" {key} {_render_value(value)}")
        lines.append("}")
    return "\n".join(lines) + "\n"


def _compression(out: Mapping[str, Any]) -> str:
    probe = out.get("probe") or {}
    raw = str(out.get("compression") or probe.get("compression") or "zips").lower()
    return EXR_COMPRESSION.get(raw.split(":")[0], "Zip (1 scanline)")


_FRAME_TOKEN = re.compile(r"(#+|%0?\d*d|@+)")


class NukeFrameTokenError(HandoffInputError):
    """A path holds a literal ``#``, which a Nuke file knob cannot express."""


def nuke_pattern(path: str) -> str:
    """Return ``path`` with a fileseq ``@`` frame token as Nuke's ``#`` (same padding).

    Nuke understands ``####`` and ``%04d`` but not ``@`` (one digit per ``@``).
    """
    head, sep, name = path.rpartition("/")
    m = list(re.finditer(r"@+", name))
    if m:
        last = m[-1]
        name = name[: last.start()] + "#" * len(last.group(0)) + name[last.end() :]
    return head + sep + name


def nuke_file(path: str, sequence: bool = True) -> str:
    """Return the text of a Read/Write ``file`` knob that names exactly ``path``.

    Nuke replaces frame tokens in every file knob: runs of ``#`` and printf
    ``%0Nd`` (Foundry, Nuke User Guide, "Naming Conventions" / "File Name
    Conventions for Rendered Images"). The frame token of a sequence is the last
    ``#``/``%0Nd``/``@`` run of the file name; anything else must reach Nuke as
    literal text:

    * a literal ``%`` is written ``%%`` and the frame token as ``%0Nd`` (printf
      escaping, unambiguous once the token is printf);
    * a literal ``#`` cannot be escaped (Nuke reads every ``#`` run as frame
      digits; Foundry documents no escape, and ``%%`` only escapes printf):
      :class:`NukeFrameTokenError` (a :class:`HandoffError` and an input error,
      exit 2) rather than a script that reads other files.

    >>> nuke_file("/a/50%/plate.####.exr")
    '/a/50%%/plate.%04d.exr'
    >>> nuke_file("/a/plate.@@@.exr")
    '/a/plate.###.exr'
    """
    head, sep, name = path.rpartition("/")
    tokens = list(_FRAME_TOKEN.finditer(name)) if sequence else []
    if tokens:
        m = tokens[-1]
        before, token, after = name[: m.start()], m.group(0), name[m.end() :]
    else:
        before, token, after = name, "", ""
    literal = head + sep + before, after
    if any("#" in part for part in literal):
        raise NukeFrameTokenError(
            f"nuke: {path!r} holds a literal '#' and Nuke reads every '#' in a file "
            "knob as a frame digit (there is no escape): rename or link the file "
            "(or its folder) without '#'; the other hand-off files are unaffected"
        )
    if token.startswith("@"):
        token = "#" * len(token)
    if not any("%" in part for part in literal):
        return literal[0] + token + literal[1]
    if token.startswith("#"):
        token = f"%0{len(token)}d"
    return literal[0].replace("%", "%%") + token + literal[1].replace("%", "%%")


def _safe_tc(tc: object) -> str | None:
    return tc if isinstance(tc, str) and _TIMECODE.match(tc) else None


def build_script(
    manifest: Mapping[str, Any] | str | os.PathLike[str],
    script_path: str | os.PathLike[str] | None = None,
) -> list[NukeNode | StackOp]:
    """Build the node specs (Root first) of the handoff script for ``manifest``."""
    doc = as_manifest(manifest)
    rate = parse_rate(doc["rate"])
    start_timecode(doc)  # validated
    raster = doc["raster"]
    width, height = int(raster["width"]), int(raster["height"])
    pa = float(raster.get("pixel_aspect", 1.0))
    color = doc["color"]
    working = str(color.get("working_space") or "ACEScg")
    source_cs = str(color["source_colorspace"])
    base = record_base(doc)
    total = int(doc["frames"])
    fmt_name = f"hdrpipe_{width}x{height}"
    fmt = _format(width, height, pa, fmt_name, raster.get("active"))
    taken: set[str] = set()
    items: list[NukeNode | StackOp] = []

    config = color["config"]
    config_path = config.get("path") or config.get("uri")
    root: list[tuple[str, KnobValue]] = [("inputs", 0)]
    if script_path is not None:
        root.append(("name", Evaluated(str(Path(script_path)))))
    root += [
        ("frame", base),
        ("first_frame", base),
        ("last_frame", base + total - 1),
        ("lock_range", True),
        ("fps", float(rate)),
        ("format", fmt),
        ("colorManagement", "OCIO"),
    ]
    if config_path:
        root += [
            ("OCIO_config", "custom"),
            ("customOCIOConfigPath", Evaluated(str(config_path))),
        ]
    root.append(("workingSpaceLUT", working))
    items.append(NukeNode("Root", tuple(root)))

    # Source plates, one Read per shot, placed at their record frames; a
    # retimed shot gets a Retime after its Read (see _retime).
    shot_reads: list[list[NukeNode]] = []
    for col, shot in enumerate(doc["shots"]):
        src = doc["inputs"][shot["input"]]
        has_alpha = bool(src.get("has_alpha", False))
        src_w, src_h = int(src.get("width", width)), int(src.get("height", height))
        src_pa = float(src.get("pixel_aspect") or pa)
        same = (src_w, src_h, src_pa) == (width, height, pa)
        src_count = int(shot["source_last"]) - int(shot["source_first"]) + 1
        retimed = src_count != int(shot["record_frames"])
        knobs: list[tuple[str, KnobValue]] = [
            ("inputs", 0),
            ("file_type", "exr"),
            ("file", Evaluated(nuke_file(src["path"]))),
            ("format", _format(src_w, src_h, src_pa, fmt_name if same else "")),
            ("first", int(shot["source_first"])),
            ("last", int(shot["source_last"])),
            ("origfirst", int(src["first"])),
            ("origlast", int(src["last"])),
            ("origset", True),
            ("before", "black"),
            # a retime clamps positions past the last source frame to it (holds)
            ("after", "hold" if retimed else "black"),
            ("on_error", "nearest frame" if src.get("missing") else "error"),
            ("frame_mode", "start at"),
            ("frame", str(base + int(shot["record_first"]))),
            ("colorspace", str(src.get("colorspace") or source_cs)),
            ("raw", False),
            ("premultiplied", has_alpha),
            ("name", node_name(f"Read_{shot['name']}", taken)),
        ]
        tc = _safe_tc(shot.get("record_in"))
        if tc:
            knobs.append(("label", Evaluated(f"record {tc}")))
        knobs += [("xpos", col * 110), ("ypos", 0)]
        read = NukeNode("Read", tuple(knobs))
        if retimed:
            shot_reads.append(
                _retime(doc, shot, src, base, rate, read, taken, col * 110)
            )
        else:
            shot_reads.append([read])
    # AppendClip takes input 0 from the top of the stack: push the last shot first.
    for chain in reversed(shot_reads) if len(shot_reads) > 1 else shot_reads:
        items.extend(chain)
    ypos = 120
    if len(shot_reads) > 1:
        items.append(
            NukeNode(
                "AppendClip",
                (
                    ("inputs", len(shot_reads)),
                    ("firstFrame", base),
                    ("name", node_name("AppendClip_record", taken)),
                    ("xpos", 0),
                    ("ypos", ypos),
                ),
            )
        )
        ypos += 60
    spec = look_spec(color)
    if spec is not None:
        look_nodes = _look_nodes(spec, working, taken, ypos)
        items.extend(look_nodes)
        ypos += 30 * len(look_nodes)
    record_var = "N0ec0"
    items.append(StackOp("set", record_var))
    first_consumer = True

    def from_record() -> None:
        nonlocal first_consumer
        if not first_consumer:
            items.append(StackOp("push", record_var))
        first_consumer = False

    ypos += 60
    col = 0
    seen_views: set[tuple[str, str, str]] = set()
    for out in doc["outputs"]:
        display, view = out.get("display"), out.get("view")
        retarget = output_retarget(doc, out) if display is not None else None
        note = "" if retarget is None else retarget.describe()
        if display is None or (display, view, note) in seen_views:
            continue
        seen_views.add((display, view, note))
        from_record()
        knobs = [
            ("colorspace", working),
            ("display", str(display)),
            ("view", str(view)),
            ("name", node_name(f"Review_{out['preset']}", taken)),
        ]
        if retarget is not None:
            label = f"{out['preset']}: {view}, {note} (not in this node)"
            knobs.append(("label", Evaluated(label)))
        knobs += [("xpos", col * 110), ("ypos", ypos)]
        items.append(NukeNode("OCIODisplay", tuple(knobs)))
        col += 1
    for out in doc["outputs"]:
        if out["kind"] != "exr":
            continue
        from_record()
        first_frame = int(out["first_frame"])
        cs = str(out.get("colorspace") or working)
        knobs = [
            ("file", Evaluated(nuke_file(out["path"]))),
            ("file_type", "exr"),
            ("colorspace", cs),
            ("raw", False),
            ("channels", "rgba" if out.get("has_alpha") else "rgb"),
            ("datatype", "16 bit half"),
            ("compression", _compression(out)),
        ]
        if cs == "ACES2065-1":
            knobs.append(("write_ACES_compliant_EXR", True))
        knobs += [
            ("create_directories", True),
            ("first", base),
            ("last", base + int(out["frames"]) - 1),
            ("use_limit", True),
            ("frame_mode", "start at"),
            ("frame", str(first_frame)),
            ("disable", True),
            ("name", node_name(f"Write_{out['preset']}", taken)),
            ("xpos", col * 110),
            ("ypos", ypos),
        ]
        items.append(NukeNode("Write", tuple(knobs)))
        col += 1

    # Reads of the delivered files, on record time, for A/B against the comp.
    for i, out in enumerate(doc["outputs"]):
        items.append(
            deliverable_read(doc, out, base, taken, xpos=i * 110, ypos=ypos + 150)
        )
    return items


RETIME_METHODS = ("nearest", "blend", "flow")


def retime_expressions(
    first: int, last: int, start: int, ratio: Fraction, method: str
) -> tuple[str, ...]:
    """Nuke expressions of hdrpipe's frame map for a shot (``frame`` = project frame).

    hdrpipe's frame map (``hdrpipe.resample.retime``) shows the shot's record
    frame ``i = frame - start`` at source position ``p = min(i * ratio, last -
    first)`` past ``first`` (``ratio`` = source fps / record fps; past the end
    the last frame holds): ``nearest`` reads source frame ``first + ceil(p -
    1/2)`` (ties to the earlier frame), ``blend``/``flow`` mix ``first +
    floor(p)`` and the next frame with weight ``p - floor(p)``. Returns
    ``(frame,)`` for nearest, ``(frame_a, frame_b, weight_b)`` otherwise. Only
    ``min``, ``floor``, ``ceil`` and arithmetic on doubles appear, which Nuke
    expressions and Tcl ``expr`` read alike.

    >>> retime_expressions(1, 48, 1001, Fraction(4, 5), "nearest")
    ('1 + min(47, ceil((2 * (frame - 1001) * 4 - 5) / 10.0))',)
    """
    n, d, span = ratio.numerator, ratio.denominator, last - first
    i = f"(frame - {start})"
    if method == "nearest":
        return (f"{first} + min({span}, ceil((2 * {i} * {n} - {d}) / {2 * d}.0))",)
    pos = f"min({span}, {i} * {n} / {d}.0)"
    return (
        f"{first} + floor({pos})",
        f"{first} + min({span}, floor({pos}) + 1)",
        f"{pos} - floor({pos})",
    )


def _retime(
    doc: Mapping[str, Any],
    shot: Mapping[str, Any],
    src: Mapping[str, Any],
    base: int,
    rate: Fraction,
    read: NukeNode,
    taken: set[str],
    xpos: int,
) -> list[NukeNode]:
    """Nodes that play a retimed shot on the deliverable's frame map.

    The shot's Read reads by expression (``frame_mode expression``, the source
    frame of each project frame, :func:`retime_expressions`); a blended shot
    has a second Read of the next source frame and a ``Dissolve`` whose
    ``which`` is the blend weight (a linear mix in scene-linear light, as the
    engine blends). A ``FrameRange`` gives the chain the shot's record range,
    which an expression Read cannot report. ``flow`` (motion-compensated): the
    Read plays the source frames 1:1 from the shot's record start and an
    ``OFlow2`` (Nuke's optical-flow retimer, in Nuke and NukeX) with
    ``interpolation Motion`` and ``timing2 Frame`` reads the input frame
    ``start + p`` (``timingFrame2`` by expression, the same frame map); its
    motion estimation is Nuke's, not hdrpipe's, so in-between pixels differ
    while timing agrees. Knobs per Foundry's Nuke Reference Guide (Read,
    Dissolve, FrameRange, OFlow: ``input.first``/``input.last``,
    ``interpolation``, ``timing2``, ``timingFrame2``).
    """
    src_rate = parse_rate(src.get("rate") or doc["rate"], "inputs[].rate")
    method = str(shot.get("retime") or doc.get("retime") or "nearest")
    if method not in RETIME_METHODS:
        method = "nearest" if method in ("auto", "asis") else method
    if method not in RETIME_METHODS:
        raise HandoffError(
            f"nuke: shot {shot['name']!r} was retimed with {method!r}; the script "
            f"can express {', '.join(RETIME_METHODS)}"
        )
    start = base + int(shot["record_first"])
    first, last = int(shot["source_first"]), int(shot["source_last"])
    exprs = retime_expressions(first, last, start, src_rate / rate, method)
    label = f"hdrpipe retime {method}: {src_rate} -> {rate} fps"
    if method == "flow":
        label += " (optical flow: OFlow2 on the deliverable's frame map)"
    log.info("shot %s: %s", shot["name"], label)

    def by_expression(node: NukeNode, expr: str, suffix: str) -> NukeNode:
        knobs: list[tuple[str, KnobValue]] = []
        for key, value in node.knobs:
            if key == "frame_mode":
                value = "expression"
            elif key == "frame":
                value = expr
            elif key == "name" and suffix:
                value = node_name(f"{value}{suffix}", taken)
            elif key == "after":
                value = "hold"
            elif key == "ypos" and suffix:
                value = -90
            knobs.append((key, value))
        return NukeNode("Read", tuple(knobs))

    range_node = NukeNode(
        "FrameRange",
        (
            ("first_frame", start),
            ("last_frame", start + int(shot["record_frames"]) - 1),
            ("name", node_name(f"Record_{shot['name']}", taken)),
            ("label", Evaluated(label)),
            ("xpos", xpos),
            ("ypos", 90),
        ),
    )
    if method == "nearest":
        return [by_expression(read, exprs[0], ""), range_node]
    if method == "flow":
        ratio = src_rate / rate
        span = last - first
        position = (
            f"{start} + min({span}, (frame - {start}) * "
            f"{ratio.numerator} / {ratio.denominator}.0)"
        )
        oflow = NukeNode(
            "OFlow2",
            (
                ("input.first", start),
                ("input.last", start + span),
                ("interpolation", "Motion"),
                ("timing2", "Frame"),
                ("timingFrame2", Literal("{{" + position + "}}")),
                ("name", node_name(f"OFlow_{shot['name']}", taken)),
                ("xpos", xpos),
                ("ypos", 60),
            ),
        )
        return [read, oflow, range_node]
    # Dissolve input 0 is the top of the stack: push the next frame's Read first.
    return [
        by_expression(read, exprs[1], "_next"),
        by_expression(read, exprs[0], ""),
        NukeNode(
            "Dissolve",
            (
                ("inputs", 2),
                ("which", Literal("{{" + exprs[2] + "}}")),
                ("name", node_name(f"Blend_{shot['name']}", taken)),
                ("xpos", xpos),
                ("ypos", 60),
            ),
        ),
        range_node,
    ]


def _look_nodes(
    spec: Mapping[str, Any], working: str, taken: set[str], ypos: int
) -> list[NukeNode]:
    """Nodes applying the job's look to the record chain, in its process space.

    * CDL values: ``OCIOCDLTransform`` between ``OCIOColorSpace`` nodes to and
      from the look's process space (ACEScct by default, ASC CDL in ACES);
    * a CDL/LUT file without values: ``OCIOFileTransform`` (``file``, ``cccid``)
      between the same conversions;
    * a config look: ``OCIOLookTransform`` (the config applies it in its own
      process space).

    Knob names per Foundry's Nuke Reference Guide (OCIO nodes).
    """
    kind = spec["kind"]
    label = str(spec.get("name") or spec.get("file") or kind)
    if kind == "config-look":
        return [
            NukeNode(
                "OCIOLookTransform",
                (
                    ("in_colorspace", working),
                    ("out_colorspace", working),
                    ("look", str(spec["name"])),
                    ("name", node_name(f"Look_{label}", taken)),
                    ("xpos", 0),
                    ("ypos", ypos),
                ),
            )
        ]
    space = str(
        spec.get("process_space")
        or (CDL_WORKING_SPACE if kind != "lut" else "ACES2065-1")
    )
    cdl = spec.get("cdl")
    if cdl:
        middle = NukeNode(
            "OCIOCDLTransform",
            (
                ("slope", tuple(float(v) for v in cdl["slope"])),
                ("offset", tuple(float(v) for v in cdl["offset"])),
                ("power", tuple(float(v) for v in cdl["power"])),
                ("saturation", float(cdl.get("saturation", 1.0))),
                ("name", node_name(f"CDL_{cdl.get('id') or 'look'}", taken)),
                ("xpos", 0),
                ("ypos", ypos + 30),
            ),
        )
    elif spec.get("file"):
        knobs: list[tuple[str, KnobValue]] = [("file", Evaluated(str(spec["file"])))]
        if spec.get("cccid"):
            knobs.append(("cccid", Evaluated(str(spec["cccid"]))))
        knobs += [
            ("name", node_name(f"Look_{Path(label).name}", taken)),
            ("xpos", 0),
            ("ypos", ypos + 30),
        ]
        middle = NukeNode("OCIOFileTransform", tuple(knobs))
    else:
        raise HandoffError(f"nuke: look {label!r} ({kind}) has no file and no values")
    return [
        NukeNode(
            "OCIOColorSpace",
            (
                ("in_colorspace", working),
                ("out_colorspace", space),
                ("name", node_name("Look_to_process_space", taken)),
                ("xpos", 0),
                ("ypos", ypos),
            ),
        ),
        middle,
        NukeNode(
            "OCIOColorSpace",
            (
                ("in_colorspace", space),
                ("out_colorspace", working),
                ("name", node_name("Look_from_process_space", taken)),
                ("xpos", 0),
                ("ypos", ypos + 60),
            ),
        ),
    ]


def deliverable_read(
    doc: Mapping[str, Any],
    out: Mapping[str, Any],
    base: int,
    taken: set[str],
    *,
    xpos: int = 0,
    ypos: int = 0,
) -> NukeNode:
    """Spec of a Read of one delivered file placed on record time.

    EXR sequences are numbered from ``first_frame``; Nuke numbers movie frames
    from 1. Movies are display-referred: their colourspace is the OCIO display
    colourspace of the same name (OCIO v2 studio configs), EXRs use the
    deliverable's colourspace.
    """
    raster = doc["raster"]
    probe = out.get("probe") or {}
    width = int(probe.get("width") or raster["width"])
    height = int(probe.get("height") or raster["height"])
    frames = int(out["frames"])
    if out["kind"] == "exr":
        first = int(out["first_frame"])
        file_type = "exr"
        cs = str(out.get("colorspace") or doc["color"]["source_colorspace"])
    else:
        first = 1
        file_type = str(out.get("container") or "mov")
        cs = str(out.get("display") or out.get("colorspace") or "")
    knobs: list[tuple[str, KnobValue]] = [
        ("inputs", 0),
        ("file_type", file_type),
        ("file", Evaluated(nuke_file(str(out["path"]), out["kind"] == "exr"))),
        ("format", _format(width, height, float(raster.get("pixel_aspect", 1.0)), "")),
        ("first", first),
        ("last", first + frames - 1),
        ("origfirst", first),
        ("origlast", first + frames - 1),
        ("origset", True),
        ("on_error", "error"),
        ("frame_mode", "start at"),
        ("frame", str(base)),
    ]
    if cs:
        knobs.append(("colorspace", cs))
    knobs += [
        ("raw", False),
        ("premultiplied", bool(out.get("has_alpha", False))),
        ("name", node_name(f"Read_{out['preset']}", taken)),
        ("xpos", xpos),
        ("ypos", ypos),
    ]
    return NukeNode("Read", tuple(knobs))


def write_nuke_script(
    manifest: Mapping[str, Any] | str | os.PathLike[str],
    path: str | os.PathLike[str],
    *,
    overwrite: bool = True,
) -> Path:
    """Write the handoff ``.nk`` for ``manifest`` to ``path`` atomically; return it.

    An existing ``path`` is replaced only with ``overwrite``.
    """
    out = Path(path)
    items = build_script(manifest, out)
    doc = as_manifest(manifest)
    rate = parse_rate(doc["rate"])
    version = str(doc.get("hdrpipe_version", ""))
    if not re.fullmatch(r"[0-9A-Za-z.+-]{1,40}", version):
        version = "?"  # comments end at a newline: only inert text goes in them
    header = [
        "#! nuke -nx",
        f"# written by hdrpipe {version} (handoff); "
        f"rate {rate.numerator}/{rate.denominator}, "
        f"start {_safe_tc(doc['start_timecode']) or '?'}",
        f"version {NUKE_VERSION}",
    ]
    text = render_script(items, header)
    write_text(out, text, "cannot write Nuke script", overwrite=overwrite)
    log.info(
        "wrote Nuke script %s (%d nodes)",
        out,
        sum(isinstance(i, NukeNode) for i in items),
    )
    return out
