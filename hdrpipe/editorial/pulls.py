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
from typing import Any, Protocol
from xml.sax.saxutils import escape, quoteattr

from ..encode.presets import get_preset, load_presets
from ..engine import ConformJob, Manifest, ProgressCallback, conform, write_manifest
from ..errors import InputError
from ..handoff import write_nuke_script
from ..outputs import atomic_write
from ..report.job import job_report
from ..sequence import open_sequence
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
    "PullRunner",
    "LocalRunner",
    "shot_name",
    "cdl_xml",
    "plan_timeline",
    "write_pull_look",
    "conform_timeline",
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
    extra = load_presets(job.presets_file) if job.presets_file else None
    kinds = {n: get_preset(n, extra=extra).kind for n in job.deliver}
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
    index = scan_media(media, input_spaces)
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


def _plate_pattern(manifest: Manifest) -> str:
    """The pull's ACES2065-1 plates, else its ACEScg plates."""
    outputs = {o["preset"]: o["path"] for o in manifest.data["outputs"]}
    return str(outputs.get(ACES_PLATES) or outputs[ACESCG_PLATES])


class PullRunner(Protocol):
    """What runs an editorial job's engine jobs: the pulls, then the master's movies.

    ``resume`` says the runner keeps work an interrupted run completed; the
    assembled master EXR is then reused when it is complete and newer than
    every pull.
    """

    resume: bool

    def run_pulls(
        self, pulls: Sequence[Pull], on_progress: ProgressCallback | None
    ) -> list[Manifest]:
        """Make every pull (its ``.cc`` is written); manifests in ``pulls`` order."""
        ...

    def run_master(self, job: ConformJob) -> Manifest:
        """Make the movies of the assembled master (an ordinary conform job)."""
        ...


class LocalRunner:
    """The pulls one after the other in this process, then the master's movies."""

    resume = False

    def run_pulls(
        self, pulls: Sequence[Pull], on_progress: ProgressCallback | None
    ) -> list[Manifest]:
        total = sum(p.frames.count for p in pulls)
        done = 0
        manifests = []
        for pull in pulls:

            def step(d: int, _t: int, base: int = done) -> None:
                if on_progress is not None:
                    on_progress(base + d, total)

            manifests.append(conform(pull.job, on_progress=step))
            done += pull.frames.count
        return manifests

    def run_master(self, job: ConformJob) -> Manifest:
        return conform(job)


def conform_timeline(
    job: ConformJob,
    media: Sequence[str | os.PathLike[str]],
    *,
    handles: int = DEFAULT_HANDLES,
    shot_name_template: str = DEFAULT_SHOT_NAME,
    input_spaces: InputSpaces | None = None,
    on_progress: ProgressCallback | None = None,
    handoff: bool = False,
    runner: PullRunner | None = None,
    qc_report: bool = False,
) -> EditorialResult:
    """Pull every matched event of the edit: plates, manifest and .nk per shot.

    Each pull is ``hdrpipe.conform`` of its planned job (see the module
    docstring); the event's CDL file is written first. The editorial manifest
    ``OUTDIR/<cut>.editorial.json`` lists every event (match, pull range,
    source timecode, CDL, shot manifest and .nk; events filled with black
    under ``force``). ``on_progress(done, total)`` counts frames over all pulls.
    With ``handoff`` the assembled master gets its OTIO, EDL and per-event AMFs
    (:mod:`hdrpipe.editorial.handoff`); existing ones are refused up front
    unless ``job.overwrite``. ``runner`` makes the pulls and the master's
    movies (default :class:`LocalRunner`: one engine job after the other; the
    farm's runner splits the job by event, :mod:`hdrpipe.farm.editorial`).
    ``qc_report``: each pull and the assembled cut get their QC report beside
    their manifest (:mod:`hdrpipe.report.job`), listed as ``report``.
    """
    planned = plan_timeline(
        job,
        media,
        handles=handles,
        shot_name_template=shot_name_template,
        input_spaces=input_spaces,
    )
    manifests = []
    shots: dict[int, dict[str, Any]] = {}
    if planned.movies:
        from .assemble import assembly_pattern

        aces = assembly_pattern(planned, planned.master_name)
        resuming = runner is not None and runner.resume
        exists = aces.parent.is_dir() and any(aces.parent.iterdir())
        if exists and not job.overwrite and not resuming:
            raise InputError(f"output {aces.parent} exists (use --overwrite)")
        if handoff and not job.overwrite:
            from .handoff import master_handoff_names

            for target in master_handoff_names(planned.master_name):
                if os.path.lexists(planned.outdir / target):
                    raise InputError(
                        f"hand-off {planned.outdir / target} exists (use --overwrite)"
                    )
    for pull in planned.pulls:
        write_pull_look(pull)
    run = runner if runner is not None else LocalRunner()
    pulled = run.run_pulls(planned.pulls, on_progress)
    for pull, manifest in zip(planned.pulls, pulled, strict=True):
        nk = write_nuke_script(manifest.to_dict(), pull.outdir / f"{pull.name}.nk")
        manifests.append(manifest)
        first = manifest.data["inputs"][0]
        shots[pull.match.event.index] = {
            "manifest": str(manifest.path),
            "nuke": str(nk),
            "cdl_file": str(pull.look) if pull.look else None,
            "frames": [pull.frames.first, pull.frames.last],
            "source_timecode": first.get("time_code"),
            "outputs": [o["path"] for o in manifest.data["outputs"]],
            "report": job_report(manifest) if qc_report else None,
        }
    data = planned.to_dict()
    for row in data["events"]:
        row["pull_outputs"] = shots.get(row["event"])
    master: dict[str, Any] | None = None
    if planned.movies:
        from .assemble import assemble

        plates = {
            p.match.event.index: open_sequence(_plate_pattern(m))
            for p, m in zip(planned.pulls, manifests, strict=True)
        }
        pattern, movie = assemble(
            planned,
            plates,
            planned.master_name,
            planned.movies,
            run_master=run.run_master,
            reuse=run.resume,
        )
        master = {
            "aces": str(pattern),
            "manifest": str(movie.path) if movie else None,
            "outputs": [o["path"] for o in movie.data["outputs"]] if movie else [],
            "record_start": str(Timecode(planned.cut.start, planned.cut.rate)),
            "frames": planned.cut.end - planned.cut.start,
            "report": job_report(movie) if qc_report and movie else None,
        }
        if movie is not None:
            manifests.append(movie)
            if handoff:
                from .handoff import write_master_handoff

                written = write_master_handoff(
                    planned, pattern, movie.data, overwrite=job.overwrite
                )
                master["handoff"] = {k: str(v) for k, v in written.items()}
    data["master"] = master
    path = planned.outdir / f"{planned.master_name}.editorial.json"
    planned.outdir.mkdir(parents=True, exist_ok=True)
    write_manifest(path, data)
    return EditorialResult(planned, tuple(manifests), path, data)
