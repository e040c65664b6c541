"""Discover EXR image sequences on disk: patterns, frame ranges, gaps, headers.

Accepted inputs (fileseq parses the patterns, Nuke-style padding: one ``#`` per
digit, ``@`` = any padding, printf ``%04d``, Houdini ``$F4``):

* ``/shots/plate.####.exr``, ``plate.%04d.exr``, ``plate.@.exr``
* ``plate.1001-1048#.exr`` — an explicit range: frames outside it are ignored,
  frames inside it that are not on disk are *missing*
* one file (``plate.1001.exr``, or any EXR without a frame number) — a one-frame
  sequence
* a directory holding exactly one sequence
"""

from __future__ import annotations

import errno
import functools
import logging
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from fileseq.constants import PAD_STYLE_HASH1
from fileseq.exceptions import FileSeqException
from fileseq.filesequence import FileSequence

from .errors import InputError, SourceReadError
from .exr import ExrHeader, read_header
from .types import FrameRange

__all__ = ["Sequence", "open_sequence", "parse_frame_range"]

log = logging.getLogger(__name__)

_RANGE_RE = re.compile(r"^\s*(-?\d+)\s*(?:(?:-|:|\.\.)\s*(-?\d+)\s*)?$")
_EXR_SUFFIXES = (".exr",)
#: Errors of the machine, not of a frame: never reported as a missing/damaged frame.
_SYSTEM_ERRNOS = frozenset(
    {errno.EIO, errno.ENOMEM, errno.ENFILE, errno.EMFILE, errno.ESTALE}
)
# fileseq's padding tokens in a path (with an optional explicit frame set before them).
_PAD_TOKEN_RE = re.compile(r"(#+|@+|%0?\d*d|\$F\d*|<UDIM>)")


def parse_frame_range(text: str) -> FrameRange:
    """Parse ``"1001-1048"`` / ``"1001"`` (also ``1001:1048``) into a FrameRange.

    Negative frames are accepted (``"-5--1"``), so ``parse_frame_range(str(r)) == r``.

    >>> parse_frame_range("1001-1048")
    FrameRange(first=1001, last=1048)
    """
    match = _RANGE_RE.match(text)
    if not match:
        raise InputError(
            f"frame range {text!r}: expected FIRST-LAST or FRAME, e.g. 1001-1048"
        )
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) is not None else first
    return FrameRange(first, last)


@functools.lru_cache(maxsize=4096)
def _cached_header(path: str, mtime_ns: int, size: int) -> ExrHeader:
    # mtime/size are part of the key, so a rewritten frame is read again.
    return read_header(path)


@dataclass(frozen=True, slots=True)
class Sequence:
    """A numbered EXR image sequence on disk.

    ``pattern`` is an absolute path with one ``#`` per digit of padding
    (``/shots/sh010/plate.####.exr``), or a literal path for a single
    un-numbered file (then ``padding`` is 0). ``frames`` are the frames present
    on disk, sorted. ``expected`` (optional) is the frame set the caller asked
    for (explicit range in the pattern or ``frames=``); missing frames are
    computed against it, otherwise against ``first..last`` of ``frames``.
    """

    pattern: str
    frames: tuple[int, ...]
    padding: int
    expected: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if not self.frames:
            raise InputError(f"{self.pattern}: no frames")

    @property
    def frame_range(self) -> FrameRange:
        """First..last frame, gaps included (and the expected range when given)."""
        frames = set(self.frames) | set(self.expected or ())
        return FrameRange(min(frames), max(frames))

    @property
    def missing(self) -> tuple[int, ...]:
        """Frames of the range that are not on disk, sorted."""
        wanted = self.expected if self.expected is not None else tuple(self.frame_range)
        have = set(self.frames)
        return tuple(f for f in sorted(set(wanted)) if f not in have)

    @property
    def name(self) -> str:
        """Base name without frame number and extension, e.g. ``"plate"``."""
        base = Path(self.pattern).name
        if self.padding:
            base = base[: base.rfind("#" * self.padding)]
        else:
            base = base[: -len(Path(base).suffix)] if Path(base).suffix else base
        return base.rstrip("._-") or base

    def path(self, frame: int) -> Path:
        """Path of one frame (whether or not it exists)."""
        if not self.padding:
            return Path(self.pattern)
        parent, base = os.path.split(self.pattern)
        token = "#" * self.padding
        at = base.rfind(token)
        number = (
            f"-{abs(frame):0{max(self.padding - 1, 1)}d}"
            if frame < 0
            else (f"{frame:0{self.padding}d}")
        )
        return Path(parent) / (base[:at] + number + base[at + len(token) :])

    def header(self, frame: int) -> ExrHeader:
        """The EXR header of one frame (cached per path, mtime and size)."""
        p = self.path(frame)
        try:
            st = p.stat()
        except OSError as err:
            if err.errno in _SYSTEM_ERRNOS:  # the system failed, not the file
                raise SourceReadError(
                    f"{p}: frame {frame}: {err.strerror or err}"
                ) from err
            raise InputError(f"{p}: frame {frame}: {err.strerror or err}") from err
        return _cached_header(str(p), st.st_mtime_ns, st.st_size)

    def __str__(self) -> str:
        return f"{self.pattern} [{self.frame_range}]"


