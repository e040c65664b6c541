"""EXR deliverables read back with the OpenEXR bindings (not the writer's reader)."""

from __future__ import annotations

import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import OpenEXR
import pytest

from hdrpipe.encode import get_preset, open_writer
from hdrpipe.encode.exr_writer import frame_path
from hdrpipe.errors import InputError
from hdrpipe.timecode import Timecode, parse_rate
from hdrpipe.types import Rate

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import colour

RATE = Rate(Fraction(24000, 1001))


def _chromaticities(name: str) -> np.ndarray:
    cs = colour.RGB_COLOURSPACES[name]
    return np.concatenate([cs.primaries.ravel(), cs.whitepoint])


def _frames(n: int, alpha: bool = False) -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    c = 4 if alpha else 3
    return [rng.uniform(-0.01, 40.0, (36, 64, c)).astype(np.float32) for _ in range(n)]


def _header(path: Path) -> dict:
    with OpenEXR.File(str(path), separate_channels=True) as f:
        return dict(f.header()), {k: v.pixels for k, v in f.channels().items()}


@pytest.mark.parametrize(
    ("preset", "colourspace", "compression"),
    [
        ("exr-acescg", "ACEScg", OpenEXR.PIZ_COMPRESSION),
        ("exr-aces", "ACES2065-1", OpenEXR.NO_COMPRESSION),
    ],
    ids=["acescg", "aces"],
)
def test_exr_sequence(
    tmp_path: Path, preset: str, colourspace: str, compression
) -> None:
    spec = get_preset(preset)
    frames = _frames(3)
    with open_writer(
        spec,
        tmp_path / "plate.####.exr",
        width=64,
        height=36,
        rate=RATE,
        start_timecode=Timecode.parse("01:00:00:23", RATE),
        first_frame=1001,
    ) as w:
        for f in frames:
            w.write(f)
        result = w.close()
    assert result.frames == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "plate.1001.exr",
        "plate.1002.exr",
        "plate.1003.exr",
    ]
    for i, f in enumerate(frames):
        h, px = _header(tmp_path / f"plate.{1001 + i}.exr")
        np.testing.assert_allclose(
            np.ravel(h["chromaticities"]), _chromaticities(colourspace), atol=1e-6
        )
        assert h["compression"] == compression
        assert h["type"] == OpenEXR.scanlineimage
        assert Fraction(h["framesPerSecond"]) == Fraction(24000, 1001)
        assert h["pixelAspectRatio"] == 1.0  # square pixels, written explicitly
        tc = h["timeCode"]
        assert (tc.hours, tc.minutes, tc.seconds, tc.frame) == (
            (1, 0, 0, 23),
            (1, 0, 1, 0),
            (1, 0, 1, 1),
        )[i]
        assert set(px) == {"R", "G", "B"} and px["R"].dtype == np.float16
        got = np.stack([px["R"], px["G"], px["B"]], axis=-1).astype(np.float32)
        np.testing.assert_allclose(
            got, f.astype(np.float16).astype(np.float32), rtol=0, atol=0
        )
        if preset == "exr-aces":  # SMPTE ST 2065-4 required attributes
            assert h["acesImageContainerFlag"] == 1
            np.testing.assert_allclose(
                np.ravel(h["adoptedNeutral"]), [0.32168, 0.33767], atol=1e-6
            )
        else:
            assert "acesImageContainerFlag" not in h


def test_exr_alpha_and_explicit_time_code(tmp_path: Path) -> None:
    with open_writer(
        get_preset("exr-acescg"),
        tmp_path / "a.%04d.exr",
        width=64,
        height=36,
        rate=RATE,
        has_alpha=True,
        first_frame=7,
    ) as w:
        w.write(
            _frames(1, alpha=True)[0],
            time_code=Timecode.parse("10:00:00:00", RATE),
        )
        w.close()
    h, px = _header(tmp_path / "a.0007.exr")
    assert set(px) == {"R", "G", "B", "A"}
    assert h["timeCode"].hours == 10


def test_exr_anamorphic_pixel_aspect(tmp_path: Path) -> None:
    # a 2:1 anamorphic plate kept at its stored size (no reformat)
    with open_writer(
        get_preset("exr-aces"),
        tmp_path / "ana.####.exr",
        width=64,
        height=36,
        rate=RATE,
        pixel_aspect=2.0,
    ) as w:
        w.write(_frames(1)[0])
        result = w.close()
    h, _ = _header(tmp_path / "ana.1001.exr")
    assert h["pixelAspectRatio"] == 2.0
    assert h["acesImageContainerFlag"] == 1  # the ST 2065-4 attributes stay
    assert result.probe["pixel_aspect"] == 2.0
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(InputError, match="pixel aspect"):
            open_writer(
                get_preset("exr-aces"),
                tmp_path / "bad.####.exr",
                width=64,
                height=36,
                rate=RATE,
                pixel_aspect=bad,
            )


