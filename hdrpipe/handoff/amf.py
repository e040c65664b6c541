"""ACES Metadata File (AMF) for a job: input transform, looks, output transform.

Written to the AMF 2.0 schema (namespace ``urn:ampas:aces:amf:v2.0``, Academy
S-2019-001 "ACES Metadata File", ``acesMetadataFile.xsd`` v2.0 of
github.com/ampas/aces-amf): the element order is ``amfInfo``, ``clipId``,
``pipeline`` (``pipelineInfo``, ``inputTransform``, ``lookTransform``…,
``outputTransform``).

Transform IDs (``urn:ampas:aces:transformId:v2.0:…``) are read from the job's
OCIO config, the ``amf_transform_ids`` its colour spaces, view transforms and
looks list (:mod:`hdrpipe.color.amf_ids`), never built from names: a
display/view the config gives no ACES ID (hdrpipe's ``hlg-1000``: a
Rec.2020-limited rendering HLG-encoded, which ACES 2.0 does not define) gets no
AMF, with a :class:`HandoffError` that says so.

The source is ACES2065-1, so no input transform is written for it; other
sources get their colour space's ``CSC.*_to_ACES`` ID. Looks (the manifest's
look record, see :func:`~hdrpipe.handoff.manifest.look_spec`):

* ASC CDL values: ``cdl:SOPNode``/``cdl:SatNode`` (ASC CDL v1.01) inside a
  ``lookTransform`` whose ``cdlWorkingSpace`` is the look's process space
  (ACEScct by default), by the config's IDs to and from that space;
* a CDL file without values (``ColorCorrectionRef``): ``cdl:ColorCorrectionRef``
  plus ``file``;
* a LUT/CLF look applied in ACES2065-1 (an ACES LMT): ``file``;
* a look of the config: its ACES ``Look.*`` ID.

A deliverable on a retargeting target (``hdr-pq-600-rec2020``: the 1000-nit
ACES output, then the ITU-R BT.2390 EETF to 600 cd/m² on the PQ signal) has
the ID of the ACES output transform actually applied; ACES defines no ID for
the EETF step, so the ``outputTransform`` and ``pipelineInfo`` descriptions
name it with both peaks (a colourist adds it after the output transform).

A look none of these can express fails with :class:`HandoffError`. Every
transform is marked ``applied="true"`` (the deliverable's pixels went through
it). Text from names passes :func:`~hdrpipe.handoff.text.xml_text` (XML 1.0
cannot hold NUL and most control characters); files are ``file://`` URLs.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import HandoffError
from ..outputs import atomic_open
from .manifest import as_manifest, look_spec, output_retarget
from .text import xml_text

__all__ = [
    "AMF_NS",
    "CDL_NS",
    "NoTransformIdError",
    "build_amf",
    "write_amf",
    "display_outputs",
]

log = logging.getLogger(__name__)

AMF_NS = "urn:ampas:aces:amf:v2.0"
CDL_NS = "urn:ASC:CDL:v1.01"
#: Process space of an ASC CDL when the look record names none (S-2016-001
#: ACEScct, the ASC CDL working space in ACES pipelines).
CDL_WORKING_SPACE = "ACEScct"
_ACES_NAMES = {"ACES2065-1", "ACES - ACES2065-1", "aces_interchange"}


class NoTransformIdError(HandoffError):
    """The config gives a deliverable's output (or source) no ACES transform ID."""


