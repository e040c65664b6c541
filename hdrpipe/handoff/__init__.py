"""Handoff: the files people downstream open — Nuke script, OTIO/EDL/FCPXML, ACES AMF.

Everything here consumes the job manifest (schema ``hdrpipe.manifest/1``) as data,
a mapping or a path to the JSON file, and writes files atomically.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from ..errors import HandoffError, InputError, OutputError
from ..outputs import check_name, check_outdir, output_path
from .amf import NoTransformIdError, build_amf, display_outputs, write_amf
from .manifest import HandoffInputError, as_manifest, check_manifest, load_manifest
from .nuke import NukeFrameTokenError, build_script, write_nuke_script
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
    "HandoffInputError",
    "NukeFrameTokenError",
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
    overwrite: bool = False,
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
    """
    doc = as_manifest(manifest)
    try:
        out = check_outdir(outdir)
    except InputError as err:
        raise HandoffError(str(err)) from err
    stem = _safe_stem(str(doc["name"]))
    has_movie = any(o["kind"] != "exr" for o in doc["outputs"])
    from .fcpxml import fcp_color_space
    from .otio import write_edl, write_fcpxml, write_otio

    # (key, path, write): everything is planned first, so an existing target
    # stops the hand-off before any file is written.
    jobs: list[tuple[str, Path, Callable[[Path], Path]]] = []
    if nuke:
        write_nk = partial(write_nuke_script, doc, overwrite=overwrite)
        jobs.append(("nuke", _target(out, f"{stem}.nk"), write_nk))
    if otio:
        write_ot = partial(write_otio, doc, overwrite=overwrite)
        jobs.append(("otio", _target(out, f"{stem}.otio"), write_ot))
    if edl:
        if doc["outputs"]:
            write_ed = partial(write_edl, doc, overwrite=overwrite)
            jobs.append(("edl", _target(out, f"{stem}.edl"), write_ed))
        else:
            log.info("handoff %s: no deliverable, no EDL", stem)
    if fcpxml:
        if any(o["kind"] != "exr" and fcp_color_space(doc, o) for o in doc["outputs"]):
            write_fc = partial(write_fcpxml, doc, overwrite=overwrite)
            jobs.append(("fcpxml", _target(out, f"{stem}.fcpxml"), write_fc))
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
            preset = str(o["preset"])
            amf_path = _target(out, f"{stem}_{_safe_stem(preset)}.amf")
            amf_write = partial(_write_amf, doc, output=preset, overwrite=overwrite)
            jobs.append((f"amf:{preset}", amf_path, amf_write))
    if not overwrite:
        existing = [
            str(target) for _key, target, _write in jobs if os.path.lexists(target)
        ]
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
    for key, target, write in jobs:
        # One format that cannot express the job (a look, a name) must not cost
        # the others: each is tried, and the failures are raised together.
        try:
            p = write(target)
        except NoTransformIdError as err:
            # The deliverable is fine; only its AMF cannot name the rendering.
            log.warning("handoff %s: no AMF for %s: %s", stem, key[4:], err)
            continue
        except (HandoffError, OutputError) as err:
            log.error("handoff %s: %s not written: %s", stem, key, err)
            failed.append(f"{key}: {err}")
            errors.append(err)
            continue
        if key.startswith("amf:"):
            written.setdefault("amf", p)
        written[key] = p
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

    ``.nk``, ``.otio``, ``.edl``, ``.fcpxml`` and one ``.amf`` per preset,
    whether or not the job's deliverables call for each.
    """
    stem = _safe_stem(name)
    names = [f"{stem}{ext}" for ext in (".nk", ".otio", ".edl", ".fcpxml")]
    names += [f"{stem}_{_safe_stem(p)}.amf" for p in presets]
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
        return _safe_stem(name)


def _write_amf(
    doc: Mapping[str, Any], path: Path, *, output: str, overwrite: bool
) -> Path:
    return write_amf(doc, path, output, overwrite=overwrite)


def _target(outdir: Path, name: str) -> Path:
    try:
        return output_path(outdir, name)
    except InputError as err:
        raise HandoffError(str(err)) from err


def _safe_stem(text: str) -> str:
    """File-name stem without path separators or control characters."""
    cleaned = "".join("_" if c in "/\\\0" or ord(c) < 0x20 else c for c in text).strip()
    return cleaned.lstrip(".") or "job"
