"""Matching events to the stamped media: precedence, ranges, handles, failures."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from fixtures.editorial import CLIPS, EVENTS, ClipSpec, EventSpec, editorial_timeline
from hdrpipe.editorial import read_timeline
from hdrpipe.editorial.match import (
    MatchError,
    check_matches,
    match_events,
    match_table,
    scan_media,
)
from hdrpipe.errors import InputError

FIRST = 1001  # first frame number of every fixture clip


def _cut(tmp_path: Path, events: tuple[EventSpec, ...]) -> Path:
    import opentimelineio as otio

    path = tmp_path / "cut.otio"
    otio.adapters.write_to_file(editorial_timeline(events), str(path))
    return path


def test_scan_indexes_name_and_timecode(media_root: Path) -> None:
    media = scan_media([media_root])
    assert sorted(m.name for m in media) == sorted(c.name for c in CLIPS)
    for m in media:
        spec = next(c for c in CLIPS if c.name == m.name)
        assert (m.first, m.last) == (FIRST, FIRST + spec.frames - 1)
        assert m.tc_first == spec.tc_start


@pytest.mark.parametrize("kind", ["edl", "otio"])
def test_every_event_matches_with_handles(
    media_root: Path, cut_files: dict[str, Path], kind: str
) -> None:
    cut = read_timeline(cut_files[kind], rate=24)
    matches = match_events(cut, scan_media([media_root]), handles=8)
    check_matches(matches)
    # Used frames, written out from the cut's definition: A 10+12, B 12+10 and
    # the 6-frame dissolve after it, C 15+10, D reversed from 30 over 8 frames.
    used = [(1011, 1022), (1013, 1028), (1016, 1025), (1024, 1031)]
    for m, spec, (lo, hi) in zip(matches, EVENTS, used, strict=True):
        assert m.status == "ok"
        assert m.by == "clip name"
        assert m.media is not None and m.media.name == spec.clip.name
        assert m.used is not None and (m.used.first, m.used.last) == (lo, hi)
        assert m.pull is not None and (m.pull.first, m.pull.last) == (lo - 8, hi + 8)
        assert not m.handles_clipped


def test_handles_clip_at_media_bounds(
    media_root: Path, cut_files: dict[str, Path]
) -> None:
    cut = read_timeline(cut_files["otio"], rate=24)
    reversed_only = dataclasses.replace(cut, events=cut.events[3:])
    (m,) = match_events(reversed_only, scan_media([media_root]), handles=12)
    assert m.status == "ok" and m.handles_clipped
    assert m.pull is not None and (m.pull.first, m.pull.last) == (1024 - 12, 1040)
    assert "clipped" in m.message


def test_timecode_alone_finds_the_master(media_root: Path, tmp_path: Path) -> None:
    stranger = ClipSpec("renamed_in_the_edit", 9, CLIPS[2].tc_start)
    cut = read_timeline(_cut(tmp_path, (EventSpec(stranger, 5, 4),)))
    (m,) = match_events(cut, scan_media([media_root]), handles=0)
    assert m.status == "ok" and m.by == "timecode"
    assert m.media is not None and m.media.name == CLIPS[2].name
    assert m.used is not None and (m.used.first, m.used.last) == (1006, 1009)


def test_unmatched_ambiguous_and_out_of_range_are_all_listed(
    media_root: Path, tmp_path: Path
) -> None:
    twin_root = tmp_path / "twin"
    shutil.copytree(media_root / CLIPS[0].name, twin_root / CLIPS[0].name)
    nowhere = ClipSpec("NOPE", 9, 9 * 86400)
    events = (
        EventSpec(nowhere, 0, 5),  # no name, no timecode
        EventSpec(CLIPS[0], 2, 5),  # the same clip in two roots
        EventSpec(CLIPS[1], 35, 10),  # runs past the last frame
        EventSpec(CLIPS[3], 0, 5),  # fine
    )
    cut = read_timeline(_cut(tmp_path, events))
    matches = match_events(cut, scan_media([media_root, twin_root]), handles=4)
    assert [m.status for m in matches] == [
        "unmatched",
        "ambiguous",
        "out-of-range",
        "ok",
    ]
    assert len(matches[1].candidates) == 2
    assert "1036-1045" in matches[2].message  # what the event needs
    with pytest.raises(MatchError) as err:
        check_matches(matches)
    assert err.value.exit_code == 2
    text = str(err.value)
    for needle in ("event 1 (NOPE): unmatched", "event 2", "ambiguous", "event 3"):
        assert needle in text
    assert "event 4" not in text
    check_matches(matches, force=True)  # logged, not raised

    table = match_table(matches, cut.rate)
    assert len(table) == 1 + len(events)
    rows = [m.to_dict(cut.rate) for m in matches]
    json.dumps(rows)
    assert rows[3]["source_in"] == "04:00:00:00"
    assert rows[3]["pull"] == [1001, 1009]


def test_media_roots_must_exist(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a directory"):
        scan_media([tmp_path / "none"])
    with pytest.raises(InputError, match="no EXR or DPX sequence"):
        scan_media([tmp_path])


def test_match_table_prints_no_control_characters(
    media_root: Path, tmp_path: Path
) -> None:
    hostile = ClipSpec("evil\n\x1b[2Jname", 9, CLIPS[1].tc_start)
    cut = read_timeline(_cut(tmp_path, (EventSpec(hostile, 3, 2),)))
    matches = match_events(cut, scan_media([media_root]), handles=0)
    assert matches[0].status == "ok" and matches[0].by == "timecode"
    lines = match_table(matches, cut.rate)
    assert len(lines) == 2
    assert all(c.isprintable() for line in lines for c in line)
