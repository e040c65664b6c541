"""Handoff: the files people downstream open — Nuke script, OTIO/EDL/FCPXML, ACES AMF.

Everything here consumes the job manifest (schema ``hdrpipe.manifest/1``) as data,
a mapping or a path to the JSON file, and writes files atomically.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..errors import HandoffError
from .amf import NoTransformIdError, build_amf, display_outputs, write_amf
from .manifest import as_manifest, check_manifest, load_manifest
from .nuke import build_script, write_nuke_script
from .tcl import quote, tokenize

_OTIO_NAMES = ("build_timeline", "write_otio", "write_edl", "write_fcpxml")


def __getattr__(name: str) -> Any:
    # OpenTimelineIO is imported on first use, so the Nuke hook (which runs in
    # Nuke's own Python, without OTIO) can import the Nuke writer alone.
    if name in _OTIO_NAMES:
        from . import otio as _otio

        return getattr(_otio, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "write_nuke_script",
    "build_script",
    "build_timeline",
    "write_otio",
    "write_edl",
    "write_fcpxml",
    "write_amf",
    "build_amf",
    "write_handoff",
    "load_manifest",
    "check_manifest",
    "quote",
    "tokenize",
]

log = logging.getLogger(__name__)


def write_handoff(
    manifest: Mapping[str, Any] | str | os.PathLike[str],
    outdir: str | os.PathLike[str],
    *,
    nuke: bool = True,
    otio: bool = True,
    edl: bool = True,
    fcpxml: bool = True,
    amf: bool = True,
) -> dict[str, Path]:
    """Write the selected handoff files for a job into ``outdir``.

    Files are named after the job: ``<name>.nk``, ``<name>.otio``, ``<name>.edl``
    (first movie deliverable), ``<name>.fcpxml`` (first movie deliverable),
    ``<name>_<preset>.amf`` per display-referred deliverable whose rendering
    the OCIO config gives an ACES transform ID (others: WARNING). The FCPXML
    describes the first movie whose colour FCPXML can name. Returns
    ``{"nuke": path, "otio": …, "edl": …, "fcpxml": …, "amf": first AMF,
    "amf:<preset>": each AMF}``; a format the job cannot produce (EDL/FCPXML
    without a movie, AMF without a display-referred deliverable) is skipped
    with an INFO log and left out of the result.

    Raises
    ------
    HandoffError
        After trying every selected format, when one or more could not be
        written (e.g. a look a format cannot express); the message lists each
        failure and the files that were written.
    """
    doc = as_manifest(manifest)
    out = Path(outdir)
    stem = _safe_stem(str(doc["name"]))
    has_movie = any(o["kind"] != "exr" for o in doc["outputs"])
    written: dict[str, Path] = {}
    failed: list[str] = []

    def attempt(kind: str, write: Callable[[], Path]) -> None:
        # One format that cannot express the job (a look, a name) must not cost
        # the others: each is tried, and the failures are raised together.
        try:
            written[kind] = write()
        except HandoffError as err:
            log.error("handoff %s: %s not written: %s", stem, kind, err)
            failed.append(f"{kind}: {err}")

    if nuke:
        attempt("nuke", lambda: write_nuke_script(doc, out / f"{stem}.nk"))
    from .otio import write_edl, write_fcpxml, write_otio

    if otio:
        attempt("otio", lambda: write_otio(doc, out / f"{stem}.otio"))
    if edl:
        if doc["outputs"]:
            attempt("edl", lambda: write_edl(doc, out / f"{stem}.edl"))
        else:
            log.info("handoff %s: no deliverable, no EDL", stem)
    if fcpxml:
        from .fcpxml import fcp_color_space

        if any(o["kind"] != "exr" and fcp_color_space(doc, o) for o in doc["outputs"]):
            attempt("fcpxml", lambda: write_fcpxml(doc, out / f"{stem}.fcpxml"))
        elif has_movie:
            log.warning(
                "handoff %s: no movie deliverable in a colour space FCPXML can "
                "name (Rec. 709, Rec. 2020, Rec. 2020 PQ/HLG); FCPXML skipped",
                stem,
            )
        else:
            log.info("handoff %s: FCPXML needs a movie deliverable; skipped", stem)
    if amf:
        outs = display_outputs(doc)
        if not outs:
            log.info("handoff %s: no display-referred deliverable, no AMF", stem)
        for o in outs:
            target = out / f"{stem}_{_safe_stem(o['preset'])}.amf"
            try:
                p = write_amf(doc, target, o["preset"])
            except NoTransformIdError as err:
                # The deliverable is fine; only its AMF cannot name the rendering.
                log.warning("handoff %s: no AMF for %s: %s", stem, o["preset"], err)
                continue
            except HandoffError as err:
                log.error("handoff %s: AMF %s not written: %s", stem, o["preset"], err)
                failed.append(f"amf:{o['preset']}: {err}")
                continue
            written.setdefault("amf", p)
            written[f"amf:{o['preset']}"] = p
    if failed:
        raise HandoffError(
            f"handoff {stem}: {len(failed)} file(s) not written ("
            + "; ".join(failed)
            + f"); written: {', '.join(str(p) for p in written.values()) or 'none'}"
        )
    return written


def _safe_stem(text: str) -> str:
    """File-name stem without path separators or control characters."""
    cleaned = "".join("_" if c in "/\\\0" or ord(c) < 0x20 else c for c in text).strip()
    return cleaned.lstrip(".") or "job"
