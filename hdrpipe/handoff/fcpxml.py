"""Final Cut Pro XML (FCPXML 1.10) of one movie deliverable, for FCP and Resolve.

Version: FCPXML 1.10 (Final Cut Pro 10.6; Apple's developer documentation
publishes its DTD). Final Cut Pro imports every version up to its own, so 10.6
and later read it; DaVinci Resolve's manual (18.6) names no version, but
Resolve 18.5's import error lists 1.3 to 1.10 as the versions it reads and
18.6 refuses 1.12 (user reports), so 1.10 is the newest version both Resolve
18/19 and FCP 10.6+ import (not imported on a Resolve seat here). Written with
ElementTree, element by element as the 1.10 DTD orders them:

``fcpxml`` > ``resources`` (``format``, ``asset`` > ``media-rep``) and ``event``
> ``project`` > ``sequence`` > ``spine`` > one ``asset-clip`` per shot.

Time: every time value is an exact rational number of seconds (``N/Ds``), a
whole number of frames of the job's rate. The sequence's timeline starts at
``tcStart`` (the job's start timecode) and spine ``offset`` values are positions
on that timeline, so the first shot's offset equals ``tcStart``. An
``asset-clip``'s ``start`` is in the asset's own time, which begins at the
asset's ``start`` (the movie's ``tmcd`` timecode, the job's start timecode), so
the clip window always lies inside the media. ``tcFormat`` is ``DF`` or ``NDF``
as the manifest says.

Colour: ``format@colorSpace`` uses Final Cut Pro's labels, "P-T-M (name)" with
the ITU-T H.273 code points of the movie's colour tags: ``1-1-1 (Rec. 709)``,
``9-1-9 (Rec. 2020)``, ``9-16-9 (Rec. 2020 PQ)``, ``9-18-9 (Rec. 2020 HLG)``. A
deliverable whose colour FCPXML cannot name (e.g. P3-D65 PQ) is refused by name
and skipped when no deliverable is named.

Names (project, event, clips, asset) may hold any character: the XML writer
escapes markup, and :func:`~hdrpipe.handoff.text.xml_text` writes the control
characters XML 1.0 cannot hold as ``\\xNN``. Media is referenced by an RFC 8089
``file://`` URL (percent-encoded).
"""

from __future__ import annotations

import os
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import HandoffError
from .manifest import as_manifest, parse_rate, start_timecode
from .text import write_text, xml_text

__all__ = [
    "FCPXML_VERSION",
    "fcp_color_space",
    "fcpxml_time",
    "fcpxml_deliverable",
    "build_fcpxml",
    "write_fcpxml",
]

FCPXML_VERSION = "1.10"

#: (primaries, transfer, matrix) as FFmpeg names them -> Final Cut Pro label.
_FCP_COLOR = {
    ("bt709", "bt709", "bt709"): "1-1-1 (Rec. 709)",
    ("bt2020", "bt709", "bt2020nc"): "9-1-9 (Rec. 2020)",
    ("bt2020", "bt2020-10", "bt2020nc"): "9-1-9 (Rec. 2020)",
    ("bt2020", "smpte2084", "bt2020nc"): "9-16-9 (Rec. 2020 PQ)",
    ("bt2020", "arib-std-b67", "bt2020nc"): "9-18-9 (Rec. 2020 HLG)",
}
#: Named colour targets (``hdrpipe targets``) of movie deliverables -> label,
#: for manifests that do not list the presets' colour tags.
_TARGET_COLOR = {
    "sdr-rec709": "1-1-1 (Rec. 709)",
    "hdr-pq-1000-rec2020": "9-16-9 (Rec. 2020 PQ)",
    "hlg-1000": "9-18-9 (Rec. 2020 HLG)",
}


def fcpxml_time(frames: int, rate: Fraction) -> str:
    """Return ``frames`` at ``rate`` as FCPXML rational seconds.

    >>> fcpxml_time(86400, Fraction(24000, 1001))
    '18018/5s'
    >>> fcpxml_time(0, Fraction(25))
    '0s'
    """
    seconds = Fraction(frames) / rate
    if seconds.denominator == 1:
        return f"{seconds.numerator}s"
    return f"{seconds.numerator}/{seconds.denominator}s"


def fcp_color_space(doc: Mapping[str, Any], out: Mapping[str, Any]) -> str | None:
    """Final Cut Pro ``colorSpace`` label of a movie deliverable, or None."""
    tags = dict(out)
    for spec in doc.get("presets") or []:
        if isinstance(spec, Mapping) and spec.get("name") == out.get("preset"):
            tags = {**spec, **{k: v for k, v in out.items() if v is not None}}
            break
    key = (tags.get("primaries"), tags.get("transfer"), tags.get("matrix"))
    if all(isinstance(k, str) for k in key):
        return _FCP_COLOR.get((str(key[0]), str(key[1]), str(key[2])))
    return _TARGET_COLOR.get(str(tags.get("target")))


