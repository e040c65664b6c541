"""PQ / HLG / BT.1886 transfer functions against colour-science and published values."""

from __future__ import annotations

import numpy as np
import pytest
from colour.models import (
    eotf_BT1886,
    eotf_BT2100_HLG,
    eotf_inverse_BT1886,
    eotf_inverse_BT2100_HLG,
    eotf_inverse_ST2084,
    eotf_ST2084,
    oetf_BT2100_HLG,
    oetf_inverse_BT2100_HLG,
    ootf_BT2100_HLG,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from hdrpipe.color import (
    decode_to_luminance,
    eotf_bt1886,
    eotf_bt2100_hlg,
    eotf_inverse_bt1886,
    eotf_inverse_bt2100_hlg,
    eotf_inverse_st2084,
    eotf_st2084,
    get_target,
    oetf_bt2100_hlg,
    oetf_inverse_bt2100_hlg,
    ootf_bt2100_hlg,
)
from hdrpipe.errors import ColorError

CODE_12 = 4095.0  # 0.5 code value at 12 bits = 0.5 / 4095 of the signal range
HALF_CODE_12 = 0.5 / CODE_12

# Dense ramps: luminance 0 … 10 000 cd/m² (log-spaced + linear), signal 0 … 1.
NITS = np.concatenate(
    [[0.0], np.geomspace(1e-5, 10_000.0, 20_000), np.linspace(0, 10_000, 5_001)]
)
SIGNAL = np.linspace(0.0, 1.0, 40_001)
SCENE = np.concatenate(
    [[0.0], np.geomspace(1e-7, 1.0, 20_000), np.linspace(0, 1, 5_001)]
)


def _codes_apart(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(np.asarray(a, np.float64) - b)) * CODE_12)


# ---------------------------------------------------------------------- PQ


def test_pq_encode_matches_colour_within_half_code_12bit() -> None:
    ours = eotf_inverse_st2084(NITS)
    assert _codes_apart(ours, eotf_inverse_ST2084(NITS)) <= 0.5
    # float32 path too (the pipeline's dtype)
    ours32 = eotf_inverse_st2084(NITS.astype(np.float32))
    assert ours32.dtype == np.float32
    assert _codes_apart(ours32, eotf_inverse_ST2084(NITS)) <= 0.5


def test_pq_decode_matches_colour_within_half_code_12bit() -> None:
    for dtype in (np.float64, np.float32):
        light = eotf_st2084(SIGNAL.astype(dtype))
        assert light.dtype == dtype
        # Compare in code values: re-encode both decodes with colour-science.
        assert (
            _codes_apart(
                eotf_inverse_ST2084(light.astype(np.float64)),
                eotf_inverse_ST2084(eotf_ST2084(SIGNAL)),
            )
            <= 0.5
        )
        np.testing.assert_allclose(
            light,
            eotf_ST2084(SIGNAL),
            rtol=1e-6 if dtype == np.float32 else 1e-12,
            atol=1e-9,
        )


def test_pq_published_values() -> None:
    # colour-science tests/test_st_2084.py: 100 cd/m² -> 0.508078421517399
    np.testing.assert_allclose(
        eotf_inverse_st2084(100.0), 0.508078421517399, rtol=1e-12
    )
    # ST 2084: code 1.0 is 10 000 cd/m², code 0 is 0 cd/m².
    assert float(eotf_st2084(1.0)) == pytest.approx(10_000.0, rel=1e-12)
    assert float(eotf_st2084(0.0)) == 0.0
    # Negative light has no code: clamps to the code of 0 cd/m² (ST 2084 domain).
    assert float(eotf_inverse_st2084(-5.0)) == pytest.approx(
        float(eotf_inverse_st2084(0.0))
    )


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=0.0, max_value=10_000.0))
def test_pq_round_trip(C: float) -> None:
    np.testing.assert_allclose(
        eotf_st2084(eotf_inverse_st2084(C)), C, rtol=1e-9, atol=1e-9
    )


# --------------------------------------------------------------------- HLG


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # colour: log of 0
def test_hlg_oetf_and_inverse_match_colour_within_half_code_12bit() -> None:
    assert _codes_apart(oetf_bt2100_hlg(SCENE), oetf_BT2100_HLG(SCENE)) <= 0.5
    assert (
        _codes_apart(oetf_bt2100_hlg(SCENE.astype(np.float32)), oetf_BT2100_HLG(SCENE))
        <= 0.5
    )
    scene = oetf_inverse_bt2100_hlg(SIGNAL)
    np.testing.assert_allclose(
        scene, oetf_inverse_BT2100_HLG(SIGNAL), rtol=1e-12, atol=1e-15
    )
    # BT.2100 Table 5: E' = 0.5 at E = 1/12, 1.0 at E = 1.
    assert float(oetf_bt2100_hlg(1 / 12)) == pytest.approx(0.5, abs=1e-12)
    assert float(oetf_bt2100_hlg(1.0)) == pytest.approx(1.0, abs=1e-7)


