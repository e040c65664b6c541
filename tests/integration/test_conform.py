"""End-to-end conform jobs on small fixture plates.

Every expected value is computed independently of hdrpipe: OCIO called directly
with the built-in studio config, colour-science's ST 2084 decode, MediaInfo for
container tags, PyAV for decoded pixels.
"""

from __future__ import annotations

import hashlib
import json
import os
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import colour
import numpy as np
import OpenImageIO as oiio
import PyOpenColorIO as ocio
import pytest
from pymediainfo import MediaInfo

from fixtures.generate import make_plate
from hdrpipe.cli import main
from hdrpipe.engine import ConformJob, conform, plan
from hdrpipe.errors import ColorError, InputError, ValidationError
from hdrpipe.handoff.manifest import check_manifest

W, H, N = 192, 108, 12
PQ_DISPLAY = "Rec.2100-PQ - Display"
PQ_VIEW = "ACES 2.0 - HDR 1000 nits (Rec.2020)"


@pytest.fixture(scope="module")
def plate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_plate(
        tmp_path_factory.mktemp("src"), width=W, height=H, frames=N, seed=3
    )


def _source_frames(pattern: Path) -> list[np.ndarray]:
    frames = []
    for i in range(N):
        path = str(pattern).replace("####", f"{1001 + i:04d}")
        frames.append(oiio.ImageBuf(path).get_pixels(oiio.FLOAT)[..., :3].copy())
    return frames


def _reference_pq(frames: list[np.ndarray]) -> list[np.ndarray]:
    """ACES 2.0 HDR 1000-nit Rec.2020 PQ straight from OCIO's built-in studio config."""
    config = ocio.Config.CreateFromFile("ocio://studio-config-latest")
    dvt = ocio.DisplayViewTransform(src="ACES2065-1", display=PQ_DISPLAY, view=PQ_VIEW)
    cpu = config.getProcessor(dvt).getDefaultCPUProcessor()
    out = []
    for frame in frames:
        pix = np.ascontiguousarray(frame, dtype=np.float32).copy()
        cpu.applyRGB(pix)
        out.append(pix)
    return out


def _mediainfo_video(path: Path) -> dict:
    info = MediaInfo.parse(str(path))
    return next(t for t in info.tracks if t.track_type == "Video").to_data()


def _mediainfo_timecode(path: Path) -> str | None:
    info = MediaInfo.parse(str(path))
    tracks = [t.to_data() for t in info.tracks if t.track_type == "Other"]
    return next(
        (
            t["time_code_of_first_frame"]
            for t in tracks
            if "time_code_of_first_frame" in t
        ),
        None,
    )


