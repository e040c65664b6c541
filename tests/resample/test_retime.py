"""frame_map (pure, no pixels) and blend / retime_frame on tiny frames."""

from __future__ import annotations

import math
from collections import Counter
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hdrpipe.errors import ConformError, InputError
from hdrpipe.resample.retime import (
    Sample,
    blend,
    frame_map,
    output_count,
    retime_frame,
    sample_at,
)
from hdrpipe.timecode import STANDARD_RATES, parse_rate
from hdrpipe.types import FrameRange

R = parse_rate
RANGE = FrameRange(1001, 1120)  # 120 frames = 5 s at 24 fps


def test_asis_24_to_23976_keeps_frames() -> None:
    m = frame_map(R(24), R("23.976"), "asis", RANGE)
    assert len(m) == RANGE.count
    assert [s.sources for s in m] == [(f,) for f in RANGE]
    assert all(s.weights == (1.0,) for s in m)
    assert [s.index for s in m] == list(range(RANGE.count))


def test_nearest_24_to_25_one_duplicate_per_24() -> None:
    m = frame_map(R(24), R(25), "nearest", RANGE)
    assert len(m) == 125  # 5 s at 25 fps
    frames = [s.sources[0] for s in m]
    assert frames[0] == RANGE.first and frames[-1] == RANGE.last
    assert sorted(frames) == frames
    counts = Counter(frames)
    assert set(counts) == set(RANGE)  # nothing dropped
    assert sum(c - 1 for c in counts.values()) == 5  # one repeat per second


def test_nearest_24_to_30_stable_cadence() -> None:
    m = frame_map(R(24), R(30), "nearest", RANGE)
    assert len(m) == 150
    rel = [s.sources[0] - RANGE.first for s in m]
    # Independent reference: output i shows the source frame nearest to i * 24/30,
    # ties to the earlier frame.
    assert rel == [min(math.ceil(i * 0.8 - 0.5), 119) for i in range(150)]
    groups = [tuple(r - 4 * g for r in rel[5 * g : 5 * g + 5]) for g in range(30)]
    assert set(groups) == {
        (0, 1, 2, 2, 3)
    }  # the same 5-frame cadence every 4 source frames


def test_nearest_30_to_24_drops_one_in_five() -> None:
    m = frame_map(R(30), R(24), "nearest", FrameRange(0, 149))
    assert len(m) == 120
    shown = [s.sources[0] for s in m]
    assert len(set(shown)) == 120 and shown[0] == 0
    assert all(0 < b - a <= 2 for a, b in zip(shown, shown[1:], strict=False))


@pytest.mark.parametrize("method", ["blend", "flow"])
def test_24_to_48_is_2n_with_last_frame_held(method: str) -> None:
    m = frame_map(R(24), R(48), method, RANGE)
    assert len(m) == 2 * RANGE.count
    for k, f in enumerate(RANGE):
        assert m[2 * k].sources == (f,) and m[2 * k].weights == (1.0,)
        assert m[2 * k].position == f
        if f < RANGE.last:
            assert m[2 * k + 1].sources == (f, f + 1)
            assert m[2 * k + 1].weights == (0.5, 0.5)
            assert m[2 * k + 1].position == Fraction(2 * f + 1, 2)
    assert m[-1].sources == (RANGE.last,) and m[-1].weights == (1.0,)


def test_blend_24_to_60_weights_follow_position() -> None:
    m = frame_map(R(24), R(60), "blend", FrameRange(0, 23))
    assert len(m) == 60
    for s in m:
        p = min(s.index * 24 / 60, 23)  # float reference
        lo = math.floor(p + 1e-9)
        assert s.sources[0] == lo
        if len(s.sources) == 2:
            assert s.sources[1] == lo + 1
            assert s.weights[1] == pytest.approx(p - lo, abs=1e-12)


def test_ntsc_blend_positions_are_exact() -> None:
    m = frame_map(R(24), R("23.976"), "blend", FrameRange(0, 2001))
    assert m[1000].position == Fraction(1000 * 24 * 1001, 24000)
    assert m[1000].sources == (1001,) and m[1000].weights == (1.0,)


