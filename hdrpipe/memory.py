"""Memory budgets: sizes as text, the default budget, and what one EXR frame costs.

A job estimates its peak memory before it decodes a pixel and compares it with
a budget: ``--max-memory SIZE``, or by default :data:`DEFAULT_SHARE` of the
memory available when it starts (``psutil.virtual_memory().available``). The
estimates are deliberately simple sums of the buffers each stage holds
(documented where they are computed), calibrated against measured peaks; they
exist to refuse a job that cannot fit (a mistyped ``--reformat``, a ZIP-bomb
EXR whose data window decodes to gigabytes), not to predict RSS to the byte.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib
import re
import sys
from collections.abc import Iterable
from typing import Any

from .errors import InputError
from .exr import ExrHeader

__all__ = [
    "DEFAULT_SHARE",
    "BASE_BYTES",
    "parse_size",
    "format_size",
    "default_budget",
    "resolve_budget",
    "decoded_bytes",
    "frame_pixels",
    "MOVIE_BASE_BYTES",
    "ARENA_MAX",
    "LEAN_MMAP_THRESHOLD",
    "tune_allocator",
    "allocator_tuned",
    "release_free_memory",
]

#: Share of the available memory a job may plan to use by default.
DEFAULT_SHARE = 0.8
#: The interpreter with numpy, OpenImageIO and OpenColorIO loaded, before any
#: frame (measured with ``tune_allocator``: 134 MB peak RSS for a 192x108 EXR
#: conform on Linux).
BASE_BYTES = 140 * 10**6
#: What a job with a movie deliverable adds before any frame: PyAV/FFmpeg and
#: the encoder libraries (measured: 228-244 MB for a 192x108 ProRes, H.264 or
#: HEVC conform, against 134 MB for EXR).
MOVIE_BASE_BYTES = 100 * 10**6

#: glibc ``mallopt`` parameters (malloc.h) and the values :func:`tune_allocator`
#: sets: at most ``ARENA_MAX`` heaps for all threads (glibc's default: 8 per
#: core, and each decode/colour/encode thread then leaves freed frames in a
#: heap of its own); with ``lean``, also a fixed ``LEAN_MMAP_THRESHOLD``: every
#: buffer of 1 MiB and more is its own mapping, given back when freed. That
#: lowers the peak (0.1 GB at 1080p, 0.15 GB at UHD) but the kernel faults in
#: and zeroes every frame-sized buffer afresh: +71 % CPU on ProRes 4444 XQ and
#: +25 % on HEVC at 1080p (docs/memory.md), so only jobs that ask for it
#: (a ``low_memory`` preset) get it; glibc's adaptive threshold otherwise.
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
LEAN_MMAP_THRESHOLD = 2**20
ARENA_MAX = 2

_UNITS = {
    "": 1,
    "b": 1,
    "k": 10**3,
    "kb": 10**3,
    "kib": 2**10,
    "m": 10**6,
    "mb": 10**6,
    "mib": 2**20,
    "g": 10**9,
    "gb": 10**9,
    "gib": 2**30,
    "t": 10**12,
    "tb": 10**12,
    "tib": 2**40,
}
_SIZE_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-z]*)\s*$")


def parse_size(text: str | int) -> int:
    """Bytes from ``"8G"``, ``"512MiB"``, ``"1.5GB"`` or a plain number of bytes.

    Decimal units (k, M, G, T = 1000^n) and binary ones (KiB, MiB, GiB, TiB).

    >>> parse_size("2G"), parse_size("512MiB"), parse_size(1000)
    (2000000000, 536870912, 1000)
    """
    if isinstance(text, int) and not isinstance(text, bool):
        value, unit = float(text), ""
    else:
        match = _SIZE_RE.match(str(text).lower())
        if match is None or match[2] not in _UNITS:
            raise InputError(
                f"cannot parse memory size {text!r}: use e.g. 8G, 512M, 2GiB or bytes"
            )
        value, unit = float(match[1]), match[2]
    size = int(value * _UNITS[unit])
    if size <= 0:
        raise InputError(f"memory size must be positive, got {text!r}")
    return size


def format_size(size: int) -> str:
    """``1.5 GB`` style (decimal units, as ``--max-memory`` reads them)."""
    for unit, scale in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"


def default_budget() -> int:
    """:data:`DEFAULT_SHARE` of the memory available now (psutil)."""
    # psutil ships no type hints: called untyped.
    psutil: Any = importlib.import_module("psutil")
    return int(psutil.virtual_memory().available * DEFAULT_SHARE)


def resolve_budget(max_memory: str | int | None) -> tuple[int, str]:
    """The budget in bytes and where it comes from (for messages)."""
    if max_memory is None:
        return default_budget(), (
            f"{DEFAULT_SHARE:.0%} of the memory available; set it with --max-memory"
        )
    return parse_size(max_memory), "--max-memory"


def frame_pixels(header: ExrHeader) -> int:
    """Pixels a decoder allocates for a frame: data or display window, the larger."""
    width, height = header.data_size
    return max(width * height, header.width * header.height)


def decoded_bytes(header: ExrHeader, channels: Iterable[str] | None = None) -> int:
    """Bytes of one decoded frame in its stored precision (``channels``: all)."""
    wanted = None if channels is None else set(channels)
    per_pixel = sum(
        2 if ch.pixel_type == "half" else 4
        for ch in header.channels
        if wanted is None or ch.name in wanted
    )
    return frame_pixels(header) * max(per_pixel, 2)


def tune_allocator(*, lean: bool = False) -> bool:
    """Make threads share the C allocator's heaps (glibc only; else no-op).

    Sets :data:`ARENA_MAX`, and with ``lean`` :data:`LEAN_MMAP_THRESHOLD`
    (process-wide: the CLI calls it first, and again with ``lean`` for a job
    with a ``low_memory`` preset; a program using the library may). Measured
    at 1080p over 24 frames in one process (ProRes 4444 XQ / HEVC HDR10),
    peak RSS 0.55 → 0.48 GB / 1.02 → 0.90 GB at the same CPU time; lean 0.39
    / 0.79 GB for +71 % / +25 % CPU (docs/memory.md). Returns whether the
    settings were applied. Call it before starting threads.
    """
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    done = bool(mallopt(_M_ARENA_MAX, ARENA_MAX) == 1)
    if lean:
        done = bool(mallopt(_M_MMAP_THRESHOLD, LEAN_MMAP_THRESHOLD) == 1 and done)
    global _tuned
    _tuned = _tuned or done
    return done


_tuned = False
_trim: Any = None  # libc's malloc_trim once looked up; False where there is none


def release_free_memory() -> bool:
    """Give the pages of freed heap memory back to the system (glibc
    ``malloc_trim(0)``; elsewhere a no-op). Returns whether it ran.

    glibc keeps what a thread frees in its heap for the next allocation: behind
    a slow encoder, frame-sized buffers freed between live ones stay resident
    (0.2 GB of a UHD HEVC job's peak, docs/memory.md). A stage that frees one
    frame at a time (x265's writer, after each frame) calls this: the pages are
    faulted in again when reused, a few milliseconds per UHD frame, against
    seconds of encoding.
    """
    global _trim
    if _trim is None:
        _trim = False
        name = (
            ctypes.util.find_library("c") if sys.platform.startswith("linux") else None
        )
        if name is not None:
            try:
                fn = ctypes.CDLL(name).malloc_trim
            except (OSError, AttributeError):  # musl and others
                fn = None
            if fn is not None:
                fn.argtypes = (ctypes.c_size_t,)
                fn.restype = ctypes.c_int
                _trim = fn
    if _trim is False:
        return False
    _trim(0)
    return True


def allocator_tuned() -> bool:
    """True once :func:`tune_allocator` applied its settings in this process
    (a local farm's worker processes then apply them too)."""
    return _tuned
