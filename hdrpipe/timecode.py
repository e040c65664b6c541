"""Frame rates and SMPTE ST 12-1 timecode: the one parser and formatter of each.

Rates: :func:`parse_rate` turns user text into an exact
:class:`~hdrpipe.types.Rate`. The NTSC family is written in decimal shorthand by
everyone (``23.976``, ``29.97``, ``59.94``) but is exactly ``N * 1000/1001``;
SMPTE ST 12-1:2014 §4 defines drop-frame counting only for the 30000/1001 and
60000/1001 rates, so ``df`` is accepted for those two only.

Timecode: a :class:`Timecode` is a frame count since ``00:00:00:00`` at a rate
(whose ``drop_frame`` selects the counting). Every stage and writer passes these
values; text is parsed once where it enters (user option, EXR header, manifest)
with :meth:`Timecode.parse` and written with ``str()``. Drop-frame counting
(ST 12-1 §4.2.2: the labels ``;00``/``;01`` at 29.97, ``;00``-``;03`` at 59.94 are
skipped at the start of each minute except every tenth) is implemented here
and nowhere else.

Choices, where the standard leaves room:

* ``;`` before the frames at a non-drop rate is an input error
  (:meth:`Timecode.parse`); the lenient form (``strict=False``, for a label
  carried from an EXR header at another rate) reads it as non-drop.
* Labels wrap at 24 hours *of timecode* (``23:59:59:29`` + 1 →
  ``00:00:00:00``): at 29.97 non-drop that is 2 592 000 frames, not the
  2 589 408 frames of 24 hours of real time; the frame count itself never wraps.
* Timecode exists at 23.976, 24, 25, 29.97, 30, 47.952, 48, 50, 59.94 and 60
  fps (:data:`TIMECODE_RATES`). Above 30 fps the frames field counts 0 to
  timebase - 1 (``00:00:00:59`` at 60 fps); packing such a label into the
  30-frame field of ST 12-1 (frame pairs) is the EXR writer's business.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

from .errors import InputError
from .types import Rate

__all__ = [
    "parse_rate",
    "STANDARD_RATES",
    "NTSC_BASES",
    "DROP_FRAME_RATES",
    "TIMECODE_RATES",
    "ACCEPTED_FORMS",
    "Timecode",
    "frames_per_day",
]

#: Integer timebases whose 1000/1001 variant is recognised from decimal shorthand.
NTSC_BASES: tuple[int, ...] = (24, 30, 48, 60, 96, 120)

#: Rates for which drop-frame timecode exists (SMPTE ST 12-1:2014, §4.2.2 and §5.2.2).
DROP_FRAME_RATES: frozenset[Fraction] = frozenset(
    {Fraction(30000, 1001), Fraction(60000, 1001)}
)

#: Rates that have SMPTE timecode labels (ST 12-1 and its frame-pair extension
#: above 30 fps); others (12.5, 96, 120 fps...) have none.
TIMECODE_RATES: frozenset[Fraction] = frozenset(
    {
        Fraction(base * k, d)
        for base in (24, 30, 48, 60)
        for k, d in ((1, 1), (1000, 1001))
    }
    | {Fraction(25), Fraction(50)}
)

#: Human description used in error messages.
ACCEPTED_FORMS = (
    "an integer (24, 25, 30, 48, 50, 60), a decimal (23.976, 23.98, 29.97, 47.952, "
    "59.94), a fraction (24000/1001), optionally followed by 'df' (drop frame, "
    "29.97/59.94 only) or "
    "'ndf', e.g. '29.97df', '30000/1001df'"
)

# Decimal shorthand written with 2 or 3 decimals: 23.98 is 0.0040 away from 24000/1001.
_NTSC_TOLERANCE = Fraction(1, 100)
_MIN_FPS, _MAX_FPS = Fraction(1), Fraction(1000)

_RATE_RE = re.compile(
    r"""^\s*
    (?:(?P<num>\d+)\s*/\s*(?P<den>\d+)|(?P<dec>\d+(?:\.\d*)?|\.\d+))
    \s*(?:fps)?\s*
    (?P<df>df|ndf)?
    \s*$""",
    re.IGNORECASE | re.VERBOSE,
)

STANDARD_RATES: tuple[Rate, ...] = (
    Rate(Fraction(24000, 1001)),
    Rate(Fraction(24)),
    Rate(Fraction(25)),
    Rate(Fraction(30000, 1001)),
    Rate(Fraction(30000, 1001), drop_frame=True),
    Rate(Fraction(30)),
    Rate(Fraction(48000, 1001)),
    Rate(Fraction(48)),
    Rate(Fraction(50)),
    Rate(Fraction(60000, 1001)),
    Rate(Fraction(60000, 1001), drop_frame=True),
    Rate(Fraction(60)),
)


def _snap_ntsc(value: Fraction) -> Fraction:
    """Return ``N*1000/1001`` if a decimal is NTSC shorthand, else ``value``."""
    if value.denominator == 1:
        return value
    for base in NTSC_BASES:
        ntsc = Fraction(base * 1000, 1001)
        if abs(value - ntsc) < _NTSC_TOLERANCE:
            return ntsc
    return value


def _make(fps: Fraction, drop_frame: bool, original: object) -> Rate:
    if not _MIN_FPS <= fps <= _MAX_FPS:
        raise InputError(
            f"frame rate {original!r} is outside {_MIN_FPS}..{_MAX_FPS} fps; "
            f"accepted: {ACCEPTED_FORMS}"
        )
    if drop_frame and fps not in DROP_FRAME_RATES:
        raise InputError(
            f"frame rate {original!r}: drop-frame timecode exists only at "
            "30000/1001 (29.97) "
            f"and 60000/1001 (59.94) fps (SMPTE ST 12-1), not at {fps}"
        )
    return Rate(fps, drop_frame=drop_frame)


def parse_rate(value: str | int | float | Fraction | Rate) -> Rate:
    """Parse a frame rate into an exact :class:`Rate`.

    Decimal NTSC shorthand snaps to the exact rate (``23.976``/``23.98`` →
    24000/1001, ``29.97`` → 30000/1001, ``47.952`` → 48000/1001, ``59.94`` →
    60000/1001); other decimals are taken exactly (``12.5`` → 25/2). A ``df``
    suffix selects drop-frame timecode labels and is valid only for 29.97 and
    59.94. Accepted range: 1 to 1000 fps.

    Raises
    ------
    InputError
        For text that is not a rate, non-positive or non-finite values, or
        ``df`` on a rate without drop-frame timecode.

    Examples
    --------
    >>> str(parse_rate("23.976"))
    '24000/1001'
    >>> str(parse_rate("29.97df"))
    '30000/1001df'
    >>> parse_rate(25).fps
    Fraction(25, 1)
    """
    if isinstance(value, Rate):
        return _make(value.fps, value.drop_frame, value)
    if isinstance(value, bool):
        raise InputError(
            f"frame rate {value!r} is not a number; accepted: {ACCEPTED_FORMS}"
        )
    if isinstance(value, Fraction):
        return _make(value, False, value)
    if isinstance(value, int):
        return _make(Fraction(value), False, value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(
                f"frame rate {value!r} is not finite; accepted: {ACCEPTED_FORMS}"
            )
        # Through repr: 23.976 -> Fraction('23.976'), not the binary expansion.
        return _make(_snap_ntsc(Fraction(repr(value))), False, value)
    if isinstance(value, str):
        match = _RATE_RE.match(value)
        if match is None:
            raise InputError(
                f"cannot parse frame rate {value!r}; accepted: {ACCEPTED_FORMS}"
            )
        drop_frame = (match["df"] or "").lower() == "df"
        if match["dec"] is not None:
            fps = _snap_ntsc(Fraction(match["dec"]))
        else:
            den = int(match["den"])
            if den == 0:
                raise InputError(
                    f"frame rate {value!r} divides by zero; accepted: {ACCEPTED_FORMS}"
                )
            fps = Fraction(int(match["num"]), den)
        return _make(fps, drop_frame, value)
    raise InputError(
        f"frame rate must be text or a number, got {type(value).__name__}; "
        f"accepted: {ACCEPTED_FORMS}"
    )


_TC_RE = re.compile(r"^\s*(\d{1,2}):(\d{2}):(\d{2})([:;.,])(\d{2,3})\s*$")


def _check_rate(rate: Rate) -> None:
    if rate.drop_frame and rate.fps not in DROP_FRAME_RATES:
        raise InputError(
            "drop-frame timecode exists only at 30000/1001 and 60000/1001 fps, "
            f"not {rate.fps}"
        )


def _check_labels(rate: Rate) -> None:
    _check_rate(rate)
    if rate.fps not in TIMECODE_RATES:
        raise InputError(
            f"no SMPTE timecode at {rate} fps (timecode exists at "
            + ", ".join(str(Rate(r)) for r in sorted(TIMECODE_RATES))
            + " fps)"
        )


def _dropped(rate: Rate) -> int:
    """Labels skipped each minute (except every tenth) by drop-frame counting."""
    return 2 * rate.timebase // 30 if rate.drop_frame else 0


def frames_per_day(rate: Rate) -> int:
    """Frames from ``00:00:00:00`` to ``24:00:00:00`` in ``rate``'s counting.

    >>> frames_per_day(Rate(Fraction(30000, 1001), drop_frame=True))
    2589408
    >>> frames_per_day(Rate(Fraction(30000, 1001)))
    2592000
    """
    return rate.timebase * 86400 - _dropped(rate) * (24 * 60 - 24 * 6)


@dataclass(frozen=True, slots=True)
class Timecode:
    """A timecode: ``frames`` counted from ``00:00:00:00`` at ``rate``.

    ``rate.drop_frame`` (also :attr:`drop_frame`) selects drop-frame counting
    and labels (``;`` before the frames). The count is of real frames
    (``00:01:00;02`` at 29.97 DF is frame 1800), so :meth:`to_seconds` is exact
    real time; labels wrap at 24 hours of timecode, the count does not.

    Examples
    --------
    >>> str(Timecode(1800, Rate(Fraction(30000, 1001), drop_frame=True)))
    '00:01:00;02'
    >>> Timecode.parse("01:00:00:00", Rate(Fraction(24))).frames
    86400
    """

    frames: int
    rate: Rate

    def __post_init__(self) -> None:
        if isinstance(self.frames, bool) or not isinstance(self.frames, int):
            raise InputError(
                f"timecode frame count must be an integer, got {self.frames!r}"
            )
        if self.frames < 0:
            raise InputError(f"timecode frame count must be >= 0, got {self.frames}")
        _check_rate(self.rate)

    @property
    def drop_frame(self) -> bool:
        """True for drop-frame counting (29.97/59.94 DF)."""
        return self.rate.drop_frame

    @classmethod
    def parse(cls, text: str, rate: Rate, *, strict: bool = True) -> Timecode:
        """Parse ``HH:MM:SS:FF`` (``HH:MM:SS;FF`` for drop frame) at ``rate``.

        At a drop-frame rate any separator before the frames is read as drop
        frame; at a non-drop rate ``;`` is refused (it promises drop frame).
        Labels that drop-frame counting skips (``00:01:00;00`` at 29.97 DF)
        are refused, as are hours > 23, minutes or seconds > 59 and frames at
        or above the timebase.

        With ``strict=False`` (for a label carried over from a source at
        another rate, e.g. an EXR ``timeCode``), ``;`` is accepted at a
        non-drop rate and read as non-drop, and a skipped drop-frame label
        moves forward to the first label that exists (``00:01:00;00`` →
        ``00:01:00;02``), as a drop-frame counter would show it.

        Raises
        ------
        InputError
            Malformed or impossible timecode, or a rate SMPTE timecode does
            not support.
        """
        _check_labels(rate)
        match = _TC_RE.match(text) if isinstance(text, str) else None
        if match is None:
            raise InputError(f"timecode {text!r} is not HH:MM:SS:FF (or HH:MM:SS;FF)")
        sep = match[4]
        hh, mm, ss, ff = (int(match[i]) for i in (1, 2, 3, 5))
        if sep == ";" and not rate.drop_frame and strict:
            raise InputError(
                f"timecode {text!r}: ';' marks drop-frame timecode but rate {rate} "
                "is non-drop (use ':' or a drop-frame rate such as 29.97df)"
            )
        if hh > 23 or mm > 59 or ss > 59:
            raise InputError(
                f"timecode {text!r}: hours must be 0-23, minutes and seconds 0-59"
            )
        base = rate.timebase
        if ff >= base:
            raise InputError(
                f"timecode {text!r}: frame {ff} does not exist at {rate} fps "
                f"(frames are 0-{base - 1})"
            )
        dropped = _dropped(rate)
        if ss == 0 and mm % 10 and ff < dropped:
            if strict:
                raise InputError(
                    f"timecode {text!r} does not exist in drop-frame counting at "
                    f"{rate} (frame numbers 0-{dropped - 1} are skipped at the "
                    "start of each minute except every tenth)"
                )
            ff = dropped
        minutes = hh * 60 + mm
        labels = (minutes * 60 + ss) * base + ff
        return cls(labels - dropped * (minutes - minutes // 10), rate)

    def fields(self) -> tuple[int, int, int, int]:
        """Return the label's ``(hours, minutes, seconds, frames)``, 24-hour wrapped."""
        _check_labels(self.rate)
        base, dropped = self.rate.timebase, _dropped(self.rate)
        n = self.frames % frames_per_day(self.rate)
        if dropped:
            per_min = base * 60 - dropped
            per_10min = per_min * 10 + dropped
            tens, rest = divmod(n, per_10min)
            n += 9 * dropped * tens
            if rest > dropped:
                n += dropped * ((rest - dropped) // per_min)
        return n // (base * 3600), n // (base * 60) % 60, n // base % 60, n % base

    def __str__(self) -> str:
        """Format as ``HH:MM:SS:FF``; ``;`` before the frames when drop frame."""
        hh, mm, ss, ff = self.fields()
        sep = ";" if self.rate.drop_frame else ":"
        return f"{hh:02d}:{mm:02d}:{ss:02d}{sep}{ff:02d}"

    def __add__(self, n: int) -> Timecode:
        """Return the timecode ``n`` frames later (earlier for negative ``n``)."""
        if isinstance(n, bool) or not isinstance(n, int):
            return NotImplemented
        return Timecode(self.frames + n, self.rate)

    def __sub__(self, n: int) -> Timecode:
        """Return the timecode ``n`` frames earlier."""
        if isinstance(n, bool) or not isinstance(n, int):
            return NotImplemented
        return Timecode(self.frames - n, self.rate)

    def to_rate(self, rate: Rate) -> Timecode:
        """Return this timecode at ``rate``, keeping its label time.

        The frames part becomes ``round(FF × timebase_new / timebase_old)``, ties
        to the earlier frame; a result of a whole second carries into the
        seconds. At a drop-frame ``rate`` a label that drop-frame counting skips
        moves to the next one that exists.

        Examples
        --------
        >>> tc = Timecode.parse("01:00:00:29", Rate(Fraction(30)))
        >>> str(tc.to_rate(Rate(Fraction(24000, 1001))))
        '01:00:00:23'
        >>> str(Timecode.parse("01:00:00:00", Rate(Fraction(24))).to_rate(
        ...     Rate(Fraction(24000, 1001))))
        '01:00:00:00'
        """
        _check_labels(rate)
        hh, mm, ss, ff = self.fields()
        scaled = Fraction(ff * rate.timebase, self.rate.timebase)
        frames = math.ceil(scaled - Fraction(1, 2))  # nearest, ties to the earlier
        seconds = (hh * 3600 + mm * 60 + ss) + frames // rate.timebase
        frames %= rate.timebase
        seconds %= 24 * 3600
        text = (
            f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
            f"{';' if rate.drop_frame else ':'}{frames:02d}"
        )
        return Timecode.parse(text, rate, strict=False)

    def to_seconds(self) -> Fraction:
        """Return the exact real time since ``00:00:00:00``, ``frames / fps`` s."""
        return Fraction(self.frames) / self.rate.fps
