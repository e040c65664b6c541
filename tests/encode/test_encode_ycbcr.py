"""Y'CbCr matrices, narrow-range codes and chroma siting vs independent references."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from hdrpipe.encode.ycbcr import (
    MATRICES,
    BandConverter,
    code_range,
    downsample_chroma,
    quantise_alpha,
    rgb_to_ycbcr,
    ycbcr_to_rgb,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import colour

MATRIX_K = {"bt2020nc": "ITU-R BT.2020", "bt709": "ITU-R BT.709"}
RNG = np.random.default_rng(2026)
RGB = RNG.uniform(0.0, 1.0, (31, 37, 3)).astype(np.float32)


@pytest.mark.parametrize(
    ("matrix", "bits"),
    [("bt2020nc", 10), ("bt2020nc", 12), ("bt709", 8), ("bt709", 10)],
    ids=["2020-10", "2020-12", "709-8", "709-10"],
)
def test_444_matches_colour_science(matrix: str, bits: int) -> None:
    # colour-science RGB_to_YCbCr with the same K, legal (narrow) range, float output
    # (normalised by 2^n - 1): ours are integers, so the difference must be ≤ 0.5 code.
    ref = (2**bits - 1) * colour.RGB_to_YCbCr(
        RGB.astype(np.float64),
        K=colour.WEIGHTS_YCBCR[MATRIX_K[matrix]],
        out_bits=bits,
        out_legal=True,
        out_int=False,
    )
    y, cb, cr = rgb_to_ycbcr(RGB, matrix=matrix, bit_depth=bits, chroma="444")
    ours = np.stack([y, cb, cr], axis=-1).astype(np.float64)
    lo, hi = code_range(bits)
    ref = np.clip(ref, lo, hi)
    worst = np.unravel_index(np.argmax(np.abs(ours - ref)), ours.shape)
    assert np.abs(ours - ref).max() <= 0.5 + 1e-3, (
        f"worst at {worst}: {ours[worst]} vs {ref[worst]}"
    )


@pytest.mark.parametrize(
    ("rgb", "matrix", "bits", "codes"),
    [
        # BT.2100-2 Table 9 / BT.709-6 Item 4.6: black 64, white 940, achromatic
        # Cb=Cr=512 (10 bit)
        ((0.0, 0.0, 0.0), "bt2020nc", 10, (64, 512, 512)),
        ((1.0, 1.0, 1.0), "bt2020nc", 10, (940, 512, 512)),
        ((1.0, 1.0, 1.0), "bt709", 8, (235, 128, 128)),
        ((0.0, 0.0, 0.0), "bt709", 12, (256, 2048, 2048)),
        # Red primary, BT.2020 NCL: Y' = 0.2627 → 64 + 876*0.2627 = 294.1 → 294;
        # Cb = -0.2627 / 1.8814 → 512 - 896*0.13963 = 386.9 → 387; Cr = 0.5 → 960
        ((1.0, 0.0, 0.0), "bt2020nc", 10, (294, 387, 960)),
    ],
    ids=["black", "white", "white-709-8", "black-709-12", "red-2020"],
)
def test_published_code_values(rgb, matrix, bits, codes) -> None:
    frame = np.array(rgb, np.float32).reshape(1, 1, 3)
    y, cb, cr = rgb_to_ycbcr(frame, matrix=matrix, bit_depth=bits, chroma="444")
    assert (int(y[0, 0]), int(cb[0, 0]), int(cr[0, 0])) == codes


def test_rounding_not_truncation() -> None:
    # Y' = 0.5 at 10 bits: 64 + 876 * 0.5 = 502 exactly; Y' for 0.5 + 0.6/876 → 502.6
    # → 503.
    v = np.float32(0.5 + 0.6 / 876)
    y, _, _ = rgb_to_ycbcr(
        np.full((1, 1, 3), v, np.float32), matrix="bt2020nc", bit_depth=10, chroma="444"
    )
    assert int(y[0, 0]) == 503


def test_out_of_range_is_limited_to_video_data_codes() -> None:
    frame = np.array([[[-0.5, -0.5, -0.5], [1.5, 1.5, 1.5]]], np.float32)
    y, cb, cr = rgb_to_ycbcr(frame, matrix="bt2020nc", bit_depth=10, chroma="444")
    assert int(y.min()) == 4 and int(y.max()) == 1019  # BT.2100 Table 9 reserved codes


def _ref_h(c: np.ndarray) -> np.ndarray:
    """[1,2,1]/4 centred on even columns, edge replicated (loop, independent of the
    code).
    """
    h, w = c.shape
    out = np.zeros((h, (w + 1) // 2))
    for k in range(out.shape[1]):
        j = 2 * k
        left, right = c[:, max(j - 1, 0)], c[:, min(j + 1, w - 1)]
        out[:, k] = (left + 2 * c[:, j] + right) / 4
    return out


def _ref_v(c: np.ndarray) -> np.ndarray:
    """[1,3,3,1]/8 centred between rows 2k and 2k+1 (chroma loc type 0), edge
    replicated.
    """
    h, w = c.shape
    out = np.zeros(((h + 1) // 2, w))
    clip = lambda i: min(max(i, 0), h - 1)  # noqa: E731
    for k in range(out.shape[0]):
        i = 2 * k
        out[k] = (
            c[clip(i - 1)] + 3 * c[clip(i)] + 3 * c[clip(i + 1)] + c[clip(i + 2)]
        ) / 8
    return out


@pytest.mark.parametrize(
    "shape", [(8, 10), (9, 11), (2, 2)], ids=["even", "odd", "tiny"]
)
def test_downsample_filters_and_siting(shape) -> None:
    c = RNG.uniform(-0.5, 0.5, shape).astype(np.float32)
    np.testing.assert_allclose(downsample_chroma(c, "422"), _ref_h(c), atol=1e-6)
    np.testing.assert_allclose(
        downsample_chroma(c, "420"), _ref_v(_ref_h(c)), atol=1e-6
    )


def test_cosited_impulse_lands_on_its_chroma_sample() -> None:
    # A chroma impulse on luma column 4 (even = co-sited) stays centred on chroma
    # column 2.
    c = np.zeros((2, 10), np.float32)
    c[:, 4] = 1.0
    out = downsample_chroma(c, "422")
    np.testing.assert_allclose(out[0], [0, 0, 0.5, 0, 0], atol=1e-7)
    # On an odd column (interstitial) it splits evenly between chroma columns 1 and 2.
    c2 = np.zeros((2, 10), np.float32)
    c2[:, 3] = 1.0
    np.testing.assert_allclose(
        downsample_chroma(c2, "422")[0], [0, 0.25, 0.25, 0, 0], atol=1e-7
    )


@pytest.mark.parametrize("chroma", ["444", "422", "420"])
def test_round_trip_flat_colour_is_exact_to_quantisation(chroma) -> None:
    # Flat colour: filters are exact, so only quantisation error remains (≤ ~1 code
    # value).
    frame = np.empty((8, 12, 3), np.float32)
    frame[:] = (0.3, 0.6, 0.2)
    y, cb, cr = rgb_to_ycbcr(frame, matrix="bt2020nc", bit_depth=10, chroma=chroma)
    back = ycbcr_to_rgb(y, cb, cr, matrix="bt2020nc", bit_depth=10, chroma=chroma)
    assert back.dtype == np.float32 and back.shape == frame.shape
    np.testing.assert_allclose(back, frame, atol=1.5 / 876)


@settings(max_examples=40, deadline=None)
@given(arrays(np.float32, (4, 6, 3), elements=st.floats(0.0, 1.0, width=32)))
def test_round_trip_444_within_quantisation(rgb) -> None:
    y, cb, cr = rgb_to_ycbcr(rgb, matrix="bt709", bit_depth=12, chroma="444")
    back = ycbcr_to_rgb(y, cb, cr, matrix="bt709", bit_depth=12, chroma="444")
    # Worst channel is B' = Y' + 2(1 - K_B) Cb: half a Y' code + 1.8556 × half a Cb
    # code.
    bound = 0.5 / (219 * 16) + 2 * (1 - 0.0722) * 0.5 / (224 * 16)
    assert np.abs(back - rgb).max() <= bound + 1e-6


def test_alpha_full_range() -> None:
    a = np.array([0.0, 0.5, 1.0], np.float32)
    assert quantise_alpha(a, 10).tolist() == [0, 512, 1023]


@pytest.mark.parametrize("chroma", ["444", "422", "420"])
def test_out_planes_may_be_strided_views_of_a_frame_buffer(chroma: str) -> None:
    """The writer converts straight into the encoder's (row-padded) buffers."""
    rgb = RNG.uniform(-0.05, 1.05, (2100 // 37, 1901, 4)).astype(np.float32)
    y, cb, cr = rgb_to_ycbcr(rgb, matrix="bt2020nc", bit_depth=10, chroma=chroma)
    pad = 13  # a line size wider than the plane, as FFmpeg allocates
    bufs = [np.zeros((p.shape[0], p.shape[1] + pad), np.uint16) for p in (y, cb, cr)]
    views = tuple(b[:, : p.shape[1]] for b, p in zip(bufs, (y, cb, cr), strict=True))
    got = rgb_to_ycbcr(
        rgb,
        matrix="bt2020nc",
        bit_depth=10,
        chroma=chroma,
        out=views,
    )
    for ours, ref, buf in zip(got, (y, cb, cr), bufs, strict=True):
        np.testing.assert_array_equal(ours, ref)
        assert not buf[:, -pad:].any()  # nothing written past the plane width
    # Block boundaries (every 17 rows at this width) leave no seam: a vertical
    # ramp quantises monotonically across the whole height.
    ramp = np.repeat(np.linspace(0.0, 1.0, rgb.shape[0], dtype=np.float32), 3)
    ramp = np.broadcast_to(ramp.reshape(-1, 1, 3), (rgb.shape[0], 40, 3))
    y_ramp, _, _ = rgb_to_ycbcr(ramp, matrix="bt2020nc", bit_depth=10, chroma=chroma)
    assert (np.diff(y_ramp[:, 0].astype(int)) >= 0).all()
    with pytest.raises(ValueError, match="do not fit"):
        rgb_to_ycbcr(
            rgb, matrix="bt2020nc", bit_depth=10, chroma=chroma, out=(y, cb[:, 1:], cr)
        )


def _whole_plane_codes(
    rgb: np.ndarray, matrix: str, bits: int, chroma: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The conversion as it was done before bands: float32 E'Y/E'Cb/E'Cr planes of
    the whole frame, chroma down-sampled as whole planes, then quantised (the
    same float32 operations per sample, so the same codes to the bit)."""
    f32 = np.float32
    k_r, k_b = MATRICES[matrix]
    k_g = 1.0 - k_r - k_b
    r, g, b = (rgb[..., i].astype(f32) for i in range(3))
    y = r * f32(k_r)
    y += g * f32(k_g)
    y += b * f32(k_b)
    cb = (b - y) * f32(1.0 / (2.0 * (1.0 - k_b)))
    cr = (r - y) * f32(1.0 / (2.0 * (1.0 - k_r)))
    lo, hi = code_range(bits)
    scale = f32(1 << (bits - 8))

    def q(e: np.ndarray, gain: float, offset: float) -> np.ndarray:
        e = e * (f32(gain) * scale) + f32(offset) * scale + f32(0.5)
        return np.clip(np.floor(e), lo, hi).astype(np.uint16)

    return (
        q(y, 219.0, 16.0),
        q(downsample_chroma(cb, chroma), 224.0, 128.0),  # type: ignore[arg-type]
        q(downsample_chroma(cr, chroma), 224.0, 128.0),  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("chroma", ["444", "422", "420"])
@pytest.mark.parametrize("shape", [(31, 37), (64, 40), (1, 5), (600, 24)])
def test_bands_in_any_order_give_the_whole_frame_codes(
    chroma: str, shape: tuple[int, int]
) -> None:
    """A colour stage hands the signal over in strips (any rows, any order, from
    several threads): the codes equal the whole-plane conversion's, to the bit,
    including the 4:2:0 chroma rows whose filter straddles two strips."""
    h, w = shape
    rgb = RNG.uniform(-0.05, 1.05, (h, w, 4)).astype(np.float32)
    ref = _whole_plane_codes(rgb, "bt2020nc", 10, chroma)
    whole = rgb_to_ycbcr(rgb, matrix="bt2020nc", bit_depth=10, chroma=chroma)
    for ours, want in zip(whole, ref, strict=True):
        np.testing.assert_array_equal(ours, want)
    rng = np.random.default_rng(h * w)
    for _ in range(4):
        cuts = sorted({0, h, *rng.integers(0, h + 1, size=5).tolist()})
        bands = list(itertools.pairwise(cuts))
        rng.shuffle(bands)
        conv = BandConverter(h, w, matrix="bt2020nc", bit_depth=10, chroma=chroma)
        for lo, hi in bands:
            conv.band(lo, rgb[lo:hi])
        for ours, want in zip(conv.finish(), ref, strict=True):
            np.testing.assert_array_equal(ours, want)
    # One row at a time, bottom up: every 4:2:0 chroma row is made by finish().
    conv = BandConverter(h, w, matrix="bt2020nc", bit_depth=10, chroma=chroma)
    for row in reversed(range(h)):
        conv.band(row, rgb[row : row + 1])
    for ours, want in zip(conv.finish(), ref, strict=True):
        np.testing.assert_array_equal(ours, want)


def test_a_band_left_out_is_an_error_not_stale_codes() -> None:
    rgb = RNG.uniform(0.0, 1.0, (16, 8, 3)).astype(np.float32)
    conv = BandConverter(16, 8, matrix="bt709", bit_depth=8, chroma="420")
    conv.band(0, rgb[:7])
    conv.band(9, rgb[9:])  # rows 7-8 never given
    with pytest.raises(ValueError, match="do not cover the frame"):
        conv.finish()
    with pytest.raises(ValueError, match="does not fit"):
        conv.band(12, rgb[:8])  # past the last row
