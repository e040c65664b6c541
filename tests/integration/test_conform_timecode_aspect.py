"""Start timecode across source and delivery rates, EXR drop-frame flag, pixel aspect.

Expected timecodes are worked by hand from the documented rule (label time kept,
frames rescaled to the new timebase, nearest, ties earlier); the movie's ``tmcd``
is read back with FFmpeg (PyAV); anamorphic pixels are checked against a linear
ramp resampled by hand and converted with colour-science's AP0 → AP1 matrix.
"""

from __future__ import annotations

import json
import logging
import warnings
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import OpenEXR
import OpenImageIO as oiio
import pytest

from fixtures.generate import make_plate, render_frame
from hdrpipe.cli import main
from hdrpipe.engine import ConformJob, conform, plan
from hdrpipe.exr import AP0_CHROMATICITIES, write_exr

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import colour


def _write_plate(
    folder: Path,
    frames: list[np.ndarray],
    *,
    fps: Fraction,
    time_code: str | None,
    attributes: dict[str, object] | None = None,
) -> Path:
    folder.mkdir(parents=True)
    for i, px in enumerate(frames):
        write_exr(
            folder / f"plate.{1001 + i:04d}.exr",
            px,
            chromaticities=AP0_CHROMATICITIES,
            time_code=time_code if i == 0 else None,
            frames_per_second=fps,
            attributes={"acesImageContainerFlag": 1, **(attributes or {})},
        )
    return folder / "plate.####.exr"


