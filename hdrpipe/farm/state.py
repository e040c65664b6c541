"""The farm state directory: completion records, progress files, resume checks.

Every record is written atomically (temp name, then ``os.replace``), so a
record either exists whole or not at all, whatever kills the process. A chunk
counts as complete only when its record exists, every file it lists is still
there with the recorded size and SHA-256 (a same-size damaged part is caught),
and every source frame it read still has the SHA-256 recorded when it ran (a
re-rendered plate is never mixed with chunks made from the old one).
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import OutputError
from ..outputs import atomic_write
from ..sequence import file_sha256

if TYPE_CHECKING:  # a plan's state is read through the plan; plan.py imports this
    from .plan import FarmPlan

__all__ = [
    "CHUNK_RECORD_SCHEMA",
    "MEASURE_RECORD_SCHEMA",
    "record_path",
    "progress_path",
    "write_json_atomic",
    "read_record",
    "describe_files",
    "files_match",
    "complete_record",
    "progress_done",
    "ProgressFile",
    "reset_state",
    "sha256",
    "clean_attempts",
    "source_digest",
    "source_digests",
    "sources_changed",
]

log = logging.getLogger(__name__)

CHUNK_RECORD_SCHEMA = "hdrpipe.farm.chunk/1"
MEASURE_RECORD_SCHEMA = "hdrpipe.farm.measure/1"
PROGRESS_INTERVAL = 0.5  # seconds between progress-file writes of a running chunk


def record_path(farm: FarmPlan, phase: str, index: int) -> Path:
    """``STATE/<phase>-NNNN.json`` (``phase`` is ``chunk`` or ``measure``)."""
    return farm.state / f"{phase}-{index:04d}.json"


def progress_path(farm: FarmPlan, phase: str, index: int) -> Path:
    return farm.state / f"{phase}-{index:04d}.progress"


def write_json_atomic(path: Path, data: Mapping[str, Any]) -> Path:
    """Write JSON under a unique temp name in the same folder, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, json.dumps(data, indent=2, default=str) + "\n")


def read_record(path: Path) -> dict[str, Any] | None:
    """A record, or ``None`` when absent or unreadable (then it is redone)."""
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, json.JSONDecodeError) as err:
        log.info("%s: unreadable, the chunk will be redone: %s", path, err)
        return None
    return data


def sha256(path: Path) -> str:
    """SHA-256 of a file a chunk made or read (regular files only)."""
    return file_sha256(path)


_DIGESTS_LOCK = threading.Lock()
_DIGESTS: dict[tuple[str, int, int, int], str] = {}


def _stat_key(path: Path) -> tuple[str, int, int, int]:
    st = path.stat()
    return (str(path), st.st_ino, st.st_size, st.st_mtime_ns)


def _source_sha256(path: Path, key: tuple[str, int, int, int] | None = None) -> str:
    """SHA-256 of a source frame, remembered per (path, inode, size, mtime).

    A resume checks every chunk's sources, and the stitch checks them again,
    then lists them in the manifest: a file that has not been written since
    (same inode, size and mtime_ns) is not read twice by one process.
    """
    key = _stat_key(path) if key is None else key
    with _DIGESTS_LOCK:
        known = _DIGESTS.get(key)
    if known is not None:
        return known
    digest = sha256(path)
    with _DIGESTS_LOCK:
        _DIGESTS[key] = digest
    return digest


def source_digests(paths: list[Path]) -> dict[str, dict[str, Any]]:
    """Source frame path → its SHA-256 and the ``stat`` it had, for a chunk's record.

    ``{"sha256": …, "stat": [inode, size, mtime_ns]}``: the stat is taken before
    the file is hashed, so a file rewritten meanwhile can only make a later
    check hash it again, never pass on a stale digest.
    """
    out: dict[str, dict[str, Any]] = {}
    for p in sorted(set(paths)):
        key = _stat_key(p)
        out[str(p)] = {"sha256": _source_sha256(p, key), "stat": list(key[1:])}
    return out


def source_digest(path: Path) -> str:
    """SHA-256 of a source frame (remembered while its ``stat`` is unchanged)."""
    return _source_sha256(path)


def sources_changed(recorded: Mapping[str, Any]) -> str | None:
    """``None`` when every recorded source frame is unchanged, else the first change.

    A frame whose inode, size and mtime_ns are those recorded is taken as
    unchanged without reading it (as make and rsync do: a rewrite moves the
    mtime); any other is hashed and compared. Records of an older hdrpipe hold
    the digest alone and are always hashed.
    """
    for text, entry in recorded.items():
        path = Path(text)
        digest = entry["sha256"] if isinstance(entry, Mapping) else entry
        try:
            key = _stat_key(path)
            if isinstance(entry, Mapping) and list(key[1:]) == entry.get("stat"):
                with _DIGESTS_LOCK:
                    _DIGESTS.setdefault(key, digest)
            now = _source_sha256(path, key)
        except FileNotFoundError:
            return f"source {path} is missing"
        if now != digest:
            return f"source {path} changed since the chunk was made (SHA-256)"
    return None


