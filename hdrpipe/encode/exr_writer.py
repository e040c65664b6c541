"""EXR deliverables: ``exr-acescg`` (Nuke comp) and ``exr-aces`` (SMPTE ST 2065-4).

Frames are scene-linear float32 in the preset's target space. Each frame is
written by :func:`hdrpipe.exr.write_exr` into a private temporary folder
(:func:`hdrpipe.outputs.staging_dir`) and its header read back and checked before
the next one; nothing appears under a final name before :meth:`ExrWriter.close`.
With ``whole_folder`` the frame folder itself is the deliverable: it is staged as
a whole beside its final name and renamed into place at close, so the plate
appears complete or not at all.

ST 2065-4:2013 (ACES Image Container File Layout) requires, and we write:
scanline (not tiled) files, half-float R, G, B (A) channels, INCREASING_Y line
order, ``chromaticities`` = AP0 with the ACES white point (SMPTE ST 2065-1),
``adoptedNeutral`` = ACES white (0.32168, 0.33767), ``acesImageContainerFlag``
= 1, and no compression (the strict 2013 container); PIZ is accepted by a user
preset (``exr_compression = "piz"``), as ST 2065-4 revisions and most tools do.
``timeCode`` (SMPTE ST 12-1 packing, frame pairs above 30 fps:
:func:`hdrpipe.exr.write_exr`), ``framesPerSecond`` and ``pixelAspectRatio``
(the deliverable's pixel width / height: 1.0 for square pixels and after a
reformat, the source's value for an anamorphic plate kept at its stored size)
are written on every frame and read back; the timecodes are
:class:`~hdrpipe.timecode.Timecode` values, counted from the start timecode.
"""

from __future__ import annotations

import logging
import math
import os
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .. import exr
from ..color_targets import target_specs
from ..colorimetry import SPACES
from ..errors import ColorError, EncodeError, InputError
from ..outputs import discard, publish, staging_dir
from ..timecode import Timecode
from ..types import ContentLightLevel, Rate
from ._context import WriterContext
from .presets import DeliverySpec
from .video import EncodeResult

__all__ = [
    "ExrWriter",
    "ACES_ADOPTED_NEUTRAL",
    "target_chromaticities",
    "frame_path",
    "HALF_MAX",
]

log = logging.getLogger(__name__)

#: ACES white point, SMPTE ST 2065-1:2021 Table 1 / ST 2065-4 adoptedNeutral.
ACES_ADOPTED_NEUTRAL = SPACES["ap0"].white


def target_chromaticities(name: str) -> tuple[float, ...] | None:
    """EXR ``chromaticities`` of a delivery in target ``name``: its primaries
    (:mod:`hdrpipe.color_targets`), for scene-linear colorspace targets only
    (an EXR delivery holds linear light); ``None`` for any other target."""
    specs = target_specs()
    spec = specs.get(name)
    if spec is None or spec.kind != "colorspace" or spec.transfer != "linear":
        return None
    return spec.chromaticities


def _exr_targets() -> list[str]:
    return [n for n in target_specs() if target_chromaticities(n) is not None]


_HASHES = re.compile(r"#+")
_PRINTF = re.compile(r"%0?(\d*)d")


def frame_path(pattern: str | os.PathLike[str], frame: int) -> Path:
    """Expand a ``####`` (or ``%04d``) pattern for ``frame``, zero-padded."""
    text = str(pattern)
    if _HASHES.search(text):
        m = list(_HASHES.finditer(text))[-1]
        width = len(m.group(0))
        return Path(text[: m.start()] + f"{frame:0{width}d}" + text[m.end() :])
    m2 = list(_PRINTF.finditer(text))
    if m2:
        m = m2[-1]
        width = int(m.group(1) or 0)
        return Path(text[: m.start()] + f"{frame:0{width}d}" + text[m.end() :])
    raise InputError(
        f"{text}: EXR deliverable path needs a frame pattern such as name.####.exr"
    )


#: Largest finite half-float (IEEE 754 binary16): 65504.
HALF_MAX = float(np.finfo(np.float16).max)


def _check_half_range(a: NDArray[Any], out: Path, number: int) -> None:
    """Refuse finite samples a half EXR would store as ±Inf (an extreme look).

    Non-finite samples already in the frame come from the source (NaN/Inf,
    conformed with ``--force``; validation reported them) and pass through.
    """
    with np.errstate(invalid="ignore"):
        over = np.abs(a) > HALF_MAX
    if over.any():
        count = int(np.count_nonzero(over))
        worst = float(np.max(np.abs(a[over])))
        raise ColorError(
            f"{out}: frame {number}: {count} sample(s) beyond the half-float range "
            f"(|x| up to {worst:.4g} > {HALF_MAX:g}) would be written as ±Inf; "
            "check the look (CDL slope/power/saturation) or the source"
        )


