"""Class 8: what a user (or the machine) can cause is a classified error.

Never "internal error": unusable output folders, binary configs and manifests,
damaged EXR headers, full disks while writing EXR frames. A system I/O error
while reading a frame is no damaged frame, and the frames --force holds are
logged at WARNING and listed per output in the manifest.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from reliability_helpers import tree

from hdrpipe.cli import main
from hdrpipe.exr import write_exr


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    err = capsys.readouterr().err
    assert "internal error" not in err and "Traceback" not in err, err
    return code, err


def _conform(plate: Path, out: Path, *extra: str) -> list[str]:
    return [
        "conform",
        str(plate),
        "-d",
        "exr-acescg",
        "-o",
        str(out),
        "--no-progress",
        *extra,
    ]


def test_outdir_below_a_file_is_bad_usage(
    plate: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    code, err = _cli(capsys, *_conform(plate, tmp_path / "file" / "sub"))
    assert code == 2 and "is a file" in err
    assert tree(tmp_path) == ["file"]


def test_unknown_source_colorspace_is_bad_usage_and_an_alias_is_resolved(
    plate: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # As validate: a name the OCIO config lacks is the user's mistake (exit 2),
    # said before any warning that judges the plate's header against it.
    out = tmp_path / "out"
    code, err = _cli(capsys, *_conform(plate, out, "--source-colorspace", "ACES-typo"))
    assert code == 2, err
    assert "--source-colorspace 'ACES-typo': no such colour space" in err
    assert "ACEScg" in err  # the config's scene spaces are listed
    assert "overridden" not in err
    assert not out.exists()
    # An alias (any case) is recorded under the config's own name.
    code, err = _cli(capsys, *_conform(plate, out, "--source-colorspace", "acescg"))
    assert code == 0, err
    manifest = json.loads(next(out.glob("*.manifest.json")).read_text("utf-8"))
    assert manifest["color"]["source_colorspace"] == "ACEScg"


def test_read_only_outdir_is_refused_before_the_job(
    plate: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Tests run as root, which chmod does not stop: make access(2) say what a
    # read-only or immutable folder says.
    out = tmp_path / "out"
    out.mkdir()
    real = os.access

    def access(path: os.PathLike[str] | str, mode: int, **kw: object) -> bool:
        if Path(path) == out and mode & os.W_OK:
            return False
        return real(path, mode, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "access", access)
    code, err = _cli(capsys, *_conform(plate, out))
    assert code == 2 and "not writable" in err
    assert tree(out) == []


def test_outdir_turning_read_only_mid_job_is_a_classified_failure(
    plate: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    real = os.mkdir

    def read_only(path: object, *args: object, **kwargs: object) -> None:
        if Path(str(path)).parent == out:
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "mkdir", read_only)
    code, err = _cli(capsys, *_conform(plate, out))
    assert code == 1 and "Read-only file system" in err and str(out) in err
    assert tree(out) == []


def test_outdir_under_proc_is_classified(
    plate: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _cli(capsys, *_conform(plate, Path("/proc/hdrpipe-no-such-dir")))
    assert code in (1, 2) and "/proc/hdrpipe-no-such-dir" in err


def test_binary_config_is_bad_usage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    binary = tmp_path / "config.ocio"
    binary.write_bytes(random.Random(0).randbytes(3000))
    code, err = _cli(capsys, "targets", "--config", str(binary))
    assert code == 2 and "cannot read OCIO config" in err
    monkeypatch.setenv("OCIO", str(binary))
    code, err = _cli(capsys, "targets")
    assert code == 2 and "cannot read OCIO config" in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (bytes(range(256)) * 4, "not UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
    ids=["binary", "nested"],
)
def test_hostile_manifest_is_a_handoff_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str
) -> None:
    manifest = tmp_path / "m.json"
    manifest.write_bytes(content)
    code, err = _cli(capsys, "handoff", str(manifest), "-o", str(tmp_path / "out"))
    assert code == 1 and message in err
    assert not (tmp_path / "out").exists()


def _damage_channel_type(path: Path) -> None:
    """Replace the first byte of the ``channels`` attribute's type name (chlist)."""
    data = bytearray(path.read_bytes())
    at = data.index(b"channels\0chlist") + len(b"channels\0")
    data[at] = 0x80  # undecodable: OpenImageIO's message quotes it
    path.write_bytes(bytes(data))


def test_damaged_header_under_info_is_classified(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = write_exr(tmp_path / "bad.exr", np.ones((4, 4, 3), np.float32))
    _damage_channel_type(frame)
    code, err = _cli(capsys, "info", str(frame))
    assert code == 1 and "bad.exr" in err


def test_force_holds_a_damaged_frame_and_says_so(
    plate: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    src = tmp_path / "src"
    shutil.copytree(plate.parent, src)
    _damage_channel_type(src / "plate.1002.exr")
    out = tmp_path / "out"
    code, err = _cli(capsys, *_conform(src / plate.name, out, "--force"))
    assert code == 0, err
    assert "holding frame" in err  # WARNING, shown at the default level
    data = json.loads((out / "plate.manifest.json").read_text(encoding="utf-8"))
    [output] = data["outputs"]
    assert [(h["frame"], h["held"]) for h in output["held_frames"]] == [(1002, 1001)]


def test_io_error_reading_a_frame_is_not_held_under_force(
    plate: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    validate_stage = sys.modules["hdrpipe.validation"]
    real = validate_stage.decode

    def flaky(path: os.PathLike[str] | str, **kwargs: object) -> object:
        if str(path).endswith("1002.exr"):
            raise OSError(errno.EIO, "Input/output error", str(path))
        return real(path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(validate_stage, "decode", flaky)
    out = tmp_path / "out"
    code, err = _cli(capsys, *_conform(plate, out, "--force"))
    assert code == 1 and "Input/output error" in err and "1002" in err
    assert not out.exists() or tree(out) == []


def test_disk_full_writing_an_exr_frame_is_exit_1_with_the_path(
    plate: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = os.fsync

    def fsync(fd: int) -> None:
        if os.readlink(f"/proc/self/fd/{fd}").endswith(".exr"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    out = tmp_path / "out"
    code, err = _cli(capsys, *_conform(plate, out))
    assert code == 1 and "No space left on device" in err and "plate.1001.exr" in err
    assert not out.exists() or tree(out) == []
    assert not list(Path(tempfile.gettempdir()).glob(".hdrpipe-*"))


def test_no_logging_handler_leaks_into_the_library(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert not logging.getLogger("hdrpipe.outputs").handlers


def test_farm_manifest_lists_frames_held_in_any_chunk(
    plate: Path, tmp_path: Path
) -> None:
    from hdrpipe import farm
    from hdrpipe.engine import ConformJob

    src = tmp_path / "src"
    shutil.copytree(plate.parent, src)
    _damage_channel_type(src / "plate.1003.exr")
    job = ConformJob(
        inputs=(str(src / plate.name),),
        deliver=("exr-acescg",),
        outdir=tmp_path / "out",
        force=True,
    )
    planned = farm.plan_job(job, chunk=1)  # frame 1003 is held in the last chunk
    for chunk in planned.chunks:
        farm.measure_chunk(planned, chunk.index)
        farm.run_chunk(planned, chunk.index)
    [output] = farm.stitch(planned).to_dict()["outputs"]
    assert [(h["frame"], h["held"]) for h in output["held_frames"]] == [(1003, 1002)]
