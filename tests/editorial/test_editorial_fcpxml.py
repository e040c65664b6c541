"""What otio-fcpx-xml-adapter 1.0 reads from FCPXML, as docs/editorial.md states.

The FCPXML documents are written here by hand (FCPXML 1.10 as Final Cut Pro
exports it: ``media-rep`` children, absolute sequence time from ``tcStart``;
and the 1.8 ``src`` attribute), so every claim is checked on the structure an
editor's file has, not on what the adapter's own writer makes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hdrpipe.cli import main
from hdrpipe.editorial import read_timeline
from hdrpipe.errors import InputError

HOUR = 86400  # 01:00:00:00 at 24 fps


def fcpxml(
    *,
    first: int = HOUR,  # record frame of the first clip (sequence time)
    transition: bool = False,
    time_map: bool = False,
    metadata: bool = False,
    src_attribute: bool = False,
) -> str:
    src = 'src="file:///media/A010C001.mov" ' if src_attribute else ""
    rep = (
        ""
        if src_attribute
        else '<media-rep kind="original-media" src="file:///media/A010C001.mov"/>'
    )
    tmap = (
        '<timeMap><timept time="0s" value="0s" interp="linear"/>'
        '<timept time="12/24s" value="24/24s" interp="linear"/></timeMap>'
        if time_map
        else ""
    )
    md = (
        '<metadata><md key="com.hdrpipe.asc_sop" value="(1.1 1 0.9)(0 0 0)(1 1 1)"/>'
        '<md key="com.hdrpipe.asc_sat" value="0.9"/></metadata>'
        if metadata
        else ""
    )
    trans = (
        f'<transition name="Cross Dissolve" offset="{first + 6}/24s" duration="6/24s">'
        '<filter-video ref="r4" name="Cross Dissolve"/></transition>'
        if transition
        else ""
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE fcpxml>
<fcpxml version="{"1.8" if src_attribute else "1.10"}">
  <resources>
    <format id="r1" name="FFVideoFormat1080p24" frameDuration="100/2400s"
      width="1920" height="1080"/>
    <asset id="r2" name="A010C001" {src}start="3600s" duration="40/24s"
      hasVideo="1" format="r1">{rep}</asset>
    <asset id="r3" name="A020C002" start="7200s" duration="40/24s"
      hasVideo="1" format="r1">
      <media-rep kind="original-media" src="file:///media/A020C002.mov"/>
    </asset>
    <effect id="r4" name="Cross Dissolve"
      uid="FxPlug:4731E73A-8DAC-4113-9A30-AE85B1761265"/>
  </resources>
  <library><event name="ev"><project name="fx_cut">
    <sequence format="r1" duration="24/24s" tcStart="3600s" tcFormat="NDF">
      <spine>
        <asset-clip ref="r2" name="A010C001" offset="{first}/24s" start="3610s"
          duration="12/24s" format="r1">{tmap}{md}</asset-clip>
        {trans}
        <asset-clip ref="r3" name="A020C002" offset="{first + 12}/24s" start="7201s"
          duration="12/24s" format="r1"/>
      </spine>
    </sequence>
  </project></event></library>
</fcpxml>
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cut.fcpxml"
    path.write_text(text, encoding="utf-8")
    return path


def test_clips_record_positions_and_source_starts_are_read(tmp_path: Path) -> None:
    cut = read_timeline(write(tmp_path, fcpxml()))
    assert [e.name for e in cut.events] == ["A010C001", "A020C002"]
    assert [(e.record_start, e.record_frames) for e in cut.events] == [
        (HOUR, 12),
        (HOUR + 12, 12),
    ]
    # asset-clip start (source time of the asset): 3610 s and 7201 s at 24 fps.
    assert [e.source_start for e in cut.events] == [3610 * 24, 7201 * 24]
    assert cut.rate.fps == 24 and cut.notes == ()
    assert [e.reel for e in cut.events] == [None, None]  # FCPXML has no reel


def test_start_timecode_is_the_first_clips_not_tc_start(tmp_path: Path) -> None:
    # tcStart is not read; offsets are absolute, so a first clip at tcStart
    # gives the right record start, and one after leading black moves it.
    assert read_timeline(write(tmp_path, fcpxml())).start == HOUR
    late = read_timeline(write(tmp_path, fcpxml(first=HOUR + 48)))
    assert late.start == HOUR + 48
    assert late.events[0].record_start == HOUR + 48


def test_transition_is_dropped_and_noted(tmp_path: Path) -> None:
    cut = read_timeline(write(tmp_path, fcpxml(transition=True)))
    assert cut.transitions == ()
    assert [(e.record_start, e.extend_before, e.extend_after) for e in cut.events] == [
        (HOUR, 0, 0),
        (HOUR + 12, 0, 0),
    ]
    assert len(cut.notes) == 1 and "1 transition(s) dropped" in cut.notes[0]


def test_time_map_is_refused_or_read_at_speed_one_under_force(tmp_path: Path) -> None:
    path = write(tmp_path, fcpxml(time_map=True))
    with pytest.raises(InputError, match="timeMap"):
        read_timeline(path)
    cut = read_timeline(path, force=True)
    assert [e.speed for e in cut.events] == [1, 1]
    assert any("timeMap" in n for n in cut.notes)


def test_no_cdl_and_source_file_only_from_the_1_8_src_attribute(
    tmp_path: Path,
) -> None:
    cut = read_timeline(write(tmp_path, fcpxml(metadata=True)))
    assert [e.cdl for e in cut.events] == [None, None]
    assert [e.source_file for e in cut.events] == [None, None]  # media-rep
    old = read_timeline(write(tmp_path, fcpxml(src_attribute=True)))
    assert [e.source_file for e in old.events] == ["A010C001.mov", None]


def test_cli_refusal_and_notes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    media = tmp_path / "media"
    media.mkdir()
    args = ["conform", "--timeline", str(write(tmp_path, fcpxml(time_map=True)))]
    args += ["--media", str(media), "-d", "exr-aces", "-o", str(tmp_path / "out")]
    args += ["--dry-run", "--json", "--no-progress"]
    assert main(args) == 2
    assert "timeMap" in capsys.readouterr().err
    assert main([*args, "--force"]) == 2  # no media: unmatched, but read
    assert "no EXR or DPX sequence" in capsys.readouterr().err
