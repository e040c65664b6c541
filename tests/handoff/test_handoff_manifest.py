"""Manifest reader: accepted documents and the errors for malformed ones."""

from __future__ import annotations

import copy
import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from handoff_helpers import SAMPLE, two_shot_manifest

from hdrpipe.errors import HandoffError, InputError
from hdrpipe.handoff.manifest import (
    check_manifest,
    load_manifest,
    parse_rate,
    start_timecode,
)


def test_sample_loads(manifest: dict[str, Any]) -> None:
    doc = load_manifest(SAMPLE)
    assert doc == manifest
    assert doc is not manifest
    check_manifest(two_shot_manifest(manifest))


def _drop(doc: dict[str, Any], *keys: Any) -> None:
    target = doc
    for key in keys[:-1]:
        target = target[key]
    del target[keys[-1]]


def _set(doc: dict[str, Any], value: Any, *keys: Any) -> None:
    target = doc
    for key in keys[:-1]:
        target = target[key]
    target[keys[-1]] = value


BAD = [
    ("schema", lambda d: _set(d, "hdrpipe.manifest/2", "schema"), "schema"),
    ("rate", lambda d: _set(d, "0/1", "rate"), "rate"),
    ("rate-text", lambda d: _set(d, "fast", "rate"), "rate"),
    ("timecode", lambda d: _set(d, "1:00:00", "start_timecode"), "timecode"),
    ("tc-field", lambda d: _set(d, "01:00:00:24", "start_timecode"), "out of range"),
    ("no-shots", lambda d: _drop(d, "shots"), "shots"),
    ("shot-input", lambda d: _set(d, 3, "shots", 0, "input"), "input"),
    ("shot-gap", lambda d: _set(d, 5, "shots", 0, "record_first"), "record_first"),
    ("frames", lambda d: _set(d, 50, "frames"), "frames"),
    ("exr-first", lambda d: _set(d, None, "outputs", 2, "first_frame"), "first_frame"),
    ("bool-int", lambda d: _set(d, True, "frames"), "frames"),
    ("display-view", lambda d: _set(d, None, "outputs", 0, "view"), "display and view"),
    (
        "cdl",
        lambda d: _set(
            d,
            {"slope": [1, 1], "offset": [0, 0, 0], "power": [1, 1, 1]},
            "color",
            "look_cdl",
        ),
        "slope",
    ),
    ("width", lambda d: _set(d, 0, "raster", "width"), "width"),
]


@pytest.mark.parametrize(
    ("mutate", "match"), [(m, e) for _, m, e in BAD], ids=[i for i, _, _ in BAD]
)
def test_malformed_is_rejected(
    manifest: dict[str, Any], mutate: Any, match: str
) -> None:
    doc = copy.deepcopy(manifest)
    mutate(doc)
    with pytest.raises(HandoffError, match=match):
        check_manifest(doc)


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        load_manifest(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(HandoffError, match="not JSON"):
        load_manifest(bad)
    bad.write_text(json.dumps([1, 2]), encoding="utf-8")
    with pytest.raises(HandoffError, match="JSON object"):
        load_manifest(bad)


@pytest.mark.parametrize(
    ("tc", "rate", "drop", "frames"),
    [
        ("01:00:00:00", Fraction(24000, 1001), False, 86400),
        ("00:00:41:17", Fraction(24), False, 41 * 24 + 17),
        ("01:00:00:00", Fraction(25), False, 90000),
        # SMPTE ST 12-1 drop frame: 01:00:00;00 at 29.97 is 107892 frames
        ("01:00:00;00", Fraction(30000, 1001), True, 107892),
        ("00:01:00;02", Fraction(30000, 1001), True, 1800),
        ("00:10:00;00", Fraction(60000, 1001), True, 35964),
    ],
    ids=["23976", "24", "25", "2997df-hour", "2997df-minute", "5994df-10min"],
)
def test_start_timecode(tc: str, rate: Fraction, drop: bool, frames: int) -> None:
    doc = {"rate": f"{rate.numerator}/{rate.denominator}", "start_timecode": tc}
    start = start_timecode({**doc, "drop_frame": drop})
    assert (start.frames, start.drop_frame, str(start)) == (frames, drop, tc)
    if drop:  # ';' alone says drop frame
        assert start_timecode(doc).frames == frames
    # independent reference: OTIO's own timecode parser
    from opentimelineio import opentime

    assert opentime.from_timecode(tc, float(rate)).value == frames


def test_start_timecode_semicolon_at_non_drop_rate_refused() -> None:
    doc = {"rate": "24/1", "start_timecode": "00:00:59;23"}
    with pytest.raises(HandoffError, match="drop-frame"):
        start_timecode(doc)


def test_parse_rate_exact() -> None:
    assert parse_rate("24000/1001") == Fraction(24000, 1001)
    assert parse_rate("24/1") == 24
