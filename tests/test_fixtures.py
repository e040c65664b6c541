"""The Ray3-like fixture generator, checked with colour-science, numpy and the
OpenEXR bindings (never with hdrpipe.validate)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import OpenEXR
import pytest

from fixtures.generate import (
    ASPECTS,
    BROKEN_FRAME_OFFSET,
    SPEED_PX_PER_FRAME,
    VARIANTS,
    main,
    make_plate,
    render_frame,
)
from hdrpipe.exr import AP0_CHROMATICITIES, REC709_CHROMATICITIES

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import colour

AP0 = colour.RGB_COLOURSPACES["ACES2065-1"]
AP1 = colour.RGB_COLOURSPACES["ACEScg"]


def _to_ap1(px: np.ndarray) -> np.ndarray:
    return colour.RGB_to_RGB(px.astype(np.float64), AP0, AP1)


@pytest.fixture(scope="module")
def hd_clean() -> np.ndarray:
    """1920×1080 frame 0 without grain, in ACEScg."""
    return _to_ap1(render_frame(1920, 1080, 0, grain=0.0))


def test_render_is_deterministic_and_seeded() -> None:
    a = render_frame(64, 36, 3, seed=1)
    assert a.dtype == np.float32 and a.shape == (36, 64, 3) and a.flags.c_contiguous
    np.testing.assert_array_equal(a, render_frame(64, 36, 3, seed=1))
    assert not np.array_equal(a, render_frame(64, 36, 3, seed=2))
    assert not np.array_equal(a, render_frame(64, 36, 4, seed=1))
    np.testing.assert_array_equal(
        render_frame(64, 36, 3, seed=1, grain=0),
        render_frame(64, 36, 3, seed=2, grain=0),
    )


def test_chart_patches_match_colour_science(hd_clean: np.ndarray) -> None:
    cc = colour.CCS_COLOURCHECKERS["ColorChecker24 - After November 2014"]
    xyz = colour.xyY_to_XYZ(np.array(list(cc.data.values())))
    expected = colour.XYZ_to_RGB(
        xyz, AP1, illuminant=cc.illuminant, chromatic_adaptation_transform="CAT02"
    )
    for i, rgb in enumerate(expected):
        row, col = divmod(i, 6)
        # Layout at 1920x1080: 70 px patches, 6 px gaps, from (40, 60).
        y, x = 60 + row * 76 + 35, 40 + col * 76 + 35
        np.testing.assert_allclose(hd_clean[y, x], rgb, rtol=1e-4, atol=1e-6)
    # Neutral 5 (patch 22) is an ~18 % grey card.
    assert hd_clean[60 + 3 * 76 + 35, 40 + 3 * 76 + 35].mean() == pytest.approx(
        0.19, abs=0.01
    )


def test_dynamic_range_and_gamut_edges(hd_clean: np.ndarray) -> None:
    assert hd_clean.max() == pytest.approx(
        100.0, rel=0.01
    )  # speculars, 100x diffuse white
    shadows = hd_clean[400:600, 40:340]
    assert shadows.min() == pytest.approx(0.0005, rel=0.01)
    assert np.median(shadows) == pytest.approx(0.00125, rel=0.05)
    rec2020 = colour.RGB_to_RGB(
        hd_clean,
        AP1,
        colour.RGB_COLOURSPACES["ITU-R BT.2020"],
        chromatic_adaptation_transform="CAT02",
    )
    outside_2020 = float(np.mean((rec2020 < -1e-3).any(axis=2)))
    assert 0.001 < outside_2020 < 0.05
    assert hd_clean.min() >= -1e-6  # nothing outside AP1
    ap0 = render_frame(1920, 1080, 0)  # with grain: still no negative AP0 sample
    assert int(np.count_nonzero(ap0 < 0)) == 0


def _ball_centroid_x(t: float, width: int = 480, height: int = 270) -> float:
    img = render_frame(width, height, t, grain=0.0)
    away = render_frame(width, height, t + 40, grain=0.0)  # ball 60 px further on
    diff = np.abs(img - away).sum(axis=2)
    s = width / 1920
    expected = 200 * s + SPEED_PX_PER_FRAME * s * t
    lo, hi = int(expected - 25), int(expected + 25)
    band = diff[int(175 - 25) : int(175 + 25), lo:hi]  # ball row: y = 700 * 270/1080
    xs = np.arange(lo, hi) + 0.5
    return float((band.sum(axis=0) * xs).sum() / band.sum())


def test_motion_is_analytic_in_frame_index() -> None:
    c1, c2, c15 = _ball_centroid_x(1.0), _ball_centroid_x(2.0), _ball_centroid_x(1.5)
    assert c2 - c1 == pytest.approx(SPEED_PX_PER_FRAME * 480 / 1920, abs=0.02)
    assert c15 == pytest.approx((c1 + c2) / 2, abs=0.02)


def test_grain_is_per_frame_and_about_two_percent() -> None:
    clean = render_frame(320, 180, 0, grain=0.0)
    g0, g1 = render_frame(320, 180, 0), render_frame(320, 180, 1)
    flat = slice(40, 60), slice(200, 260)  # background
    # Grain is multiplicative per ACEScg channel (the scene's working space).
    rel = _to_ap1(g0[flat]) / _to_ap1(clean[flat]) - 1.0
    assert rel.std() == pytest.approx(0.02, rel=0.05)
    assert not np.allclose(g0[flat], g1[flat])


def _header(path: Path) -> dict:
    return OpenEXR.File(str(path), header_only=True).header()


def test_make_plate_headers(tmp_path: Path) -> None:
    pattern = make_plate(tmp_path, width=32, height=18, frames=3, first=1001)
    assert pattern == tmp_path / "plate.####.exr"
    files = sorted(tmp_path.glob("plate.*.exr"))
    assert [f.name for f in files] == [
        "plate.1001.exr",
        "plate.1002.exr",
        "plate.1003.exr",
    ]
    h = _header(files[2])
    np.testing.assert_allclose(h["chromaticities"], AP0_CHROMATICITIES, atol=1e-6)
    assert h["compression"] == OpenEXR.PIZ_COMPRESSION
    assert h["acesImageContainerFlag"] == 1
    assert h["framesPerSecond"] == 24
    tc = h["timeCode"]
    assert (tc.hours, tc.minutes, tc.seconds, tc.frame) == (1, 0, 0, 2)
    chans = OpenEXR.File(str(files[0]), separate_channels=True).channels()
    assert sorted(chans) == ["B", "G", "R"]
    assert chans["R"].pixels.dtype == np.float16


@pytest.fixture(scope="module")
def variants(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("variants")
    return {
        v: make_plate(root / v, width=40, height=24, frames=7, variant=v)
        for v in VARIANTS
    }


def _frame(variants: dict[str, Path], variant: str, frame: int) -> Path:
    return variants[variant].parent / f"plate.{frame:04d}.exr"


BROKEN = 1001 + BROKEN_FRAME_OFFSET


def test_variant_missing_truncated_wrong_size_float(variants: dict[str, Path]) -> None:
    assert not _frame(variants, "missing", 1001 + 7 // 3).exists()
    assert len(list(variants["missing"].parent.glob("*.exr"))) == 6
    with pytest.raises(Exception):  # noqa: B017 - any decoder error
        OpenEXR.File(str(_frame(variants, "truncated", BROKEN))).channels()
    dw = _header(_frame(variants, "wrong_size", BROKEN))["dataWindow"]
    assert (dw[1][0] + 1, dw[1][1] + 1) == (20, 12)
    chans = OpenEXR.File(
        str(_frame(variants, "float", BROKEN)), separate_channels=True
    ).channels()
    assert chans["R"].pixels.dtype == np.float32
    ok = OpenEXR.File(
        str(_frame(variants, "float", 1001)), separate_channels=True
    ).channels()
    assert ok["R"].pixels.dtype == np.float16


def test_variant_nonfinite(variants: dict[str, Path]) -> None:
    chans = OpenEXR.File(
        str(_frame(variants, "nonfinite", BROKEN)), separate_channels=True
    ).channels()
    px = np.stack([chans[c].pixels.astype(np.float32) for c in "RGB"])
    assert int(np.isnan(px).sum()) == 5 and int(np.isinf(px).sum()) == 3
    clean = OpenEXR.File(
        str(_frame(variants, "nonfinite", 1001)), separate_channels=True
    ).channels()
    assert np.isfinite(clean["R"].pixels.astype(np.float32)).all()


def test_variant_metadata(variants: dict[str, Path]) -> None:
    np.testing.assert_allclose(
        _header(_frame(variants, "rec709_chroma", 1003))["chromaticities"],
        REC709_CHROMATICITIES,
        atol=1e-6,
    )
    assert "chromaticities" not in _header(_frame(variants, "no_chroma", 1003))
    rgba = OpenEXR.File(
        str(_frame(variants, "rgba", 1003)), separate_channels=True
    ).channels()
    assert sorted(rgba) == ["A", "B", "G", "R"]
    assert (
        len(
            OpenEXR.File(
                str(_frame(variants, "multipart", 1003)), header_only=True
            ).parts
        )
        == 2
    )


@pytest.mark.parametrize("bits", [8, 10])
def test_variant_quantised_acescct_sits_on_code_values(
    variants: dict[str, Path], bits: int
) -> None:
    chans = OpenEXR.File(
        str(_frame(variants, f"quant{bits}_acescct", 1002)), separate_channels=True
    ).channels()
    ap0 = np.stack([chans[c].pixels.astype(np.float64) for c in "RGB"], axis=2)
    ap1 = _to_ap1(ap0)
    neutral = ap1[(ap1.min(axis=2) > 0.01) & (ap1.min(axis=2) > 0.5 * ap1.max(axis=2))]
    codes = colour.models.log_encoding_ACEScct(neutral) * (2**bits - 1)
    assert np.mean(np.abs(codes - np.round(codes))) < 0.1  # unquantised: 0.25


def test_aspects_and_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert {k: round(w / h, 2) for k, (w, h) in ASPECTS.items()} == {
        "16:9": 1.78,
        "2.39:1": 2.39,
        "1:1": 1.0,
        "9:16": 0.56,
        "4:3": 1.33,
    }
    assert (
        main(
            [
                str(tmp_path / "p"),
                "--width",
                "24",
                "--height",
                "10",
                "--frames",
                "2",
                "--variant",
                "rgba",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.strip() == str(tmp_path / "p" / "plate.####.exr")
    assert sorted(f.name for f in (tmp_path / "p").iterdir()) == [
        "plate.1001.exr",
        "plate.1002.exr",
    ]
    with pytest.raises(SystemExit) as err:
        main(["--help"])
    assert err.value.code == 0
