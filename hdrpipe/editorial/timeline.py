"""Read an edit (EDL, OTIO, FCPXML, …) through OpenTimelineIO into a :class:`Cut`.

Every format goes through an OTIO adapter plugin, never a parser of our own:

* ``.edl`` — ``cmx_3600`` (otio-cmx3600-adapter). CMX 3600 carries no frame
  rate, so the caller passes it; ``*ASC_SOP``/``*ASC_SAT`` comments arrive as
  ``metadata["cdl"]``, ``M2`` speed changes as ``LinearTimeWarp`` and
  ``* FREEZE FRAME`` as ``FreezeFrame``.
* ``.otio`` / ``.otioz`` — OTIO's own formats; an ASC CDL is read from a
  clip's ``metadata["cdl"]`` in the cmx adapter's layout
  (``{"asc_sop": {"slope", "offset", "power"}, "asc_sat"}``).
* ``.fcpxml`` — ``fcpx_xml`` (otio-fcpx-xml-adapter 1.0). What its reader
  keeps and drops is in docs/editorial.md; in short it keeps clips, their
  record position (absolute sequence time, so the record start is the first
  clip's, tcStart included) and their source start, and drops transitions,
  ``timeMap`` retimes, reels and (FCPXML ≥ 1.9, ``media-rep``) source file
  names; FCPXML has no ASC CDL. Because a dropped retime would pull the wrong
  frames without a word, a ``timeMap`` in the file is refused (``force``:
  conformed at speed 1, noted); a dropped transition becomes a cut at the same
  record frames (noted). The file is only scanned for those element names
  (:func:`fcpxml_dropped`), never read as a timeline.
* ``.xml`` (Final Cut 7 / Premiere) — ``fcp_xml``, ``.aaf`` — ``AAF``: used when
  the adapter plugin is installed, else an :class:`~hdrpipe.errors.InputError`
  names the package to install.

Time model. A cut has one record rate; an event's record range is absolute
(record timecode frames at that rate, the timeline's start included). Its
source start is a timecode frame count at the event's source rate. OTIO's
convention for speed effects is kept: record frame ``k`` of an event shows
source frame ``source_start + floor(k × speed)`` (speed 1 normal, −1 reverse,
0 freeze). A dissolve between A and B needs A's media ``out_offset`` frames past
A's cut and B's media ``in_offset`` frames before it (OTIO ``Transition``).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path, PurePosixPath
from typing import Any

import opentimelineio as otio
from opentimelineio import opentime

from ..errors import InputError
from ..timecode import parse_rate
from ..types import Rate

__all__ = [
    "Cdl",
    "Event",
    "Transition",
    "Cut",
    "read_timeline",
    "fcpxml_dropped",
    "ADAPTERS",
]

log = logging.getLogger(__name__)

#: File suffix → (OTIO adapter name, the package that provides it).
ADAPTERS: Mapping[str, tuple[str, str]] = {
    ".edl": ("cmx_3600", "otio-cmx3600-adapter"),
    ".otio": ("otio_json", "opentimelineio"),
    ".otioz": ("otioz", "opentimelineio"),
    ".fcpxml": ("fcpx_xml", "otio-fcpx-xml-adapter"),
    ".xml": ("fcp_xml", "otio-fcp-adapter"),
    ".aaf": ("AAF", "otio-aaf-adapter"),
}

_FRAME_AND_EXT = re.compile(r"([._-]?(\d+|#+|@+|%0?\d*d))?(\.[A-Za-z0-9]+)?$")


@dataclass(frozen=True, slots=True)
class Cdl:
    """An ASC CDL v1.2 correction: slope, offset, power per channel; saturation."""

    slope: tuple[float, float, float] = (1.0, 1.0, 1.0)
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)
    power: tuple[float, float, float] = (1.0, 1.0, 1.0)
    saturation: float = 1.0

    def __post_init__(self) -> None:
        for name in ("slope", "offset", "power"):
            values = tuple(float(v) for v in getattr(self, name))
            if len(values) != 3 or not all(math.isfinite(v) for v in values):
                raise InputError(f"ASC CDL {name} must be 3 finite numbers: {values}")
            object.__setattr__(self, name, values)
        sat = float(self.saturation)
        if not math.isfinite(sat):
            raise InputError(f"ASC CDL saturation must be finite: {sat}")
        object.__setattr__(self, "saturation", sat)
        if any(v < 0 for v in self.slope + self.power) or sat < 0:
            raise InputError(
                f"ASC CDL slope, power and saturation must be >= 0: {self.to_dict()}"
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "slope": list(self.slope),
            "offset": list(self.offset),
            "power": list(self.power),
            "saturation": self.saturation,
        }

    @classmethod
    def from_metadata(cls, cdl: Mapping[str, Any]) -> Cdl:
        """From the cmx adapter's ``metadata["cdl"]`` layout."""
        try:
            sop = cdl.get("asc_sop") or {}
            return cls(
                slope=tuple(sop.get("slope", (1.0, 1.0, 1.0))),
                offset=tuple(sop.get("offset", (0.0, 0.0, 0.0))),
                power=tuple(sop.get("power", (1.0, 1.0, 1.0))),
                saturation=float(cdl.get("asc_sat", 1.0)),
            )
        except (TypeError, ValueError, AttributeError) as err:
            raise InputError(
                f"unreadable ASC CDL metadata {dict(cdl)!r}: {err}"
            ) from err