@pytest.mark.slow
def test_conform_all_presets_end_to_end(plate: Path, tmp_path: Path) -> None:
    presets = [
        "prores4444xq-pq1000",
        "prores422hq-pq1000",
        "hevc-hdr10",
        "hevc-hlg",
        "h264-sdr-review",
        "exr-acescg",
        "exr-aces",
    ]
    job = ConformJob(
        inputs=(str(plate),),
        deliver=tuple(presets),
        outdir=tmp_path / "out",
        fps="23.976",
        start_tc="01:00:00:00",
    )
    seen: list[tuple[int, int]] = []
    manifest = conform(job, on_progress=lambda d, t: seen.append((d, t)))

    # Progress reached its total and never went backwards.
    assert seen and seen[-1][0] == seen[-1][1]
    assert all(b[0] >= a[0] for a, b in zip(seen, seen[1:], strict=False))

    data = json.loads(manifest.path.read_text())
    check_manifest(data)  # the structure the handoff stage relies on
    assert data["schema"] == "hdrpipe.manifest/1"
    assert data["rate"] == "24000/1001" and data["start_timecode"] == "01:00:00:00"
    assert data["frames"] == N and data["retime"] == "asis"
    assert [o["preset"] for o in data["outputs"]] == presets
    (source,) = data["inputs"]
    assert source["first"] == 1001 and source["last"] == 1000 + N
    assert len(source["sha256"]) == N and source["validation"]["status"] in (
        "pass",
        "warn",
    )
    # Hashed beside the stream: the digests are still those of the files.
    files = sorted(Path(str(plate).replace("####", "*")).parent.glob("*.exr"))
    assert source["sha256"] == {
        f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in files
    }

    # MaxCLL / MaxFALL: CTA-861.3 from an independent OCIO + colour-science computation.
    reference = _reference_pq(_source_frames(plate))
    nits = [np.max(colour.models.eotf_ST2084(f), axis=2) for f in reference]
    max_cll = max(float(n.max()) for n in nits)
    max_fall = max(float(n.mean()) for n in nits)
    by_preset = {o["preset"]: o for o in data["outputs"]}
    hdr = by_preset["prores4444xq-pq1000"]["hdr"]
    assert abs(hdr["max_cll"] - max_cll) <= 1.0, (hdr, max_cll)
    assert abs(hdr["max_fall"] - max_fall) <= 1.0, (hdr, max_fall)
    assert by_preset["hevc-hdr10"]["hdr"]["max_cll"] == hdr["max_cll"]
    # Default colour path: the verified LUT for every display target (PQ in the
    # per-channel log domain; SDR and HLG need the chroma domain to meet the
    # budget), as recorded in the manifest with the domain and the errors.
    paths = data["color"]["color_path"]
    assert paths == {
        "hdr-pq-1000-rec2020": "fast",
        "hlg-1000": "fast",
        "sdr-rec709": "fast",
        "acescg": "exact",
        "aces2065-1": "exact",
    }
    records = {
        t["target"]["name"]: t["color_path"] for t in data["color"]["transforms"]
    }
    kinds = {
        name: rec["bake"]["domain"]["kind"]
        for name, rec in records.items()
        if rec["bake"]
    }
    assert kinds == {
        "hdr-pq-1000-rec2020": "rgb-log",
        "hlg-1000": "chroma",
        "sdr-rec709": "chroma",
    }
    for name in kinds:
        assert (
            records[name]["p999_code10"] <= 1.0
            and records[name]["max_delta_e_itp"] <= 2.0
        )

    expected_tags = {
        "prores4444xq-pq1000": ("ProRes", "BT.2020", "PQ"),
        "prores422hq-pq1000": ("ProRes", "BT.2020", "PQ"),
        "hevc-hdr10": ("HEVC", "BT.2020", "PQ"),
        "hevc-hlg": ("HEVC", "BT.2020", "HLG"),
        "h264-sdr-review": ("AVC", "BT.709", "BT.709"),
    }
    for preset, (fmt, primaries, transfer) in expected_tags.items():
        path = Path(by_preset[preset]["path"])
        assert path.is_file() and not list(path.parent.glob(".hdrpipe-*"))
        video = _mediainfo_video(path)
        assert video["format"] == fmt, preset
        assert video["color_primaries"] == primaries, preset
        assert video["transfer_characteristics"] == transfer, preset
        # ProRes in MOV: colr nclc has no range flag (docs/container-metadata.md).
        want_range = None if fmt == "ProRes" else "Limited"
        assert video.get("color_range") == want_range, preset
        assert int(video["frame_count"]) == N, preset
        assert (video["framerate_num"], video["framerate_den"]) == ("24000", "1001"), (
            preset
        )
        assert _mediainfo_timecode(path) == "01:00:00:00", preset
        with av.open(str(path)) as container:
            assert container.streams.video[0].average_rate == Fraction(24000, 1001)
        if preset in ("prores4444xq-pq1000", "hevc-hdr10"):
            assert (
                int(video["maximum_content_light_level"].split()[0]) == hdr["max_cll"]
            )
            assert (
                int(video["maximum_frameaverage_light_level"].split()[0])
                == hdr["max_fall"]
            )
    assert _mediainfo_video(Path(by_preset["hevc-hdr10"]["path"]))["codec_id"] == "hvc1"

    # Decoded ProRes 4444 XQ pixels match the independent reference signal.
    with av.open(by_preset["prores4444xq-pq1000"]["path"]) as container:
        frame = next(container.decode(video=0))
        rgb = frame.to_ndarray(
            format="gbrpf32le"
        )  # FFmpeg's own YCbCr→RGB (BT.2020 tagged)
    rgb = np.stack([rgb[2], rgb[0], rgb[1]], axis=-1) if rgb.shape[0] == 3 else rgb
    err = np.abs(rgb - np.clip(reference[0], 0, 1))
    psnr = 10 * np.log10(1.0 / float(np.mean(err**2)))
    assert psnr >= 45.0, psnr

    # EXR deliverables: AP1 / AP0 chromaticities, frames from 1001, timecode per frame.
    acescg = Path(by_preset["exr-acescg"]["path"])
    files = sorted(acescg.parent.glob("*.exr"))
    assert [f.name for f in files] == [
        f"{acescg.name[:-9]}.{1001 + i:04d}.exr" for i in range(N)
    ]
    spec = oiio.ImageInput.open(str(files[1])).spec()
    np.testing.assert_allclose(
        spec.getattribute("chromaticities"),
        [0.713, 0.293, 0.165, 0.830, 0.128, 0.044, 0.32168, 0.33767],
        atol=1e-4,
    )
    assert spec.getattribute("smpte:TimeCode") is not None
    aces = sorted(Path(by_preset["exr-aces"]["path"]).parent.glob("*.exr"))
    spec0 = oiio.ImageInput.open(str(aces[0])).spec()
    assert spec0.getattribute("acesImageContainerFlag") == 1


