"""Editorial conforms hold the job lock of OUTDIR and their cut, like ``conform``.

``hdrpipe conform --timeline CUT`` (pulls, assembled master, its movies; in
one process or on a local cluster) holds ``OUTDIR/.<cut>.hdrpipe.lock`` for
the whole job: a second job for that OUTDIR and cut exits 2 naming the
holder; SIGTERM exits 143 leaving no temporary; after SIGKILL a rerun (plain
or ``--overwrite``) removes what the dead job left and makes what an
uninterrupted run makes. Compared: the bytes of every EXR frame, movie and
``.cc`` (deterministic, see test_kills.py), and the set of visible files (the
manifests, ``.nk`` files and QC pages name their folder and time: present,
not compared).
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import opentimelineio as otio
import pytest
from reliability_helpers import PYTHON, finish, leftovers, start, stop, wait_for

from fixtures.editorial import editorial_timeline, make_media
from hdrpipe.engine.lock import lock_path
from hdrpipe.outputs import STAGING_PREFIX

CUT = "editorial_cut"  # the fixture timeline's name: the master's and the lock's
SHOTS = ("001_A010C001", "002_A020C002", "003_A030C003", "004_A040C004")
FARM = ("--workers", "1", "--chunk", "16")
SEED = 20261205
COMPARED = (".exr", ".mov", ".cc")


@pytest.fixture(scope="module")
def edit(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The fixture cut (4 events, a dissolve, CDLs) over 192×108 media."""
    root = tmp_path_factory.mktemp("rel_edit")
    make_media(root / "media", width=192, height=108)
    cut = root / "cut.otio"
    otio.adapters.write_to_file(editorial_timeline(), str(cut))
    return {"media": root / "media", "cut": cut}


def edit_cmd(edit: dict[str, Path], out: Path, *extra: str) -> list[str]:
    return [
        PYTHON,
        "-m",
        "hdrpipe",
        "conform",
        "--timeline",
        str(edit["cut"]),
        "--media",
        str(edit["media"]),
        "-o",
        str(out),
        "-d",
        "exr-aces",
        "-d",
        "prores4444xq-pq1000",
        "--no-progress",
        *extra,
    ]


def results(out: Path) -> dict[str, bytes | None]:
    """Visible file → its bytes (EXR, movie, CDL) or None (present, not compared)."""
    found: dict[str, bytes | None] = {}
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        found[str(rel)] = path.read_bytes() if path.suffix in COMPARED else None
    return found


def _run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def edit_reference(
    edit: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, bytes | None]:
    """An uninterrupted editorial conform in one process."""
    out = tmp_path_factory.mktemp("rel_edit_ref") / "out"
    done = _run(edit_cmd(edit, out))
    assert done.returncode == 0, done.stderr
    found = results(out)
    # 4 pulls (plates, manifest, QC page, .nk, .cc), the master EXR and movie.
    assert sum(1 for k in found if k.endswith(".cc")) == len(SHOTS)
    assert any(k.startswith(f"{CUT}_aces/") for k in found)
    assert f"{CUT}_prores4444xq-pq1000.mov" in found
    assert f"{CUT}.editorial.json" in found
    return found


@pytest.fixture(scope="module")
def edit_farm_reference(
    edit: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, bytes | None]:
    """An uninterrupted editorial conform on a one-worker local cluster."""
    out = tmp_path_factory.mktemp("rel_edit_farm_ref") / "out"
    done = _run(edit_cmd(edit, out, *FARM))
    assert done.returncode == 0, done.stderr
    return results(out)


def _holder_pid(out: Path) -> int | None:
    try:
        return int(json.loads(lock_path(out, CUT).read_text())["pid"])
    except (OSError, ValueError, KeyError):
        return None


def _staging(out: Path) -> bool:
    return any(p.name.startswith(STAGING_PREFIX) for p in out.rglob("*"))


def _pulled(out: Path, n: int) -> Callable[[], bool]:
    """True once ``n`` pulls have their manifest."""
    return lambda: sum((out / s / f"{s}.manifest.json").exists() for s in SHOTS) >= n


def _no_partial_plate(out: Path) -> None:
    """Every plate folder left belongs to a complete job (its manifest is there)."""
    for shot in SHOTS:
        plates = out / shot / f"{shot}_exr-aces"
        if plates.exists():
            assert (out / shot / f"{shot}.manifest.json").exists(), plates
    if (out / f"{CUT}_aces").exists():
        assert (out / f"{CUT}_prores4444xq-pq1000.mov").exists() or not any(
            (out / f"{CUT}_aces").iterdir()
        )


@pytest.mark.slow
def test_second_editorial_job_is_refused_naming_the_holder(
    edit: dict[str, Path], tmp_path: Path, edit_reference: dict[str, bytes | None]
) -> None:
    out = tmp_path / "out"
    first = start(edit_cmd(edit, out))
    try:
        # The first job holds the lock (its record names it); freeze it there.
        assert wait_for(lambda: _holder_pid(out) == first.pid, first), finish(first)
        os.kill(first.pid, signal.SIGSTOP)
        before = sorted(str(p) for p in out.rglob("*"))
        for extra in ([], ["--overwrite"], [*FARM]):
            refused = _run(edit_cmd(edit, out, *extra))
            assert refused.returncode == 2, (extra, refused.stderr)
            assert f"a job for {CUT!r} is already running" in refused.stderr
            holder = f"(conform --timeline by pid {first.pid} on {socket.gethostname()}"
            assert holder in refused.stderr
            assert "internal error" not in refused.stderr
            assert refused.stdout == ""
        assert sorted(str(p) for p in out.rglob("*")) == before, "refused job wrote"
        os.kill(first.pid, signal.SIGCONT)
        _, err = finish(first)
    finally:
        stop(first)
    assert first.returncode == 0, err
    assert results(out) == edit_reference
    assert leftovers(out) == []


