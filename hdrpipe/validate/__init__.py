"""Validate an EXR sequence against a profile and return a :class:`Report`.

One streaming pass reads each frame once (header, then pixels) on a small
thread pool — OpenImageIO releases the GIL while decoding — and keeps only
per-frame statistics; the checks then judge those statistics. A damaged frame
is a ``readable`` failure for that frame; the pass continues.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from ..errors import HdrpipeError, InputError
from ..exr import ExrHeader, check_decodes, read_stored, rgb_channels
from ..sequence import Sequence, open_sequence
from .checks import CHECKS, SequenceData, identify_chromaticities
from .pixels import FrameStats, frame_stats
from .profiles import CHECK_IDS, PROFILES, Profile
from .report import CheckResult, Report, Status, worst

__all__ = [
    "validate",
    "Report",
    "CheckResult",
    "Status",
    "Profile",
    "PROFILES",
    "CHECK_IDS",
    "identify_chromaticities",
]

log = logging.getLogger(__name__)

#: At most this many frames (evenly spread) feed the ``bit_depth`` estimate.
BIT_DEPTH_FRAMES = 48


def _read_frame(
    seq: Sequence, frame: int, want_pixels: bool, want_gamut: bool, want_bits: bool
) -> tuple[int, ExrHeader | None, FrameStats | None, str | None]:
    path = seq.path(frame)
    try:
        header = seq.header(frame)
        stats = None
        if rgb_channels(header.channel_names) is None or not want_pixels:
            # No R, G, B is the `channels` check's finding: only prove it decodes.
            check_decodes(path)
        else:
            stored, _ = read_stored(path, channels="RGBA")
            stats = frame_stats(stored, want_gamut=want_gamut, want_bit_depth=want_bits)
        return frame, header, stats, None
    except HdrpipeError as err:
        log.debug("frame %d unreadable: %s", frame, err)
        return frame, None, None, str(err)
    except (OSError, RuntimeError, ValueError, MemoryError) as err:
        # Anything a decoder raises on a damaged file is that frame's failure.
        log.debug("frame %d unreadable: %r", frame, err)
        return frame, None, None, f"{path}: {type(err).__name__}: {err}"


def validate(
    seq_or_path: Sequence | str | os.PathLike[str],
    profile: str = "ray3",
    *,
    on_progress: Callable[[int, int], None] | None = None,
    workers: int = 2,
) -> Report:
    """Validate a sequence (or a path/pattern) against a named profile.

    Parameters
    ----------
    seq_or_path
        An opened :class:`~hdrpipe.sequence.Sequence`, or anything
        :func:`~hdrpipe.sequence.open_sequence` accepts.
    profile
        ``"ray3"`` (default), ``"aces"`` or ``"nuke-comp"``.
    on_progress
        Called as ``on_progress(done, total)`` after each frame.
    workers
        Frames decoded concurrently (threads).

    Raises
    ------
    InputError
        Unknown profile, or the input does not exist / holds no sequence.
    """
    if profile not in PROFILES:
        raise InputError(
            f"unknown profile {profile!r}: expected one of {', '.join(PROFILES)}"
        )
    prof = PROFILES[profile]
    if isinstance(seq_or_path, Sequence):
        seq, given = seq_or_path, seq_or_path.pattern
    else:
        given = os.fspath(seq_or_path)
        seq = open_sequence(given)
    want_gamut = prof.rule("gamut") is not None
    want_bits = prof.rule("bit_depth") is not None
    want_pixels = prof.needs_pixels
    frames = seq.frames
    headers: dict[int, ExrHeader] = {}
    stats: dict[int, FrameStats] = {}
    unreadable: dict[int, str] = {}
    total = len(frames)
    # The bit-depth estimate pools code values over at most BIT_DEPTH_FRAMES
    # frames spread over the clip, so memory stays flat for long clips.
    bits_step = max(-(-len(frames) // BIT_DEPTH_FRAMES), 1)
    bits_frames = set(frames[::bits_step])
    with ThreadPoolExecutor(max_workers=max(int(workers), 1)) as pool:
        results = pool.map(
            lambda f: _read_frame(
                seq, f, want_pixels, want_gamut, want_bits and f in bits_frames
            ),
            frames,
        )
        for done, (frame, header, st, error) in enumerate(results, start=1):
            if error is not None:
                unreadable[frame] = error
            else:
                assert header is not None
                headers[frame] = header
                if st is not None:
                    stats[frame] = st
            if on_progress is not None:
                on_progress(done, total)
    data = SequenceData(seq, headers, unreadable, stats)
    checks: list[CheckResult] = []
    for check_id in CHECK_IDS:
        rule = prof.rule(check_id)
        if rule is None:
            continue
        if not headers and check_id not in ("readable", "continuity"):
            continue  # nothing readable: header and pixel checks have nothing to judge
        checks.append(CHECKS[check_id](data, rule))
    rng = seq.frame_range
    status: Status = worst(c.status for c in checks)
    return Report(
        status=status,
        checks=tuple(checks),
        input=given,
        frames={
            "first": rng.first,
            "last": rng.last,
            "count": len(frames),
            "missing": list(seq.missing),
        },
        profile=profile,
    )
