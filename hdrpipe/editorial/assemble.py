"""The assembled master of a cut, built from its pulls.

Each record frame of the cut (``cut.start`` … ``cut.end − 1``) is composed in
ACES2065-1 linear from the graded pulls (the event's CDL is already in them):

* a cut shows the event's frame: record frame ``k`` of an event shows source
  position ``source_start + k × speed`` (OTIO's ``LinearTimeWarp``; a
  ``FreezeFrame`` holds ``source_start``), moved to the media rate by the ratio
  of the timecode bases; a position between two frames is made with the
  project's retime method (``--retime``: ``nearest`` takes the earlier frame as
  OTIO does, ``blend`` mixes the two, ``flow`` interpolates motion; ``auto``
  and ``asis`` are ``nearest``);
* a dissolve over ``N`` record frames starting at ``t0`` is the cross-fade
  ``(1 − a) × outgoing + a × incoming`` with ``a = (r − t0 + 1) / (N + 1)`` —
  in linear light, so the same mix in ACEScg (a linear map of AP0);
* gaps, and events with no master under ``--force``, are black.

The frames are written as an ACES2065-1 half EXR sequence of the cut,
``OUTDIR/<cut>_aces/<cut>.####.exr`` from frame 1001 with the record timecode
in ``timeCode`` and the cut's rate in ``framesPerSecond``. Like the engine's EXR
plates, the sequence is written into a private staging folder beside its final
name (:class:`~hdrpipe.encode.exr_writer.ExrWriter` with ``whole_folder``, each
frame's header read back and checked) and renamed into place after its last
frame: a failed or killed assembly leaves nothing under ``<cut>_aces`` (a kill
leaves only a hidden ``.hdrpipe-<cut>_aces.*`` temporary), and an earlier master
replaced under ``overwrite`` stays whole until the new one is complete. The
engine makes
the job's movie deliverables from it (``OUTDIR/<cut>_<preset>.mov`` …) at the
cut's rate from its record start timecode. The sequence was validated when it
was pulled; the assembly is checked with the lenient ``nuke-comp`` profile.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections import OrderedDict
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import cast

import numpy as np
from numpy.typing import NDArray

from ..colorimetry import matrix_rgb_to_rgb
from ..encode.exr_writer import ExrWriter
from ..encode.presets import get_preset
from ..engine import EXR_FIRST_FRAME, ConformJob, Manifest, ProgressCallback, conform
from ..errors import InputError
from ..exr import read_pixels
from ..resample.retime import Method, Sample, retime_frame
from ..sequence import Sequence as ImageSequence
from ..sequence import open_sequence
from ..timecode import Timecode
from .pulls import ACES_PLATES, EditorialPlan, Pull

__all__ = [
    "Layer",
    "record_layers",
    "assemble",
    "assembly_pattern",
    "MASTER_COMPRESSION",
]

log = logging.getLogger(__name__)

#: Compression of the assembled ACES EXR: lossless PIZ (an intermediate the
#: engine reads back for the movies, accepted by ST 2065-4 revisions and tools).
MASTER_COMPRESSION = "piz"

#: One source of a record frame: (pull or None for black, source position, weight).
Layer = tuple[Pull | None, Fraction, float]


def assembly_pattern(planned: EditorialPlan, name: str) -> Path:
    """Where the assembled ACES EXR sequence of the cut goes."""
    return planned.outdir / f"{name}_aces" / f"{name}.####.exr"


def _position(pull: Pull, k: int) -> Fraction:
    """Pull frame number (from 1001, may be fractional) shown at event frame ``k``."""
    ev, m = pull.match.event, pull.match
    assert m.media is not None and m.media.tc_first is not None
    scale = Fraction(m.media.rate.timebase, ev.source_rate.timebase)
    tc = ev.source_start + (0 if ev.freeze else k * ev.speed)
    media_frame = m.media.first + tc * scale - m.media.tc_first
    return EXR_FIRST_FRAME + media_frame - pull.frames.first


def record_layers(planned: EditorialPlan) -> Iterator[list[Layer]]:
    """Per record frame of the cut, the layers to mix (empty: black)."""
    cut = planned.cut
    pulls = {p.match.event.index: p for p in planned.pulls}
    events = {e.index: e for e in cut.events}
    for r in range(cut.start, cut.end):
        layers: list[Layer] = []
        # The topmost track (the last one read) with an event at r shows it;
        # only a transition on that track mixes.
        top = next(
            (e for e in reversed(cut.events) if e.record_start <= r < e.record_end),
            None,
        )
        if top is not None:
            for t in cut.transitions:
                t0, n = t.cut - t.in_offset, t.in_offset + t.out_offset
                if t.track == top.track and n and t0 <= r < t0 + n:
                    a = (r - t0 + 1) / (n + 1)
                    for index, weight in ((t.before, 1.0 - a), (t.after, a)):
                        pull = pulls.get(index)
                        if pull is None:
                            layers.append((None, Fraction(0), weight))
                        else:
                            k = r - events[index].record_start
                            layers.append((pull, _position(pull, k), weight))
                    break
            else:
                pull = pulls.get(top.index)
                if pull is not None:
                    layers.append((pull, _position(pull, r - top.record_start), 1.0))
        yield layers


class _PullFrames:
    """Decoded ACES2065-1 frames of the pulls, a few kept for neighbours."""

    def __init__(self, planned: EditorialPlan, plates: dict[int, ImageSequence]):
        self._plates = plates
        self._cache: OrderedDict[tuple[int, int], NDArray[np.float32]] = OrderedDict()
        # Plates are the pulls' exr-aces, else their exr-acescg (see pulls).
        ap1 = any("exr-aces" not in p.job.deliver for p in planned.pulls)
        self._to_ap0 = matrix_rgb_to_rgb("ACEScg", "ACES2065-1") if ap1 else None

    def getter(self, pull: Pull) -> Callable[[int], NDArray[np.float32]]:
        index = pull.match.event.index
        seq = self._plates[index]

        def get(frame: int) -> NDArray[np.float32]:
            first, last = seq.frame_range.first, seq.frame_range.last
            held = min(max(frame, first), last)  # a blend's neighbour past the end
            key = (index, held)
            if key not in self._cache:
                px = read_pixels(seq.path(held), channels="RGB")[..., :3]
                if self._to_ap0 is not None:
                    px = (px @ self._to_ap0.T.astype(np.float32)).astype(np.float32)
                self._cache[key] = px
                while len(self._cache) > 8:
                    self._cache.popitem(last=False)
            return self._cache[key]

        return get


def _sample(position: Fraction, method: Method) -> Sample:
    lo = math.floor(position)
    t = float(position - lo)
    if t == 0 or method in ("nearest", "asis"):
        return Sample(0, (lo,), (1.0,), position)
    return Sample(0, (lo, lo + 1), (1.0 - t, t), position)


def assemble(
    planned: EditorialPlan,
    plates: dict[int, ImageSequence],
    name: str,
    movies: tuple[str, ...],
    *,
    on_progress: ProgressCallback | None = None,
    run_master: Callable[[ConformJob], Manifest] = conform,
    reuse: bool = False,
) -> tuple[Path, Manifest | None]:
    """Write the cut's ACES EXR sequence, then its movie deliverables (if any).

    ``plates`` are each pull's ACES2065-1 (or ACEScg) plate sequence by event
    index. Returns the EXR pattern and the engine's manifest of the movies,
    made by ``run_master`` (the engine's ``conform``, or a farm's). With
    ``reuse`` (a resumed run) an existing master EXR with every frame, newer
    than every plate, is kept (it was published whole).
    """
    job = planned.job
    method = cast(Method, job.retime if job.retime in ("blend", "flow") else "nearest")
    pattern = assembly_pattern(planned, name)
    frames = _PullFrames(planned, plates)
    size: tuple[int, ...] | None = None
    for seq in plates.values():
        shape = read_pixels(seq.path(seq.frames[0]), channels="RGB").shape[:2]
        if size is not None and shape != size:
            raise InputError(
                f"the pulls have different rasters ({size} and {shape}); "
                "give --reformat to assemble the cut"
            )
        size = shape
    if size is None:
        raise InputError("no event of the cut has a master: nothing to assemble")
    rate = planned.cut.rate
    total = planned.cut.end - planned.cut.start
    if reuse and _complete(pattern, total, plates):
        log.info("%s: complete from an earlier run; kept", pattern.parent)
    else:
        # A resumed run replaces a stale or partial master of its own.
        _write_master(
            planned, plates, pattern, size, method, frames, on_progress, reuse
        )
    if not movies:
        return pattern, None

    master = dataclasses.replace(
        job,
        inputs=(open_sequence(pattern),),
        deliver=movies,
        name=name,
        fps=rate,
        start_tc=Timecode(planned.cut.start, rate),
        retime="asis",
        look=None,
        frames=None,
        profile="nuke-comp",
    )
    return pattern, run_master(master)


def _complete(pattern: Path, total: int, plates: dict[int, ImageSequence]) -> bool:
    folder = pattern.parent
    if not folder.is_dir():
        return False
    files = list(folder.glob("*.exr"))
    newest_plate = max(
        (Path(seq.path(seq.frames[-1])).stat().st_mtime for seq in plates.values()),
        default=0.0,
    )
    return len(files) == total and folder.stat().st_mtime >= newest_plate


def _write_master(
    planned: EditorialPlan,
    plates: dict[int, ImageSequence],
    pattern: Path,
    size: tuple[int, ...],
    method: Method,
    frames: _PullFrames,
    on_progress: ProgressCallback | None,
    replace: bool,
) -> None:
    job = planned.job
    rate = planned.cut.rate
    total = planned.cut.end - planned.cut.start
    planned.outdir.mkdir(parents=True, exist_ok=True)
    # Staged as a whole folder and renamed into place at close (the engine's
    # EXR plates do the same): the master appears complete or not at all.
    writer = ExrWriter(
        dataclasses.replace(
            get_preset(ACES_PLATES), exr_compression=MASTER_COMPRESSION
        ),
        pattern,
        width=size[1],
        height=size[0],
        rate=rate,
        first_frame=EXR_FIRST_FRAME,
        overwrite=job.overwrite or replace,
        whole_folder=True,
    )
    try:
        for i, layers in enumerate(record_layers(planned)):
            picture = np.zeros((*size, 3), np.float32)
            for pull, position, weight in layers:
                if pull is None or weight == 0:
                    continue
                plate = plates[pull.match.event.index].frame_range
                if math.floor(position) not in plate:
                    continue  # outside the media (an out-of-range event, --force)
                sample = _sample(position, method)
                px = retime_frame(sample, frames.getter(pull), method)
                picture += np.float32(weight) * px[..., :3]
            writer.write(picture, time_code=Timecode(planned.cut.start + i, rate))
            if on_progress is not None:
                on_progress(i + 1, total)
        writer.close()
    except BaseException:
        writer.abort()
        raise