def test_30fps_plate_at_frame_29_delivered_at_23976(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Frame 1030 of a 30 fps plate from 01:00:00:00 carries 01:00:00:29, a label
    # 23.976 timecode cannot hold: 1 h + 29/30 s is 23.2 frames -> 01:00:00:23.
    pattern = make_plate(tmp_path / "src", width=64, height=36, frames=34, fps=30)
    out = tmp_path / "out"
    code = main(
        [
            "conform",
            str(pattern),
            "--frames",
            "1030-1033",
            "--deliver",
            "h264-sdr-review",
            "--fps",
            "23.976",
            "-o",
            str(out),
            "--no-progress",
            "--json",
        ]
    )
    assert code == 0, capsys.readouterr().err
    manifest = json.loads(capsys.readouterr().out)
    assert manifest["start_timecode"] == "01:00:00:23"
    assert manifest["inputs"][0]["source_timecode"] == "01:00:00:29"
    with av.open(manifest["outputs"][0]["path"]) as container:
        tmcd = container.streams.video[0].metadata.get("timecode") or (
            container.metadata.get("timecode")
        )
    assert tmcd == "01:00:00:23"


def test_drop_frame_flag_is_read(tmp_path: Path) -> None:
    # 00:01:00;00 does not exist in drop-frame counting: a DF counter shows
    # 00:01:00;02 there. Read as DF at 29.97, the start is 00:01:00;02 and, at
    # a 29.97 non-drop delivery (same timebase), keeps the label 00:01:00:02.
    frame = render_frame(32, 18, 0)
    pattern = _write_plate(
        tmp_path / "df",
        [frame, frame],
        fps=Fraction(30000, 1001),
        time_code="00:01:00;00",
    )
    job = ConformJob(inputs=(str(pattern),), deliver=("exr-acescg",), outdir=tmp_path)
    planned = plan(job, validate_sources=False)
    assert str(planned.shots[0].source_timecode) == "00:01:00;02"
    assert str(planned.start_timecode) == "00:01:00:02"
    df = plan(
        ConformJob(
            inputs=(str(pattern),),
            deliver=("exr-acescg",),
            outdir=tmp_path,
            fps="29.97df",
        ),
        validate_sources=False,
    )
    assert str(df.start_timecode) == "00:01:00;02"


def test_drop_frame_flag_at_24fps_is_ignored_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    frame = render_frame(32, 18, 0)
    pattern = _write_plate(
        tmp_path / "df24", [frame], fps=Fraction(24), time_code="01:00:00;05"
    )
    job = ConformJob(inputs=(str(pattern),), deliver=("exr-acescg",), outdir=tmp_path)
    with caplog.at_level(logging.WARNING):
        planned = plan(job, validate_sources=False)
    assert str(planned.start_timecode) == "01:00:00:05"
    assert "drop-frame" in caplog.text


def _ramp(width: int, height: int) -> np.ndarray:
    x = np.arange(width, dtype=np.float32)
    value = 0.05 + 0.5 * x / (width - 1)
    return np.repeat(np.repeat(value[None, :, None], height, 0), 3, 2).copy()


def test_anamorphic_plate_reformat_and_manifest(tmp_path: Path) -> None:
    # 96x54 pixels of aspect 2.0 show a 192x54 picture: reformatted to a square
    # 192x54 raster it fills it (a square-pixel reading would pillarbox it).
    w, h = 96, 54
    pattern = _write_plate(
        tmp_path / "ana",
        [_ramp(w, h)] * 2,
        fps=Fraction(24),
        time_code="01:00:00:00",
        attributes={"pixelAspectRatio": 2.0},
    )
    kept = plan(
        ConformJob(inputs=(str(pattern),), deliver=("exr-acescg",), outdir=tmp_path),
        validate_sources=False,
    )
    assert (kept.width, kept.height, kept.pixel_aspect) == (96, 54, 2.0)
    # kept at its stored size, the EXR deliverable keeps the 2:1 pixels
    kept_doc = conform(
        ConformJob(
            inputs=(str(pattern),),
            deliver=("exr-acescg",),
            outdir=tmp_path / "kept",
            color_path="exact",
        )
    ).to_dict()
    for path in sorted((tmp_path / "kept").rglob("*.exr")):
        with OpenEXR.File(str(path)) as exr_file:  # not hdrpipe's (OIIO) reader
            assert exr_file.header()["pixelAspectRatio"] == 2.0
    assert kept_doc["raster"]["pixel_aspect"] == 2.0
    job = ConformJob(
        inputs=(str(pattern),),
        deliver=("exr-acescg",),
        outdir=tmp_path / "out",
        reformat="192x54",
        color_path="exact",
    )
    manifest = conform(job).to_dict()
    assert manifest["raster"]["pixel_aspect"] == 1.0
    assert manifest["inputs"][0]["pixel_aspect"] == 2.0
    assert manifest["raster"]["active"] == [0, 0, 192, 54]
    out = Path(manifest["outputs"][0]["path"].replace("####", "1001"))
    pixels = oiio.ImageBuf(str(out)).get_pixels(oiio.FLOAT)[..., :3]
    # Output column x samples the source at (x + 0.5) / 2 - 0.5 (pixel centres);
    # a linear ramp stays linear under any normalised resampling filter.
    xs = (np.arange(192) + 0.5) / 2 - 0.5
    ramp = 0.05 + 0.5 * xs / (w - 1)
    ap0_to_ap1 = colour.matrix_RGB_to_RGB(
        colour.RGB_COLOURSPACES["ACES2065-1"], colour.RGB_COLOURSPACES["ACEScg"]
    )
    expected = ramp[:, None] * ap0_to_ap1.sum(axis=1)[None, :]
    for path in sorted((tmp_path / "out").rglob("*.exr")):
        with OpenEXR.File(str(path)) as exr_file:  # reformatted: square pixels
            assert exr_file.header()["pixelAspectRatio"] == 1.0
    interior = slice(8, 184)  # away from the edges, where the filter clamps
    row = pixels[h // 2, interior].astype(np.float64)
    np.testing.assert_allclose(row, expected[interior], atol=2e-3)


def test_exr_delivery_above_30fps_carries_frame_pair_timecode(tmp_path: Path) -> None:
    # A 48 fps EXR delivery labels frames 30-47 of each second: SMPTE ST 12-1
    # counts frame pairs above 30 fps (this was an internal error).
    pattern = make_plate(tmp_path / "src", width=64, height=36, frames=3)
    out = tmp_path / "out"
    args = ["conform", str(pattern), "-d", "exr-aces", "--fps", "48"]
    args += ["--start-tc", "01:00:00:46", "-o", str(out), "--no-progress"]
    assert main([*args, "--no-report"]) == 0
    frames = sorted((out / "plate_exr-aces").glob("*.exr"))
    labels = []
    for path in frames:
        inp = oiio.ImageInput.open(str(path))  # an independent reader's packing
        word = int(inp.spec().getattribute("smpte:TimeCode")[0])
        inp.close()
        pair = (word & 0x0F) + 10 * ((word >> 4) & 0x03)
        labels.append((pair, bool(word & 0x8000)))
    # 46, 47 (pair 23, both fields), then 01:00:01:00.. (pair 0) for frames 3-5
    assert labels[:4] == [(23, False), (23, True), (0, False), (0, True)]


@pytest.mark.parametrize(
    ("stored", "ratio"), [(2.0, (2, 1)), (4 / 3, (4, 3))], ids=["2to1", "4to3"]
)
def test_anamorphic_plate_kept_gives_movies_its_pixel_aspect(
    tmp_path: Path, stored: float, ratio: tuple[int, int]
) -> None:
    # Kept at its stored size, an anamorphic plate's movies say so: the pasp box
    # (read by FFmpeg's MOV demuxer and by MediaInfo) and, for HEVC, the VUI
    # sample aspect (read by FFmpeg's decoder from the bitstream). EXR stores
    # the aspect as a float32 (4:3 reads back 1.3333334): the movie gets 4:3.
    from pymediainfo import MediaInfo

    from hdrpipe import farm

    w, h = 64, 36
    pattern = _write_plate(
        tmp_path / "ana",
        [_ramp(w, h)] * 4,
        fps=Fraction(24),
        time_code="01:00:00:00",
        attributes={"pixelAspectRatio": stored},
    )
    presets = ("prores4444xq-pq1000", "hevc-hdr10")
    job = ConformJob(
        inputs=(str(pattern),), deliver=presets, outdir=tmp_path / "single"
    )
    single = conform(job).to_dict()
    farm_plan = farm.plan_job(
        ConformJob(
            inputs=(str(pattern),), deliver=presets[:1], outdir=tmp_path / "farm"
        ),
        chunk=2,
    )
    for chunk in farm_plan.chunks:
        farm.run_chunk(farm_plan, chunk.index)
    stitched = farm.stitch(farm_plan).to_dict()
    movies = [o["path"] for o in single["outputs"] + stitched["outputs"]]
    assert len(movies) == 3
    expected = Fraction(*ratio)
    for path in movies:
        with av.open(path) as container:
            stream = container.streams.video[0]
            assert stream.sample_aspect_ratio == expected, path
            if path.endswith(".mp4"):
                # HEVC's own VUI aspect_ratio_idc (the decoder's, not the box's)
                assert stream.codec_context.sample_aspect_ratio == expected
        (video,) = MediaInfo.parse(path).video_tracks
        assert float(video.pixel_aspect_ratio) == pytest.approx(
            float(expected), abs=1e-3
        ), path
        assert float(video.display_aspect_ratio) == pytest.approx(
            w * float(expected) / h, abs=2e-3
        ), path
