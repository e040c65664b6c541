"""Timecode: parsing, labels (DF vs published values, independent formula, OTIO),
24-hour wrap, round trips at every rate."""

from __future__ import annotations

from fractions import Fraction

import opentimelineio.opentime as otio_time
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hdrpipe.errors import InputError
from hdrpipe.timecode import Timecode, frames_per_day, parse_rate

DF30, DF60 = parse_rate("29.97df"), parse_rate("59.94df")
FRAMES_PER_DAY = {
    30: 2589408,
    60: 5178816,
}  # 24 h of DF labels = 24 * 107892 (30) frames


def df_label_reference(frame: int, base: int) -> str:
    """Drop-frame label, written here independently of OTIO (SMPTE ST 12-1 counting:
    drop 2 (30) or 4 (60) frame numbers each minute except minutes 0, 10, 20, ...)."""
    drop = 2 * base // 30
    per_10min = 600 * base - 9 * drop
    per_min = 60 * base - drop
    tens, rem = divmod(frame, per_10min)
    frame += 9 * drop * tens
    if rem > drop:
        frame += drop * ((rem - drop) // per_min)
    ff = frame % base
    ss = frame // base % 60
    mm = frame // (base * 60) % 60
    hh = frame // (base * 3600) % 24
    return f"{hh:02d}:{mm:02d}:{ss:02d};{ff:02d}"


# Published drop-frame landmarks (SMPTE ST 12-1 counting; e.g. Adobe/Avid DF tables).
PUBLISHED = [
    (DF30, 0, "00:00:00;00"),
    (DF30, 1799, "00:00:59;29"),
    (DF30, 1800, "00:01:00;02"),
    (DF30, 17982, "00:10:00;00"),
    (DF30, 107892, "01:00:00;00"),
    (DF60, 3600, "00:01:00;04"),
    (DF60, 35964, "00:10:00;00"),
    (DF60, 215784, "01:00:00;00"),
    (parse_rate("23.976"), 86400, "01:00:00:00"),
    (parse_rate("24"), 86400 + 23, "01:00:00:23"),
    (parse_rate("25"), 90000, "01:00:00:00"),
    (parse_rate("29.97"), 107892, "00:59:56:12"),
    (parse_rate("50"), 49, "00:00:00:49"),
]


@pytest.mark.parametrize(
    ("rate", "frames", "label"), PUBLISHED, ids=[f"{r}-{f}" for r, f, _ in PUBLISHED]
)
def test_published_labels(rate, frames, label) -> None:  # type: ignore[no-untyped-def]
    assert str(Timecode(frames, rate)) == label
    assert Timecode.parse(label, rate).frames == frames


@given(st.integers(0, FRAMES_PER_DAY[30] - 1))
def test_df30_matches_reference_and_otio(frames: int) -> None:
    label = str(Timecode(frames, DF30))
    assert label == df_label_reference(frames, 30)
    rate = 30000 / 1001
    assert label == otio_time.to_timecode(
        otio_time.RationalTime(frames, rate), rate, True
    )
    assert Timecode.parse(label, DF30).frames == frames


@given(st.integers(0, FRAMES_PER_DAY[60] - 1))
def test_df60_round_trip(frames: int) -> None:
    label = str(Timecode(frames, DF60))
    assert label == df_label_reference(frames, 60)
    assert Timecode.parse(label, DF60).frames == frames


@given(
    st.sampled_from(["23.976", "24", "25", "29.97", "30", "48", "50", "59.94", "60"]),
    st.integers(0, 10**6),
)
def test_ndf_round_trip(rate_text: str, frames: int) -> None:
    rate = parse_rate(rate_text)
    tc = Timecode(frames, rate)
    base = rate.timebase
    expected = (
        f"{frames // (base * 3600) % 24:02d}:{frames // (base * 60) % 60:02d}:"
        f"{frames // base % 60:02d}:{frames % base:02d}"
    )
    assert str(tc) == expected
    if frames < base * 86400:
        assert Timecode.parse(expected, rate) == tc


def test_add_and_seconds() -> None:
    start = Timecode.parse("01:00:00:00", parse_rate("23.976"))
    assert str(start + 24) == "01:00:01:00"
    assert str(start - 1) == "00:59:59:23"
    # Real time of 01:00:00:00 at 23.976 NDF is 86400 frames * 1001/24000 s.
    assert start.to_seconds() == Fraction(86400 * 1001, 24000)
    assert Timecode.parse("00:10:00;00", DF30).to_seconds() == Fraction(
        17982 * 1001, 30000
    )
    assert str(Timecode.parse("00:00:59;29", DF30) + 1) == "00:01:00;02"


def test_df_rate_accepts_colon_separator() -> None:
    assert Timecode.parse("00:01:00:02", DF30).frames == 1800


BAD = [
    ("00:01:00;00", DF30),  # skipped by drop-frame counting
    ("00:01:00;01", DF30),
    ("00:01:00;03", DF60),
    ("01:00:00;00", parse_rate("24")),  # ';' promises DF
    ("00:00:00:24", parse_rate("24")),
    ("00:00:00:30", DF30),
    ("00:00:60:00", parse_rate("25")),
    ("00:60:00:00", parse_rate("25")),
    ("24:00:00:00", parse_rate("25")),
    ("1:00:00", parse_rate("25")),
    ("aa:bb:cc:dd", parse_rate("25")),
    ("", parse_rate("25")),
    ("00:00:00:00", parse_rate("12.5")),  # no SMPTE timecode at 12.5 fps
]


@pytest.mark.parametrize(("text", "rate"), BAD, ids=[f"{t}@{r}" for t, r in BAD])
def test_parse_rejects(text: str, rate) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError):
        Timecode.parse(text, rate)


