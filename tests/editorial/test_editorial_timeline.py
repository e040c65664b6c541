"""Reading the test cut through OTIO adapters: ranges, dissolve, speed, CDL."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import opentimelineio as otio
import pytest

from fixtures.editorial import DISSOLVE_FRAMES, EVENTS, RECORD_START
from hdrpipe.editorial import Cdl, read_timeline
from hdrpipe.errors import InputError


def _record_starts() -> list[int]:
    starts, at = [], RECORD_START
    for ev in EVENTS:
        starts.append(at)
        at += ev.frames
    return starts


@pytest.mark.parametrize("kind", ["edl", "otio"])
def test_events_ranges_speed_and_cdl(cut_files: dict[str, Path], kind: str) -> None:
    cut = read_timeline(cut_files[kind], rate="24")
    assert cut.rate.fps == 24
    assert cut.start == RECORD_START
    assert len(cut.events) == len(EVENTS)
    for event, spec, rec in zip(cut.events, EVENTS, _record_starts(), strict=True):
        assert event.name == spec.clip.name
        assert event.reel == spec.clip.name
        assert event.source_start == spec.clip.tc_start + spec.offset
        assert event.record_start == rec
        assert event.record_frames == spec.frames
        assert event.speed == Fraction(spec.speed)
        assert event.cdl == Cdl(
            spec.slope, spec.offset_cdl, spec.power, spec.saturation
        )


@pytest.mark.parametrize("kind", ["edl", "otio"])
def test_dissolve_extends_the_outgoing_event(
    cut_files: dict[str, Path], kind: str
) -> None:
    cut = read_timeline(cut_files[kind], rate="24")
    (dissolve,) = cut.transitions
    assert (dissolve.before, dissolve.after) == (2, 3)
    assert dissolve.cut == _record_starts()[2]
    assert dissolve.in_offset + dissolve.out_offset == DISSOLVE_FRAMES
    two = cut.events[1]
    # CMX dissolves start at the cut: the outgoing clip runs on under the dissolve.
    assert two.used_offsets == (0, EVENTS[1].frames - 1 + DISSOLVE_FRAMES)


def test_reverse_event_uses_frames_before_its_source_in(
    cut_files: dict[str, Path],
) -> None:
    four = read_timeline(cut_files["edl"], rate="24").events[3]
    assert [four.source_offset(k) for k in range(4)] == [0, -1, -2, -3]
    assert four.used_offsets == (-(EVENTS[3].frames - 1), 0)


def test_fcpxml_cuts(cut_files: dict[str, Path]) -> None:
    # otio-fcpx-xml-adapter 1.0 keeps clips and ranges (no CDL, speed, dissolve).
    cut = read_timeline(cut_files["fcpxml"])
    assert [e.name for e in cut.events] == [s.clip.name for s in EVENTS]
    assert [e.source_start for e in cut.events] == [
        s.clip.tc_start + s.offset for s in EVENTS
    ]


def test_edl_needs_a_rate(cut_files: dict[str, Path]) -> None:
    with pytest.raises(InputError, match="carries no frame rate"):
        read_timeline(cut_files["edl"])


@pytest.mark.parametrize(
    ("suffix", "adapter"), [(".xml", "fcp_xml"), (".aaf", "AAF"), (".txt", None)]
)
def test_unavailable_formats_are_named(
    tmp_path: Path, suffix: str, adapter: str | None
) -> None:
    path = tmp_path / f"cut{suffix}"
    path.write_text("x")
    if adapter in otio.adapters.available_adapter_names():
        pytest.skip(f"{adapter} is installed here")
    with pytest.raises(InputError, match=adapter or "unknown edit format"):
        read_timeline(path, rate=24)


def test_missing_and_garbage_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such edit file"):
        read_timeline(tmp_path / "none.edl", rate=24)
    bad = tmp_path / "bad.otio"
    bad.write_text("{not json")
    with pytest.raises(InputError, match="cannot read the edit"):
        read_timeline(bad)


@pytest.mark.parametrize(
    "cdl",
    [
        {"asc_sop": {"slope": [-1, 1, 1]}},
        {"asc_sop": {"offset": [0, 0]}},
        {"asc_sat": "much"},
        {"asc_sop": {"power": [1, float("nan"), 1]}},
        "sat 2",
    ],
    ids=["negative-slope", "two-offsets", "text-sat", "nan-power", "not-a-mapping"],
)
def test_hostile_cdl_metadata_is_refused_naming_the_clip(
    tmp_path: Path, cdl: object
) -> None:
    from fixtures.editorial import editorial_timeline

    timeline = editorial_timeline(EVENTS[:1])
    (clip,) = timeline.find_clips()
    clip.metadata["cdl"] = cdl
    path = tmp_path / "cut.otio"
    otio.adapters.write_to_file(timeline, str(path))
    with pytest.raises(InputError, match=EVENTS[0].clip.name):
        read_timeline(path)


def test_freeze_frame_in_an_edl_holds_its_first_frame(tmp_path: Path) -> None:
    import copy

    from fixtures.editorial import editorial_timeline, write_cut

    timeline = editorial_timeline(EVENTS[:1])
    (clip,) = timeline.find_clips()
    clip.effects.append(otio.schema.FreezeFrame())
    edl = write_cut(copy.deepcopy(timeline), tmp_path)["edl"]
    (event,) = read_timeline(edl, rate=24).events
    assert event.freeze
    assert event.record_frames == EVENTS[0].frames
    assert event.used_offsets == (0, 0)
