"""Run a :class:`FarmPlan` on Dask: a local cluster by default, or an existing one.

Phases: (1) measure chunks, when a deliverable bakes MaxCLL/MaxFALL into its
stream at open (``hevc-hdr10``); (2) encode chunks; (3) stitch on the
submitting machine. Chunk tasks are submitted with ``retries=2``; a worker that
dies mid-chunk has its task rescheduled on another worker by the scheduler.
Progress is the sum over chunks of the frames done, read from the state
directory (completion records and the progress files running chunks write).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from ..engine import ConformJob, Manifest, ProgressCallback
from ..engine.job import job_name
from ..engine.lock import JobLock, hold
from ..errors import HdrpipeError, InputError
from ..memory import allocator_tuned, format_size, tune_allocator
from .plan import DEFAULT_CHUNK, FarmPlan, job_to_dict, plan_job, plan_path_for
from .state import clean_attempts, complete_record, progress_done, reset_state
from .stitch import stitch
from .tasks import chunk_done, measure_chunk, run_chunk, task_plan

__all__ = [
    "run",
    "conform_distributed",
    "local_cluster",
    "worker_threads",
    "worker_shares",
    "TASK_RETRIES",
]

log = logging.getLogger(__name__)

TASK_RETRIES = 2
POLL_INTERVAL = 0.25  # seconds between progress/state polls while chunks run


def worker_threads(workers: int, cores: int | None = None) -> int:
    """Threads each of ``workers`` local workers may use: cores // workers, at least 1.

    Each worker runs one chunk at a time (one Dask thread), but a chunk's
    colour pool, ProRes frame threads and x265 pool would each take every
    core: N workers would then run about N x cores busy threads.
    """
    if cores is None:
        cores = len(os.sched_getaffinity(0))
    return max(1, cores // max(1, workers))


def _cores() -> int:
    """The cores this process may use (run on each worker)."""
    return len(os.sched_getaffinity(0))


def worker_shares(client: Any) -> dict[str, int]:
    """Worker address → threads each of its tasks may use on a running cluster.

    A node's cores are shared by every task its worker processes run at once
    (``dask worker --nworkers K --nthreads T``: K x T tasks): each gets
    ``cores // (K x T)``, at least 1, computed per host from the scheduler's
    worker list and each worker's own core count. Workers that join later
    size from every core of their machine.
    """
    try:
        info = client.scheduler_info()["workers"]
        cores = client.run(_cores)
    except (OSError, KeyError, TimeoutError) as err:
        log.info("worker cores unavailable, tasks use every core: %s", err)
        return {}
    tasks_on: dict[str, int] = {}
    for w in info.values():
        tasks_on[w["host"]] = tasks_on.get(w["host"], 0) + int(w.get("nthreads", 1))
    return {
        addr: max(1, int(cores[addr]) // max(1, tasks_on[w["host"]]))
        for addr, w in info.items()
        if addr in cores
    }


def _sized(
    task: Callable[..., dict[str, Any]],
    farm: FarmPlan,
    index: int,
    *,
    resume: bool,
    shares: dict[str, int],
) -> dict[str, Any]:
    """Run ``task`` with the threads share of the Dask worker it landed on."""
    from distributed import get_worker

    threads = shares.get(get_worker().address)
    return task(farm, index, resume=resume, threads=threads)


def _check_local_memory(farm: FarmPlan, workers: int) -> None:
    """Local workers share this machine's memory: all their pipelines must fit.

    Raises
    ------
    InputError
        ``workers`` x one chunk's estimated peak exceeds the job's budget.
    """
    memory = task_plan(farm).memory
    if memory is None or memory.peak * workers <= memory.budget:
        return
    raise InputError(
        f"{workers} local workers x estimated peak memory "
        f"{format_size(memory.peak)} per chunk = "
        f"{format_size(memory.peak * workers)} exceeds the memory budget "
        f"{format_size(memory.budget)} ({memory.source}); use fewer --workers"
    )


def local_cluster(workers: int | None = None) -> Any:
    """A ``distributed.LocalCluster``: ``workers`` processes (default 2), 1 thread each.

    Loopback only and no dashboard: a conform on one machine opens no public port.
    """
    import dask
    import distributed

    n = 2 if workers is None else workers
    if n < 1:
        raise InputError(f"workers must be at least 1, got {n}")
    # distributed's annotations change between releases: call it untyped.
    dist: Any = distributed
    # The nanny sets MALLOC_TRIM_THRESHOLD_ in its workers' environment by
    # default; glibc then stops adapting its mmap threshold, every frame-sized
    # buffer is mapped and faulted in afresh, and a chunk costs about twice the
    # CPU of the same frames in this process (bench/farm.py). Workers keep this
    # process's allocator policy instead (see _client: tune_allocator).
    # The workers' statistical profiler (a stack sample of every thread each
    # 10 ms, for the dashboard this cluster does not open) is off: it costs CPU
    # in every task (bench/farm.py).
    with dask.config.set(
        {
            "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
            "distributed.worker.profile.enabled": False,
        }
    ):
        return dist.LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )


@contextlib.contextmanager
def _client(workers: int | None, scheduler: str | None, client: Any) -> Iterator[Any]:
    if client is not None:
        if workers is not None or scheduler is not None:
            raise InputError("pass client= alone, without workers= or scheduler=")
        yield client
        return
    import distributed

    dist: Any = distributed  # see local_cluster
    if scheduler is not None:
        if workers is not None:
            raise InputError("--workers and --scheduler are exclusive")
        try:
            remote = dist.Client(scheduler, timeout="30s")
        except (OSError, TimeoutError) as err:
            raise InputError(f"cannot reach Dask scheduler {scheduler}: {err}") from err
        with remote:
            yield remote
        return
    with (
        local_cluster(workers) as cluster,
        dist.Client(cluster) as local,
    ):
        if allocator_tuned():  # the CLI's allocator policy, in its workers too
            local.run(tune_allocator)
        yield local


def _phase(
    farm: FarmPlan,
    client: Any,
    phase: str,
    task: Callable[..., dict[str, Any]],
    resume: bool,
    report: Callable[[], None],
    threads: int | None,
) -> None:
    """Submit one phase's chunks (skipping complete ones on resume) and wait for all."""
    todo = []
    for chunk in farm.chunks:
        if not resume:
            todo.append(chunk.index)
            continue
        done = (
            chunk_done(farm, chunk.index)
            if phase == "chunk"
            else complete_record(farm, phase, chunk.index)
        )
        if done is not None:
            prefix = "measure chunk" if phase == "measure" else "chunk"
            log.info("%s %d already complete", prefix, chunk.index)
            continue
        todo.append(chunk.index)
    if not todo:
        return
    token = uuid.uuid4().hex[:8]
    # Tasks always skip a chunk already recorded complete: the state was cleared
    # when this run started (unless resuming), and the scheduler re-runs a
    # finished task whose result lived on a worker that died.
    key = f"hdrpipe-{farm.name}-{phase}"
    # A cluster elsewhere: each task sized from its worker's share of its node.
    run: Callable[..., dict[str, Any]] = (
        functools.partial(_sized, task, shares=worker_shares(client))
        if threads is None
        else functools.partial(task, threads=threads)
    )
    futures = [
        client.submit(
            run,
            farm,
            index,
            resume=True,
            key=f"{key}-{index:04d}-{token}",
            pure=False,
            retries=TASK_RETRIES,
        )
        for index in todo
    ]
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