@dataclass(frozen=True, slots=True)
class Transition:
    """A transition between two events (``kind`` is OTIO's transition type)."""

    kind: str
    track: str
    before: int  # index of the outgoing event (0: none)
    after: int  # index of the incoming event (0: none)
    cut: int  # record frame of the cut point (absolute)
    in_offset: int  # record frames of the transition before the cut
    out_offset: int  # record frames after the cut


@dataclass(frozen=True, slots=True)
class Event:
    """One clip of the edit, in record order (``index`` from 1).

    ``source_start`` is the first source frame shown, as a timecode frame count
    at ``source_rate``; ``record_start`` the absolute record frame at the cut's
    rate. ``extend_before``/``extend_after`` are the record frames a dissolve
    shows of this event before its cut in and after its cut out.
    """

    index: int
    track: str
    name: str
    reel: str | None
    source_file: str | None
    source_rate: Rate
    source_start: int
    record_start: int
    record_frames: int
    speed: Fraction = Fraction(1)
    freeze: bool = False
    extend_before: int = 0
    extend_after: int = 0
    cdl: Cdl | None = None

    @property
    def record_end(self) -> int:
        """First record frame after the event (exclusive)."""
        return self.record_start + self.record_frames

    def source_offset(self, k: int) -> int:
        """Source offset shown at record frame ``k`` of the event (OTIO's rule)."""
        return 0 if self.freeze else math.floor(k * self.speed)

    @property
    def used_offsets(self) -> tuple[int, int]:
        """(first, last) source offsets the event shows, dissolves included."""
        ks = (-self.extend_before, self.record_frames - 1 + self.extend_after)
        offsets = [self.source_offset(k) for k in ks]
        return min(offsets), max(offsets)


@dataclass(frozen=True, slots=True)
class Cut:
    """An edit read from ``path``: events and transitions at record ``rate``."""

    path: Path
    name: str
    rate: Rate
    start: int  # record start frame (timecode frames at ``rate``)
    events: tuple[Event, ...]
    transitions: tuple[Transition, ...] = ()
    notes: tuple[str, ...] = ()  # what the adapter dropped, said in the manifest

    @property
    def end(self) -> int:
        return max((e.record_end for e in self.events), default=self.start)


def _frames(t: opentime.RationalTime, rate: Rate) -> int:
    """RationalTime → whole frames at ``rate`` (OTIO stores rates as doubles)."""
    value = t.rescaled_to(float(rate.fps)).value
    frames = int(round(value))
    if abs(value - frames) > 1e-3:
        raise InputError(f"time {t} is not on a frame boundary at {rate} fps")
    return frames


def _rate_of(t: opentime.RationalTime | None) -> Rate | None:
    if t is None or not t.rate or t.rate <= 0:
        return None
    return parse_rate(Fraction(t.rate).limit_denominator(1001))


def _source_file(clip: otio.schema.Clip) -> str | None:
    ref = clip.media_reference
    url = getattr(ref, "target_url", None)
    if url is None and getattr(ref, "target_url_base", None) is not None:
        url = str(ref.target_url_base) + str(getattr(ref, "name_prefix", "") or "")
    if not url:
        return None
    path = urllib.parse.unquote(urllib.parse.urlparse(str(url)).path or str(url))
    return PurePosixPath(path.replace("\\", "/")).name or None


def _speed(clip: otio.schema.Clip) -> tuple[Fraction, bool]:
    speed, freeze = Fraction(1), False
    for effect in clip.effects:
        if isinstance(effect, otio.schema.FreezeFrame):
            freeze = True
        elif isinstance(effect, otio.schema.LinearTimeWarp):
            speed *= Fraction(effect.time_scalar).limit_denominator(1000)
        elif isinstance(effect, otio.schema.TimeEffect):
            raise InputError(
                f"clip {clip.name!r}: time effect {effect.effect_name!r} is not "
                "supported (LinearTimeWarp and FreezeFrame are)"
            )
    return (Fraction(0) if freeze else speed), freeze


