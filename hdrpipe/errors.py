"""The errors hdrpipe raises on purpose, and the exit code each maps to in the CLI."""

from __future__ import annotations

__all__ = [
    "HdrpipeError",
    "InputError",
    "ValidationError",
    "ColorError",
    "ConformError",
    "EncodeError",
    "HandoffError",
    "ConfigError",
    "OutputError",
    "SourceReadError",
]


class HdrpipeError(Exception):
    """Base of every error hdrpipe raises on purpose."""

    exit_code = 1


class InputError(HdrpipeError, ValueError):
    """Bad path, frame range, pattern, preset id, header or argument (exit 2)."""

    exit_code = 2


class ValidationError(HdrpipeError):
    """A source failed validation where the job required it to pass."""


class ColorError(HdrpipeError):
    """OCIO config or transform problem, or out-of-domain colour data."""


class ConfigError(ColorError, InputError):
    """An OCIO config that cannot be found or read: a usage problem (exit 2)."""

    exit_code = 2


class ConformError(HdrpipeError):
    """Frame rate, timecode, retime or reformat failure."""


class EncodeError(HdrpipeError):
    """PyAV/FFmpeg open, encode, mux, flush or verification failure."""


class HandoffError(HdrpipeError):
    """Nuke script, OTIO or editorial export failure."""


class OutputError(HdrpipeError):
    """An output cannot be written or published: disk full, read-only or
    immutable folder, permission, or a file that appeared under its final name.

    The message names the path and the system's reason (exit 1: the job ran and
    failed; an output folder that is unusable before the job starts is an
    :class:`InputError` instead).
    """


class SourceReadError(HdrpipeError):
    """A source frame could not be read for a reason outside the file: an I/O
    error (EIO), out of memory. Not a damaged frame: ``--force`` never holds
    another frame in its place (exit 1)."""
