"""Chunks on Dask: in-process cluster, real scheduler + workers, SIGKILL + resume."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from farm_helpers import (
    START_TC,
    VENV_BIN,
    N,
    decoded_planes,
    exr_pixels,
    make_job,
    mediainfo,
    output_path,
    packet_times,
)

from hdrpipe import farm
from hdrpipe.errors import InputError


def _assert_same_as_reference(
    manifest: dict[str, Any], reference: dict[str, Any]
) -> None:
    ref = reference["manifest"]
    ours = decoded_planes(output_path(manifest, "prores4444xq-pq1000"))
    theirs = decoded_planes(output_path(ref, "prores4444xq-pq1000"))
    assert len(ours) == len(theirs) == N
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        assert all(np.array_equal(pa, pb) for pa, pb in zip(a, b, strict=True)), (
            f"frame {i}"
        )
    for preset in ("prores4444xq-pq1000", "hevc-hdr10"):
        path = output_path(manifest, preset)
        pts, durations, _ = packet_times(path)
        assert sorted(pts) == list(range(N)) and set(durations) == {1}, preset
        video, tc = mediainfo(path)
        assert tc == START_TC, preset
        ref_hdr = next(o["hdr"] for o in ref["outputs"] if o["preset"] == preset)
        assert video["maximum_content_light_level"].startswith(f"{ref_hdr['max_cll']} ")
    assert len(decoded_planes(output_path(manifest, "hevc-hdr10"))) == N
    ours_exr = exr_pixels(output_path(manifest, "exr-acescg").parent)
    theirs_exr = exr_pixels(output_path(ref, "exr-acescg").parent)
    assert sorted(ours_exr) == sorted(theirs_exr) and len(ours_exr) == N
    assert all(np.array_equal(ours_exr[k], theirs_exr[k]) for k in ours_exr)


def test_conform_distributed_two_workers_with_progress(
    plate: Path, tmp_path: Path, reference: dict[str, Any]
) -> None:
    from distributed import Client, LocalCluster

    calls: list[tuple[int, int]] = []
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        manifest = farm.conform_distributed(
            make_job(plate, tmp_path),
            chunk=4,
            client=client,
            on_progress=lambda d, t: calls.append((d, t)),
        ).to_dict()
        assert client.status == "running"  # a client passed in is not closed
        # Two one-thread workers on this machine: each task gets half its cores.
        shares = farm.scheduler.worker_shares(client)
        half = max(1, len(os.sched_getaffinity(0)) // 2)
        assert sorted(shares.values()) == [half, half]
        assert set(shares) == set(client.scheduler_info()["workers"])
    _assert_same_as_reference(manifest, reference)
    assert len(manifest["farm"]["chunks"]) == 4
    assert len(manifest["farm"]["workers"]) == 2
    done = [d for d, _ in calls]
    assert done == sorted(done)
    # encode (16 frames) only: the plan checks headers (the chunks validate the
    # pixels they decode) and there is no measure pass (hevc-hdr10's level is
    # patched into the stitched movie)
    assert calls[-1] == (N, N)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


@contextlib.contextmanager
def _dask_cluster(tmp: Path) -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    """A real `dask scheduler` and two `dask worker` processes (no nanny), loopback."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = str(VENV_BIN / "dask")
    procs: list[subprocess.Popen[bytes]] = []
    log = (tmp / "dask.log").open("wb")
    try:
        common = {"cwd": tmp, "stdout": log, "stderr": log, "start_new_session": True}
        procs.append(
            subprocess.Popen(
                [
                    dask,
                    "scheduler",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--no-dashboard",
                ],
                **common,  # type: ignore[arg-type]
            )
        )
        for name in ("wa", "wb"):
            procs.append(
                subprocess.Popen(
                    [
                        dask,
                        "worker",
                        address,
                        "--nthreads",
                        "1",
                        "--no-nanny",
                        "--host",
                        "127.0.0.1",
                        "--no-dashboard",
                        "--name",
                        name,
                        "--local-directory",
                        str(tmp / name),
                        "--death-timeout",
                        "60",
                    ],
                    **common,  # type: ignore[arg-type]
                )
            )
        yield address, procs[1:]
    finally:
        for proc in reversed(procs):
            _stop(proc)
        log.close()


@pytest.mark.slow
def test_real_dask_cluster_survives_a_killed_worker(
    plate: Path, tmp_path: Path, reference: dict[str, Any]
) -> None:
    from distributed import Client

    out = tmp_path / "out"
    with (
        _dask_cluster(tmp_path) as (address, workers),
        Client(address, timeout="60s") as client,
    ):
        client.wait_for_workers(2, timeout=60)
        victim = workers[0]
        result: dict[str, Any] = {}

        def job() -> None:
            try:
                result["manifest"] = farm.conform_distributed(
                    make_job(plate, out), chunk=2, scheduler=address
                ).to_dict()
            except BaseException as err:  # handed to the test thread
                result["error"] = err

        runner = threading.Thread(target=job)
        runner.start()
        # Kill worker A (SIGKILL) once it has finished a chunk and has more to do.
        state = out / ".plate.farm"
        deadline = time.monotonic() + 60
        killed_after = None
        while time.monotonic() < deadline and runner.is_alive():
            records = [json.loads(p.read_text()) for p in state.glob("chunk-*.json")]
            if any(r["worker"]["pid"] == victim.pid for r in records):
                os.killpg(victim.pid, signal.SIGKILL)
                killed_after = len(records)
                break
            time.sleep(0.02)
        runner.join(timeout=90)
    assert killed_after is not None and killed_after < 8, (
        "worker A was not killed mid-job"
    )
    assert victim.poll() is not None
    if "error" in result:
        raise result["error"]
    manifest = result["manifest"]
    _assert_same_as_reference(manifest, reference)
    pids = {c["worker"].rsplit(":", 1)[1] for c in manifest["farm"]["chunks"]}
    assert str(victim.pid) in pids and len(pids) == 2


