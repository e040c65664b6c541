"""Each broken fixture variant fails the right check, on the right frames, with
counts checked against numpy on the decoded pixels."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from fixtures.generate import BROKEN_FRAME_OFFSET
from hdrpipe.exr import read_pixels
from hdrpipe.sequence import open_sequence
from hdrpipe.validation import CHECK_IDS, HEADER_CHECKS, PROFILES, Validator, validate

N = 8  # frames per plate, as in conftest.py

FIRST = 1001
BROKEN = FIRST + BROKEN_FRAME_OFFSET
Plate = Callable[[str | None], Path]


def _by_id(report) -> dict:  # type: ignore[no-untyped-def]
    return {c.id: c for c in report.checks}


def test_clean_plate_passes_ray3(plate: Plate) -> None:
    report = validate(plate(None), "ray3")
    assert report.status == "pass", [(c.id, c.message) for c in report.checks]
    assert [c.id for c in report.checks] == [
        i for i in CHECK_IDS if PROFILES["ray3"].rule(i) is not None
    ]
    doc = report.to_dict()
    assert doc["frames"] == {
        "first": FIRST,
        "last": FIRST + N - 1,
        "count": N,
        "missing": [],
    }
    checks = _by_id(report)
    assert checks["chromaticities"].details["declared"] == "AP0"
    assert checks["bit_depth"].details["effective_bits"] == 16
    assert checks["bit_depth"].details["storage"] == {
        "R": "half",
        "G": "half",
        "B": "half",
    }
    assert checks["nonfinite"].details == {"nan": 0, "inf": 0, "by_frame": {}}
    assert checks["negative"].details["count"] == 0


def test_missing_frame(plate: Plate) -> None:
    missing = FIRST + N // 3
    report = validate(plate("missing"))
    c = _by_id(report)["continuity"]
    assert (c.status, c.frames) == ("fail", (missing,))
    assert report.status == "fail"
    assert report.frames == {
        "first": FIRST,
        "last": FIRST + N - 1,
        "count": N - 1,
        "missing": [missing],
    }
    assert c.message == f"1 frame missing: {missing}"


def test_nonfinite_counts_equal_numpy(plate: Plate) -> None:
    pattern = plate("nonfinite")
    report = validate(pattern)
    c = _by_id(report)["nonfinite"]
    assert (c.status, c.frames) == ("fail", (BROKEN,))
    px = read_pixels(open_sequence(pattern).path(BROKEN), channels="RGBA")
    assert c.details["nan"] == int(np.isnan(px).sum()) > 0
    assert c.details["inf"] == int(np.isinf(px).sum()) > 0
    # Non-finite pixels are not counted as negative or out of gamut.
    assert _by_id(report)["negative"].details["count"] == 0
    assert _by_id(report)["gamut"].details["pixels_outside_ap1"] == 0


def test_truncated_frame_is_a_readable_failure(plate: Plate) -> None:
    report = validate(plate("truncated"))
    c = _by_id(report)["readable"]
    assert (c.status, c.frames) == ("fail", (BROKEN,))
    assert str(BROKEN) in c.details["errors"]
    # The other frames were still judged.
    assert _by_id(report)["resolution"].status == "pass"
    assert report.frames["count"] == N


def test_wrong_size_frame(plate: Plate) -> None:
    c = _by_id(validate(plate("wrong_size")))["resolution"]
    assert (c.status, c.frames) == ("fail", (BROKEN,))
    assert c.details["sizes"] == {"64x36": N - 1, "32x18": 1}


def test_float_frame(plate: Plate) -> None:
    c = _by_id(validate(plate("float")))["pixel_type"]
    assert (c.status, c.frames) == ("fail", (BROKEN,))
    assert "float" in c.message
    # nuke-comp accepts float
    assert _by_id(validate(plate("float"), "nuke-comp"))["pixel_type"].status == "pass"


def test_rec709_chromaticities(plate: Plate) -> None:
    c = _by_id(validate(plate("rec709_chroma")))["chromaticities"]
    assert c.status == "fail"
    assert c.details["declared"] == "Rec.709"
    assert c.frames == tuple(range(FIRST, FIRST + N))


def test_absent_chromaticities_warns_in_ray3_fails_in_aces(plate: Plate) -> None:
    ray3 = _by_id(validate(plate("no_chroma"), "ray3"))["chromaticities"]
    assert ray3.status == "warn" and ray3.details["declared"] is None
    aces = _by_id(validate(plate("no_chroma"), "aces"))["chromaticities"]
    assert aces.status == "fail" and aces.details["declared"] is None


def test_rgba_is_a_valid_aces_channel_set(plate: Plate) -> None:
    report = validate(plate("rgba"), "aces")
    assert _by_id(report)["channels"].status == "pass"
    assert validate(plate("rgba"), "ray3").status == "pass"


def test_multipart(plate: Plate) -> None:
    ray3 = _by_id(validate(plate("multipart"), "ray3"))["container"]
    assert ray3.status == "fail" and ray3.details["parts"] == 2
    assert ray3.frames == tuple(range(FIRST, FIRST + N))
    assert (
        _by_id(validate(plate("multipart"), "nuke-comp"))["container"].status == "pass"
    )


@pytest.mark.parametrize(
    ("variant", "bits"), [("quant8_acescct", 8), ("quant10_acescct", 10)]
)
def test_quantised_acescct_is_detected(plate: Plate, variant: str, bits: int) -> None:
    c = _by_id(validate(plate(variant)))["bit_depth"]
    assert c.status == "fail"
    assert c.details["effective_bits"] == bits
    assert c.details["encoding"] == "ACEScct"
    assert c.details["storage"]["R"] == "half"


def test_json_document_is_the_contract(plate: Plate) -> None:
    doc = json.loads(json.dumps(validate(plate("missing")).to_dict()))
    assert list(doc) == ["status", "input", "frames", "checks"]
    assert list(doc["frames"]) == ["first", "last", "count", "missing"]
    for check in doc["checks"]:
        assert list(check) == ["id", "status", "message", "frames", "details"]
        assert check["status"] in ("pass", "warn", "fail")
    assert doc["input"] == str(plate("missing"))


def test_progress_and_workers(plate: Plate) -> None:
    calls: list[tuple[int, int]] = []
    one = validate(
        plate("nonfinite"), workers=1, on_progress=lambda d, t: calls.append((d, t))
    )
    two = validate(plate("nonfinite"), workers=2)
    assert calls == [(i, N) for i in range(1, N + 1)]
    assert one.to_dict() == two.to_dict()


@pytest.mark.parametrize("variant", [None, "nonfinite", "truncated", "quant10_acescct"])
def test_validator_fed_frame_by_frame_equals_validate(
    plate: Plate, variant: str | None
) -> None:
    """The conform engine feeds frames in its own order and leaves some out: the
    report (the rest read at the end) is the one validate() gives."""
    path = plate(variant)
    v = Validator(path, "ray3")
    headers = v.check_headers()
    assert {c.id for c in headers.checks} <= set(HEADER_CHECKS)
    for frame in (FIRST + 6, FIRST + 5, FIRST, FIRST + 3):
        decoded = v.read(frame)
        assert v.seen(frame)
        assert (decoded is None) == (v.unreadable(frame) is not None)
        if decoded is not None:
            np.testing.assert_array_equal(
                decoded.pixels("RGBA"), read_pixels(open_sequence(path).path(frame))
            )
    early = v.problems()
    # A failure more frames cannot clear shows as soon as its frame is read.
    assert (early.status == "fail") == (variant in ("nonfinite", "truncated"))
    assert v.report().to_dict() == validate(path, "ray3").to_dict()


def test_problems_are_judged_again_only_on_news(
    plate: Plate, judgements: list[tuple[str, ...]]
) -> None:
    """problems() runs after every frame the engine decodes: once the headers are
    known, a clean frame must not cost a new judgement of every check."""
    v = Validator(plate("nonfinite"), "ray3")
    v.check_headers()
    judgements.clear()
    for frame in range(FIRST, BROKEN):  # clean frames
        v.read(frame)
        assert v.problems().status != "fail"
    assert len(judgements) == 1
    v.read(BROKEN)  # NaN/Inf: news
    assert v.problems().status == "fail"
    assert len(judgements) == 2
