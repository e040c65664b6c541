"""Encode: delivery presets, exact Y'CbCr, movie and EXR writers, probe/verify.

The engine opens one :class:`Writer` per deliverable with :func:`open_writer`,
feeds it frames and closes it with the measured content light level::

    spec = get_preset("prores4444xq-pq1000")
    rate = Rate(Fraction(24000, 1001))
    with open_writer(spec, "/out/sh010.mov", width=1920, height=1080,
                     rate=rate, start_timecode=Timecode.parse("01:00:00:00", rate),
                     mastering=md) as w:
        for frame in frames:          # display-encoded R'G'B'(A) float32 in [0, 1]
            w.write(frame)
        result = w.close(light_level=ContentLightLevel(1000, 180))

Nothing appears under the final name unless the file was complete and its
tags read back (MediaInfo + PyAV) exactly as the preset asks.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from ..timecode import Timecode
from ..types import ContentLightLevel, MasteringDisplay, Rate
from .container import pixel_aspect_ratio
from .exr_writer import ExrWriter
from .presets import PRESETS, DeliverySpec, get_preset, load_presets
from .probe import probe, verify
from .video import EncodeResult, VideoWriter, light_level_at_close

__all__ = [
    "Writer",
    "EncodeResult",
    "DeliverySpec",
    "PRESETS",
    "get_preset",
    "load_presets",
    "open_writer",
    "light_level_at_close",
    "probe",
    "verify",
    "VideoWriter",
    "ExrWriter",
]


@runtime_checkable
class Writer(Protocol):
    """One deliverable being written; an exception inside ``with`` aborts it."""

    path: Path

    def write(
        self, frame: NDArray[np.float32], *, time_code: Timecode | None = None
    ) -> None: ...

    def close(self, light_level: ContentLightLevel | None = None) -> EncodeResult: ...

    def abort(self) -> None: ...

    def __enter__(self) -> Writer: ...

    def __exit__(self, exc_type, exc, tb) -> None: ...  # type: ignore[no-untyped-def]


def open_writer(
    spec: DeliverySpec,
    path: str | os.PathLike[str],
    *,
    width: int,
    height: int,
    rate: Rate,
    start_timecode: Timecode | None = None,
    first_frame: int = 1001,
    has_alpha: bool = False,
    mastering: MasteringDisplay | None = None,
    light_level: ContentLightLevel | None = None,
    threads: int | None = None,
    overwrite: bool = False,
    whole_folder: bool = False,
    pixel_aspect: float = 1.0,
) -> Writer:
    """Open the writer for ``spec`` at ``path``.

    Video: ``path`` is the movie; frames are the display-encoded R'G'B'(A) signal
    (float32, [0, 1], the spec's container primaries). ``mastering`` defaults to
    the preset's (its primaries, D65, its peak); HDR presets that bake the light
    level into the stream (``spec.needs_light_level_at_open``) need
    ``light_level`` here, the others take it at :meth:`Writer.close`.
    ``threads``: this writer's share of the cores; ProRes (frame-threaded, the
    same bitstream as one thread) uses that many threads, by default
    min(cores, 4); x265 sizes its wavefront pool from it. The frame threads of
    x264/x265, which change their bits, come from the preset, never from
    ``threads`` or the machine (docs/presets.md).

    EXR: ``path`` is a pattern with ``####``; frames (scene-linear, target space)
    are numbered from ``first_frame``; per-frame ``time_code`` (or one counted
    from ``start_timecode``) goes into ``timeCode``. Timecodes are
    :class:`~hdrpipe.timecode.Timecode` values at ``rate`` (parse text once with
    :meth:`~hdrpipe.timecode.Timecode.parse`). With ``whole_folder`` the
    pattern's folder is the deliverable, made complete or not at all (it must
    not exist unless ``overwrite``); otherwise frames go into an existing folder
    at :meth:`Writer.close`. ``pixel_aspect`` (pixel width / height) is written
    as ``pixelAspectRatio`` of EXR deliverables and as the movie's ``pasp``
    box and bitstream sample aspect (VUI), as the ratio
    :func:`~hdrpipe.encode.container.pixel_aspect_ratio` gives.

    Raises
    ------
    InputError
        Final path exists (and not ``overwrite``), bad size/rate/pattern, alpha on
        a preset that cannot carry it, missing light level where required.
    EncodeError
        The encoder or container cannot be opened.
    """
    if spec.kind == "exr":
        return ExrWriter(
            spec,
            path,
            width=width,
            height=height,
            rate=rate,
            start_timecode=start_timecode,
            first_frame=first_frame,
            has_alpha=has_alpha,
            overwrite=overwrite,
            whole_folder=whole_folder,
            pixel_aspect=pixel_aspect,
        )
    return VideoWriter(
        spec,
        path,
        width=width,
        height=height,
        rate=rate,
        start_timecode=start_timecode,
        has_alpha=has_alpha,
        mastering=mastering,
        light_level=light_level,
        threads=threads,
        overwrite=overwrite,
        pixel_aspect=pixel_aspect_ratio(pixel_aspect),
    )