def describe_files(paths: list[Path], *, checksum: bool) -> list[dict[str, Any]]:
    """``[{"path", "size", "sha256"?}]`` of files a chunk made."""
    out = []
    for p in paths:
        entry: dict[str, Any] = {"path": str(p), "size": p.stat().st_size}
        if checksum:
            entry["sha256"] = sha256(p)
        out.append(entry)
    return out


def files_match(files: list[Mapping[str, Any]]) -> str | None:
    """``None`` when every listed file exists as recorded, else the first mismatch."""
    for entry in files:
        p = Path(entry["path"])
        try:
            size = p.stat().st_size
        except FileNotFoundError:
            return f"{p} is missing"
        if size != entry["size"]:
            return f"{p} has {size} bytes, {entry['size']} recorded"
        if "sha256" in entry and sha256(p) != entry["sha256"]:
            return f"{p} changed since it was recorded (SHA-256)"
    return None


def _where_now(farm: FarmPlan, entry: Mapping[str, Any]) -> Mapping[str, Any]:
    """A record's file entry, pointing into OUTDIR once the stitch moved it there.

    EXR frames are staged in ``STATE/exr/<folder>/`` and the stitch moves the
    folder to ``OUTDIR/<folder>/`` (a rename: same bytes).
    """
    path = Path(entry["path"])
    staged = farm.state / "exr"
    if path.is_relative_to(staged) and not path.exists():
        return {**entry, "path": str(Path(farm.outdir) / path.relative_to(staged))}
    return entry


def complete_record(farm: FarmPlan, phase: str, index: int) -> dict[str, Any] | None:
    """The record of a complete chunk, or ``None`` (absent, stale or files changed)."""
    path = record_path(farm, phase, index)
    record = read_record(path)
    if record is None:
        return None
    chunk = farm.chunks[index]
    if record.get("record_range") != [chunk.start, chunk.stop]:
        log.info("%s: recorded for another record range; redoing chunk %d", path, index)
        return None
    problem = files_match([_where_now(farm, f) for f in record.get("files", [])])
    if problem is None:
        sources = record.get("sources")
        problem = (
            "its record has no source digests (made by an older hdrpipe)"
            if sources is None
            else sources_changed(sources)
        )
    if problem is not None:
        log.info("%s chunk %d must be redone: %s", phase, index, problem)
        return None
    return record


def progress_done(farm: FarmPlan, phase: str, index: int) -> int:
    """Frames a running chunk reported done (0 when it has not reported yet)."""
    try:
        return int(
            progress_path(farm, phase, index).read_text(encoding="ascii").split()[0]
        )
    except (FileNotFoundError, ValueError, IndexError):
        return 0


class ProgressFile:
    """``on_progress`` of a chunk: frames done to its progress file, throttled."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._last = 0.0
        self._lock = threading.Lock()

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        with self._lock:
            if done < total and now - self._last < PROGRESS_INTERVAL:
                return
            self._last = now
            try:
                atomic_write(self._path, f"{done} {total}\n")
            # progress is advisory: never fail a chunk for it
            except (OSError, OutputError) as err:
                log.debug("%s: progress not written: %s", self._path, err)

    def clear(self) -> None:
        self._path.unlink(missing_ok=True)


def reset_state(farm: FarmPlan) -> None:
    """Empty the state directory (records, progress, parts) for a fresh run."""
    state = farm.state
    if state.is_dir():
        log.info("%s: clearing the state of an earlier run", state)
        shutil.rmtree(state)
    (state / "parts").mkdir(parents=True, exist_ok=True)


def clean_attempts(farm: FarmPlan, index: int | None = None) -> list[Path]:
    """Remove the attempt temporaries of chunk ``index`` (default: every chunk).

    Attempts write hidden ``parts/.<part stem>.<attempt>…`` files and
    ``.<record>.…partial`` records; call this only when no attempt can still be
    running (the job lock held after a dead run, a local cluster closed, or
    the chunk's own lock held).
    """
    removed: list[Path] = []
    folders = [farm.state / "parts", farm.state]
    chunks = farm.chunks if index is None else (farm.chunks[index],)
    prefixes = [f".{Path(part).stem}." for c in chunks for part in c.parts.values()]
    prefixes += [
        f".{phase}-{c.index:04d}." for c in chunks for phase in ("chunk", "measure")
    ]
    for folder in folders:
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            if entry.is_file() and any(entry.name.startswith(p) for p in prefixes):
                entry.unlink(missing_ok=True)
                removed.append(entry)
    for path in removed:
        log.info("%s: removed, left by an attempt that did not finish", path)
    return removed