def test_exr_abort_and_overwrite(tmp_path: Path) -> None:
    spec = get_preset("exr-aces")
    with (
        pytest.raises(RuntimeError),
        open_writer(spec, tmp_path / "p.####.exr", width=64, height=36, rate=RATE) as w,
    ):
        w.write(_frames(1)[0])
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "p.1001.exr").write_bytes(b"keep")
    w = open_writer(spec, tmp_path / "p.####.exr", width=64, height=36, rate=RATE)
    with pytest.raises(InputError, match="exists"):
        w.write(_frames(1)[0])
    assert (tmp_path / "p.1001.exr").read_bytes() == b"keep"


def test_frame_path() -> None:
    assert frame_path("/x/sh010.####.exr", 1001) == Path("/x/sh010.1001.exr")
    assert frame_path("/x/sh010.%06d.exr", 7) == Path("/x/sh010.000007.exr")
    with pytest.raises(InputError):
        frame_path("/x/sh010.exr", 1)


# Each frame's timeCode is the start timecode counted on (SMPTE ST 12-1), read
# back with the OpenEXR bindings: drop frame skips ;00/;01 (29.97) and ;00-;03
# (59.94) at each minute but the tenth, only at those rates; above 30 fps the
# frames field holds frame pairs and the field phase the second of a pair.
COUNTED = [
    (
        "29.97df",
        "00:00:59;28",
        [(0, 59, 28, False), (0, 59, 29, False), (1, 0, 2, False)],
    ),
    ("29.97df", "00:09:59;29", [(9, 59, 29, False), (10, 0, 0, False)]),
    ("59.94df", "00:00:59;59", [(0, 59, 29, True), (1, 0, 2, False)]),
    ("24", "00:00:59:23", [(0, 59, 23, False), (1, 0, 0, False)]),
    ("23.976", "23:59:59:23", [(23 * 60 + 59, 59, 23, False), (0, 0, 0, False)]),
    ("48", "00:00:00:46", [(0, 0, 23, False), (0, 0, 23, True), (0, 1, 0, False)]),
]


@pytest.mark.parametrize(
    ("rate_text", "start", "want"), COUNTED, ids=[f"{r}-{s}" for r, s, _ in COUNTED]
)
def test_exr_time_codes_counted_from_start(
    tmp_path: Path, rate_text: str, start: str, want: list
) -> None:
    rate = parse_rate(rate_text)
    with open_writer(
        get_preset("exr-acescg"),
        tmp_path / "tc.####.exr",
        width=64,
        height=36,
        rate=rate,
        start_timecode=Timecode.parse(start, rate),
    ) as w:
        for f in _frames(len(want)):
            w.write(f)
        w.close()
    for i, (minutes, seconds, pair_or_frame, phase) in enumerate(want):
        h, _ = _header(tmp_path / f"tc.{1001 + i:04d}.exr")
        tc = h["timeCode"]
        assert (tc.hours * 60 + tc.minutes, tc.seconds, tc.frame) == (
            minutes,
            seconds,
            pair_or_frame,
        )
        assert tc.dropFrame == rate.drop_frame
        assert bool(tc.fieldPhase) == phase


def test_start_timecode_at_another_rate_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="start timecode"):
        open_writer(
            get_preset("exr-acescg"),
            tmp_path / "x.####.exr",
            width=64,
            height=36,
            rate=RATE,
            start_timecode=Timecode.parse("01:00:00:00", parse_rate("25")),
        )


def test_probe_exr(tmp_path: Path) -> None:
    from hdrpipe.encode import probe

    with open_writer(
        get_preset("exr-aces"),
        tmp_path / "p.####.exr",
        width=64,
        height=36,
        rate=RATE,
        start_timecode=Timecode.parse("00:00:01:00", RATE),
    ) as w:
        w.write(_frames(1)[0])
        w.close()
    info = probe(tmp_path / "p.1001.exr")
    assert info["aces_image_container_flag"] == 1
    assert info["rate"] == "24000/1001" and info["start_timecode"] == "00:00:01:00"
    assert info["compression"] == "none" and info["pixel_types"] == ["half"]
