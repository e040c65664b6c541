"""Jobs killed at random points: SIGTERM/SIGHUP clean up, SIGKILL is cleaned by a rerun.

Every rerun must produce deliverables byte-identical to an uninterrupted run
(the encoders are deterministic for a given preset and thread layout: checked
by the reference fixtures, which are themselves plain runs), and nothing may
be left behind: no temporaries, no lock, no partial plate.
"""

from __future__ import annotations

import random
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from reliability_helpers import (
    DELIVER,
    PYTHON,
    conform_cmd,
    deliverables,
    finish,
    leftovers,
    start,
    stop,
    wait_for,
)

from fixtures.generate import make_plate
from hdrpipe.outputs import STAGING_PREFIX

FARM = ("--workers", "1", "--chunk", "4")
SEED = 20261204  # random kill points, reproducible


@pytest.fixture(scope="module")
def long_plate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Long enough (a few seconds of encoding) to be caught mid-job."""
    return make_plate(
        tmp_path_factory.mktemp("rel_long"), width=480, height=270, frames=24, seed=3
    )


def _encoding(out: Path) -> bool:
    # Writers stage their files in hidden .hdrpipe-* temporaries (hdrpipe.outputs).
    return any(p.name.startswith(STAGING_PREFIX) for p in out.glob("*"))


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_sigterm_and_sighup_leave_nothing_and_rerun_works(
    long_plate: Path, tmp_path: Path, sig: int, code: int
) -> None:
    out = tmp_path / "out"
    cmd = conform_cmd(long_plate, out, deliver=DELIVER)
    proc = start(cmd)
    try:
        assert wait_for(lambda: _encoding(out), proc), finish(proc)
        _, err = stop(proc, sig)
    finally:
        stop(proc)
    assert proc.returncode == code, err
    assert "Traceback" not in err and "terminated" in err
    assert leftovers(out) == []
    assert deliverables(out) == {}, "a deliverable (or partial plate) was left"
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr


@pytest.mark.slow
def test_farm_sigterm_leaves_no_plate_and_resumes(
    long_plate: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    cmd = conform_cmd(long_plate, out, *FARM, deliver=DELIVER)
    proc = start(cmd)
    state = out / ".plate.farm"
    try:
        assert wait_for(lambda: any(state.glob("chunk-*.json")), proc), finish(proc)
        _, err = stop(proc, signal.SIGTERM)
    finally:
        stop(proc)
    assert proc.returncode == 143, err
    assert leftovers(out) == []
    assert deliverables(out) == {}
    resumed = subprocess.run(
        [*cmd, "--resume"], capture_output=True, text=True, timeout=300
    )
    assert resumed.returncode == 0, resumed.stderr


def _kill_and_rerun(
    cmd_for: Callable[[Path], list[str]],
    folder: Path,
    reruns: list[list[str]],
    reference: dict[str, bytes],
    longest: float,
    rng: random.Random,
) -> None:
    for n, extra in enumerate(reruns):
        out = folder / f"out{n}"
        cmd = cmd_for(out)
        delay = rng.uniform(0.0, longest)
        proc = start(cmd)
        time.sleep(delay)
        stop(proc)  # SIGKILL to the job and its workers, wherever it is
        again = [*cmd, *extra]
        # Killed after its manifest was written, the job was complete (even if
        # it had not exited): a plain rerun is rightly refused; replace instead.
        if (out / "plate.manifest.json").exists() and not extra:
            again.append("--overwrite")
        done = subprocess.run(again, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, (delay, extra, done.stderr)
        assert leftovers(out) == [], (delay, extra)
        assert deliverables(out) == reference, (delay, extra)


def _duration(cmd: list[str]) -> float:
    began = time.monotonic()
    subprocess.run(cmd, capture_output=True, timeout=300, check=True)
    return time.monotonic() - began


@pytest.mark.slow
def test_sigkill_at_random_points_then_rerun_is_byte_identical(
    small_plate: Path, tmp_path: Path, reference: dict[str, bytes]
) -> None:
    def cmd(out: Path) -> list[str]:
        return conform_cmd(small_plate, out, deliver=DELIVER)

    longest = _duration(cmd(tmp_path / "timing"))
    rng = random.Random(SEED)
    reruns: list[list[str]] = [[], ["--overwrite"], []]
    _kill_and_rerun(cmd, tmp_path, reruns, reference, longest, rng)


@pytest.mark.slow
def test_farm_sigkill_at_random_points_then_rerun_is_byte_identical(
    small_plate: Path, tmp_path: Path, farm_reference: dict[str, bytes]
) -> None:
    def cmd(out: Path) -> list[str]:
        return conform_cmd(small_plate, out, *FARM, deliver=DELIVER)

    longest = _duration(cmd(tmp_path / "timing"))
    rng = random.Random(SEED + 1)
    reruns = [["--resume"], [], ["--overwrite"]]
    _kill_and_rerun(cmd, tmp_path, reruns, farm_reference, longest, rng)


@pytest.mark.slow
def test_farm_run_chunk_killed_then_rerun_is_byte_identical(
    small_plate: Path, tmp_path: Path, farm_reference: dict[str, bytes]
) -> None:
    out = tmp_path / "out"
    hdrpipe = [PYTHON, "-m", "hdrpipe"]
    planned = subprocess.run(
        [*hdrpipe, "farm", "plan", str(small_plate), "-o", str(out), "--chunk", "4"]
        + [arg for p in DELIVER for arg in ("-d", p)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert planned.returncode == 0, planned.stderr
    plan = planned.stdout.strip()
    rng = random.Random(SEED + 2)
    chunks = 3
    for step in ("measure-chunk", "run-chunk"):
        for index in range(chunks):
            task = [*hdrpipe, "farm", step, plan, str(index), "--resume"]
            if step == "run-chunk" and index == 1:
                proc = start(task)
                time.sleep(rng.uniform(0.5, 2.5))
                stop(proc)
            done = subprocess.run(task, capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, done.stderr
    stitched = subprocess.run(
        [*hdrpipe, "farm", "stitch", plan], capture_output=True, text=True, timeout=300
    )
    assert stitched.returncode == 0, stitched.stderr
    assert leftovers(out) == []
    assert deliverables(out) == farm_reference


@pytest.mark.slow
def test_farm_two_workers_sigkill_then_rerun_is_byte_identical(
    small_plate: Path, tmp_path: Path
) -> None:
    # Two local workers get one thread each here (x265's pool differs from a
    # one-worker run), so the reference is a clean two-worker run.
    def cmd(out: Path) -> list[str]:
        return conform_cmd(
            small_plate, out, "--workers", "2", "--chunk", "4", deliver=DELIVER
        )

    longest = _duration(cmd(tmp_path / "clean"))
    reference = deliverables(tmp_path / "clean")
    rng = random.Random(SEED + 3)
    _kill_and_rerun(cmd, tmp_path, [["--resume"], []], reference, longest, rng)
