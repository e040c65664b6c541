"""Two jobs for one OUTDIR and name: the second is refused, the first unharmed."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
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
)

from hdrpipe.engine.lock import JobLockedError, acquire, clean_stale, hold, lock_path
from hdrpipe.outputs import staging_dir

_HOLD = (
    "import sys, time\n"
    "from hdrpipe.engine.lock import acquire\n"
    "lock = acquire(sys.argv[1], 'plate', command='conform')\n"
    "print('held', flush=True)\n"
    "time.sleep(600)\n"
)


def test_second_process_is_refused_naming_the_holder(
    small_plate: Path, tmp_path: Path, reference: dict[str, bytes]
) -> None:
    out = tmp_path / "out"
    holder = start([PYTHON, "-c", _HOLD, str(out)])
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        refused = start(conform_cmd(small_plate, out, deliver=DELIVER))
        _, err = finish(refused)
        assert refused.returncode == 2, err
        assert "already running" in err
        assert f"pid {holder.pid} on {socket.gethostname()}" in err
        assert "started 20" in err  # the holder's start time (UTC)
        assert not list(out.glob("plate_*")), "the refused job wrote something"
    finally:
        stop(holder)  # SIGKILL: its lock file stays, its flock goes
    assert lock_path(out, "plate").exists()
    done = start(conform_cmd(small_plate, out, deliver=DELIVER))
    _, err = finish(done)
    assert done.returncode == 0, err
    assert deliverables(out) == reference
    assert leftovers(out) == []


def test_racing_starts_never_damage_each_other(
    small_plate: Path, tmp_path: Path, reference: dict[str, bytes]
) -> None:
    # Started together: one wins the lock; the other is refused, or (if the
    # first already ended) replaces the outputs with identical ones.
    out = tmp_path / "out"
    procs = [
        start(conform_cmd(small_plate, out, "--overwrite", deliver=DELIVER))
        for _ in range(2)
    ]
    results = []
    for proc in procs:
        _, err = finish(proc)
        results.append((proc.returncode, err))
    codes = sorted(code for code, _ in results)
    assert codes in ([0, 0], [0, 2]), results
    for code, err in results:
        if code == 2:
            assert "already running" in err
    assert deliverables(out) == reference
    assert leftovers(out) == []


def test_lock_in_process(tmp_path: Path) -> None:
    with hold(tmp_path, "shot") as held:
        assert held.stale is None
        record = json.loads(lock_path(tmp_path, "shot").read_text())
        assert record["pid"] == os.getpid()
        with pytest.raises(JobLockedError, match=f"pid {os.getpid()}"):
            acquire(tmp_path, "shot")
        with acquire(tmp_path, "other"):  # another name is another job
            pass
    assert not lock_path(tmp_path, "shot").exists()


def test_a_job_caught_writing_its_record_is_still_named(tmp_path: Path) -> None:
    """A lock taken but not yet described (its holder is between flock and
    writing its record) is not reported as 'another process': the refused job
    looks again and names the holder (regression: racing hand-offs, 1 in 25)."""
    with hold(tmp_path, "shot"):
        path = lock_path(tmp_path, "shot")
        record = path.read_text()
        path.write_text("")  # the holder's record, not written yet

        def write_it() -> None:
            time.sleep(0.05)
            path.write_text(record)

        writer = threading.Thread(target=write_it)
        writer.start()
        try:
            with pytest.raises(JobLockedError, match=f"conform by pid {os.getpid()}"):
                acquire(tmp_path, "shot")
        finally:
            writer.join()


def test_lock_never_follows_a_symlink(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.write_text("keep")
    lock_path(tmp_path, "shot").symlink_to(target)
    with pytest.raises(Exception, match="symlink"):
        acquire(tmp_path, "shot")
    assert target.read_text() == "keep"


def test_stale_lock_of_a_dead_job_is_recognised_and_cleaned(tmp_path: Path) -> None:
    # A dead job's lock file: present, but no process holds its flock.
    movie = tmp_path / "shot_prores.mov"
    old = tmp_path / "shot_h264.mp4"
    plate = tmp_path / "shot_exr" / "shot.####.exr"
    old.write_bytes(b"an earlier complete run")
    os.utime(old, ns=(1, 1))
    with acquire(tmp_path, "shot") as dead:
        dead.record_outputs([movie, old, plate])
        stale_text = lock_path(tmp_path, "shot").read_text()
        # Temporaries as the writers stage them (hdrpipe.outputs), its own and
        # another job's in the same OUTDIR.
        stage = staging_dir(tmp_path, movie.name)
        (stage / "movie.mov").write_bytes(b"half a movie")
        plate_stage = staging_dir(tmp_path, plate.parent.name)
        (plate_stage / "shot.1002.exr").write_bytes(b"frame")
        other = staging_dir(tmp_path, "other_prores.mov")
        movie.write_bytes(b"finished but no manifest")
        plate.parent.mkdir()
        (plate.parent / "shot.1001.exr").write_bytes(b"frame")
    lock_path(tmp_path, "shot").write_text(stale_text)  # as a SIGKILL leaves it
    with hold(tmp_path, "shot") as held:
        assert held.stale is not None and held.stale.pid == os.getpid()
    assert not movie.exists() and not plate.parent.exists()
    assert not stage.exists() and not plate_stage.exists()
    assert other.is_dir()  # not this job's: left alone
    assert old.read_bytes() == b"an earlier complete run"


def test_stale_record_of_a_finished_job_keeps_its_outputs(tmp_path: Path) -> None:
    movie = tmp_path / "shot_prores.mov"
    with acquire(tmp_path, "shot") as dead:
        dead.record_outputs([movie])
        holder = dead.holder
    movie.write_bytes(b"done")
    (tmp_path / "shot.manifest.json").write_text("{}")
    assert clean_stale(holder, manifest=tmp_path / "shot.manifest.json") == []
    assert movie.read_bytes() == b"done"


def test_recorded_outputs_accumulate_and_a_custom_manifest_marks_completion(
    tmp_path: Path,
) -> None:
    # A job of several steps records each step's outputs as it comes to it.
    first, second = tmp_path / "cut_aces" / "cut.####.exr", tmp_path / "cut.mov"
    with acquire(tmp_path, "cut") as dead:
        dead.record_outputs([first])
        dead.record_outputs([second, first])
        stale_text = lock_path(tmp_path, "cut").read_text()
    record = json.loads(stale_text)["outputs"]
    assert record == [str(first), str(second)]
    # Complete only with its own manifest: the engine's one does not count.
    second.write_bytes(b"made, the job then killed")
    (tmp_path / "cut.manifest.json").write_text("{}")
    lock_path(tmp_path, "cut").write_text(stale_text)
    with hold(tmp_path, "cut", manifest=tmp_path / "cut.editorial.json") as held:
        assert held.stale is not None
    assert not second.exists()
    # With that manifest made after the dead job started, its outputs stay.
    second.write_bytes(b"made")
    (tmp_path / "cut.editorial.json").write_text("{}")
    lock_path(tmp_path, "cut").write_text(stale_text)
    with hold(tmp_path, "cut", manifest=tmp_path / "cut.editorial.json"):
        pass
    assert second.read_bytes() == b"made"
