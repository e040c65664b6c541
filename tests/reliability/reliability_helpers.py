"""Helpers of the reliability tests: run the CLI as a subprocess, kill it, compare.

Byte-for-byte comparison covers every deliverable (movies and EXR frames);
the manifest (and the QC page made from it) is left out: they record when and
where a run happened (``created``, ``elapsed_seconds``, farm worker ids and times).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

__all__ = [
    "tree",
    "PYTHON",
    "DELIVER",
    "conform_cmd",
    "start",
    "stop",
    "deliverables",
    "leftovers",
    "wait_for",
    "finish",
]

PYTHON = sys.executable
#: Every kind of writer: ProRes (frame threads), HEVC (x265, SEI patch), EXR.
DELIVER = ("prores4444xq-pq1000", "hevc-hdr10", "exr-acescg")


def conform_cmd(
    src: Path, out: Path, *extra: str, deliver: tuple[str, ...]
) -> list[str]:
    cmd = [PYTHON, "-m", "hdrpipe", "conform", str(src), "-o", str(out)]
    for preset in deliver:
        cmd += ["-d", preset]
    return [*cmd, "--no-progress", *extra]


def start(cmd: list[str]) -> subprocess.Popen[str]:
    """Start ``cmd`` in a session of its own (so its Dask workers can be killed too)."""
    return subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def stop(proc: subprocess.Popen[str], sig: int = signal.SIGKILL) -> tuple[str, str]:
    """Send ``sig`` (SIGKILL: to the whole group); wait; return the output."""
    if proc.poll() is None:
        try:
            if sig == signal.SIGKILL:
                os.killpg(proc.pid, sig)
            else:
                proc.send_signal(sig)
        except ProcessLookupError:
            pass
    out, err = proc.communicate(timeout=120)
    if sig != signal.SIGKILL:
        # A clean exit must not leave worker processes of its group behind.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return out, err


def finish(proc: subprocess.Popen[str], timeout: float = 300) -> tuple[str, str]:
    """Wait for the process to end by itself; return (stdout, stderr)."""
    try:
        return proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()


def wait_for(
    condition: object, proc: subprocess.Popen[str], timeout: float = 120
) -> bool:
    """Poll ``condition()`` until true; False when the process ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.02)
    raise AssertionError("timed out waiting")


def tree(folder: Path) -> list[str]:
    """Every path under ``folder`` (files, folders, symlinks), relative, sorted."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def deliverables(out: Path) -> dict[str, bytes]:
    """Relative path → bytes of every visible deliverable file under ``out``."""
    found = {}
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        # The manifest and its QC page record when and how long a run took.
        if path.name.endswith((".manifest.json", ".farm.json", ".qc.html")):
            continue
        found[str(rel)] = path.read_bytes()
    return found


def leftovers(out: Path) -> list[str]:
    """Temporaries and locks under ``out`` (farm state records excepted)."""
    bad = []
    for path in out.rglob("*"):
        rel = path.relative_to(out)
        name = path.name
        if ".partial" in name or name.endswith(".hdrpipe.lock"):
            bad.append(str(rel))
        elif name.startswith(".") and not name.endswith(".farm"):
            # hidden names other than the farm state folder are temporaries
            if not (rel.parts[0].endswith(".farm")):
                bad.append(str(rel))
    return sorted(bad)