def _rgb_ramp() -> np.ndarray:
    # Neutral and coloured display-light triplets up to 1000 cd/m².
    rng = np.random.default_rng(2)
    grey = np.repeat(NITS[NITS <= 1000][:, None], 3, axis=1)
    colours = rng.random((5000, 3)) ** 3 * 1000
    return np.concatenate([grey, colours])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # colour: 0 · inf at black
def test_hlg_eotf_and_inverse_match_colour_within_half_code_12bit() -> None:
    rgb_light = _rgb_ramp()
    signal_ref = eotf_inverse_BT2100_HLG(rgb_light, L_W=1000)
    assert _codes_apart(eotf_inverse_bt2100_hlg(rgb_light, L_W=1000), signal_ref) <= 0.5
    assert (
        _codes_apart(eotf_inverse_bt2100_hlg(rgb_light.astype(np.float32)), signal_ref)
        <= 0.5
    )
    signal = np.random.default_rng(3).random((5000, 3))
    light = eotf_bt2100_hlg(signal, L_W=1000)
    np.testing.assert_allclose(
        light, eotf_BT2100_HLG(signal, L_W=1000), rtol=1e-9, atol=1e-9
    )
    # Other peaks (system gamma 1.2 + 0.42 log10(L_W / 1000)) and a black lift.
    for L_W, L_B in ((400.0, 0.0), (2000.0, 0.0), (1000.0, 0.005)):
        np.testing.assert_allclose(
            eotf_bt2100_hlg(signal, L_W=L_W, L_B=L_B),
            eotf_BT2100_HLG(signal, L_B=L_B, L_W=L_W),
            rtol=1e-9,
            atol=1e-9,
        )


def test_hlg_ootf_matches_colour_and_uses_gamma_1_2_at_1000_nits() -> None:
    E = np.random.default_rng(4).random((1000, 3))
    np.testing.assert_allclose(
        ootf_bt2100_hlg(E), ootf_BT2100_HLG(E, L_W=1000), rtol=1e-12
    )
    # Achromatic E: F_D = 1000 · E^1.2 (BT.2100 Table 5 with γ = 1.2).
    grey = np.full((1, 3), 0.25)
    np.testing.assert_allclose(ootf_bt2100_hlg(grey), 1000 * 0.25**1.2, rtol=1e-12)


def test_hlg_ootf_rejects_non_rgb() -> None:
    with pytest.raises(ColorError, match="last axis"):
        ootf_bt2100_hlg(np.zeros((4, 2)))


@settings(max_examples=200, deadline=None)
@given(
    st.tuples(*(st.floats(min_value=0.0, max_value=1000.0) for _ in range(3))).filter(
        lambda t: 0.2627 * t[0] + 0.6780 * t[1] + 0.0593 * t[2] > 1e-6
    )
)
def test_hlg_round_trip(rgb: tuple[float, float, float]) -> None:
    F_D = np.array(rgb)
    np.testing.assert_allclose(
        eotf_bt2100_hlg(eotf_inverse_bt2100_hlg(F_D)), F_D, rtol=1e-7, atol=1e-6
    )


# ------------------------------------------------------------------ BT.1886


def test_bt1886_matches_colour() -> None:
    np.testing.assert_allclose(
        eotf_bt1886(SIGNAL), eotf_BT1886(SIGNAL, L_B=0, L_W=100), rtol=1e-12
    )
    np.testing.assert_allclose(
        eotf_bt1886(SIGNAL, L_W=100, L_B=0.1),
        eotf_BT1886(SIGNAL, L_B=0.1, L_W=100),
        rtol=1e-12,
    )
    light = np.linspace(0, 100, 10_001)
    assert (
        _codes_apart(
            eotf_inverse_bt1886(light), eotf_inverse_BT1886(light, L_B=0, L_W=100)
        )
        <= 0.5
    )


@settings(max_examples=100, deadline=None)
@given(st.floats(min_value=0.0, max_value=100.0))
def test_bt1886_round_trip(L: float) -> None:
    np.testing.assert_allclose(
        eotf_bt1886(eotf_inverse_bt1886(L)), L, rtol=1e-9, atol=1e-9
    )


# ------------------------------------------------------------ by target


def test_decode_to_luminance_per_target() -> None:
    signal = np.random.default_rng(5).random((4, 5, 4)).astype(np.float32)  # RGBA
    pq = decode_to_luminance(signal, get_target("hdr-pq-1000-rec2020"))
    np.testing.assert_allclose(
        pq, eotf_ST2084(signal[..., :3].astype(np.float64)), rtol=2e-5
    )
    hlg = decode_to_luminance(signal, get_target("hlg-1000"))
    np.testing.assert_allclose(
        hlg, eotf_BT2100_HLG(signal[..., :3].astype(np.float64), L_W=1000), rtol=1e-4
    )
    sdr = decode_to_luminance(signal, get_target("sdr-rec709"))
    np.testing.assert_allclose(
        sdr, 100 * signal[..., :3].astype(np.float64) ** 2.4, rtol=1e-5
    )
    with pytest.raises(ColorError, match="scene-referred"):
        decode_to_luminance(signal, get_target("acescg"))
