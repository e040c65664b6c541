"""Hand-off of the assembled master: the cut on the master (OTIO, EDL), AMF per event.

Written next to the master when asked (``conform --timeline … --handoff``):

* ``OUTDIR/<cut>.otio`` — the cut re-based on the master: ``global_start_time``
  is the record start; one video track per master deliverable (each movie as an
  ``ExternalReference`` whose time starts at the record start timecode, the
  ACES EXR as an ``ImageSequenceReference`` from frame 1001), holding one clip
  per visible event in record order and a gap for every gap. A clip's source
  range is its record range in the master. Dissolves and speed effects are
  baked into the master, so the clips are cuts with no effects; the edit's
  transition and speed are kept in the clip's ``metadata["hdrpipe"]`` with the
  event number, reel, source file, source timecode, pull and match status; the
  event's ASC CDL is in ``metadata["cdl"]`` (the cmx adapter's layout).
  Where an upper track covers a lower one, the clip is the visible event's.
* ``OUTDIR/<cut>.edl`` — CMX 3600 of the first movie's track (``cmx_3600``
  adapter): record timecode from the cut's start, the source timecode is the
  master's own (equal to the record timecode), reel from the master's file name
  (8 characters ``[A-Z0-9]``), ``*ASC_SOP``/``*ASC_SAT`` per event. A cut that
  reaches 24:00:00:00 gets no EDL (CMX 3600 is a 24-hour clock; logged).
* ``OUTDIR/<cut>_amf/<shot>_<preset>.amf`` — ACES AMF 2.0 per event with a pull
  and per display-referred movie of the master: ``clipId`` is the event's
  frames of the master ACES EXR (``sequence`` with ``idx="#"``, ``min``,
  ``max``), the ``lookTransform`` is the event's ASC CDL in its working space
  (ACEScct) marked ``applied="true"`` (the pull, hence the master, carries
  it), and the ``outputTransform`` is the movie's rendering marked
  ``applied="false"`` (the EXR is scene-referred; the movie is that EXR through
  it). One AMF describes one pipeline, so one file per event is the way AMF
  carries a grade per shot.

Every name comes from the edit, so files are made through the hand-off
writers (atomic, inside ``OUTDIR``), and existing targets are refused before
anything is written unless ``overwrite``.
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import opentimelineio as otio
from opentimelineio import opentime

from ..engine import EXR_FIRST_FRAME
from ..errors import HandoffError, InputError
from ..handoff.amf import AMF_NS, build_amf, display_outputs
from ..handoff.otio import edl_counting, edl_reel, file_url
from ..handoff.text import line_text, write_text
from ..outputs import atomic_open, output_path
from ..timecode import Timecode, frames_per_day
from .pulls import EditorialPlan, Pull
from .timeline import Event

__all__ = [
    "Segment",
    "segments",
    "build_master_timeline",
    "master_handoff_names",
    "write_master_handoff",
]

log = logging.getLogger(__name__)

#: (record start, record frames, the event shown or None for a gap).
Segment = tuple[int, int, Event | None]


def segments(planned: EditorialPlan) -> list[Segment]:
    """The master's record frames grouped by the event they show (top track wins)."""
    cut = planned.cut
    out: list[Segment] = []
    for r in range(cut.start, cut.end):
        top = next(
            (e for e in reversed(cut.events) if e.record_start <= r < e.record_end),
            None,
        )
        if out and out[-1][2] is top:
            start, n, _ = out[-1]
            out[-1] = (start, n + 1, top)
        else:
            out.append((r, 1, top))
    return out


def _rt(frames: int, rate: float) -> opentime.RationalTime:
    return opentime.RationalTime(frames, rate)


def _clip_metadata(
    planned: EditorialPlan, event: Event, pull: Pull | None
) -> dict[str, Any]:
    match = next(m for m in planned.matches if m.event.index == event.index)
    row = match.to_dict(planned.cut.rate)
    transitions = [
        {"kind": t.kind, "frames": t.in_offset + t.out_offset, "from_event": t.before}
        for t in planned.cut.transitions
        if t.after == event.index
    ]
    info = {
        "event": event.index,
        "event_name": event.name,
        "reel": event.reel,
        "source_file": event.source_file,
        "track": event.track,
        "status": match.status,
        "source_in": row["source_in"],
        "source_out": row["source_out"],
        "media": row["media"],
        "speed": str(event.speed),
        "freeze": event.freeze,
        "transition_in": transitions[0] if transitions else None,
        "baked": True,  # dissolves, speed and the CDL are in the master's pixels
        "shot": pull.name if pull else None,
    }
    meta: dict[str, Any] = {"hdrpipe": info}
    if event.cdl is not None:
        meta["cdl"] = {
            "asc_sop": {
                "slope": list(event.cdl.slope),
                "offset": list(event.cdl.offset),
                "power": list(event.cdl.power),
            },
            "asc_sat": event.cdl.saturation,
        }
    return meta


