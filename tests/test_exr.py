"""hdrpipe.exr against an independent EXR reader/writer (the OpenEXR bindings) and
OpenEXR's real test images."""

from __future__ import annotations

import shutil
import struct
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import OpenEXR
import pytest

from hdrpipe import exr
from hdrpipe.errors import InputError
from hdrpipe.exr import (
    AP0_CHROMATICITIES,
    AP1_CHROMATICITIES,
    P3D65_CHROMATICITIES,
    REC709_CHROMATICITIES,
    REC2020_CHROMATICITIES,
    read_header,
    read_pixels,
    write_exr,
    write_exr_multipart,
)

DATA = Path(__file__).parent / "data" / "openexr-images"
DAMAGED = sorted((DATA / "Damaged").iterdir())


def _rng_pixels(h: int, w: int, c: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((h, w, c)) * 4.0).astype(np.float32)


def test_damaged_corpus_is_complete() -> None:
    assert len(DAMAGED) == 12


@pytest.mark.parametrize(
    ("const", "space"),
    [
        (AP0_CHROMATICITIES, "ACES2065-1"),
        (AP1_CHROMATICITIES, "ACEScg"),
        (REC709_CHROMATICITIES, "ITU-R BT.709"),
        (REC2020_CHROMATICITIES, "ITU-R BT.2020"),
        (P3D65_CHROMATICITIES, "P3-D65"),
    ],
    ids=["AP0", "AP1", "Rec.709", "Rec.2020", "P3-D65"],
)
def test_chromaticity_constants_match_colour_science(
    const: tuple[float, ...], space: str
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import colour
    cs = colour.RGB_COLOURSPACES[space]
    expected = np.concatenate([np.ravel(cs.primaries), cs.whitepoint])
    np.testing.assert_allclose(const, expected, atol=1e-6)


@pytest.mark.parametrize("channels", [3, 4], ids=["RGB", "RGBA"])
def test_write_half_round_trip_matches_numpy_half_rounding(
    tmp_path: Path, channels: int
) -> None:
    px = _rng_pixels(36, 64, channels)
    path = write_exr(tmp_path / "a.exr", px)
    back = read_pixels(path)
    assert back.dtype == np.float32 and back.flags.c_contiguous
    np.testing.assert_array_equal(back, px.astype(np.float16).astype(np.float32))
    # Independent reader: OpenEXR bindings see R, G, B(, A) half channels.
    f = OpenEXR.File(str(path), separate_channels=True)
    chans = f.channels()
    assert sorted(chans) == sorted("RGBA"[:channels])
    np.testing.assert_array_equal(chans["G"].pixels, px[:, :, 1].astype(np.float16))


def test_write_float_and_rgb_request_drops_alpha(tmp_path: Path) -> None:
    px = _rng_pixels(20, 30, 4, seed=1)
    path = write_exr(tmp_path / "f.exr", px, pixel_type="float", compression="zip")
    np.testing.assert_array_equal(read_pixels(path), px)
    assert read_pixels(path, channels="RGB").shape == (20, 30, 3)
    h = read_header(path)
    assert [c.pixel_type for c in h.channels] == ["float"] * 4
    assert h.compression == "zip"


def test_header_fields_written_are_seen_by_openexr(tmp_path: Path) -> None:
    path = write_exr(
        tmp_path / "plate.1001.exr",
        _rng_pixels(18, 32, 3),
        chromaticities=AP0_CHROMATICITIES,
        time_code="01:02:03:04",
        frames_per_second=Fraction(24000, 1001),
        attributes={"acesImageContainerFlag": 1, "adoptedNeutral": (0.32168, 0.33767)},
    )
    raw = OpenEXR.File(str(path), header_only=True).header()
    tc = raw["timeCode"]
    assert (tc.hours, tc.minutes, tc.seconds, tc.frame) == (1, 2, 3, 4)
    assert raw["framesPerSecond"] == Fraction(24000, 1001)
    assert raw["acesImageContainerFlag"] == 1
    assert raw["compression"] == OpenEXR.PIZ_COMPRESSION
    np.testing.assert_allclose(raw["chromaticities"], AP0_CHROMATICITIES, atol=1e-6)
    h = read_header(path)
    assert (h.width, h.height) == (32, 18)
    assert h.time_code == "01:02:03:04"
    assert h.frames_per_second == Fraction(24000, 1001)
    assert h.aces_image_container_flag == 1
    assert h.compression == "piz"
    assert h.parts == 1 and not h.tiled and h.multi_view is None
    np.testing.assert_allclose(h.chromaticities, AP0_CHROMATICITIES, atol=1e-6)
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temporary


def test_header_of_file_written_by_openexr(tmp_path: Path) -> None:
    """Fields set by the independent writer are decoded by read_header."""
    tc = OpenEXR.TimeCode()
    tc.hours, tc.minutes, tc.seconds, tc.frame = 10, 59, 58, 23
    header = {
        "compression": OpenEXR.DWAA_COMPRESSION,
        "type": OpenEXR.scanlineimage,
        "timeCode": tc,
        "framesPerSecond": Fraction(25),
        "chromaticities": REC2020_CHROMATICITIES,
    }
    z = np.zeros((8, 8), np.float16)
    OpenEXR.File(header, {"R": z, "G": z, "B": z}).write(str(tmp_path / "x.exr"))
    h = read_header(tmp_path / "x.exr")
    assert h.time_code == "10:59:58:23"
    assert h.frames_per_second == Fraction(25)
    assert h.compression == "dwaa"
    np.testing.assert_allclose(h.chromaticities, REC2020_CHROMATICITIES, atol=1e-6)


def test_data_window_is_placed_in_display_window(tmp_path: Path) -> None:
    px = _rng_pixels(20, 30, 3, seed=2).astype(np.float16)
    header = {
        "compression": OpenEXR.ZIP_COMPRESSION,
        "type": OpenEXR.scanlineimage,
        "dataWindow": ((5, 7), (34, 26)),  # 30 x 20 at (5, 7)
        "displayWindow": ((0, 0), (39, 29)),  # 40 x 30
    }
    OpenEXR.File(header, {c: px[:, :, i].copy() for i, c in enumerate("RGB")}).write(
        str(tmp_path / "dw.exr")
    )
    h = read_header(tmp_path / "dw.exr")
    assert h.data_window == (5, 7, 34, 26)
    assert h.display_window == (0, 0, 39, 29)
    assert (h.width, h.height) == (40, 30)
    out = read_pixels(tmp_path / "dw.exr")
    assert out.shape == (30, 40, 3)
    np.testing.assert_array_equal(out[7:27, 5:35], px.astype(np.float32))
    outside = np.ones(out.shape[:2], bool)
    outside[7:27, 5:35] = False
    assert not out[outside].any()


def test_tiled_and_multipart(tmp_path: Path) -> None:
    px = _rng_pixels(70, 90, 3, seed=3)
    tiled = write_exr(tmp_path / "t.exr", px, tiled=True)
    assert (
        OpenEXR.File(str(tiled), header_only=True).header()["type"]
        == OpenEXR.tiledimage
    )
    assert read_header(tiled).tiled
    np.testing.assert_array_equal(
        read_pixels(tiled), px.astype(np.float16).astype(np.float32)
    )
    mp = write_exr_multipart(
        tmp_path / "m.exr", [px, px[:, :, :3] * 2], names=["a", "b"]
    )
    assert len(OpenEXR.File(str(mp), header_only=True).parts) == 2
    assert read_header(mp).parts == 2
    np.testing.assert_array_equal(
        read_pixels(mp, part=1), (px * 2).astype(np.float16).astype(np.float32)
    )


@pytest.mark.parametrize(
    ("compression", "tiled"),
    [
        (OpenEXR.NO_COMPRESSION, False),  # 1 row per chunk
        (OpenEXR.ZIP_COMPRESSION, False),  # 16
        (OpenEXR.PIZ_COMPRESSION, False),  # 32
        (OpenEXR.DWAB_COMPRESSION, False),  # 256
        (OpenEXR.ZIP_COMPRESSION, True),
    ],
    ids=["none", "zip", "piz", "dwab", "tiled"],
)
def test_frame_read_in_bands_equals_openexr_decoder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, compression: object, tiled: bool
) -> None:
    # A frame is read band by band into one array (OpenImageIO's whole-image
    # read holds it twice): bands of one chunk each here, with a data window
    # off the origin, as OpenEXR's own decoder reads the file.
    monkeypatch.setattr(exr, "READ_BAND_BYTES", 1)
    px = _rng_pixels(300, 70, 4, seed=8).astype(np.float16)
    header = {
        "compression": compression,
        "type": OpenEXR.tiledimage if tiled else OpenEXR.scanlineimage,
        "dataWindow": ((3, 11), (72, 310)),
        "displayWindow": ((0, 0), (79, 319)),
    }
    if tiled:
        tiles = OpenEXR.TileDescription()
        tiles.xSize, tiles.ySize, tiles.mode = 16, 16, OpenEXR.ONE_LEVEL
        header["tiles"] = tiles
    path = tmp_path / "bands.exr"
    OpenEXR.File(header, {c: px[:, :, i].copy() for i, c in enumerate("RGBA")}).write(
        str(path)
    )
    ref = OpenEXR.File(str(path), separate_channels=True).channels()
    expected = np.stack([ref[c].pixels for c in "RGBA"], axis=2)
    decoded = exr.decode(path)
    assert decoded.stored.dtype == np.float16
    np.testing.assert_array_equal(decoded.stored, expected)
    rgb = exr.read_pixels(path, channels="RGB")
    np.testing.assert_array_equal(
        rgb[11:311, 3:73], expected[..., :3].astype(np.float32)
    )


