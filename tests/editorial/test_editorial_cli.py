"""``hdrpipe conform --timeline``: dry-run match table, exit codes, a real pull."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import opentimelineio as otio
import pytest

from fixtures.editorial import CLIPS, EVENTS, ClipSpec, EventSpec, editorial_timeline
from hdrpipe.cli import main


def _otio(tmp_path: Path, events: tuple[EventSpec, ...]) -> Path:
    path = tmp_path / "cut.otio"
    otio.adapters.write_to_file(editorial_timeline(events), str(path))
    return path


def _args(cut: Path, out: Path, *roots: Path) -> list[str]:
    args = ["conform", "--timeline", str(cut), "-d", "exr-aces", "-o", str(out)]
    for root in roots:
        args += ["--media", str(root)]
    return args + ["--fps", "24", "--no-progress"]


def test_dry_run_prints_the_match_table(
    media_root: Path,
    cut_files: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = _args(cut_files["edl"], tmp_path / "out", media_root)
    assert main([*args, "--dry-run", "--handles", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 + len(EVENTS)
    assert all(" ok " in line for line in lines[1:])
    assert main([*args, "--dry-run", "--json", "--handles", "3"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [e["pull"] for e in doc["events"]] == [
        [1008, 1025],
        [1010, 1031],
        [1013, 1028],
        [1021, 1034],
    ]
    assert [e["record_in"] for e in doc["events"]] == [
        "01:00:00:00",
        "01:00:00:12",
        "01:00:00:22",
        "01:00:01:08",
    ]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("events", "status"),
    [
        ((EventSpec(ClipSpec("NOPE", 9, 9 * 86400), 0, 5),), "unmatched"),
        ((EventSpec(CLIPS[0], 2, 5),), "ambiguous"),
        ((EventSpec(CLIPS[1], 35, 10),), "out-of-range"),
    ],
    ids=["unmatched", "ambiguous", "out-of-range"],
)
def test_bad_events_exit_2_with_a_message(
    media_root: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    events: tuple[EventSpec, ...],
    status: str,
) -> None:
    twin = tmp_path / "twin"
    shutil.copytree(media_root / CLIPS[0].name, twin / CLIPS[0].name)
    cut = _otio(tmp_path, (*events, EventSpec(CLIPS[3], 0, 4)))
    code = main(_args(cut, tmp_path / "out", media_root, twin))
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert f"event 1 ({events[0].clip.name}): {status}" in captured.err
    assert "internal error" not in captured.err
    assert not (tmp_path / "out").exists()


def test_unsafe_shot_names_are_refused(
    media_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile = ClipSpec("../../etc/x", 9, CLIPS[2].tc_start)
    cut = _otio(tmp_path, (EventSpec(hostile, 0, 4),))
    code = main(_args(cut, tmp_path / "out", media_root) + ["--shot-name", "{event}"])
    assert code == 2
    assert "not a safe file name" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_pull_through_the_cli(
    media_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cut = _otio(tmp_path, (EventSpec(CLIPS[2], 4, 3),))
    args = _args(cut, tmp_path / "out", media_root)
    assert main([*args, "--handles", "1", "--shot-name", "sh{index:03d}"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == f"manifest: {tmp_path / 'out' / 'editorial_cut.editorial.json'}"
    plates = sorted((tmp_path / "out" / "sh001" / "sh001_exr-aces").glob("*.exr"))
    assert len(plates) == 3 + 2


def test_paths_and_timeline_together_are_refused(
    cut_files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _args(cut_files["otio"], tmp_path / "out", tmp_path)
    assert main([*args[:1], "plate.####.exr", *args[1:]]) == 2
    assert "not both" in capsys.readouterr().err
