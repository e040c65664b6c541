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
Exports go through the adapter plugins only: ``cmx_3600`` (one video track per
EDL, so the EDL carries one deliverable, record timecode from the start
timecode) and ``fcpx_xml`` (movie deliverables only: OTIO 0.18's FCPXML
adapter fails on ``ImageSequenceReference``).
"""

from __future__ import annotations

import copy
import logging
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path, PurePosixPath
from typing import Any

import opentimelineio as otio
from opentimelineio import opentime

from ..errors import HandoffError
from ..outputs import atomic_write
from .manifest import as_manifest, parse_rate, timecode_to_frames

__all__ = [
    "build_timeline",
    "write_otio",
    "write_edl",
    "write_fcpxml",
    "PLATES_TRACK",
    "file_url",
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
    start_frames = timecode_to_frames(doc["start_timecode"], rate_q, drop)
    start = opentime.RationalTime(start_frames, rate)
    meta = {
        "rate": _rate_text(rate_q),
        "drop_frame": drop,
        "start_timecode": doc["start_timecode"],
        "frames": int(doc["frames"]),
    }
    timeline = otio.schema.Timeline(
        name=str(doc["name"]),
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
                name=str(shot["name"]),
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
            name=str(shot["name"]),
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
    out = Path(path)
    try:
        text = otio.adapters.write_to_string(timeline, adapter_name=adapter)
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(out, text, overwrite=overwrite)
    except (otio.exceptions.OTIOError, OSError, ValueError, AttributeError) as err:
        raise HandoffError(f"{out}: {what} export failed: {err}") from err
    return out


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

    Record timecode starts at the job's start timecode. Reading it back needs the
    rate (CMX 3600 has none): ``read_from_file(p, rate=float(Fraction(rate)))``.
    """
    timeline = build_timeline(manifest)
    try:
        track = _pick_track(timeline, deliverable, ("video",))
    except HandoffError:
        track = _pick_track(timeline, deliverable, ("video", "exr"))
    return _atomic_write(
        _single_track(timeline, track, lead_gap=True),
        path,
        "cmx_3600",
        "CMX 3600 EDL",
        overwrite,
    )


@contextmanager
def _fcpx_rates(rate: Fraction) -> Iterator[None]:
    """Teach the fcpx_xml adapter the exact frame duration of ``rate``.

    otio-fcpx-xml-adapter 1.0 looks frame durations up in a table keyed by
    ``int(rate)`` or the rounded float (23.98, 29.97 …); an exact 24000/1001
    double misses it and the adapter writes ``frameDuration=""``. The entry is
    added for the call and removed afterwards.
    """
    # OTIO loads plugin modules itself (by file path): patch the instance it uses.
    table = otio.adapters.from_name("fcpx_xml").module().FRAMERATE_FRAMEDURATION
    key = float(rate)
    added = key not in table
    if added:
        table[key] = f"{rate.denominator}/{rate.numerator}s"
    try:
        yield
    finally:
        if added:
            table.pop(key, None)


def write_fcpxml(
    manifest: Mapping[str, Any] | str | os.PathLike[str],
    path: str | os.PathLike[str],
    deliverable: str | None = None,
    *,
    overwrite: bool = True,
) -> Path:
    """Write FCPXML (1.8, via the ``fcpx_xml`` adapter) of one movie deliverable."""
    doc = as_manifest(manifest)
    timeline = build_timeline(doc)
    track = _pick_track(timeline, deliverable, ("video",))
    single = _single_track(timeline, track, lead_gap=False)
    with _fcpx_rates(parse_rate(doc["rate"])):
        return _atomic_write(single, path, "fcpx_xml", "FCPXML", overwrite)
