"""Farm workers size their pools from their share of the machine (threads observed)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from reliability_helpers import PYTHON

from hdrpipe import farm
from hdrpipe.engine import ConformJob
from hdrpipe.farm import scheduler
from hdrpipe.farm.scheduler import worker_threads

CORES = len(os.sched_getaffinity(0))

# Runs chunk 0 of a plan with threads=ARG ("none": default) while a sampler
# records the most OS threads alive at once and every Python thread name.
_OBSERVE = """
import json, os, sys, threading, time
from hdrpipe import farm
plan = farm.FarmPlan.load(sys.argv[1])
threads = None if sys.argv[2] == "none" else int(sys.argv[2])
seen = {"max_os_threads": 0, "names": set()}
stop = threading.Event()
def sample():
    while not stop.is_set():
        seen["max_os_threads"] = max(
            seen["max_os_threads"], len(os.listdir("/proc/self/task"))
        )
        seen["names"].update(t.name for t in threading.enumerate())
        time.sleep(0.002)
sampler = threading.Thread(target=sample, daemon=True)
sampler.start()
farm.run_chunk(plan, 0, threads=threads)
stop.set()
sampler.join()
print(json.dumps({**seen, "names": sorted(seen["names"])}))
"""


def _observe(plan: Path, threads: str) -> dict[str, Any]:
    done = subprocess.run(
        [PYTHON, "-c", _OBSERVE, str(plan), threads],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


@pytest.mark.skipif(CORES < 2, reason="needs 2 cores to tell one thread from all")
def test_a_chunk_with_one_thread_runs_no_pools(
    small_plate: Path, tmp_path: Path
) -> None:
    job = ConformJob(
        inputs=(str(small_plate),),
        deliver=("prores4444xq-pq1000", "hevc-hlg"),
        outdir=tmp_path / "out",
        color_path="exact",  # the colour pool works on every frame
    )
    plan = farm.plan_job(job, chunk=12)
    one = _observe(Path(plan.plan_path), "1")
    every = _observe(Path(plan.plan_path), "none")
    pool = [n for n in every["names"] if n.startswith("hdrpipe-ocio")]
    assert len(pool) == CORES, every["names"]  # the default: a colour thread per core
    assert not [n for n in one["names"] if n.startswith("hdrpipe-ocio")], one["names"]
    # ProRes frame threads and x265's pool shrink too: fewer OS threads at once.
    assert one["max_os_threads"] < every["max_os_threads"] - len(pool), (one, every)


@pytest.mark.parametrize(
    ("workers", "cores", "threads"),
    [(1, 8, 8), (2, 8, 4), (3, 8, 2), (2, 2, 1), (4, 2, 1), (1, 1, 1)],
)
def test_worker_share(workers: int, cores: int, threads: int) -> None:
    assert worker_threads(workers, cores) == threads


def test_local_cluster_passes_each_task_its_share(
    small_plate: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    submitted: list[dict[str, Any]] = []

    class Done:
        status = "finished"

        def __init__(self, value: Any) -> None:
            self.value = value

        def done(self) -> bool:
            return True

        def result(self) -> Any:
            return self.value

        def cancel(self) -> None:
            pass

    class Client:  # runs each task at once, in this process
        def submit(self, fn: Any, *args: Any, **kwargs: Any) -> Done:
            # what the task is called with: a partial's keywords included
            submitted.append({**getattr(fn, "keywords", {}), **kwargs})
            for key in ("key", "pure", "retries"):
                kwargs.pop(key)
            return Done(fn(*args, **kwargs))

        def scheduler_info(self) -> dict[str, Any]:
            return {}

    @contextlib.contextmanager
    def fake(workers: Any, sched: Any, client: Any) -> Iterator[Client]:
        yield Client()

    monkeypatch.setattr(scheduler, "_client", fake)
    job = ConformJob(
        inputs=(str(small_plate),), deliver=("exr-acescg",), outdir=tmp_path / "out"
    )
    plan = farm.plan_job(job, chunk=6)
    farm.run(plan, workers=2)
    assert [s["threads"] for s in submitted] == [worker_threads(2)] * 2
