"""The movie container layer: remux, start timecode, sample-entry tags, verify.

One place for what a finished MOV/MP4 deliverable carries beyond its coded
frames, shared by :class:`hdrpipe.encode.video.VideoWriter` (one encode) and
:func:`hdrpipe.farm.stitch` (movie parts remuxed into one), so both make the
same file:

* :func:`set_start_timecode`: the ``tmcd`` track the MOV/MP4 muxer writes from
  the stream's ``timecode`` metadata;
* :func:`sample_entry_patch` / :func:`finish_movie`: the video sample entry's
  ``colr`` (``nclc`` in MOV, ``nclx`` in MP4), ``pasp``, ``fiel`` (ProRes),
  ``mdcv`` + ``clli`` (HDR presets) and QuickTime vendor, the HEVC SEI light
  level when it was a placeholder at open, then the read-back check of every
  tag and metadata copy against the preset (:func:`hdrpipe.encode.probe.verify`);
* :func:`remux_parts`: packet-level concatenation of independently encoded
  parts (no decode), timestamps continuing from part to part.

Sources and the reasoning per box: ``docs/container-metadata.md``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from ..errors import EncodeError, InputError
from ..timecode import Timecode
from ..types import ContentLightLevel, MasteringDisplay, Rate
from . import hevc_sei, isobmff
from .presets import DeliverySpec
from .probe import H273_MATRIX, H273_PRIMARIES, H273_TRANSFER, verify

__all__ = [
    "PRORES_VENDOR",
    "SampleEntryPatch",
    "pixel_aspect_ratio",
    "sample_entry_patch",
    "set_start_timecode",
    "finish_movie",
    "remux_parts",
]

log = logging.getLogger(__name__)

#: QuickTime vendor code of ProRes sample entries. Apple's QuickTime File Format
#: ("Video sample description", Vendor: "often ... 'appl' to indicate Apple")
#: and Apple's own ProRes movies carry 'appl'; FFmpeg's MOV muxer writes 'FFMP'
#: for every codec. The ProRes frame header's own creator code is the encoder's
#: ``vendor`` option ('apl0', set by the ProRes presets; SMPTE RDD 36 §5.1.1).
PRORES_VENDOR = b"appl"


@dataclass(frozen=True)
class SampleEntryPatch:
    """The boxes and fields the video sample entry of a deliverable gets.

    ``colr``: a whole ``colr`` box; ``extra``: whole ``pasp``/``fiel``/``mdcv``/
    ``clli`` boxes; ``vendor``: the QuickTime vendor code (MOV only).
    """

    colr: bytes
    extra: tuple[bytes, ...]
    vendor: bytes | None

    def apply(self, path: str | os.PathLike[str]) -> None:
        """Rewrite the video sample entry of the movie at ``path``."""
        isobmff.patch_video_sample_entry(
            path, colr=self.colr, extra=self.extra, vendor=self.vendor
        )


def pixel_aspect_ratio(value: float | Fraction) -> Fraction:
    """Return a pixel aspect (width / height) as the ratio ``pasp`` and the VUI carry.

    EXR stores ``pixelAspectRatio`` as a float32 (4:3 reads back 1.3333334), so
    the nearest fraction with a denominator of at most 10,000 is taken: small
    enough for the VUI's 16-bit ``sar_width``/``sar_height`` at any aspect up
    to 6.5, exact for every ratio in use (2:1, 4:3, 6:5, 1.5, 1.8...).
    """
    aspect = Fraction(value).limit_denominator(10_000)
    if aspect <= 0:
        raise InputError(f"pixel aspect must be positive, got {value}")
    return aspect


def sample_entry_patch(
    spec: DeliverySpec,
    *,
    mastering: MasteringDisplay | None,
    light_level: ContentLightLevel | None,
    pixel_aspect: Fraction = Fraction(1),
) -> SampleEntryPatch:
    """Return what the sample entry of a ``spec`` movie carries (one place for all).

    * ``colr``: QuickTime ``nclc`` in MOV (what Apple writes and reads for ProRes;
      the range is the codec's: ProRes is narrow range by definition), ISO
      ``nclx`` with ``full_range_flag`` in MP4 (ISO/IEC 14496-12:2022 §12.1.5);
    * ``pasp`` ``pixel_aspect`` (1:1 square pixels unless the plate is
      anamorphic and kept at its stored size) in every movie;
    * ``fiel`` 1/0 (progressive) for ProRes, which has no other place to say so
      in the container (H.264/H.265 say it in the bitstream);
    * ``mdcv`` + ``clli`` when the preset carries HDR metadata (``mastering`` and
      ``light_level`` then required);
    * the QuickTime vendor :data:`PRORES_VENDOR` for ProRes in MOV.
    """
    p, t, m = (
        H273_PRIMARIES[spec.primaries or ""],
        H273_TRANSFER[spec.transfer or ""],
        H273_MATRIX[spec.matrix or ""],
    )
    mov = spec.container == "mov"
    colr = (
        isobmff.colr_nclc(p, t, m)
        if mov
        else isobmff.colr_nclx(p, t, m, full_range=spec.color_range == "pc")
    )
    prores = bool(spec.codec and spec.codec.startswith("prores"))
    aspect = Fraction(pixel_aspect)
    extra = [isobmff.pasp(aspect.numerator, aspect.denominator)]
    if prores:
        extra.append(isobmff.fiel(1, 0))
    if spec.hdr_metadata:
        if mastering is None or light_level is None:
            raise EncodeError(
                f"preset {spec.name!r}: HDR metadata needs a mastering display "
                "and a light level"
            )
        extra += [isobmff.mdcv(mastering), isobmff.clli(light_level)]
    return SampleEntryPatch(
        colr=colr,
        extra=tuple(extra),
        vendor=PRORES_VENDOR if prores and mov else None,
    )


def set_start_timecode(stream: Any, start_timecode: Timecode | None) -> None:
    """Give the muxer's video ``stream`` its ``tmcd`` start timecode (if any).

    FFmpeg's MOV/MP4 muxer writes a timecode track from the stream's
    ``timecode`` metadata (``;`` before the frames for drop frame) and derives
    the track's rate from the stream's frame rate.
    """
    if start_timecode is not None:
        stream.metadata["timecode"] = str(start_timecode)


def finish_movie(
    path: Path,
    spec: DeliverySpec,
    *,
    frames: int,
    rate: Rate,
    start_timecode: Timecode | None,
    mastering: MasteringDisplay | None,
    light_level: ContentLightLevel | None,
    has_alpha: bool,
    pixel_aspect: Fraction = Fraction(1),
    patch_sei_light_level: bool = False,
) -> dict[str, Any]:
    """Tag the muxed movie at ``path`` and verify it; return the probe dict.

    The sample entry gets :func:`sample_entry_patch`; with
    ``patch_sei_light_level`` the HEVC SEI placeholder written at open is set
    to ``light_level`` (:func:`hdrpipe.encode.hevc_sei.patch_content_light_level`).
    ``mastering``/``light_level`` are used only by HDR presets. Then every tag
    is read back and compared (:func:`hdrpipe.encode.probe.verify`).

    Raises
    ------
    EncodeError
        An HDR preset without mastering display or light level, a box that
        cannot be written, or a tag read back differently.
    """
    hdr = spec.hdr_metadata
    sample_entry_patch(
        spec,
        mastering=mastering if hdr else None,
        light_level=light_level if hdr else None,
        pixel_aspect=pixel_aspect,
    ).apply(path)
    if patch_sei_light_level:
        if light_level is None:
            raise EncodeError(f"{path}: no light level for the HEVC SEI")
        patched = hevc_sei.patch_content_light_level(path, light_level)
        log.debug("%s: light level %s in %d SEI(s)", path, light_level, patched)
    return verify(
        path,
        spec,
        frames=frames,
        rate=rate,
        start_timecode=start_timecode,
        light_level=light_level if hdr else None,
        mastering=mastering if hdr else None,
        has_alpha=has_alpha,
        pixel_aspect=pixel_aspect,
    )


def _frames(value: int, time_base: Fraction, fps: Fraction, path: Path) -> int:
    """A timestamp in ``time_base`` as a whole number of frames at ``fps``."""
    frames = Fraction(value) * time_base * fps
    if frames.denominator != 1:
        raise EncodeError(
            f"{path}: timestamp {value} × {time_base} s "
            f"is not a whole frame at {fps} fps"
        )
    return int(frames)


def _time_base(stream: Any, part: Path) -> Fraction:
    if stream.time_base is None:
        raise EncodeError(f"{part}: video stream has no time base")
    return Fraction(stream.time_base)


def _reorder_delay(part: Path, fps: Fraction) -> int:
    """Frames the first decode time of ``part`` precedes its first presentation time.

    A part whose encoder reorders pictures (HEVC with B-frames) starts decoding
    ``delay`` frames before 0. Parts may differ (a one-frame tail part has
    none), and one stream needs one constant delay, or the sample durations
    (derived from decode times) would jump at a part boundary; so the stitched
    stream uses the largest delay of all parts (ISO/IEC 14496-12 §8.6.1.3: any
    ``dts <= pts`` works, the composition offsets absorb it).
    """
    try:
        with av.open(str(part)) as source:
            vs = source.streams.video[0]
            for packet in source.demux(vs):
                if packet.dts is None:
                    continue
                return max(0, -_frames(packet.dts, _time_base(vs, part), fps, part))
    except av.error.FFmpegError as err:
        raise EncodeError(f"{part}: cannot read part: {err}") from err
    raise EncodeError(f"{part}: part holds no packets")


def _stream_key(stream: Any) -> tuple[object, ...]:
    cc = stream.codec_context
    return (
        cc.name,
        cc.width,
        cc.height,
        cc.pix_fmt,
        bytes(cc.extradata or b""),
        stream.codec_tag,
    )


def remux_parts(
    parts: list[Path],
    out: Path,
    *,
    container: str,
    rate: Rate,
    start_timecode: Timecode | None,
    frames: list[int],
) -> int:
    """Copy the video packets of ``parts`` in order into ``out``; return frames written.

    Timestamps are re-based to one frame per tick (``1/rate``) and continue
    across parts; ``frames`` are the frames expected in each part. The first
    packet of every part must be a keyframe (ProRes frame / HEVC IDR). The
    parts' sample entry (``ap4x``/``apch``/``hvc1`` fourcc, ``hvcC`` parameter
    sets) is kept; ``out`` gets the ``tmcd`` ``start_timecode``. Tagging is
    :func:`finish_movie`'s.

    Raises
    ------
    EncodeError
        A part is unreadable, has another codec, size, pixel format or
        parameter sets than the first one, the wrong number of frames, does
        not start with a keyframe, or the muxer fails.
    """
    fps = rate.fps
    tick = Fraction(1) / fps
    out.unlink(missing_ok=True)
    try:
        first = av.open(str(parts[0]))
    except av.error.FFmpegError as err:
        raise EncodeError(f"{parts[0]}: cannot open part: {err}") from err
    written = 0
    try:
        delay = max(_reorder_delay(part, fps) for part in parts)
        template = first.streams.video[0]
        ref = _stream_key(template)
        output = av.open(str(out), "w", format=container)
        try:
            stream = output.add_stream_from_template(template)
            stream.codec_tag = template.codec_tag  # keep ap4x / apch / hvc1
            stream.time_base = tick
            # The MOV muxer derives the tmcd track's rate from the stream's frame rate.
            stream.codec_context.framerate = fps
            set_start_timecode(stream, start_timecode)
            last_dts: int | None = None
            for part, expected in zip(parts, frames, strict=True):
                n = 0
                with av.open(str(part)) as source:
                    vs = source.streams.video[0]
                    if _stream_key(vs) != ref:
                        raise EncodeError(
                            f"{part}: codec, size, pixel format, fourcc or "
                            "parameter sets "
                            f"differ from {parts[0]}; parts cannot be remuxed"
                        )
                    time_base = _time_base(vs, part)
                    for packet in source.demux(vs):
                        if packet.size == 0 and packet.dts is None:
                            continue  # the demuxer's end-of-stream marker
                        if packet.pts is None or packet.dts is None:
                            raise EncodeError(f"{part}: packet {n} has no timestamp")
                        if n == 0 and not packet.is_keyframe:
                            raise EncodeError(
                                f"{part}: does not start with a keyframe (IDR); "
                                "cannot cut the stream here"
                            )
                        pts = _frames(packet.pts, time_base, fps, part) + written
                        # Decode times one frame apart, behind by the largest
                        # reorder delay of any part (see _reorder_delay).
                        dts = written + n - delay
                        if dts > pts or (last_dts is not None and dts <= last_dts):
                            raise EncodeError(
                                f"{part}: packet {n}: decode time {dts} (previous "
                                f"{last_dts}) does not fit presentation time {pts}"
                            )
                        packet.pts, packet.dts = pts, dts
                        packet.time_base = tick
                        packet.duration = 1
                        packet.stream = stream
                        output.mux(packet)
                        last_dts = dts
                        n += 1
                if n != expected:
                    raise EncodeError(f"{part}: {n} frames, {expected} expected")
                written += n
        finally:
            output.close()
    except av.error.FFmpegError as err:
        out.unlink(missing_ok=True)
        raise EncodeError(f"{out}: remux failed: {err}") from err
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    finally:
        first.close()
    return written
