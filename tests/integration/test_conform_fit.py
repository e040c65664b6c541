"""``--fit none`` end to end: the source pixels land 1:1, centred, padded or cropped.

``none`` is one of the reformat stage's fits; the job and the CLI take their
list of fits from there. The expected pictures are the source cut or padded by
hand at the offsets worked out below, converted AP0 → AP1 with
colour-science's matrix (the ``exr-acescg`` deliverable's encoding).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest

from hdrpipe.cli import main
from hdrpipe.exr import AP0_CHROMATICITIES, write_exr

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import colour

SRC_W, SRC_H = 64, 36


def _plate(folder: Path) -> tuple[Path, np.ndarray]:
    rng = np.random.default_rng(20)
    # Half-float exact values, so the only change on the way is the matrix.
    px = rng.uniform(0.02, 1.0, (SRC_H, SRC_W, 3)).astype(np.float16)
    px = px.astype(np.float32)
    folder.mkdir()
    for frame in (1001, 1002):
        write_exr(
            folder / f"plate.{frame}.exr",
            px,
            chromaticities=AP0_CHROMATICITIES,
            attributes={"acesImageContainerFlag": 1},
        )
    return folder / "plate.####.exr", px


@pytest.mark.parametrize(
    ("raster", "active", "window"),
    [
        # 96x54 around 64x36: offsets (96-64)/2 = 16 and (54-36)/2 = 9 -> 8
        # (rounded toward zero to even); picture at x 16..80, y 8..44.
        ("96x54", [16, 8, 64, 36], (slice(8, 44), slice(16, 80))),
        # 32x18 inside 64x36: offsets -16 and -9 -> -8; the raster shows
        # source columns 16..48 and rows 8..26.
        ("32x18", [0, 0, 32, 18], (slice(0, 18), slice(0, 32))),
    ],
)
def test_fit_none_keeps_source_pixels(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    raster: str,
    active: list[int],
    window: tuple[slice, slice],
) -> None:
    pattern, src = _plate(tmp_path / "src")
    code = main(
        [
            "conform",
            str(pattern),
            "--deliver",
            "exr-acescg",
            "--reformat",
            raster,
            "--fit",
            "none",
            "--color-path",
            "exact",
            "-o",
            str(tmp_path / "out"),
            "--no-progress",
            "--no-report",
            "--json",
        ]
    )
    assert code == 0, capsys.readouterr().err
    manifest = json.loads(capsys.readouterr().out)
    width, height = (int(v) for v in raster.split("x"))
    assert manifest["raster"]["width"] == width
    assert manifest["raster"]["height"] == height
    assert manifest["raster"]["active"] == active

    out = Path(manifest["outputs"][0]["path"].replace("####", "1001"))
    pixels = oiio.ImageBuf(str(out)).get_pixels(oiio.FLOAT)[..., :3]
    assert pixels.shape == (height, width, 3)
    ap0_to_ap1 = colour.matrix_RGB_to_RGB(
        colour.RGB_COLOURSPACES["ACES2065-1"], colour.RGB_COLOURSPACES["ACEScg"]
    )
    expected = np.zeros((height, width, 3))
    if width > SRC_W:
        expected[window] = src @ ap0_to_ap1.T
    else:
        expected[window] = src[8:26, 16:48] @ ap0_to_ap1.T
    np.testing.assert_allclose(pixels, expected, rtol=2e-3, atol=1e-4)


def test_unknown_fit_lists_the_stage_fits(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["conform", "x.####.exr", "-d", "exr-acescg", "-o", "o", "--fit", "zoom"]
    code = main(argv)
    assert code == 2
    err = capsys.readouterr().err
    assert "letterbox, pillarbox, crop, stretch, none" in err