def test_write_replaces_atomically(tmp_path: Path) -> None:
    target = tmp_path / "a.exr"
    target.write_bytes(b"old")
    write_exr(target, np.ones((4, 4, 3), np.float32))
    assert read_pixels(target).min() == 1.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.exr"]


def test_rec709_image_has_no_chromaticities() -> None:
    h = read_header(DATA / "Chromaticities" / "Rec709.exr")
    assert h.chromaticities is None
    assert (h.width, h.height) == (610, 406)
    assert [c.pixel_type for c in h.channels] == ["half"] * 3


def test_real_images_match_openexr_decoder() -> None:
    for rel, names in (
        ("ScanLines/Desk.exr", "RGBA"),
        ("TestImages/BrightRings.exr", "RGB"),
    ):
        path = DATA / rel
        ours = read_pixels(path)
        ref = OpenEXR.File(str(path), separate_channels=True).channels()
        expected = np.stack([ref[c].pixels.astype(np.float32) for c in names], axis=2)
        np.testing.assert_array_equal(ours, expected)
    assert (
        read_pixels(DATA / "TestImages/BrightRings.exr").max() > 1000
    )  # README: HDR rings


def test_luminance_only_image_is_refused() -> None:
    with pytest.raises(InputError, match="lack"):
        read_pixels(DATA / "TestImages" / "GrayRampsHorizontal.exr")


