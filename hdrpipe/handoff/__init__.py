"""Handoff: the files people downstream open — Nuke script, OTIO/EDL/FCPXML, ACES AMF.

Everything here consumes the job manifest (schema ``hdrpipe.manifest/1``) as data,
a mapping or a path to the JSON file, and writes files atomically.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import HandoffError, InputError, OutputError
from ..outputs import check_name, check_outdir, output_path
from .amf import build_amf, write_amf
from .manifest import HandoffInputError, as_manifest, check_manifest, load_manifest
from .nuke import NukeFrameTokenError, build_script, write_nuke_script
from .registry import (
    HANDOFF_FORMATS,
    HandoffFile,
    HandoffFormat,
    register_handoff,
    safe_stem,
    unregister_handoff,
)
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
    "existing_handoff",
    "handoff_paths",
    "lock_name",
    "HandoffInputError",
    "NukeFrameTokenError",
    "HANDOFF_FORMATS",
    "HandoffFormat",
    "HandoffFile",
    "register_handoff",
    "unregister_handoff",
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
    overwrite: bool = False,
    **kinds: bool,
) -> dict[str, Path]:
    """Write the selected handoff files for a job into ``outdir``.

    One keyword per registered format (:data:`HANDOFF_FORMATS`), each True by
    default: ``nuke``, ``otio``, ``edl``, ``fcpxml``, ``amf`` and any format a
    plug-in registered. Files are named after the job: ``<name>.nk``,
    ``<name>.otio``, ``<name>.edl`` (first movie deliverable), ``<name>.fcpxml``
    (first movie deliverable), ``<name>_<preset>.amf`` per display-referred
    deliverable whose rendering the OCIO config gives an ACES transform ID
    (others: WARNING). The FCPXML describes the first movie whose colour FCPXML
    can name. Returns ``{"nuke": path, "otio": …, "edl": …, "fcpxml": …, "amf":
    first AMF, "amf:<preset>": each AMF}``; a format the job cannot produce
    (EDL/FCPXML without a movie, AMF without a display-referred deliverable) is
    skipped with an INFO log and left out of the result.

    Every file is written atomically under ``outdir`` (names from the manifest
    are made safe first, and paths are checked to resolve inside ``outdir``).
    Existing files are replaced only with ``overwrite``: without it, any
    existing target is refused before the first file is written.

    Raises
    ------
    HandoffError
        A target exists (without ``overwrite``: before any file is written);
        or, after trying every selected format, one or more could not be
        written (a look a format cannot express, a full disk); the message
        lists each failure and the files that were written.
    TypeError
        A keyword that names no registered format.
    """
    unknown = sorted(set(kinds) - set(HANDOFF_FORMATS))
    if unknown:
        raise TypeError(
            f"write_handoff: no hand-off format {', '.join(map(repr, unknown))} "
            f"(registered: {', '.join(HANDOFF_FORMATS)})"
        )
    doc = as_manifest(manifest)
    try:
        out = check_outdir(outdir)
    except InputError as err:
        raise HandoffError(str(err)) from err
    stem = safe_stem(str(doc["name"]))
    # Everything is planned first, so an existing target stops the hand-off
    # before any file is written.
    jobs: list[tuple[HandoffFile, Path]] = [
        (file, _target(out, file.name))
        for key, fmt in list(HANDOFF_FORMATS.items())
        if kinds.get(key, True)
        for file in fmt.files(doc, stem, overwrite)
    ]
    if not overwrite:
        existing = [str(target) for _file, target in jobs if os.path.lexists(target)]
        if existing:
            raise HandoffError(
                f"hand-off file(s) exist: {', '.join(existing)} "
                "(use --overwrite to replace them)"
            )
    if jobs:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise HandoffError(f"{out}: cannot create: {err.strerror}") from err
    written: dict[str, Path] = {}
    failed: list[str] = []
    errors: list[Exception] = []
    for file, target in jobs:
        # One format that cannot express the job (a look, a name) must not cost
        # the others: each is tried, and the failures are raised together.
        try:
            p = file.write(target)
        except (HandoffError, OutputError) as err:
            log.error("handoff %s: %s not written: %s", stem, file.key, err)
            failed.append(f"{file.key}: {err}")
            errors.append(err)
            continue
        if p is None:
            continue
        kind = file.key.partition(":")[0]
        if kind != file.key:  # "amf:<preset>": "amf" is the first of them
            written.setdefault(kind, p)
        written[file.key] = p
    if failed:
        # the job's own names (a '#' Nuke cannot read): a usage error, exit 2
        usage = all(isinstance(e, InputError) for e in errors)
        raise (HandoffInputError if usage else HandoffError)(
            f"handoff {stem}: {len(failed)} file(s) not written ("
            + "; ".join(failed)
            + f"); written: {', '.join(str(p) for p in written.values()) or 'none'}"
        ) from errors[0]
    return written


def handoff_paths(
    outdir: str | os.PathLike[str], name: str, presets: list[str]
) -> list[Path]:
    """Every hand-off file a job ``name`` with ``presets`` could write in ``outdir``.

    One entry per name a registered format could give the job (``.nk``,
    ``.otio``, ``.edl``, ``.fcpxml``, one ``.amf`` per preset, …), whether or not
    the job's deliverables call for each.
    """
    stem = safe_stem(name)
    names = [n for fmt in HANDOFF_FORMATS.values() for n in fmt.names(stem, presets)]
    folder = Path(outdir)
    return [folder / n for n in names]


def existing_handoff(
    outdir: str | os.PathLike[str], name: str, presets: list[str]
) -> list[Path]:
    """Hand-off files a job named ``name`` could write in ``outdir`` that exist.

    For a front-end that must refuse a job up front (before its deliverables
    are made) when its hand-off would be refused for lack of ``overwrite``.
    """
    return [p for p in handoff_paths(outdir, name, presets) if os.path.lexists(p)]


def lock_name(name: str) -> str:
    """The job-lock name of a hand-off for the job ``name``.

    The job's own name, as ``conform`` locked it (:mod:`hdrpipe.engine.lock`),
    so a hand-off and a conform of one OUTDIR and name exclude each other; a
    manifest name no conform could have used (``/``, NUL) falls back to the
    hand-off files' stem.
    """
    try:
        return check_name(name)
    except InputError:
        return safe_stem(name)


def _target(outdir: Path, name: str) -> Path:
    try:
        return output_path(outdir, name)
    except InputError as err:
        raise HandoffError(str(err)) from err
