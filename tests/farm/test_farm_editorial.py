"""An editorial job on the farm: one task per pull, the master's movies in chunks.

Reference: the same editorial job run in one process (``conform_timeline``
with its default runner, no farm code); EXR pixels read with hdrpipe.exr,
movie frames decoded with PyAV, frame ids from fixtures/editorial.py.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import opentimelineio as otio
import pytest

from fixtures.editorial import (
    ClipSpec,
    EventSpec,
    editorial_timeline,
    frame_id,
    make_clip,
    read_id,
)
from hdrpipe.editorial import conform_timeline
from hdrpipe.engine import ConformJob
from hdrpipe.exr import read_pixels
from hdrpipe.farm.editorial import EditorialFarm

CLIPS = (
    ClipSpec("F010", 1, 86400, frames=14),
    ClipSpec("F020", 2, 2 * 86400, frames=14),
)
EVENTS = (EventSpec(CLIPS[0], 2, 5), EventSpec(CLIPS[1], 4, 6))
TOTAL = 11
CHUNK = 4  # the master's 11 frames: 3 chunks


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("farm_edit")
    for clip in CLIPS:
        make_clip(root / "media" / clip.name, clip)
    timeline = editorial_timeline(EVENTS)
    track = timeline.tracks[0]
    for item in [i for i in track if isinstance(i, otio.schema.Transition)]:
        track.remove(item)
    cut = root / "farmcut.otio"
    otio.adapters.write_to_file(timeline, str(cut))
    return {"root": root, "media": root / "media", "cut": cut}


def _job(setup: dict[str, Path], out: Path) -> ConformJob:
    return ConformJob(
        inputs=(setup["cut"],),
        deliver=("exr-aces", "h264-sdr-review"),
        outdir=out,
        color_path="exact",
    )


@pytest.fixture(scope="module")
def reference(setup: dict[str, Path]) -> dict[str, Any]:
    job = _job(setup, setup["root"] / "ref")
    return conform_timeline(job, [setup["media"]], handles=1).data


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        Client(cluster) as dask_client,
    ):
        yield dask_client


def _run(setup: dict[str, Path], out: Path, client: Any, **kw: Any) -> dict[str, Any]:
    with EditorialFarm(chunk=CHUNK, client=client, **kw) as runner:
        return conform_timeline(
            _job(setup, out), [setup["media"]], handles=1, runner=runner
        ).data


def _exr(folder: Path) -> dict[str, np.ndarray]:
    return {p.name: read_pixels(p) for p in sorted(folder.glob("*.exr"))}


def _same(data: dict[str, Any], ref: dict[str, Any]) -> None:
    for row, ref_row in zip(data["events"], ref["events"], strict=True):
        ours = _exr(Path(row["pull_outputs"]["outputs"][0]).parent)
        theirs = _exr(Path(ref_row["pull_outputs"]["outputs"][0]).parent)
        assert sorted(ours) == sorted(theirs)
        assert all(np.array_equal(ours[k], theirs[k]) for k in ours)
    ours = _exr(Path(data["master"]["aces"]).parent)
    theirs = _exr(Path(ref["master"]["aces"]).parent)
    assert len(ours) == TOTAL and sorted(ours) == sorted(theirs)
    assert all(np.array_equal(ours[k], theirs[k]) for k in ours)
    (movie,) = data["master"]["outputs"]
    with av.open(movie) as container:
        ids = [
            read_id(f.to_ndarray(format="rgb48le").astype(np.float64))
            for f in container.decode(video=0)
        ]
    want = [frame_id(1, 2 + k) for k in range(5)] + [
        frame_id(2, 4 + k) for k in range(6)
    ]
    assert ids == want


def test_farm_splits_by_event_and_matches_one_process(
    setup: dict[str, Path], reference: dict[str, Any], client: Any, tmp_path: Path
) -> None:
    data = _run(setup, tmp_path, client)
    _same(data, reference)
    for row in data["events"]:
        shot = row["shot"]
        plan = json.loads((tmp_path / shot / f"{shot}.farm.json").read_text())
        assert len(plan["chunks"]) == 1  # one task per pull
        assert plan["frames"] == row["pull"][1] - row["pull"][0] + 1
    master_plan = json.loads((tmp_path / "editorial_cut.farm.json").read_text())
    assert [tuple(c["record_range"]) for c in master_plan["chunks"]] == [
        (0, 4),
        (4, 8),
        (8, 11),
    ]


def test_resume_keeps_finished_pulls_and_remakes_the_rest(
    setup: dict[str, Path], reference: dict[str, Any], client: Any, tmp_path: Path
) -> None:
    data = _run(setup, tmp_path, client)
    first, second = (Path(r["pull_outputs"]["manifest"]) for r in data["events"])
    kept = first.stat().st_mtime_ns
    # What an interrupted run leaves: pull 1 done, pull 2 and the master not.
    shutil.rmtree(Path(data["events"][1]["pull_outputs"]["outputs"][0]).parent)
    second.unlink()
    shutil.rmtree(Path(data["master"]["aces"]).parent)
    Path(data["master"]["outputs"][0]).unlink()
    Path(data["master"]["manifest"]).unlink()
    again = _run(setup, tmp_path, client, resume=True)
    assert first.stat().st_mtime_ns == kept  # pull 1 was not run again
    assert second.is_file()
    _same(again, reference)
