"""OpenTimelineIO timeline of a job and its editorial exports (.otio, CMX 3600, FCPXML).

Timeline layout (OTIO 0.18):

* ``global_start_time`` = the job's start timecode at the record rate;
* one video track per deliverable, one clip per shot; each clip references the
  deliverable (``ExternalReference`` for movies, ``ImageSequenceReference`` for
  EXR sequences) with a source range in the deliverable's own time: movies start
  at the start timecode, EXR sequences at their ``first_frame``;
* a last track "source plates" with the shots' source frames
  (``ImageSequenceReference`` of the input pattern, source range from
  ``source_first``); when a shot was retimed, a ``LinearTimeWarp`` records the
  source/record frame ratio.

OTIO stores rates as doubles; the exact rational rate is kept in
``metadata["hdrpipe"]["rate"]`` ("24000/1001") on the timeline and every clip.
The CMX 3600 export goes through the ``cmx_3600`` adapter (one video track per
EDL, so the EDL carries one deliverable, record timecode from the start
timecode), with reels, comments, ``FCM:`` and timecode labels prepared and
checked here (see :func:`write_edl`). FCPXML is written by
:mod:`hdrpipe.handoff.fcpxml`: otio-fcpx-xml-adapter 1.0 writes FCPXML 1.8 with
the media outside the clip window, no ``tcStart``, an empty format and uid, and
fails on a ``"`` in a clip name (it builds XPath predicates from names).
"""

from __future__ import annotations

import copy
import logging
import os
import re
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

import opentimelineio as otio
from opentimelineio import opentime

from ..errors import HandoffError
from ..timecode import Timecode, frames_per_day
from ..types import Rate
from .manifest import as_manifest, look_spec, parse_rate, start_timecode
from .text import line_text, write_text

__all__ = [
    "build_timeline",
    "write_otio",
    "write_edl",
    "write_fcpxml",
    "PLATES_TRACK",
    "file_url",
    "edl_counting",
    "edl_reel",
]

log = logging.getLogger(__name__)

PLATES_TRACK = "source plates"
_HASHES = re.compile(r"(#+|%0?(\d*)d|@+)")


def file_url(path: str) -> str:
    """Return a ``file://`` URL (RFC 8089, percent-encoded) for an absolute path.

    Relative paths are returned unchanged (OTIO accepts them as target URLs).
    """
    p = Path(path)
    return p.as_uri() if p.is_absolute() else path


def _sequence_parts(pattern: str) -> tuple[str, str, str, int]:
    """Split ``/dir/name.####.exr`` into (dir URL base, prefix, suffix, padding)."""
    p = PurePosixPath(pattern)
    matches = list(_HASHES.finditer(p.name))
    if not matches:
        raise HandoffError(
            f"{pattern}: no frame placeholder (####, %04d, @) in file name"
        )
    m = matches[-1]
    token = m.group(1)
    if token.startswith("%"):
        pad = int(m.group(2) or 0)
    else:
        pad = len(token) if token[0] == "#" else len(token)
    prefix, suffix = p.name[: m.start()], p.name[m.end() :]
    base = file_url(str(p.parent)) if p.is_absolute() else str(p.parent)
    return base.rstrip("/") + "/", prefix, suffix, pad


def _image_sequence(
    pattern: str,
    first: int,
    frames: int,
    rate: float,
    start: opentime.RationalTime | None = None,
) -> otio.schema.ImageSequenceReference:
    base, prefix, suffix, pad = _sequence_parts(pattern)
    start = start if start is not None else opentime.RationalTime(first, rate)
    return otio.schema.ImageSequenceReference(
        target_url_base=base,
        name_prefix=prefix,
        name_suffix=suffix,
        start_frame=first,
        frame_step=1,
        rate=rate,
        frame_zero_padding=pad,
        missing_frame_policy=otio.schema.ImageSequenceReference.MissingFramePolicy.error,
        available_range=opentime.TimeRange(start, opentime.RationalTime(frames, rate)),
    )


def _name(text: object) -> str:
    # OTIO keeps names in C++ strings, which end at a NUL: write it as text.
    return str(text).replace("\0", "\\x00")


