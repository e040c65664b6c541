"""Source validation spread over the chunks: one decode per frame, judged at the stitch.

A single-process conform validates the pixels of each source frame as it
decodes it for the deliverables. A farm job does the same: the plan judges
the header checks only (every header, no pixel), each chunk validates the
frames it decodes (:class:`ChunkValidator`: a damaged frame or NaN/Inf stops
an unforced chunk at once, as in one process) and keeps their statistics in
``STATE/validation-NNNN.json``; the stitch merges every chunk's statistics
(:class:`MergedValidator`), reads the frames no chunk read, and judges every
check of the profile before any deliverable is published.

The statistics files are written by the job's own tasks into its state
directory, like the parts and records, and read back only by the stitch. The
state directory sits on shared storage, so a statistics file is data, never
code: plain JSON (arrays as little-endian float32/float64 bytes in base64 with
their shape), every field checked when read; a file that does not parse is a
:class:`~hdrpipe.errors.ConformError` naming it (rerun the chunk).
"""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import ConformError
from ..exr import ExrHeader
from ..outputs import atomic_write
from ..validation import MONOTONE_CHECKS, Report, Validator
from ..validation.footage import FootageStats
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
    return state / f"validation-{index:04d}.json"


STATS_SCHEMA = "hdrpipe.farm.validation/1"
_DTYPES: dict[str, np.dtype[Any]] = {"f4": np.dtype("<f4"), "f8": np.dtype("<f8")}
_COUNTS = (
    "pixels",
    "gamut_pixels",
    "samples",
    "nan",
    "inf",
    "negative",
    "outside_ap1",
    "outside_rec2020",
)


def save_stats(path: Path, per_shot: list[FrameRecords]) -> Path:
    """Write a chunk's statistics (one mapping per shot) atomically, as JSON."""
    doc = {
        "schema": STATS_SCHEMA,
        "shots": [
            [
                [frame, _stats_doc(stats), error]
                for frame, (stats, error) in frames.items()
            ]
            for frames in per_shot
        ],
    }
    return atomic_write(path, json.dumps(doc, separators=(",", ":")).encode())


def load_stats(path: Path) -> list[FrameRecords]:
    """Read what :func:`save_stats` wrote; anything else is a ConformError."""
    try:
        doc = json.loads(path.read_bytes())
        if not isinstance(doc, dict) or doc.get("schema") != STATS_SCHEMA:
            raise ValueError(f"schema is not {STATS_SCHEMA}")
        per_shot: list[FrameRecords] = []
        for frames in _list(doc.get("shots")):
            records: FrameRecords = {}
            for entry in _list(frames):
                frame, stats, error = _list(entry, 3)
                if not isinstance(frame, int) or isinstance(frame, bool):
                    raise ValueError(f"frame {frame!r}")
                if error is not None and not isinstance(error, str):
                    raise ValueError(f"frame {frame}: error {error!r}")
                records[frame] = (_stats(stats), error)
            per_shot.append(records)
        return per_shot
    except (OSError, ValueError, TypeError, KeyError) as err:
        raise ConformError(
            f"{path}: chunk validation statistics unreadable ({err}); run the "
            "chunk again"
        ) from err


def _stats_doc(stats: FrameStats | None) -> dict[str, Any] | None:
    if stats is None:
        return None
    doc: dict[str, Any] = {name: getattr(stats, name) for name in _COUNTS}
    doc["codes"] = {k: _array_doc(v) for k, v in stats.codes.items()}
    fs = stats.footage
    doc["footage"] = (
        None
        if fs is None
        else {
            "mean": fs.mean,
            "p50": fs.p50,
            "p99": fs.p99,
            "thumb": _array_doc(fs.thumb),
            "digest": fs.digest.hex(),
            "spectrum": None if fs.spectrum is None else _array_doc(fs.spectrum),
        }
    )
    return doc


def _stats(doc: Any) -> FrameStats | None:
    if doc is None:
        return None
    if not isinstance(doc, dict):
        raise ValueError("frame statistics must be an object")
    counts = {name: _int(doc[name], name) for name in _COUNTS}
    codes = doc["codes"]
    if not isinstance(codes, dict):
        raise ValueError("codes must be an object")
    fs = doc["footage"]
    footage = None
    if fs is not None:
        if not isinstance(fs, dict):
            raise ValueError("footage must be an object")
        spectrum = fs["spectrum"]
        footage = FootageStats(
            mean=_float(fs["mean"]),
            p50=_float(fs["p50"]),
            p99=_float(fs["p99"]),
            thumb=_array(fs["thumb"]).astype(np.float32, copy=False),
            digest=bytes.fromhex(str(fs["digest"])),
            spectrum=None if spectrum is None else _array(spectrum),
        )
    return FrameStats(
        **counts,
        codes={
            str(k): _array(v).astype(np.float64, copy=False) for k, v in codes.items()
        },
        footage=footage,
    )


def _array_doc(a: NDArray[Any]) -> dict[str, Any]:
    kind = "f4" if a.dtype == np.float32 else "f8"
    data = np.ascontiguousarray(a, dtype=_DTYPES[kind])
    return {
        "dtype": kind,
        "shape": list(data.shape),
        "data": base64.b64encode(data.tobytes()).decode("ascii"),
    }


def _array(doc: Any) -> NDArray[Any]:
    if not isinstance(doc, dict) or doc.get("dtype") not in _DTYPES:
        raise ValueError(f"array {str(doc)[:60]!r}")
    shape = tuple(_int(n, "shape") for n in _list(doc.get("shape")))
    try:
        raw = base64.b64decode(str(doc.get("data")), validate=True)
    except binascii.Error as err:
        raise ValueError(f"array data: {err}") from err
    dtype = _DTYPES[doc["dtype"]]
    if len(raw) != int(np.prod(shape, dtype=np.int64)) * dtype.itemsize:
        raise ValueError(f"array of shape {shape} has {len(raw)} bytes")
    out: NDArray[Any] = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    return out


def _list(value: Any, length: int | None = None) -> list[Any]:
    if not isinstance(value, list) or (length is not None and len(value) != length):
        raise ValueError(f"expected a list{'' if length is None else f' of {length}'}")
    return value


def _int(value: Any, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} {value!r}")
    return value


def _float(value: Any) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise ValueError(f"number {value!r}")
    return float(value)
