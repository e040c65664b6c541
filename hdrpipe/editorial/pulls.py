"""VFX pulls: one engine job per matched event, its used range ± handles.

An editorial job is a :class:`~hdrpipe.engine.ConformJob` whose one input is the
edit (``.edl``/``.otio``/``.fcpxml``…): its deliverables, colour, raster and
validation options apply to every pull, and :func:`plan_timeline` replaces, per
event, the input (the matched sequence), the frames (the pull range), the name
(``shot_name``), the output folder (``OUTDIR/<shot>/``) and the look (the
event's ASC CDL, written as ``OUTDIR/<shot>/<shot>.cc`` and applied by the
engine in ACEScct, the ASC CDL convention in ACES). Pulls keep the source rate
and the source EXR timecode of their first frame (``fps``/``start_tc`` are not
passed on); the job's ``fps`` is the edit's record rate (a CMX 3600 EDL has
none of its own).

Shot names come from a template with ``{event}`` (clip name in the edit),
``{reel}``, ``{name}`` (the matched sequence's name), ``{index}`` (event number,
e.g. ``{index:03d}``) and ``{track}``; every name from an edit is hostile, so
the result must be a safe file name (letters, digits, ``.``, ``_``, ``-``, not
starting with ``.``, at most 128 characters) and unique, or the job is refused.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from ..engine import ConformJob, Manifest
from ..engine.job import job_specs
from ..errors import InputError
from ..outputs import atomic_write
from ..timecode import Timecode
from ..types import FrameRange
from .match import (
    DEFAULT_HANDLES,
    InputSpaces,
    Match,
    Media,
    check_matches,
    match_events,
    scan_media,
)
from .timeline import Cdl, Cut, read_timeline

__all__ = [
    "DEFAULT_SHOT_NAME",
    "EDITORIAL_SCHEMA",
    "Pull",
    "EditorialPlan",
    "EditorialResult",
    "shot_name",
    "cdl_xml",
    "plan_timeline",
    "write_pull_look",
]

log = logging.getLogger(__name__)

DEFAULT_SHOT_NAME = "{index:03d}_{event}"
EDITORIAL_SCHEMA = "hdrpipe.editorial/1"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
_FIELDS = ("event", "reel", "name", "index", "track")
ACES_PLATES, ACESCG_PLATES = "exr-aces", "exr-acescg"


def shot_name(template: str, match: Match) -> str:
    """Format ``template`` for the event of ``match`` and check it is a safe name.

    Raises
    ------
    InputError
        Unknown or attribute/index fields in the template, or a result that is
        not a safe file name.
    """
    ev = match.event
    for _text, field, _spec, _conv in string.Formatter().parse(template):
        if field is not None and field not in _FIELDS:
            raise InputError(
                f"--shot-name {template!r}: unknown field {{{field}}}; "
                f"use {', '.join('{' + f + '}' for f in _FIELDS)}"
            )
    fields = {
        "event": ev.name,
        "reel": ev.reel or "",
        "name": match.media.name if match.media else "",
        "index": ev.index,
        "track": ev.track,
    }
    try:
        text = template.format(**fields)
    except (ValueError, IndexError, KeyError) as err:
        raise InputError(f"--shot-name {template!r}: {err}") from err
    if not _SAFE_NAME.fullmatch(text):
        raise InputError(
            f"event {ev.index} ({ev.name!r}): shot name {text!r} from --shot-name "
            f"{template!r} is not a safe file name (letters, digits, '.', '_', '-'; "
            "at most 128; not starting with '.'); use e.g. '{index:03d}'"
        )
    return text


def cdl_xml(cdl: Cdl, cc_id: str) -> str:
    """An ASC CDL ``ColorCorrection`` document (.cc) holding ``cdl``."""

    def triple(values: tuple[float, float, float]) -> str:
        return " ".join(repr(float(v)) for v in values)

    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<ColorCorrection id={quoteattr(cc_id)}>\n"
        "  <SOPNode>\n"
        f"    <Slope>{escape(triple(cdl.slope))}</Slope>\n"
        f"    <Offset>{escape(triple(cdl.offset))}</Offset>\n"
        f"    <Power>{escape(triple(cdl.power))}</Power>\n"
        "  </SOPNode>\n"
        "  <SatNode>\n"
        f"    <Saturation>{float(cdl.saturation)!r}</Saturation>\n"
        "  </SatNode>\n"
        "</ColorCorrection>\n"
    )


@dataclass(frozen=True)
class Pull:
    """One event's pull: its match, shot name, folder, CDL file and engine job."""

    match: Match
    name: str
    outdir: Path
    look: Path | None
    job: ConformJob

    @property
    def frames(self) -> FrameRange:
        assert self.match.pull is not None  # only events with a pull range
        return self.match.pull