def _is_candidate(path: str) -> bool:
    name = os.path.basename(path)
    return (
        not name.startswith(".")
        and ".partial." not in name
        and name.lower().endswith(_EXR_SUFFIXES)
    )


def _from_fileseq(fs: FileSequence, expected: tuple[int, ...] | None) -> Sequence:
    frame_set = fs.frameSet()
    if frame_set is None or fs.padding() == "":
        return Sequence(
            pattern=str(Path(fs.index(0)).resolve()), frames=(1,), padding=0
        )
    padding = int(fs.zfill()) or 1
    pattern = str(
        Path(fs.dirname() or ".").resolve()
        / (fs.basename() + "#" * padding + fs.extension())
    )
    frames = tuple(sorted(int(f) for f in frame_set))
    if expected is not None:
        wanted = set(expected)
        frames = tuple(f for f in frames if f in wanted)
        if not frames:
            raise InputError(
                f"{pattern}: none of the requested frames "
                f"{min(expected)}-{max(expected)} exist on disk"
            )
    return Sequence(pattern=pattern, frames=frames, padding=padding, expected=expected)


def _single_file(p: Path) -> Sequence:
    """One file: a one-frame sequence (its frame number if it has one, else 1)."""
    fs = FileSequence(str(p), pad_style=PAD_STYLE_HASH1)
    frame_set = fs.frameSet()
    one = frame_set is not None and len(frame_set) == 1
    numbers = [int(f) for f in frame_set] if frame_set is not None and one else []
    if (
        len(numbers) == 1
        and fs.extension().lower() in _EXR_SUFFIXES
        and abs(numbers[0]) < 10**9
        and fs.zfill() > 0
    ):
        padding = int(fs.zfill())
        frame = numbers[0]
        seq = Sequence(
            pattern=str(p.parent / (fs.basename() + "#" * padding + fs.extension())),
            frames=(frame,),
            padding=padding,
        )
        if seq.path(frame) == p:
            return seq
    return Sequence(pattern=str(p), frames=(1,), padding=0)


def _expected_frames(frames: FrameRange | str | None) -> tuple[int, ...] | None:
    if frames is None:
        return None
    rng = parse_frame_range(frames) if isinstance(frames, str) else frames
    return tuple(rng)


def _restrict(seq: Sequence, expected: tuple[int, ...] | None) -> Sequence:
    if expected is None:
        return seq
    wanted = set(expected)
    if seq.expected is not None:
        wanted &= set(seq.expected)
    present = tuple(f for f in seq.frames if f in wanted)
    if not present:
        raise InputError(
            f"{seq.pattern}: none of the requested frames "
            f"{min(expected)}-{max(expected)} "
            "exist on disk"
        )
    return Sequence(seq.pattern, present, seq.padding, tuple(sorted(wanted)))


def open_sequence(
    path: str | os.PathLike[str], *, frames: FrameRange | str | None = None
) -> Sequence:
    """Open an EXR sequence from a pattern, one file or a directory.

    Parameters
    ----------
    path
        ``plate.####.exr``, ``plate.%04d.exr``, ``plate.@.exr``,
        ``plate.1001-1048#.exr``, one file, or a directory holding exactly one
        sequence.
    frames
        Restrict to this inclusive range (``"1001-1048"``); frames of the range
        that are absent on disk are reported as missing.

    Raises
    ------
    InputError
        Nothing found, several sequences in a directory (listed in the
        message), a bad pattern/range, or a frame that is not a regular file
        (a FIFO, a device such as ``/dev/zero``, a socket: reading one could
        block forever or never end).
    """
    return _regular_only(_open_sequence(path, frames))