def test_constructor_rejects() -> None:
    with pytest.raises(InputError):
        Timecode(-1, parse_rate("24"))
    with pytest.raises(InputError):
        Timecode(0, parse_rate("24")) - 1
    from hdrpipe.types import Rate

    with pytest.raises(InputError):
        Timecode(0, Rate(Fraction(24), drop_frame=True))


def test_lenient_parse_for_carried_labels() -> None:
    # A DF-skipped label snaps forward to the first label that exists.
    assert str(Timecode.parse("00:01:00;00", DF30, strict=False)) == "00:01:00;02"
    assert str(Timecode.parse("00:01:00:01", DF60, strict=False)) == "00:01:00;04"
    assert str(Timecode.parse("00:10:00;00", DF30, strict=False)) == "00:10:00;00"
    assert Timecode.parse("01:00:00;00", parse_rate("24"), strict=False).frames == 86400
    with pytest.raises(InputError):  # still no frame 24 at 24 fps
        Timecode.parse("00:00:00:24", parse_rate("24"), strict=False)


# Label time kept across rates: FF rescaled to the new timebase, nearest frame,
# ties to the earlier one (worked by hand from the rule in hdrpipe/timecode.py).
TO_RATE = [
    ("01:00:00:29", "30", "23.976", "01:00:00:23"),  # 29 * 24/30 = 23.2
    ("01:00:00:00", "24", "23.976", "01:00:00:00"),  # pull-down keeps the label
    ("01:00:00:07", "23.976", "24", "01:00:00:07"),
    ("00:59:59:59", "60", "24", "01:00:00:00"),  # 23.6 -> 24 carries a second
    ("23:59:59:59", "60", "24", "00:00:00:00"),  # ... and wraps at 24 h
    ("01:00:00:01", "48", "24", "01:00:00:00"),  # 0.5: tie to the earlier frame
    ("01:00:00:03", "48", "24", "01:00:00:01"),  # 1.5: tie to the earlier frame
    ("01:00:00:29", "30", "25", "01:00:00:24"),  # 24.17
    ("00:10:00;00", "29.97df", "24", "00:10:00:00"),
    ("01:00:00:12", "24", "29.97df", "01:00:00;15"),
    ("00:01:00:00", "24", "29.97df", "00:01:00;02"),  # ;00 is skipped at minute 1
    ("00:01:00;02", "29.97df", "29.97", "00:01:00:02"),
]


@pytest.mark.parametrize(
    ("label", "source", "target", "expected"),
    TO_RATE,
    ids=[f"{a}@{b}->{c}" for a, b, c, _ in TO_RATE],
)
def test_to_rate_keeps_label_time(
    label: str, source: str, target: str, expected: str
) -> None:
    tc = Timecode.parse(label, parse_rate(source))
    out = tc.to_rate(parse_rate(target))
    assert out.rate == parse_rate(target)
    assert str(out) == expected


