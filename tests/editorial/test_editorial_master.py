"""The assembled master of the test cut: frame N is the expected source frame."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from fixtures.editorial import DISSOLVE_FRAMES, EVENTS, RECORD_START, frame_id, read_id
from hdrpipe.editorial import conform_timeline
from hdrpipe.engine import ConformJob
from hdrpipe.exr import read_header, read_pixels

FIRST = 1001
# Record frames, written out from the cut: A 0-11, B 12-21, the dissolve B→C
# over 22-27 (B runs on, C from its first frame), C 22-31, D reversed 32-39.
DISSOLVE = range(22, 22 + DISSOLVE_FRAMES)
TOTAL = 40


def expected_ids() -> dict[int, int]:
    """Record frame → stamped id of the one source frame it shows (cuts only)."""
    ids: dict[int, int] = {}
    r = 0
    for spec in EVENTS:
        for k in range(spec.frames):
            ids[r] = frame_id(spec.clip.number, spec.offset + int(k * spec.speed))
            r += 1
    for r in DISSOLVE:
        del ids[r]
    return ids


@pytest.fixture(scope="module")
def master(
    media_root: Path,
    cut_files: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Any]:
    job = ConformJob(
        inputs=(cut_files["edl"],),
        deliver=("exr-aces", "prores4444xq-pq1000"),
        outdir=tmp_path_factory.mktemp("master"),
        fps="24",
        color_path="exact",
    )
    return conform_timeline(job, [media_root], handles=0).data


def _aces_frames(master: dict[str, Any]) -> list[Path]:
    pattern = Path(master["master"]["aces"])
    return sorted(pattern.parent.glob("*.exr"))


def test_assembled_exr_frames_and_record_timecode(master: dict[str, Any]) -> None:
    frames = _aces_frames(master)
    assert len(frames) == TOTAL
    for r, want in expected_ids().items():
        assert read_id(read_pixels(frames[r])) == want, f"record frame {r}"
    for r in (0, TOTAL - 1):
        tc = RECORD_START + r
        expected = f"01:00:{tc % 86400 // 24:02d}:{tc % 24:02d}"
        assert read_header(frames[r]).time_code == expected


def test_dissolve_is_a_linear_cross_fade_of_the_graded_pulls(
    master: dict[str, Any],
) -> None:
    frames = _aces_frames(master)
    rows = master["events"]
    plates = [
        sorted(Path(row["pull_outputs"]["outputs"][0]).parent.glob("*.exr"))
        for row in rows
    ]
    # Handles 0: plate i of event 2 is its record frame 12 + i; event 3 starts at 22.
    for n, r in enumerate(DISSOLVE):
        a = (n + 1) / (DISSOLVE_FRAMES + 1)
        outgoing = read_pixels(plates[1][r - 12]).astype(np.float64)
        incoming = read_pixels(plates[2][r - 22]).astype(np.float64)
        want = (1 - a) * outgoing + a * incoming
        got = read_pixels(frames[r]).astype(np.float64)
        np.testing.assert_allclose(got, want, rtol=2e-3, atol=1e-4)


def test_prores_master_shows_the_expected_source_frames(
    master: dict[str, Any],
) -> None:
    (movie,) = master["master"]["outputs"]
    with av.open(movie) as container:
        stream = container.streams.video[0]
        assert stream.metadata.get("timecode") == "01:00:00:00"
        decoded = [
            f.to_ndarray(format="rgb48le").astype(np.float64)
            for f in container.decode(video=0)
        ]
    assert len(decoded) == TOTAL
    for r, want in expected_ids().items():
        assert read_id(decoded[r]) == want, f"record frame {r}"


def test_force_fills_missing_events_and_gaps_with_black(
    media_root: Path, tmp_path: Path
) -> None:
    import opentimelineio as otio
    from opentimelineio import opentime

    from fixtures.editorial import CLIPS, ClipSpec, EventSpec, editorial_timeline

    nowhere = ClipSpec("NOPE", 9, 9 * 86400)
    timeline = editorial_timeline(
        (
            EventSpec(CLIPS[0], 0, 3),
            EventSpec(nowhere, 0, 2),
            EventSpec(CLIPS[1], 36, 6),  # 2 frames past the last source frame
        )
    )
    track = timeline.tracks[0]
    track.insert(1, otio.schema.Gap(duration=opentime.RationalTime(2, 24)))
    cut = tmp_path / "forced.otio"
    otio.adapters.write_to_file(timeline, str(cut))
    job = ConformJob(
        inputs=(cut,),
        deliver=("exr-aces", "h264-sdr-review"),
        outdir=tmp_path / "out",
        color_path="exact",
        force=True,
    )
    data = conform_timeline(job, [media_root], handles=0).data
    rows = data["events"]
    assert [r["status"] for r in rows] == ["ok", "unmatched", "out-of-range"]
    assert [r["filled_black"] for r in rows] == [False, True, False]
    assert rows[2]["pull"] == [1037, 1040]
    frames = _aces_frames(data)
    assert len(frames) == 3 + 2 + 2 + 6
    ids = {r: read_id(read_pixels(frames[r])) for r in (0, 1, 2, 7, 8, 9, 10)}
    assert ids == {
        0: frame_id(1, 0),
        1: frame_id(1, 1),
        2: frame_id(1, 2),
        7: frame_id(2, 36),
        8: frame_id(2, 37),
        9: frame_id(2, 38),
        10: frame_id(2, 39),
    }
    for r in (3, 4, 5, 6, 11, 12):  # gap, unmatched event, past the media
        assert not read_pixels(frames[r]).any(), f"record frame {r} is not black"
    assert len(data["master"]["outputs"]) == 1


def test_a_30_fps_master_in_a_24_fps_cut(tmp_path: Path) -> None:
    import opentimelineio as otio

    from fixtures.editorial import ClipSpec, EventSpec, editorial_timeline, make_clip

    # The same clip: timecode 05:00:00:00 counted at 30 fps on disk, at 24 in the cut.
    on_disk = ClipSpec("HFR30", 5, 5 * 3600 * 30)
    make_clip(tmp_path / "media" / "HFR30", on_disk, fps=30)
    in_cut = ClipSpec("HFR30", 5, 5 * 3600 * 24)
    cut = tmp_path / "mixed.otio"
    otio.adapters.write_to_file(
        editorial_timeline((EventSpec(in_cut, 4, 6),)), str(cut)
    )
    job = ConformJob(
        inputs=(cut,),
        deliver=("exr-aces", "h264-sdr-review"),
        outdir=tmp_path / "out",
        color_path="exact",
    )
    data = conform_timeline(job, [tmp_path / "media"], handles=1).data
    (row,) = data["events"]
    # Cut frames 4..9 at 24 fps are 1/6 s .. 10/24 s: 30 fps frames 5 .. 12
    # (frame 12 ends at 13/30 s > 10/24 s); ± 1 frame of handle.
    assert row["used"] == [1006, 1013]
    assert row["pull"] == [1005, 1014]
    assert row["source_in"] == "05:00:00:05"
    frames = _aces_frames(data)
    # Record frame k shows the 30 fps frame at or before k/24 s: 5 + floor(k x 1.25).
    assert [read_id(read_pixels(f)) for f in frames] == [
        frame_id(5, 5 + (5 * k) // 4) for k in range(6)
    ]
    assert read_header(frames[0]).frames_per_second == 24


def test_an_upper_track_covers_a_dissolve_below(
    media_root: Path, tmp_path: Path
) -> None:
    import opentimelineio as otio
    from opentimelineio import opentime

    from fixtures.editorial import CLIPS, EventSpec
    from hdrpipe.editorial import plan_timeline
    from hdrpipe.editorial.assemble import record_layers

    timeline = _timeline_with_v2(CLIPS, EventSpec, otio, opentime)
    cut = tmp_path / "two_tracks.otio"
    otio.adapters.write_to_file(timeline, str(cut))
    job = ConformJob(inputs=(cut,), deliver=("exr-aces",), outdir=tmp_path / "o")
    planned = plan_timeline(job, [media_root], handles=0)
    layers = list(record_layers(planned))
    assert len(layers) == TOTAL
    for r in range(20, 26):  # V2's clip hides the end of B and half the dissolve
        (layer,) = layers[r]
        pull, position, weight = layer
        assert pull is not None and pull.match.event.track == "V2"
        assert (pull.frames.first, pull.frames.last) == (1031, 1036)
        # Positions count the pull's own frames, numbered from 1001.
        assert (position, weight) == (1001 + r - 20, 1.0)
    for r in (26, 27):  # the rest of the V1 dissolve
        assert [w for _p, _pos, w in layers[r]] == pytest.approx(
            [1 - (r - 21) / 7, (r - 21) / 7]
        )


def _timeline_with_v2(clips: Any, event_spec: Any, otio: Any, opentime: Any) -> Any:
    """The test cut plus a V2 track: a gap, then clip 1 from offset 30 at 20-25."""
    from fixtures.editorial import editorial_timeline

    timeline = editorial_timeline()
    upper = editorial_timeline((event_spec(clips[0], 30, 6),)).tracks[0]
    v2 = otio.schema.Track(name="V2")
    v2.append(otio.schema.Gap(duration=opentime.RationalTime(20, 24)))
    v2.append(upper.pop(0))
    timeline.tracks.append(v2)
    return timeline


def test_mixed_rasters_need_reformat_to_assemble(tmp_path: Path) -> None:
    import opentimelineio as otio

    from fixtures.editorial import CLIPS, EventSpec, editorial_timeline, make_clip
    from hdrpipe.errors import InputError

    make_clip(tmp_path / "media" / "a", CLIPS[0])
    make_clip(tmp_path / "media" / "b", CLIPS[1], width=128, height=72, first=1001)
    cut = tmp_path / "mixed.otio"
    otio.adapters.write_to_file(
        editorial_timeline((EventSpec(CLIPS[0], 0, 2), EventSpec(CLIPS[1], 0, 2))),
        str(cut),
    )
    job = ConformJob(
        inputs=(cut,),
        deliver=("exr-aces", "h264-sdr-review"),
        outdir=tmp_path / "out",
        color_path="exact",
    )
    with pytest.raises(InputError, match="different rasters.*128x72"):
        conform_timeline(job, [tmp_path / "media"], handles=0)
    assert not (tmp_path / "out").exists()
    data = conform_timeline(
        dataclasses.replace(job, reformat="64x36"), [tmp_path / "media"], handles=0
    ).data
    frames = _aces_frames(data)
    assert [read_pixels(f).shape[:2] for f in frames] == [(36, 64)] * 4
    assert read_id(read_pixels(frames[1])) == frame_id(CLIPS[0].number, 1)
