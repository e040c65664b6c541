"""``--resume`` fingerprints inputs and parts: changed sources and damaged parts
are recomputed, never mixed in."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from reliability_helpers import deliverables

from fixtures.generate import make_plate
from hdrpipe import farm
from hdrpipe.engine import ConformJob

DELIVER = ("prores4444xq-pq1000", "exr-acescg")
CHUNK = 4  # 12 frames: chunks 0 (1001-1004), 1 (1005-1008), 2 (1009-1012)


def _job(src: Path, out: Path) -> ConformJob:
    return ConformJob(inputs=(str(src),), deliver=DELIVER, outdir=out, fps="24")


def _run_all(plan: farm.FarmPlan) -> None:
    for chunk in plan.chunks:
        farm.run_chunk(plan, chunk.index, resume=True)


@pytest.fixture
def plates(tmp_path: Path) -> tuple[Path, Path]:
    """The plate, and a re-render of it (another seed: every frame differs)."""
    old = make_plate(tmp_path / "old", width=96, height=54, frames=12, seed=1)
    new = make_plate(tmp_path / "new", width=96, height=54, frames=12, seed=2)
    return old, new


def test_resume_recomputes_chunks_whose_source_changed(
    plates: tuple[Path, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    old, new = plates
    src = tmp_path / "src"
    shutil.copytree(old.parent, src)
    plan = farm.plan_job(_job(src / old.name, tmp_path / "out"), chunk=CHUNK)
    _run_all(plan)
    records = {
        i: (plan.state / f"chunk-{i:04d}.json").stat().st_mtime_ns for i in range(3)
    }
    # Frame 1006 is re-rendered: only chunk 1 read it.
    shutil.copy(new.parent / "plate.1006.exr", src / "plate.1006.exr")
    with caplog.at_level(logging.INFO, logger="hdrpipe"):
        _run_all(plan)
    assert "chunk 1 must be redone: source" in caplog.text
    assert "plate.1006.exr changed since the chunk was made" in caplog.text
    for i in (0, 2):
        assert f"chunk {i} already complete" in caplog.text
        stamp = (plan.state / f"chunk-{i:04d}.json").stat().st_mtime_ns
        assert stamp == records[i]
    assert (plan.state / "chunk-0001.json").stat().st_mtime_ns != records[1]
    farm.stitch(plan)

    # The same job made from scratch on the changed plate: identical bytes.
    fresh = farm.plan_job(_job(src / old.name, tmp_path / "fresh"), chunk=CHUNK)
    _run_all(fresh)
    farm.stitch(fresh)
    assert deliverables(tmp_path / "out") == deliverables(tmp_path / "fresh")


@pytest.mark.parametrize("part", ["movie", "exr"])
def test_same_size_damaged_part_is_detected(
    plates: tuple[Path, Path], tmp_path: Path, part: str
) -> None:
    old, _ = plates
    plan = farm.plan_job(_job(old, tmp_path / "out"), chunk=CHUNK)
    _run_all(plan)
    if part == "movie":
        damaged = Path(plan.chunks[0].parts["prores4444xq-pq1000"])
    else:
        damaged = plan.state / "exr" / "plate_exr-acescg" / "plate.1002.exr"
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one byte flipped: same size
    damaged.write_bytes(bytes(data))
    assert farm.complete_record(plan, "chunk", 0) is None
    assert farm.complete_record(plan, "chunk", 1) is not None
    _run_all(plan)  # redoes chunk 0 only
    assert farm.complete_record(plan, "chunk", 0) is not None
    assert damaged.read_bytes() != bytes(data)