@given(st.integers(min_value=0, max_value=24 * 3600 * 24 - 1))
def test_to_rate_same_timebase_is_label_identity(frames: int) -> None:
    tc = Timecode(frames, parse_rate("24"))
    assert str(tc.to_rate(parse_rate("23.976"))) == str(tc)


# 24 hours of timecode, not of real time: at 29.97 non-drop the label reaches
# 24:00:00:00 after 30 * 86400 frames (OTIO's to_timecode wraps 2592 frames
# early, at 2589408, the drop-frame day).
DAY_WRAP = [
    (parse_rate("29.97"), 2591999, "23:59:59:29"),
    (parse_rate("29.97"), 2592000, "00:00:00:00"),
    (parse_rate("29.97"), 2589408, "23:58:33:18"),
    (DF30, 2589407, "23:59:59;29"),
    (DF30, 2589408, "00:00:00;00"),
    (DF60, 5178815, "23:59:59;59"),
    (parse_rate("23.976"), 2073599, "23:59:59:23"),
    (parse_rate("23.976"), 2073600, "00:00:00:00"),
    (parse_rate("59.94"), 5183999, "23:59:59:59"),
]


@pytest.mark.parametrize(
    ("rate", "frames", "label"), DAY_WRAP, ids=[f"{r}-{f}" for r, f, _ in DAY_WRAP]
)
def test_labels_wrap_at_24_hours_of_timecode(rate, frames, label) -> None:  # type: ignore[no-untyped-def]
    assert str(Timecode(frames, rate)) == label


def test_frames_per_day() -> None:
    assert frames_per_day(DF30) == 2589408 == FRAMES_PER_DAY[30]
    assert frames_per_day(DF60) == 5178816 == FRAMES_PER_DAY[60]
    assert frames_per_day(parse_rate("29.97")) == 30 * 86400
    assert frames_per_day(parse_rate("25")) == 25 * 86400


# ST 12-1: drop frame exists only at 30000/1001 and 60000/1001; elsewhere ';'
# is an input error (strict) and never makes the counting skip labels.
def test_semicolon_at_24_fps_is_not_drop_frame() -> None:
    rate = parse_rate("24")
    with pytest.raises(InputError, match="non-drop"):
        Timecode.parse("00:00:59;23", rate)
    carried = Timecode.parse("00:00:59;23", rate, strict=False)
    assert str(carried + 1) == "00:01:00:00"
    assert (carried + 1).frames == 60 * 24


ALL_RATES = [
    "23.976",
    "24",
    "25",
    "29.97",
    "29.97df",
    "30",
    "47.952",
    "48",
    "50",
    "59.94",
    "59.94df",
    "60",
]


@given(st.sampled_from(ALL_RATES), st.integers(0, 3 * 60 * 86400))
def test_round_trip_every_rate(rate_text: str, frames: int) -> None:
    rate = parse_rate(rate_text)
    tc = Timecode(frames, rate)
    label = str(tc)
    assert (";" in label) == rate.drop_frame
    back = Timecode.parse(label, rate)
    assert back.frames == frames % frames_per_day(rate)
    assert back.drop_frame == rate.drop_frame
    # consecutive frames have consecutive labels (no label used twice)
    assert str(tc + 1) != label


@given(st.sampled_from(ALL_RATES), st.integers(0, 10**6), st.integers(0, 10**5))
def test_add_is_frame_arithmetic(rate_text: str, frames: int, n: int) -> None:
    rate = parse_rate(rate_text)
    assert str(Timecode(frames, rate) + n) == str(Timecode(frames + n, rate))


def test_fields() -> None:
    assert Timecode(1800, DF30).fields() == (0, 1, 0, 2)
    assert Timecode(59, parse_rate("60")).fields() == (0, 0, 0, 59)


def test_module_doctests() -> None:
    import doctest

    import hdrpipe.timecode

    result = doctest.testmod(hdrpipe.timecode)
    assert result.failed == 0 and result.attempted > 0