def _rate_text(rate: Fraction) -> str:
    return f"{rate.numerator}/{rate.denominator}"


def build_timeline(
    manifest: Mapping[str, Any] | str | os.PathLike[str],
) -> otio.schema.Timeline:
    """Return the job's OTIO timeline (see the module docstring for the layout)."""
    doc = as_manifest(manifest)
    rate_q = parse_rate(doc["rate"])
    rate = float(rate_q)
    drop = bool(doc.get("drop_frame", False))
    start_frames = start_timecode(doc).frames
    start = opentime.RationalTime(start_frames, rate)
    meta = {
        "rate": _rate_text(rate_q),
        "drop_frame": drop,
        "start_timecode": doc["start_timecode"],
        "frames": int(doc["frames"]),
        # the look record (kind, name, file, cccid, process space, CDL values)
        "look": look_spec(doc["color"]),
    }
    timeline = otio.schema.Timeline(
        name=_name(doc["name"]),
        global_start_time=start,
        metadata={"hdrpipe": dict(meta, schema=doc["schema"])},
    )
    shots = doc["shots"]
    for out in doc["outputs"]:
        track = otio.schema.Track(
            name=str(out["preset"]),
            kind=otio.schema.TrackKind.Video,
            metadata={
                "hdrpipe": {
                    "preset": out["preset"],
                    "kind": out["kind"],
                    "path": out["path"],
                }
            },
        )
        frames = int(out["frames"])
        for shot in shots:
            n = int(shot["record_frames"])
            if out["kind"] == "exr":
                first = int(out["first_frame"])
                ref: otio.core.MediaReference = _image_sequence(
                    out["path"], first, frames, rate
                )
                src_start = opentime.RationalTime(
                    first + int(shot["record_first"]), rate
                )
            else:
                ref = otio.schema.ExternalReference(
                    target_url=file_url(out["path"]),
                    available_range=opentime.TimeRange(
                        start, opentime.RationalTime(frames, rate)
                    ),
                )
                src_start = start + opentime.RationalTime(
                    int(shot["record_first"]), rate
                )
            ref.name = PurePosixPath(out["path"]).name
            clip = otio.schema.Clip(
                name=_name(shot["name"]),
                media_reference=ref,
                source_range=opentime.TimeRange(
                    src_start, opentime.RationalTime(n, rate)
                ),
                metadata={
                    "hdrpipe": {
                        "rate": _rate_text(rate_q),
                        "preset": out["preset"],
                        "record_in": shot.get("record_in"),
                        "record_out": shot.get("record_out"),
                    }
                },
            )
            track.append(clip)
        timeline.tracks.append(track)

    plates = otio.schema.Track(name=PLATES_TRACK, kind=otio.schema.TrackKind.Video)
    for shot in shots:
        src = doc["inputs"][shot["input"]]
        n = int(shot["record_frames"])
        first, last = int(src["first"]), int(src["last"])
        ref = _image_sequence(src["path"], first, last - first + 1, rate)
        ref.name = str(src.get("name") or PurePosixPath(src["path"]).name)
        src_count = int(shot["source_last"]) - int(shot["source_first"]) + 1
        clip = otio.schema.Clip(
            name=_name(shot["name"]),
            media_reference=ref,
            source_range=opentime.TimeRange(
                opentime.RationalTime(int(shot["source_first"]), rate),
                opentime.RationalTime(n, rate),
            ),
            metadata={
                "hdrpipe": {
                    "rate": _rate_text(rate_q),
                    "source_rate": str(src.get("rate") or doc["rate"]),
                    "source_timecode": src.get("time_code"),
                    "source_first": int(shot["source_first"]),
                    "source_last": int(shot["source_last"]),
                }
            },
        )
        if src_count != n:
            clip.effects.append(
                otio.schema.LinearTimeWarp(
                    name="retime",
                    time_scalar=src_count / n,
                    metadata={"hdrpipe": {"retime": doc.get("retime")}},
                )
            )
        plates.append(clip)
    timeline.tracks.append(plates)
    return timeline


