"""Flow retime against a 48 fps ground truth (fixtures.motion), 24 → 48.

Even 48 fps frames are the input, the odd frame between two of them is the
truth; PSNR is measured through the SDR review view (ACES 2.0 SDR 100 nits,
BT.1886 code values, peak 1), as bench/retime.py does at 960×540 and 1080p.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from fixtures.motion import CUT_FRAME, render_motion_frame
from hdrpipe.color import Transform
from hdrpipe.resample.flow import CUT_MATCH, FlowCache, estimate_flow, interpolate
from hdrpipe.resample.retime import blend, frame_map, retime_frame
from hdrpipe.types import FrameRange, Rate

W, H = 320, 180
PAIRS = (0, 4, 8)  # first 48 fps frame of each input pair scored (same shot)


@pytest.fixture(scope="module")
def plate() -> dict[int, np.ndarray]:
    frames = {}
    for n in {*PAIRS, *(n + 1 for n in PAIRS), *(n + 2 for n in PAIRS)} | {
        CUT_FRAME - 4,
        CUT_FRAME - 2,
        CUT_FRAME - 1,
        CUT_FRAME,
        CUT_FRAME + 2,
    }:
        # Half samples, as the EXR holds them.
        frames[n] = render_motion_frame(n, W, H).astype(np.float16).astype(np.float32)
    return frames


@pytest.fixture(scope="module")
def view() -> Transform:
    return Transform(target="sdr-rec709", color_path="exact")


def _psnr(view: Transform, got: np.ndarray, truth: np.ndarray) -> float:
    err = view.apply(got)[..., :3] - view.apply(truth)[..., :3]
    return float(10.0 * np.log10(1.0 / np.mean(err.astype(np.float64) ** 2)))


def test_flow_beats_blend_on_the_48fps_plate(plate, view) -> None:  # type: ignore[no-untyped-def]
    by_flow, by_blend = [], []
    for n in PAIRS:
        a, truth, b = plate[n], plate[n + 1], plate[n + 2]
        out = interpolate(a, b, 0.5)
        assert out.dtype == np.float32 and out.shape == a.shape
        by_flow.append(_psnr(view, out, truth))
        by_blend.append(_psnr(view, blend((a, b), (0.5, 0.5)), truth))
    print(f"\nPSNR flow {np.round(by_flow, 2)} blend {np.round(by_blend, 2)}")
    # Measured: flow 32.5-32.7 dB, blend 29.5-29.8 dB at 320x180.
    assert min(f - b for f, b in zip(by_flow, by_blend, strict=True)) > 2.0


def test_cut_is_detected_and_only_there(plate) -> None:  # type: ignore[no-untyped-def]
    same_shot = estimate_flow(plate[CUT_FRAME - 4], plate[CUT_FRAME - 2])
    across = estimate_flow(plate[CUT_FRAME - 2], plate[CUT_FRAME])
    after = estimate_flow(plate[CUT_FRAME], plate[CUT_FRAME + 2])
    assert not same_shot.cut and not after.cut, (same_shot.match, after.match)
    assert across.cut and across.match < CUT_MATCH


def test_flash_is_not_a_cut(plate) -> None:  # type: ignore[no-untyped-def]
    a, b = plate[PAIRS[1]], plate[PAIRS[1] + 2]
    for gain in (4.0, 0.25):  # two stops up and down on the second frame
        pair = estimate_flow(a, b * np.float32(gain))
        assert not pair.cut, (gain, pair.match)


def test_retime_holds_the_nearest_frame_at_a_cut(plate) -> None:  # type: ignore[no-untyped-def]
    # 24 fps source frames 1..3 are 48 fps frames CUT_FRAME-4, -2, CUT_FRAME.
    source = {1: plate[CUT_FRAME - 4], 2: plate[CUT_FRAME - 2], 3: plate[CUT_FRAME]}
    samples = frame_map(
        Rate(Fraction(24)), Rate(Fraction(60)), "flow", FrameRange(1, 3)
    )
    cache = FlowCache()
    across = [s for s in samples if s.sources == (2, 3)]
    assert {round(s.t, 2) for s in across} == {0.2, 0.6}  # 24 -> 60 phases
    for s in across:
        out = retime_frame(s, source.__getitem__, "flow", flow_cache=cache)
        held = source[2] if s.t <= 0.5 else source[3]
        assert np.array_equal(out, held), s
    # Within a shot the same retime does interpolate.
    inside = next(s for s in samples if s.sources == (1, 2))
    out = retime_frame(inside, source.__getitem__, "flow", flow_cache=cache)
    assert not np.array_equal(out, source[1]) and not np.array_equal(out, source[2])


def test_cut_pair_is_held_not_interpolated(plate, view) -> None:  # type: ignore[no-untyped-def]
    a, truth, b = plate[CUT_FRAME - 2], plate[CUT_FRAME - 1], plate[CUT_FRAME]
    out = interpolate(a, b, 0.5)
    assert np.array_equal(out, a)  # t = 1/2 ties to the earlier frame
    assert np.array_equal(interpolate(a, b, 0.75), b)
    # The held-out frame belongs to the outgoing shot: holding beats a dissolve.
    assert _psnr(view, out, truth) > _psnr(view, blend((a, b), (0.5, 0.5)), truth)
