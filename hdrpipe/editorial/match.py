"""Find each event's master: scan media roots for EXR/DPX sequences and match events.

Index. Every EXR or DPX sequence under the ``--media`` roots (recursively,
hidden folders skipped, symlinked folders not followed) is indexed by its base
name (``A010C001`` of ``A010C001.####.exr`` or ``.####.dpx``), by the name of
its folder, and by its source timecode range: the timecode of its first frame
(EXR ``timeCode``; DPX television-header time code) at its rate (EXR
``framesPerSecond``, DPX film/television frame rate, else 24 fps), plus its
length.

Precedence. An event is looked up by, in order, its clip name, its reel name,
then the stem of its source file name (``A010C001.mov`` → ``A010C001``); each
matches a sequence's base name or folder name exactly. The first key that finds
any sequence decides; its candidates are narrowed to those whose timecode range
holds the event's used source range (dissolve extensions included). When no
key finds a sequence, every sequence whose timecode range holds the range is a
candidate (a match "by timecode"). Result: ``ok`` (one candidate), ``ambiguous``
(several), ``out-of-range`` (names match but no candidate holds the range), or
``unmatched`` (nothing).

Timecode across rates: a source timecode at the edit's rate is moved to the
media rate by the ratio of the timecode bases (24 ↔ 48: ×2; 23.976 ↔ 24: ×1,
the same labels).

Input colour space (:attr:`Media.colorspace`), per sequence, first that applies:
the EXR ``chromaticities`` of its first frame when they name a known space
(AP0 → ACES2065-1, AP1 → ACEScg, Rec.709 → "Linear Rec.709 (sRGB)", Rec.2020,
P3-D65, XYZ: the names :func:`hdrpipe.color.source_colorspace` uses), else the
``--input-space`` of its media root (:func:`parse_input_spaces`), else none (the
engine assumes ACES2065-1 and says so). A root's ``--input-space`` that
contradicts a recognised header is logged and the header kept: the header
describes the file; a job-wide ``--source-colorspace`` still overrides both
(it is passed to every pull, as in a plain conform). The pull converts the
source to its deliverables' spaces through OCIO like any conform.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

from ..color import colorspace_name
from ..color import source_colorspace as colorspace_of
from ..errors import InputError
from ..sequence import Sequence as ImageSequence
from ..sequence import open_sequence
from ..timecode import Timecode, parse_rate
from ..types import FrameRange, Rate
from ..validation.checks import identify_chromaticities
from .timeline import Cut, Event

__all__ = [
    "Media",
    "Match",
    "InputSpaces",
    "parse_input_spaces",
    "MatchError",
    "Status",
    "scan_media",
    "match_events",
    "check_matches",
    "match_table",
    "DEFAULT_HANDLES",
]

log = logging.getLogger(__name__)

#: Frames of handle on each side of a pull (a common VFX pull default).
DEFAULT_HANDLES = 8
DEFAULT_MEDIA_RATE = Rate(Fraction(24))
Status = Literal["ok", "unmatched", "ambiguous", "out-of-range"]
_NUMBERED = re.compile(
    r"^(?P<prefix>.*?)(?P<digits>\d+)(?P<ext>\.(exr|dpx))$", re.IGNORECASE
)
_STEM = re.compile(r"([._-]?(\d+|#+|@+|%0?\d*d))?(\.[A-Za-z0-9]+)?$")
#: Media root (absolute) → OCIO colour space of its sequences without a
#: recognised ``chromaticities`` header.
InputSpaces = Mapping[Path, str]


class MatchError(InputError):
    """Events without exactly one master holding their range (exit 2)."""

    def __init__(self, message: str, matches: Sequence[Match]) -> None:
        super().__init__(message)
        self.matches = tuple(matches)


@dataclass(frozen=True)
class Media:
    """One EXR or DPX sequence under a media root, with its source timecode."""

    sequence: ImageSequence
    rate: Rate
    tc_first: int | None  # timecode frames (at ``rate``) of the first frame
    declared: str | None = None  # chromaticities named (identify_chromaticities)
    input_space: str | None = None  # --input-space of its media root

    @property
    def name(self) -> str:
        return self.sequence.name

    @property
    def colorspace(self) -> str | None:
        """The OCIO colour space its pull reads it in (None: the engine's default)."""
        return self.colorspace_and_origin[0]

    @property
    def colorspace_and_origin(self) -> tuple[str | None, str]:
        """(colour space, "chromaticities" | "--input-space" | "assumed")."""
        if self.declared not in (None, "unknown"):
            return colorspace_of(self.declared)[0], "chromaticities"
        if self.input_space is not None:
            return self.input_space, "--input-space"
        return None, "assumed"

    @property
    def folder(self) -> str:
        return Path(self.sequence.pattern).parent.name

    @property
    def first(self) -> int:
        return self.sequence.frame_range.first

    @property
    def last(self) -> int:
        return self.sequence.frame_range.last

    def tc_of(self, frame: int) -> Timecode | None:
        if self.tc_first is None:
            return None
        return Timecode(self.tc_first + frame - self.first, self.rate)


@dataclass(frozen=True)
class Match:
    """One row of the match table."""

    event: Event
    status: Status
    media: Media | None = None
    by: str | None = None
    used: FrameRange | None = None  # media frames the event shows
    pull: FrameRange | None = None  # used ± handles, clipped to the media
    handles_clipped: bool = False
    candidates: tuple[str, ...] = ()
    message: str = ""

    def to_dict(self, rate: Rate) -> dict[str, Any]:
        ev = self.event
        media = self.media
        return {
            "event": ev.index,
            "name": ev.name,
            "reel": ev.reel,
            "source_file": ev.source_file,
            "track": ev.track,
            "record_in": str(Timecode(ev.record_start, rate)),
            "record_out": str(Timecode(ev.record_end, rate)),
            "speed": str(ev.speed),
            "status": self.status,
            "by": self.by,
            "media": media.sequence.pattern if media else None,
            "used": [self.used.first, self.used.last] if self.used else None,
            "pull": [self.pull.first, self.pull.last] if self.pull else None,
            "source_in": _tc_text(media, self.used.first if self.used else None),
            "source_out": _tc_text(media, self.used.last if self.used else None),
            "pull_in": _tc_text(media, self.pull.first if self.pull else None),
            "handles_clipped": self.handles_clipped,
            "candidates": list(self.candidates),
            "cdl": ev.cdl.to_dict() if ev.cdl else None,
            "input_space": media.colorspace if media else None,
            "input_space_from": media.colorspace_and_origin[1] if media else None,
            "message": self.message,
        }


def _tc_text(media: Media | None, frame: int | None) -> str | None:
    if media is None or frame is None:
        return None
    tc = media.tc_of(frame)
    return str(tc) if tc is not None else None


def _sequences_in(folder: Path, files: Iterable[str]) -> list[ImageSequence]:
    groups: dict[tuple[str, int, str], None] = {}
    for name in sorted(files):
        if name.startswith(".") or ".partial." in name:
            continue
        m = _NUMBERED.match(name)
        if m:
            groups[(m.group("prefix"), len(m.group("digits")), m.group("ext"))] = None
    found = []
    for prefix, pad, ext in groups:
        try:
            found.append(open_sequence(folder / f"{prefix}{'#' * pad}{ext}"))
        except InputError as err:
            log.warning("media %s: skipped %s####%s: %s", folder, prefix, ext, err)
    return found


def _media(seq: ImageSequence, input_space: str | None) -> Media:
    try:
        header = seq.header(seq.frames[0])
    except InputError as err:
        log.warning("media %s: first frame unreadable, no timecode: %s", seq, err)
        return Media(seq, DEFAULT_MEDIA_RATE, None, input_space=input_space)
    declared = identify_chromaticities(header.chromaticities)
    if input_space is not None and declared not in (None, "unknown"):
        named = colorspace_of(declared)[0]
        if named != input_space:
            log.warning(
                "media %s: its chromaticities name %s (%s); --input-space %r of "
                "its root is not used for it",
                seq.pattern,
                declared,
                named,
                input_space,
            )
    rate = (
        parse_rate(Fraction(header.frames_per_second))
        if header.frames_per_second
        else DEFAULT_MEDIA_RATE
    )
    tc = None
    if header.time_code:
        try:
            first_tc = Timecode.parse(header.time_code, rate, strict=False)
            tc = first_tc.frames - (seq.frames[0] - seq.frame_range.first)
        except InputError as err:
            log.warning("media %s: timeCode ignored: %s", seq, err)
    return Media(
        seq,
        rate,
        tc if tc is None or tc >= 0 else None,
        declared=declared,
        input_space=input_space,
    )


def parse_input_spaces(
    values: Sequence[str],
    roots: Sequence[str | os.PathLike[str]],
    *,
    config: str | os.PathLike[str] | None = None,
) -> dict[Path, str]:
    """Map ``--input-space`` values to media roots; check each space exists.

    ``SPACE`` applies to every root; ``DIR=SPACE`` (split at the last ``=``)
    to the root ``DIR`` (one of ``roots``, compared after resolution) and wins
    over a plain ``SPACE``. Spaces are OCIO colour space names or aliases of
    the job's config (e.g. ``ACEScg``, ``"Linear Rec.709 (sRGB)"``, ``lin_rec709``),
    returned as the config's canonical name.

    Raises
    ------
    InputError
        ``DIR`` is not a ``--media`` root, a root is given twice, two plain
        spaces, or a name the config does not have.
    """
    if not values:
        return {}
    by_root = {Path(os.fspath(r)).expanduser().resolve(): r for r in roots}

    def canonical(space: str) -> str:
        return colorspace_name(space, config, what="--input-space")

    default: str | None = None
    given: dict[Path, str] = {}
    for value in values:
        folder, sep, space = value.rpartition("=")
        if not sep:
            if default is not None:
                raise InputError(
                    f"--input-space {default!r} and {value!r}: one space for every "
                    "root, or DIR=SPACE per root"
                )
            default = canonical(value)
            continue
        root = Path(folder).expanduser().resolve()
        if root not in by_root:
            raise InputError(
                f"--input-space {value!r}: {folder!r} is not one of the --media "
                f"folders ({', '.join(str(r) for r in roots)})"
            )
        if root in given:
            raise InputError(f"--input-space: {folder!r} is given twice")
        given[root] = canonical(space)
    if default is not None:
        for root in by_root:
            given.setdefault(root, default)
    return given


def scan_media(
    roots: Sequence[str | os.PathLike[str]],
    input_spaces: InputSpaces | None = None,
    *,
    source_colorspace: str | None = None,
) -> tuple[Media, ...]:
    """Index every EXR and DPX sequence under ``roots`` (see the module docstring).

    ``input_spaces`` maps a root (resolved) to the colour space of its
    sequences without recognised chromaticities (:func:`parse_input_spaces`);
    ``source_colorspace`` is the job's ``--source-colorspace`` (it reads every
    sequence, DPX included).

    Raises
    ------
    InputError
        No root, a root that is not a directory, no EXR or DPX sequence at all,
        or DPX sequences under a root without an input space.
    """
    if not roots:
        raise InputError("editorial conform needs at least one --media folder")
    found: dict[str, Media] = {}
    spaces = input_spaces or {}
    for root in roots:
        base = Path(os.fspath(root)).expanduser().absolute()
        if not base.is_dir():
            raise InputError(f"--media {base}: not a directory")
        space = spaces.get(base.resolve())
        dpx: list[str] = []
        for folder, dirs, files in os.walk(base):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for seq in _sequences_in(Path(folder), files):
                if seq.is_dpx:
                    dpx.append(seq.pattern)
                found.setdefault(seq.pattern, _media(seq, space))
        if dpx and space is None and source_colorspace is None:
            # DPX code values are display or log signal with no primaries in the
            # header: reading them as ACES2065-1 would be wrong on every pixel.
            listed = ", ".join(dpx[:3]) + (
                f" (+{len(dpx) - 3} more)" if len(dpx) > 3 else ""
            )
            raise InputError(
                f"--media {base}: DPX sequences need an input colour space (a DPX "
                f"header has no chromaticities): {listed}; pass --input-space "
                f"{base}=SPACE (an OCIO colour space, e.g. ACEScct)"
            )
    if not found:
        raise InputError(
            f"no EXR or DPX sequence under {', '.join(str(r) for r in roots)}"
        )
    return tuple(found[k] for k in sorted(found))


def _stem(file_name: str | None) -> str | None:
    if not file_name:
        return None
    return _STEM.sub("", file_name) or None


def _media_range(event: Event, media: Media) -> tuple[int, int] | None:
    """Media frames of the event's used source range, or None without timecode."""
    if media.tc_first is None:
        return None
    lo, hi = event.used_offsets
    scale = Fraction(media.rate.timebase, event.source_rate.timebase)
    tc_lo = math.floor((event.source_start + lo) * scale)
    tc_hi = math.ceil((event.source_start + hi + 1) * scale) - 1
    return media.first + tc_lo - media.tc_first, media.first + tc_hi - media.tc_first


def _holds(event: Event, media: Media) -> bool:
    rng = _media_range(event, media)
    return rng is not None and media.first <= rng[0] and rng[1] <= media.last


def _ok(event: Event, media: Media, by: str, handles: int) -> Match:
    rng = _media_range(event, media)
    assert rng is not None  # _holds checked it
    want = (rng[0] - handles, rng[1] + handles)
    pull = (max(want[0], media.first), min(want[1], media.last))
    clipped = pull != want
    message = ""
    if clipped:
        message = (
            f"handles clipped at the media bounds {media.first}-{media.last} "
            f"(asked {want[0]}-{want[1]})"
        )
    return Match(
        event,
        "ok",
        media,
        by,
        FrameRange(*rng),
        FrameRange(*pull),
        clipped,
        (media.sequence.pattern,),
        message,
    )


def _match_one(event: Event, index: Sequence[Media], handles: int) -> Match:
    keys = (
        ("clip name", event.name),
        ("reel", event.reel),
        ("source file", _stem(event.source_file)),
    )
    for by, value in keys:
        if not value:
            continue
        named = [m for m in index if value in (m.name, m.folder)]
        if not named:
            continue
        holding = [m for m in named if _holds(event, m)]
        patterns = tuple(m.sequence.pattern for m in (holding or named))
        if len(holding) == 1:
            return _ok(event, holding[0], by, handles)
        if len(holding) > 1:
            return Match(
                event,
                "ambiguous",
                by=by,
                candidates=patterns,
                message=f"{by} {value!r} matches {len(holding)} sequences holding "
                f"its range: {', '.join(patterns)}",
            )
        # Names match, the range does not: say which part is missing.
        detail = []
        for m in named:
            rng = _media_range(event, m)
            if rng is None:
                detail.append(f"{m.sequence.pattern} has no timecode")
            else:
                detail.append(
                    f"{m.sequence.pattern} holds {m.first}-{m.last}, the event "
                    f"needs {rng[0]}-{rng[1]}"
                )
        best = named[0] if len(named) == 1 else None
        partial = None
        if best is not None and (rng := _media_range(event, best)) is not None:
            lo, hi = max(rng[0], best.first), min(rng[1], best.last)
            partial = FrameRange(lo, hi) if lo <= hi else None
        return Match(
            event,
            "out-of-range",
            best,
            by,
            partial,
            partial,
            candidates=patterns,
            message=f"source range outside the media: {'; '.join(detail)}",
        )
    by_tc = [m for m in index if _holds(event, m)]
    if len(by_tc) == 1:
        return _ok(event, by_tc[0], "timecode", handles)
    if by_tc:
        patterns = tuple(m.sequence.pattern for m in by_tc)
        return Match(
            event,
            "ambiguous",
            by="timecode",
            candidates=patterns,
            message=f"no name matches; {len(by_tc)} sequences hold its source "
            f"timecode: {', '.join(patterns)}",
        )
    return Match(
        event,
        "unmatched",
        message=f"no sequence named {event.name!r}"
        + (f" or reel {event.reel!r}" if event.reel else "")
        + (f" or file {_stem(event.source_file)!r}" if event.source_file else "")
        + ", and none holds its source timecode",
    )


def match_events(
    cut: Cut, media: Sequence[Media], *, handles: int = DEFAULT_HANDLES
) -> tuple[Match, ...]:
    """Match every event of ``cut`` to ``media`` (see the module docstring)."""
    if isinstance(handles, bool) or not isinstance(handles, int) or handles < 0:
        raise InputError(f"handles must be a whole number >= 0, got {handles!r}")
    return tuple(_match_one(event, media, handles) for event in cut.events)


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in text)