class ExrWriter(WriterContext):
    """Write an EXR sequence deliverable; see :func:`hdrpipe.encode.open_writer`."""

    def __init__(
        self,
        spec: DeliverySpec,
        path: str | os.PathLike[str],
        *,
        width: int,
        height: int,
        rate: Rate,
        start_timecode: Timecode | None = None,
        first_frame: int = 1001,
        has_alpha: bool = False,
        overwrite: bool = False,
        whole_folder: bool = False,
        pixel_aspect: float = 1.0,
    ) -> None:
        if spec.kind != "exr":
            raise InputError(f"preset {spec.name!r} is not an EXR preset")
        chromaticities = target_chromaticities(spec.target)
        if chromaticities is None:
            raise InputError(
                f"preset {spec.name!r}: no EXR chromaticities for {spec.target!r} "
                f"(known: {', '.join(_exr_targets())})"
            )
        self.spec = spec
        self.path = Path(path)
        frame_path(self.path, first_frame)  # validates the pattern
        self.whole_folder = whole_folder
        home = self.path.parent.parent if whole_folder else self.path.parent
        if not home.is_dir():
            raise InputError(f"{home}: output directory does not exist")
        if whole_folder and os.path.lexists(self.path.parent) and not overwrite:
            raise InputError(
                f"{self.path.parent}: exists; refusing to overwrite "
                "(overwrite=True to replace)"
            )
        self.width, self.height, self.rate = width, height, rate
        if start_timecode is not None and start_timecode.rate != rate:
            raise InputError(
                f"{self.path}: start timecode {start_timecode} is at "
                f"{start_timecode.rate} fps, the sequence at {rate}"
            )
        self.start_timecode = start_timecode
        self.first_frame = first_frame
        self.has_alpha = has_alpha
        self.overwrite = overwrite
        self.chromaticities = chromaticities
        self.pixel_aspect = float(pixel_aspect)
        if not (math.isfinite(self.pixel_aspect) and self.pixel_aspect > 0):
            raise InputError(f"{self.path}: pixel aspect must be positive")
        self.attributes: dict[str, object] = {"pixelAspectRatio": self.pixel_aspect}
        # Linear AP0 is the SMPTE ST 2065-4 ACES container (its flag, ACES white).
        self.aces_container = target_specs()[spec.target].primaries == "ap0"
        if self.aces_container:
            self.attributes.update(
                acesImageContainerFlag=1, adoptedNeutral=ACES_ADOPTED_NEUTRAL
            )
        self._written: list[Path] = []  # final paths, in frame order
        self._closed = False
        self._first_header: dict[str, Any] = {}
        self._stage = staging_dir(home, self.path.parent.name)

    @property
    def frames(self) -> int:
        return len(self._written)

    def write(
        self, frame: NDArray[np.float32], *, time_code: Timecode | None = None
    ) -> None:
        """Write the next frame (H, W, 3|4) float32, scene-linear, under its number.

        ``time_code``: the frame's ``timeCode``; by default the start timecode
        plus the frames written so far (none without a start timecode).
        """
        if self._closed:
            raise EncodeError(f"{self.path}: write after close")
        number = self.first_frame + len(self._written)
        out = frame_path(self.path, number)
        staged = self._stage / out.name
        a = np.asarray(frame)
        if (
            a.ndim != 3
            or a.shape[:2] != (self.height, self.width)
            or a.shape[2] not in (3, 4)
        ):
            raise InputError(
                f"{out}: frame {number}: expected ({self.height}, {self.width}, 3|4), "
                f"got {a.shape}"
            )
        if not self.has_alpha:
            a = a[..., :3]
        elif a.shape[2] != 4:
            raise InputError(
                f"{out}: frame {number}: writer opened with alpha, frame has 3 channels"
            )
        if not self.whole_folder and os.path.lexists(out) and not self.overwrite:
            raise InputError(
                f"{out}: exists; refusing to overwrite (overwrite=True to replace)"
            )
        if (self.spec.exr_pixel_type or "half") == "half":
            _check_half_range(a, out, number)
        if time_code is None and self.start_timecode is not None:
            time_code = self.start_timecode + len(self._written)
        try:
            exr.write_exr(
                staged,
                np.ascontiguousarray(a),
                pixel_type=self.spec.exr_pixel_type or "half",
                compression=self.spec.exr_compression or "none",
                chromaticities=self.chromaticities,
                time_code=time_code,
                frames_per_second=Fraction(self.rate.fps),
                attributes=self.attributes,
            )
        except InputError as err:
            raise EncodeError(f"{out}: frame {number}: {err}") from err
        self._written.append(out)
        self._verify(staged, number, time_code, out)

    def _verify(
        self, staged: Path, number: int, time_code: Timecode | None, out: Path
    ) -> None:
        try:
            h = exr.read_header(staged)
        except InputError as err:
            raise EncodeError(
                f"{out}: frame {number}: cannot read back: {err}"
            ) from err
        bad = []
        want_ch = ("A", "B", "G", "R") if self.has_alpha else ("B", "G", "R")
        if tuple(sorted(h.channel_names)) != want_ch:
            bad.append(f"channels {h.channel_names}")
        ptype = self.spec.exr_pixel_type or "half"
        if any(c.pixel_type != ptype for c in h.channels):
            bad.append(f"pixel types {[c.pixel_type for c in h.channels]} != {ptype}")
        if h.chromaticities is None or not np.allclose(
            h.chromaticities, self.chromaticities, atol=1e-6
        ):
            bad.append(f"chromaticities {h.chromaticities} != {self.chromaticities}")
        if h.compression != (self.spec.exr_compression or "none"):
            bad.append(f"compression {h.compression} != {self.spec.exr_compression}")
        if h.tiled:
            bad.append("tiled (scanline expected)")
        if (h.width, h.height) != (self.width, self.height):
            bad.append(f"size {h.width}x{h.height}")
        if time_code is not None and (
            h.time_code != str(time_code).replace(";", ":")
            or h.attributes.get("timeCodeDropFrame") != time_code.drop_frame
        ):
            bad.append(f"timeCode {h.time_code} != {time_code}")
        if h.frames_per_second != self.rate.fps:
            bad.append(f"framesPerSecond {h.frames_per_second} != {self.rate.fps}")
        aspect = h.attributes.get("PixelAspectRatio")
        if not isinstance(aspect, float) or not math.isclose(
            aspect, self.pixel_aspect, rel_tol=1e-6
        ):
            bad.append(f"pixelAspectRatio {aspect} != {self.pixel_aspect}")
        if self.aces_container and h.aces_image_container_flag != 1:
            bad.append(f"acesImageContainerFlag {h.aces_image_container_flag}")
        if bad:
            raise EncodeError(
                f"{out}: frame {number}: EXR does not match preset {self.spec.name!r}: "
                + "; ".join(bad)
            )
        if not self._first_header:
            self._first_header = {
                "path": str(out),
                "width": h.width,
                "height": h.height,
                "channels": list(h.channel_names),
                "pixel_type": ptype,
                "compression": h.compression,
                "chromaticities": list(h.chromaticities or ()),
                "time_code": h.time_code,
                "frames_per_second": str(h.frames_per_second),
                "aces_image_container_flag": h.aces_image_container_flag,
                "pixel_aspect": self.pixel_aspect,
                "has_alpha": self.has_alpha,
            }

    def close(self, light_level: ContentLightLevel | None = None) -> EncodeResult:
        """Publish the sequence; every frame was verified as it was written.

        ``whole_folder``: the staged folder is renamed to the frame folder
        (replacing an earlier one only with ``overwrite``). Otherwise each frame
        is renamed into the existing folder.
        """
        if self._closed:
            raise EncodeError(f"{self.path}: closed twice")
        if not self._written:
            self.abort()
            raise EncodeError(f"{self.path}: no frames written")
        try:
            if self.whole_folder:
                publish(self._stage, self.path.parent, overwrite=self.overwrite)
            else:
                moved: list[Path] = []
                try:
                    for out in self._written:
                        publish(self._stage / out.name, out, overwrite=self.overwrite)
                        moved.append(out)
                except BaseException:
                    for out in moved:  # a partial sequence is no deliverable
                        out.unlink(missing_ok=True)
                    raise
                discard(self._stage)
        except BaseException:
            self.abort()
            raise
        self._closed = True
        info = dict(self._first_header)
        info.update(
            pattern=str(self.path),
            frames=len(self._written),
            first_frame=self.first_frame,
            last_frame=self.first_frame + len(self._written) - 1,
            rate=str(self.rate.fps),
            start_timecode=(
                None if self.start_timecode is None else str(self.start_timecode)
            ),
        )
        return EncodeResult(self.path, self.spec.name, len(self._written), info, None)

    def abort(self) -> None:
        """Remove the frames written so far (a partial sequence is no deliverable)."""
        if self._closed:
            return
        self._closed = True
        discard(self._stage)
        self._written.clear()
