"""ACES Metadata File (AMF) for a job: input transform, CDL look, output transform.

Written to the AMF 2.0 schema (namespace ``urn:ampas:aces:amf:v2.0``, Academy
S-2019-001 "ACES Metadata File", schema ``acesMetadataFile.xsd`` v2.0): the
element order is ``amfInfo``, ``clipId``, ``pipeline`` (``pipelineInfo``,
``inputTransform``, ``lookTransform``…, ``outputTransform``). Transform IDs are
ACES 2.0 ``urn:ampas:aces:transformId:v2.0:…`` strings, the same ones the OCIO
studio config lists as ``amf_transform_ids`` interchange attributes.

The source is ACES2065-1, so no input transform is written for it; ACEScg /
ACEScct / ACEScc sources get their ``CSC.Academy.*_to_ACES`` transform. The CDL
is written as ``cdl:SOPNode``/``cdl:SatNode`` (ASC CDL v1.01) inside a
``lookTransform`` whose working space is ACEScct. Every transform is marked
``applied="true"`` for the deliverable it describes (the pixels have been
through it).
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import HandoffError
from ..outputs import atomic_open
from .manifest import as_manifest, look_cdl

__all__ = [
    "AMF_NS",
    "CDL_NS",
    "output_transform_id",
    "input_transform_id",
    "build_amf",
    "write_amf",
    "display_outputs",
]

log = logging.getLogger(__name__)

AMF_NS = "urn:ampas:aces:amf:v2.0"
CDL_NS = "urn:ASC:CDL:v1.01"
_TID = "urn:ampas:aces:transformId:v2.0:"

#: OCIO studio-config display name -> AMF output-encoding part of the ACES 2.0
#: output transform ID ("<limit>_<peak>nit_in_<encoding>").
DISPLAY_ENCODING = {
    "sRGB - Display": "Rec709-D65_sRGB-Piecewise",
    "Display P3 - Display": "P3-D65_sRGB-Piecewise",
    "Display P3 HDR - Display": "P3-D65_sRGB-Piecewise",
    "Rec.1886 Rec.709 - Display": "Rec709-D65_BT1886",
    "Gamma 2.2 Rec.709 - Display": "Rec709-D65_Gamma2pt2",
    "Rec.2100-PQ - Display": "Rec2100-D65_ST2084",
    "Rec.2100-HLG - Display": "Rec2100-D65_HLG",
    "ST2084-P3-D65 - Display": "P3-D65_ST2084",
    "P3-D65 - Display": "P3-D65_Gamma2pt6",
    "P3-D60 - Display": "P3-D60_Gamma2pt6",
    "P3-DCI - Display": "P3-DCI_Gamma2pt6",
    "DCDM - Display": "XYZ-E_Gamma2pt6",
}
#: View limiting primaries (in the OCIO view name) -> AMF limiting-primaries part.
VIEW_LIMIT = {"Rec.709": "Rec709-D65", "P3 D65": "P3-D65", "Rec.2020": "Rec2100-D65"}
_VIEW = re.compile(r"^ACES 2\.0 - (?:SDR|HDR) (\d+) nits \(([^)]+)\)$")
#: Source colourspaces with an ACES 2.0 CSC to ACES2065-1.
INPUT_CSC = {
    "ACEScg": "CSC.Academy.ACEScg_to_ACES.a2.v1",
    "ACEScct": "CSC.Academy.ACEScct_to_ACES.a2.v1",
    "ACEScc": "CSC.Academy.ACEScc_to_ACES.a2.v1",
}
_ACES_NAMES = {"ACES2065-1", "ACES - ACES2065-1", "aces2065_1", "ACES"}


def output_transform_id(display: str, view: str) -> str:
    """Return the ACES 2.0 output transform ID for an OCIO display/view pair.

    >>> output_transform_id(
    ...     "Rec.2100-PQ - Display", "ACES 2.0 - HDR 1000 nits (Rec.2020)"
    ... )
    'urn:ampas:aces:transformId:v2.0:Output.Academy.Rec2100-D65_1000nit_in_Rec2100-D65_ST2084.a2.v1'
    """
    m = _VIEW.match(view)
    if not m or m.group(2) not in VIEW_LIMIT or display not in DISPLAY_ENCODING:
        raise HandoffError(
            f"AMF: no ACES 2.0 output transform for display {display!r}, view {view!r}"
        )
    nits, limit = m.group(1), VIEW_LIMIT[m.group(2)]
    return (
        f"{_TID}Output.Academy.{limit}_{nits}nit_in_{DISPLAY_ENCODING[display]}.a2.v1"
    )


def input_transform_id(colorspace: str) -> str | None:
    """Return the ACES 2.0 CSC from ``colorspace`` to ACES2065-1 (None if it is)."""
    if colorspace in _ACES_NAMES:
        return None
    if colorspace in INPUT_CSC:
        return _TID + INPUT_CSC[colorspace]
    raise HandoffError(
        f"AMF: no ACES 2.0 input transform for colourspace {colorspace!r}"
    )


def display_outputs(manifest: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Deliverables that went through an output transform (have display and view)."""
    return [o for o in manifest["outputs"] if o.get("display") and o.get("view")]


def _sub(
    parent: ET.Element,
    tag: str,
    text: str | None = None,
    ns: str = AMF_NS,
    **attrib: str,
) -> ET.Element:
    el = ET.SubElement(parent, f"{{{ns}}}{tag}", attrib)
    if text is not None:
        el.text = text
    return el


