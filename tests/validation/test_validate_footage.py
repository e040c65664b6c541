"""Checks for generated footage (black, flash, flicker, duplicates, frozen, upscale,
bit-depth evidence): each flags exactly the frames its fault was injected on, and
nothing fires on clean plates."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from fixtures.faults import FAULT_FRAMES, FAULTS, make_faulty_plate
from fixtures.generate import make_plate
from hdrpipe.cli import main
from hdrpipe.validation import PROFILES, validate
from hdrpipe.validation.footage import luminance_ap0
from hdrpipe.validation.profiles import FOOTAGE_CHECKS

FIRST = 1001


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    root = tmp_path_factory.mktemp("faults")
    made: dict[str, Path] = {}

    def get(fault: str) -> Path:
        if fault not in made:
            if fault.startswith("clean"):
                seed = int(fault.removeprefix("clean") or 0)
                made[fault] = make_plate(
                    root / fault, width=256, height=144, frames=12, seed=seed
                )
            else:
                made[fault] = make_faulty_plate(root / fault, fault, seed=5)
        return made[fault]

    return get


@pytest.mark.parametrize("fault", FAULTS)
def test_each_fault_flags_its_frames_and_nothing_else(
    faulty: Callable[[str], Path], fault: str
) -> None:
    report = validate(faulty(fault), "ray3")
    flagged = {c.id: c for c in report.checks if c.id in FOOTAGE_CHECKS}
    assert set(flagged) == set(FOOTAGE_CHECKS)
    found = flagged[fault]
    assert found.status == "warn", found.message
    assert found.frames == tuple(FIRST + i for i in FAULT_FRAMES[fault])
    others = {k: (c.status, c.message) for k, c in flagged.items() if k != fault}
    assert all(s == "pass" for s, _ in others.values()), others
    # Generated-footage findings warn: the plate still goes to conform.
    assert report.status == "warn"


@pytest.mark.parametrize("plate", ["clean", "clean3", "clean9"])
def test_clean_plates_have_no_finding(
    faulty: Callable[[str], Path], plate: str
) -> None:
    report = validate(faulty(plate), "ray3")
    assert report.status == "pass", [(c.id, c.message) for c in report.checks]
    assert report.check("upscale").details["factor"] == 1.0  # type: ignore[union-attr]


def test_flicker_measures_the_injected_jump(faulty: Callable[[str], Path]) -> None:
    jumps = validate(faulty("flicker")).check("flicker").details["jumps"]  # type: ignore[union-attr]
    # Frame 1006 was scaled by 1.2, frame 1009 by 0.85, their neighbours untouched.
    assert jumps["1006"]["mean"] == pytest.approx(math.log2(1.2), abs=0.02)
    assert jumps["1009"]["mean"] == pytest.approx(math.log2(0.85), abs=0.02)


def test_flicker_series_is_the_frame_mean_luminance(
    faulty: Callable[[str], Path],
) -> None:
    from hdrpipe.exr import read_pixels

    path = faulty("flicker")
    series = validate(path).check("flicker").details["series"]  # type: ignore[union-attr]
    assert series["frames"] == list(range(FIRST, FIRST + 12))
    px = read_pixels(str(path).replace("####", "1006"), channels="RGB")
    # 256x144 is under the sampling budget: every pixel is used.
    y = (
        px[..., 0] * 0.3439664498
        + px[..., 1] * 0.7281660966
        - px[..., 2] * 0.0721325464
    )
    assert series["mean"][5] == pytest.approx(float(y.mean()), rel=1e-4)
    assert series["p99"][5] == pytest.approx(float(np.percentile(y, 99)), rel=1e-3)


def test_luminance_of_ap0_primaries_is_the_npm_middle_row() -> None:
    # SMPTE ST 2065-1:2012 NPM, second row (Y of each AP0 primary).
    y = luminance_ap0(np.eye(3, dtype=np.float32))
    np.testing.assert_allclose(y, [0.3439664498, 0.7281660966, -0.0721325464])


def test_duplicates_point_at_the_original(faulty: Callable[[str], Path]) -> None:
    c = validate(faulty("duplicates")).check("duplicates")
    assert c is not None and c.details["of"] == {"1006": 1005, "1007": 1005}


def test_upscale_estimates_native_resolution(faulty: Callable[[str], Path]) -> None:
    c = validate(faulty("upscale")).check("upscale")
    assert c is not None and c.status == "warn"
    # The fixture renders at 128x72 and upscales 2x to 256x144.
    assert (c.details["native_width"], c.details["native_height"]) == (128, 72)
    assert c.details["factor"] == 2.0
    assert len(c.details["spectrum"]) == len(c.details["frequencies"])


def test_gap_is_not_a_jump(tmp_path: Path) -> None:
    pattern = make_faulty_plate(tmp_path, "flash", seed=2)
    Path(str(pattern).replace("####", "1006")).unlink()  # remove the flash frame
    report = validate(pattern, "ray3")
    assert {c.id: c.status for c in report.checks}["flash"] == "pass"
    assert report.check("continuity").status == "fail"  # type: ignore[union-attr]


def test_bit_depth_histogram_shows_quantisation(
    plate: Callable[[str | None], Path],
) -> None:
    quant = validate(plate("quant8_acescct")).check("bit_depth")
    clean = validate(plate(None)).check("bit_depth")
    assert quant is not None and clean is not None
    hq, hc = quant.details["histogram"], clean.details["histogram"]
    assert (hq["encoding"], hq["bits"]) == ("ACEScct", 8)
    # 8-bit codes sit on integers: the two bins around 0 hold (nearly) everything.
    centre = hq["counts"][9] + hq["counts"][10]
    assert centre >= 0.95 * sum(hq["counts"])
    # Native half: offsets spread over the whole -0.5 ... 0.5 range.
    assert hc["bits"] == 10 and min(hc["counts"]) > 0
    assert max(hc["counts"]) < 3 * (sum(hc["counts"]) / len(hc["counts"]))


def test_profiles_make_generated_checks_warnings() -> None:
    for name in ("ray3", "nuke-comp"):
        for check in FOOTAGE_CHECKS:
            assert PROFILES[name].rule(check) == {"severity": "warn"}
    assert all(PROFILES["aces"].rule(c) is None for c in FOOTAGE_CHECKS)


def test_validate_json_lists_new_ids(
    faulty: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["validate", "--json", str(faulty("black"))])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["status"] == "warn"
    by_id = {c["id"]: c for c in doc["checks"]}
    assert set(FOOTAGE_CHECKS) <= set(by_id)
    assert by_id["black"]["frames"] == [1006]
    assert by_id["black"]["status"] == "warn"
