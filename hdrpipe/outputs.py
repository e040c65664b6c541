"""Where and how hdrpipe writes files: names, output paths, temporaries, publishing.

Every file hdrpipe writes goes through this module, so the rules hold everywhere:

* **Names** (``--name``, preset ids, names read from manifests) are single path
  components (:func:`check_name`): any legal file name — spaces, quotes, unicode,
  ``#``, ``%04d``, glob characters, leading dots — but no ``/``, no NUL, not
  ``.`` or ``..`` and at most :data:`NAME_MAX_BYTES` bytes, so a name can never
  leave the output folder.
* **Output paths** are built under the output folder by :func:`output_path` and
  checked *after* resolution: a planted symlink that points elsewhere is refused.
* **Temporaries** are created exclusively (``O_CREAT | O_EXCL``, mode 0600) under
  unpredictable names (:func:`tempfile.mkstemp`, :func:`tempfile.mkdtemp`) in the
  folder of the final file, so a symlink or file planted under a guessable name
  is never followed, overwritten or renamed. A writer that must hand a path to a
  library (FFmpeg, OpenEXR) writes inside a private ``0700`` folder made by
  :func:`staging_dir`.
* **Publishing** (:func:`publish`) renames a finished file or folder to its final
  name after an ``fsync`` of the data, then ``fsync`` s the folder. Without
  ``overwrite`` an existing final name is never replaced (files: ``link(2)``,
  which fails if the name exists, even as a dangling symlink).

Failures are :class:`~hdrpipe.errors.OutputError` naming the path and the system's
reason (disk full, read-only, permission), and leave no temporary behind.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from .errors import InputError, OutputError

__all__ = [
    "NAME_MAX_BYTES",
    "FILE_NAME_MAX_BYTES",
    "STAGING_PREFIX",
    "check_name",
    "check_outdir",
    "output_path",
    "staging_dir",
    "staging_prefix",
    "atomic_open",
    "atomic_write",
    "publish",
    "discard",
    "fsync_dir",
    "file_mode",
]

#: Longest name (UTF-8 bytes) accepted for a job or a preset id: a file name is
#: at most 255 bytes on common file systems, and hdrpipe appends
#: ``_<preset id><extension>`` or ``.manifest.json`` to the job name.
NAME_MAX_BYTES = 100

#: Longest file name (UTF-8 bytes) hdrpipe writes: common file systems' limit.
FILE_NAME_MAX_BYTES = 255

#: Prefix of every temporary file and folder hdrpipe creates in an output folder
#: (``.hdrpipe-<random>``): hidden, never a deliverable, safe to delete when no
#: job is running.
STAGING_PREFIX = ".hdrpipe-"


def _umask() -> int:
    """The process umask, read without changing it (no race with other threads)."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


_UMASK = _umask()


def file_mode(directory: bool = False) -> int:
    """Permission bits of a published file (or folder): what ``open()`` would give."""
    return (0o777 if directory else 0o666) & ~_UMASK


def check_name(
    name: object, what: str = "name", max_bytes: int = NAME_MAX_BYTES
) -> str:
    """Return ``name`` if it is a safe single file-name component, else refuse it.

    Accepted: any non-empty string without ``/`` and NUL, other than ``.`` and
    ``..``, encodable for the file system and at most ``max_bytes`` bytes
    (default :data:`NAME_MAX_BYTES`, the limit of a name given by the user).

    Raises
    ------
    InputError
        The name could leave its folder or cannot be a file name.

    Examples
    --------
    >>> check_name("sh010 v2 [final] #3")
    'sh010 v2 [final] #3'
    >>> check_name("../x")
    Traceback (most recent call last):
    ...
    hdrpipe.errors.InputError: name '../x': a name may not contain '/'
    """
    if not isinstance(name, str) or not name:
        raise InputError(f"{what} {name!r}: must be a non-empty string")
    if "/" in name:
        raise InputError(f"{what} {name!r}: a name may not contain '/'")
    if "\0" in name:
        raise InputError(f"{what} {name!r}: a name may not contain NUL")
    if name in (".", ".."):
        raise InputError(f"{what} {name!r}: not a file name")
    try:
        size = len(os.fsencode(name))
    except UnicodeError as err:
        raise InputError(f"{what} {name!r}: not encodable as a file name") from err
    if size > max_bytes:
        raise InputError(f"{what} {name[:40]!r}…: {size} bytes, at most {max_bytes}")
    return name


