"""Discover EXR image sequences on disk: patterns, frame ranges, gaps, headers.

A DPX sequence opens the same way from its pattern or one file
(``plate.####.dpx``; :func:`hdrpipe.exr.read_header` reads both formats); a
directory is searched for EXR only.

Accepted inputs (Nuke-style padding: one ``#`` per digit, ``@`` = any padding,
printf ``%04d``, Houdini ``$F4``):

* ``/shots/plate.####.exr``, ``plate.%04d.exr``, ``plate.@.exr``
* ``plate.1001-1048#.exr`` — an explicit range: frames outside it are ignored,
  frames inside it that are not on disk are *missing*
* one file (``plate.1001.exr``, or any EXR without a frame number) — a one-frame
  sequence
* a directory holding exactly one sequence

Only file names are parsed, never a folder path: folders may hold any character
("<", "#", "*", a newline). A folder is listed with ``os.listdir`` and each name
split into stem, frame number and extension; the frame token of a pattern is the
last one before the extension, so ``take#2.####.exr`` has the stem ``take#2.``.
fileseq is used only for an explicit frame set (``1001-1048``, ``1-99x2``).

A ``-`` right before the frame digits is a minus sign only after a separator
(``.``, ``_``, ``-``) or at the start of the name: ``plate.-0005.exr`` is frame
−5 of ``plate.`` (how Nuke and Houdini write negative frames), while
``plate-1001.exr`` is frame 1001 of ``plate-``, never frame −1001 of ``plate``
(a dash after a name character separates, as in ``shot-v2-1001.exr``). The
same rule holds for an explicit range in a pattern (``plate-1001-1048#.exr``
is frames 1001..1048 of ``plate-``). A negative frame of a stem that ends in a
name character (``plate`` + ``-005``) therefore cannot be told from a positive
one and reads as positive; write such plates with a separator.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import logging
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from fileseq.exceptions import FileSeqException
from fileseq.frameset import FrameSet

from .errors import InputError, SourceReadError
from .exr import ExrHeader, read_header
from .types import FrameRange

__all__ = ["Sequence", "file_sha256", "open_sequence", "parse_frame_range"]

log = logging.getLogger(__name__)


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 (hex) of a regular file's bytes.

    Opened without blocking: a frame swapped for a FIFO or a device since it was
    found raises :class:`InputError` instead of hanging the job.
    """
    digest = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise InputError(f"{path}: not a regular file")
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_RANGE_RE = re.compile(r"^\s*(-?\d+)\s*(?:(?:-|:|\.\.)\s*(-?\d+)\s*)?$")
_EXR_SUFFIXES = (".exr",)
#: Errors of the machine, not of a frame: never reported as a missing/damaged frame.
_SYSTEM_ERRNOS = frozenset(
    {errno.EIO, errno.ENOMEM, errno.ENFILE, errno.EMFILE, errno.ESTALE}
)
# A minus sign: a "-" at the start of the name or after a separator; after a
# name character ("plate-1001") a "-" is a separator and belongs to the stem.
_SIGN = r"(?:(?<![^._-])-)?"
# A file on disk: stem, frame number (the digits right before the extension,
# with a sign as above) and extension. DOTALL: a name may hold a newline.
_DISK_NAME_RE = re.compile(
    rf"\A(?P<stem>.*?)(?P<frame>{_SIGN}\d+)?(?P<ext>\.[^.]+)\Z", re.S
)
# A pattern's file name: stem, optional explicit frame set (fileseq syntax), one
# frame token right before the extension. The non-greedy stem keeps "#", "@" or
# "%04d" earlier in the name as part of the stem.
_PATTERN_NAME_RE = re.compile(
    rf"\A(?P<stem>.*?)(?P<range>{_SIGN}\d[-\d,:xy]*)?"
    r"(?P<pad>#+|@+|%0?\d*d|\$F\d*)(?P<ext>\.[^.]+)\Z",
    re.S,
)


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
    def is_dpx(self) -> bool:
        """A DPX sequence (by its pattern's extension): integer code values, no
        chromaticities (:mod:`hdrpipe.exr`)."""
        return self.pattern.lower().endswith(".dpx")

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


def _is_candidate(name: str) -> bool:
    return ".partial." not in name and name.lower().endswith(_EXR_SUFFIXES)


def _is_own_temporary(name: str) -> bool:
    # hdrpipe's own temporaries and macOS AppleDouble files are never plates.
    return name.startswith((".hdrpipe-", "._"))


def _split_disk_name(name: str) -> tuple[str, str | None, str]:
    """Split ``plate.1001.exr`` into ``("plate.", "1001", ".exr")`` (frame or None)."""
    match = _DISK_NAME_RE.match(name)
    if match is None:  # no extension: the whole name is the stem
        return name, None, ""
    return match.group("stem"), match.group("frame"), match.group("ext")


def _disk_padding(numbers: list[str]) -> int:
    """Digits of frame numbers as written: the zero-padded width, else the narrowest."""
    # A minus sign counts as a digit of padding (fileseq's and Sequence.path's rule).
    padded = [len(n) for n in numbers if re.match(r"-?0\d", n)]
    return min(padded or [len(n) for n in numbers])