def _atomic_write(
    timeline: otio.schema.Timeline,
    path: str | os.PathLike[str],
    adapter: str,
    what: str,
    overwrite: bool = True,
) -> Path:
    try:
        text = otio.adapters.write_to_string(timeline, adapter_name=adapter)
    except (otio.exceptions.OTIOError, ValueError, AttributeError) as err:
        raise HandoffError(f"{path}: {what} export failed: {err}") from err
    return write_text(path, text, f"{what} export failed", overwrite=overwrite)


def write_otio(
    manifest: Mapping[str, Any] | str | os.PathLike[str],
    path: str | os.PathLike[str],
    *,
    overwrite: bool = True,
) -> Path:
    """Write the job timeline as native ``.otio`` JSON."""
    return _atomic_write(build_timeline(manifest), path, "otio_json", "OTIO", overwrite)


def _pick_track(
    timeline: otio.schema.Timeline, preset: str | None, kinds: tuple[str, ...]
) -> otio.schema.Track:
    for track in timeline.tracks:
        info = track.metadata.get("hdrpipe", {})
        if track.name == PLATES_TRACK or info.get("kind") not in kinds:
            continue
        if preset is None or track.name == preset:
            return track
    raise HandoffError(
        f"timeline {timeline.name!r}: no {'/'.join(kinds)} deliverable"
        + (f" {preset!r}" if preset else "")
    )


def _single_track(
    timeline: otio.schema.Timeline, track: otio.schema.Track, lead_gap: bool
) -> otio.schema.Timeline:
    single = otio.schema.Timeline(
        name=timeline.name,
        global_start_time=timeline.global_start_time,
        metadata=copy.deepcopy(timeline.metadata),
    )
    new = copy.deepcopy(track)
    if lead_gap and timeline.global_start_time is not None:
        # cmx_3600 writes record timecode from the track's own time, ignoring
        # global_start_time: a leading gap puts the first event at the start TC
        # (gaps are written as missing record time, not as events).
        start = timeline.global_start_time
        if start.value > 0:
            new.insert(0, otio.schema.Gap(duration=start))
    single.tracks.append(new)
    return single


def write_edl(
    manifest: Mapping[str, Any] | str | os.PathLike[str],
    path: str | os.PathLike[str],
    deliverable: str | None = None,
    *,
    overwrite: bool = True,
) -> Path:
    """Write a CMX 3600 EDL of one deliverable (default: the first movie).

    Record timecode starts at the job's start timecode; ``FCM:`` states drop or
    non-drop frame and every timecode is written in that counting (the adapter
    alone writes drop-frame labels at 29.97 whatever the job says). The reel is
    the deliverable's file name reduced to the 8 characters ``[A-Z0-9]`` of the
    CMX 3600 convention (``AX`` when nothing is left); the full names follow as
    comments: ``* FROM CLIP NAME:`` (shot), ``* FROM CLIP:`` (file URL) and
    ``* SOURCE FILE:`` (file name), each one line with control characters and
    edge blanks escaped (:func:`~hdrpipe.handoff.text.line_text`). A look with
    ASC CDL values is written as ``*ASC_SOP``/``*ASC_SAT`` on every event. Reading
    it back needs the rate (CMX 3600 has none):
    ``read_from_file(p, rate=float(Fraction(rate)))``.

    A record range that reaches 24:00:00:00 is refused (:class:`HandoffError`):
    CMX 3600 timecode is a 24-hour clock, so an out point past midnight would be
    written as a small timecode and read back as a negative duration, and
    editors and conform tools do not wrap an event across midnight. Start the
    job earlier (e.g. 00:00:00:00 or 01:00:00:00) to get an EDL; the OTIO and
    FCPXML hand-offs have no 24-hour limit.
    """
    doc = as_manifest(manifest)
    tc = start_timecode(doc)
    end = tc.frames + int(doc["frames"])
    if end >= frames_per_day(tc.rate):
        raise HandoffError(
            f"EDL: job {line_text(str(doc['name']))!r} records from "
            f"{tc} for {doc['frames']} frames, past midnight: CMX 3600 timecode "
            "cannot reach or cross 24:00:00:00 (start the job earlier for an EDL)"
        )
    timeline = build_timeline(doc)
    try:
        track = _pick_track(timeline, deliverable, ("video",))
    except HandoffError:
        track = _pick_track(timeline, deliverable, ("video", "exr"))
    single = _single_track(timeline, track, lead_gap=True)
    single.name = line_text(str(doc["name"]))
    file_name = PurePosixPath(str(track.metadata["hdrpipe"]["path"])).name
    reel = _reel(file_name)
    events: list[tuple[int, int, int, int]] = []
    clips = list(single.tracks[0].find_clips())
    look = timeline.metadata["hdrpipe"].get("look") or {}
    cdl = look.get("cdl")
    for clip, shot in zip(clips, doc["shots"], strict=True):
        # From the manifest: OTIO's C++ strings end a name at a NUL.
        clip.name = line_text(str(shot["name"]))
        clip.metadata["cmx_3600"] = {
            "reel": reel,
            "comments": [f"SOURCE FILE: {line_text(file_name)}"],
        }
        if cdl:
            # ASC CDL in the EDL (*ASC_SOP / *ASC_SAT, ASC CDL v1.2 EDL
            # convention, written by the adapter); other looks have no EDL form
            # and travel in the OTIO, AMF and Nuke hand-offs.
            clip.metadata["cdl"] = {
                "asc_sop": {k: list(cdl[k]) for k in ("slope", "offset", "power")},
                "asc_sat": float(cdl.get("saturation", 1.0)),
            }
        ref = clip.media_reference
        if isinstance(ref, otio.schema.ImageSequenceReference):
            # The adapter joins base + prefix + [range] + suffix into one URL.
            ref.name_prefix = quote(ref.name_prefix)
            ref.name_suffix = quote(ref.name_suffix)
        src = round(clip.source_range.start_time.value)
        rec = tc.frames + int(shot["record_first"])
        n = int(shot["record_frames"])
        events.append((src, src + n, rec, rec + n))
    try:
        text = otio.adapters.write_to_string(single, adapter_name="cmx_3600")
    except (otio.exceptions.OTIOError, ValueError, AttributeError) as err:
        raise HandoffError(f"{path}: CMX 3600 EDL export failed: {err}") from err
    return write_text(
        path,
        _edl_counting(text, events, tc.rate),
        "CMX 3600 EDL export failed",
        overwrite=overwrite,
    )


