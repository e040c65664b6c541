"""An editorial job on the farm: one task per pull, the assembled cut in chunks.

:class:`EditorialFarm` is the :class:`~hdrpipe.editorial.pulls.PullRunner` of
:func:`~hdrpipe.editorial.conform_timeline` on Dask:

* each pull (one event's range ± handles) is planned as an ordinary farm job of
  **one chunk** (``OUTDIR/<shot>/<shot>.farm.json``), and every pull's task is
  submitted at once, so events run in parallel across workers; each pull is
  then stitched (its EXR plates published whole) on the submitting machine;
* the assembled master is composed here from the pulls (cheap: reads, mixes,
  one EXR write per record frame), and its movies are made by
  :func:`~hdrpipe.farm.conform_distributed` in ``chunk``-frame chunks (the
  output transform and the encode are the cost).

Resume: a pull whose manifest exists is done and kept; a pull with a plan of
the same job continues it (its complete chunk is kept); the master EXR is kept
when complete and newer than every pull; the master's movies resume their own
farm plan. The editorial job holds ``OUTDIR/.<cut>.hdrpipe.lock`` throughout
(:func:`~hdrpipe.editorial.conform_timeline`; the master's movies run under
it), so a second run of the same cut is refused; each pull also holds its own
job lock (``OUTDIR/<shot>/.<shot>.hdrpipe.lock``) while it runs.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from ..editorial.pulls import Pull
from ..engine import ConformJob, Manifest, ProgressCallback
from ..engine.job import job_name
from ..engine.lock import JobLock, hold
from ..errors import InputError
from ..sequence import Sequence as ImageSequence
from .plan import DEFAULT_CHUNK, FarmPlan, job_to_dict, plan_job, plan_path_for
from .scheduler import (
    POLL_INTERVAL,
    TASK_RETRIES,
    _client,
    conform_distributed,
    worker_threads,
)
from .state import progress_done, reset_state
from .stitch import stitch
from .tasks import chunk_done, run_chunk

__all__ = ["EditorialFarm", "manifest_path"]

log = logging.getLogger(__name__)


def manifest_path(job: ConformJob) -> Path:
    """The engine manifest a finished job leaves: ``OUTDIR/<name>.manifest.json``."""
    return Path(job.outdir).absolute() / f"{job_name(job)}.manifest.json"


def _finished(job: ConformJob) -> Manifest | None:
    path = manifest_path(job)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        log.info("%s: unreadable (%s); the pull runs again", path, err)
        return None
    if not all(Path(o["path"]).parent.exists() for o in data.get("outputs", [])):
        return None
    made = path.stat().st_mtime
    for source in job.inputs:
        if isinstance(source, ImageSequence):
            newest = Path(source.path(source.frames[-1])).stat().st_mtime
            if newest > made:  # e.g. the master EXR, rebuilt in this run
                return None
    return Manifest(path, data)


class EditorialFarm:
    """Run an editorial job's engine jobs on Dask (see the module docstring).

    Use as a context manager: the Dask client (a local cluster of ``workers``
    by default, ``scheduler``'s, or ``client`` as given) lives as long as it.
    The client starts when the first engine job is submitted, not on entry:
    an editorial job refused at its start (its lock held by another job, an
    output that exists) starts no cluster.
    """

    def __init__(
        self,
        *,
        chunk: int | None = DEFAULT_CHUNK,
        workers: int | None = None,
        scheduler: str | None = None,
        client: Any = None,
        resume: bool = False,
    ) -> None:
        self.chunk = DEFAULT_CHUNK if chunk is None else chunk
        self.workers = workers
        self.scheduler = scheduler
        self.resume = resume
        self._given = client
        self._stack = contextlib.ExitStack()
        self._client: Any = None
        self._entered = False
        local = client is None and scheduler is None
        self._threads = (
            worker_threads(2 if workers is None else workers) if local else None
        )

    def __enter__(self) -> EditorialFarm:
        self._entered = True
        return self

    def _dask(self) -> Any:
        """The Dask client, started on first use."""
        if not self._entered:
            raise RuntimeError("EditorialFarm is used outside its `with` block")
        if self._client is None:
            self._client = self._stack.enter_context(
                _client(self.workers, self.scheduler, self._given)
            )
        return self._client

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stack.close()
        self._client = None
        self._entered = False

    def _farm(self, pull: Pull) -> tuple[FarmPlan, bool]:
        """The pull's one-chunk plan, and whether an earlier run's is resumed."""
        path = plan_path_for(pull.job)
        if self.resume and path.exists():
            farm = FarmPlan.load(path)
            if farm.job != job_to_dict(pull.job):
                raise InputError(
                    f"{path}: --resume found the plan of another pull; rerun "
                    "without --resume (and with --overwrite) to start again"
                )
            return farm, True
        return plan_job(pull.job, chunk=max(1, pull.frames.count)), False

    def run_pulls(
        self, pulls: Sequence[Pull], on_progress: ProgressCallback | None
    ) -> list[Manifest]:
        """One task per pull, all submitted at once; stitched here in order."""
        if not self._entered:
            raise RuntimeError("EditorialFarm is used outside its `with` block")
        done: dict[int, Manifest] = {}
        farms: dict[int, FarmPlan] = {}
        for i, pull in enumerate(pulls):
            finished = _finished(pull.job) if self.resume else None
            if finished is not None:
                log.info("pull %s: complete from an earlier run; kept", pull.name)
                done[i] = finished
                continue
            farm, resumed = self._farm(pull)
            if not resumed:
                reset_state(farm)
            farms[i] = farm
        total = sum(p.frames.count for p in pulls)
        kept = sum(pulls[i].frames.count for i in done)
        with contextlib.ExitStack() as locks:
            for farm in farms.values():
                lock = locks.enter_context(
                    hold(
                        farm.outdir,
                        farm.name,
                        command="farm",
                        keep_outputs=self.resume,
                    )
                )
                lock.record_outputs([o["path"] for o in farm.outputs])
            self._submit(list(farms.values()), kept, total, on_progress)
            for i, farm in farms.items():
                done[i] = stitch(farm, farm_info={"editorial": True})
        return [done[i] for i in range(len(pulls))]

    def _submit(
        self,
        farms: list[FarmPlan],
        kept: int,
        total: int,
        on_progress: ProgressCallback | None,
    ) -> None:
        todo = [f for f in farms if chunk_done(f, 0) is None]
        for farm in farms:
            if farm not in todo:
                log.info("pull %s: its chunk is complete; kept", farm.name)
        token = uuid.uuid4().hex[:8]
        futures = [
            self._dask().submit(
                run_chunk,
                farm,
                0,
                resume=True,
                threads=self._threads,
                key=f"hdrpipe-pull-{farm.name}-{token}",
                pure=False,
                retries=TASK_RETRIES,
            )
            for farm in todo
        ]

        def report() -> None:
            if on_progress is None:
                return
            frames = kept
            for farm in farms:
                if (farm.state / "chunk-0000.json").exists():
                    frames += farm.frames
                else:
                    frames += progress_done(farm, "chunk", 0)
            on_progress(min(frames, total), total)

        try:
            while True:
                report()
                errors = [f for f in futures if f.status == "error"]
                if errors:
                    errors[0].result()  # raises the task's exception
                if all(f.done() for f in futures):
                    break
                time.sleep(POLL_INTERVAL)
            for future in futures:
                future.result()
        except BaseException:
            for future in futures:
                future.cancel()
            raise
        report()

    def run_master(self, job: ConformJob, lock: JobLock | None = None) -> Manifest:
        """The master's movies in ``chunk``-frame chunks (resumable).

        ``lock``: the editorial job's lock (the movies have the cut's name).
        """
        if self.resume:
            finished = _finished(job)
            if finished is not None:
                log.info("master %s: complete from an earlier run; kept", job.name)
                return finished
        return conform_distributed(
            job, chunk=self.chunk, client=self._dask(), resume=self.resume, lock=lock
        )