def _when(manifest: Mapping[str, Any]) -> str:
    created = manifest.get("created")
    if isinstance(created, str):
        try:
            stamp = _dt.datetime.fromisoformat(created.replace("Z", "+00:00"))
            return stamp.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        except ValueError:
            log.info("AMF: manifest 'created' %r is not ISO 8601; using now", created)
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _uuid(manifest: Mapping[str, Any], *parts: str) -> str:
    # Deterministic (RFC 4122 version 5) so rewriting the handoff gives the same IDs.
    key = "/".join((str(manifest.get("name")), str(manifest.get("created")), *parts))
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'hdrpipe:' + key)}"


def _info(
    parent: ET.Element,
    tag: str,
    manifest: Mapping[str, Any],
    description: str,
    *uuid_parts: str,
) -> ET.Element:
    info = _sub(parent, tag)
    _sub(info, "description", description)
    when = _when(manifest)
    dt = _sub(info, "dateTime")
    _sub(dt, "creationDateTime", when)
    _sub(dt, "modificationDateTime", when)
    _sub(info, "uuid", _uuid(manifest, tag, *uuid_parts))
    return info


def build_amf(
    manifest: Mapping[str, Any] | str | os.PathLike[str], output: str | None = None
) -> ET.ElementTree:
    """Build the AMF element tree for one display-referred deliverable.

    ``output`` is a preset id; by default the first deliverable with a display and
    view. Raises :class:`HandoffError` when the job has none.
    """
    doc = as_manifest(manifest)
    outs = display_outputs(doc)
    if output is not None:
        outs = [o for o in outs if o["preset"] == output]
    if not outs:
        raise HandoffError(
            f"AMF: job {doc['name']!r} has no display-referred deliverable"
            + (f" named {output!r}" if output else "")
        )
    out = outs[0]
    ET.register_namespace("aces", AMF_NS)
    ET.register_namespace("cdl", CDL_NS)
    root = ET.Element(f"{{{AMF_NS}}}acesMetadataFile", {"version": "2.0"})
    _info(
        root,
        "amfInfo",
        doc,
        f"hdrpipe job {doc['name']}: {out['preset']}",
        out["preset"],
    )
    clip = _sub(root, "clipId")
    _sub(clip, "clipName", str(doc["name"]))
    _sub(
        clip,
        "file",
        Path(out["path"]).as_uri() if os.path.isabs(out["path"]) else str(out["path"]),
    )
    pipeline = _sub(root, "pipeline")
    pinfo = _info(
        pipeline,
        "pipelineInfo",
        doc,
        f"{doc['color']['source_colorspace']} -> {out['display']} / {out['view']}",
        out["preset"],
        "pipeline",
    )
    version = _sub(pinfo, "systemVersion")
    for tag, value in (
        ("majorVersion", "2"),
        ("minorVersion", "0"),
        ("patchVersion", "0"),
    ):
        _sub(version, tag, value)
    source_cs = str(doc["color"]["source_colorspace"])
    tid = input_transform_id(source_cs)
    if tid:
        it = _sub(pipeline, "inputTransform", applied="true")
        _sub(it, "description", f"{source_cs} to ACES2065-1")
        _sub(it, "transformId", tid)
    cdl = look_cdl(doc["color"])
    if cdl:
        look = _sub(pipeline, "lookTransform", applied="true")
        _sub(look, "description", f"ASC CDL {cdl.get('id') or ''}".strip())
        ws = _sub(look, "cdlWorkingSpace")
        to_ws = _sub(ws, "toCdlWorkingSpace")
        _sub(to_ws, "transformId", _TID + "CSC.Academy.ACES_to_ACEScct.a2.v1")
        from_ws = _sub(ws, "fromCdlWorkingSpace")
        _sub(from_ws, "transformId", _TID + "CSC.Academy.ACEScct_to_ACES.a2.v1")
        sop = _sub(look, "SOPNode", ns=CDL_NS)
        for key, tag in (("slope", "Slope"), ("offset", "Offset"), ("power", "Power")):
            _sub(sop, tag, " ".join(_num(v) for v in cdl[key]), ns=CDL_NS)
        sat = _sub(look, "SatNode", ns=CDL_NS)
        _sub(sat, "Saturation", _num(cdl.get("saturation", 1.0)), ns=CDL_NS)
    elif doc["color"].get("look"):
        log.info(
            "AMF: look %r is not a CDL; written as a file reference",
            doc["color"]["look"],
        )
        look = _sub(pipeline, "lookTransform", applied="true")
        _sub(look, "description", "look transform")
        _sub(look, "file", str(doc["color"]["look"]))
    ot = _sub(pipeline, "outputTransform", applied="true")
    _sub(ot, "description", f"{out['display']} / {out['view']}")
    _sub(ot, "transformId", output_transform_id(str(out["display"]), str(out["view"])))
    tree = ET.ElementTree(root)
    ET.indent(tree, space="    ")
    return tree


def _num(value: object) -> str:
    return repr(float(value))  # type: ignore[arg-type]


def write_amf(
    manifest: Mapping[str, Any] | str | os.PathLike[str],
    path: str | os.PathLike[str],
    output: str | None = None,
    *,
    overwrite: bool = True,
) -> Path:
    """Write the AMF of one deliverable (default: the first display-referred one).

    An existing ``path`` is replaced only with ``overwrite``.
    """
    tree = build_amf(manifest, output)
    out = Path(path)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_open(out, overwrite=overwrite) as fh:
            tree.write(fh, encoding="UTF-8", xml_declaration=True)
    except OSError as err:
        raise HandoffError(f"{out}: cannot write AMF: {err}") from err
    return out
