"""What a farm worker does once per job instead of once per chunk, and what it
still does every time.

A worker keeps a job's colour transforms between its chunks (the fast path's
LUT processors and its first-frame check against the exact path are set up
once, as one engine run does); the stitch trusts a source frame whose inode,
size and mtime are those its chunk recorded, and lists the sources in the
manifest without hashing them again. Outputs stay those of the engine (the
byte-for-byte comparisons in ``test_farm_chunks.py`` run their chunks in one
process, so they exercise the reuse).
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest
from farm_helpers import make_job

from hdrpipe import farm
from hdrpipe.color.fastpath import state as fastpath_state
from hdrpipe.farm import state as farm_state
from hdrpipe.farm import tasks

PRORES = "prores4444xq-pq1000"


@pytest.fixture
def fresh_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker process that has run nothing yet (no cached plans, transforms or
    source digests)."""
    monkeypatch.setattr(tasks, "_PLANS", OrderedDict())
    monkeypatch.setattr(tasks, "_TRANSFORMS", OrderedDict())
    monkeypatch.setattr(farm_state, "_DIGESTS", {})


def _color_path(record: dict[str, Any]) -> dict[str, Any]:
    (output,) = record["outputs"]
    (transform,) = output["transforms"]
    info: dict[str, Any] = transform["color_path"]
    return info


def test_a_worker_checks_the_fast_path_once_per_job(
    plate: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fresh_worker: None,
) -> None:
    checks = []
    real = fastpath_state.signal_errors

    def counted(*args: Any, **kwargs: Any) -> Any:
        checks.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(fastpath_state, "signal_errors", counted)
    plan = farm.plan_job(
        make_job(plate, tmp_path / "out", deliver=(PRORES,), color_path="auto"),
        chunk=4,
    )
    records = [farm.run_chunk(plan, c.index) for c in plan.chunks]
    assert len(records) == 4
    assert len(checks) == 1  # the first chunk's first frame, not one per chunk
    infos = [_color_path(r) for r in records]
    assert {i["path"] for i in infos} == {"fast"}
    # Every chunk's record carries the check that was made (the first chunk's).
    assert infos[0]["frame_errors"]["within_budget"]
    assert all(i["frame_errors"] == infos[0]["frame_errors"] for i in infos)
    farm.stitch(plan)

    # Another job in the same worker is checked on its own.
    other = farm.plan_job(
        make_job(
            plate, tmp_path / "other", deliver=(PRORES,), color_path="auto", name="b"
        ),
        chunk=8,
    )
    farm.run_chunk(other, 0)
    assert len(checks) == 2


def test_tasks_running_at_once_get_their_own_transforms(
    plate: Path, tmp_path: Path, fresh_worker: None
) -> None:
    plan = farm.plan_job(
        make_job(plate, tmp_path / "out", deliver=(PRORES,), color_path="auto"),
        chunk=8,
    )
    planned = tasks.task_plan(plan)
    with tasks._job_transforms(plan, planned, 1) as first:
        with tasks._job_transforms(plan, planned, 1) as second:
            assert first is not second
            assert set(first) == set(second) == {("ACES2065-1", "hdr-pq-1000-rec2020")}
    with tasks._job_transforms(plan, planned, 1) as again:
        assert again is first or again is second  # given back, lent again
    with tasks._job_transforms(plan, planned, 2) as other_share:
        assert other_share is not first and other_share is not second


def test_the_stitch_trusts_unchanged_sources_and_rehashes_rewritten_ones(
    plate: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    fresh_worker: None,
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for frame in sorted(plate.parent.glob("*.exr")):
        (src / frame.name).write_bytes(frame.read_bytes())
    plan = farm.plan_job(
        make_job(src / plate.name, tmp_path / "out", deliver=(PRORES,)), chunk=8
    )
    for chunk in plan.chunks:
        farm.run_chunk(plan, chunk.index)
    # The stitch runs in another process (the submitting machine): nothing
    # remembered from the chunks.
    monkeypatch.setattr(farm_state, "_DIGESTS", {})
    hashed: list[Path] = []
    real = farm_state.file_sha256

    def counted(path: Any) -> str:
        hashed.append(Path(path))
        return real(path)

    monkeypatch.setattr(farm_state, "file_sha256", counted)
    manifest = farm.stitch(plan, keep_parts=True).to_dict()
    assert not [p for p in hashed if p.parent == src]  # no source read again
    # The manifest lists every source with its real SHA-256 (hashlib, here).
    (entry,) = manifest["inputs"]
    expected = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in src.glob("*.exr")
    }
    assert entry["sha256"] == expected

    # A frame rewritten in place with other bytes of the same size: its mtime
    # moved, so it is hashed again and the chunk that read it is redone.
    victim = src / sorted(expected)[9]
    data = bytearray(victim.read_bytes())
    data[-1] ^= 0xFF
    victim.write_bytes(bytes(data))
    hashed.clear()
    with caplog.at_level(logging.INFO, logger="hdrpipe"):
        assert farm.tasks.chunk_done(plan, 0) is not None
        assert farm.tasks.chunk_done(plan, 1) is None
    assert f"{victim.name} changed since the chunk was made" in caplog.text
    assert victim in hashed