def check_outdir(outdir: str | os.PathLike[str]) -> Path:
    """Resolve an output folder and check, without creating it, that it can be used.

    The folder may not exist yet: its first existing ancestor must then be a
    writable folder (it is created when the job writes).

    Raises
    ------
    InputError
        A part of the path is a file, or the folder (or the ancestor that would
        hold it) is not writable: read-only file system, immutable, permission.
    """
    root = Path(outdir).resolve()
    probe = root
    while not probe.exists():
        if probe.is_symlink():
            raise InputError(f"{outdir}: {probe} is a dangling symbolic link")
        probe = probe.parent
    if not probe.is_dir():
        what = "is a file" if probe.is_file() else "is not a directory"
        raise InputError(f"{outdir}: not a usable output folder: {probe} {what}")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise InputError(
            f"{outdir}: output folder is not writable ({probe}: read-only, "
            "immutable or no permission)"
        )
    return root


def output_path(outdir: str | os.PathLike[str], *parts: str) -> Path:
    """``outdir/part/…`` for safe names ``parts``, checked to resolve inside ``outdir``.

    ``outdir`` itself is resolved first (it may be a symlink the user chose);
    every part must pass :func:`check_name` with the file system's limit
    (:data:`FILE_NAME_MAX_BYTES`: a job name of :data:`NAME_MAX_BYTES` gets a
    suffix such as ``_<preset id>.mov``); a final path whose resolution
    (symlinks included) leaves ``outdir`` is refused.

    Raises
    ------
    InputError
        An unsafe part, or a symlink that leads out of ``outdir``.
    """
    root = Path(outdir).resolve()
    path = root
    for part in parts:
        path = path / check_name(part, "output name", FILE_NAME_MAX_BYTES)
    real = path.resolve()
    if real != root and not real.is_relative_to(root):
        raise InputError(
            f"output {path} resolves to {real}, outside the output folder {root}"
        )
    return path


def _fail(path: Path, err: OSError, action: str = "cannot write") -> OutputError:
    reason = err.strerror or str(err)
    if err.errno in (errno.EROFS, errno.EPERM, errno.EACCES):
        reason += " (read-only, immutable or no permission)"
    return OutputError(f"{path}: {action}: {reason}")


