"""A memory budget: jobs estimated over it are refused (or run with shallower queues)
before the first frame; validate checks a frame too large to decode in budget in
strips of rows, and refuses only a frame of which one row is over the budget."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import OpenImageIO as oiio
import pytest
from reliability_helpers import PYTHON

from hdrpipe.encode.presets import get_preset
from hdrpipe.engine import ConformJob, conform, plan
from hdrpipe.engine.budget import estimate_memory
from hdrpipe.errors import InputError
from hdrpipe.memory import parse_size
from hdrpipe.sequence import open_sequence

AP0 = (0.7347, 0.2653, 0.0, 1.0, 0.0001, -0.077, 0.32168, 0.33767)
BOMB = 4000  # 4000x4000 half RGB: 96 MB decoded from a ~0.1 MB file


@pytest.fixture(scope="module")
def zip_bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small ZIP-compressed EXR of constant pixels that decodes to 96 MB."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.1001.exr"
    spec = oiio.ImageSpec(BOMB, BOMB, 3, "half")
    spec.attribute("compression", "zip")
    spec.attribute("chromaticities", "float[8]", AP0)
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), spec), out.geterror()
    strip = np.full((500, BOMB, 3), 0.18, np.float16)
    for y in range(0, BOMB, 500):
        assert out.write_scanlines(y, y + 500, 0, strip), out.geterror()
    out.close()
    assert path.stat().st_size < 1_000_000
    return path


# VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the forking
# process (here pytest), VmHWM belongs to this process image alone.
_PEAK = (
    "import sys\n"
    "from hdrpipe.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "status = open('/proc/self/status').read().splitlines()\n"
    "hwm = next(line for line in status if line.startswith('VmHWM'))\n"
    "print('peak', int(hwm.split()[1]) * 1024, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def _cli_peak(*args: str) -> tuple[int, str, int]:
    """Exit code, stderr and peak RSS (bytes) of ``hdrpipe ARGS`` in a fresh process."""
    done = subprocess.run(
        [PYTHON, "-c", _PEAK, *args], capture_output=True, text=True, timeout=300
    )
    peak = int(done.stderr.rsplit("peak ", 1)[1].split()[0])
    return done.returncode, done.stderr, peak


def _validate_json(
    capsys: pytest.CaptureFixture[str], path: Path, budget: str
) -> tuple[int, dict[str, Any], str]:
    from hdrpipe.cli import main

    code = main(["validate", "--json", str(path), "--max-memory", budget])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out else {}), err


def _spy_decode(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Paths validate decodes whole (the strip reader is not this function)."""
    import importlib

    # By module name: the package root re-exports a function called validate.
    validate_mod = importlib.import_module("hdrpipe.validation")
    decoded: list[str] = []
    real_decode = validate_mod.decode

    def spy(path: object, *args: object, **kwargs: object) -> object:
        decoded.append(str(path))
        return real_decode(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(validate_mod, "decode", spy)
    return decoded


def test_validate_checks_a_zip_bomb_in_strips_within_the_budget(
    zip_bomb: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    decoded = _spy_decode(monkeypatch)
    # Validating the frame whole needs about 1.2 x its 96 MB decoded.
    code, strips, err = _validate_json(capsys, zip_bomb, "100M")
    assert code in (0, 1), err
    assert decoded == []  # never decoded whole: strip by strip
    assert "Traceback" not in err
    code_whole, whole, err = _validate_json(capsys, zip_bomb, "2G")
    assert code_whole == code, err
    assert decoded == [str(zip_bomb)]  # within 2 GB: one whole decode
    assert strips["checks"] == whole["checks"]
    # A budget below one row of the frame is still refused before decoding.
    code, _, err = _validate_json(capsys, zip_bomb, "10k")
    assert code == 2, err
    assert "one row of 4000 pixels" in err and "memory budget 10.0 kB" in err
    assert decoded == [str(zip_bomb)]


def _write_exr(path: Path, pixels: np.ndarray, tile: int = 0) -> Path:
    h, w, c = pixels.shape
    spec = oiio.ImageSpec(w, h, c, "half")
    spec.attribute("compression", "zip")
    spec.attribute("chromaticities", "float[8]", AP0)
    if tile:
        spec.tile_width = spec.tile_height = tile
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), spec), out.geterror()
    assert out.write_image(pixels), out.geterror()
    out.close()
    return path


