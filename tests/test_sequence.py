"""Sequence discovery: patterns, explicit ranges, single files, directories, gaps."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hdrpipe.errors import InputError
from hdrpipe.exr import write_exr
from hdrpipe.sequence import Sequence, open_sequence, parse_frame_range
from hdrpipe.types import FrameRange


def _touch_frames(folder: Path, name: str, frames: list[int], pad: int = 4) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for f in frames:
        (folder / f"{name}.{f:0{pad}d}.exr").write_bytes(b"")


@pytest.fixture()
def gappy(tmp_path: Path) -> Path:
    _touch_frames(tmp_path, "plate", [1001, 1002, 1004, 1005])
    return tmp_path


@pytest.mark.parametrize(
    "pattern",
    ["plate.####.exr", "plate.%04d.exr", "plate.@.exr", "plate.#.exr"],
    ids=["hash4", "printf", "at", "hash1-natural-width"],
)
def test_patterns_find_frames_and_gaps(gappy: Path, pattern: str) -> None:
    seq = open_sequence(gappy / pattern)
    assert seq.pattern == str(gappy / "plate.####.exr")
    assert seq.frames == (1001, 1002, 1004, 1005)
    assert seq.padding == 4
    assert seq.frame_range == FrameRange(1001, 1005)
    assert seq.missing == (1003,)
    assert seq.name == "plate"
    assert seq.path(1003) == gappy / "plate.1003.exr"


def test_explicit_range_reports_frames_missing_at_the_end(gappy: Path) -> None:
    seq = open_sequence(gappy / "plate.1002-1008#.exr")
    assert seq.frames == (1002, 1004, 1005)
    assert seq.frame_range == FrameRange(1002, 1008)
    assert seq.missing == (1003, 1006, 1007, 1008)


def test_frames_argument_restricts(gappy: Path) -> None:
    seq = open_sequence(gappy / "plate.####.exr", frames="1000-1002")
    assert seq.frames == (1001, 1002)
    assert seq.missing == (1000,)
    with pytest.raises(InputError, match="none of the requested"):
        open_sequence(gappy / "plate.####.exr", frames=FrameRange(2000, 2001))


def test_relative_pattern_is_made_absolute(
    gappy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(gappy)
    seq = open_sequence("plate.####.exr")
    assert Path(seq.pattern).is_absolute()
    assert seq.path(1001).parent == gappy


def test_directory_with_one_sequence(gappy: Path) -> None:
    (gappy / "notes.txt").write_text("ignored")
    (gappy / "plate.1006.partial.exr").write_bytes(b"")  # an interrupted write
    seq = open_sequence(gappy)
    assert seq.frames == (1001, 1002, 1004, 1005)


def test_directory_with_several_sequences_lists_them(gappy: Path) -> None:
    _touch_frames(gappy, "matte", [1, 2])
    with pytest.raises(InputError) as err:
        open_sequence(gappy)
    assert "plate" in str(err.value) and "matte" in str(err.value)
    assert "2 sequences" in str(err.value)


def test_empty_directory_and_missing_pattern(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no EXR sequence"):
        open_sequence(tmp_path)
    with pytest.raises(InputError):
        open_sequence(tmp_path / "plate.####.exr")
    with pytest.raises(InputError):
        open_sequence(tmp_path / "nothing.exr")
    with pytest.raises(InputError):
        open_sequence("/nonexistent-dir/plate.####.exr")


def test_padding_conflict_is_an_error(tmp_path: Path) -> None:
    _touch_frames(tmp_path, "plate", [1, 2, 3], pad=4)
    with pytest.raises(InputError, match="padded to 4"):
        open_sequence(tmp_path / "plate.##.exr")


def test_single_numbered_file_is_one_frame(gappy: Path) -> None:
    seq = open_sequence(gappy / "plate.1004.exr")
    assert seq.frames == (1004,)
    assert seq.path(1004) == gappy / "plate.1004.exr"
    assert seq.missing == ()


def test_single_unnumbered_file(tmp_path: Path) -> None:
    path = write_exr(tmp_path / "still.exr", np.ones((4, 6, 3), np.float32))
    seq = open_sequence(path)
    assert seq.padding == 0
    assert seq.path(seq.frames[0]) == path
    assert seq.name == "still"
    assert seq.header(seq.frames[0]).width == 6


def test_header_is_read_again_after_rewrite(tmp_path: Path) -> None:
    path = write_exr(tmp_path / "p.1001.exr", np.ones((4, 6, 3), np.float32))
    seq = open_sequence(path)
    assert seq.header(1001).width == 6
    os.utime(path, ns=(1, 1))
    write_exr(path, np.ones((4, 8, 3), np.float32))
    assert seq.header(1001).width == 8


def test_header_of_missing_frame(gappy: Path) -> None:
    seq = open_sequence(gappy / "plate.####.exr")
    with pytest.raises(InputError, match="1003"):
        seq.header(1003)


def test_sequence_needs_frames() -> None:
    with pytest.raises(InputError):
        Sequence("/x/plate.####.exr", (), 4)


# -- frame range parsing --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1001-1048", (1001, 1048)),
        ("1001", (1001, 1001)),
        (" 1-2 ", (1, 2)),
        ("1001:1010", (1001, 1010)),
        ("-5--1", (-5, -1)),
        ("-3-4", (-3, 4)),
    ],
    ids=["range", "single", "spaces", "colon", "negative", "neg-to-pos"],
)
def test_parse_frame_range_accepts(text: str, expected: tuple[int, int]) -> None:
    assert parse_frame_range(text) == FrameRange(*expected)


@pytest.mark.parametrize(
    "text",
    ["", "a-b", "1001-", "1048-1001", "1-2-3", "1.5"],
    ids=["empty", "letters", "open", "reversed", "triple", "float"],
)
def test_parse_frame_range_rejects(text: str) -> None:
    with pytest.raises(InputError):
        parse_frame_range(text)


@given(st.integers(-(10**6), 10**7), st.integers(0, 10**5))
def test_frame_range_round_trip(first: int, length: int) -> None:
    rng = FrameRange(first, first + length)
    assert parse_frame_range(str(rng)) == rng


@settings(max_examples=30, deadline=None)
@given(
    frames=st.sets(st.integers(0, 99_999), min_size=1, max_size=12),
    pad=st.integers(1, 6),
    token=st.sampled_from(["hash", "printf", "at"]),
)
def test_pattern_discovery_round_trip(frames: set[int], pad: int, token: str) -> None:
    """Any set of frames written with any padding is found again, gaps included."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        _touch_frames(folder, "shot_a", sorted(frames), pad=pad)
        widths = {len(f"{f:0{pad}d}") for f in frames}
        pattern = {"hash": "#" * pad, "printf": f"%0{pad}d", "at": "@"}[token]
        seq = open_sequence(folder / f"shot_a.{pattern}.exr")
        assert seq.frames == tuple(sorted(frames))
        assert seq.frame_range == FrameRange(min(frames), max(frames))
        assert set(seq.missing) == set(range(min(frames), max(frames) + 1)) - frames
        for f in frames:
            assert seq.path(f).exists()
        assert seq.padding in widths | {pad}