@pytest.mark.slow
def test_sigkill_whole_run_then_resume(
    plate: Path, tmp_path: Path, reference: dict[str, Any]
) -> None:
    out = tmp_path / "out"
    job = make_job(plate, out)
    plan = farm.plan_job(job, chunk=1)
    hdrpipe = str(VENV_BIN / "hdrpipe")
    cmd = [
        hdrpipe,
        "-v",
        "farm",
        "run",
        plan.plan_path,
        "--workers",
        "1",
        "--no-progress",
    ]
    proc = subprocess.Popen(
        cmd,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if len(list(plan.state.glob("chunk-*.json"))) >= 3:
                os.killpg(proc.pid, signal.SIGKILL)  # the run and its worker processes
                break
            time.sleep(0.01)
    finally:
        _stop(proc)
    assert proc.returncode == -signal.SIGKILL
    done = sorted(plan.state.glob("chunk-*.json"))
    assert 3 <= len(done) < N, f"{len(done)} chunks complete at the kill"
    assert not (out / "plate_prores4444xq-pq1000.mov").exists()
    indices = [int(p.stem.split("-")[1]) for p in done]
    # EXR frames wait in the state folder until the stitch moves the plate
    # (a rename: the frames keep their modification times).
    staged = plan.state / "exr" / "plate_exr-acescg"
    assert not (out / "plate_exr-acescg").exists()
    stamps = {
        i: (
            (plan.state / f"chunk-{i:04d}.json").stat().st_mtime_ns,
            Path(plan.chunks[i].parts["prores4444xq-pq1000"]).stat().st_mtime_ns,
            (staged / f"plate.{1001 + i}.exr").stat().st_mtime_ns,
        )
        for i in indices
    }
    resumed = subprocess.run(
        [*cmd[:-1], "--resume", "--json", "--no-progress", "--keep-parts"],
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr.decode()
    log = resumed.stderr.decode()
    for i in indices:
        assert f"chunk {i} already complete" in log
        assert (
            (plan.state / f"chunk-{i:04d}.json").stat().st_mtime_ns,
            Path(plan.chunks[i].parts["prores4444xq-pq1000"]).stat().st_mtime_ns,
            (out / "plate_exr-acescg" / f"plate.{1001 + i}.exr").stat().st_mtime_ns,
        ) == stamps[i], f"chunk {i} was recomputed"
    manifest = json.loads(resumed.stdout)
    assert manifest["farm"]["resume"] is True
    _assert_same_as_reference(manifest, reference)


def test_conform_distributed_refuses_resume_of_another_job(
    plate: Path, tmp_path: Path
) -> None:
    job = make_job(plate, tmp_path, deliver=("exr-acescg",), frames="1001-1004")
    plan = farm.plan_job(job, chunk=2)
    farm.run_chunk(plan, 0)
    with pytest.raises(InputError, match="another job or chunk size"):
        farm.conform_distributed(job, chunk=3, workers=1, resume=True)
    other = make_job(plate, tmp_path, deliver=("exr-acescg",), frames="1001-1003")
    with pytest.raises(InputError, match="another job or chunk size"):
        farm.conform_distributed(other, chunk=2, workers=1, resume=True)


@pytest.mark.slow
def test_real_dask_cluster_uhd_chunks(tmp_path: Path) -> None:
    """UHD chunks on a real scheduler + two workers: the same ProRes frames as a
    single-process conform, and the HEVC parts stitched with the job's level."""
    from distributed import Client

    from fixtures.generate import make_plate
    from hdrpipe.engine import conform

    plate = make_plate(tmp_path / "src", width=3840, height=2160, frames=2, seed=7)
    deliver = ("prores4444xq-pq1000", "hevc-hdr10")
    ref = conform(make_job(plate, tmp_path / "ref", deliver=deliver)).to_dict()
    with (
        _dask_cluster(tmp_path) as (address, _workers),
        Client(address, timeout="60s") as client,
    ):
        client.wait_for_workers(2, timeout=60)
        manifest = farm.conform_distributed(
            make_job(plate, tmp_path / "out", deliver=deliver),
            chunk=1,
            scheduler=address,
        ).to_dict()
    assert len(manifest["farm"]["chunks"]) == 2
    ours = decoded_planes(output_path(manifest, "prores4444xq-pq1000"))
    theirs = decoded_planes(output_path(ref, "prores4444xq-pq1000"))
    assert len(ours) == len(theirs) == 2
    assert ours[0][0].shape == (2160, 3840)
    for a, b in zip(ours, theirs, strict=True):
        assert all(np.array_equal(pa, pb) for pa, pb in zip(a, b, strict=True))
    hevc = output_path(manifest, "hevc-hdr10")
    video, tc = mediainfo(hevc)
    assert (int(video["width"]), int(video["height"])) == (3840, 2160)
    assert int(video["frame_count"]) == 2 and tc == START_TC
    ref_hdr = next(o["hdr"] for o in ref["outputs"] if o["preset"] == "hevc-hdr10")
    assert video["maximum_content_light_level"].startswith(f"{ref_hdr['max_cll']} ")
    assert video["maximum_frameaverage_light_level"].startswith(
        f"{ref_hdr['max_fall']} "
    )
    assert len(decoded_planes(hevc)) == 2
