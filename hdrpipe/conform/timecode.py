"""SMPTE timecode labels for frame counts, drop-frame included.

The label arithmetic (non-drop and drop-frame counting of SMPTE ST 12-1:2014)
is OpenTimelineIO's ``opentime``; this module only validates text, keeps the
frame count exact and ties it to a :class:`~hdrpipe.types.Rate`.

A :class:`Timecode` is a frame count since ``00:00:00:00`` at its rate. For a
drop-frame rate the count is of real frames (``00:01:00;02`` at 29.97 DF is
frame 1800), so :meth:`Timecode.to_seconds` is exact real time. Labels wrap at
24 hours as timecode does (ST 12-1 §4); the frame count itself does not.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

import opentimelineio.opentime as otio_time

from ..errors import InputError
from ..types import Rate
from .rates import DROP_FRAME_RATES

__all__ = ["Timecode"]

_TC_RE = re.compile(r"^\s*(\d{1,2}):(\d{2}):(\d{2})([:;.,])(\d{2,3})\s*$")


def _check_rate(rate: Rate) -> None:
    if rate.drop_frame and rate.fps not in DROP_FRAME_RATES:
        raise InputError(
            "drop-frame timecode exists only at 30000/1001 and 60000/1001 fps, "
            f"not {rate.fps}"
        )


@dataclass(frozen=True, slots=True)
class Timecode:
    """A timecode: ``frames`` counted from ``00:00:00:00`` at ``rate``.

    ``rate.drop_frame`` selects drop-frame labels (``;`` before the frames).

    Examples
    --------
    >>> from fractions import Fraction
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
        non-drop rate and a skipped drop-frame label moves forward to the
        first label that exists (``00:01:00;00`` → ``00:01:00;02``), as a
        drop-frame counter would show it.

        Raises
        ------
        InputError
            Malformed or impossible timecode, or a rate SMPTE timecode does
            not support.
        """
        _check_rate(rate)
        match = _TC_RE.match(text) if isinstance(text, str) else None
        if match is None:
            raise InputError(f"timecode {text!r} is not HH:MM:SS:FF (or HH:MM:SS;FF)")
        hh, mm, ss, sep, ff = match.groups()
        if sep == ";" and not rate.drop_frame and strict:
            raise InputError(
                f"timecode {text!r}: ';' marks drop-frame timecode but rate {rate} "
                "is non-drop "
                f"(use ':' or a drop-frame rate such as 29.97df)"
            )
        if int(hh) > 23 or int(mm) > 59 or int(ss) > 59:
            raise InputError(
                f"timecode {text!r}: hours must be 0-23, minutes and seconds 0-59"
            )
        if int(ff) >= rate.timebase:
            raise InputError(
                f"timecode {text!r}: frame {int(ff)} does not exist at {rate} fps "
                f"(frames are 0-{rate.timebase - 1})"
            )
        dropped = 2 * rate.timebase // 30  # labels skipped per minute (ST 12-1)
        if not strict and rate.drop_frame and ss == "00" and int(mm) % 10:
            ff = f"{max(int(ff), dropped):02d}"
        canonical = (
            f"{int(hh):02d}:{mm}:{ss}{';' if rate.drop_frame else ':'}{int(ff):02d}"
        )
        try:
            value = otio_time.from_timecode(canonical, float(rate.fps))
        except ValueError as err:
            raise InputError(f"timecode {text!r} at {rate} fps: {err}") from err
        result = cls(round(value.value), rate)
        if str(result) != canonical:
            # OTIO maps skipped drop-frame labels onto neighbours; refuse them instead.
            raise InputError(
                f"timecode {text!r} does not exist in drop-frame counting at {rate} "
                f"(frame numbers 0-{dropped - 1} are skipped at "
                "the start "
                f"of each minute except every tenth)"
            )
        return result

    def __str__(self) -> str:
        """Format as ``HH:MM:SS:FF``; ``;`` before the frames when drop frame."""
        try:
            return str(
                otio_time.to_timecode(
                    otio_time.RationalTime(self.frames, float(self.rate.fps)),
                    float(self.rate.fps),
                    self.rate.drop_frame,
                )
            )
        except ValueError as err:
            raise InputError(f"no SMPTE timecode at {self.rate} fps: {err}") from err

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
        """Return this timecode at ``rate``, keeping its label time (module doc).

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
        _check_rate(rate)
        label = str(self)
        match = _TC_RE.match(label)
        assert match is not None  # str() always writes HH:MM:SS:FF
        hh, mm, ss, ff = (int(match[i]) for i in (1, 2, 3, 5))
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