def _adapter(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in ADAPTERS:
        raise InputError(
            f"{path}: unknown edit format {suffix!r}; "
            f"expected one of {', '.join(ADAPTERS)}"
        )
    name, package = ADAPTERS[suffix]
    if name not in otio.adapters.available_adapter_names():
        raise InputError(
            f"{path}: reading {suffix} needs the OTIO adapter {name!r}, which is "
            f"not installed (pip install {package})"
        )
    return name


def fcpxml_dropped(path: Path) -> dict[str, int]:
    """Count the FCPXML elements the fcpx_xml adapter drops: transition, timeMap.

    A scan of element names (the adapter reads the timeline); an unreadable
    file is left to the adapter's own error.
    """
    import xml.etree.ElementTree as ET

    counts = {"transition": 0, "timeMap": 0}
    try:
        for _event, element in ET.iterparse(path, events=("start",)):
            if element.tag in counts:
                counts[element.tag] += 1
    except (ET.ParseError, OSError) as err:
        log.info("%s: not scanned for dropped elements: %s", path, err)
    return counts


def _fcpxml_notes(path: Path, force: bool) -> tuple[str, ...]:
    counts = fcpxml_dropped(path)
    notes = []
    if counts["timeMap"]:
        text = (
            f"{path}: {counts['timeMap']} retimed clip(s) (timeMap): the FCPXML "
            "adapter drops speed effects, so they would be pulled at speed 1"
        )
        if not force:
            raise InputError(
                f"{text}; export the cut as OTIO or EDL (M2), or give --force to "
                "conform them at speed 1"
            )
        log.warning("%s (--force)", text)
        notes.append(text + " (--force)")
    if counts["transition"]:
        text = (
            f"{path}: {counts['transition']} transition(s) dropped by the FCPXML "
            "adapter: made as cuts at the same record frames"
        )
        log.warning("%s", text)
        notes.append(text)
    return tuple(notes)


def read_timeline(
    path: str | os.PathLike[str],
    *,
    rate: str | int | Fraction | Rate | None = None,
    force: bool = False,
) -> Cut:
    """Read an edit into a :class:`Cut` through its OTIO adapter.

    Parameters
    ----------
    path
        ``.edl``, ``.otio``, ``.otioz``, ``.fcpxml``, ``.xml`` or ``.aaf``.
    rate
        Record rate of the cut. Required for a CMX 3600 EDL (the format has
        none); for other formats it overrides the rate stored in the file.

    Raises
    ------
    InputError
        Missing file, unknown format, adapter not installed, an EDL without a
        rate, a file the adapter cannot read, unsupported structures (nested
        stacks, time effects other than LinearTimeWarp/FreezeFrame).
    """
    p = Path(os.fspath(path)).expanduser().absolute()
    if not p.is_file():
        raise InputError(f"{p}: no such edit file")
    adapter = _adapter(p)
    given = parse_rate(rate) if rate is not None else None
    if adapter == "cmx_3600" and given is None:
        raise InputError(
            f"{p}: a CMX 3600 EDL carries no frame rate; give the cut's rate (--fps)"
        )
    kwargs: dict[str, Any] = {}
    if adapter == "cmx_3600" and given is not None:
        kwargs["rate"] = float(given.fps)
    try:
        result = otio.adapters.read_from_file(str(p), adapter_name=adapter, **kwargs)
    except Exception as err:  # adapter plugins raise anything; classify at the edge
        raise InputError(f"{p}: cannot read the edit ({adapter}): {err}") from err
    if isinstance(result, otio.schema.SerializableCollection):
        timelines = [t for t in result if isinstance(t, otio.schema.Timeline)]
        if len(timelines) != 1:
            raise InputError(f"{p}: holds {len(timelines)} timelines, expected one")
        result = timelines[0]
    if not isinstance(result, otio.schema.Timeline):
        raise InputError(f"{p}: not a timeline ({type(result).__name__})")
    cut = _cut(p, result, given)
    if adapter == "fcpx_xml":
        cut = dataclasses.replace(cut, notes=_fcpxml_notes(p, force))
    return cut


def _record_rate(timeline: otio.schema.Timeline, given: Rate | None) -> Rate:
    if given is not None:
        return given
    found = _rate_of(timeline.global_start_time)
    if found is None:
        for clip in timeline.find_clips():
            found = _rate_of(
                clip.source_range.start_time if clip.source_range else None
            )
            if found is not None:
                break
    if found is None:
        raise InputError(f"timeline {timeline.name!r}: no frame rate; give one (--fps)")
    return found


def _cut(path: Path, timeline: otio.schema.Timeline, given: Rate | None) -> Cut:
    rate = _record_rate(timeline, given)
    start = (
        _frames(timeline.global_start_time, rate)
        if timeline.global_start_time is not None
        else 0
    )
    events: list[Event] = []
    transitions: list[Transition] = []
    for t_index, track in enumerate(timeline.video_tracks()):
        track_name = str(track.name or f"V{t_index + 1}")
        if any(e.track == track_name for e in events):  # two tracks, one name
            track_name = f"{track_name}#{t_index + 1}"
        # The cmx adapter keeps the record timecode of the first event as a
        # negative track start; other adapters use global_start_time.
        shift = (
            -_frames(track.source_range.start_time, rate) if track.source_range else 0
        )
        pending: tuple[otio.schema.Transition, int] | None = None
        last_event = 0
        for item in track:
            if isinstance(item, otio.schema.Transition):
                pending = (item, last_event)
                continue
            if isinstance(item, otio.schema.Gap):
                last_event = 0
                continue
            if not isinstance(item, otio.schema.Clip):
                raise InputError(
                    f"{path}: track {track_name!r}: nested {type(item).__name__} "
                    f"{item.name!r} is not supported; flatten the edit first"
                )
            rng = item.range_in_parent()
            record_start = start + shift + _frames(rng.start_time, rate)
            record_frames = _frames(rng.duration, rate)
            if record_frames <= 0:
                log.info("%s: clip %r has no record frames; skipped", path, item.name)
                continue
            src = item.source_range or item.available_range()
            src_rate = _rate_of(src.start_time) or rate
            if abs(src.start_time.rate - float(rate.fps)) < 1e-6:
                src_rate = rate  # the same rate as the cut: keep its exact form
            speed, freeze = _speed(item)
            meta = item.metadata
            cmx = meta.get("cmx_3600") or {}
            reel = cmx.get("reel") if isinstance(cmx, Mapping) else None
            cdl_meta = meta.get("cdl")
            event = Event(
                index=len(events) + 1,
                track=track_name,
                name=str(item.name or ""),
                reel=str(reel) if reel else None,
                source_file=_source_file(item),
                source_rate=src_rate,
                source_start=_frames(src.start_time, src_rate),
                record_start=record_start,
                record_frames=record_frames,
                speed=speed,
                freeze=freeze,
                cdl=_cdl(path, item, cdl_meta),
            )
            if pending is not None:
                tr, before = pending
                in_off = _frames(tr.in_offset, rate)
                out_off = _frames(tr.out_offset, rate)
                transitions.append(
                    Transition(
                        kind=str(tr.transition_type),
                        track=track_name,
                        before=before,
                        after=event.index,
                        cut=record_start,
                        in_offset=in_off,
                        out_offset=out_off,
                    )
                )
                event = _with(event, extend_before=in_off)
                if before:
                    events[before - 1] = _with(events[before - 1], extend_after=out_off)
                pending = None
            events.append(event)
            last_event = event.index
        if pending is not None:
            tr, before = pending
            transitions.append(
                Transition(
                    kind=str(tr.transition_type),
                    track=track_name,
                    before=before,
                    after=0,
                    cut=events[before - 1].record_end if before else start,
                    in_offset=_frames(tr.in_offset, rate),
                    out_offset=_frames(tr.out_offset, rate),
                )
            )
            if before:
                events[before - 1] = _with(
                    events[before - 1], extend_after=_frames(tr.out_offset, rate)
                )
    if not events:
        raise InputError(f"{path}: the edit has no clip on a video track")
    if timeline.global_start_time is None:
        start = min(e.record_start for e in events)  # an EDL: its first record TC
    return Cut(
        path=path,
        name=str(timeline.name or path.stem),
        rate=rate,
        start=start,
        events=tuple(events),
        transitions=tuple(transitions),
    )


def _cdl(path: Path, clip: otio.schema.Clip, meta: object) -> Cdl | None:
    if meta is None:
        return None
    if not isinstance(meta, Mapping):
        raise InputError(f"{path}: clip {clip.name!r}: cdl metadata is not a mapping")
    try:
        return Cdl.from_metadata(meta)
    except InputError as err:
        raise InputError(f"{path}: clip {clip.name!r}: {err}") from err


def _with(event: Event, **changes: Any) -> Event:
    return dataclasses.replace(event, **changes)
