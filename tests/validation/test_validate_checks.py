"""Individual checks and profiles on hand-made files, against independent references
(colour-science, numpy, OpenEXR's own test images)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import OpenEXR
import pytest

from fixtures.generate import render_frame
from hdrpipe.errors import InputError
from hdrpipe.exr import (
    AP0_CHROMATICITIES,
    read_pixels,
    write_exr,
)
from hdrpipe.validation import identify_chromaticities, validate

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import colour

DATA = Path(__file__).parents[1] / "data" / "openexr-images"
DAMAGED = sorted((DATA / "Damaged").iterdir())
ACES_ATTRS = {"acesImageContainerFlag": 1, "adoptedNeutral": (0.32168, 0.33767)}


def _checks(report):  # type: ignore[no-untyped-def]
    return {c.id: c for c in report.checks}


def _ap1_to_ap0(ap1: np.ndarray) -> np.ndarray:
    m = colour.matrix_RGB_to_RGB(
        colour.RGB_COLOURSPACES["ACEScg"], colour.RGB_COLOURSPACES["ACES2065-1"]
    )
    return (ap1 @ m.T).astype(np.float32)


# -- chromaticities --------------------------------------------------------------


@pytest.mark.parametrize(
    ("space", "name"),
    [
        ("ACES2065-1", "AP0"),
        ("ACEScg", "AP1"),
        ("ITU-R BT.709", "Rec.709"),
        ("ITU-R BT.2020", "Rec.2020"),
        ("P3-D65", "P3-D65"),
        ("DCI-P3", "unknown"),
        ("sRGB", "Rec.709"),
    ],
    ids=["AP0", "AP1", "709", "2020", "P3-D65", "DCI-P3-white", "sRGB=709-primaries"],
)
def test_identify_chromaticities(space: str, name: str) -> None:
    cs = colour.RGB_COLOURSPACES[space]
    values = tuple(np.ravel(cs.primaries)) + tuple(cs.whitepoint)
    assert identify_chromaticities(values) == name


def test_identify_chromaticities_edge_cases() -> None:
    assert identify_chromaticities(None) is None
    assert (
        identify_chromaticities((1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1 / 3, 1 / 3)) == "XYZ"
    )
    shifted = list(AP0_CHROMATICITIES)
    shifted[0] += 0.01
    assert identify_chromaticities(tuple(shifted)) == "unknown"
    assert identify_chromaticities((float("nan"),) * 8) == "unknown"


def test_rec709_test_image_has_null_declared_and_warns() -> None:
    report = validate(DATA / "Chromaticities" / "Rec709.exr")
    c = _checks(report)["chromaticities"]
    assert c.details["declared"] is None
    assert c.status == "warn"
    assert report.status in ("warn", "pass") and report.status == "warn"


@pytest.mark.parametrize("path", DAMAGED, ids=[p.name[:40] for p in DAMAGED])
def test_damaged_file_is_a_readable_failure(path: Path) -> None:
    report = validate(path)
    assert report.status == "fail"
    c = _checks(report)["readable"]
    assert c.status == "fail" and c.frames == (1,)


def test_unknown_profile() -> None:
    with pytest.raises(InputError, match="unknown profile"):
        validate(DATA / "Chromaticities" / "Rec709.exr", "bogus")


# -- pixel checks ------------------------------------------------------------------


def test_negative_count_equals_numpy(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    px = np.abs(rng.standard_normal((24, 40, 3))).astype(np.float32)
    px[rng.random(px.shape) < 0.07] *= -1.0
    px[0, 0] = (-0.0, 0.0, 1.0)  # negative zero is not a negative value
    write_exr(tmp_path / "n.1001.exr", px, chromaticities=AP0_CHROMATICITIES)
    write_exr(tmp_path / "n.1002.exr", np.abs(px), chromaticities=AP0_CHROMATICITIES)
    report = validate(tmp_path / "n.####.exr")
    c = _checks(report)["negative"]
    stored = read_pixels(tmp_path / "n.1001.exr")
    assert c.details["count"] == int(np.count_nonzero(stored < 0)) > 0
    assert c.frames == (1001,) and c.status == "warn"


def test_gamut_shares_against_colour_science(tmp_path: Path) -> None:
    # A 40x10 frame in ACEScg: 10 % outside AP1 (negative red), 30 % on the AP1
    # green primary (inside AP1, outside Rec.2020), 60 % neutral.
    ap1 = np.full((10, 40, 3), 0.18, np.float64)
    ap1[:, :4] = (-0.05, 0.4, 0.3)
    ap1[:, 4:16] = (0.0, 0.5, 0.0)
    px = _ap1_to_ap0(ap1)
    write_exr(tmp_path / "g.1001.exr", px, chromaticities=AP0_CHROMATICITIES)
    stored = read_pixels(tmp_path / "g.1001.exr").astype(np.float64)
    to_2020 = colour.RGB_to_RGB(
        stored,
        colour.RGB_COLOURSPACES["ACES2065-1"],
        colour.RGB_COLOURSPACES["ITU-R BT.2020"],
        chromatic_adaptation_transform="CAT02",
    )
    to_ap1 = colour.RGB_to_RGB(
        stored, colour.RGB_COLOURSPACES["ACES2065-1"], colour.RGB_COLOURSPACES["ACEScg"]
    )
    expect_ap1 = float(np.mean((to_ap1 < -0.01).any(axis=2)))
    expect_2020 = float(np.mean((to_2020 < -0.01).any(axis=2)))
    assert (expect_ap1, expect_2020) == (0.1, 0.4)  # the scene is unambiguous
    c = _checks(validate(tmp_path / "g.####.exr"))["gamut"]
    assert c.details["outside_ap1"] == pytest.approx(expect_ap1)
    assert c.details["outside_rec2020"] == pytest.approx(expect_2020)
    assert c.status == "warn"  # ray3: > 0.1 % outside AP1


def _pq_quantised_plate(tmp_path: Path, bits: int) -> Path:
    """PQ-encoded content (1.0 = 100 cd/m², Rec.2020), quantised, stored as AP0 half."""
    ap0 = render_frame(96, 54, 0, seed=2).astype(np.float64)
    space_in, space_2020 = (
        colour.RGB_COLOURSPACES["ACES2065-1"],
        colour.RGB_COLOURSPACES["ITU-R BT.2020"],
    )
    for i in range(3):
        lin = colour.RGB_to_RGB(
            render_frame(96, 54, i, seed=2),
            space_in,
            space_2020,
            chromatic_adaptation_transform="CAT02",
        )
        code = colour.models.eotf_inverse_ST2084(np.maximum(lin, 0) * 100.0)
        code = np.round(code * (2**bits - 1)) / (2**bits - 1)
        lin = colour.models.eotf_ST2084(code) / 100.0
        ap0 = colour.RGB_to_RGB(
            lin, space_2020, space_in, chromatic_adaptation_transform="CAT02"
        )
        write_exr(
            tmp_path / f"pq.{1001 + i}.exr", ap0, chromaticities=AP0_CHROMATICITIES
        )
    return tmp_path / "pq.####.exr"


def test_pq_quantised_content_is_detected(tmp_path: Path) -> None:
    c = _checks(validate(_pq_quantised_plate(tmp_path, 10)))["bit_depth"]
    assert (c.details["effective_bits"], c.details["encoding"]) == (10, "PQ")
    assert c.status == "fail"


def test_acescct_12_bit_passes_ray3_minimum(tmp_path: Path) -> None:
    # ACEScct per colour-science (independent of the generator's own encoder).
    for i in range(3):
        ap0 = render_frame(96, 54, i, seed=4).astype(np.float64)
        ap1 = colour.RGB_to_RGB(
            ap0,
            colour.RGB_COLOURSPACES["ACES2065-1"],
            colour.RGB_COLOURSPACES["ACEScg"],
        )
        with np.errstate(invalid="ignore"):  # colour evaluates log2 on both branches
            code = np.round(colour.models.log_encoding_ACEScct(ap1) * 4095) / 4095
        ap1 = colour.models.log_decoding_ACEScct(code)
        write_exr(
            tmp_path / f"q.{1001 + i}.exr",
            _ap1_to_ap0(ap1),
            chromaticities=AP0_CHROMATICITIES,
        )
    c = _checks(validate(tmp_path / "q.####.exr"))["bit_depth"]
    assert c.details["effective_bits"] == 12 and c.details["encoding"] == "ACEScct"
    assert c.status == "pass"


# -- aces profile: ST 2065-4 container rules ---------------------------------------


@pytest.mark.parametrize(
    ("compression", "status"),
    [
        ("none", "pass"),
        ("piz", "warn"),
        ("zip", "warn"),
        ("zips", "warn"),
        ("dwaa", "fail"),
        ("dwab", "fail"),
        ("b44", "fail"),
        ("pxr24", "fail"),
    ],
)
def test_aces_compression_levels(tmp_path: Path, compression: str, status: str) -> None:
    px = render_frame(32, 16, 0, grain=0.0)
    write_exr(
        tmp_path / "a.1001.exr",
        px,
        compression=compression,
        chromaticities=AP0_CHROMATICITIES,
        attributes=ACES_ATTRS,
    )
    checks = _checks(validate(tmp_path / "a.####.exr", "aces"))
    assert checks["container"].status == status
    assert checks["container"].details["compression"] == {compression: 1}


def test_aces_strict_file_passes(tmp_path: Path) -> None:
    write_exr(
        tmp_path / "s.1001.exr",
        render_frame(32, 16, 0),
        compression="none",
        chromaticities=AP0_CHROMATICITIES,
        attributes=ACES_ATTRS,
    )
    report = validate(tmp_path / "s.####.exr", "aces")
    assert report.status == "pass", [(c.id, c.message) for c in report.checks]


def test_aces_flag_and_required_attributes(tmp_path: Path) -> None:
    write_exr(
        tmp_path / "s.1001.exr",
        render_frame(32, 16, 0),
        compression="none",
        chromaticities=AP0_CHROMATICITIES,
    )
    c = _checks(validate(tmp_path / "s.####.exr", "aces"))["container"]
    assert c.status == "fail"
    assert c.details["aces_image_container_flag"] is None
    assert set(c.details["missing_attributes"]) == {
        "acesImageContainerFlag",
        "adoptedNeutral",
    }


def test_aces_tiled_fails(tmp_path: Path) -> None:
    write_exr(
        tmp_path / "t.1001.exr",
        render_frame(32, 16, 0),
        compression="none",
        tiled=True,
        chromaticities=AP0_CHROMATICITIES,
        attributes=ACES_ATTRS,
    )
    c = _checks(validate(tmp_path / "t.####.exr", "aces"))["container"]
    assert c.status == "fail" and c.details["tiled"]


def _write_channels(path: Path, names: list[str]) -> None:
    z = np.full((8, 8), 0.18, np.float16)
    header = {
        "compression": OpenEXR.NO_COMPRESSION,
        "type": OpenEXR.scanlineimage,
        "chromaticities": AP0_CHROMATICITIES,
        **ACES_ATTRS,
    }
    OpenEXR.File(header, {n: z.copy() for n in names}).write(str(path))


@pytest.mark.parametrize(
    ("names", "status"),
    [
        (["R", "G", "B"], "pass"),
        (["A", "R", "G", "B"], "pass"),
        (["R", "G", "B", "left.R", "left.G", "left.B"], "pass"),
        (["A", "R", "G", "B", "left.A", "left.R", "left.G", "left.B"], "pass"),
        (["R", "G", "B", "Z"], "fail"),
        (["R", "G", "B", "left.R"], "fail"),
    ],
    ids=["BGR", "ABGR", "stereo", "stereo-alpha", "extra-Z", "partial-left"],
)
def test_aces_channel_sets(tmp_path: Path, names: list[str], status: str) -> None:
    _write_channels(tmp_path / "c.1001.exr", names)
    assert (
        _checks(validate(tmp_path / "c.####.exr", "aces"))["channels"].status == status
    )


def test_luminance_only_image_fails_channels_not_readable() -> None:
    checks = _checks(validate(DATA / "TestImages" / "GrayRampsHorizontal.exr"))
    assert checks["readable"].status == "pass"
    assert checks["channels"].status == "fail"
    assert checks["channels"].details["layouts"] == [{"channels": ["Y"], "frames": 1}]


def test_real_hdr_image_counts_match_numpy() -> None:
    path = DATA / "ScanLines" / "Desk.exr"
    checks = _checks(validate(path, "nuke-comp"))
    px = read_pixels(path, channels="RGBA")
    assert checks["nonfinite"].details["nan"] == int(np.isnan(px).sum())
    assert checks["nonfinite"].details["inf"] == int(np.isinf(px).sum())
    assert checks["negative"].details["count"] == int(np.count_nonzero(px < 0))


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_counts_added_block_by_block_equal_numpy(
    monkeypatch: pytest.MonkeyPatch, dtype: type
) -> None:
    # The counts run over blocks of samples (bounded temporaries): a frame of
    # many blocks, with NaN, ±Inf, negatives and -0 in blocks and on their edges.
    from hdrpipe.validation import pixels

    monkeypatch.setattr(pixels, "COUNT_BLOCK_SAMPLES", 1000)
    rng = np.random.default_rng(11)
    px = rng.standard_normal((37, 53, 3)).astype(dtype)
    flat = px.reshape(-1)
    flat[::997] = np.nan
    flat[999::1000] = np.inf
    flat[1000::1001] = -np.inf
    flat[3::7] = -0.0
    stats = pixels.frame_stats(px)
    wide = px.astype(np.float32)
    assert stats.nan == int(np.isnan(wide).sum()) > 0
    assert stats.inf == int(np.isinf(wide).sum()) > 0
    assert stats.negative == int(np.count_nonzero(np.isfinite(wide) & (wide < 0))) > 0
