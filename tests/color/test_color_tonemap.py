"""BT.2390 EETF: the equations evaluated independently, its invariants, its target."""

from __future__ import annotations

import math

import colour
import numpy as np
import pytest

from fixtures.generate import render_frame
from hdrpipe.color import (
    Transform,
    eetf_bt2390,
    get_target,
    mastering_display_for,
    retarget_pq,
    target_names,
)
from hdrpipe.errors import ColorError


def _eetf_scalar(
    e: float, lw: float, lmax: float, lb: float = 0.0, lmin: float = 0.0
) -> float:
    """ITU-R BT.2390-7 §5.4.1 / BT.2408 Annex 5, written out with colour's PQ."""
    pq = lambda v: float(colour.models.eotf_inverse_ST2084(v))  # noqa: E731
    span = pq(lw) - pq(lb)
    e1 = min(max((e - pq(lb)) / span, 0.0), 1.0)
    min_lum, max_lum = (pq(lmin) - pq(lb)) / span, (pq(lmax) - pq(lb)) / span
    ks = 1.5 * max_lum - 0.5
    if e1 < ks:
        e2 = e1
    else:
        t = (e1 - ks) / (1 - ks)
        e2 = (
            (2 * t**3 - 3 * t**2 + 1) * ks
            + (t**3 - 2 * t**2 + t) * (1 - ks)
            + (-2 * t**3 + 3 * t**2) * max_lum
        )
    e3 = e2 + min_lum * (1 - e2) ** 4
    return e3 * span + pq(lb)


@pytest.mark.parametrize(
    ("lw", "lmax", "lmin"),
    [(1000, 600, 0), (1000, 300, 0.05), (4000, 1000, 0)],
    ids=str,
)
def test_eetf_matches_the_written_out_equations(
    lw: float, lmax: float, lmin: float
) -> None:
    signal = np.linspace(0, 1, 2001)
    ours = eetf_bt2390(signal, source_peak=lw, target_peak=lmax, target_black=lmin)
    ref = np.array([_eetf_scalar(float(e), lw, lmax, 0.0, lmin) for e in signal])
    np.testing.assert_allclose(ours, ref, atol=1e-12)


def test_eetf_invariants() -> None:
    pq = colour.models.eotf_inverse_ST2084
    signal = np.linspace(0, float(pq(1000)), 4001)
    out = eetf_bt2390(signal, source_peak=1000, target_peak=600)
    # The source peak lands exactly on the target peak (in cd/m²).
    assert float(colour.models.eotf_ST2084(out[-1])) == pytest.approx(600.0, rel=1e-9)
    # Below the knee KS = 1.5 · maxLum − 0.5 the signal is untouched; monotonic above.
    ks = 1.5 * float(pq(600)) / float(pq(1000)) - 0.5
    below = signal / float(pq(1000)) < ks
    # (PQ(0 cd/m²) = c1^m2 ≈ 7.3e-7: signal 0 lands on the code of the source black.)
    np.testing.assert_allclose(out[below], signal[below], rtol=1e-12, atol=1e-6)
    assert np.all(np.diff(out) >= 0)
    # float32 stays float32; no compression needed -> unchanged.
    assert eetf_bt2390(signal.astype(np.float32)).dtype == np.float32
    np.testing.assert_allclose(
        eetf_bt2390(signal, source_peak=1000, target_peak=1000), signal, atol=1e-6
    )
    with pytest.raises(ColorError):
        eetf_bt2390(signal, source_peak=100, target_peak=-1)


