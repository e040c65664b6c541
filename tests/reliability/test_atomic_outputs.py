"""Class 3: deliverables, manifest and hand-off files are atomic as a whole.

An EXR plate is staged in a hidden folder and renamed into place only after
every clip-wide check; disk full (an injected ``ENOSPC``) while writing the
manifest or a hand-off file is a classified error that leaves nothing partial.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from reliability_helpers import tree

from hdrpipe.cli import main
from hdrpipe.encode import get_preset, open_writer
from hdrpipe.engine import ConformJob, conform
from hdrpipe.errors import HandoffError, OutputError, ValidationError
from hdrpipe.handoff import write_handoff
from hdrpipe.types import Rate


def _full_disk_for(
    monkeypatch: pytest.MonkeyPatch, hit: Callable[[str], bool]
) -> list[str]:
    """Make ``fsync`` fail with ENOSPC for files whose temp name matches ``hit``."""
    real = os.fsync
    failed: list[str] = []

    def fsync(fd: int) -> None:
        try:
            name = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            name = ""
        if hit(os.path.basename(name)):
            failed.append(name)
            raise OSError(errno.ENOSPC, "No space left on device")
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return failed


def test_exr_plate_appears_complete_or_not_at_all(tmp_path: Path) -> None:
    spec = get_preset("exr-acescg")
    folder = tmp_path / "sh010_exr-acescg"
    frame = np.full((36, 64, 3), 0.18, np.float32)
    with open_writer(
        spec,
        folder / "sh010.####.exr",
        width=64,
        height=36,
        rate=Rate(Fraction(24)),
        whole_folder=True,
    ) as writer:
        writer.write(frame)
        writer.write(frame)
        assert not folder.exists()  # frames are staged, not under the final name
        [stage] = [p for p in tmp_path.iterdir() if p.name.startswith(".hdrpipe-")]
        assert len(list(stage.iterdir())) == 2
    assert tree(tmp_path) == [
        folder.name,
        f"{folder.name}/sh010.1001.exr",
        f"{folder.name}/sh010.1002.exr",
    ]


def test_a_clip_wide_failure_after_the_last_frame_leaves_no_plate(
    plate: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hdrpipe.engine import stream

    def judged_failing(*_args: object) -> None:
        raise ValidationError("bit_depth: simulated clip-wide failure")

    monkeypatch.setattr(stream, "_judge", judged_failing)
    out = tmp_path / "out"
    with pytest.raises(ValidationError, match="clip-wide"):
        conform(
            ConformJob(
                inputs=(str(plate),),
                deliver=("exr-acescg", "exr-aces", "prores422hq-pq1000"),
                outdir=out,
            )
        )
    assert not out.exists() or tree(out) == []


def test_disk_full_on_the_manifest_takes_the_job_back(
    plate: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failed = _full_disk_for(monkeypatch, lambda n: "manifest.json" in n)
    out = tmp_path / "out"
    with pytest.raises(OutputError, match="No space left on device"):
        conform(
            ConformJob(
                inputs=(str(plate),),
                deliver=("prores422hq-pq1000", "exr-acescg"),
                outdir=out,
            )
        )
    assert failed, "the manifest was never written"
    assert tree(out) == []  # no movie, no plate, no manifest, no temporary


def test_cli_disk_full_is_a_classified_failure(
    plate: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _full_disk_for(monkeypatch, lambda n: "manifest.json" in n)
    out = tmp_path / "out"
    code = main(
        ["conform", str(plate), "-d", "exr-acescg", "-o", str(out), "--no-progress"]
    )
    err = capsys.readouterr().err
    assert code == 1, err
    assert "No space left on device" in err and "internal error" not in err
    assert str(out / "plate.manifest.json") in err
    assert tree(out) == []


@pytest.mark.parametrize("suffix", [".otio", ".nk", ".edl", ".amf"])
def test_disk_full_on_a_handoff_file_leaves_no_file(
    plate: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    out = tmp_path / "out"
    manifest = conform(
        ConformJob(inputs=(str(plate),), deliver=("prores422hq-pq1000",), outdir=out)
    )
    before = tree(out)
    _full_disk_for(monkeypatch, lambda n: f"{suffix}." in n)
    with pytest.raises(HandoffError, match="No space left on device"):
        write_handoff(manifest, out, fcpxml=False)
    # Files written before the failing one may stay (each is complete); the
    # failing one and its temporary are gone.
    after = tree(out)
    assert not [p for p in after if p.endswith(suffix) or ".hdrpipe-" in p]
    assert set(before) <= set(after)


def test_overwrite_replaces_the_plate_folder_as_a_whole(
    plate: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    args = ["conform", str(plate), "-d", "exr-acescg", "-d", "prores422hq-pq1000"]
    args += ["-o", str(out), "--handoff", "--no-progress"]
    assert main(args) == 0
    stale = out / "plate_exr-acescg" / "plate.1099.exr"  # from an older, longer run
    stale.write_bytes(b"old")
    assert main(args) == 2  # everything exists: refused up front
    assert main([*args, "--overwrite"]) == 0
    capsys.readouterr()
    assert not stale.exists()
    assert sorted(p.name for p in (out / "plate_exr-acescg").iterdir()) == [
        f"plate.{n}.exr" for n in (1001, 1002, 1003)
    ]
    assert not [p for p in tree(out) if ".hdrpipe-" in p]


def _cli_conform_with_report(
    plate: Path, out: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    code = main(
        ["conform", str(plate), "-d", "exr-acescg", "-o", str(out), "--no-progress"]
    )
    return code, capsys.readouterr().err


def test_disk_full_on_the_qc_report_keeps_the_finished_job(
    plate: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    failed = _full_disk_for(monkeypatch, lambda n: ".qc.html." in n)
    out = tmp_path / "out"
    code, err = _cli_conform_with_report(plate, out, capsys)
    assert failed, "the report was never written"
    assert code == 0, err  # the deliverables are done and verified
    assert "QC report not written" in err and "No space left on device" in err
    assert tree(out) == [
        "plate.manifest.json",
        "plate_exr-acescg",
        "plate_exr-acescg/plate.1001.exr",
        "plate_exr-acescg/plate.1002.exr",
        "plate_exr-acescg/plate.1003.exr",
    ]
    manifest = json.loads((out / "plate.manifest.json").read_text())
    assert "report" not in manifest


def test_disk_full_recording_the_report_leaves_no_orphan_report(
    plate: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The manifest is written twice: once by the job, once more to name its
    # QC report. The second write hits a full disk.
    writes: list[str] = []

    def second_manifest_write(name: str) -> bool:
        if "manifest.json" not in name:
            return False
        writes.append(name)
        return len(writes) == 2

    _full_disk_for(monkeypatch, second_manifest_write)
    out = tmp_path / "out"
    code, err = _cli_conform_with_report(plate, out, capsys)
    assert len(writes) == 2
    assert code == 0, err
    assert "QC report not kept" in err and "No space left on device" in err
    assert "plate.qc.html" not in os.listdir(out)  # none the manifest does not name
    manifest = json.loads((out / "plate.manifest.json").read_text())
    assert "report" not in manifest
    assert [o["preset"] for o in manifest["outputs"]] == ["exr-acescg"]
    assert [p for p in tree(out) if ".hdrpipe-" in p] == []