def _ocio_config(doc: Mapping[str, Any]) -> Any:
    """The job's OCIO config (as recorded in the manifest), through hdrpipe.color."""
    from ..color import resolve_config
    from ..errors import ColorError

    info = doc["color"]["config"]
    uri = info.get("uri") or info.get("path")
    if not uri:
        raise HandoffError("AMF: the manifest names no OCIO config (color.config.uri)")
    try:
        config, _info = resolve_config(str(uri))
    except ColorError as err:
        raise HandoffError(
            f"AMF: cannot read the job's OCIO config for transform IDs: {err}"
        ) from err
    return config


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
    _sub(info, "description", xml_text(description))
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
    view. Raises :class:`HandoffError` when the job has none, when the config
    gives the display/view or the source no ACES transform ID, or when the look
    cannot be expressed in AMF.
    """
    from ..color import amf_ids
    from ..errors import ColorError

    doc = as_manifest(manifest)
    outs = display_outputs(doc)
    if output is not None:
        outs = [o for o in outs if o["preset"] == output]
    if not outs:
        raise HandoffError(
            f"AMF: job {xml_text(str(doc['name']))!r} has no display-referred "
            "deliverable" + (f" named {output!r}" if output else "")
        )
    out = outs[0]
    config = _ocio_config(doc)
    source_cs = str(doc["color"]["source_colorspace"])
    display, view = str(out["display"]), str(out["view"])
    try:
        output_id = amf_ids.output_transform_id(config, display, view)
        input_id = (
            None
            if source_cs in _ACES_NAMES
            else amf_ids.to_aces_transform_id(config, source_cs)
        )
    except ColorError as err:
        raise NoTransformIdError(f"AMF {out['preset']}: {err}") from err
    retarget = output_retarget(doc, out)
    rendering = f"{display} / {view}"
    if retarget is not None:
        rendering += ", " + retarget.describe()
    name = xml_text(str(doc["name"]))
    ET.register_namespace("aces", AMF_NS)
    ET.register_namespace("cdl", CDL_NS)
    root = ET.Element(f"{{{AMF_NS}}}acesMetadataFile", {"version": "2.0"})
    _info(root, "amfInfo", doc, f"hdrpipe job {name}: {out['preset']}", out["preset"])
    clip = _sub(root, "clipId")
    _sub(clip, "clipName", name)
    _sub(clip, "file", _file_uri(str(out["path"])))
    pipeline = _sub(root, "pipeline")
    pinfo = _info(
        pipeline,
        "pipelineInfo",
        doc,
        xml_text(f"{source_cs} -> {rendering}"),
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
    if input_id:
        it = _sub(pipeline, "inputTransform", applied="true")
        _sub(it, "description", xml_text(f"{source_cs} to ACES2065-1"))
        _sub(it, "transformId", input_id)
    spec = look_spec(doc["color"])
    if spec is not None:
        _look(pipeline, spec, config)
    ot = _sub(pipeline, "outputTransform", applied="true")
    _sub(ot, "description", xml_text(rendering))
    _sub(ot, "transformId", output_id)
    tree = ET.ElementTree(root)
    ET.indent(tree, space="    ")
    return tree


def _file_uri(path: str) -> str:
    # RFC 8089 file URL (percent-encoded) for the xs:anyURI of clipId/file.
    return Path(path).as_uri() if os.path.isabs(path) else xml_text(path)


def _look(pipeline: ET.Element, spec: Mapping[str, Any], config: Any) -> None:
    """Append the ``lookTransform`` of a look record (see the module docstring)."""
    from ..color import amf_ids
    from ..errors import ColorError

    kind = spec["kind"]
    label = spec.get("name") or spec.get("file") or kind
    if spec.get("cccid"):
        label = f"{label}#{spec['cccid']}"
    look = _sub(pipeline, "lookTransform", applied="true")
    _sub(look, "description", xml_text(f"look ({kind}) {label}"))
    if kind == "config-look":
        tid = spec.get("aces_transform_id")
        if not tid:
            try:
                tid = amf_ids.look_transform_id(config, str(spec["name"]))
            except ColorError as err:
                raise HandoffError(f"AMF look {label!r}: {err}") from err
        if not tid:
            raise HandoffError(
                f"AMF: config look {xml_text(str(label))!r} lists no ACES transform "
                "ID (amf_transform_ids), so an AMF cannot name it"
            )
        _sub(look, "transformId", str(tid))
        return
    if kind == "lut":
        space = spec.get("process_space")
        if space is not None and space not in _ACES_NAMES:
            raise HandoffError(
                f"AMF: look file {xml_text(str(label))!r} is applied in {space!r}; "
                "an AMF file look is an LMT applied in ACES2065-1"
            )
        _sub(look, "file", _file_uri(str(spec["file"])))
        return
    space = str(spec.get("process_space") or CDL_WORKING_SPACE)
    try:
        to_id, from_id = amf_ids.csc_transform_ids(config, space)
    except ColorError as err:
        raise HandoffError(f"AMF look {xml_text(str(label))!r}: {err}") from err
    ws = _sub(look, "cdlWorkingSpace")
    _sub(_sub(ws, "toCdlWorkingSpace"), "transformId", to_id)
    _sub(_sub(ws, "fromCdlWorkingSpace"), "transformId", from_id)
    cdl = spec.get("cdl")
    if cdl:
        sop = _sub(look, "SOPNode", ns=CDL_NS)
        for key, tag in (("slope", "Slope"), ("offset", "Offset"), ("power", "Power")):
            _sub(sop, tag, " ".join(_num(v) for v in cdl[key]), ns=CDL_NS)
        sat = _sub(look, "SatNode", ns=CDL_NS)
        _sub(sat, "Saturation", _num(cdl.get("saturation", 1.0)), ns=CDL_NS)
    elif spec.get("cccid"):
        _sub(look, "ColorCorrectionRef", ns=CDL_NS, ref=xml_text(str(spec["cccid"])))
        _sub(look, "file", _file_uri(str(spec["file"])))
    else:
        raise HandoffError(
            f"AMF: CDL look {xml_text(str(label))!r} has neither values nor a "
            "correction id"
        )


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
