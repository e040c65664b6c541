"""Baked-LUT fast path: verification rejects a coarse bake, the hybrid routes the AP1
edge to the exact processor, fast vs exact stays within budget, the cache works.

References: the exact OCIO processor (the thing the LUT replaces), error metrics
recomputed here with numpy (10-bit code values) and colour-science (ICtCp,
ITU-R BT.2124 ΔE_ITP); the AP1/AP0 matrices from colour-science.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import PyOpenColorIO as ocio  # noqa: N813
import pytest
from numpy.typing import NDArray

from hdrpipe.color import Transform
from hdrpipe.color import fastpath as fp
from hdrpipe.errors import InputError
from hdrpipe.transfer import eotf_st2084

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import colour

PQ = "hdr-pq-1000-rec2020"
CODE10 = 1023


@pytest.fixture(scope="module")
def cache_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("luts")


@pytest.fixture(autouse=True)
def _tmp_cache(cache_root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Bakes go to a tmp dir, never ~/.cache; the colour path env is neutral."""
    monkeypatch.setenv(fp.CACHE_ENV, str(cache_root))
    monkeypatch.delenv(fp.COLOR_PATH_ENV, raising=False)
    monkeypatch.delenv("HDRPIPE_LUT_SIZE", raising=False)
    yield


@pytest.fixture(scope="module")
def small_stress() -> fp.StressSet:
    return fp.stress_set(n_volume=1 << 14, n_boundary=1 << 11, seed=3)


def _ap1_to_ap0(ap1: NDArray[np.floating]) -> NDArray[np.float32]:
    m = colour.matrix_RGB_to_RGB(
        "ACEScg", "ACES2065-1", chromatic_adaptation_transform=None
    )
    return np.ascontiguousarray(np.asarray(ap1, np.float64) @ m.T, dtype=np.float32)


def _code_error(
    exact: NDArray[np.float32], fast: NDArray[np.float32]
) -> NDArray[np.float64]:
    """Per-pixel max channel error in 10-bit code values (full-range signal × 1023)."""
    return (
        np.abs(exact[..., :3].astype(np.float64) - fast[..., :3]).max(-1).ravel()
        * CODE10
    )


def _delta_e_itp_pq(
    exact: NDArray[np.float32], fast: NDArray[np.float32]
) -> NDArray[np.float64]:
    """ΔE_ITP of two Rec.2100 PQ signals: ST 2084 EOTF → BT.2020 cd/m² → ICtCp."""
    a = eotf_st2084(exact[..., :3].reshape(-1, 3).astype(np.float64))
    b = eotf_st2084(fast[..., :3].reshape(-1, 3).astype(np.float64))
    ia = colour.RGB_to_ICtCp(a, method="ITU-R BT.2100-2 PQ")
    ib = colour.RGB_to_ICtCp(b, method="ITU-R BT.2100-2 PQ")
    return np.asarray(colour.difference.delta_E_ITP(ia, ib))