@dataclass(frozen=True)
class EditorialPlan:
    """An edit resolved to pulls: nothing written yet."""

    job: ConformJob
    cut: Cut
    media: tuple[Media, ...]
    matches: tuple[Match, ...]
    pulls: tuple[Pull, ...]
    handles: int
    shot_name: str
    movies: tuple[str, ...] = ()  # presets of the assembled master

    @property
    def master_name(self) -> str:
        """Base name of the assembled master's files (the cut's name, made safe)."""
        stem = re.sub(r"[^A-Za-z0-9._-]", "_", self.cut.name).lstrip(".")[:100]
        return stem or "cut"

    @property
    def outdir(self) -> Path:
        return Path(self.job.outdir).absolute()

    @property
    def manifest_path(self) -> Path:
        """``OUTDIR/<cut>.editorial.json``: written last, it marks the job complete."""
        return self.outdir / f"{self.master_name}.editorial.json"

    def to_dict(self) -> dict[str, Any]:
        """The plan as JSON-plain data (the dry run's document)."""
        rate = self.cut.rate
        by_event = {p.match.event.index: p for p in self.pulls}
        rows = []
        for m in self.matches:
            row = m.to_dict(rate)
            pull = by_event.get(m.event.index)
            row["shot"] = pull.name if pull else None
            row["filled_black"] = m.status != "ok" and pull is None
            rows.append(row)
        return {
            "schema": EDITORIAL_SCHEMA,
            "timeline": str(self.cut.path),
            "cut": self.cut.name,
            "rate": str(rate),
            "record_start": str(Timecode(self.cut.start, rate)),
            "handles": self.handles,
            "shot_name": self.shot_name,
            "deliver": list(self.job.deliver),
            "master_presets": list(self.movies),
            "notes": list(self.cut.notes),
            "events": rows,
        }


@dataclass(frozen=True)
class EditorialResult:
    """What an editorial conform made: the plan, one manifest per pull, its JSON."""

    plan: EditorialPlan
    manifests: tuple[Manifest, ...]
    path: Path
    data: dict[str, Any]