def match_table(matches: Sequence[Match], rate: Rate) -> list[str]:
    """The match table as text lines (one header line, one line per event)."""
    lines = [
        "event  name                 record in    record out   status        "
        "source in    source out   pull (frames)  media"
    ]
    for m in matches:
        d = m.to_dict(rate)
        # Names come from the edit: no control character reaches the terminal.
        d = {k: _printable(v) if isinstance(v, str) else v for k, v in d.items()}
        pull = f"{d['pull'][0]}-{d['pull'][1]}" if d["pull"] else "-"
        lines.append(
            f"{d['event']:>5}  {d['name'][:20]:20} {d['record_in']:12} "
            f"{d['record_out']:12} {d['status']:13} {d['source_in'] or '-':12} "
            f"{d['source_out'] or '-':12} {pull:14} {d['media'] or '-'}"
            + (f"  ({d['message']})" if d["message"] else "")
        )
    return lines


def check_matches(matches: Sequence[Match], *, force: bool = False) -> None:
    """Refuse a cut with events that are not ``ok``, listing every one.

    With ``force`` the bad events are logged (the caller fills them with black
    and lists them in its manifest).

    Raises
    ------
    MatchError
        Some event is unmatched, ambiguous or out of range and ``force`` is off.
    """
    bad = [m for m in matches if m.status != "ok"]
    if not bad:
        return
    lines = [
        f"event {m.event.index} ({m.event.name}): {m.status}: {m.message}" for m in bad
    ]
    if force:
        for line in lines:
            log.warning("%s (--force: filled with black)", line)
        return
    raise MatchError(
        f"{len(bad)} of {len(matches)} events have no single master "
        "(--force fills them with black):\n  " + "\n  ".join(lines),
        matches,
    )