def _regular_only(seq: Sequence) -> Sequence:
    """Refuse a sequence with a frame that is not a regular file (after symlinks)."""
    for frame in seq.frames:
        p = seq.path(frame)
        try:
            mode = p.stat().st_mode
        except OSError as err:
            raise InputError(f"{p}: frame {frame}: {err.strerror or err}") from err
        if not stat.S_ISREG(mode):
            raise InputError(
                f"{p}: frame {frame} is not a regular file "
                f"({_file_kind(mode)}); hdrpipe reads only regular files"
            )
    return seq


def _file_kind(mode: int) -> str:
    for test, kind in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a directory"),
    ):
        if test(mode):
            return kind
    return "a special file"


def _open_sequence(
    path: str | os.PathLike[str], frames: FrameRange | str | None
) -> Sequence:
    expected = _expected_frames(frames)
    p = Path(os.fspath(path)).expanduser()
    if not p.is_absolute():
        p = Path.cwd() / p
    if p.is_dir():
        try:
            found = FileSequence.findSequencesOnDisk(str(p), pad_style=PAD_STYLE_HASH1)
        except FileSeqException as err:
            raise InputError(f"{p}: cannot list sequences: {err}") from err
        found = [s for s in found if _is_candidate(str(s.index(0)))]
        if not found:
            raise InputError(f"{p}: no EXR sequence in this directory")
        if len(found) > 1:
            names = ", ".join(sorted(str(s) for s in found))
            raise InputError(
                f"{p}: {len(found)} sequences in this directory, pass one of: {names}"
            )
        fs = found[0]
        if fs.frameSet() is None:
            return _restrict(_single_file(Path(fs.index(0))), expected)
        return _restrict(_from_fileseq(fs, None), expected)
    if p.is_file():
        return _restrict(_single_file(p), expected)
    if p.exists():  # neither a folder nor a regular file
        raise InputError(
            f"{p}: not a regular file ({_file_kind(p.stat().st_mode)}); "
            "hdrpipe reads only regular files"
        )
    if not _PAD_TOKEN_RE.search(p.name) and not re.search(r"\d", p.name):
        raise InputError(f"{p}: no such file or directory")
    if not p.parent.is_dir():
        raise InputError(f"{p.parent}: no such directory")
    try:
        pattern = FileSequence(str(p), pad_style=PAD_STYLE_HASH1)
    except FileSeqException as err:
        raise InputError(f"{p}: not a sequence pattern: {err}") from err
    if pattern.padding() == "":
        raise InputError(
            f"{p}: no such file, and no frame token (#, @, %04d) in the name"
        )
    explicit = pattern.frameSet()
    if explicit is not None:
        explicit_frames: tuple[int, ...] | None = tuple(
            sorted(int(f) for f in explicit)
        )
    else:
        explicit_frames = None
    # Search with a bare token, so an explicit range does not filter the listing.
    search = os.path.join(
        pattern.dirname() or ".", pattern.basename() + "@" + pattern.extension()
    )
    try:
        on_disk = FileSequence.findSequenceOnDisk(search, pad_style=PAD_STYLE_HASH1)
    except FileSeqException as err:
        raise InputError(f"{p}: no frames found on disk") from err
    if on_disk.frameSet() is None:
        raise InputError(f"{p}: no frames found on disk")
    # With an explicit padding (####, %04d), keep only frames that match it.
    want_pad = pattern.zfill() if not re.search(r"@", pattern.padding()) else 0
    seq = _from_fileseq(on_disk, explicit_frames)
    # A narrower token still matches unpadded numbers that are naturally wider
    # (Nuke: "#" with frame 1001 is "1001"); only zero-padded files conflict.
    naturally_wide = all(len(str(abs(f))) >= seq.padding for f in seq.frames)
    if (
        want_pad
        and seq.padding != want_pad
        and not (want_pad < seq.padding and naturally_wide)
    ):
        raise InputError(
            f"{p}: frames on disk are padded to {seq.padding} digits, "
            f"the pattern asks for {want_pad}"
        )
    if explicit_frames is not None and not set(explicit_frames) & set(seq.frames):
        raise InputError(f"{p}: none of the requested frames exist on disk")
    log.debug(
        "opened %s: %d frames, %d missing",
        seq.pattern,
        len(seq.frames),
        len(seq.missing),
    )
    return _restrict(seq, expected)