def _split_deliver(job: ConformJob) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(EXR presets for the pulls, movie presets for the assembled master).

    With movie presets only, the pulls are ``exr-aces`` (the master is built
    from them); a master needs ``exr-aces`` or ``exr-acescg`` pulls.
    """
    kinds = {n: spec.kind for n, spec in zip(job.deliver, job_specs(job), strict=True)}
    plates = tuple(n for n in job.deliver if kinds[n] == "exr")
    movies = tuple(n for n in job.deliver if kinds[n] != "exr")
    if not plates:
        plates = (ACES_PLATES,)
    if movies and not set(plates) & {ACES_PLATES, ACESCG_PLATES}:
        raise InputError(
            f"the assembled master is built from {ACES_PLATES} or {ACESCG_PLATES} "
            f"pulls; add one of them to --deliver (got {', '.join(plates)})"
        )
    return plates, movies


def plan_timeline(
    job: ConformJob,
    media: Sequence[str | os.PathLike[str]],
    *,
    handles: int = DEFAULT_HANDLES,
    shot_name_template: str = DEFAULT_SHOT_NAME,
    input_spaces: InputSpaces | None = None,
) -> EditorialPlan:
    """Read the edit (``job.inputs[0]``), match it to ``media`` and plan the pulls.

    ``input_spaces`` (:func:`~hdrpipe.editorial.match.parse_input_spaces`)
    gives the colour space of a root's sequences without recognised
    chromaticities; each pull reads its sequence in
    :attr:`~hdrpipe.editorial.match.Media.colorspace` unless the job sets
    ``source_colorspace`` for all.

    Raises
    ------
    InputError
        Bad edit, media root, template, deliverable or option; :class:`MatchError`
        (an ``InputError``) when events have no single master and ``job.force``
        is off.
    """
    if len(job.inputs) != 1 or not isinstance(job.inputs[0], (str, os.PathLike)):
        raise InputError("an editorial job has exactly one input: the edit file")
    if job.frames is not None or job.start_tc or job.name:
        raise InputError(
            "--frames, --start-tc and --name do not apply to --timeline "
            "(each pull takes its range and source timecode from the edit)"
        )
    plates, movies = _split_deliver(job)
    cut = read_timeline(job.inputs[0], rate=job.fps, force=job.force)
    index = scan_media(media, input_spaces, source_colorspace=job.source_colorspace)
    matches = match_events(cut, index, handles=handles)
    check_matches(matches, force=job.force)
    outdir = Path(job.outdir).absolute()
    pulls: list[Pull] = []
    seen: dict[str, int] = {}
    for m in matches:
        if m.media is None or m.pull is None:
            continue  # unmatched under --force: listed, no plate
        name = shot_name(shot_name_template, m)
        if name in seen:
            raise InputError(
                f"events {seen[name]} and {m.event.index} both get the shot name "
                f"{name!r}; put {{index}} in --shot-name"
            )
        seen[name] = m.event.index
        folder = outdir / name
        look: Path | None = None
        if m.event.cdl is not None:
            if job.look is not None:
                raise InputError(
                    f"event {m.event.index} carries an ASC CDL and --look is given; "
                    "use one or the other"
                )
            look = folder / f"{name}.cc"
        pull_job = dataclasses.replace(
            job,
            inputs=(m.media.sequence,),
            deliver=plates,
            frames=m.pull,
            name=name,
            outdir=folder,
            look=look if look is not None else job.look,
            fps=None,
            start_tc=None,
            source_colorspace=job.source_colorspace or m.media.colorspace,
        )
        pulls.append(Pull(m, name, folder, look, pull_job))
    if movies and not job.reformat:
        _check_one_raster(pulls)
    return EditorialPlan(
        job=job,
        cut=cut,
        media=index,
        matches=matches,
        pulls=tuple(pulls),
        handles=handles,
        shot_name=shot_name_template,
        movies=movies,
    )


def _check_one_raster(pulls: Sequence[Pull]) -> None:
    """Refuse to assemble masters of different rasters without ``--reformat``."""
    sizes: dict[tuple[int, int], str] = {}
    for pull in pulls:
        media = pull.match.media
        assert media is not None  # pulls exist for matched events only
        seq = media.sequence
        header = seq.header(seq.frames[0])
        sizes.setdefault((header.width, header.height), seq.pattern)
    if len(sizes) > 1:
        listed = ", ".join(f"{w}x{h} ({p})" for (w, h), p in sizes.items())
        raise InputError(
            f"the masters of this cut have different rasters: {listed}; "
            "give --reformat to assemble the cut at one raster"
        )


def _write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, text)


def write_pull_look(pull: Pull) -> Path | None:
    """Write the event's CDL as the pull's ``.cc`` (the look its job reads).

    :func:`conform_timeline` calls it before each pull; a farm that runs the
    pulls' jobs itself (one task per event) calls it first. Returns the path,
    or None when the event has no CDL.
    """
    cdl = pull.match.event.cdl
    if pull.look is None or cdl is None:
        return None
    return _write_text(pull.look, cdl_xml(cdl, pull.name))