def _edge_frame(width: int = 96, height: int = 64) -> NDArray[np.float32]:
    """An ACES2065-1 frame of AP1-edge colours: around the AP1 hue hexagon, the
    smallest component beyond, at, just inside 0 or further in, over a 2^-6…2^7
    exposure range (rows)."""
    hues = []
    for t in np.linspace(0.0, 1.0, width // 6, endpoint=False):
        # Walk the AP1 cube's hue hexagon: one component 0 (or ±ε), one at 1.
        for first, second in ((0, 1), (1, 2), (2, 0), (1, 0), (2, 1), (0, 2)):
            rgb = np.zeros(3)
            rgb[first] = 1.0
            rgb[second] = t
            hues.append(rgb)
    hues_a = np.array(hues[:width])
    # Minimum component: beyond, on, just inside the boundary, then inside the
    # saturations the LUT serves (AP1 saturation 0.6 … 1.01).
    eps = np.array([0.0, -0.01, 0.002, 0.02, 0.05, 0.1, 0.2, 0.4])[np.arange(width) % 8]
    low = np.argmin(hues_a, axis=1)
    hues_a[np.arange(width), low] += eps
    exposure = 0.18 * np.exp2(np.linspace(-6.0, 7.0, height))
    ap1 = exposure[:, None, None] * hues_a[None, :, :]
    return _ap1_to_ap0(ap1)


# --------------------------------------------------------------------- verification


def test_coarse_bake_is_rejected(small_stress: fp.StressSet) -> None:
    exact = Transform(target=PQ, color_path="exact")
    coarse = fp.bake(exact, size=17, stress=small_stress, use_cache=False)
    assert not coarse.accepted
    assert coarse.reason and "over budget" in coarse.reason
    # Independent check that the verdict is right: on the stress samples the LUT
    # serves, the 17³ hybrid path really is off by more than the budget.
    samples = _ap1_to_ap0(small_stress.ap1).reshape(-1, 1, 3)
    reference = exact.apply(samples)
    hybrid = fp.FastPath(exact, coarse)
    fast = samples.copy()
    hybrid.apply_rgb(fast)
    code = _code_error(reference, fast)
    assert np.percentile(code, 99.9) > fp.BUDGET_P999_CODE10 or (
        _delta_e_itp_pq(reference, fast).max() > fp.BUDGET_MAX_DELTA_E_ITP
    )


def test_auto_falls_back_to_exact_for_a_rejected_bake(
    monkeypatch: pytest.MonkeyPatch, plate
) -> None:
    monkeypatch.setenv("HDRPIPE_LUT_SIZE", "17")
    frame = plate(64, 36)
    auto = Transform(target=PQ, color_path="auto")
    info = auto.color_path_info
    assert info["requested"] == "auto"
    assert info["path"] == "exact"
    assert "budget" in info["reason"]
    assert info["bake"]["lut_size"] == 17 and not info["bake"]["accepted"]
    np.testing.assert_array_equal(auto.apply(frame), Transform(target=PQ).apply(frame))


def test_hybrid_routes_ap1_edge_frame_within_budget() -> None:
    frame = _edge_frame()
    reference = Transform(target=PQ, color_path="exact").apply(frame)
    fast_tf = Transform(target=PQ, color_path="fast")
    fast = fast_tf.apply(frame)
    info = fast_tf.color_path_info
    assert info["path"] == "fast"
    assert info["bake"]["lut_size"] == fp.DEFAULT_LUT_SIZE
    code = _code_error(reference, fast)
    delta = _delta_e_itp_pq(reference, fast)
    worst = int(np.argmax(code))
    assert np.percentile(code, 99.9) <= fp.BUDGET_P999_CODE10, (
        f"p99.9 {np.percentile(code, 99.9):.2f}; worst pixel {worst}: {code[worst]:.1f}"
    )
    assert delta.max() <= fp.BUDGET_MAX_DELTA_E_ITP, f"max ΔE_ITP {delta.max():.2f}"
    # Both paths are really used: the edge is routed, the inside is the LUT's.
    assert 0.25 < info["routed_exact_fraction"] < 0.9
    served = info["routed_exact_fraction"] < 1.0
    assert served and not np.array_equal(fast, reference)
    # The frame is hard: the same LUT serving every pixel (no routing) is far off.
    baked = fast_tf._color_path.fast.bake
    lut_only = fp.FastPath(
        fast_tf, dataclasses.replace(baked, threshold=1.0, ceiling=np.inf)
    )
    unrouted = frame.copy()
    lut_only.apply_rgb(unrouted)
    assert _code_error(reference, unrouted).max() > 20


def test_fast_matches_exact_on_fixture_frame(plate) -> None:
    frame = plate(320, 180, frame=2)
    reference = Transform(target=PQ, color_path="exact").apply(frame)
    auto = Transform(target=PQ, color_path="auto")
    fast = auto.apply(frame)
    info = auto.color_path_info
    assert info["path"] == "fast", info["reason"]
    assert info["frame_errors"]["within_budget"]
    code = _code_error(reference, fast)
    delta = _delta_e_itp_pq(reference, fast)
    assert np.percentile(code, 99.9) <= fp.BUDGET_P999_CODE10
    assert delta.max() <= fp.BUDGET_MAX_DELTA_E_ITP
    assert not np.array_equal(fast, reference)  # really the LUT, not the exact path
    # A second frame is served by the LUT without another check.
    second = plate(320, 180, frame=5)
    ref2 = Transform(target=PQ).apply(second)
    assert np.percentile(_code_error(ref2, auto.apply(second)), 99.9) <= 1.0


def test_restart_count_reports_the_frames_since(plate) -> None:
    """A Transform kept for a farm worker's next chunk reports that chunk's
    routed fraction, as a fresh Transform would, and keeps its first-frame check."""
    first = plate(96, 64, frame=1)  # gamut-edge patches: some pixels routed
    second = np.full_like(first, 0.18)  # grey: none routed
    kept = Transform(target=PQ, color_path="auto")
    kept.apply(first)
    checked = kept.color_path_info["frame_errors"]
    assert kept.color_path_info["routed_exact_fraction"] > 0
    kept.restart_count()
    kept.apply(second)
    fresh = Transform(target=PQ, color_path="fast")
    fresh.apply(second)
    info = kept.color_path_info
    assert fresh.color_path_info["routed_exact_fraction"] == 0.0
    assert info["routed_exact_fraction"] == 0.0
    assert info["frame_errors"] == checked and info["path"] == "fast"


def test_fast_path_passes_alpha_and_nonfinite_through(plate) -> None:
    rgb = plate(64, 36)
    alpha = np.linspace(0.0, 1.0, 64 * 36, dtype=np.float32).reshape(36, 64, 1)
    rgba = np.ascontiguousarray(np.concatenate([rgb, alpha], axis=2))
    rgba[3, 5, 1] = np.nan
    rgba[4, 6, 0] = np.inf
    fast = Transform(target=PQ, color_path="fast").apply(rgba)
    exact = Transform(target=PQ).apply(rgba)
    np.testing.assert_array_equal(fast[..., 3], rgba[..., 3])
    # Non-finite pixels are routed to the exact processor: identical results.
    np.testing.assert_array_equal(fast[3, 5], exact[3, 5])
    np.testing.assert_array_equal(fast[4, 6], exact[4, 6])


def test_scene_referred_target_stays_exact() -> None:
    tf = Transform(target="acescg", color_path="auto")
    info = tf.color_path_info
    assert info["path"] == "exact" and "scene-referred" in info["reason"]


# --------------------------------------------------------------------- colour path


@pytest.mark.parametrize(
    ("argument", "env", "expected"),
    [
        (None, None, "exact"),
        (None, "auto", "auto"),
        ("fast", "exact", "fast"),
        (None, " FAST ", "fast"),
    ],
    ids=["default", "env", "argument-wins", "env-normalised"],
)
def test_resolve_color_path(
    argument: str | None,
    env: str | None,
    expected: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if env is not None:
        monkeypatch.setenv(fp.COLOR_PATH_ENV, env)
    assert fp.resolve_color_path(argument) == expected


@pytest.mark.parametrize("bad", ["quick", "lut"], ids=["quick", "lut"])
def test_resolve_color_path_rejects(bad: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InputError, match="auto, exact, fast"):
        fp.resolve_color_path(bad)
    monkeypatch.setenv(fp.COLOR_PATH_ENV, bad)
    with pytest.raises(InputError, match=fp.COLOR_PATH_ENV):
        Transform(target=PQ)


# --------------------------------------------------------------------- cache


def test_bake_cache_round_trip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_stress: fp.StressSet
) -> None:
    monkeypatch.setenv(fp.CACHE_ENV, str(tmp_path))
    fp.clear_memory_cache()
    tf = Transform(target=PQ)
    first = fp.bake(tf, size=33, stress=small_stress)
    files = sorted(tmp_path.iterdir())
    assert [p.suffix for p in files] == [".npz"]  # no temp file left behind
    assert first.cache_file == str(files[0])
    stamp = files[0].stat().st_mtime_ns
    fp.clear_memory_cache()
    again = fp.bake(tf, size=33, stress=small_stress)
    assert files[0].stat().st_mtime_ns == stamp  # loaded, not re-baked
    np.testing.assert_array_equal(again.lut, first.lut)
    assert again.threshold == first.threshold and again.errors == first.errors
    # The LUT is indexed [r, g, b]: its node (i, j, k) holds the exact processor's
    # value at AP1 (x_i, x_j, x_k) of the shaper grid.
    x = first.shaper.inverse(np.linspace(0.0, 1.0, 33))
    node = np.array([[[x[30], x[12], x[3]]]])
    expected = tf.apply(_ap1_to_ap0(node))
    np.testing.assert_allclose(first.lut[30, 12, 3], expected[0, 0], atol=2e-6)
    # Another size is another key; a damaged file is re-baked, not trusted.
    other = fp.bake(tf, size=9, stress=small_stress)
    assert other.key != first.key and len(list(tmp_path.iterdir())) == 2
    files[0].write_bytes(b"not an npz")
    fp.clear_memory_cache()
    rebaked = fp.bake(tf, size=33, stress=small_stress)
    np.testing.assert_array_equal(rebaked.lut, first.lut)
    fp.clear_memory_cache()


@pytest.mark.parametrize("dtype", [np.float32, np.float16], ids=["float", "half"])
def test_auto_falls_back_when_first_frame_is_over_budget(
    monkeypatch: pytest.MonkeyPatch, plate, dtype: type
) -> None:
    frame = plate(96, 64, frame=1).astype(dtype)  # half: widened strip by strip
    auto = Transform(target=PQ, color_path="auto")
    assert auto.color_path_info["path"] == "fast"  # the bake itself was accepted
    # A budget no LUT can meet: the frame check must reject and hand back exact.
    monkeypatch.setattr(fp.accuracy, "BUDGET_P999_CODE10", -1.0)
    out = auto.apply(frame)
    info = auto.color_path_info
    assert info["path"] == "exact" and "first frame over budget" in info["reason"]
    np.testing.assert_array_equal(out, Transform(target=PQ).apply(frame))
    np.testing.assert_array_equal(auto.apply(frame), out)


def test_each_bake_gets_its_own_lut_processor(small_stress: fp.StressSet) -> None:
    """OCIO's processor cache keys an in-memory Lut3DTransform on its description,
    which does not cover all its data: two bakes that differ only inside the LUT
    must still evaluate with their own data (regression: the second reused the
    first's processor)."""
    t = Transform(target=PQ, color_path="exact")
    first = fp.bake(t, size=17, stress=small_stress, use_cache=False)
    node = (8, 9, 10)
    lut = first.lut.copy()
    # One interior node moves, inside the LUT's value range: first and last
    # values, minimum and maximum all stay the same.
    lut[node] = 0.5 * (lut.min() + lut.max()) - 0.1
    assert (lut.min(), lut.max()) == (first.lut.min(), first.lut.max())
    second = dataclasses.replace(first, key="other", lut=lut)
    shaper = first.shaper
    s = np.linspace(0.0, 1.0, first.size)
    ap1 = np.array([[shaper.inverse(s[i : i + 1])[0] for i in node]], np.float32)
    pixel = _ap1_to_ap0(ap1).reshape(1, 1, 3)
    outs = []
    for baked in (first, second):
        fast = fp.FastPath(t, dataclasses.replace(baked, threshold=1.0))
        out = pixel.copy()
        fast.apply_rgb(out)
        outs.append(out.ravel())
    np.testing.assert_allclose(outs[0], first.lut[node], atol=2e-3)
    np.testing.assert_allclose(outs[1], lut[node], atol=2e-3)


# ------------------------------------------------------------------ chroma domain


def _decode_display(signal: NDArray[np.float32], target: str) -> NDArray[np.float64]:
    """Display light in BT.2020 cd/m² of an encoded signal (colour-science EOTFs)."""
    s = np.asarray(signal[..., :3], np.float64).reshape(-1, 3)
    if target == "sdr-rec709":
        light = colour.models.eotf_BT1886(np.clip(s, 0, 1), L_B=0, L_W=100)
        m = colour.matrix_RGB_to_RGB("ITU-R BT.709", "ITU-R BT.2020")
        return np.asarray(light @ m.T)
    if target == "hlg-1000":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # colour: 0 · inf at black
            return np.asarray(colour.models.eotf_BT2100_HLG(s, L_W=1000))
    return np.asarray(colour.models.eotf_ST2084(s))


@pytest.mark.parametrize("target", ["sdr-rec709", "hlg-1000"])
def test_sdr_and_hlg_meet_the_budget_in_the_chroma_domain(plate, target: str) -> None:
    """The per-channel log LUT misses the budget for these targets (SDR p99.9 2.5
    code values); the chroma-domain bake meets it, on the stress set and on a
    fixture frame measured here independently (colour-science EOTFs + ΔE_ITP)."""
    auto = Transform(target=target, color_path="auto")
    info = auto.color_path_info
    assert info["path"] == "fast", info["reason"]
    baked = info["bake"]
    assert baked["domain"]["kind"] == "chroma" and baked["accepted"]
    first = baked["attempts"][0]
    assert first["domain"]["kind"] == "rgb-log" and not first["accepted"]
    frame = plate(320, 180, frame=3)
    reference = Transform(target=target, color_path="exact").apply(frame)
    fast = auto.apply(frame)
    code = _code_error(reference, fast)
    assert np.percentile(code, 99.9) <= fp.BUDGET_P999_CODE10, np.percentile(code, 99.9)
    ia = colour.RGB_to_ICtCp(
        _decode_display(reference, target), method="ITU-R BT.2100-2 PQ"
    )
    ib = colour.RGB_to_ICtCp(_decode_display(fast, target), method="ITU-R BT.2100-2 PQ")
    assert np.max(colour.difference.delta_E_ITP(ia, ib)) <= fp.BUDGET_MAX_DELTA_E_ITP
    assert 0.0 < auto.color_path_info["routed_exact_fraction"] < 0.2
    assert not np.array_equal(fast, reference)  # really the LUT


def test_chroma_domain_maps_its_nodes_onto_the_grid() -> None:
    domain = fp.ChromaDomain(floor=0.2, size=17)
    nodes = domain.nodes(17).astype(np.float32)
    coords = nodes.copy()
    domain.prepare(coords)
    g = np.linspace(0.0, 1.0, 17)
    expected = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)
    valid = nodes[:, 2] > 0  # inside the chromaticity triangle, not black
    valid &= nodes.sum(1) > 0
    np.testing.assert_allclose(coords[valid], expected[valid], atol=2e-5)
    # Neutral lies on a node plane: greys interpolate along grid lines only.
    grey = np.full((5, 3), 0.18, np.float32) * np.array([[1], [2], [4], [8], [16]])
    domain.prepare(grey)
    steps = grey[:, 1:] * 16
    np.testing.assert_allclose(steps, np.round(steps), atol=1e-4)
    # Inside: AP1 min/max >= floor and r + g + b <= maximum; NaN and negative out.
    ap1 = np.array(
        [[1, 1, 1], [1, 0.21, 0.5], [1, 0.19, 0.5], [300, 300, 300], [np.nan, 1, 1]],
        np.float32,
    )
    inside = domain.inside(ap1, ap1.max(axis=1), ap1.min(axis=1))
    assert inside is not None
    assert inside.tolist() == [True, True, False, False, False]


