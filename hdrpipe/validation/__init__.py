"""Validate an EXR sequence against a profile and return a :class:`Report`.

One streaming pass reads each frame once (header, then pixels) on a small
thread pool — OpenImageIO releases the GIL while decoding — and keeps only
per-frame statistics; the checks then judge those statistics. A damaged frame
is a ``readable`` failure for that frame; the pass continues. :class:`Validator`
is that pass frame by frame, for a pipeline that decodes the frames anyway.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from numpy.typing import NDArray

from ..errors import HdrpipeError, InputError, SourceReadError
from ..exr import Decoded, ExrHeader, check_decodes, decode, rgb_channels
from ..memory import decoded_bytes, format_size, resolve_budget
from ..sequence import Sequence, open_sequence
from .checks import SequenceData, identify_chromaticities
from .pixels import FrameStats, frame_stats
from .profiles import (
    CHECK_IDS,
    FOOTAGE_CHECKS,
    PROFILES,
    Profile,
    profile_for_source,
)
from .registry import CHECKS, Check, check_ids, register_check
from .report import CheckResult, Report, Status, worst
from .strips import (
    STRIP_BYTES_PER_DECODED,
    StripBudgetError,
    strip_rows,
    strip_stats,
)

__all__ = [
    "validate",
    "Validator",
    "HEADER_CHECKS",
    "MONOTONE_CHECKS",
    "Report",
    "CheckResult",
    "Status",
    "Profile",
    "PROFILES",
    "CHECK_IDS",
    "CHECKS",
    "Check",
    "register_check",
    "identify_chromaticities",
    "PREVIEW_WIDTH",
    "preview_step",
]

log = logging.getLogger(__name__)

#: At most this many frames (evenly spread) feed the ``bit_depth`` estimate.
BIT_DEPTH_FRAMES = 48
#: Bytes held while one frame is validated, per byte of the decoded frame: the
#: decoded samples, one band of OpenImageIO's read (:data:`hdrpipe.exr.READ_BAND_BYTES`)
#: and the statistics' blocks and samples. Measured: 1.03 for an 8000x8000 half
#: RGB frame with a quarter of its samples negative (3.0 when OpenImageIO's
#: whole-image read held the frame twice and the counts made whole-frame masks).
VALIDATE_BYTES_PER_DECODED = 1.2

#: At most this many frames (evenly spread) feed the ``upscale`` spectrum.
SPECTRUM_FRAMES = 8


#: Kept previews (``Validator(previews=True)``) are decimated to at most this
#: many pixels across: every ``preview_step``-th row and column, as the QC report
#: decimates the frames it reads itself.
PREVIEW_WIDTH = 384


def preview_step(width: int) -> int:
    """The row/column step that brings ``width`` pixels to ≤ :data:`PREVIEW_WIDTH`."""
    return max(math.ceil(width / PREVIEW_WIDTH), 1)


#: Checks judged from headers alone (all headers are read before any pixel).
HEADER_CHECKS = check_ids(pixels=False)
#: Pixel checks whose failure no further frame can clear (counts only grow).
MONOTONE_CHECKS = ("readable", "nonfinite", "negative")


class Validator:
    """Validate one sequence frame by frame; :meth:`report` judges it.

    This is the pass :func:`validate` runs, open to a pipeline that decodes the
    frames anyway, so one decode serves both (the conform engine)::

        v = Validator(seq, "ray3")
        v.check_headers()          # Report of the header checks (cheap, no pixels)
        decoded = v.read(1001)     # decode + statistics; None if unreadable
        v.problems()               # failures more frames cannot clear, so far
        report = v.report()        # frames not read yet are read now; all judged

    Thread-safe. A damaged frame is a ``readable`` failure of that frame, never
    an exception.

    ``previews=True`` keeps a decimated copy (:func:`preview_step`, the stored
    R, G, B of the data window) of the first, middle and last frame as they are
    read — the frames a QC contact sheet shows — so a report made right after a
    job needs not decode them again (:meth:`previews`; ~0.8 MB each at 1080p).

    ``source_space``: the OCIO colour space the source is read in, when given
    explicitly; the profile then judges the source for that space
    (:func:`~hdrpipe.validation.profiles.profile_for_source`, which also
    adapts it to DPX storage).

    Raises
    ------
    InputError
        Unknown profile, or the input does not exist / holds no sequence.
    """

    def __init__(
        self,
        seq_or_path: Sequence | str | os.PathLike[str],
        profile: str = "ray3",
        *,
        max_memory: str | int | None = None,
        previews: bool = False,
        source_space: str | None = None,
    ) -> None:
        if profile not in PROFILES:
            raise InputError(
                f"unknown profile {profile!r}: expected one of {', '.join(PROFILES)}"
            )
        if isinstance(seq_or_path, Sequence):
            self.sequence, self.input = seq_or_path, seq_or_path.pattern
        else:
            self.input = os.fspath(seq_or_path)
            self.sequence = open_sequence(self.input)
        self.profile = profile
        self._profile = profile_for_source(
            PROFILES[profile],
            source_space,
            dpx=self.sequence.is_dpx,
        )
        self._budget, self._budget_source = resolve_budget(max_memory)
        frames = self.sequence.frames
        # The bit-depth estimate pools code values over at most BIT_DEPTH_FRAMES
        # frames spread over the clip, so memory stays flat for long clips.
        step = max(-(-len(frames) // BIT_DEPTH_FRAMES), 1)
        self._bits_frames = set(frames[::step])
        step = max(-(-len(frames) // SPECTRUM_FRAMES), 1)
        self._spectrum_frames = set(frames[::step])
        self._preview_frames = (
            {frames[0], frames[len(frames) // 2], frames[-1]}
            if previews and frames
            else set()
        )
        self._previews: dict[int, tuple[int, NDArray[Any]]] = {}
        self._want_footage = any(
            self._profile.rule(c) is not None for c in FOOTAGE_CHECKS
        )
        self._headers: dict[int, ExrHeader] = {}
        self._stats: dict[int, FrameStats] = {}
        self._unreadable: dict[int, str] = {}
        self._read: set[int] = set()
        self._report: Report | None = None
        self._problems: Report | None = None
        self._generation = 0
        # Monotone checks this profile fails on (a warning cannot stop a job).
        self._fatal = {
            c
            for c in MONOTONE_CHECKS
            if (rule := self._profile.rule(c)) is not None
            and rule.get("severity", "fail") == "fail"
        }
        self._lock = threading.Lock()

    def seen(self, frame: int) -> bool:
        """True once ``frame``'s pixels were read (or found unreadable)."""
        with self._lock:
            return frame in self._read

    def unreadable(self, frame: int) -> str | None:
        """Why ``frame`` could not be read, or None."""
        with self._lock:
            return self._unreadable.get(frame)

    def check_headers(self) -> Report:
        """Read every header (no pixels) and judge the :data:`HEADER_CHECKS`."""
        self._read_headers()
        return self._judge(HEADER_CHECKS)

    def _read_headers(self) -> None:
        for frame in self.sequence.frames:
            with self._lock:
                known = frame in self._headers or frame in self._unreadable
            if known:
                continue
            try:
                header = self.sequence.header(frame)
            except SourceReadError:
                raise
            except HdrpipeError as err:
                self._record(frame, None, None, str(err), pixels=False)
                continue
            with self._lock:
                self._headers[frame] = header

    def frame_cost(self, header: ExrHeader) -> int:
        """Bytes validating a frame with this header holds at its peak."""
        return int(decoded_bytes(header) * VALIDATE_BYTES_PER_DECODED)

    def _check_budget(self, frame: int, header: ExrHeader) -> None:
        cost = self.frame_cost(header)
        if cost > self._budget:
            width, height = header.data_size
            raise InputError(
                f"{self.sequence.path(frame)}: frame {frame} decodes to "
                f"{format_size(decoded_bytes(header))} ({width}x{height} data "
                f"window, {len(header.channels)} channels); validating it needs "
                f"about {format_size(cost)}, over the memory budget "
                f"{format_size(self._budget)} ({self._budget_source}); refused "
                "before decoding"
            )

    def read(self, frame: int) -> Decoded | None:
        """Decode one frame's RGB(A), record its statistics; None if it is unreadable.

        A frame without R, G, B is only proven to decode (the ``channels``
        check's finding) and gives None too.

        Raises
        ------
        InputError
            Validating the frame would exceed the memory budget (judged from
            its header, before any pixel is decoded). :meth:`report` checks
            such a frame in strips instead.
        """
        header = self._header(frame)
        if header is None:
            return None
        self._check_budget(frame, header)
        return self._analyse(frame, header, None)

    def _read_within_budget(self, frame: int) -> None:
        """:meth:`read` for the pass of :meth:`report`: a frame over the budget
        is checked in strips of rows (:mod:`.strips`), not refused."""
        header = self._header(frame)
        if header is None:
            return
        if self.frame_cost(header) <= self._budget:
            self._analyse(frame, header, None)
            return
        rows = strip_rows(header, self._budget, STRIP_BYTES_PER_DECODED)
        log.info(
            "frame %d: validating it whole needs about %s, over the memory budget "
            "%s: checked in strips of %d row(s)",
            frame,
            format_size(self.frame_cost(header)),
            format_size(self._budget),
            rows,
        )
        self._analyse(frame, header, rows)

    def _header(self, frame: int) -> ExrHeader | None:
        """The frame's header, or None when it is unreadable (recorded as such)."""
        path = self.sequence.path(frame)
        try:
            return self.sequence.header(frame)
        except HdrpipeError as err:
            log.debug("frame %d unreadable: %s", frame, err)
            self._record(frame, None, None, str(err))
        except (OSError, RuntimeError, ValueError, MemoryError) as err:
            log.debug("frame %d unreadable: %r", frame, err)
            self._record(frame, None, None, f"{path}: {type(err).__name__}: {err}")
        return None

    def _analyse(
        self, frame: int, header: ExrHeader, strip: int | None
    ) -> Decoded | None:
        """Decode (whole, or in strips of ``strip`` rows) and record the statistics."""
        prof = self._profile
        path = self.sequence.path(frame)
        decoded = None
        wants = {
            "want_gamut": prof.rule("gamut") is not None,
            "want_bit_depth": prof.rule("bit_depth") is not None
            and frame in self._bits_frames,
            "want_footage": self._want_footage,
            "want_spectrum": prof.rule("upscale") is not None
            and frame in self._spectrum_frames,
        }
        try:
            stats = None
            rgb = rgb_channels(header.channel_names) is not None
            if strip is not None:
                stats = strip_stats(
                    path, header, strip, rgb=rgb, want_pixels=prof.needs_pixels, **wants
                )
            elif not rgb:
                check_decodes(path)
            else:
                decoded = decode(path, channels="RGBA")
                if prof.needs_pixels:
                    stats = frame_stats(decoded.stored, **wants)
        except (SourceReadError, StripBudgetError):
            raise
        except HdrpipeError as err:
            log.debug("frame %d unreadable: %s", frame, err)
            self._record(frame, None, None, str(err))
            return None
        except MemoryError as err:
            raise SourceReadError(
                f"{path}: frame {frame}: out of memory while reading it"
            ) from err
        except OSError as err:
            if err.errno is not None:  # the system failed (EIO, ENOMEM …), not the file
                raise SourceReadError(
                    f"{path}: frame {frame}: cannot read: "
                    f"{err.strerror or err} (an I/O error is no damaged frame)"
                ) from err
            log.debug("frame %d unreadable: %r", frame, err)
            self._record(frame, None, None, f"{path}: {type(err).__name__}: {err}")
            return None
        except (RuntimeError, ValueError) as err:
            # Anything a decoder raises on a damaged file is that frame's failure.
            log.debug("frame %d unreadable: %r", frame, err)
            self._record(frame, None, None, f"{path}: {type(err).__name__}: {err}")
            return None
        self._record(frame, header, stats, None)
        if decoded is not None and frame in self._preview_frames:
            step = preview_step(header.width)
            kept = decoded.stored[::step, ::step, :3].copy()
            with self._lock:
                self._previews[frame] = (step, kept)
        return decoded

    def previews(self) -> dict[int, tuple[int, NDArray[Any]]]:
        """Frame → (step, decimated stored R, G, B) of the previews kept so far."""
        with self._lock:
            return dict(self._previews)

    def _record(
        self,
        frame: int,
        header: ExrHeader | None,
        stats: FrameStats | None,
        error: str | None,
        *,
        pixels: bool = True,
    ) -> None:
        with self._lock:
            self._report = None
            if pixels:
                self._read.add(frame)
            if error is not None:
                self._unreadable[frame] = error
                self._headers.pop(frame, None)
                self._stats.pop(frame, None)
                self._stale()
                return
            assert header is not None
            if frame not in self._headers:
                self._stale()  # a header the header checks have not seen
            self._headers[frame] = header
            if stats is not None:
                self._stats[frame] = stats
                if (
                    (stats.nan or stats.inf)
                    and "nonfinite" in self._fatal
                    or (stats.negative and "negative" in self._fatal)
                ):
                    self._stale()

    def _stale(self) -> None:
        """Forget the judged problems (call with the lock held)."""
        self._problems = None
        self._generation += 1

    def problems(self) -> Report:
        """Judge what was read so far with the checks no further frame can clear.

        ``status == "fail"`` means the sequence will fail: a pipeline can stop
        now instead of after the last frame. Judged again only after a frame
        brought a new finding or header (cheap to call after every frame).
        """
        with self._lock:
            cached, generation = self._problems, self._generation
        if cached is not None:
            return cached
        report = self._judge(tuple(dict.fromkeys(HEADER_CHECKS + MONOTONE_CHECKS)))
        with self._lock:
            if generation == self._generation:  # nothing recorded meanwhile
                self._problems = report
        return report

    def report(
        self,
        *,
        on_progress: Callable[[int, int], None] | None = None,
        workers: int = 2,
    ) -> Report:
        """Read the frames not read yet (``workers`` threads), then judge every check.

        ``on_progress(done, total)`` counts all the sequence's frames.
        """
        frames = self.sequence.frames
        todo = [f for f in frames if not self.seen(f)]
        done = len(frames) - len(todo)
        if todo:
            workers = self._workers_within_budget(todo, max(int(workers), 1))
            with ThreadPoolExecutor(max_workers=workers) as pool:
                # Decoded pixels are dropped at once: only statistics are kept.
                for _ in pool.map(self._read_within_budget, todo):
                    done += 1
                    if on_progress is not None:
                        on_progress(done, len(frames))
        with self._lock:
            if self._report is not None:
                return self._report
        report = self._judge(tuple(CHECKS))
        with self._lock:
            self._report = report
        return report

    def _workers_within_budget(self, frames: list[int], workers: int) -> int:
        """Fewer decoding threads when ``workers`` frames at once exceed the budget."""
        if workers == 1:
            return 1
        self._read_headers()  # cached: the frames' headers are read anyway
        with self._lock:
            headers = [self._headers[f] for f in frames if f in self._headers]
        costs = [self.frame_cost(h) for h in headers]
        largest = max(costs, default=0)
        fit = max(1, min(workers, self._budget // max(largest, 1)))
        if fit < workers:
            log.info(
                "validating %d frame(s) at once instead of %d: frames of up to %s "
                "within the memory budget %s",
                fit,
                workers,
                format_size(largest),
                format_size(self._budget),
            )
        return int(fit)

    def _judge(self, check_ids: tuple[str, ...]) -> Report:
        with self._lock:
            data = SequenceData(
                self.sequence,
                dict(sorted(self._headers.items())),
                dict(sorted(self._unreadable.items())),
                dict(sorted(self._stats.items())),
            )
        checks: list[CheckResult] = []
        for check_id, check in CHECKS.items():
            rule = self._profile.rule(check_id)
            if rule is None or check_id not in check_ids:
                continue
            if not data.headers and check_id not in ("readable", "continuity"):
                continue  # nothing readable: no header or pixel check to judge
            checks.append(check.run(data, rule))
        rng = self.sequence.frame_range
        status: Status = worst(c.status for c in checks)
        return Report(
            status=status,
            checks=tuple(checks),
            input=self.input,
            frames={
                "first": rng.first,
                "last": rng.last,
                "count": len(self.sequence.frames),
                "missing": list(self.sequence.missing),
            },
            profile=self.profile,
        )


def validate(
    seq_or_path: Sequence | str | os.PathLike[str],
    profile: str = "ray3",
    *,
    on_progress: Callable[[int, int], None] | None = None,
    workers: int = 2,
    max_memory: str | int | None = None,
    source_space: str | None = None,
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
        Frames decoded concurrently (threads); fewer when that many of the
        largest frames would exceed the memory budget.
    max_memory
        Memory budget (``"4G"``, bytes); default a share of the memory
        available (:func:`hdrpipe.memory.default_budget`).
    source_space
        The OCIO colour space the source is read in, when given explicitly:
        the profile judges it for that space, not for AP0
        (:func:`~hdrpipe.validation.profiles.profile_for_source`).

    Raises
    ------
    InputError
        Unknown profile, the input does not exist / holds no sequence, or a
        frame of which even one row would exceed the memory budget (refused
        from its header, before decoding). A larger frame that does not fit
        whole is checked in strips of rows (:mod:`hdrpipe.validation.strips`).
    """
    return Validator(
        seq_or_path, profile, max_memory=max_memory, source_space=source_space
    ).report(on_progress=on_progress, workers=workers)