RATES = [r for r in STANDARD_RATES if not r.drop_frame]


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(RATES),
    st.sampled_from(RATES),
    st.sampled_from(["asis", "nearest", "blend", "flow"]),
    st.integers(-5, 2000),
    st.integers(1, 300),
)
def test_map_invariants(src, dst, method, first, count) -> None:  # type: ignore[no-untyped-def]
    rng = FrameRange(first, first + count - 1)
    m = frame_map(src, dst, method, rng)
    expected = (
        count if method == "asis" else max(1, math.ceil(count * dst.fps / src.fps))
    )
    assert len(m) == expected == output_count(src, dst, method, count)
    assert m[0].sources == (first,) and m[0].weights == (1.0,)
    if method == "asis" or dst.fps >= src.fps:
        assert m[-1].sources == (rng.last,) and m[-1].weights == (1.0,)
    previous = Fraction(first)
    for s in m:
        assert all(f in rng for f in s.sources)
        assert math.isclose(sum(s.weights), 1.0, abs_tol=1e-12)
        assert all(w > 0 for w in s.weights)
        assert len(s.sources) == 1 or method in ("blend", "flow")
        assert s.position >= previous and rng.first <= s.position <= rng.last
        previous = s.position
    i = len(m) // 2
    assert sample_at(src, dst, method, rng, i) == m[i]


def test_map_rejects() -> None:
    with pytest.raises(InputError):
        frame_map(R(24), R(48), "optical", RANGE)  # type: ignore[arg-type]
    with pytest.raises(InputError):
        sample_at(R(24), R(48), "blend", RANGE, 240)


def test_blend_matches_float64_reference() -> None:
    rng = np.random.default_rng(1)
    a = (rng.random((9, 16, 4)) * 1000).astype(np.float32)
    b = (rng.random((9, 16, 4)) * 1000).astype(np.float32)
    out = blend((a, b), (0.3, 0.7))
    assert out.dtype == np.float32 and out.flags.c_contiguous and out.shape == a.shape
    ref = 0.3 * a.astype(np.float64) + 0.7 * b.astype(np.float64)
    np.testing.assert_allclose(out, ref, rtol=1e-6)
    assert out is not a and not np.shares_memory(out, a)


def test_blend_rejects_mismatch() -> None:
    a = np.zeros((4, 4, 3), np.float32)
    with pytest.raises(ConformError):
        blend((a, np.zeros((4, 5, 3), np.float32)), (0.5, 0.5))
    with pytest.raises(ConformError):
        blend((a,), (0.5, 0.5))


def _frames() -> dict[int, np.ndarray]:
    return {f: np.full((6, 8, 3), float(f), np.float32) for f in (10, 11)}


def test_retime_frame_single_and_blend() -> None:
    frames = _frames()
    single = retime_frame(
        Sample(0, (10,), (1.0,), Fraction(10)), frames.__getitem__, "nearest"
    )
    assert np.array_equal(single, frames[10])
    mixed = retime_frame(
        Sample(1, (10, 11), (0.25, 0.75), Fraction(43, 4)), frames.__getitem__, "blend"
    )
    np.testing.assert_allclose(mixed, 10.75, rtol=1e-7)
    with pytest.raises(ConformError):
        retime_frame(
            Sample(1, (10, 11), (0.5, 0.5), Fraction(21, 2)),
            frames.__getitem__,
            "nearest",
        )


def test_retime_frame_flow_on_static_frames() -> None:
    # Identical frames: any motion estimate must give the frame back.
    rng = np.random.default_rng(2)
    still = (rng.random((36, 64, 3)) * 4).astype(np.float32)
    out = retime_frame(
        Sample(1, (1, 2), (0.5, 0.5), Fraction(3, 2)), lambda f: still, "flow"
    )
    np.testing.assert_allclose(out, still, atol=1e-3)


def test_24_to_60_flow_reuses_pair_flows() -> None:
    from hdrpipe.resample.flow import FlowCache

    rng = np.random.default_rng(5)
    base = (rng.random((36, 64, 3)) * 4).astype(np.float32)
    frames = {f: np.roll(base, f, axis=1) for f in range(4)}  # 1 px/frame pan
    samples = frame_map(R(24), R(60), "flow", FrameRange(0, 3))
    assert len(samples) == 10  # 4 frames * 60/24
    cache = FlowCache()
    outputs = [
        retime_frame(s, frames.__getitem__, "flow", flow_cache=cache) for s in samples
    ]
    pairs = {s.sources for s in samples if len(s.sources) == 2}
    between = sum(len(s.sources) == 2 for s in samples)
    assert cache.misses == len(pairs) == 3 and cache.hits == between - len(pairs)
    # Output 1 sits at source 0.4: the pan puts it 0.4 px right of frame 0.
    inner = (slice(4, -4), slice(8, -8))
    expected = np.roll(base, 1, axis=1) * 0.4 + base * 0.6  # linear-interpolated shift
    assert (
        np.abs(outputs[1][inner] - expected[inner]).mean()
        < np.abs(frames[0][inner] - expected[inner]).mean()
    )
