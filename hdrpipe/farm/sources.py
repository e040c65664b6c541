"""Source validation spread over the chunks: one decode per frame, judged at the stitch.

A single-process conform validates the pixels of each source frame as it
decodes it for the deliverables. A farm job does the same: the plan judges
the header checks only (every header, no pixel), each chunk validates the
frames it decodes (:class:`ChunkValidator`: a damaged frame or NaN/Inf stops
an unforced chunk at once, as in one process) and keeps their statistics in
``STATE/validation-NNNN.pickle``; the stitch merges every chunk's statistics
(:class:`MergedValidator`), reads the frames no chunk read, and judges every
check of the profile before any deliverable is published.

The statistics files are written by the job's own tasks into its state
directory, like the parts and records, and read back only by the stitch.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from ..exr import ExrHeader
from ..outputs import atomic_write
from ..validation import MONOTONE_CHECKS, Report, Validator
from ..validation.pixels import FrameStats

__all__ = [
    "ChunkValidator",
    "MergedValidator",
    "stats_path",
    "save_stats",
    "load_stats",
]

#: Frame → (statistics, why unreadable) of the frames a chunk read. Headers
#: are not kept: the stitch reads every header anyway (the header checks).
FrameRecords = dict[int, tuple[FrameStats | None, str | None]]


class ChunkValidator(Validator):
    """Validate the frames one chunk decodes; the job is judged at the stitch.

    The header checks were judged over every header when the job was planned;
    a chunk judges only what no further frame can clear (``readable``,
    ``nonfinite``, ``negative``), over its own frames. :meth:`report` never
    reads the rest of the sequence.
    """

    def problems(self) -> Report:
        return self._judge(MONOTONE_CHECKS)

    def report(self, **_kw: Any) -> Report:
        return self.problems()

    def frames_read(self) -> FrameRecords:
        with self._lock:
            return {
                f: (self._stats.get(f), self._unreadable.get(f))
                for f in sorted(self._read)
            }


class MergedValidator(Validator):
    """A sequence's validator fed with the frames the chunks read.

    Call :meth:`check_headers` first: a frame is added with its header as read
    here; a frame whose header cannot be read here is left to :meth:`report`.
    """

    def add_frames(self, frames: FrameRecords) -> None:
        for frame, (stats, error) in frames.items():
            if error is not None:
                self._record(frame, None, None, error)
                continue
            with self._lock:
                header: ExrHeader | None = self._headers.get(frame)
            if header is not None:
                self._record(frame, header, stats, None)


def stats_path(state: Path, index: int) -> Path:
    return state / f"validation-{index:04d}.pickle"


def save_stats(path: Path, per_shot: list[FrameRecords]) -> Path:
    """Write a chunk's statistics (one mapping per shot) atomically."""
    return atomic_write(path, pickle.dumps(per_shot, protocol=pickle.HIGHEST_PROTOCOL))


def load_stats(path: Path) -> list[FrameRecords]:
    data: list[FrameRecords] = pickle.loads(path.read_bytes())  # noqa: S301 - our own state
    return data