def _numbered(folder: Path, stem: str, numbers: list[str], ext: str) -> Sequence:
    padding = _disk_padding(numbers)
    return Sequence(
        pattern=str(folder / (stem + "#" * padding + ext)),
        frames=tuple(sorted({int(n) for n in numbers})),
        padding=padding,
    )


def _single_file(p: Path) -> Sequence:
    """One file: a one-frame sequence (its frame number if it has one, else 1)."""
    stem, number, ext = _split_disk_name(p.name)
    if number is not None and abs(int(number)) < 10**9:
        seq = _numbered(p.parent, stem, [number], ext)
        if seq.path(seq.frames[0]) == p:
            return seq
    return Sequence(pattern=str(p), frames=(1,), padding=0)


def _from_directory(folder: Path) -> Sequence:
    """The one EXR sequence (or un-numbered file) in ``folder``, by file name only."""
    try:
        names = [n for n in os.listdir(folder) if _is_candidate(n)]
    except OSError as err:
        raise InputError(f"{folder}: cannot list: {err.strerror or err}") from err
    visible = [n for n in names if not n.startswith(".")]
    # Hidden files count only when nothing else is there (a plate named ".plate").
    names = visible or [n for n in names if not _is_own_temporary(n)]
    groups: dict[tuple[str, str], list[str]] = {}
    singles: list[str] = []
    for name in names:
        stem, number, ext = _split_disk_name(name)
        if number is None:
            singles.append(name)
        else:
            groups.setdefault((stem, ext), []).append(number)
    found = [_numbered(folder, s, n, e) for (s, e), n in groups.items()]
    found += [
        Sequence(pattern=str(folder / n), frames=(1,), padding=0) for n in singles
    ]
    if not found:
        raise InputError(f"{folder}: no EXR sequence in this directory")
    if len(found) > 1:
        listed = ", ".join(sorted(repr(Path(s.pattern).name) for s in found))
        raise InputError(
            f"{folder}: {len(found)} sequences in this directory, pass one of: {listed}"
        )
    return found[0]


def _frame_numbers(listing: list[str], stem: str, ext: str) -> list[str]:
    """Frame numbers (as written) of the names ``stem`` + digits + ``ext``."""
    numbers = []
    for name in listing:
        if ".partial." in name or not name.endswith(ext):
            continue
        got_stem, number, got_ext = _split_disk_name(name)
        if number is not None and got_stem == stem and got_ext == ext:
            numbers.append(number)
    return numbers


def _pattern_padding(token: str) -> int:
    """Digits a frame token asks for; 0 for any padding (``@``, ``%d``, ``$F``)."""
    if token.startswith("#"):
        return len(token)
    digits = re.sub(r"\D", "", token)
    if token.startswith("@") or not digits:
        return 0
    return int(digits)


def _explicit_frames(text: str | None) -> tuple[int, ...] | None:
    """The frames of an explicit frame set; None if there is none or it is no set."""
    if not text:
        return None
    try:
        return tuple(sorted(int(f) for f in FrameSet(text)))
    except (FileSeqException, ValueError):
        return None


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
        return _restrict(_from_directory(p.resolve()), expected)
    if p.is_file():
        return _restrict(_single_file(p), expected)
    if p.exists():  # neither a folder nor a regular file
        raise InputError(
            f"{p}: not a regular file ({_file_kind(p.stat().st_mode)}); "
            "hdrpipe reads only regular files"
        )
    # Only the file name is parsed: a folder may be named anything, "<", "#" too.
    match = _PATTERN_NAME_RE.match(p.name)
    if match is None:
        raise InputError(
            f"{p}: no such file, and no frame token (#, @, %04d) in the name"
        )
    if not p.parent.is_dir():
        raise InputError(f"{p.parent}: no such directory")
    stem, token, ext = match.group("stem", "pad", "ext")
    explicit_frames = _explicit_frames(match.group("range"))
    if explicit_frames is None:  # "v1x####.exr": digits of the stem, not a range
        stem += match.group("range") or ""
    try:
        listing = os.listdir(p.parent)
    except OSError as err:
        raise InputError(f"{p.parent}: cannot list: {err.strerror or err}") from err
    # "a#####.exr" is stem "a" with 5 digits or stem "a#" with 4 (our own patterns
    # of a stem ending in "#"): the first split that names files on disk wins.
    cut = range(len(token)) if token.startswith("#") else range(1)
    splits = [(stem + token[:i], token[i:]) for i in cut]
    numbers: list[str] = []
    for stem, token in splits:  # noqa: B007 - the split found is used below
        numbers = _frame_numbers(listing, stem, ext)
        if numbers:
            break
    if not numbers:
        raise InputError(f"{p}: no frames found on disk")
    want_pad = _pattern_padding(token)
    seq = _numbered(p.parent.resolve(), stem, numbers, ext)
    if explicit_frames is not None:
        seq = _restrict(Sequence(seq.pattern, seq.frames, seq.padding), explicit_frames)
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
    log.debug(
        "opened %s: %d frames, %d missing",
        seq.pattern,
        len(seq.frames),
        len(seq.missing),
    )
    return _restrict(seq, expected)