def test_a_node_on_an_aces2_singularity_is_resampled() -> None:
    """OCIO 2.6's ACES 2.0 SDR view returns black at an isolated bright green (and
    white 1e-4 away); the 129³ chroma grid at floor 0.15 has a node right on it."""
    t = Transform(target="sdr-rec709", color_path="exact")
    domain = fp.ChromaDomain(floor=0.15, size=129)
    node = (119, 30, 107)
    ap1 = domain.nodes(129).reshape(129, 129, 129, 3)[node]
    config = t.exact_stage.config
    space = fp._ap1_colorspace(config)
    from_ap1 = config.getProcessor(
        ocio.ColorSpaceTransform(src=space, dst=t.source)
    ).getDefaultCPUProcessor()
    raw = fp._exact_at(t, from_ap1, ap1[None])
    if raw.max() > 0.5:
        pytest.skip(f"this OCIO no longer has the singularity (exact {raw})")
    assert raw.max() < 1e-3  # black: the exact processor's own value there
    lut, resampled = fp._bake_lut(t, 129, domain, from_ap1)
    assert resampled >= 1
    np.testing.assert_allclose(lut[node], 1.0, atol=2e-3)  # its neighbours' white


@pytest.mark.parametrize(
    "target", ["hdr-pq-1000-rec2020", "hdr-pq-1000-p3d65", "hlg-1000", "sdr-rec709"]
)
def test_delta_e_itp_matches_colour_science(target: str) -> None:
    # The verifier's own ΔE_ITP (numpy, so no colour-science import in a job)
    # against colour-science's RGB_to_ICtCp + delta_E_ITP on the decoded light.
    from hdrpipe.color import get_target
    from hdrpipe.color.fastpath.accuracy import _delta_e_itp
    from hdrpipe.colorimetry import decode_to_luminance

    t = get_target(target)
    rng = np.random.default_rng(7)
    a = rng.uniform(0.0, 1.0, (4096, 3)).astype(np.float32)
    b = np.clip(a + rng.normal(0.0, 0.01, a.shape), 0.0, 1.0).astype(np.float32)
    la, lb = (decode_to_luminance(s.astype(np.float64), t) for s in (a, b))
    if t.primaries != "rec2020":
        space = {"rec709": "ITU-R BT.709", "p3d65": "P3-D65"}[t.primaries]
        m = colour.matrix_RGB_to_RGB(space, "ITU-R BT.2020")
        la, lb = la @ m.T, lb @ m.T
    ia = colour.RGB_to_ICtCp(la, method="ITU-R BT.2100-2 PQ")
    ib = colour.RGB_to_ICtCp(lb, method="ITU-R BT.2100-2 PQ")
    reference = colour.difference.delta_E_ITP(ia, ib)
    assert reference.max() > 1.0  # the differences are not all negligible
    np.testing.assert_allclose(_delta_e_itp(a, b, t), reference, rtol=1e-9, atol=1e-9)


def test_a_bake_on_the_pool_equals_a_bake_on_one_thread(
    small_stress: fp.StressSet,
) -> None:
    # Bakes spread the exact processor and the neighbour medians over the colour
    # pool: the LUT, its threshold and its errors must not depend on that.
    baked = {
        n: fp.bake(
            Transform(target=PQ, color_path="exact", threads=n),
            size=33,
            stress=small_stress,
            use_cache=False,
        )
        for n in (1, 2)
    }
    np.testing.assert_array_equal(baked[2].lut, baked[1].lut)
    assert baked[2].threshold == baked[1].threshold
    assert baked[2].errors == baked[1].errors
