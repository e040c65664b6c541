"""The hand-off formats, registered in one table.

Each :class:`HandoffFormat` says which files it makes for a job and how each is
written. The table drives :func:`hdrpipe.handoff.write_handoff` (its keyword
per format, the order files are written in, the keys of its result),
:func:`hdrpipe.handoff.existing_handoff` and the ``hdrpipe handoff`` flags
(``--<key>``). Adding a format is one :func:`register_handoff` call::

    def csv_files(doc, stem, overwrite):
        write = partial(write_csv, doc, overwrite=overwrite)
        return [HandoffFile("csv", f"{stem}.csv", write)]

    register_handoff(HandoffFormat(
        key="csv", help="Shot list as CSV.", files=csv_files,
        names=lambda stem, presets: [f"{stem}.csv"],
    ))

(``hdrpipe handoff --csv`` exists when the format is registered before the CLI
is imported.)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from .amf import NoTransformIdError, display_outputs, write_amf
from .nuke import write_nuke_script

__all__ = [
    "HandoffFile",
    "HandoffFormat",
    "HANDOFF_FORMATS",
    "register_handoff",
    "unregister_handoff",
    "safe_stem",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HandoffFile:
    """One file a format makes: result key, file name (in OUTDIR), writer.

    ``write(path)`` writes the file and returns its path, or None when the
    format decides at write time that it cannot make it (logged, not a failure:
    an AMF whose rendering has no ACES transform ID).
    """

    key: str
    name: str
    write: Callable[[Path], Path | None]


@dataclass(frozen=True)
class HandoffFormat:
    """A hand-off format.

    ``key``: the :func:`~hdrpipe.handoff.write_handoff` keyword, the CLI flag
    ``--<key>`` and the result key; ``help``: the flag's help; ``files(doc,
    stem, overwrite)``: the files the job gets (none, logged, when the job cannot
    have this format); ``names(stem, presets)``: every file name a job named
    ``stem`` with deliverables ``presets`` could get (to refuse a job up front).
    """

    key: str
    help: str
    files: Callable[[Mapping[str, Any], str, bool], Sequence[HandoffFile]]
    names: Callable[[str, Sequence[str]], Sequence[str]]


#: Registered formats by key, in the order their files are written.
HANDOFF_FORMATS: dict[str, HandoffFormat] = {}


def register_handoff(fmt: HandoffFormat) -> HandoffFormat:
    """Add ``fmt`` to :data:`HANDOFF_FORMATS` (its key must be new); return it."""
    if fmt.key in HANDOFF_FORMATS:
        raise ValueError(f"hand-off format {fmt.key!r} is already registered")
    if not fmt.key.isidentifier() or fmt.key.startswith("_"):
        raise ValueError(f"hand-off format key {fmt.key!r} is not a plain name")
    HANDOFF_FORMATS[fmt.key] = fmt
    return fmt


def unregister_handoff(key: str) -> None:
    """Remove a registered format (a plug-in unloaded, a test cleaned up)."""
    HANDOFF_FORMATS.pop(key, None)


def safe_stem(text: str) -> str:
    """File-name stem without path separators or control characters."""
    cleaned = "".join("_" if c in "/\\\0" or ord(c) < 0x20 else c for c in text).strip()
    return cleaned.lstrip(".") or "job"


def _one(ext: str) -> Callable[[str, Sequence[str]], Sequence[str]]:
    return lambda stem, _presets: [f"{stem}{ext}"]


def _nuke(doc: Mapping[str, Any], stem: str, overwrite: bool) -> list[HandoffFile]:
    write = partial(write_nuke_script, doc, overwrite=overwrite)
    return [HandoffFile("nuke", f"{stem}.nk", write)]


def _otio(doc: Mapping[str, Any], stem: str, overwrite: bool) -> list[HandoffFile]:
    # OpenTimelineIO is imported on first use (the Nuke hook imports the Nuke
    # writer alone, in Nuke's Python, without OTIO).
    from .otio import write_otio

    write = partial(write_otio, doc, overwrite=overwrite)
    return [HandoffFile("otio", f"{stem}.otio", write)]


def _edl(doc: Mapping[str, Any], stem: str, overwrite: bool) -> list[HandoffFile]:
    if not doc["outputs"]:
        log.info("handoff %s: no deliverable, no EDL", stem)
        return []
    from .otio import write_edl

    write = partial(write_edl, doc, overwrite=overwrite)
    return [HandoffFile("edl", f"{stem}.edl", write)]


def _fcpxml(doc: Mapping[str, Any], stem: str, overwrite: bool) -> list[HandoffFile]:
    from .fcpxml import fcp_color_space, write_fcpxml

    movies = [o for o in doc["outputs"] if o["kind"] != "exr"]
    if any(fcp_color_space(doc, o) for o in movies):
        write = partial(write_fcpxml, doc, overwrite=overwrite)
        return [HandoffFile("fcpxml", f"{stem}.fcpxml", write)]
    if movies:
        log.warning(
            "handoff %s: no movie deliverable in a colour space FCPXML can "
            "name (Rec. 709, Rec. 2020, Rec. 2020 PQ/HLG); FCPXML skipped",
            stem,
        )
    else:
        log.info("handoff %s: FCPXML needs a movie deliverable; skipped", stem)
    return []


def _write_amf(
    doc: Mapping[str, Any], path: Path, *, output: str, overwrite: bool, stem: str
) -> Path | None:
    try:
        return write_amf(doc, path, output, overwrite=overwrite)
    except NoTransformIdError as err:
        # The deliverable is fine; only its AMF cannot name the rendering.
        log.warning("handoff %s: no AMF for %s: %s", stem, output, err)
        return None


def _amf(doc: Mapping[str, Any], stem: str, overwrite: bool) -> list[HandoffFile]:
    outs = display_outputs(doc)
    if not outs:
        log.info("handoff %s: no display-referred deliverable, no AMF", stem)
    files = []
    for o in outs:
        preset = str(o["preset"])
        write = partial(_write_amf, doc, output=preset, overwrite=overwrite, stem=stem)
        files.append(
            HandoffFile(f"amf:{preset}", f"{stem}_{safe_stem(preset)}.amf", write)
        )
    return files


register_handoff(HandoffFormat("nuke", "Nuke .nk script.", _nuke, _one(".nk")))
register_handoff(HandoffFormat("otio", "OpenTimelineIO .otio.", _otio, _one(".otio")))
register_handoff(
    HandoffFormat("edl", "CMX 3600 EDL (first movie).", _edl, _one(".edl"))
)
register_handoff(
    HandoffFormat("fcpxml", "FCPXML (first movie).", _fcpxml, _one(".fcpxml"))
)
register_handoff(
    HandoffFormat(
        "amf",
        "ACES AMF per display-referred deliverable.",
        _amf,
        lambda stem, presets: [f"{stem}_{safe_stem(p)}.amf" for p in presets],
    )
)
