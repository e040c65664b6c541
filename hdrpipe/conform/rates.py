"""Frame rates: parse user text into exact :class:`~hdrpipe.types.Rate` values.

Rates are exact fractions (docs/design-notes.md, "Values"). The NTSC family is
written in decimal shorthand by everyone (``23.976``, ``29.97``, ``59.94``) but
is exactly ``N * 1000/1001``; SMPTE ST 12-1:2014 §4 defines drop-frame counting only for
the 30000/1001 and 60000/1001 rates, so ``df`` is accepted for those two only.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

from ..errors import InputError
from ..types import Rate

__all__ = [
    "parse_rate",
    "STANDARD_RATES",
    "NTSC_BASES",
    "DROP_FRAME_RATES",
    "ACCEPTED_FORMS",
]

#: Integer timebases whose 1000/1001 variant is recognised from decimal shorthand.
NTSC_BASES: tuple[int, ...] = (24, 30, 48, 60, 96, 120)

#: Rates for which drop-frame timecode exists (SMPTE ST 12-1:2014, §4.2.2 and §5.2.2).
DROP_FRAME_RATES: frozenset[Fraction] = frozenset(
    {Fraction(30000, 1001), Fraction(60000, 1001)}
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