def run(
    farm: FarmPlan,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    client: Any = None,
    resume: bool = False,
    on_progress: ProgressCallback | None = None,
    keep_parts: bool = False,
    lock: JobLock | None = None,
    threads: int | None = None,
) -> Manifest:
    """Run every chunk of ``farm`` on Dask, stitch the movies, write the manifest.

    Parameters
    ----------
    workers
        Worker processes of the local cluster started for this run (default 2).
    scheduler
        ``tcp://HOST:PORT`` of a running Dask scheduler to send the chunks to.
    client
        A ``distributed.Client`` to use as is (not closed here).
    resume
        Keep the chunks already complete (record present, files unchanged) and
        run only the others; without it the state of an earlier run is cleared.
    on_progress
        ``on_progress(done_frames, total_frames)`` from this thread; frames of
        the measure phase (HEVC HDR10 jobs) count in the total.
    keep_parts
        Keep the movie parts after stitching (see :func:`stitch`).
    lock
        The job lock of OUTDIR and the job's name when the caller holds it;
        otherwise it is taken here (:mod:`hdrpipe.engine.lock`): a second job
        for the same outputs is refused, and a dead run's leftovers are removed.
    threads
        Threads of each chunk task (colour pool, ProRes frame threads, x265
        pool). Default: ``cores // workers`` on a local cluster; on a scheduler
        or a given client, the node's cores divided by the tasks its workers
        run at once (:func:`worker_shares`).
    """
    if lock is None:
        with hold(farm.outdir, farm.name, command="farm", keep_outputs=resume) as held:
            return _run(
                farm,
                workers,
                scheduler,
                client,
                resume,
                on_progress,
                keep_parts,
                held,
                threads,
            )
    return _run(
        farm, workers, scheduler, client, resume, on_progress, keep_parts, lock, threads
    )