@pytest.mark.slow
def test_sigterm_exits_143_leaving_no_temporary(
    edit: dict[str, Path], tmp_path: Path, edit_reference: dict[str, bytes | None]
) -> None:
    out = tmp_path / "out"
    cmd = edit_cmd(edit, out)
    proc = start(cmd)
    try:
        # Mid-pull: a pull done, a writer's staged temporary on disk.
        done_one = _pulled(out, 1)
        assert wait_for(lambda: done_one() and _staging(out), proc), finish(proc)
        _, err = stop(proc, signal.SIGTERM)
    finally:
        stop(proc)
    assert proc.returncode == 143, err
    assert "Traceback" not in err and "terminated" in err
    assert leftovers(out) == []  # no temporary, no lock (its own or a pull's)
    _no_partial_plate(out)
    assert f"{CUT}.editorial.json" not in results(out)
    # The pulls it completed stay (a plain rerun is refused by them);
    # --overwrite makes the whole job again.
    again = _run([*cmd, "--overwrite"])
    assert again.returncode == 0, again.stderr
    assert results(out) == edit_reference
    assert leftovers(out) == []


def _kill_then_rerun(
    cmd: list[str],
    out: Path,
    when: Callable[[subprocess.Popen[str]], None],
    extra: list[str],
    edit_reference: dict[str, bytes | None],
) -> None:
    proc = start(cmd)
    try:
        when(proc)
    finally:
        stop(proc)  # SIGKILL to the job and its workers, wherever it is
    if proc.returncode == -signal.SIGKILL:
        assert lock_path(out, CUT).exists(), "the dead job left no lock record"
    again = [*cmd, *extra]
    # Killed after its editorial manifest was written the job was complete:
    # a plain rerun is rightly refused by its outputs; replace them instead.
    if (out / f"{CUT}.editorial.json").exists() and not extra:
        again.append("--overwrite")
    done = _run(again)
    assert done.returncode == 0, (extra, done.stderr)
    assert leftovers(out) == [], extra
    assert results(out) == edit_reference, extra


def _at(condition: Callable[[], bool]) -> Callable[[subprocess.Popen[str]], None]:
    """Kill once ``condition()`` holds (the job still running)."""

    def when(proc: subprocess.Popen[str]) -> None:
        assert wait_for(condition, proc, timeout=300), finish(proc)

    return when


def _locked_then(out: Path, delay: float) -> Callable[[subprocess.Popen[str]], None]:
    """Kill ``delay`` seconds after the job took its lock."""

    def when(proc: subprocess.Popen[str]) -> None:
        assert wait_for(lambda: _holder_pid(out) == proc.pid, proc, timeout=300)
        time.sleep(delay)

    return when


@pytest.mark.slow
def test_sigkill_then_rerun_cleans_up_and_matches(
    edit: dict[str, Path], tmp_path: Path, edit_reference: dict[str, bytes | None]
) -> None:
    # At known points: two pulls complete (a third being written); the
    # assembled master published (its movie being made); then at random.
    known: list[tuple[Callable[[Path], Callable[[], bool]], list[str]]] = [
        (lambda out: _pulled(out, 2), []),
        (lambda out: (out / f"{CUT}_aces").is_dir, ["--overwrite"]),
    ]
    for n, (condition, extra) in enumerate(known):
        out = tmp_path / f"known{n}"
        _kill_then_rerun(
            edit_cmd(edit, out), out, _at(condition(out)), extra, edit_reference
        )
    timing = tmp_path / "timing"
    proc = start(edit_cmd(edit, timing))
    assert wait_for(lambda: _holder_pid(timing) == proc.pid, proc, timeout=300)
    began = time.monotonic()
    _, err = finish(proc)
    assert proc.returncode == 0, err
    longest = time.monotonic() - began
    rng = random.Random(SEED)
    for n, extra in enumerate([[], ["--overwrite"]]):
        out = tmp_path / f"random{n}"
        when = _locked_then(out, rng.uniform(0.0, longest))
        _kill_then_rerun(edit_cmd(edit, out), out, when, extra, edit_reference)


@pytest.mark.slow
def test_farm_sigkill_then_rerun_cleans_up_and_matches(
    edit: dict[str, Path], tmp_path: Path, edit_farm_reference: dict[str, bytes | None]
) -> None:
    for n, (pulled, extra) in enumerate([(2, []), (1, ["--overwrite"])]):
        out = tmp_path / f"out{n}"
        cmd = edit_cmd(edit, out, *FARM)
        _kill_then_rerun(
            cmd, out, _at(_pulled(out, pulled)), extra, edit_farm_reference
        )
