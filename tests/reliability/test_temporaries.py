"""Class 2: temporary files are not attack surfaces.

Temporaries are created exclusively under unpredictable names; a symlink planted
under any name the old code used (``<name>.manifest.json.partial``,
``<name>.nk.partial``, ``<name>.partial.mov`` …) is neither followed nor renamed,
and every writer goes through :mod:`hdrpipe.outputs`.
"""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import pytest
from reliability_helpers import tree

from hdrpipe.engine import ConformJob, conform
from hdrpipe.errors import OutputError
from hdrpipe.handoff import write_handoff
from hdrpipe.outputs import atomic_write, publish, staging_dir

PLANTED = (
    "plate.manifest.json.partial",
    "plate.nk.partial",
    "plate.otio.partial.otio",
    "plate.edl.partial.edl",
    "plate_prores422hq-pq1000.partial.mov",
    "plate_exr-acescg.partial",
)


def test_planted_symlinks_are_never_followed_nor_renamed(
    plate: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n", encoding="utf-8")
    for name in PLANTED:
        (out / name).symlink_to(victim)
    manifest = conform(
        ConformJob(
            inputs=(str(plate),),
            deliver=("prores422hq-pq1000", "exr-acescg"),
            outdir=out,
        )
    )
    write_handoff(manifest, out, fcpxml=False, amf=False)
    assert victim.read_text(encoding="utf-8") == "precious\n"
    for name in PLANTED:  # still the attacker's links, pointing where they did
        assert (out / name).is_symlink() and os.readlink(out / name) == str(victim)
    for made in ("plate.manifest.json", "plate.nk", "plate.otio", "plate.edl"):
        assert (out / made).is_file() and not (out / made).is_symlink()
    assert not [p for p in out.iterdir() if p.name.startswith(".hdrpipe-")]


def test_atomic_write_replaces_a_symlink_at_the_final_name_not_its_target(
    tmp_path: Path,
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n", encoding="utf-8")
    final = tmp_path / "out.json"
    final.symlink_to(victim)
    with pytest.raises(OutputError, match="not replaced"):
        atomic_write(final, "{}", overwrite=False)
    atomic_write(final, "{}", overwrite=True)
    assert not final.is_symlink() and final.read_text(encoding="utf-8") == "{}"
    assert victim.read_text(encoding="utf-8") == "precious\n"


def test_temporaries_are_exclusive_private_and_unpredictable(tmp_path: Path) -> None:
    a, b = staging_dir(tmp_path), staging_dir(tmp_path)
    assert a != b and a.parent == b.parent == tmp_path
    assert a.name.startswith(".hdrpipe-") and (a.stat().st_mode & 0o777) == 0o700
    # A published file gets ordinary permissions (umask), not the 0600 of mkstemp.
    (a / "f").write_bytes(b"x")
    os.chmod(a / "f", 0o600)
    publish(a / "f", tmp_path / "f")
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "f").stat().st_mode & 0o777 == 0o666 & ~umask


def test_disk_full_leaves_neither_file_nor_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    final = tmp_path / "x.json"
    final.write_text("old\n", encoding="utf-8")
    real_fsync = os.fsync

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OutputError, match="No space left on device"):
        atomic_write(final, "new\n")
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert final.read_text(encoding="utf-8") == "old\n"
    assert tree(tmp_path) == ["x.json"]


def test_every_writer_uses_the_one_helper() -> None:
    # The old per-module temp names and bare renames are gone from hdrpipe/
    # (farm/tasks.py renames finished chunk parts inside the farm state folder).
    root = Path(__file__).resolve().parents[2] / "hdrpipe"
    found = subprocess.run(
        [
            "grep",
            "-rnE",
            r"\.partial\"|\+ \"\.partial|os\.replace\(|\.boxpatch|\.seipatch|mkstemp",
            str(root),
            "--include=*.py",
        ],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.splitlines()
    allowed = ("outputs.py", "farm/tasks.py")
    assert [line for line in found if not line.split(":")[0].endswith(allowed)] == []
