"""parse_rate: accepted/rejected forms, NTSC snapping, drop-frame validity."""

from __future__ import annotations

from fractions import Fraction

import pytest

from hdrpipe.errors import InputError
from hdrpipe.timecode import STANDARD_RATES, parse_rate
from hdrpipe.types import Rate

NTSC24, NTSC30, NTSC48, NTSC60 = (Fraction(n * 1000, 1001) for n in (24, 30, 48, 60))

ACCEPTED = [
    ("24", Fraction(24), False),
    ("23.976", NTSC24, False),
    ("23.98", NTSC24, False),
    ("24000/1001", NTSC24, False),
    ("29.97", NTSC30, False),
    ("29.97df", NTSC30, True),
    ("29.97DF", NTSC30, True),
    ("29.97 ndf", NTSC30, False),
    ("30000/1001df", NTSC30, True),
    ("47.952", NTSC48, False),
    ("59.94", NTSC60, False),
    ("59.94df", NTSC60, True),
    ("60000/1001", NTSC60, False),
    ("25", Fraction(25), False),
    ("48", Fraction(48), False),
    ("50", Fraction(50), False),
    ("60", Fraction(60), False),
    (" 24fps ", Fraction(24), False),
    ("12.5", Fraction(25, 2), False),
    ("25.0", Fraction(25), False),
    (24, Fraction(24), False),
    (23.976, NTSC24, False),
    (29.97, NTSC30, False),
    (25.0, Fraction(25), False),
    (Fraction(24000, 1001), NTSC24, False),
    (Rate(NTSC30, drop_frame=True), NTSC30, True),
]


@pytest.mark.parametrize(
    ("value", "fps", "df"), ACCEPTED, ids=[repr(a[0]) for a in ACCEPTED]
)
def test_parse_rate_accepts(value: object, fps: Fraction, df: bool) -> None:
    rate = parse_rate(value)  # type: ignore[arg-type]
    assert rate.fps == fps
    assert isinstance(rate.fps, Fraction)
    assert rate.drop_frame is df


REJECTED = [
    "",
    "abc",
    "0",
    "-24",
    "24/0",
    "0/1001",
    "nan",
    "inf",
    "1e3",
    "24df",
    "25df",
    "23.976df",
    "30df",
    "60df",
    "24 frames",
    "24/",
    "2000",
    0,
    -1,
    True,
    float("nan"),
    float("inf"),
    None,
    [24],
]


@pytest.mark.parametrize("value", REJECTED, ids=[repr(v) for v in REJECTED])
def test_parse_rate_rejects(value: object) -> None:
    with pytest.raises(InputError):
        parse_rate(value)  # type: ignore[arg-type]


def test_error_lists_accepted_forms() -> None:
    with pytest.raises(InputError, match="24000/1001"):
        parse_rate("fast")


def test_ntsc_values_are_exact() -> None:
    # 23.976 "means" 24/1.001: the exact value is not the decimal.
    assert parse_rate("23.976").fps != Fraction("23.976")
    assert parse_rate("23.976").fps * 1001 == 24000


def test_standard_rates() -> None:
    fps = {(r.fps, r.drop_frame) for r in STANDARD_RATES}
    for text in (
        "23.976",
        "24",
        "25",
        "29.97",
        "29.97df",
        "30",
        "48",
        "50",
        "59.94",
        "59.94df",
        "60",
    ):
        r = parse_rate(text)
        assert (r.fps, r.drop_frame) in fps
    assert all(parse_rate(r) == r for r in STANDARD_RATES)