def fsync_dir(folder: str | os.PathLike[str]) -> None:
    """Make a rename or create in ``folder`` durable (no-op where unsupported)."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot fsync a directory; the rename still holds
    finally:
        os.close(fd)


def staging_dir(parent: str | os.PathLike[str], owner: str | None = None) -> Path:
    """Create a private (``0700``) temporary folder in ``parent``; return its path.

    Name ``.hdrpipe-<owner>.<random>`` (or ``.hdrpipe-<random>``): hidden and
    unpredictable. ``owner`` is the file name of the output it stages (first 40
    characters), so a rerun can tell a dead job's temporaries from another
    job's (see :func:`staging_prefix`). Whatever a writer puts inside cannot be
    reached through a planted name. Remove it with :func:`discard` or turn it
    into a deliverable with :func:`publish`.

    Raises
    ------
    OutputError
        ``parent`` is missing or not writable, or the disk is full.
    """
    folder = Path(parent)
    prefix = STAGING_PREFIX if owner is None else staging_prefix(owner)
    try:
        return Path(tempfile.mkdtemp(prefix=prefix, dir=folder))
    except OSError as err:
        raise _fail(folder, err, "cannot create a temporary folder") from err


def staging_prefix(owner: str) -> str:
    """Prefix of the temporaries that stage the output named ``owner``."""
    return f"{STAGING_PREFIX}{owner[:40]}."


def discard(path: str | os.PathLike[str]) -> None:
    """Remove a temporary file or folder; never follows a symlink, never raises."""
    p = Path(path)
    with contextlib.suppress(OSError):
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(
    src: str | os.PathLike[str],
    final: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    sync: bool = True,
) -> Path:
    """Rename a finished temporary file or folder ``src`` to ``final``.

    Files are ``fsync`` ed first (``sync``), given the permissions a new file
    gets under the umask, renamed, and the folder is ``fsync`` ed. Without
    ``overwrite`` an existing ``final`` (even a dangling symlink) is never
    replaced. A folder replacing a folder (``overwrite``) moves the old one
    aside first and deletes it after the new one is in place. A symlink at
    ``final`` is replaced, never followed. ``src`` is gone afterwards, also on
    failure.

    Raises
    ------
    OutputError
        ``final`` exists (without ``overwrite``) or the rename fails.
    """
    s, f = Path(src), Path(final)
    try:
        if s.is_dir() and not s.is_symlink():
            os.chmod(s, file_mode(directory=True))
            _publish_dir(s, f, overwrite)
        else:
            if sync:
                _fsync_file(s)
            os.chmod(s, file_mode())
            _publish_file(s, f, overwrite)
    except FileExistsError as err:
        discard(s)
        raise OutputError(
            f"{f}: appeared while hdrpipe was writing it; not replaced "
            "(use --overwrite to replace it)"
        ) from err
    except OSError as err:
        discard(s)
        raise _fail(f, err) from err
    fsync_dir(f.parent)
    return f


def _publish_file(src: Path, final: Path, overwrite: bool) -> None:
    if overwrite:
        os.replace(src, final)
        return
    try:
        os.link(src, final, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError as err:
        # No hard links here (some FUSE/SMB mounts): check, then rename.
        if err.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        if os.path.lexists(final):
            raise FileExistsError(errno.EEXIST, "exists", str(final)) from err
        os.rename(src, final)
        return
    os.unlink(src)


def _publish_dir(src: Path, final: Path, overwrite: bool) -> None:
    if not os.path.lexists(final):
        try:
            os.rename(src, final)  # onto nothing (or an empty folder made meanwhile)
        except OSError as err:
            if err.errno in (errno.ENOTEMPTY, errno.EEXIST):
                raise FileExistsError(errno.EEXIST, "exists", str(final)) from err
            raise
        return
    if not overwrite:
        raise FileExistsError(errno.EEXIST, "exists", str(final))
    if final.is_symlink() or not final.is_dir():
        os.unlink(final)
        os.rename(src, final)
        return
    old = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=final.parent))
    os.rename(final, old)  # onto the empty folder just made: atomic
    try:
        os.rename(src, final)
    except OSError:
        with contextlib.suppress(OSError):
            os.rename(old, final)  # put the old deliverable back
        raise
    discard(old)


@contextlib.contextmanager
def atomic_open(
    path: str | os.PathLike[str], *, overwrite: bool = True
) -> Iterator[BinaryIO]:
    """Open a new temporary file next to ``path`` for writing; publish it on success.

    The temporary is created with ``O_CREAT | O_EXCL`` under an unpredictable
    hidden name in ``path``'s folder; on a clean exit it is flushed, ``fsync`` ed
    and renamed to ``path`` (see :func:`publish`); on an exception it is
    removed and ``path`` is untouched.

    Raises
    ------
    OutputError
        The temporary cannot be created or written (disk full, read-only,
        permission), or ``path`` exists and ``overwrite`` is off.
    """
    final = Path(path)
    try:
        fd, name = tempfile.mkstemp(
            prefix=staging_prefix(final.name),
            suffix=".tmp",
            dir=final.parent,
        )
    except OSError as err:
        raise _fail(final, err) from err
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            try:
                yield fh
                fh.flush()
                os.fsync(fh.fileno())
            except OSError as err:
                raise _fail(final, err) from err
    except BaseException:
        discard(tmp)
        raise
    publish(tmp, final, overwrite=overwrite, sync=False)


def atomic_write(
    path: str | os.PathLike[str], data: bytes | str, *, overwrite: bool = True
) -> Path:
    """Write ``data`` (``str`` as UTF-8) to ``path`` atomically; return ``path``.

    See :func:`atomic_open` for what "atomically" guarantees and what it raises.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_open(path, overwrite=overwrite) as fh:
        fh.write(payload)
    return Path(path)