@pytest.mark.parametrize(
    ("tile", "budget", "refused_at"),
    [(0, "100k", "5k"), (64, "1.2M", "500k")],
    ids=["scanlines", "tiles"],
)
def test_validate_in_strips_finds_a_nan_in_the_last_strip(
    tile: int,
    budget: str,
    refused_at: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # 600x400 half RGB, ~3.2 kB a row decoded: the small budgets make strips of
    # a few rows (scanlines) or one row of 64-pixel tiles.
    rng = np.random.default_rng(16)
    pixels = rng.uniform(0.01, 2.0, (400, 600, 3)).astype(np.float16)
    pixels[399, 599, 2] = np.nan  # the last sample of the last strip
    pixels[200, 17, 0] = -0.5
    pixels[5, 3, 1] = np.inf
    frame = _write_exr(tmp_path / f"big.{1001}.exr", pixels, tile)
    decoded = _spy_decode(monkeypatch)
    code, strips, err = _validate_json(capsys, frame, budget)
    assert decoded == [], "decoded whole despite the budget"
    checks = {c["id"]: c for c in strips["checks"]}
    assert checks["nonfinite"]["status"] == "fail"
    assert checks["nonfinite"]["details"]["nan"] == 1
    assert checks["nonfinite"]["details"]["inf"] == 1
    assert checks["negative"]["details"]["count"] == 1
    # Identical to a whole read, statistic by statistic.
    _, whole, _ = _validate_json(capsys, frame, "2G")
    assert decoded == [str(frame)]
    assert strips["checks"] == whole["checks"]
    code, _, err = _validate_json(capsys, frame, refused_at)
    assert code == 2 and "refused" in err, err


@pytest.mark.slow
def test_validate_in_strips_peaks_far_below_a_whole_read(zip_bomb: Path) -> None:
    # Peak RSS of fresh processes: a tiny frame (the interpreter and its
    # libraries), the 96 MB bomb decoded whole, and in strips under 40 MB.
    tiny = _write_exr(
        zip_bomb.parent / "tiny.1001.exr", np.full((8, 8, 3), 0.18, np.float16)
    )
    _, err, base = _cli_peak("validate", str(tiny), "--max-memory", "2G")
    code_whole, err, whole = _cli_peak("validate", str(zip_bomb), "--max-memory", "2G")
    assert code_whole in (0, 1), err
    code, err, strips = _cli_peak("validate", str(zip_bomb), "--max-memory", "40M")
    assert code == code_whole, err
    decoded = BOMB * BOMB * 3 * 2
    assert whole - base > decoded  # the measurement sees a whole decode
    # In strips the validation stays within the budget it was given, at
    # well under half a whole read (which holds the frame once, ~1.05x).
    assert strips - base < 40 * 10**6, (base, whole, strips)
    assert (strips - base) < 0.5 * (whole - base), (base, whole, strips)


def test_conform_refuses_a_zip_bomb_before_the_first_frame(
    zip_bomb: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    for extra in (["--dry-run"], []):
        code, err, _ = _cli_peak(
            "conform", str(zip_bomb), "-d", "prores4444xq-pq1000", "-o", str(out),
            "--max-memory", "300M", "--force", *extra,
        )  # fmt: skip
        assert code == 2, err
        assert "estimated peak memory" in err and "memory budget 300.0 MB" in err
        assert not out.exists()


def test_absurd_reformat_is_refused_with_the_default_budget(
    small_plate: Path, tmp_path: Path
) -> None:
    # 32768x32768 from a small plate: one float32 RGB frame alone is 12.9 GB.
    with pytest.raises(InputError, match="exceeds the memory budget") as err:
        plan(
            ConformJob(
                inputs=(str(small_plate),),
                deliver=("prores4444xq-pq1000",),
                outdir=tmp_path / "out",
                reformat="32768x32768",
            ),
            validate_sources=False,
        )
    assert "32768x32768" in str(err.value) and "available" in str(err.value)
    assert not (tmp_path / "out").exists()


def test_dry_run_reports_the_estimate(small_plate: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [PYTHON, "-m", "hdrpipe", "conform", str(small_plate), "-d", "hevc-hdr10",
         "-o", str(tmp_path / "out"), "--dry-run", "--json", "--max-memory", "8G"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    memory = json.loads(done.stdout)["memory"]
    assert memory["budget_bytes"] == 8 * 10**9
    assert memory["budget_source"] == "--max-memory"
    assert memory["frames_in_flight_per_stage"] == 2
    # A 192x108 HEVC conform peaks at 244 MB RSS (VmHWM, measured): the
    # interpreter and libraries dominate; the x265 state is a few MB.
    assert 200 * 10**6 < memory["estimated_peak_bytes"] < 8 * 10**9
    assert "estimated peak memory" in done.stderr
    assert not (tmp_path / "out").exists()


def test_a_tight_budget_runs_with_one_frame_in_flight(
    small_plate: Path, tmp_path: Path
) -> None:
    seq = open_sequence(str(small_plate))
    header = seq.header(seq.frames[0])
    specs = [get_preset("prores4444xq-pq1000")]
    kwargs = {"has_alpha": False, "resampled": True}
    deep = sum(estimate_memory([header], 1280, 720, specs, depth=2, **kwargs).values())
    shallow = sum(
        estimate_memory([header], 1280, 720, specs, depth=1, **kwargs).values()
    )
    assert shallow < deep
    job = ConformJob(
        inputs=(str(small_plate),),
        deliver=("prores4444xq-pq1000",),
        outdir=tmp_path / "out",
        reformat="1280x720",
        frames="1001-1002",
        max_memory=(shallow + deep) // 2,
    )
    planned = plan(job, validate_sources=False)
    assert planned.memory is not None and planned.memory.depth == 1
    manifest = conform(job)
    assert manifest.outputs[0]["frames"] == 2


@pytest.mark.parametrize(
    ("preset", "raster", "depth"),
    [
        ("hevc-hdr10", "3840x2160", 1),
        ("hevc-hdr10", "1920x1080", 2),
        ("prores4444xq-pq1000", "3840x2160", 2),
    ],
)
def test_x265_above_2k_keeps_one_frame_in_flight(
    small_plate: Path, tmp_path: Path, preset: str, raster: str, depth: int
) -> None:
    # Behind x265 at UHD deeper queues only hold memory (175 MB a frame):
    # the plan keeps one frame in flight even when the budget has room.
    job = ConformJob(
        inputs=(str(small_plate),),
        deliver=(preset,),
        outdir=tmp_path / "out",
        reformat=raster,
        max_memory="64G",
    )
    planned = plan(job, validate_sources=False)
    assert planned.memory is not None and planned.memory.depth == depth


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("8G", 8 * 10**9),
        ("512MiB", 512 * 2**20),
        ("1.5GB", 1_500_000_000),
        ("4096", 4096),
    ],
    ids=["G", "MiB", "decimal", "bytes"],
)
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "lots", "-1G", "0", "8X"])
def test_parse_size_refuses(text: str) -> None:
    with pytest.raises(InputError):
        parse_size(text)


def test_local_farm_workers_share_the_budget(small_plate: Path, tmp_path: Path) -> None:
    from hdrpipe import farm

    job = ConformJob(
        inputs=(str(small_plate),),
        deliver=("prores4444xq-pq1000",),
        outdir=tmp_path / "out",
    )
    one = plan(job, validate_sources=False).memory
    assert one is not None
    # Room for three chunk pipelines, not for four.
    budget = one.peak * 3 + one.peak // 2
    shared = dataclasses.replace(job, max_memory=budget)
    plan_ = farm.plan_job(shared, chunk=6)
    with pytest.raises(InputError, match="4 local workers x estimated peak"):
        farm.run(plan_, workers=4)
    assert not list((tmp_path / "out").glob("plate_*"))