def _run(
    farm: FarmPlan,
    workers: int | None,
    scheduler: str | None,
    client: Any,
    resume: bool,
    on_progress: ProgressCallback | None,
    keep_parts: bool,
    lock: JobLock,
    threads: int | None = None,
) -> Manifest:
    started = time.monotonic()
    lock.record_outputs([out["path"] for out in farm.outputs])
    if lock.stale is not None and resume:
        clean_attempts(farm)  # the dead run's attempts: no one finishes them now
    if not resume:
        reset_state(farm)
    phases = ["measure"] if farm.measure_targets else []
    phases.append("chunk")
    total = farm.frames * len(phases)

    def report() -> None:
        if on_progress is None:
            return
        done = 0
        for phase in phases:
            for chunk in farm.chunks:
                if (farm.state / f"{phase}-{chunk.index:04d}.json").exists():
                    done += chunk.frames
                else:
                    per_target = len(farm.measure_targets) if phase == "measure" else 1
                    done += progress_done(farm, phase, chunk.index) // max(
                        per_target, 1
                    )
        on_progress(min(done, total), total)

    local = client is None and scheduler is None
    # A local cluster shares this machine: each worker gets its share of the
    # cores. Workers elsewhere (a scheduler, a Client) get their node's share
    # (worker_shares), unless threads is given.
    if threads is None and local:
        threads = worker_threads(2 if workers is None else workers)
    if local:
        _check_local_memory(farm, 2 if workers is None else workers)
    try:
        with _client(workers, scheduler, client) as dask_client:
            if farm.measure_targets:
                _phase(
                    farm, dask_client, "measure", measure_chunk, resume, report, threads
                )
            _phase(farm, dask_client, "chunk", run_chunk, resume, report, threads)
            try:
                info = dask_client.scheduler_info()
                cluster = {
                    "scheduler": info.get("address"),
                    "workers": sorted(info.get("workers", {})),
                }
            except (OSError, HdrpipeError, KeyError, TimeoutError) as err:
                log.info("scheduler info unavailable: %s", err)
                cluster = {}
    except BaseException:
        if local:  # its workers ended with it: nothing finishes their attempts
            clean_attempts(farm)
        raise
    return stitch(
        farm,
        elapsed=time.monotonic() - started,
        farm_info={"resume": resume, **cluster},
        keep_parts=keep_parts,
    )


def conform_distributed(
    job: ConformJob,
    *,
    chunk: int = DEFAULT_CHUNK,
    workers: int | None = None,
    scheduler: str | None = None,
    client: Any = None,
    resume: bool = False,
    on_progress: ProgressCallback | None = None,
    lock: JobLock | None = None,
) -> Manifest:
    """Conform ``job`` in chunks on Dask: plan (or resume a plan), run, stitch.

    With ``resume`` and a plan of the same job at ``OUTDIR/<name>.farm.json``,
    that plan continues (completed chunks are kept); otherwise the job is
    validated and planned afresh. Progress covers validation, then the chunks.

    Raises
    ------
    InputError
        ``resume`` with a plan of a different job or chunk size at that path.
    JobLockedError
        Another live job is writing the same OUTDIR and name.
    """
    if lock is None:
        with hold(
            job.outdir, job_name(job), command="farm", keep_outputs=resume
        ) as held:
            return _conform_distributed(
                job, chunk, workers, scheduler, client, resume, on_progress, held
            )
    return _conform_distributed(
        job, chunk, workers, scheduler, client, resume, on_progress, lock
    )


def _conform_distributed(
    job: ConformJob,
    chunk: int,
    workers: int | None,
    scheduler: str | None,
    client: Any,
    resume: bool,
    on_progress: ProgressCallback | None,
    lock: JobLock,
) -> Manifest:
    path = plan_path_for(job)
    farm: FarmPlan | None = None
    if resume and path.exists():
        farm = FarmPlan.load(path)
        wanted = job_to_dict(job)
        if farm.job != wanted or farm.chunk_size != chunk:
            raise InputError(
                f"{path}: --resume found the plan of another job or chunk size; "
                "rerun without --resume (and with --overwrite) to start again"
            )
        log.info("%s: resuming", path)
    validated = [0]

    def validation_progress(done: int, total: int) -> None:
        validated[0] = total
        if on_progress is not None:
            on_progress(done, total)

    if farm is None:
        try:
            farm = plan_job(job, chunk=chunk, on_progress=validation_progress)
        except InputError as err:
            if not resume and path.exists() and "exists" in str(err):
                raise InputError(
                    f"{err}; a farm run of this job ({path}) did not finish: "
                    "resume it with --resume"
                ) from err
            raise
        resume = False

    def progress(done: int, total: int) -> None:
        if on_progress is not None:
            on_progress(validated[0] + done, validated[0] + total)

    return run(
        farm,
        workers=workers,
        scheduler=scheduler,
        client=client,
        resume=resume,
        on_progress=progress,
        lock=lock,
    )
