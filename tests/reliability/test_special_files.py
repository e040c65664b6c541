"""Class 10: special files (FIFO, devices) are refused up front, never read."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hdrpipe.errors import InputError
from hdrpipe.sequence import open_sequence


@pytest.fixture
def fifo_plate(plate: Path, tmp_path: Path) -> Path:
    """The module plate copied, with frame 1002 replaced by a FIFO."""
    src = tmp_path / "src"
    shutil.copytree(plate.parent, src)
    (src / "plate.1002.exr").unlink()
    os.mkfifo(src / "plate.1002.exr")
    return src / plate.name


def test_a_fifo_frame_is_refused_at_discovery(fifo_plate: Path) -> None:
    with pytest.raises(InputError, match=r"plate\.1002\.exr: frame 1002 .*FIFO"):
        open_sequence(fifo_plate)


def test_a_frame_linked_to_a_device_is_refused(plate: Path, tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(plate.parent, src)
    (src / "plate.1003.exr").unlink()
    (src / "plate.1003.exr").symlink_to("/dev/zero")
    with pytest.raises(InputError, match="character device"):
        open_sequence(src / plate.name)


def test_a_device_given_as_the_input_is_refused() -> None:
    with pytest.raises(InputError, match="not a regular file"):
        open_sequence("/dev/zero")


def test_conform_force_on_a_fifo_exits_2_instead_of_hanging(
    fifo_plate: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "hdrpipe", "conform", str(fifo_plate)]
    cmd += ["-d", "exr-acescg", "-o", str(out), "--force", "--no-progress"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "FIFO" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["targets", "--config", "{fifo}"], 2, "not a regular file"),
        (["handoff", "{fifo}", "-o", "{out}"], 1, "not a regular file"),
        (["presets", "--file", "{fifo}"], 2, "not a regular file"),
    ],
    ids=["config", "manifest", "presets-file"],
)
def test_fifo_as_config_manifest_or_presets_file_is_refused(
    tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    fifo = tmp_path / "input.json"
    os.mkfifo(fifo)
    argv = [a.format(fifo=fifo, out=tmp_path / "out") for a in args]
    cmd = [sys.executable, "-m", "hdrpipe", *argv]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == code, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr
