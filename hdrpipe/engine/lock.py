"""One job per OUTDIR and name: an exclusive lock, its holder, what a dead holder left.

A job writing ``OUTDIR/<name>…`` holds ``OUTDIR/.<name>.hdrpipe.lock``: a
regular file opened without following symlinks and locked with ``flock``
(exclusive, non-blocking). The file holds the holder's record (host, pid,
start time, command, the outputs it is making) as one JSON line.

* A second job for the same OUTDIR and name fails at once with
  :class:`JobLockedError` (exit 2) naming the holder.
* The kernel releases an ``flock`` when its process dies, however it dies, so
  the file's presence means nothing: a lock file that can be locked belongs to
  a dead job. Its record says what that job was making; :func:`clean_stale`
  removes what it left (temporaries, and outputs it made after it started but
  never recorded in a manifest), so a rerun is not refused by leftovers.
* A job that ends (done, failed or interrupted) truncates and removes the file
  while it still holds the lock.

``flock`` locks are honoured across NFSv4 clients (Linux emulates them with
POSIX byte-range locks there); on storage without working locks the check is
only as good as the storage.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import socket
import stat
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..outputs import check_name, check_outdir, staging_prefix

__all__ = [
    "LOCK_SUFFIX",
    "Holder",
    "JobLock",
    "JobLockedError",
    "acquire",
    "lock_path",
    "clean_stale",
    "temporaries_of",
    "hold",
]

log = logging.getLogger(__name__)

LOCK_SUFFIX = ".hdrpipe.lock"
_OPEN_FLAGS = os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC


class JobLockedError(InputError):
    """Another live job holds the lock of this OUTDIR and name (exit 2)."""


@dataclass(frozen=True)
class Holder:
    """Who holds (or held) a job lock and what it was making.

    ``started_ns`` is the holder's ``time.time_ns()`` when it took the lock:
    files under its output names modified since then are its own.
    """

    host: str
    pid: int
    started: str
    started_ns: int
    command: str = "conform"
    outputs: tuple[str, ...] = ()

    def describe(self) -> str:
        return (
            f"{self.command} by pid {self.pid} on {self.host}, started {self.started}"
        )

    def to_json(self) -> str:
        return json.dumps(
            {
                "host": self.host,
                "pid": self.pid,
                "started": self.started,
                "started_ns": self.started_ns,
                "command": self.command,
                "outputs": list(self.outputs),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Holder | None:
        """The record in a lock file, or None when empty or unreadable."""
        try:
            data: Any = json.loads(text)
            return cls(
                host=str(data["host"]),
                pid=int(data["pid"]),
                started=str(data["started"]),
                started_ns=int(data["started_ns"]),
                command=str(data.get("command", "conform")),
                outputs=tuple(str(p) for p in data.get("outputs", ())),
            )
        except (ValueError, KeyError, TypeError):
            return None


def lock_path(outdir: str | os.PathLike[str], name: str) -> Path:
    """``OUTDIR/.<name>.hdrpipe.lock``."""
    return Path(outdir).absolute() / f".{name}{LOCK_SUFFIX}"


def _read(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while block := os.read(fd, 65536):
        chunks.append(block)
    return b"".join(chunks).decode("utf-8", errors="replace")


def _write(fd: int, text: str) -> None:
    data = text.encode("utf-8")
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    while data:
        data = data[os.write(fd, data) :]
    os.fsync(fd)


def _open(path: Path) -> int:
    """Open (creating it exclusively if absent) the lock file, never via a symlink."""
    try:
        return os.open(path, _OPEN_FLAGS | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        pass
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        return _open(path)  # removed by its holder in between: create it
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise InputError(f"{path}: is a symlink; not used as a lock") from err
        raise InputError(f"{path}: cannot open the job lock: {err}") from err
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise InputError(f"{path}: not a regular file; refusing to use it as a lock")
    return fd


class JobLock:
    """A held job lock; :meth:`release` (or leaving ``with``) gives it back.

    ``stale`` is the record of a dead job that held the lock before (its file
    was still there), for :func:`clean_stale`.
    """

    def __init__(
        self,
        path: Path,
        fd: int,
        holder: Holder,
        stale: Holder | None,
        created: Sequence[Path] = (),
    ) -> None:
        self.path = path
        self._fd: int | None = fd
        self.holder = holder
        self.stale = stale
        self._created = tuple(created)  # folders made for the lock, outermost first

    def record_outputs(self, outputs: Iterable[str | os.PathLike[str]]) -> None:
        """Add the outputs this job makes to its record (for a later clean-up).

        Calls accumulate (each path once, in first-recorded order): a job made
        of several steps (an editorial conform's pulls, master and hand-off)
        records each step's outputs as it comes to it, and a kill at any point
        leaves a record of everything made so far.
        """
        if self._fd is None:
            return
        known = dict.fromkeys(self.holder.outputs)
        known.update(dict.fromkeys(str(Path(p).absolute()) for p in outputs))
        self.holder = replace(self.holder, outputs=tuple(known))
        _write(self._fd, self.holder.to_json() + "\n")

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        """Remove the lock file and unlock (idempotent).

        Folders created to hold the lock go too when the job left them empty.
        """
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            with contextlib.suppress(OSError):
                ours = os.fstat(fd).st_ino
                if os.stat(self.path, follow_symlinks=False).st_ino == ours:
                    os.unlink(self.path)
        finally:
            os.close(fd)  # unlocks
        for folder in reversed(self._created):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if empty: never what someone else put there

    def __enter__(self) -> JobLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


#: Tries to take a lock that changes hands, and the pause while a holder's
#: record is being written or removed (at most about a second in all).
_ATTEMPTS = 100
_RECORD_WAIT = 0.01


def acquire(
    outdir: str | os.PathLike[str],
    name: str,
    *,
    command: str = "conform",
    outputs: Sequence[str | os.PathLike[str]] = (),
) -> JobLock:
    """Take the lock of ``OUTDIR`` + ``name`` (OUTDIR is created if missing).

    Raises
    ------
    JobLockedError
        A live job holds it; the message names its host, pid and start time.
    InputError
        OUTDIR cannot be created, or the lock path is a symlink or not a file.
    """
    check_name(name, "job name (--name)")
    check_outdir(outdir)  # a file on the way, or not writable: InputError
    folder = Path(outdir).absolute()
    created = []
    missing = folder
    while not missing.exists() and missing != missing.parent:
        created.append(missing)
        missing = missing.parent
    created.reverse()
    try:
        for entry in created:
            entry.mkdir(exist_ok=True)
    except OSError as err:
        raise InputError(f"{folder}: cannot create the output folder: {err}") from err
    path = lock_path(folder, name)
    for _attempt in range(_ATTEMPTS):
        fd = _open(path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            held = Holder.from_json(_read(fd))
            os.close(fd)
            if held is None and _attempt < _ATTEMPTS - 1:
                # Locked but no record yet (its holder is writing it) or no
                # more (it is releasing): look again, to name it or take it.
                time.sleep(_RECORD_WAIT)
                continue
            who = held.describe() if held is not None else "another process"
            raise JobLockedError(
                f"{folder}: a job for {name!r} is already running ({who}); "
                f"wait for it to end (lock {path})"
            ) from None
        except OSError as err:
            os.close(fd)
            raise InputError(f"{path}: cannot lock: {err}") from err
        # The holder before us may have removed the file between our open and
        # our flock: then we locked an orphan inode; open the new file instead.
        try:
            same = os.stat(path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if not same:
            os.close(fd)
            continue
        stale = Holder.from_json(_read(fd))
        now = time.time_ns()
        holder = Holder(
            host=socket.gethostname(),
            pid=os.getpid(),
            started=datetime.fromtimestamp(now / 1e9, UTC).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ),
            started_ns=now,
            command=command,
            outputs=tuple(str(Path(p).absolute()) for p in outputs),
        )
        _write(fd, holder.to_json() + "\n")
        if stale is not None:
            log.info("%s: the job that held it is gone (%s)", path, stale.describe())
        return JobLock(path, fd, holder, stale, created)
    raise InputError(f"{path}: the lock keeps changing hands; try again")


def temporaries_of(output: str | os.PathLike[str]) -> list[Path]:
    """Temporaries an output's writers may leave next to it.

    The staged files and folders of :mod:`hdrpipe.outputs`
    (``.hdrpipe-<output name>.<random>``, see
    :func:`~hdrpipe.outputs.staging_prefix`) and the farm's hidden ``.<name>.*``
    records.
    """
    path = Path(output)
    folder = path.parent if "####" not in path.name else path.parent.parent
    name = path.name if "####" not in path.name else path.parent.name
    if not folder.is_dir():
        return []
    staged = staging_prefix(name)
    found = []
    for entry in folder.iterdir():
        n = entry.name
        if (n.startswith(staged) or n.startswith(f".{name}.")) and not n.endswith(
            LOCK_SUFFIX
        ):
            found.append(entry)
    return found


def _remove(path: Path) -> bool:
    try:
        if path.is_dir() and not path.is_symlink():
            for child in sorted(path.rglob("*"), reverse=True):
                if child.is_dir() and not child.is_symlink():
                    child.rmdir()
                else:
                    child.unlink()
            path.rmdir()
        else:
            path.unlink()
    except FileNotFoundError:
        return False
    return True


def _made_since(path: Path, since_ns: int) -> bool:
    try:
        return os.stat(path, follow_symlinks=False).st_mtime_ns >= since_ns
    except FileNotFoundError:
        return False


def _changed_since(path: Path, since_ns: int) -> bool:
    try:
        return os.stat(path, follow_symlinks=False).st_ctime_ns >= since_ns
    except FileNotFoundError:
        return False


def _frames_of(pattern: Path) -> Iterator[Path]:
    prefix, suffix = pattern.name.split("####", 1)
    if pattern.parent.is_dir():
        for p in pattern.parent.iterdir():
            if p.name.startswith(prefix) and p.name.endswith(suffix):
                yield p


def clean_stale(
    stale: Holder, *, manifest: Path | None = None, keep_outputs: bool = False
) -> list[Path]:
    """Remove what a dead holder left; return the paths removed.

    Temporaries of its outputs always go (nobody writes them any more). Its
    outputs themselves go when it made them (modified since it started; an
    EXR plate whose folder changed since then goes as a whole) and did not
    finish (``manifest`` absent or older than its start): a job is complete
    only with its manifest. Files older than its start (an earlier complete
    run's) are kept. ``keep_outputs`` keeps outputs whatever their
    age (a farm ``--resume`` checks them chunk by chunk instead).
    """
    removed: list[Path] = []
    finished = manifest is not None and _made_since(manifest, stale.started_ns)
    for text in stale.outputs:
        out = Path(text)
        for tmp in temporaries_of(out):
            if _remove(tmp):
                removed.append(tmp)
        if finished or keep_outputs:
            continue
        if "####" in out.name:
            # A plate folder changed since the start (frames added, or moved in
            # whole by a farm stitch: a rename updates its ctime) is the dead
            # job's work: a partial or unrecorded plate goes as a whole.
            whole = _changed_since(out.parent, stale.started_ns)
            for frame in _frames_of(out):
                if (whole or _made_since(frame, stale.started_ns)) and _remove(frame):
                    removed.append(frame)
            with contextlib.suppress(OSError):
                out.parent.rmdir()  # only when empty
        elif _made_since(out, stale.started_ns) and _remove(out):
            removed.append(out)
    if manifest is not None:
        for tmp in temporaries_of(manifest):
            if _remove(tmp):
                removed.append(tmp)
    for path in removed:
        log.info("removed %s, left by a job that died (%s)", path, stale.describe())
    return removed


@contextlib.contextmanager
def hold(
    outdir: str | os.PathLike[str],
    name: str,
    *,
    command: str = "conform",
    keep_outputs: bool = False,
    manifest: str | os.PathLike[str] | None = None,
) -> Iterator[JobLock]:
    """Hold the lock of OUTDIR + ``name`` inside ``with``; clean a dead job's leftovers.

    See :func:`acquire` and :func:`clean_stale` (``keep_outputs``). ``manifest``
    is the file whose presence marks the job complete (default
    ``OUTDIR/<name>.manifest.json``; an editorial conform's is its
    ``OUTDIR/<cut>.editorial.json``, written last).
    """
    lock = acquire(outdir, name, command=command)
    marker = (
        Path(manifest).absolute()
        if manifest is not None
        else Path(outdir).absolute() / f"{name}.manifest.json"
    )
    try:
        if lock.stale is not None:
            clean_stale(lock.stale, manifest=marker, keep_outputs=keep_outputs)
        yield lock
    except BaseException:
        # A job that stops (an error, Ctrl-C, SIGTERM) takes its temporaries
        # with it, also one a writer made just before the stop and had not yet
        # registered for its own clean-up. Under this lock they are ours.
        for output in [*map(Path, lock.holder.outputs), marker]:
            for tmp in temporaries_of(output):
                if _remove(tmp):
                    log.info("removed %s: the job stopped", tmp)
        raise
    finally:
        lock.release()
