"""Movie writers (PyAV): ProRes, HEVC HDR10 / HLG and H.264, with exact tags.

Frames in are the display-encoded R'G'B'(A) float32 signal in [0, 1]; we turn
them into narrow-range Y'CbCr planes ourselves (:mod:`hdrpipe.encode.ycbcr`) and
hand those to the encoder untouched (no swscale). The movie is written inside a
private temporary folder next to the final path
(:func:`hdrpipe.outputs.staging_dir`: FFmpeg opens a name no one else can plant);
:meth:`VideoWriter.close` flushes and hands the file to the container layer
(:func:`hdrpipe.encode.container.finish_movie`: the sample entry's ``colr``
nclc in MOV / nclx in MP4, ``pasp``, ``fiel`` for ProRes, ``mdcv``, ``clli``,
the QuickTime vendor, then MediaInfo/PyAV read-back of every tag and HDR
metadata copy against the preset) and only then publishes it under the final
name (:func:`hdrpipe.outputs.publish`).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from numpy.typing import NDArray

from ..color_targets import mastering_display
from ..errors import ColorError, EncodeError, InputError
from ..outputs import discard, publish, staging_dir
from ..timecode import Timecode
from ..types import ContentLightLevel, MasteringDisplay, Rate
from . import hevc_sei, ycbcr
from ._context import WriterContext
from .container import finish_movie, set_start_timecode
from .presets import DeliverySpec
from .probe import (
    H273_MATRIX,
    H273_PRIMARIES,
    H273_TRANSFER,
    MEDIAINFO_NAMES,
)

__all__ = [
    "VideoWriter",
    "PreparedFrame",
    "light_level_at_close",
    "EncodeResult",
    "default_mastering",
    "fill_frame",
    "frame_planes",
    "FRAME_THREADS",
    "X265_FRAME_THREADS",
    "X264_THREADS",
]

log = logging.getLogger(__name__)

# libavcodec/codec.h: AV_CODEC_CAP_FRAME_THREADS (the encoder codes several frames
# at once, one per thread).
_CAP_FRAME_THREADS = 1 << 12
#: Encoder threads of a frame-threaded codec (ProRes) when ``threads`` is not given.
FRAME_THREADS = 4
#: x265 frame threads when a preset does not set ``frame-threads``: the bits
#: depend on it, so it never follows the core count (x265's default does).
#: One frame thread is also the least memory (one frame being coded) and the
#: best compression; x265's wavefront pool still uses the worker's cores.
X265_FRAME_THREADS = 1
#: x264 frame threads when a preset does not set ``threads`` (same reason;
#: x264's default is 1.5 x cores).
X264_THREADS = 4


@dataclass(frozen=True)
class EncodeResult:
    """What a finished writer produced: the final path, preset id, frames written,
    the probe dict read back (movies; for EXR the header of the first frame), and
    for HDR presets the content light level and mastering display written (the
    one value every copy in the file was verified against)."""

    path: Path
    preset: str
    frames: int
    probe: dict[str, Any] = field(default_factory=dict)
    light_level: ContentLightLevel | None = None
    mastering: MasteringDisplay | None = None


def default_mastering(spec: DeliverySpec) -> MasteringDisplay:
    """Return the ST 2086 mastering display implied by ``spec`` (its primaries, D65,
    ``mastering_max_luminance``/``mastering_min_luminance``)."""
    if spec.mastering_max_luminance is None:
        raise InputError(
            f"preset {spec.name!r}: no default mastering display; pass mastering="
        )
    try:
        return mastering_display(
            spec.primaries or "",
            max_luminance=spec.mastering_max_luminance,
            min_luminance=spec.mastering_min_luminance or 0.0,
        )
    except ColorError as err:
        raise InputError(
            f"preset {spec.name!r}: no default mastering display ({err}); "
            "pass mastering="
        ) from err


def _pix_fmt(spec: DeliverySpec, has_alpha: bool) -> str:
    pix = spec.pix_fmt or ""
    if has_alpha:
        if (
            spec.chroma != "444"
            or not spec.codec
            or not spec.codec.startswith("prores")
        ):
            raise InputError(
                f"preset {spec.name!r} cannot carry alpha (ProRes 4444 only)"
            )
        if pix.startswith("yuv"):
            pix = "yuva" + pix[3:]
    return pix


def frame_planes(frame: av.VideoFrame) -> list[NDArray[Any]]:
    """Writable (height, width) views of a PyAV frame's planes (uint8 or uint16)."""
    dtype = np.uint8 if frame.format.components[0].bits <= 8 else np.uint16
    itemsize = np.dtype(dtype).itemsize
    views = []
    for plane in frame.planes:
        buf = np.frombuffer(memoryview(plane), dtype=dtype)
        buf = buf.reshape(-1, plane.line_size // itemsize)
        views.append(buf[: plane.height, : plane.width])
    return views


def fill_frame(
    planes: list[NDArray[np.uint16]], pix_fmt: str, width: int, height: int
) -> av.VideoFrame:
    """Copy Y'CbCr(A) code planes into a new PyAV frame of ``pix_fmt`` (as is)."""
    frame = av.VideoFrame(width, height, pix_fmt)
    for view, data in zip(frame_planes(frame), planes, strict=True):
        h, w = data.shape
        view[:h, :w] = data
    return frame


_MAX_REORDER = 16


def _repair_dts(
    packets: list[av.Packet[Any]], last_dts: int | None, path: Path
) -> list[av.Packet[Any]]:
    """Give the packets drained at flush a valid DTS when the encoder did not.

    libx265 through FFmpeg 8.1 returns uninitialised DTS for clips of only a
    few frames (all packets come out at flush), which the MOV muxer then
    rejects at random. Our PTS are the frame indices, so a valid decode-order
    DTS is ``sorted(pts)[i] - D`` with the smallest reorder delay ``D`` that keeps
    ``dts <= pts`` (ISO/IEC 14496-12 §8.6.1: composition time >= decode time).
    """
    if not packets:
        return packets
    pts = [p.pts for p in packets]
    dts = [p.dts for p in packets]
    if any(t is None for t in pts):
        raise EncodeError(f"{path}: encoder returned packets without PTS at flush")
    # A reorder delay cannot exceed the frames in flight (x265 allows ≤ 16 B-frames).
    lowest = min(pts) - len(packets) - _MAX_REORDER  # type: ignore[type-var, operator]
    floor = lowest - 1 if last_dts is None else last_dts
    ok = all(d is not None for d in dts) and all(
        d is not None and t is not None and floor < d <= t
        for d, t in zip(dts, pts, strict=True)
    )
    ok = ok and all(a < b for a, b in zip(dts, dts[1:], strict=False))  # type: ignore[operator]
    if ok:
        return packets
    order = sorted(pts)  # type: ignore[type-var]
    delay = max(0, *(o - t for o, t in zip(order, pts, strict=True)))  # type: ignore[operator]
    new = [o - delay for o in order]  # type: ignore[operator]
    if last_dts is not None and new[0] <= last_dts:
        raise EncodeError(f"{path}: cannot repair the encoder's DTS at flush")
    log.info("%s: encoder gave invalid DTS at flush %s; rewritten %s", path, dts, new)
    for packet, d in zip(packets, new, strict=True):
        packet.dts = d
    return packets


def light_level_at_close(spec: DeliverySpec) -> bool:
    """True when a writer of ``spec`` can take MaxCLL/MaxFALL at :meth:`close`.

    Every preset but those baking them into the stream at open with an encoder
    whose SEI hdrpipe cannot patch afterwards (x265's can: :mod:`.hevc_sei`).
    """
    return not (spec.hdr_metadata and spec.needs_light_level_at_open) or (
        spec.codec == "libx265"
    )


class VideoWriter(WriterContext):
    """Write one movie deliverable; see :func:`hdrpipe.encode.open_writer`."""

    def __init__(
        self,
        spec: DeliverySpec,
        path: str | os.PathLike[str],
        *,
        width: int,
        height: int,
        rate: Rate,
        start_timecode: Timecode | None = None,
        has_alpha: bool = False,
        mastering: MasteringDisplay | None = None,
        light_level: ContentLightLevel | None = None,
        threads: int | None = None,
        overwrite: bool = False,
        pixel_aspect: Fraction = Fraction(1),
    ) -> None:
        if spec.kind != "video":
            raise InputError(f"preset {spec.name!r} is not a video preset")
        self.spec = spec
        self.path = Path(path)
        if self.path.suffix.lower() != spec.extension:
            log.info(
                "%s: extension differs from preset %s (%s)",
                self.path,
                spec.name,
                spec.extension,
            )
        if self.path.exists() and not overwrite:
            raise InputError(
                f"{self.path}: exists; refusing to overwrite (pass overwrite=True)"
            )
        if not self.path.parent.is_dir():
            raise InputError(f"{self.path.parent}: output directory does not exist")
        if width <= 0 or height <= 0:
            raise InputError(f"{self.path}: bad frame size {width}x{height}")
        if spec.chroma in ("422", "420") and width % 2:
            raise InputError(
                f"{self.path}: {spec.chroma} needs an even width, got {width}"
            )
        if spec.chroma == "420" and height % 2:
            raise InputError(f"{self.path}: 4:2:0 needs an even height, got {height}")
        if not isinstance(rate, Rate):
            raise InputError(
                f"{self.path}: rate must be a hdrpipe.types.Rate, got {rate!r}"
            )
        self.width, self.height, self.rate = width, height, rate
        self.pixel_aspect = Fraction(pixel_aspect)
        if self.pixel_aspect <= 0:
            raise InputError(f"{self.path}: pixel aspect must be positive")
        self.has_alpha = has_alpha
        self.overwrite = overwrite
        if start_timecode is not None and start_timecode.rate != rate:
            raise InputError(
                f"{self.path}: start timecode {start_timecode} is at "
                f"{start_timecode.rate} fps, the movie at {rate}"
            )
        self.start_timecode = start_timecode
        self.mastering = mastering
        self.light_level = light_level
        if spec.hdr_metadata and self.mastering is None:
            self.mastering = default_mastering(spec)
            log.info(
                "%s: mastering display from preset %s: %s",
                self.path,
                spec.name,
                self.mastering.x265(),
            )
        # x265 writes MaxCLL/MaxFALL into its SEI at open: without them, it opens
        # with a placeholder that close() patches (hevc_sei) to the level given.
        self._patch_light_level = (
            spec.hdr_metadata and spec.needs_light_level_at_open and light_level is None
        )
        if self._patch_light_level and not light_level_at_close(spec):
            raise InputError(
                f"{self.path}: preset {spec.name!r} bakes MaxCLL/MaxFALL into "
                "the stream; "
                "measure the content first and pass light_level= at open"
            )
        if spec.chroma_location not in (None, ycbcr.CHROMA_LOCATION):
            raise InputError(
                f"preset {spec.name!r}: chroma_location {spec.chroma_location!r} "
                "unsupported; "
                f"our down-sampling implements {ycbcr.CHROMA_LOCATION!r} (type 0)"
            )
        if spec.codec not in MEDIAINFO_NAMES["codec"]:
            raise InputError(
                f"preset {spec.name!r}: encoder {spec.codec!r} unsupported "
                f"(known: {', '.join(MEDIAINFO_NAMES['codec'])})"
            )
        if spec.matrix not in ycbcr.MATRICES:
            raise InputError(
                f"preset {spec.name!r}: matrix {spec.matrix!r} unsupported "
                f"(known: {', '.join(ycbcr.MATRICES)})"
            )
        if spec.color_range != "tv":
            raise InputError(
                f"preset {spec.name!r}: only narrow ('tv') range Y'CbCr is written"
            )
        self.pix_fmt = _pix_fmt(spec, has_alpha)
        try:
            fmt = av.VideoFormat(self.pix_fmt, 4, 4)
        except ValueError as err:
            raise InputError(f"preset {spec.name!r}: pix_fmt: {err}") from err
        chroma_size = {"444": (4, 4), "422": (2, 4), "420": (2, 2)}[spec.chroma or ""]
        c1 = fmt.components[1]
        if (
            fmt.components[0].bits != spec.bit_depth
            or (c1.width, c1.height) != chroma_size
        ):
            raise InputError(
                f"preset {spec.name!r}: pix_fmt {self.pix_fmt} does not hold "
                f"{spec.bit_depth}-bit {spec.chroma}"
            )
        self._stage = staging_dir(self.path.parent, self.path.name)
        self._tmp = self._stage / f"movie{spec.extension}"
        self._threads = threads
        self._frames = 0
        self._last_dts: int | None = None
        self._closed = False
        self._container: Any = None
        self._open(threads)

    # -- setup -------------------------------------------------------------------
    def _codec_options(self) -> dict[str, str]:
        spec = self.spec
        opts = dict(spec.options)
        if spec.chroma != "444":
            # Signals the siting of our filter (type 0). x264 writes chroma_loc_info
            # only for non-zero types; absent means type 0 (H.264 Annex E.2.1).
            # ProRes has no siting field (its 4:2:2 is conventionally co-sited).
            opts["chroma_sample_location"] = ycbcr.CHROMA_LOCATION
        if spec.codec == "prores_ks" and spec.profile:
            opts["profile"] = spec.profile
        if spec.codec == "libx265":
            params = [p for p in opts.pop("x265-params", "").split(":") if p]
            # x265 prints its log on stderr itself (not through FFmpeg's log):
            # silenced, so a library never prints; its errors reach us as
            # FFmpeg's open error.
            params = [p for p in params if not p.startswith("log-level=")]
            params.append("log-level=none")
            if spec.profile:
                opts.setdefault("profile", spec.profile)
            if spec.hdr_metadata and spec.transfer == "smpte2084":
                # HDR10 SEI (H.265 D.2.28 mastering display, D.2.35 content light
                # level) in every IRAP; HLG carries the container boxes only.
                assert self.mastering is not None
                params += [
                    "hdr10=1",
                    "repeat-headers=1",
                    f"master-display={self.mastering.x265()}",
                ]
                baked = (
                    self.light_level
                    if self.light_level is not None
                    else hevc_sei.PLACEHOLDER
                )
                params.append(f"max-cll={baked.max_cll},{baked.max_fall}")
            if spec.chroma == "420":
                # H.265 Annex E chroma_sample_loc_type 0: the siting our filter uses.
                params.append("chromaloc=0")
            cap = spec.bitrate_ceiling(self.width, self.height, self.rate.fps)
            if cap is not None:  # VBV: x265 then signals a level/tier that admits it
                kbps = max(1, int(cap // 1000))
                params += [f"vbv-maxrate={kbps}", f"vbv-bufsize={kbps}"]
            # Bits depend on the frame threads (and x265 derives them from its
            # pool, i.e. from the machine): fixed here unless the preset says.
            # The pool (wavefront rows, motion search, look-ahead costs) gives the
            # same bits for any size, so it follows the worker's share of cores.
            if not any(p.startswith("frame-threads=") for p in params):
                params.append(f"frame-threads={X265_FRAME_THREADS}")
            if self._threads:
                params.append(f"pools={self._threads}")
            # x265's settings SEI (user data) lists the pool ("numa-pools=N"):
            # left out, so the file is the same for any share of cores. The
            # settings are the preset's, recorded in the job's manifest.
            params.append("info=0")
            opts["x265-params"] = ":".join(params)
        if spec.codec == "libx264":
            if spec.profile:
                opts.setdefault("profile", spec.profile)
            # Constant rate: x264 then sets fixed_frame_rate_flag in the VUI timing
            # info (H.264 E.2.1), which QC tools and broadcast decoders read as CFR
            # (x264 writes 0 for FFmpeg's default variable-rate input).
            params = [p for p in opts.pop("x264-params", "").split(":") if p]
            if not any(p.startswith("force-cfr=") for p in params):
                params.append("force-cfr=1")
            # x264's frame threads change its bits: fixed, never the core count
            # (AVCodecContext.thread_count is not set for libx264, see _open).
            if not any(p.startswith("threads=") for p in params):
                params.append(f"threads={X264_THREADS}")
            opts["x264-params"] = ":".join(params)
        return opts

    def _open(self, threads: int | None) -> None:
        # FFmpeg's log stays off (PyAV's default, av.logging level None): a
        # Python log callback takes the GIL from the encoder's own threads, and
        # freeing a codec context (which joins them) with the GIL held then
        # deadlocks (PyAV issues 751, 909; seen here in the test suite). x265
        # logs by itself and is silenced in _codec_options; errors still raise.
        spec = self.spec
        try:
            self._container = av.open(str(self._tmp), "w", format=spec.container)
            stream = self._container.add_stream(spec.codec, rate=self.rate.fps)
            stream.width = self.width
            stream.height = self.height
            stream.pix_fmt = self.pix_fmt
            stream.time_base = Fraction(1, 1) / self.rate.fps
            cc = stream.codec_context
            cc.framerate = self.rate.fps
            cc.color_primaries = H273_PRIMARIES[spec.primaries or ""]
            cc.color_trc = H273_TRANSFER[spec.transfer or ""]
            cc.colorspace = H273_MATRIX[spec.matrix or ""]
            cc.color_range = 1  # AVCOL_RANGE_MPEG: narrow range (checked at open)
            # The bitstream's own aspect (H.264/H.265 VUI aspect_ratio_idc) agrees
            # with the pasp box written at close.
            cc.sample_aspect_ratio = self.pixel_aspect
            if spec.codec == "prores_aw" and spec.profile:
                cc.profile = {
                    "4444xq": "XQ",
                    "4444": "4444",
                    "hq": "HQ",
                    "standard": "Standard",
                    "lt": "LT",
                    "proxy": "Proxy",
                }[spec.profile]
            if spec.codec == "libx265":
                stream.codec_tag = "hvc1"
            if cc.codec.capabilities & _CAP_FRAME_THREADS:
                # ProRes: every frame is coded on its own, so frame threads give
                # the same bitstream; PyAV's default (slice threading) leaves
                # prores_aw on one thread and makes it the stream's serial stage.
                # Measured on 2 cores (auto colour path, 1080p): cores busy 1.76 →
                # 1.96, +8-14 % fps (prores_ks: 4.4 → 5.2 fps). Each frame is a new
                # AVFrame (write()), so the encoder may keep it while we go on.
                # Each thread holds a frame in flight (4:4:4 10-bit: 12 MB at 1080p,
                # 50 MB at UHD): at most FRAME_THREADS, which outpace the colour
                # stage on any core count.
                cc.thread_type = "FRAME"
                cc.thread_count = threads or min(
                    len(os.sched_getaffinity(0)), FRAME_THREADS
                )
            elif threads and spec.codec not in ("libx265", "libx264"):
                # (libx265 and libx264 take thread_count as their frame-thread
                # count, which changes their output: fixed in _codec_options,
                # x265's pool sized there from ``threads``.)
                cc.thread_count = threads
            stream.options = self._codec_options()
            set_start_timecode(stream, self.start_timecode)
            self._stream = stream
        except (av.error.FFmpegError, KeyError, ValueError) as err:
            self._discard()
            raise EncodeError(
                f"{self.path}: cannot open {spec.codec} ({spec.name}): {err}"
            ) from err
        log.debug(
            "%s: opened %s %s %s",
            self._tmp,
            spec.codec,
            self.pix_fmt,
            self._codec_options(),
        )

    # -- writing -------------------------------------------------------------------
    def planes(
        self,
        frame: NDArray[np.float32],
        out: list[NDArray[Any]] | None = None,
    ) -> list[NDArray[Any]]:
        """Convert one R'G'B'(A) frame into the code planes the encoder takes.

        ``out``: planes to write into (e.g. :func:`frame_planes` of the frame the
        encoder will take), else new uint16 arrays.
        """
        spec = self.spec
        y, cb, cr = ycbcr.rgb_to_ycbcr(
            frame,
            matrix=spec.matrix,  # type: ignore[arg-type]  # checked at open
            bit_depth=spec.bit_depth,
            chroma=spec.chroma,  # type: ignore[arg-type]
            out=None if out is None else (out[0], out[1], out[2]),
        )
        planes = [y, cb, cr]
        if self.has_alpha:
            alpha = ycbcr.quantise_alpha(frame[..., 3], spec.bit_depth)
            if out is not None:
                out[3][...] = alpha
                alpha = out[3]
            planes.append(alpha)
        return planes

    def write(
        self, frame: NDArray[np.float32], *, time_code: Timecode | None = None
    ) -> None:
        """Encode one frame (H, W, 3|4) float32 display-encoded R'G'B'(A) in [0, 1].

        ``time_code`` is accepted for the Writer protocol; a movie carries only the
        start timecode (``tmcd``) and frames are contiguous. Same as
        ``write_prepared(prepare(frame))``.
        """
        self.write_prepared(self.prepare(frame))

    def prepare(self, frame: NDArray[np.float32]) -> av.VideoFrame:
        """Check one R'G'B'(A) frame and convert it into the encoder's frame.

        The result holds the Y'CbCr code planes only (a quarter of the float32
        frame at 4:2:0 10-bit): a caller that queues frames for a slow encoder
        (:meth:`write_prepared` on another thread) queues these, and can drop
        the float32 frame at once. Thread-safe (no encoder state). Same as
        ``begin_frame()``, one band of the whole frame, ``finish()``.
        """
        n = self._frames
        a = np.asarray(frame)
        if a.dtype != np.float32:
            raise InputError(f"{self.path}: frame {n}: expected float32, got {a.dtype}")
        if (
            a.ndim != 3
            or a.shape[:2] != (self.height, self.width)
            or a.shape[2] not in (3, 4)
        ):
            raise InputError(
                f"{self.path}: frame {n}: expected ({self.height}, {self.width}, 3|4), "
                f"got {a.shape}"
            )
        prepared = self.begin_frame()
        prepared.band(0, a)
        return prepared.finish()

    def begin_frame(self) -> PreparedFrame:
        """An encoder frame to fill band of rows by band (:class:`PreparedFrame`).

        For a caller that has the R'G'B'(A) signal a band at a time (the colour
        stage's strips): no float32 frame need ever exist. Thread-safe.
        """
        if self._closed:
            raise EncodeError(f"{self.path}: write after close")
        try:
            vf = av.VideoFrame(self.width, self.height, self.pix_fmt)
        except (av.error.FFmpegError, ValueError) as err:
            raise EncodeError(f"{self.path}: frame {self._frames}: {err}") from err
        return PreparedFrame(self, vf)

    def write_prepared(self, vf: av.VideoFrame) -> None:
        """Encode one frame made by :meth:`prepare` (on any thread), in order."""
        if self._closed:
            raise EncodeError(f"{self.path}: write after close")
        self._encode(vf)

    def write_planes(self, planes: list[NDArray[np.uint16]]) -> None:
        """Encode one frame given as ready code planes (Y, Cb, Cr[, A])."""
        try:
            vf = fill_frame(planes, self.pix_fmt, self.width, self.height)
        except (av.error.FFmpegError, ValueError) as err:
            raise EncodeError(f"{self.path}: frame {self._frames}: {err}") from err
        self._encode(vf)

    def _encode(self, vf: av.VideoFrame) -> None:
        n = self._frames
        try:
            vf.pts = n
            # ProRes (both encoders) writes the *frame's* colour properties into its
            # frame header (Apple ProRes RDD 36 §5.1.1): set them on every frame.
            cc = self._stream.codec_context
            vf.color_primaries = cc.color_primaries
            vf.color_trc = cc.color_trc
            vf.colorspace = cc.colorspace
            vf.color_range = cc.color_range
            for packet in self._stream.encode(vf):
                self._mux(packet)
        except (av.error.FFmpegError, ValueError) as err:
            raise EncodeError(
                f"{self.path}: frame {n}: {self.spec.codec} encode failed: {err}"
            ) from err
        self._frames += 1

    # -- finishing ----------------------------------------------------------------
    def close(self, light_level: ContentLightLevel | None = None) -> EncodeResult:
        """Flush, mux, patch colour boxes, verify against the preset, rename."""
        if self._closed:
            raise EncodeError(f"{self.path}: closed twice")
        spec = self.spec
        level = light_level if light_level is not None else self.light_level
        try:
            if self._frames == 0:
                raise EncodeError(f"{self.path}: no frames written")
            if spec.hdr_metadata and level is None:
                raise EncodeError(
                    f"{self.path}: preset {spec.name!r} needs MaxCLL/MaxFALL: "
                    "pass light_level to close()"
                )
            if (
                spec.hdr_metadata
                and spec.needs_light_level_at_open
                and self.light_level is not None
                and level != self.light_level
            ):
                raise EncodeError(
                    f"{self.path}: light level at close {level} differs from the one "
                    "baked into "
                    f"the stream at open {self.light_level}"
                )
            try:
                tail = list(self._stream.encode(None))
                for packet in _repair_dts(tail, self._last_dts, self.path):
                    self._mux(packet)
                self._container.close()
            except av.error.FFmpegError as err:
                raise EncodeError(f"{self.path}: flush/mux failed: {err}") from err
            self._container = None
            info = finish_movie(
                self._tmp,
                spec,
                frames=self._frames,
                rate=self.rate,
                start_timecode=self.start_timecode,
                mastering=self.mastering,
                light_level=level,
                has_alpha=self.has_alpha,
                pixel_aspect=self.pixel_aspect,
                patch_sei_light_level=self._patch_light_level,
            )
            publish(self._tmp, self.path, overwrite=self.overwrite)
            discard(self._stage)
        except BaseException:
            self.abort()
            raise
        self._closed = True
        info["path"] = str(self.path)
        log.info("%s: %d frames, %s verified", self.path, self._frames, spec.name)
        return EncodeResult(
            self.path,
            spec.name,
            self._frames,
            info,
            level if spec.hdr_metadata else None,
            self.mastering if spec.hdr_metadata else None,
        )

    def _mux(self, packet: av.Packet[Any]) -> None:
        pts, dts = packet.pts, packet.dts
        if (
            pts is None
            or dts is None
            or not pts - self._frames - _MAX_REORDER <= dts <= pts
            or (self._last_dts is not None and dts <= self._last_dts)
        ):
            raise EncodeError(
                f"{self.path}: {self.spec.codec} returned a packet with invalid "
                f"timestamps (pts {pts}, dts {dts}, previous dts {self._last_dts})"
            )
        packet.duration = 1  # one frame, in the codec time base (1/rate)
        self._container.mux(packet)  # rescales the packet to the stream time base
        self._last_dts = dts

    def _discard(self) -> None:
        if self._container is not None:
            try:
                self._container.close()
            except (av.error.FFmpegError, OSError) as err:
                log.debug("%s: close during abort: %s", self._tmp, err)
            self._container = None
        discard(self._stage)

    def abort(self) -> None:
        """Stop and remove the temporary file; the final path is never touched."""
        self._closed = True
        self._discard()

    @property
    def frames(self) -> int:
        """Frames written so far."""
        return self._frames


class PreparedFrame:
    """One encoder frame of a :class:`VideoWriter`, converted band by band.

    :meth:`band` converts rows of the R'G'B'(A) signal straight into the
    frame's Y'CbCr(A) planes (:class:`~hdrpipe.encode.ycbcr.BandConverter`:
    the codes of the whole-frame conversion, to the bit); bands may come in
    any order and from several threads, and cover the frame once. Then
    :meth:`finish` gives the frame for :meth:`VideoWriter.write_prepared`.
    """

    def __init__(self, writer: VideoWriter, vf: av.VideoFrame) -> None:
        spec = writer.spec
        planes = frame_planes(vf)
        self._writer = writer
        self._frame = vf
        self._alpha = planes[3] if writer.has_alpha else None
        self._bit_depth = spec.bit_depth
        self._converter = ycbcr.BandConverter(
            writer.height,
            writer.width,
            matrix=spec.matrix,  # type: ignore[arg-type]  # checked at open
            bit_depth=spec.bit_depth,
            chroma=spec.chroma,  # type: ignore[arg-type]
            out=(planes[0], planes[1], planes[2]),
        )

    def band(self, first: int, rows: NDArray[np.float32]) -> None:
        """Convert rows ``first`` … ``first + len(rows)`` ((n, W, 3|4) float32)."""
        if self._alpha is not None:
            if rows.ndim != 3 or rows.shape[-1] != 4:
                raise InputError(
                    f"{self._writer.path}: frame {self._writer.frames}: writer has "
                    "alpha, frame has 3 channels"
                )
            end = first + rows.shape[0]
            self._alpha[first:end] = ycbcr.quantise_alpha(rows[..., 3], self._bit_depth)
        try:
            self._converter.band(first, rows)
        except ValueError as err:
            raise InputError(
                f"{self._writer.path}: frame {self._writer.frames}: {err}"
            ) from err

    def finish(self) -> av.VideoFrame:
        """The filled frame (every band given)."""
        try:
            self._converter.finish()
        except ValueError as err:
            raise InputError(
                f"{self._writer.path}: frame {self._writer.frames}: {err}"
            ) from err
        return self._frame
