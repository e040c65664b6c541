"""The assembled master EXR is staged: complete under its final name, or absent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

import hdrpipe.editorial.assemble as assemble_module
from fixtures.editorial import CLIPS, EventSpec, editorial_timeline, frame_id, read_id
from hdrpipe.editorial import conform_timeline
from hdrpipe.engine import ConformJob
from hdrpipe.exr import read_pixels

EVENTS = (EventSpec(CLIPS[0], 2, 4), EventSpec(CLIPS[1], 5, 4))
FAIL_AT = 5  # record frames written before the injected failure


class InjectedError(RuntimeError):
    pass


def _job(cut: Path, outdir: Path, *, overwrite: bool = False) -> ConformJob:
    return ConformJob(
        inputs=(cut,),
        deliver=("exr-aces", "h264-sdr-review"),
        outdir=outdir,
        color_path="exact",
        overwrite=overwrite,
    )


@pytest.fixture
def cut(tmp_path: Path) -> Path:
    import opentimelineio as otio

    path = tmp_path / "staged.otio"
    otio.adapters.write_to_file(editorial_timeline(EVENTS), str(path))
    return path


def _fail_mid_write(
    monkeypatch: pytest.MonkeyPatch, outdir: Path, seen: list[list[str]]
) -> None:
    real = assemble_module.retime_frame
    calls = 0

    def failing(*args: Any, **kwargs: Any) -> NDArray[np.float32]:
        nonlocal calls
        calls += 1
        if calls == FAIL_AT + 1:
            # What a kill at this point would leave: the outdir as it is now.
            seen.append(sorted(p.name for p in outdir.iterdir()))
            raise InjectedError("disk pulled mid-assembly")
        return real(*args, **kwargs)

    monkeypatch.setattr(assemble_module, "retime_frame", failing)


def test_a_failure_mid_write_leaves_no_master(
    media_root: Path, cut: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outdir = tmp_path / "out"
    seen: list[list[str]] = []
    _fail_mid_write(monkeypatch, outdir, seen)
    with pytest.raises(InjectedError):
        conform_timeline(_job(cut, outdir), [media_root], handles=0)
    (during,) = seen
    # Mid-write, the frames so far sit in a hidden staging folder only.
    assert "editorial_cut_aces" not in during
    staged = [n for n in during if n.startswith(".hdrpipe-editorial_cut_aces.")]
    assert len(staged) == 1
    after = sorted(p.name for p in outdir.iterdir())
    assert "editorial_cut_aces" not in after
    assert not [n for n in after if n.startswith(".hdrpipe-")]
    assert not [n for n in after if n.endswith(".mp4")]


def test_a_failed_rerun_keeps_the_earlier_master_whole(
    media_root: Path, cut: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outdir = tmp_path / "out"
    first = conform_timeline(_job(cut, outdir), [media_root], handles=0).data
    folder = Path(first["master"]["aces"]).parent
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert len(before) == 8
    seen: list[list[str]] = []
    _fail_mid_write(monkeypatch, outdir, seen)
    with pytest.raises(InjectedError):
        conform_timeline(_job(cut, outdir, overwrite=True), [media_root], handles=0)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert not [p for p in outdir.iterdir() if p.name.startswith(".hdrpipe-")]
    ids = [read_id(read_pixels(folder / n)) for n in sorted(before)]
    assert ids == [frame_id(1, 2 + k) for k in range(4)] + [
        frame_id(2, 5 + k) for k in range(4)
    ]
