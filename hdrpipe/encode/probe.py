"""Read a deliverable back (MediaInfo, PyAV, our box reader); verify it vs its preset.

MediaInfo (pymediainfo) is the independent reader the tags are judged by; PyAV
gives the exact rate (a ``Fraction``), frame count and pixel format; the ISO BMFF
reader gives the exact integers of ``colr``/``mdcv``/``clli``; for HEVC,
:func:`hdrpipe.encode.hevc_sei.read_hdr_sei` gives every copy of the HDR10 SEI
(in band in each sample, and in the ``hvcC`` arrays).

One truth: :func:`verify` requires every copy of the light level (``clli``,
in-band SEI of every IRAP sample, ``hvcC`` SEI, MediaInfo) and of the mastering
display (``mdcv``, SEIs, MediaInfo) to equal the one value the writer was given.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from pymediainfo import MediaInfo

from .. import colorimetry, exr
from ..color_targets import MASTERING_PRIMARIES
from ..errors import EncodeError, InputError
from ..timecode import Timecode
from ..types import ContentLightLevel, MasteringDisplay, Rate
from . import hevc_sei, isobmff
from .presets import DeliverySpec

__all__ = [
    "probe",
    "verify",
    "tag_lint",
    "H273_PRIMARIES",
    "H273_TRANSFER",
    "H273_MATRIX",
    "MEDIAINFO_NAMES",
    "NAMED_PRIMARIES",
    "expected_tags",
    "expected_colr",
]

log = logging.getLogger(__name__)

# FFmpeg names → ITU-T H.273 (2016) code points (Tables 2, 3 and 4) and how
# MediaInfo names them: the colour vocabulary's (hdrpipe.colorimetry) views.
H273_PRIMARIES = colorimetry.H273_PRIMARIES
H273_TRANSFER = colorimetry.H273_TRANSFER
H273_MATRIX = colorimetry.H273_MATRIX

# How MediaInfo names those code points (and ProRes/HEVC/AVC profiles).
MEDIAINFO_NAMES: dict[str, Mapping[str, str]] = {
    "primaries": colorimetry.MEDIAINFO_PRIMARIES,
    "transfer": colorimetry.MEDIAINFO_TRANSFER,
    "matrix": colorimetry.MEDIAINFO_MATRIX,
    "range": {"tv": "Limited", "pc": "Full"},
    "codec": {
        "prores_ks": "ProRes",
        "prores_aw": "ProRes",
        "libx265": "HEVC",
        "libx264": "AVC",
    },
}
_PRORES_PROFILE = {
    "4444xq": ("4444 XQ", "ap4x"),
    "4444": ("4444", "ap4h"),
    "hq": ("422 HQ", "apch"),
    "standard": ("422", "apcn"),
    "lt": ("422 LT", "apcs"),
    "proxy": ("422 Proxy", "apco"),
}
_VIDEO_PROFILE = {
    "main10": "Main 10",
    "main": "Main",
    "high": "High",
    "high10": "High 10",
}

# MediaInfo name → CIE 1931 xy (with white) of the primaries a mastering display
# may have (hdrpipe.color_targets.MASTERING_PRIMARIES, published values).
NAMED_PRIMARIES: dict[str, tuple[tuple[float, float], ...]] = {
    str(colorimetry.SPACES[n].mediainfo): colorimetry.SPACES[n].xy
    for n in MASTERING_PRIMARIES
}


# MediaInfo keys whose container and bitstream copies must agree, and the key of
# the (container) value each is reported under.
_MEDIAINFO_VALUE = {
    "colour_primaries": "color_primaries",
    "transfer_characteristics": "transfer_characteristics",
    "matrix_coefficients": "matrix_coefficients",
    "colour_range": "color_range",
    "maxcll": "maximum_content_light_level",
    "maxfall": "maximum_frameaverage_light_level",
    "masteringdisplay_colorprimaries": "mastering_display_color_primaries",
    "masteringdisplay_luminance": "mastering_display_luminance",
}


def _conflicts(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Colour/HDR values MediaInfo read differently from container and bitstream.

    MediaInfo reads them from the container (``colr``, ``mdcv``, ``clli``) and
    from the bitstream (VUI, SEI, ProRes frame header); when the two differ it
    reports the container's and keeps the stream's as ``<key>_original``.
    """
    out: dict[str, dict[str, Any]] = {}
    for key, value in sorted(data.items()):
        base = key.removesuffix("_original")
        if base == key or base not in _MEDIAINFO_VALUE:
            continue
        container = data.get(_MEDIAINFO_VALUE[base])
        # "HLG / HLG": MediaInfo joins the VUI value and the alternative transfer
        # characteristics SEI (H.265 D.2.38); only a different value disagrees.
        if set(str(value).split(" / ")) != {container}:
            out[base] = {"container": container, "stream": value}
    return out


