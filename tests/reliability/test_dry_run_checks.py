"""``conform --dry-run`` refuses what the real run would refuse, before any frame."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from reliability_helpers import PYTHON

from hdrpipe.encode.limits import check_frame_size
from hdrpipe.encode.presets import get_preset
from hdrpipe.engine import ConformJob, plan
from hdrpipe.errors import InputError

# (preset, raster, what the message must say): odd sizes for subsampled
# chroma, and sizes the encoder itself refuses (FFmpeg: "returned 22").
SIZES = [
    ("prores422hq-pq1000", "1921x1080", "an even width (4:2:2)"),
    ("hevc-hdr10", "1920x1081", "even width and height (4:2:0)"),
    ("h264-sdr-review", "1279x720", "even width and height (4:2:0)"),
    ("prores4444xq-pq1000", "1921x1080", "an even width"),
    ("prores4444xq-pq1000", "1x1", "an even width"),
    ("hevc-hdr10", "2x2", "at least 16x16"),
    ("hevc-hlg", "8x8", "at least 16x16"),
]


def _conform(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "hdrpipe", "conform", *args, "--no-progress"],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize(("preset", "raster", "rule"), SIZES, ids=[
    f"{p}-{r}" for p, r, _ in SIZES
])  # fmt: skip
def test_sizes_an_encoder_refuses_fail_at_planning(
    small_plate: Path, tmp_path: Path, preset: str, raster: str, rule: str
) -> None:
    job = ConformJob(
        inputs=(str(small_plate),),
        deliver=(preset,),
        outdir=tmp_path / "out",
        reformat=raster,
        fit="stretch",
    )
    with pytest.raises(InputError, match=f"preset '{preset}'") as err:
        plan(job, validate_sources=False)
    assert rule in str(err.value) and raster in str(err.value)
    assert "returned 22" not in str(err.value)


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "run"])
def test_cli_refuses_odd_size_with_the_preset_rule(
    small_plate: Path, tmp_path: Path, dry_run: bool
) -> None:
    out = tmp_path / "out"
    args = [str(small_plate), "-d", "hevc-hdr10", "-o", str(out), "--reformat", "2x2"]
    done = _conform(*args, *(["--dry-run"] if dry_run else []))
    assert done.returncode == 2, done.stderr
    assert "'hevc-hdr10' (libx265) cannot encode 2x2" in done.stderr
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr
    assert not out.exists()


def test_sizes_every_encoder_accepts_pass() -> None:
    for preset in ("prores4444xq-pq1000", "prores422hq-pq1000", "hevc-hdr10",
                   "h264-sdr-review"):  # fmt: skip
        check_frame_size(get_preset(preset), 1920, 1080)
        check_frame_size(get_preset(preset), 16, 16)


@pytest.mark.parametrize("under", [False, True], ids=["file", "under-a-file"])
@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "run"])
def test_outdir_that_is_a_file_is_refused(
    small_plate: Path, tmp_path: Path, under: bool, dry_run: bool
) -> None:
    blocker = tmp_path / "taken"
    blocker.write_text("not a folder")
    out = blocker / "sub" if under else blocker
    args = [str(small_plate), "-d", "exr-acescg", "-o", str(out)]
    done = _conform(*args, *(["--dry-run"] if dry_run else []))
    assert done.returncode == 2, done.stderr
    assert "is a file" in done.stderr or "is under a file" in done.stderr
    assert "internal error" not in done.stderr
    assert blocker.read_text() == "not a folder"


def test_outdir_not_writable_is_refused(
    small_plate: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Root may write anywhere, so the permission answer is simulated here.
    real = os.access
    monkeypatch.setattr(
        os, "access", lambda p, m: False if Path(p) == tmp_path else real(p, m)
    )
    job = ConformJob(
        inputs=(str(small_plate),), deliver=("exr-acescg",), outdir=tmp_path / "new"
    )
    with pytest.raises(InputError, match="not writable"):
        plan(job, validate_sources=False)