def test_retarget_pq_maxrgb_keeps_chromaticity_and_alpha() -> None:
    rng = np.random.default_rng(3)
    frame = np.concatenate(
        [rng.random((8, 8, 3)) * 0.75, rng.random((8, 8, 1))], axis=2
    ).astype(np.float32)
    out = retarget_pq(frame, source_peak=1000, target_peak=600)
    assert np.array_equal(out[..., 3], frame[..., 3])
    lin_in = colour.models.eotf_ST2084(frame[..., :3].astype(np.float64))
    lin_out = colour.models.eotf_ST2084(out[..., :3].astype(np.float64))
    assert lin_out.max() <= 600.0 * (1 + 1e-4)
    bright = lin_in.max(axis=-1) > 1
    ratio_in = lin_in[bright] / lin_in[bright].sum(axis=-1, keepdims=True)
    ratio_out = lin_out[bright] / lin_out[bright].sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(ratio_out, ratio_in, atol=1e-4)
    # Per-channel mode is the EETF on each of R'G'B'.
    per = retarget_pq(frame, source_peak=1000, target_peak=600, method="rgb")
    np.testing.assert_allclose(
        per[..., :3], eetf_bt2390(frame[..., :3], source_peak=1000, target_peak=600)
    )
    assert math.isclose(float(per[..., 3].sum()), float(frame[..., 3].sum()))


# --- The retargeting target hdr-pq-600-rec2020, exact and fast paths. Expected
# values: the ACES 2.0 1000-nit PQ output (exact path) with the EETF evaluated
# per pixel by _eetf_scalar on max(R', G', B'), the three linear components
# scaled by the same ratio; light decoded with colour-science.

TARGET = "hdr-pq-600-rec2020"


@pytest.fixture(scope="module")
def frames() -> tuple[np.ndarray, np.ndarray]:
    scene = render_frame(240, 135, 2, seed=4)  # speculars at 100x diffuse white
    master = Transform(target="hdr-pq-1000-rec2020", color_path="exact").apply(scene)
    retargeted = Transform(target=TARGET, color_path="exact").apply(scene)
    return master, retargeted


def test_target_is_listed_with_the_new_peak() -> None:
    assert TARGET in target_names()
    target = get_target(TARGET)
    assert (target.transfer, target.peak_luminance, target.retarget_from) == (
        "pq",
        600.0,
        1000.0,
    )
    assert target.view == "ACES 2.0 - HDR 1000 nits (Rec.2020)"
    mastering = mastering_display_for(target)
    assert mastering is not None and mastering.max_luminance == 600.0
    assert mastering.red == (0.708, 0.292)  # BT.2020 primaries, ST 2086


def test_below_the_knee_the_master_passes_unchanged(frames: tuple) -> None:
    master, retargeted = frames
    pq = colour.models.eotf_inverse_ST2084
    knee = (1.5 * pq(600) / pq(1000) - 0.5) * pq(1000)  # BT.2390 KS, in PQ
    below = master.max(axis=-1) < knee
    assert 0.9 < below.mean() < 1.0  # most of the frame, not all of it
    np.testing.assert_allclose(retargeted[below], master[below], atol=1e-6)


def test_highlights_follow_the_bt2390_eetf_on_max_rgb(frames: tuple) -> None:
    master, retargeted = frames
    m = master.max(axis=-1)
    ys, xs = np.nonzero(m > 0.7)  # above the knee (PQ 0.669)
    assert ys.size > 10
    for y, x in zip(ys[::7], xs[::7], strict=False):
        e = float(m[y, x])
        ratio = float(
            colour.models.eotf_ST2084(_eetf_scalar(e, 1000, 600))
            / colour.models.eotf_ST2084(e)
        )
        light = colour.models.eotf_ST2084(master[y, x].astype(np.float64)) * ratio
        expected = colour.models.eotf_inverse_ST2084(light)
        np.testing.assert_allclose(retargeted[y, x], expected, atol=2e-5)
    light = colour.models.eotf_ST2084(retargeted.astype(np.float64))
    assert light.max() <= 600.0 + 1e-3
    assert colour.models.eotf_ST2084(master.astype(np.float64)).max() > 900


@pytest.mark.slow  # bakes a 129³ LUT (5-10 s on 2 shared cores)
def test_fast_path_serves_the_retargeted_target(frames: tuple) -> None:
    _master, exact = frames
    scene = render_frame(240, 135, 2, seed=4)
    fast = Transform(target=TARGET, color_path="fast")
    out = fast.apply(scene)
    assert fast.color_path_info["path"] == "fast"
    code_err = np.abs(out - exact) * 1023
    assert np.percentile(code_err, 99.9) <= 1.0
    assert "BT.2390 EETF 1000 to 600" in fast.pipeline