def build_master_timeline(
    planned: EditorialPlan, aces: str | os.PathLike[str], movies: Mapping[str, str]
) -> otio.schema.Timeline:
    """The cut on the master (see the module docstring): ``movies`` preset → path."""
    cut = planned.cut
    rate = float(cut.rate.fps)
    total = cut.end - cut.start
    rate_text = f"{cut.rate.fps.numerator}/{cut.rate.fps.denominator}"
    timeline = otio.schema.Timeline(
        name=cut.name,
        global_start_time=_rt(cut.start, rate),
        metadata={
            "hdrpipe": {
                "rate": rate_text,
                "drop_frame": cut.rate.drop_frame,
                "start_timecode": str(Timecode(cut.start, cut.rate)),
                "timeline": str(cut.path),
                "frames": total,
            }
        },
    )
    pulls = {p.match.event.index: p for p in planned.pulls}
    tracks: list[tuple[str, str, str]] = [
        (p, str(v), "video") for p, v in movies.items()
    ]
    tracks.append(("exr-aces", str(aces), "exr"))
    for preset, path, kind in tracks:
        track = otio.schema.Track(
            name=preset,
            kind=otio.schema.TrackKind.Video,
            metadata={"hdrpipe": {"preset": preset, "kind": kind, "path": path}},
        )
        for start, n, event in segments(planned):
            if event is None:
                track.append(otio.schema.Gap(duration=_rt(n, rate)))
                continue
            offset = start - cut.start
            ref: otio.core.MediaReference
            if kind == "exr":
                ref = _exr_reference(path, total, rate)
                src = _rt(EXR_FIRST_FRAME + offset, rate)
            else:
                ref = otio.schema.ExternalReference(
                    target_url=file_url(path),
                    available_range=opentime.TimeRange(
                        _rt(cut.start, rate), _rt(total, rate)
                    ),
                )
                src = _rt(start, rate)
            ref.name = PurePosixPath(path).name
            pull = pulls.get(event.index)
            track.append(
                otio.schema.Clip(
                    name=_name(pull.name if pull else event.name),
                    media_reference=ref,
                    source_range=opentime.TimeRange(src, _rt(n, rate)),
                    metadata=_clip_metadata(planned, event, pull),
                )
            )
        timeline.tracks.append(track)
    return timeline


def _exr_reference(
    pattern: str, frames: int, rate: float
) -> otio.schema.ImageSequenceReference:
    p = PurePosixPath(pattern)
    prefix, _, suffix = p.name.partition("####")
    return otio.schema.ImageSequenceReference(
        target_url_base=file_url(str(p.parent)).rstrip("/") + "/",
        name_prefix=prefix,
        name_suffix=suffix,
        start_frame=EXR_FIRST_FRAME,
        frame_step=1,
        rate=rate,
        frame_zero_padding=4,
        missing_frame_policy=otio.schema.ImageSequenceReference.MissingFramePolicy.error,
        available_range=opentime.TimeRange(
            _rt(EXR_FIRST_FRAME, rate), _rt(frames, rate)
        ),
    )


def _name(text: str) -> str:
    return text.replace("\0", "\\x00")  # OTIO's C++ strings end at a NUL


def _edl_text(planned: EditorialPlan, timeline: otio.schema.Timeline) -> str | None:
    cut = planned.cut
    fps = cut.rate.fps
    if cut.end >= frames_per_day(cut.rate):
        log.warning(
            "master %s reaches 24:00:00:00: no EDL (CMX 3600 is a 24-hour clock)",
            cut.name,
        )
        return None
    movie = timeline.tracks[0]
    single = otio.schema.Timeline(name=line_text(cut.name))
    track = copy.deepcopy(movie)
    track.insert(0, otio.schema.Gap(duration=_rt(cut.start, float(fps))))
    single.tracks.append(track)
    file_name = PurePosixPath(str(movie.metadata["hdrpipe"]["path"])).name
    reel = edl_reel(file_name)
    events: list[tuple[int, int, int, int]] = []
    for clip in track.find_clips():
        info = clip.metadata["hdrpipe"]
        clip.name = line_text(str(clip.name))
        clip.metadata["cmx_3600"] = {
            "reel": reel,
            "comments": [
                f"SOURCE FILE: {line_text(file_name)}",
                f"EVENT {info['event']}: {line_text(str(info['event_name']))}",
            ],
        }
        rec = round(clip.range_in_parent().start_time.value)
        n = round(clip.source_range.duration.value)
        events.append((rec, rec + n, rec, rec + n))
    try:
        text = otio.adapters.write_to_string(single, adapter_name="cmx_3600")
    except (otio.exceptions.OTIOError, ValueError, AttributeError) as err:
        raise HandoffError(f"{cut.name}: CMX 3600 EDL export failed: {err}") from err
    return edl_counting(text, events, cut.rate)


