"""RGBA sources: alpha kept where the preset carries it, premultiplied RGB elsewhere.

The fixture's ``rgba`` plate has an alpha ramp 1.0 → 0.25 across the frame over
its colour as stored (premultiplied, the EXR convention). Expected pixels: the
stored RGB through the exact colour transform, converted to Y' by colour-science
(BT.2020 weights, narrow range, 10-bit); decoded by FFmpeg through PyAV.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import av
import numpy as np
import OpenImageIO as oiio
import pytest

from fixtures.generate import make_plate
from hdrpipe.cli import main
from hdrpipe.color import Transform
from hdrpipe.engine import ConformJob, conform, plan
from hdrpipe.errors import InputError

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import colour

W, H, N = 192, 108, 4
DROPPED = ("prores422hq-pq1000", "hevc-hdr10", "h264-sdr-review")


@pytest.fixture(scope="module")
def rgba(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_plate(
        tmp_path_factory.mktemp("rgba"), width=W, height=H, frames=N, variant="rgba"
    )


@pytest.fixture(scope="module")
def outputs(
    rgba: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, object]]:
    job = ConformJob(
        inputs=(str(rgba),),
        deliver=("prores4444xq-pq1000", *DROPPED),
        outdir=tmp_path_factory.mktemp("out"),
        color_path="exact",
    )
    manifest = conform(job)
    on_disk = json.loads(manifest.path.read_text())
    return {out["preset"]: out for out in on_disk["outputs"]}


def _luma(path: str) -> list[np.ndarray]:
    out = []
    with av.open(path) as container:
        for frame in container.decode(video=0):
            plane = frame.planes[0]
            bits = frame.format.components[0].bits
            a = np.frombuffer(plane, np.uint16).reshape(-1, plane.line_size // 2)
            out.append(a[: plane.height, : plane.width] / 2 ** (bits - 10))
    return out


def _reference_luma(rgba: Path) -> list[np.ndarray]:
    transform = Transform(target="hdr-pq-1000-rec2020", color_path="exact")
    out = []
    for i in range(N):
        path = str(rgba).replace("####", f"{1001 + i:04d}")
        pixels = oiio.ImageBuf(path).get_pixels(oiio.FLOAT)
        assert pixels.shape[2] == 4 and pixels[..., 3].min() < 0.3  # a real matte
        signal = transform.apply(np.ascontiguousarray(pixels[..., :3]))
        y = colour.RGB_to_YCbCr(
            signal.astype(np.float64),
            K=colour.WEIGHTS_YCBCR["ITU-R BT.2020"],
            out_bits=10,
            out_legal=True,
            out_int=False,
        )[..., 0]
        out.append(y * 1023)  # colour's float legal range → 10-bit code values
    return out


def test_alpha_kept_in_prores_4444(outputs: dict) -> None:
    out = outputs["prores4444xq-pq1000"]
    assert out["has_alpha"] is True and out["probe"]["has_alpha"] is True
    assert [f["id"] for f in out["findings"]] == []


@pytest.mark.parametrize("name", DROPPED)
def test_alpha_dropped_with_a_finding(outputs: dict, name: str) -> None:
    out = outputs[name]
    assert out["has_alpha"] is False and out["probe"]["has_alpha"] is False
    (finding,) = [f for f in out["findings"] if f["id"] == "alpha_dropped"]
    assert finding["severity"] == "warning"
    assert finding["details"]["reason"] == "the preset cannot carry alpha"


@pytest.mark.parametrize("name", ["prores422hq-pq1000", "hevc-hdr10"])
def test_dropped_alpha_leaves_the_premultiplied_colour(
    outputs: dict, rgba: Path, name: str
) -> None:
    decoded = _luma(str(outputs[name]["path"]))
    reference = _reference_luma(rgba)
    assert len(decoded) == N
    err = np.abs(np.stack(decoded) - np.stack(reference))
    worst = np.unravel_index(np.argmax(err), err.shape)
    # Codec tolerance in 10-bit Y' codes. Multiplying by alpha again (or
    # compositing over black) would be off by up to 75 % of the signal: hundreds.
    assert err.mean() < 1.5, f"mean {err.mean():.2f}"
    assert np.percentile(err, 99) < 8, f"worst {err.max():.1f} at {worst}"


def test_alpha_drop_and_error_in_the_plan(rgba: Path, tmp_path: Path) -> None:
    dropped = plan(
        ConformJob(
            inputs=(str(rgba),),
            deliver=("prores4444xq-pq1000", "exr-acescg"),
            outdir=tmp_path,
            alpha="drop",
        ),
        validate_sources=False,
    )
    assert [o.has_alpha for o in dropped.outputs] == [False, False]
    assert all(
        o.findings[0]["details"]["reason"] == "--alpha drop" for o in dropped.outputs
    )
    with pytest.raises(InputError, match="cannot carry alpha"):
        plan(
            ConformJob(
                inputs=(str(rgba),),
                deliver=("hevc-hdr10",),
                outdir=tmp_path,
                alpha="error",
            ),
            validate_sources=False,
        )
    with pytest.raises(InputError, match="alpha choice"):
        ConformJob(
            inputs=(str(rgba),), deliver=("hevc-hdr10",), outdir=tmp_path, alpha="x"
        )


def test_cli_alpha_error_exits_2(
    rgba: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "conform",
            str(rgba),
            "--deliver",
            "prores422hq-pq1000",
            "-o",
            str(tmp_path / "out"),
            "--alpha",
            "error",
            "--no-progress",
        ]
    )
    assert code == 2
    assert "cannot carry alpha" in capsys.readouterr().err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_farm_stitch_keeps_one_alpha_finding_and_judges_the_whole_bitrate(
    rgba: Path, tmp_path: Path
) -> None:
    from hdrpipe import farm

    presets = tmp_path / "floor.toml"
    # 50-60 bit/pixel: 24.9 Mb/s at 192x108 24 fps, above what HEVC takes here.
    presets.write_text(
        '[presets.hevc-floor]\nbase = "hevc-hdr10"\n'
        "min_bits_per_pixel = 50.0\nmax_bits_per_pixel = 60.0\n"
    )
    job = ConformJob(
        inputs=(str(rgba),),
        deliver=("hevc-floor",),
        outdir=tmp_path / "out",
        presets_file=presets,
        color_path="exact",
    )
    plan_ = farm.plan_job(job, chunk=2)
    for chunk in plan_.chunks:  # HDR10 parts bake the whole job's light level
        farm.measure_chunk(plan_, chunk.index)
    for chunk in plan_.chunks:
        farm.run_chunk(plan_, chunk.index)
    (out,) = farm.stitch(plan_).to_dict()["outputs"]
    ids = [f["id"] for f in out["findings"]]
    assert sorted(ids) == ["alpha_dropped", "bitrate_below_floor"]
    (floor,) = [f for f in out["findings"] if f["id"] == "bitrate_below_floor"]
    whole = Path(out["path"]).stat().st_size * 8 / (N / 24)
    assert floor["details"]["bitrate"] == round(whole)


def test_dry_run_shows_the_alpha_decision(
    rgba: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["conform", str(rgba), "-o", str(tmp_path), "--dry-run", "--json"]
    args += ["-d", "prores4444xq-pq1000", "-d", "hevc-hdr10", "--no-progress"]
    assert main(args) == 0
    doc = json.loads(capsys.readouterr().out)
    outs = {o["preset"]: o for o in doc["outputs"]}
    assert outs["prores4444xq-pq1000"]["has_alpha"] is True
    assert outs["hevc-hdr10"]["has_alpha"] is False
    assert [f["id"] for f in outs["hevc-hdr10"]["findings"]] == ["alpha_dropped"]
    assert doc["pixel_aspect"] == 1.0