_EDL_EVENT = re.compile(
    r"^(\d{3,}\s.*?)" + r"\s(\d{2}:\d{2}:\d{2}[:;]\d{2})" * 4 + r"\s*$"
)


def _reel(file_name: str) -> str:
    """CMX 3600 reel: up to 8 characters ``[A-Z0-9]`` of the file's stem."""
    stem = PurePosixPath(file_name).stem
    return re.sub(r"[^A-Z0-9]", "", stem.upper())[:8] or "AX"


def _edl_counting(
    text: str, events: list[tuple[int, int, int, int]], rate: Rate
) -> str:
    """Add ``FCM:`` and write each event's four timecodes in the job's counting."""
    out: list[str] = []
    fcm = "FCM: DROP FRAME" if rate.drop_frame else "FCM: NON-DROP FRAME"
    pending = iter(events)
    for line in text.splitlines():
        m = _EDL_EVENT.match(line)
        if m:
            try:
                values = next(pending)
            except StopIteration as err:
                raise HandoffError("EDL: more events than shots") from err
            tcs = " ".join(str(Timecode(v, rate)) for v in values)
            line = f"{m.group(1)} {tcs}"
        out.append(line)
        if line.startswith("TITLE:") and len(out) == 1:
            out.append(fcm)
    if not out or not out[0].startswith("TITLE:"):
        out.insert(0, fcm)
    return "\n".join(out) + "\n"


#: Public names of the EDL helpers, for the editorial master's hand-off.
edl_counting = _edl_counting
edl_reel = _reel


def write_fcpxml(
    manifest: Mapping[str, Any] | str | os.PathLike[str],
    path: str | os.PathLike[str],
    deliverable: str | None = None,
    *,
    overwrite: bool = True,
) -> Path:
    """Write FCPXML 1.10 of one movie deliverable (:mod:`hdrpipe.handoff.fcpxml`)."""
    from .fcpxml import write_fcpxml as _write

    return _write(manifest, path, deliverable, overwrite=overwrite)