def _amfs(
    planned: EditorialPlan, aces: str, movie: Mapping[str, Any]
) -> Iterator[tuple[str, Any]]:
    """(file name, AMF tree) per event with a pull and display-referred movie."""
    first_frame = {s[2].index: s for s in segments(planned) if s[2] is not None}
    for out in display_outputs(movie):
        for pull in planned.pulls:
            event = pull.match.event
            if event.index not in first_frame:
                continue  # covered by an upper track: not in the master
            start = event.record_start - planned.cut.start
            doc = copy.deepcopy(dict(movie))
            doc["name"] = pull.name
            doc["outputs"] = [out]
            doc["color"] = dict(doc["color"])
            doc["color"]["look"] = (
                None
                if event.cdl is None
                else {
                    "kind": "cdl",
                    "name": pull.name,
                    "file": str(pull.look) if pull.look else None,
                    "cccid": pull.name,
                    "process_space": None,  # ACEScct, as the pull applied it
                    "cdl": event.cdl.to_dict(),
                    "aces_transform_id": None,
                }
            )
            tree = build_amf(doc, str(out["preset"]))
            root = tree.getroot()
            assert root is not None
            clip = root.find(f"{{{AMF_NS}}}clipId")
            assert clip is not None  # build_amf always writes one
            for child in list(clip)[1:]:
                clip.remove(child)
            # The file pattern with one idx character per digit (the padding).
            seq = _sub(clip, "sequence", aces)
            seq.set("idx", "#")
            seq.set("min", str(EXR_FIRST_FRAME + start))
            seq.set("max", str(EXR_FIRST_FRAME + start + event.record_frames - 1))
            ot = root.find(f"{{{AMF_NS}}}pipeline/{{{AMF_NS}}}outputTransform")
            assert ot is not None
            ot.set("applied", "false")
            yield f"{pull.name}_{out['preset']}.amf", tree


def _sub(parent: Any, tag: str, text: str) -> Any:
    import xml.etree.ElementTree as ET

    el = ET.SubElement(parent, f"{{{AMF_NS}}}{tag}")
    el.text = text
    return el


def master_handoff_names(name: str) -> tuple[str, ...]:
    """Names in OUTDIR the hand-off of a master named ``name`` writes under."""
    return (f"{name}.otio", f"{name}.edl", f"{name}_amf")


def write_master_handoff(
    planned: EditorialPlan,
    aces: str | os.PathLike[str],
    movie: Mapping[str, Any],
    *,
    overwrite: bool = False,
) -> dict[str, Path]:
    """Write the master's OTIO, EDL and AMFs (module docstring); kind → path.

    ``movie`` is the engine manifest of the master's movies. Keys: ``otio``,
    ``edl`` (unless the cut reaches 24:00:00:00) and ``amf:<shot>_<preset>``.

    Raises
    ------
    HandoffError
        A target exists (without ``overwrite``, before any file is written),
        is the edit itself, or a file cannot be written.
    """
    outdir = planned.outdir
    name = planned.master_name
    movies = {str(o["preset"]): str(o["path"]) for o in movie["outputs"]}
    timeline = build_master_timeline(planned, aces, movies)
    files: list[tuple[str, Path, Any]] = []
    try:
        files.append(("otio", output_path(outdir, f"{name}.otio"), timeline))
        edl = _edl_text(planned, timeline)
        if edl is not None:
            files.append(("edl", output_path(outdir, f"{name}.edl"), edl))
        for file_name, tree in _amfs(planned, str(aces), movie):
            path = output_path(outdir, f"{name}_amf", file_name)
            files.append((f"amf:{file_name[:-4]}", path, tree))
    except InputError as err:
        raise HandoffError(str(err)) from err
    edit = planned.cut.path.resolve()
    for _kind, path, _body in files:
        if path.resolve() == edit:
            raise HandoffError(f"{path}: is the edit being conformed; not replaced")
        if os.path.lexists(path) and not overwrite:
            raise HandoffError(
                f"hand-off file {path} exists (use --overwrite to replace it)"
            )
    written: dict[str, Path] = {}
    for kind, path, body in files:
        if kind == "otio":
            text = otio.adapters.write_to_string(body, adapter_name="otio_json")
            written[kind] = write_text(path, text, "OTIO export failed")
        elif kind == "edl":
            written[kind] = write_text(path, body, "CMX 3600 EDL export failed")
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_open(path) as fh:
                body.write(fh, encoding="UTF-8", xml_declaration=True)
            written[kind] = path
    return written
