"""Reformat: raster names, placement, pixels (bars, orientation), data window."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hdrpipe.errors import ConformError, InputError
from hdrpipe.resample.reformat import (
    apply_reformat,
    fill_display_window,
    parse_raster,
    plan_reformat,
    resize,
)

RASTERS = [
    ("3840x2160", (3840, 2160)),
    ("1920X1080", (1920, 1080)),
    ("2160×3840", (2160, 3840)),
    ("uhd", (3840, 2160)),
    ("UHD", (3840, 2160)),
    ("hd", (1920, 1080)),
    ("1080p", (1920, 1080)),
    ("2160p", (3840, 2160)),
    ("dci4k", (4096, 2160)),
    ("dci2k", (2048, 1080)),
    (" 64x36 ", (64, 36)),
]


@pytest.mark.parametrize(("text", "size"), RASTERS, ids=[r[0] for r in RASTERS])
def test_parse_raster(text: str, size: tuple[int, int]) -> None:
    assert parse_raster(text) == size


@pytest.mark.parametrize(
    "text",
    [
        "",
        "4k",
        "3840",
        "3840x",
        "x2160",
        "0x100",
        "3840x2160x3",
        "-3840x2160",
        "99999x10",
        "1920.5x1080",
    ],
)
def test_parse_raster_rejects(text: str) -> None:
    with pytest.raises(InputError):
        parse_raster(text)


def test_scope_239_letterboxed_in_uhd() -> None:
    # 1920x804 (2.39:1) doubled is 3840x1608, bars (2160 - 1608) / 2 = 276 px each.
    p = plan_reformat(1920, 804, 3840, 2160, "letterbox")
    assert (p.width, p.height, p.scaled, p.offset, p.active) == (
        3840,
        2160,
        (3840, 1608),
        (0, 276),
        (0, 276, 3840, 1608),
    )


def test_vertical_pillarboxed_and_native() -> None:
    p = plan_reformat(1080, 1920, 3840, 2160, "pillarbox")
    # 9:16 at 2160 high is 1215 wide: the nearest even width is 1216.
    assert p.scaled == (1216, 2160) and p.active == (1312, 0, 1216, 2160)
    native = plan_reformat(1080, 1920, 2160, 3840, "letterbox")
    assert native.scaled == (2160, 3840) and native.active == (0, 0, 2160, 3840)


def test_crop_stretch_none() -> None:
    crop = plan_reformat(1920, 1080, 3840, 1608, "crop")
    assert crop.scaled == (3840, 2160) and crop.offset == (0, -276)
    assert crop.active == (0, 0, 3840, 1608)
    stretch = plan_reformat(1920, 804, 3840, 2160, "stretch")
    assert stretch.scaled == (3840, 2160) and stretch.active == (0, 0, 3840, 2160)
    none = plan_reformat(1920, 1080, 3840, 2160, "none")
    assert none.scaled == (1920, 1080) and none.active == (960, 540, 1920, 1080)
    anamorphic = plan_reformat(1440, 1080, 1920, 1080, pixel_aspect=4 / 3)
    assert anamorphic.scaled == (1920, 1080)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(16, 8192),
    st.integers(16, 8192),
    st.sampled_from(
        [(3840, 2160), (1920, 1080), (2160, 3840), (4096, 2160), (1080, 1080)]
    ),
    st.sampled_from(["letterbox", "pillarbox", "crop"]),
)
def test_plan_properties(sw: int, sh: int, raster: tuple[int, int], fit: str) -> None:
    w, h = raster
    p = plan_reformat(sw, sh, w, h, fit)  # type: ignore[arg-type]
    ax, ay, aw, ah = p.active
    assert 0 <= ax and 0 <= ay and ax + aw <= w and ay + ah <= h and aw > 0 and ah > 0
    assert all(v % 2 == 0 for v in (*p.offset, aw, ah))  # 4:2:0-safe active area
    if fit == "crop":
        assert p.active == (0, 0, w, h)
        assert p.scaled[0] >= w and p.scaled[1] >= h
    else:
        assert aw == w or ah == h  # one side fills the raster
        assert p.scaled == (aw, ah)
    # aspect kept within the rounding to even pixels
    assert abs(p.scaled[0] / p.scaled[1] - sw / sh) <= (sw / sh) * 2.5 / min(p.scaled)


def test_plan_rejects() -> None:
    with pytest.raises(InputError):
        plan_reformat(0, 10, 64, 36)
    with pytest.raises(InputError):
        plan_reformat(10, 10, 64, 36, "fill")  # type: ignore[arg-type]


def test_letterbox_pixels_bars_and_light_level() -> None:
    # 2.4:1 source of constant HDR light (250) with one 4000 specular pixel.
    src = np.full((100, 240, 3), 250.0, np.float32)
    src[50, 120] = 4000.0
    p = plan_reformat(240, 100, 384, 216, "letterbox")
    assert p.active == (0, 28, 384, 160)
    out = apply_reformat(src, p)
    assert out.shape == (216, 384, 3) and out.dtype == np.float32
    assert np.all(out[:28] == 0.0) and np.all(out[188:] == 0.0)  # bars: 28 rows each
    ax, ay, aw, ah = p.active
    picture = out[ay : ay + ah, ax : ax + aw]
    # Away from the specular, a resized constant stays constant.
    np.testing.assert_allclose(picture[:20], 250.0, rtol=1e-5)
    # CTA-861.3: MaxFALL over the picture (bars excluded) is the source average
    # (a normalised filter preserves the mean); over the whole raster the bars
    # would pull it down by 160/216.
    src_fall = src.max(axis=2).mean()
    np.testing.assert_allclose(picture.max(axis=2).mean(), src_fall, rtol=2e-3)
    assert out.max(axis=2).mean() < 0.75 * src_fall
    # MaxCLL: the bars hold nothing; the peak lies inside the active picture.
    assert out.max() == picture.max() and picture.max() > 3000.0


def test_box_downscale_matches_numpy_mean() -> None:
    rng = np.random.default_rng(3)
    src = (rng.random((36, 64, 4)) * 100).astype(np.float32)
    out = resize(src, (32, 18), filter="box")  # OIIO path
    ref = src.reshape(18, 2, 32, 2, 4).mean(axis=(1, 3))
    np.testing.assert_allclose(out, ref, rtol=1e-5)


@pytest.mark.parametrize("filt", ["lanczos3", "mitchell", "catmull-rom", "triangle"])
@pytest.mark.parametrize(
    ("shape", "size"),
    [
        ((36, 64, 3), (128, 72)),
        ((36, 64, 4), (40, 22)),
        ((80, 192, 3), (384, 160)),
        ((192, 108, 3), (122, 216)),
    ],
    ids=["up2", "down", "letterbox", "pillarbox"],
)
def test_separable_resize_matches_oiio(
    filt: str, shape: tuple[int, int, int], size: tuple[int, int]
) -> None:
    rng = np.random.default_rng(4)
    src = (rng.random(shape) * 10).astype(np.float32)
    fast = resize(src, size, filter=filt)
    oiio = resize(src, size, filter=filt, engine="oiio")
    err = np.abs(fast - oiio)
    worst = np.unravel_index(int(err.argmax()), err.shape)
    assert err.max() < 5e-4, f"worst pixel {worst}: {fast[worst]} vs OIIO {oiio[worst]}"


def test_orientation_preserved() -> None:
    src = np.zeros((36, 64, 4), np.float32)
    src[:4, :4] = (1.0, 2.0, 3.0, 1.0)  # top-left marker
    p = plan_reformat(64, 36, 128, 128, "letterbox")
    out = apply_reformat(src, p, filter="triangle")
    ax, ay, _, _ = p.active
    np.testing.assert_allclose(out[ay + 2, ax + 2], (1.0, 2.0, 3.0, 1.0), rtol=1e-6)
    assert (
        out[ay + 60, ax + 120].max() == 0.0
    )  # bottom-right of the picture stays empty


def test_apply_rejects() -> None:
    with pytest.raises(ConformError):
        apply_reformat(np.zeros((8, 8), np.float32), plan_reformat(8, 8, 16, 16))


def test_data_window_places_pixels() -> None:
    # Display window 64x36 at (0, 0); data window (10, 5)-(29, 14): 20x10 pixels.
    data = np.zeros((10, 20, 3), np.float32)
    ys, xs = np.mgrid[5:15, 10:30]
    data[..., 0], data[..., 1], data[..., 2] = xs, ys, 1.0
    out = fill_display_window(data, (10, 5, 29, 14), (0, 0, 63, 35))
    assert out.shape == (36, 64, 3)
    inside = out[..., 2] == 1.0
    assert inside.sum() == 200
    yy, xx = np.nonzero(inside)
    assert (xx.min(), yy.min(), xx.max(), yy.max()) == (10, 5, 29, 14)
    np.testing.assert_array_equal(out[yy, xx, 0], xx)  # each pixel at its own (x, y)
    np.testing.assert_array_equal(out[yy, xx, 1], yy)
    assert np.all(out[~inside] == 0.0)


def test_data_window_outside_display() -> None:
    data = np.ones((10, 10, 4), np.float32)
    out = fill_display_window(data, (-5, -5, 4, 4), (0, 0, 7, 7))  # overlaps the corner
    assert out[:5, :5].min() == 1.0 and out[5:].max() == 0.0 and out[:, 5:].max() == 0.0
    shifted = fill_display_window(
        data, (0, 0, 9, 9), (100, 100, 107, 107)
    )  # no overlap
    assert shifted.shape == (8, 8, 4) and shifted.max() == 0.0
    with pytest.raises(ConformError):
        fill_display_window(data, (0, 0, 10, 10), (0, 0, 7, 7))