@pytest.mark.parametrize("path", DAMAGED, ids=[p.name[:40] for p in DAMAGED])
def test_damaged_files_raise_input_error(path: Path) -> None:
    with pytest.raises(InputError):
        read_header(path)
        read_pixels(path)


def test_missing_file() -> None:
    with pytest.raises(InputError, match="no such file"):
        read_header("/nonexistent/plate.1001.exr")


def _patch_data_window(src: Path, dst: Path, box: tuple[int, int, int, int]) -> None:
    raw = bytearray(src.read_bytes())
    key = b"dataWindow\x00box2i\x00"
    at = raw.index(key) + len(key)
    assert struct.unpack_from("<i", raw, at)[0] == 16
    struct.pack_into("<4i", raw, at + 4, *box)
    dst.write_bytes(bytes(raw))


def test_absurd_data_window_refused_before_pixels(tmp_path: Path) -> None:
    src = write_exr(
        tmp_path / "small.exr", np.ones((8, 8, 3), np.float32), compression="none"
    )
    huge = tmp_path / "huge.exr"
    _patch_data_window(src, huge, (0, 0, 999_999, 999_999))  # 10^12 pixels
    with pytest.raises(InputError, match="refused|unreadable|not a readable"):
        read_header(huge)
    with pytest.raises(InputError):
        read_pixels(huge)


def test_max_pixels_limit(tmp_path: Path) -> None:
    path = write_exr(tmp_path / "a.exr", np.ones((36, 64, 3), np.float32))
    with pytest.raises(InputError, match="exceeds the limit"):
        read_header(path, max_pixels=1000)
    assert read_header(path, max_pixels=64 * 36).width == 64


def test_copy_of_damaged_file_with_exr_name(tmp_path: Path) -> None:
    """Extension-based format lookup must not change the outcome."""
    dst = tmp_path / "frame.1001.exr"
    shutil.copy(DAMAGED[0], dst)
    with pytest.raises(InputError):
        read_pixels(dst)


def test_multi_view_attribute(tmp_path: Path) -> None:
    z = np.zeros((4, 4), np.float16)
    header = {
        "compression": OpenEXR.NO_COMPRESSION,
        "type": OpenEXR.scanlineimage,
        "multiView": ["right", "left"],
    }
    names = ["R", "G", "B", "left.R", "left.G", "left.B"]
    OpenEXR.File(header, {n: z.copy() for n in names}).write(str(tmp_path / "mv.exr"))
    h = read_header(tmp_path / "mv.exr")
    assert h.multi_view == ("right", "left")
    assert sorted(h.channel_names) == sorted(names)
    assert read_pixels(tmp_path / "mv.exr").shape == (4, 4, 3)


