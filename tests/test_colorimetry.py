"""Published primaries and derived matrices against colour-science (the reference)."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest

from hdrpipe.colorimetry import PRIMARIES, matrix_rgb_to_rgb, matrix_rgb_to_xyz

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import colour

SPACES = sorted(PRIMARIES)


@pytest.mark.parametrize("name", SPACES)
def test_primaries_equal_colour_science(name: str) -> None:
    cs = colour.RGB_COLOURSPACES[name]
    red, green, blue, white = PRIMARIES[name]
    np.testing.assert_array_equal(np.array([red, green, blue]), cs.primaries)
    np.testing.assert_array_equal(np.array(white), cs.whitepoint)


@pytest.mark.parametrize("name", SPACES)
def test_normalised_primary_matrix(name: str) -> None:
    cs = colour.RGB_COLOURSPACES[name]
    # colour-science carries ACES2065-1's published 10-digit matrix (ST 2065-1);
    # the derived one agrees to its rounding.
    np.testing.assert_allclose(matrix_rgb_to_xyz(name), cs.matrix_RGB_to_XYZ, atol=1e-9)
    # White (1, 1, 1) → the white point's XYZ with Y = 1.
    x, y = PRIMARIES[name][3]
    np.testing.assert_allclose(
        matrix_rgb_to_xyz(name) @ np.ones(3), [x / y, 1.0, (1 - x - y) / y], rtol=1e-12
    )


@pytest.mark.parametrize("src", SPACES)
@pytest.mark.parametrize("dst", SPACES)
def test_rgb_to_rgb_matches_colour_science_cat02(src: str, dst: str) -> None:
    ref = colour.matrix_RGB_to_RGB(
        colour.RGB_COLOURSPACES[src],
        colour.RGB_COLOURSPACES[dst],
        chromatic_adaptation_transform="CAT02",
    )
    np.testing.assert_allclose(matrix_rgb_to_rgb(src, dst), ref, atol=1e-9)


def test_matrices_are_read_only_and_unknown_names_are_named() -> None:
    m = matrix_rgb_to_rgb("ACES2065-1", "ACEScg")
    with pytest.raises(ValueError, match="read-only"):
        m[0, 0] = 0.0
    with pytest.raises(ValueError, match="unknown RGB colourspace 'sRGB'.*ACEScg"):
        matrix_rgb_to_rgb("sRGB", "ACEScg")


def test_validating_and_conforming_never_import_colour_science() -> None:
    # `import colour` costs 0.35-0.5 s of one core per process (before any frame).
    code = (
        "import importlib, sys; importlib.import_module('hdrpipe.cli');"
        " p = importlib.import_module('hdrpipe.validation.pixels');"
        " c = importlib.import_module('hdrpipe.validation.checks');"
        " k = importlib.import_module('hdrpipe.color'); p.gamut_matrices();"
        " c.identify_chromaticities((0.7347, 0.2653, 0.0, 1.0, 0.0001, -0.077,"
        " 0.32168, 0.33767)); k.mastering_display('p3d65');"
        " print('colour' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_h273_code_points_are_the_published_ones() -> None:
    # ITU-T H.273 (2016) Table 2 (ColourPrimaries), Table 3
    # (TransferCharacteristics) and Table 4 (MatrixCoefficients), by FFmpeg name.
    from hdrpipe.colorimetry import H273_MATRIX, H273_PRIMARIES, H273_TRANSFER

    assert dict(H273_PRIMARIES) == {
        "bt709": 1,
        "bt470bg": 5,
        "smpte170m": 6,
        "bt2020": 9,
        "smpte431": 11,
        "smpte432": 12,
    }
    assert dict(H273_TRANSFER) == {
        "bt709": 1,
        "smpte170m": 6,
        "bt2020-10": 14,
        "bt2020-12": 15,
        "smpte2084": 16,
        "arib-std-b67": 18,
    }
    assert dict(H273_MATRIX) == {
        "bt709": 1,
        "bt470bg": 5,
        "smpte170m": 6,
        "bt2020nc": 9,
        "bt2020c": 10,
    }


def test_exr_chromaticities_are_the_published_primaries() -> None:
    # The EXR attribute is (Rx, Ry, Gx, Gy, Bx, By, Wx, Wy) of colour-science's space.
    from hdrpipe.colorimetry import SPACES

    for space in SPACES.values():
        if space.colourspace is None:
            continue
        cs = colour.RGB_COLOURSPACES[space.colourspace]
        want = np.concatenate([cs.primaries.ravel(), cs.whitepoint])
        np.testing.assert_array_equal(np.array(space.chromaticities), want)