def _first(track: Any, *names: str) -> Any:
    for n in names:
        v = getattr(track, n, None)
        if v not in (None, ""):
            return v
    return None


def _int_prefix(text: Any) -> int | None:
    if text is None:
        return None
    m = re.match(r"\s*(\d+)", str(text))
    return int(m.group(1)) if m else None


def _luminance(text: str | None) -> tuple[float | None, float | None]:
    if not text:
        return None, None
    lo = re.search(r"min:\s*([\d.]+)", text)
    hi = re.search(r"max:\s*([\d.]+)", text)
    return (float(lo.group(1)) if lo else None, float(hi.group(1)) if hi else None)


def _timecode_from_av(container: av.container.InputContainer) -> str | None:
    for s in container.streams:
        tc = s.metadata.get("timecode")
        if tc:
            return str(tc)
    tc = container.metadata.get("timecode")
    return str(tc) if tc else None


def probe(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Describe a movie deliverable as a JSON-friendly dict.

    Keys: ``path``, ``container``, ``codec``, ``codec_id``, ``profile``, ``bit_depth``,
    ``chroma``, ``chroma_location``, ``primaries``, ``transfer``, ``matrix``, ``range``,
    ``hdr_format``, ``mastering_display`` (``primaries``, ``min_luminance``,
    ``max_luminance`` in cd/m²), ``max_cll``, ``max_fall`` (cd/m²), ``frames``,
    ``rate`` (``"24000/1001"``), ``start_timecode``, ``duration`` (seconds, exact
    fraction as text), ``width``, ``height``, ``has_alpha``, ``pix_fmt`` and
    ``boxes`` (decoded ``colr``/``mdcv``/``clli`` of the video sample entry).
    Values named like MediaInfo's come from MediaInfo.

    Raises
    ------
    InputError
        The file does not exist.
    EncodeError
        The file has no video track or cannot be read.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such file")
    if p.suffix.lower() == ".exr":
        return _probe_exr(p)
    try:
        info = MediaInfo.parse(str(p))
    except (OSError, RuntimeError) as err:
        raise EncodeError(f"{p}: MediaInfo cannot read the file: {err}") from err
    general = next((t for t in info.tracks if t.track_type == "General"), None)
    video = next((t for t in info.tracks if t.track_type == "Video"), None)
    other = [t for t in info.tracks if t.track_type == "Other"]
    if video is None:
        raise EncodeError(f"{p}: no video track")
    out: dict[str, Any] = {
        "path": str(p),
        "container": _first(general, "format") if general else None,
    }
    out["codec"] = video.format
    out["codec_id"] = video.codec_id
    out["profile"] = video.format_profile
    out["bit_depth"] = _int_prefix(video.bit_depth)
    out["chroma"] = video.chroma_subsampling
    out["chroma_location"] = _first(video, "chromasubsampling_position")
    out["primaries"] = _first(video, "color_primaries", "colour_primaries")
    out["transfer"] = video.transfer_characteristics
    out["matrix"] = video.matrix_coefficients
    out["range"] = _first(video, "color_range", "colour_range")
    out["hdr_format"] = video.hdr_format
    md_prim = _first(
        video, "mastering_display_color_primaries", "mastering_display_colour_primaries"
    )
    lo, hi = _luminance(_first(video, "mastering_display_luminance"))
    out["mastering_display"] = (
        {"primaries": md_prim, "min_luminance": lo, "max_luminance": hi}
        if md_prim or hi
        else None
    )
    out["max_cll"] = _int_prefix(_first(video, "maximum_content_light_level"))
    out["max_fall"] = _int_prefix(_first(video, "maximum_frameaverage_light_level"))
    out["container_stream_conflicts"] = _conflicts(video.to_data())
    out["width"] = _int_prefix(video.width)
    out["height"] = _int_prefix(video.height)
    mi_tc = next(
        (t.time_code_of_first_frame for t in other if t.time_code_of_first_frame), None
    )

    try:
        with av.open(str(p)) as container:
            vs = container.streams.video[0]
            rate = vs.average_rate or vs.guessed_rate
            out["rate"] = str(Fraction(rate)) if rate else None
            out["frames"] = (
                int(vs.frames) if vs.frames else _int_prefix(video.frame_count)
            )
            if vs.duration is not None and vs.time_base is not None:
                out["duration"] = str(Fraction(vs.duration) * Fraction(vs.time_base))
            else:
                out["duration"] = None
            pix = vs.codec_context.pix_fmt or (vs.format.name if vs.format else None)
            out["pix_fmt"] = pix
            out["has_alpha"] = bool(
                pix and pix.startswith(("yuva", "rgba", "gbrap", "argb", "bgra"))
            )
            if out["bit_depth"] is None and vs.format is not None:
                out["bit_depth"] = max(c.bits for c in vs.format.components)
            out["start_timecode"] = mi_tc or _timecode_from_av(container)
    except av.error.FFmpegError as err:
        raise EncodeError(f"{p}: PyAV cannot open the file: {err}") from err
    if out["frames"] is None:
        out["frames"] = _int_prefix(video.frame_count)
    try:
        out["boxes"] = isobmff.read_colour_boxes(p)
    except EncodeError as err:
        log.info("%s: no ISO BMFF colour boxes read: %s", p, err)
        out["boxes"] = None
    out["hevc_sei"] = None
    if (out["boxes"] or {}).get("fourcc") in ("hvc1", "hev1"):
        try:
            out["hevc_sei"] = hevc_sei.read_hdr_sei(p).to_dict()
        except EncodeError as err:
            log.info("%s: HEVC SEI not read: %s", p, err)
    return out


def _probe_exr(p: Path) -> dict[str, Any]:
    """Describe one EXR frame from its header (``hdrpipe.exr.read_header``)."""
    h = exr.read_header(p)
    return {
        "path": str(p),
        "container": "OpenEXR",
        "width": h.width,
        "height": h.height,
        "channels": list(h.channel_names),
        "pixel_types": sorted({c.pixel_type for c in h.channels}),
        "compression": h.compression,
        "tiled": h.tiled,
        "chromaticities": list(h.chromaticities) if h.chromaticities else None,
        "start_timecode": h.time_code,
        "rate": str(h.frames_per_second) if h.frames_per_second else None,
        "aces_image_container_flag": h.aces_image_container_flag,
        "has_alpha": "A" in h.channel_names,
    }


def _primaries_name(md: MasteringDisplay) -> str | None:
    got = (md.red, md.green, md.blue, md.white)
    for name, ref in NAMED_PRIMARIES.items():
        if all(
            abs(a[0] - b[0]) <= 0.00002 and abs(a[1] - b[1]) <= 0.00002
            for a, b in zip(got, ref, strict=True)
        ):
            return name
    return None


def expected_tags(spec: DeliverySpec) -> dict[str, Any]:
    """Return what MediaInfo should report for a video ``spec``, in its own names."""
    if spec.kind != "video" or spec.codec is None:
        raise InputError(f"preset {spec.name!r} is not a video preset")
    exp: dict[str, Any] = {
        "codec": MEDIAINFO_NAMES["codec"].get(spec.codec),
        "bit_depth": spec.bit_depth,
        "chroma": ":".join(spec.chroma) if spec.chroma else None,
        "primaries": MEDIAINFO_NAMES["primaries"].get(spec.primaries or ""),
        "transfer": MEDIAINFO_NAMES["transfer"].get(spec.transfer or ""),
        "matrix": MEDIAINFO_NAMES["matrix"].get(spec.matrix or ""),
        "range": MEDIAINFO_NAMES["range"].get(spec.color_range or ""),
    }
    if spec.codec.startswith("prores"):
        prof, fourcc = _PRORES_PROFILE[spec.profile or "hq"]
        exp["profile"] = prof
        exp["codec_id"] = fourcc
        if spec.container == "mov":
            # QuickTime nclc has no range flag and the ProRes frame header none
            # either (narrow range by definition, SMPTE RDD 36): MediaInfo shows
            # no range, as for Apple's own ProRes movies.
            exp["range"] = None
    else:
        exp["profile"] = _VIDEO_PROFILE.get(spec.profile or "", spec.profile)
        exp["codec_id"] = {"libx265": "hvc1", "libx264": "avc1"}.get(spec.codec)
    return exp


def expected_colr(spec: DeliverySpec) -> dict[str, object]:
    """The decoded ``colr`` box a ``spec`` movie carries (see ``parse_colr``).

    QuickTime ``nclc`` in MOV (Apple QuickTime File Format, "Color parameter
    atom"), ISO ``nclx`` with its range flag in MP4 (ISO/IEC 14496-12 §12.1.5).
    """
    want: dict[str, object] = {
        "type": "nclc" if spec.container == "mov" else "nclx",
        "primaries": H273_PRIMARIES.get(spec.primaries or ""),
        "transfer": H273_TRANSFER.get(spec.transfer or ""),
        "matrix": H273_MATRIX.get(spec.matrix or ""),
    }
    if want["type"] == "nclx":
        want["full_range"] = spec.color_range == "pc"
    return want


def verify(
    path: str | os.PathLike[str],
    spec: DeliverySpec,
    *,
    frames: int,
    rate: Rate,
    start_timecode: Timecode | None,
    light_level: ContentLightLevel | None,
    mastering: MasteringDisplay | None,
    has_alpha: bool = False,
    pixel_aspect: Fraction = Fraction(1),
) -> dict[str, Any]:
    """Probe ``path``; raise :class:`EncodeError` listing every :func:`tag_lint`
    mismatch, else return the probe dict."""
    info, bad = tag_lint(
        path,
        spec,
        frames=frames,
        rate=rate,
        start_timecode=start_timecode,
        light_level=light_level,
        mastering=mastering,
        has_alpha=has_alpha,
        pixel_aspect=pixel_aspect,
    )
    if bad:
        raise EncodeError(
            f"{path}: output does not match preset {spec.name!r}: " + "; ".join(bad)
        )
    return info


def tag_lint(
    path: str | os.PathLike[str],
    spec: DeliverySpec,
    *,
    frames: int,
    rate: Rate,
    start_timecode: Timecode | None,
    light_level: ContentLightLevel | None,
    mastering: MasteringDisplay | None,
    has_alpha: bool = False,
    pixel_aspect: Fraction = Fraction(1),
) -> tuple[dict[str, Any], list[str]]:
    """Probe ``path`` and check it against ``spec`` and what was written.

    Besides MediaInfo's tags: the sample entry (``colr`` as
    :func:`expected_colr`, ``pasp`` = ``pixel_aspect``, ``fiel`` 1/0 and vendor
    ``appl`` for ProRes in MOV) and, for HDR presets, every copy of the light
    level and mastering display (``clli``, ``mdcv``, HEVC SEI in band and in
    ``hvcC``, MediaInfo) equal to ``light_level`` / ``mastering``.

    Returns the probe dict and every mismatch (empty: the tags pass), as the
    QC report shows them; :func:`verify` raises on any.
    """
    info = probe(path)
    exp = expected_tags(spec)
    bad: list[str] = []

    def check(key: str, want: Any, got: Any) -> None:
        if want != got:
            bad.append(f"{key}: expected {want!r}, MediaInfo/PyAV read {got!r}")

    check("codec", exp["codec"], info["codec"])
    check("codec_id", exp["codec_id"], info["codec_id"])
    prof = info["profile"] or ""
    if spec.codec and spec.codec.startswith("prores"):
        check("profile", exp["profile"], prof)
    elif not (prof == exp["profile"] or prof.startswith(f"{exp['profile']}@")):
        bad.append(f"profile: expected {exp['profile']!r}, MediaInfo read {prof!r}")
    if (
        spec.codec
        and spec.codec.startswith("prores")
        and (spec.profile or "").startswith("4444")
    ):
        # ProRes signals no bit depth; FFmpeg decodes 4444 as 12-bit (our data is 10-bit
        # in a 12-bit-capable codec, docs/design-notes.md), MediaInfo reports none.
        if info["bit_depth"] not in (exp["bit_depth"], 12):
            bad.append(
                f"bit_depth: expected {exp['bit_depth']} or 12, "
                f"read {info['bit_depth']!r}"
            )
    else:
        check("bit_depth", exp["bit_depth"], info["bit_depth"])
    check("chroma", exp["chroma"], info["chroma"])
    for key in ("primaries", "transfer", "matrix", "range"):
        check(key, exp[key], info[key])
    check("frames", frames, info["frames"])
    check("rate", str(rate.fps), info["rate"])
    if start_timecode is not None:
        check("start_timecode", str(start_timecode), info["start_timecode"])
    check("has_alpha", has_alpha, info["has_alpha"])
    boxes = info.get("boxes") or {}
    for key, both in (info.get("container_stream_conflicts") or {}).items():
        bad.append(
            f"{key}: container says {both['container']!r}, "
            f"bitstream says {both['stream']!r} (MediaInfo)"
        )
    want_colr = expected_colr(spec)
    if boxes.get("colr") != [want_colr]:
        bad.append(f"colr: expected [{want_colr}], found {boxes.get('colr')}")
    aspect = Fraction(pixel_aspect)
    check("pasp", [aspect.numerator, aspect.denominator], boxes.get("pasp"))
    prores = bool(spec.codec and spec.codec.startswith("prores"))
    check("fiel", [1, 0] if prores else None, boxes.get("fiel"))
    if prores and spec.container == "mov":
        check("vendor", "appl", boxes.get("vendor"))
    if spec.hdr_metadata:
        if mastering is None or light_level is None:
            bad.append("HDR preset verified without mastering display / light level")
        else:
            md = info["mastering_display"] or {}
            want_name = _primaries_name(mastering)
            if want_name is not None:
                check("mastering_display.primaries", want_name, md.get("primaries"))
            check(
                "mastering_display.max_luminance",
                mastering.max_luminance,
                md.get("max_luminance"),
            )
            check(
                "mastering_display.min_luminance",
                mastering.min_luminance,
                md.get("min_luminance"),
            )
            # CTA-861.3 §3: 0 means "unknown" (black content has MaxCLL 0), and
            # MediaInfo then shows nothing; the clli box below still holds the 0.
            check("max_cll", light_level.max_cll or None, info["max_cll"])
            check("max_fall", light_level.max_fall or None, info["max_fall"])
            check("mdcv box", _mdcv_units(mastering), boxes.get("mdcv"))
            check(
                "clli box",
                {"max_cll": light_level.max_cll, "max_fall": light_level.max_fall},
                boxes.get("clli"),
            )
    if spec.codec == "libx265":
        _check_hevc_sei(
            Path(path),
            spec,
            light_level if spec.hdr_metadata else None,
            mastering if spec.hdr_metadata else None,
            bad,
        )
    return info, bad


def _mdcv_units(mastering: MasteringDisplay) -> dict[str, object]:
    """``mastering`` in the integer units of the ``mdcv`` box and the H.265 SEI."""
    u = mastering.xy_units()
    lmax, lmin = mastering.luminance_units()
    return {
        "G": u["G"],
        "B": u["B"],
        "R": u["R"],
        "WP": u["WP"],
        "max_luminance": lmax,
        "min_luminance": lmin,
    }


def _check_hevc_sei(
    path: Path,
    spec: DeliverySpec,
    light_level: ContentLightLevel | None,
    mastering: MasteringDisplay | None,
    bad: list[str],
) -> None:
    """Check every HDR10 SEI copy of an HEVC file against the one value written.

    PQ presets (HDR10) must carry, in every IRAP access unit, exactly one
    content light level SEI (ITU-T H.265 D.2.35) and one mastering display
    colour volume SEI (D.2.28), and a copy of each in the ``hvcC`` arrays
    (ISO/IEC 14496-15 §8.3.3.1.2); every copy must hold ``light_level`` /
    ``mastering``. Other presets carry no such SEI, and any found must agree.
    """
    try:
        sei = hevc_sei.read_hdr_sei(path)
    except EncodeError as err:
        bad.append(f"HEVC SEI unreadable: {err}")
        return
    hdr10 = spec.hdr_metadata and spec.transfer == "smpte2084"
    want_cll = light_level
    want_md = _mdcv_units(mastering) if mastering is not None else None
    cll_values = [v for _i, v in sei.in_band_cll] + list(sei.hvcc_cll)
    md_values = [v for _i, v in sei.in_band_mdcv] + list(sei.hvcc_mdcv)
    if want_cll is None and cll_values:
        bad.append(f"content light level SEI in a non-HDR stream: {cll_values[0]}")
    if want_md is None and md_values:
        bad.append("mastering display SEI in a non-HDR stream")
    wrong_cll = sorted({(v.max_cll, v.max_fall) for v in cll_values if v != want_cll})
    if want_cll is not None and wrong_cll:
        bad.append(
            f"content light level SEI: expected {want_cll.max_cll}/"
            f"{want_cll.max_fall} in every copy, found (MaxCLL, MaxFALL) {wrong_cll}"
        )
    if want_md is not None and any(v != want_md for v in md_values):
        other = next(v for v in md_values if v != want_md)
        bad.append(f"mastering display SEI: expected {want_md}, found {other}")
    if not hdr10:
        return
    if not sei.irap_samples:
        bad.append("HEVC stream without an IRAP access unit")
    cll_at = [i for i, _v in sei.in_band_cll]
    md_at = [i for i, _v in sei.in_band_mdcv]
    missing = [
        i for i in sei.irap_samples if cll_at.count(i) != 1 or md_at.count(i) != 1
    ]
    if missing:
        bad.append(
            "IRAP samples without exactly one content light level and one "
            f"mastering display SEI: {missing[:10]}"
        )
    if len(sei.hvcc_cll) < 1 or len(sei.hvcc_mdcv) < 1:
        bad.append(
            f"hvcC holds {len(sei.hvcc_cll)} content light level and "
            f"{len(sei.hvcc_mdcv)} mastering display SEI (one of each expected)"
        )