def test_failing_source_stops_unless_forced(tmp_path: Path) -> None:
    broken = make_plate(
        tmp_path / "src", width=64, height=36, frames=6, variant="nonfinite"
    )
    with pytest.raises(ValidationError, match="nonfinite|NaN|Inf"):
        plan(
            ConformJob(
                inputs=(str(broken),), deliver=("exr-acescg",), outdir=tmp_path / "o"
            )
        )
    code = main(
        [
            "conform",
            str(broken),
            "-d",
            "exr-acescg",
            "-o",
            str(tmp_path / "o"),
            "--no-progress",
        ]
    )
    assert code == 1
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").rglob("*.exr"))
    forced = plan(
        ConformJob(
            inputs=(str(broken),),
            deliver=("exr-acescg",),
            outdir=tmp_path / "o",
            force=True,
        )
    )
    assert forced.frames == 6 and forced.reports[0].status == "fail"


def test_existing_outputs_are_not_replaced(
    plate: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    existing = out / "plate_h264-sdr-review.mp4"
    existing.write_bytes(b"keep me")
    code = main(
        [
            "conform",
            str(plate),
            "-d",
            "h264-sdr-review",
            "-o",
            str(out),
            "--no-progress",
        ]
    )
    assert code == 2
    assert existing.read_bytes() == b"keep me"
    assert "--overwrite" in capsys.readouterr().err


def test_output_never_overwrites_a_source(plate: Path) -> None:
    # An EXR deliverable whose directory and name land on the source files themselves.
    src_dir = plate.parent
    job = ConformJob(
        inputs=(str(plate),),
        deliver=("exr-aces",),
        outdir=src_dir.parent,
        name="plate",
        overwrite=True,
    )
    planned_path = plan(job).outputs[0].path
    if (
        planned_path.parent != src_dir
    ):  # the layout puts EXR in <name>_<preset>/: craft the clash
        os.symlink(src_dir, planned_path.parent)
    with pytest.raises(InputError, match="source"):
        plan(job)


def test_failure_mid_job_leaves_no_partial_or_final_file(
    plate: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hdrpipe.color import Transform

    calls = {"n": 0}
    real = Transform.apply

    def failing(self: Transform, frame: np.ndarray, **kwargs: Any) -> np.ndarray:
        calls["n"] += 1
        if calls["n"] == 5:
            raise RuntimeError("simulated crash in the colour stage")
        return real(self, frame, **kwargs)

    monkeypatch.setattr(Transform, "apply", failing)
    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="simulated"):
        conform(
            ConformJob(
                inputs=(str(plate),),
                deliver=("prores422hq-pq1000", "exr-acescg"),
                outdir=out,
            )
        )
    leftovers = list(out.rglob("*"))  # no file, no temporary folder
    assert leftovers == [], leftovers


def test_two_shots_concatenate_with_record_timecode(tmp_path: Path) -> None:
    a = make_plate(tmp_path / "a", name="shotA", width=64, height=36, frames=5, seed=1)
    b = make_plate(
        tmp_path / "b", name="shotB", width=64, height=36, frames=7, seed=2, first=2001
    )
    manifest = conform(
        ConformJob(
            inputs=(str(a), str(b)),
            deliver=("prores422hq-pq1000",),
            outdir=tmp_path / "out",
            fps="24",
            start_tc="01:00:00:00",
            name="reel",
        )
    )
    data = manifest.to_dict()
    assert [s["name"] for s in data["shots"]] == ["shotA", "shotB"]
    assert [(s["record_first"], s["record_frames"]) for s in data["shots"]] == [
        (0, 5),
        (5, 7),
    ]
    assert data["shots"][1]["record_in"] == "01:00:00:05"
    assert data["shots"][1]["source_first"] == 2001
    video = _mediainfo_video(Path(data["outputs"][0]["path"]))
    assert int(video["frame_count"]) == 12


def test_letterbox_bars_are_black_and_excluded_from_maxfall(tmp_path: Path) -> None:
    src = make_plate(tmp_path / "src", width=128, height=54, frames=3)  # 2.37:1
    job = ConformJob(
        inputs=(str(src),),
        deliver=("exr-acescg",),
        outdir=tmp_path / "o",
        reformat="128x72",
    )
    manifest = conform(job).to_dict()
    x, y, w, h = manifest["raster"]["active"]
    # 54 active rows centred in 72 on an even row (4:2:0 chroma pairs): bars 8 and 10.
    assert (x, w, h) == (0, 128, 54) and y in (8, 10)
    first = sorted(Path(manifest["outputs"][0]["path"]).parent.glob("*.exr"))[0]
    pixels = oiio.ImageBuf(str(first)).get_pixels(oiio.FLOAT)
    assert pixels.shape[:2] == (72, 128)
    assert np.all(pixels[:y] == 0) and np.all(pixels[y + h :] == 0)
    assert np.abs(pixels[y + 2 : y + h - 2]).max() > 0.01

    hdr = conform(
        ConformJob(
            inputs=(str(src),),
            deliver=("prores422hq-pq1000",),
            outdir=tmp_path / "p",
            reformat="128x72",
        )
    ).to_dict()["outputs"][0]["hdr"]
    wide = conform(
        ConformJob(
            inputs=(str(src),),
            deliver=("prores422hq-pq1000",),
            outdir=tmp_path / "q",
            reformat="128x72",
            include_mattes=True,
        )
    ).to_dict()["outputs"][0]["hdr"]
    assert hdr["max_cll"] == wide["max_cll"]
    # Bars are black: including them lowers the frame average by the active share.
    assert wide["max_fall"] <= hdr["max_fall"] * 54 / 72 + 1
    assert hdr["max_fall"] > wide["max_fall"]


@pytest.mark.slow
def test_ctrl_c_leaves_no_file_under_a_final_name(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    src = make_plate(tmp_path / "src", width=640, height=360, frames=40, seed=5)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hdrpipe",
            "conform",
            str(src),
            "-d",
            "prores422hq-pq1000",
            "-d",
            "exr-acescg",
            "-o",
            str(out),
            "--no-progress",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    # Deliverables are made inside private .hdrpipe-* folders (hdrpipe.outputs).
    while time.monotonic() < deadline and not list(out.rglob(".hdrpipe-*/*")):
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    assert list(out.rglob(".hdrpipe-*/*")), "the encode never started"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert not (out / "plate_prores422hq-pq1000.mov").exists()
    assert not list(out.rglob("*.exr")), list(out.rglob("*.exr"))
    assert not list(out.rglob(".hdrpipe-*"))


def test_cli_conform_with_handoff(
    plate: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import opentimelineio as otio

    out = tmp_path / "out"
    code = main(
        [
            "conform",
            str(plate),
            "-d",
            "prores422hq-pq1000",
            "-d",
            "exr-acescg",
            "-o",
            str(out),
            "--fps",
            "24000/1001",
            "--start-tc",
            "10:00:00:00",
            "--handoff",
            "--color-path",
            "exact",
            "--json",
            "--no-progress",
        ]
    )
    assert code == 0
    document = json.loads(capsys.readouterr().out)  # exactly one JSON document
    assert set(document["color"]["color_path"].values()) == {"exact"}
    written = {kind: Path(path) for kind, path in document["handoff"].items()}
    assert {"nuke", "otio", "edl", "fcpxml", "amf"} <= set(written)
    assert all(path.is_file() and path.parent == out for path in written.values())
    timeline = otio.adapters.read_from_file(str(written["otio"]))
    assert timeline.global_start_time.to_timecode() == "10:00:00:00"
    assert timeline.global_start_time.rate == pytest.approx(24000 / 1001)
    nk = written["nuke"].read_text()
    assert f"\n file {plate}\n" in nk
    assert f"\n first 1001\n last {1000 + N}\n" in nk


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("start_tc", "25:00:00:00"),
        ("fps", "23.5x"),
        ("reformat", "wide"),
        ("frames", "9-1"),
        ("config", "/nonexistent/config.ocio"),
        ("look", "/nonexistent/grade.cdl"),
    ],
    ids=["timecode", "rate", "raster", "range", "config", "look"],
)
def test_bad_arguments_fail_before_pixel_validation(
    plate: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, field: str, value: str
) -> None:
    import hdrpipe.engine.job as engine

    def no_validation(*_a: object, **_k: object) -> None:
        raise AssertionError("validated pixels before checking the arguments")

    monkeypatch.setattr(engine, "validate", no_validation)
    job = ConformJob(
        inputs=(str(plate),), deliver=("exr-acescg",), outdir=tmp_path, **{field: value}
    )
    # A bad look is a ColorError (exit 1); everything else is an InputError (exit 2).
    with pytest.raises(ColorError if field == "look" else InputError):
        plan(job)


def test_damaged_first_frame_is_a_validation_failure_not_a_crash(
    tmp_path: Path,
) -> None:
    src = make_plate(tmp_path / "src", width=64, height=36, frames=4)
    first = Path(str(src).replace("####", "1001"))
    first.write_bytes(first.read_bytes()[:200])  # truncated header
    code = main(
        [
            "conform",
            str(src),
            "-d",
            "exr-acescg",
            "-o",
            str(tmp_path / "o"),
            "--no-progress",
        ]
    )
    assert code == 1
    forced = plan(
        ConformJob(
            inputs=(str(src),),
            deliver=("exr-acescg",),
            outdir=tmp_path / "o",
            force=True,
        )
    )
    assert forced.reports[0].check("readable").frames == (1001,)
    assert (forced.width, forced.height) == (64, 36)
    # --force conforms it, holding the nearest good frame in place of the damaged one.
    manifest = conform(
        ConformJob(
            inputs=(str(src),),
            deliver=("exr-acescg",),
            outdir=tmp_path / "f",
            force=True,
        )
    ).to_dict()
    assert manifest["validation_forced"] is True
    out = sorted(Path(manifest["outputs"][0]["path"]).parent.glob("*.exr"))
    assert len(out) == 4
    held, second = (oiio.ImageBuf(str(p)).get_pixels(oiio.FLOAT) for p in out[:2])
    np.testing.assert_array_equal(held, second)


def test_cli_conform_on_a_local_dask_cluster_matches_one_process(
    plate: Path, tmp_path: Path
) -> None:
    args = ["-d", "prores422hq-pq1000", "--no-progress", "--fps", "24"]
    assert main(["conform", str(plate), *args, "-o", str(tmp_path / "one")]) == 0
    farm_args = ["--workers", "1", "--chunk", "5", "-o", str(tmp_path / "farm")]
    assert main(["conform", str(plate), *args, *farm_args]) == 0
    planes = []
    for out in ("one", "farm"):
        with av.open(str(tmp_path / out / "plate_prores422hq-pq1000.mov")) as container:
            planes.append([f.to_ndarray() for f in container.decode(video=0)])
    assert len(planes[0]) == len(planes[1]) == N
    for a, b in zip(*planes, strict=True):
        np.testing.assert_array_equal(a, b)
    manifest = json.loads((tmp_path / "farm" / "plate.manifest.json").read_text())
    assert [c["record_range"] for c in manifest["farm"]["chunks"]] == [
        [0, 5],
        [5, 10],
        [10, 12],
    ]


def test_encoder_frames_made_in_the_colour_stage_equal_the_signals(
    plate: Path, tmp_path: Path
) -> None:
    """x265's Y'CbCr frames are made strip by strip in the colour stage (no float32
    signal held whole): the planes are those of the whole signal converted."""
    from hdrpipe.encode import get_preset, open_writer
    from hdrpipe.encode.video import frame_planes
    from hdrpipe.engine.stream import _stream

    planned = plan(
        ConformJob(inputs=(str(plate),), deliver=("hevc-hdr10",), outdir=tmp_path)
    )
    spec = get_preset("hevc-hdr10")
    writer = open_writer(spec, tmp_path / "x.mp4", width=W, height=H, rate=planned.rate)
    compared = []

    def consume(index: int, _shot: Any, signals: dict, made: list) -> None:
        want = frame_planes(writer.prepare(signals[spec.target]))
        got = frame_planes(made[0])
        for ours, ref in zip(got, want, strict=True):
            np.testing.assert_array_equal(ours, ref)
        compared.append(index)

    try:
        _stream(
            planned,
            [spec.target],
            consume,
            early=[(spec.target, writer.begin_frame)],
            whole={spec.target},
        )
    finally:
        writer.abort()
    assert compared == list(range(N))
