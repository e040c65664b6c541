"""A memory budget: jobs estimated over it are refused (or run with shallower queues)
before the first frame; validate refuses a frame too large to decode in budget."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path

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


def test_validate_refuses_a_zip_bomb_before_decoding_it(
    zip_bomb: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib

    from hdrpipe.cli import main

    # By module name: the package root re-exports a function called validate.
    validate_mod = importlib.import_module("hdrpipe.validate")

    decoded: list[str] = []
    real_decode = validate_mod.decode

    def spy(path: object, *args: object, **kwargs: object) -> object:
        decoded.append(str(path))
        return real_decode(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(validate_mod, "decode", spy)
    code = main(["validate", str(zip_bomb), "--max-memory", "150M"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "over the memory budget 150.0 MB" in err and "4000x4000" in err
    assert "Traceback" not in err
    assert decoded == []  # refused from the header, no pixel decoded
    code = main(["validate", str(zip_bomb), "--max-memory", "2G"])
    err = capsys.readouterr().err
    assert code in (0, 1), err  # decoded and judged
    assert decoded, "the frame within the budget was not decoded"


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