def fcpxml_deliverable(
    doc: Mapping[str, Any], deliverable: str | None = None
) -> Mapping[str, Any]:
    """The movie deliverable the FCPXML describes (default: first with a label)."""
    movies: list[Mapping[str, Any]] = [o for o in doc["outputs"] if o["kind"] != "exr"]
    if deliverable is not None:
        named = [o for o in movies if o["preset"] == deliverable]
        if not named:
            raise HandoffError(
                f"FCPXML: job {doc['name']!r} has no movie deliverable {deliverable!r}"
            )
        if fcp_color_space(doc, named[0]) is None:
            raise HandoffError(
                f"FCPXML: deliverable {deliverable!r} has colour that FCPXML "
                f"{FCPXML_VERSION} cannot name (colorSpace knows Rec. 709, "
                "Rec. 2020, Rec. 2020 PQ, Rec. 2020 HLG)"
            )
        return named[0]
    for out in movies:
        if fcp_color_space(doc, out) is not None:
            return out
    raise HandoffError(
        f"FCPXML: job {doc['name']!r} has no movie deliverable in a colour space "
        "FCPXML can name (Rec. 709, Rec. 2020, Rec. 2020 PQ, Rec. 2020 HLG)"
    )


def _uid(*parts: str) -> str:
    # Deterministic (RFC 4122 version 5): rewriting the hand-off keeps the uids.
    return uuid.uuid5(uuid.NAMESPACE_URL, "hdrpipe:" + "/".join(parts)).hex.upper()


def _file_url(path: str) -> str:
    p = Path(path)
    if not p.is_absolute():
        raise HandoffError(
            f"FCPXML: media path {path!r} is relative; media-rep needs a file URL"
        )
    return p.as_uri()


def build_fcpxml(
    manifest: Mapping[str, Any] | str | os.PathLike[str],
    deliverable: str | None = None,
) -> ET.ElementTree:
    """Build the FCPXML document of one movie deliverable (see the module doc)."""
    doc = as_manifest(manifest)
    out = fcpxml_deliverable(doc, deliverable)
    rate = parse_rate(doc["rate"])
    tc = start_timecode(doc)
    start, drop = tc.frames, tc.drop_frame
    total = int(doc["frames"])
    raster = doc["raster"]
    probe = out.get("probe") or {}
    width = int(probe.get("width") or raster["width"])
    height = int(probe.get("height") or raster["height"])
    name = xml_text(str(doc["name"]))
    path = str(out["path"])

    def t(frames: int) -> str:
        return fcpxml_time(frames, rate)

    root = ET.Element("fcpxml", version=FCPXML_VERSION)
    resources = ET.SubElement(root, "resources")
    fmt = ET.SubElement(
        resources,
        "format",
        id="r1",
        frameDuration=t(1),
        width=str(width),
        height=str(height),
    )
    pa = Fraction(float(raster.get("pixel_aspect", 1.0))).limit_denominator(10000)
    if pa != 1:
        fmt.set("paspH", str(pa.numerator))
        fmt.set("paspV", str(pa.denominator))
    fmt.set("colorSpace", str(fcp_color_space(doc, out)))
    asset = ET.SubElement(
        resources,
        "asset",
        id="r2",
        name=xml_text(PurePosixPath(path).name),
        uid=_uid("asset", path),
        start=t(start),
        duration=t(int(out["frames"])),
        hasVideo="1",
        format="r1",
        hasAudio="0",
        videoSources="1",
    )
    ET.SubElement(asset, "media-rep", kind="original-media", src=_file_url(path))
    event = ET.SubElement(root, "event", name=name, uid=_uid("event", str(doc["name"])))
    project = ET.SubElement(
        event,
        "project",
        name=name,
        uid=_uid("project", str(doc["name"]), str(out["preset"])),
    )
    sequence = ET.SubElement(
        project,
        "sequence",
        format="r1",
        duration=t(total),
        tcStart=t(start),
        tcFormat="DF" if drop else "NDF",
    )
    spine = ET.SubElement(sequence, "spine")
    for shot in doc["shots"]:
        first, n = int(shot["record_first"]), int(shot["record_frames"])
        ET.SubElement(
            spine,
            "asset-clip",
            ref="r2",
            offset=t(start + first),
            name=xml_text(str(shot["name"])),
            start=t(start + first),
            duration=t(n),
            format="r1",
            tcFormat="DF" if drop else "NDF",
        )
    tree = ET.ElementTree(root)
    ET.indent(tree, space="    ")
    return tree


def write_fcpxml(
    manifest: Mapping[str, Any] | str | os.PathLike[str],
    path: str | os.PathLike[str],
    deliverable: str | None = None,
    *,
    overwrite: bool = True,
) -> Path:
    """Write the FCPXML of one movie deliverable (see :func:`build_fcpxml`).

    Written atomically (:func:`hdrpipe.outputs.atomic_write`); an existing file
    is replaced only with ``overwrite``.
    """
    root = build_fcpxml(manifest, deliverable).getroot()
    if root is None:  # pragma: no cover - build_fcpxml always sets a root
        raise HandoffError("FCPXML: empty document")
    text = ET.tostring(root, encoding="unicode")
    body = '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE fcpxml>\n' + text + "\n"
    return write_text(path, body, "FCPXML export failed", overwrite=overwrite)