@pytest.mark.parametrize(
    ("text", "fps", "field", "phase"),
    [
        ("01:00:00:47", Fraction(48), 23, True),  # second frame of pair 23
        ("01:00:00:46", Fraction(48), 23, False),
        ("00:59:59:59", Fraction(60000, 1001), 29, True),
        ("01:00:00:29", Fraction(30), 29, False),  # no pairs at 30 fps
    ],
    ids=["48-odd", "48-even", "59.94-last", "30-plain"],
)
def test_time_code_above_30_fps_counts_frame_pairs(
    tmp_path: Path, text: str, fps: Fraction, field: int, phase: bool
) -> None:
    # SMPTE ST 12-1: above 30 fps the frames field counts frame pairs and the
    # field-phase flag marks the second frame of a pair.
    path = write_exr(
        tmp_path / "f.exr",
        np.zeros((2, 2, 3), np.float32),
        time_code=text,
        frames_per_second=fps,
    )
    with OpenEXR.File(str(path)) as f:  # the file as OpenEXR itself reads it
        tc = f.header()["timeCode"]
    assert (tc.frame, bool(tc.fieldPhase)) == (field, phase)
    assert read_header(path).time_code == text


def test_time_code_frame_beyond_the_rate_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="needs a rate above 30 fps"):
        write_exr(
            tmp_path / "f.exr",
            np.zeros((2, 2, 3), np.float32),
            time_code="01:00:00:30",
            frames_per_second=Fraction(24),
        )


def _write_dpx(path: Path, bits: int, attributes: dict[str, object]) -> None:
    import OpenImageIO as oiio  # noqa: N813 - the usual alias

    spec = oiio.ImageSpec(8, 4, 3, "uint16" if bits > 8 else "uint8")
    spec.attribute("oiio:BitsPerSample", bits)
    for name, value in attributes.items():
        if isinstance(value, tuple):
            spec.attribute(name, oiio.TypeDesc("timecode"), value)
        else:
            spec.attribute(name, value)
    out = oiio.ImageOutput.create(str(path))
    assert out is not None and out.open(str(path), spec), oiio.geterror()
    codes = np.arange(8 * 4 * 3, dtype=np.float32).reshape(4, 8, 3)
    assert out.write_image(codes / float(2**bits - 1))
    out.close()


@pytest.mark.parametrize(
    ("attributes", "fps"),
    [
        ({"dpx:FrameRate": 24.0}, Fraction(24)),
        ({"dpx:FrameRate": 23.976}, Fraction(24000, 1001)),  # float32 23.9759998
        ({"dpx:TemporalFrameRate": 25.0}, Fraction(25)),
        ({"dpx:FrameRate": 30.0, "dpx:TemporalFrameRate": 25.0}, Fraction(30)),
        ({}, None),
    ],
    ids=["24", "23.976-snapped", "television-header", "film-header-first", "none"],
)
def test_dpx_header_rate(
    tmp_path: Path, attributes: dict[str, object], fps: Fraction | None
) -> None:
    path = tmp_path / "f.1001.dpx"
    _write_dpx(path, 10, attributes)
    header = read_header(path)
    assert (header.file_format, header.frames_per_second) == ("dpx", fps)


@pytest.mark.parametrize(
    ("bits", "word", "time_code", "drop"),
    # SMPTE ST 12-1 BCD: hours << 24 | minutes << 16 | seconds << 8 | frames, bit 6 DF
    [(10, 0x10203004, "10:20:30:04", False), (8, 0x01000042, "01:00:00:02", True)],
    ids=["10-bit", "8-bit-drop-frame"],
)
def test_dpx_time_code_storage_and_codes(
    tmp_path: Path, bits: int, word: int, time_code: str, drop: bool
) -> None:
    path = tmp_path / "f.1001.dpx"
    _write_dpx(path, bits, {"smpte:TimeCode": (word, 0), "dpx:FrameRate": 29.97})
    header = read_header(path)
    assert header.time_code == time_code
    assert header.attributes["timeCodeDropFrame"] is drop
    assert {c.pixel_type for c in header.channels} == {f"uint{bits}"}
    assert header.chromaticities is None
    # Samples are the code values over the largest code (ST 268 integer samples).
    px = read_pixels(path)
    want = np.arange(8 * 4 * 3, dtype=np.float64).reshape(4, 8, 3) / (2**bits - 1)
    np.testing.assert_allclose(px, want, rtol=0, atol=1e-6)


def test_other_formats_are_refused(tmp_path: Path) -> None:
    import OpenImageIO as oiio  # noqa: N813 - the usual alias

    path = tmp_path / "f.1001.tif"
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), oiio.ImageSpec(4, 4, 3, "uint8"))
    out.write_image(np.zeros((4, 4, 3), np.float32))
    out.close()
    with pytest.raises(InputError, match="not an OpenEXR or DPX file .* as tiff"):
        read_header(path)
