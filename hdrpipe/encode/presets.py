"""Delivery presets: what each deliverable is, as data.

A :class:`DeliverySpec` names the colour target that feeds it (``hdrpipe.color``
target names), the container, the encoder and its settings, the Y'CbCr layout
and the tags the container must carry. The shipped registry is :data:`PRESETS`;
users add their own from a TOML or JSON file with :func:`load_presets` (a user
preset may ``base`` a shipped one and override fields).

ProRes encoder choice — measured here with ``bench/encode.py --prores-compare``
(FFmpeg 8.1.2 via PyAV 18.1, 2 shared cores, 1920×1080, 12 synthetic PQ frames:
gradients, a moving highlight and Gaussian grain σ; PSNR of the decoded Y'/Cb/Cr
planes against our 10-bit input codes, peak 1023; fps of the encoder alone)::

    grain σ  profile   encoder    fps    PSNR Y / Cb / Cr (dB)   MB/frame
    0.002    4444 XQ   prores_ks   6.4   66.0 / 66.1 / 66.0      1.79
    0.002    4444 XQ   prores_aw   9.7   72.0 / 66.0 / 66.0      2.16
    0.002    422 HQ    prores_ks   6.7   63.9 / 65.0 / 64.8      0.96
    0.002    422 HQ    prores_aw  17.2   64.9 / 65.6 / 65.4      1.04
    0.01     4444 XQ   prores_ks   3.9   54.8 / 54.9 / 54.8      2.17
    0.01     4444 XQ   prores_aw   8.3   61.1 / 55.4 / 55.4      2.68
    0.01     422 HQ    prores_ks   3.5   52.0 / 53.0 / 52.9      0.97
    0.01     422 HQ    prores_aw  17.6   55.3 / 55.8 / 55.7      1.31

We ship ``prores_aw`` for both profiles: at 1080p it is as close or closer to the
source on every plane (+1…6 dB on Y'), at the cost of 8–35 % more bytes per frame,
and it is 1.5–5× faster. It carries alpha
(``yuva444p10le``).
(On tiny, smooth 160×90 test frames ``prores_ks`` scores higher — 59 vs 55 dB for
4444 XQ — which does not hold at delivery sizes.) A user preset may ``base`` one
of ours and set ``codec = "prores_ks"`` (with ``options.alpha_bits`` etc.).

Purpose and quality targets (``docs/presets.md`` has the measurements and the
method). Every preset says what it is for (:data:`PURPOSES`):

* a **master** keeps the picture's texture: at least
  :data:`MASTER_GRAIN_RETENTION` of the source grain σ (high-pass σ of a flat
  patch of the decoded deliverable over the same patch of the exact colour
  transformed source, in the deliverable's Y' code values, on the grainy
  fixture plate) and, for long-GOP codecs, a bitrate floor of
  :data:`MASTER_MIN_BITS_PER_PIXEL` bits per pixel per frame (about 12.4 Mb/s
  at 1080p 23.976, 50 Mb/s at UHD 24): at or above the HDR upload rates
  YouTube recommends at every raster and frame rate it lists (1080p 24-30 fps:
  10 Mb/s; 2160p: 44-56 Mb/s; 2160p 48-60 fps: 66-85 Mb/s). That is a
  platform's upload recommendation, the least a recipient publishes for an HDR
  file; mezzanine specifications ask for intra codecs at far higher rates
  (ProRes 422 HQ), which the ProRes presets are;
* a **mezzanine** (ProRes 422 HQ) is the intra-frame file finishing and
  delivery specs ask for, at its codec's fixed quantisation: it keeps
  :data:`PRORES_422HQ_GRAIN_RETENTION` of the grain σ, not the master's 90 %.
  FFmpeg's encoders cannot do better at any rate: ``prores_ks`` at its finest
  quantiser (``global_quality`` 1 × QP2LAMBDA, i.e. ``-q:v 1``) keeps 83 %
  with the HQ matrix and 85 % with its flat ``default`` matrix (186 Mb/s at
  1080p), ``bits_per_mb`` above the HQ default changes nothing, and the other
  matrices keep less (standard 64 %, proxy 27 %); ``prores_aw`` keeps 83 % at
  173 Mb/s. The 4:2:2 profiles' matrices are the ceiling; 4444 XQ (finer
  matrix) and the HEVC masters keep ≥ 90 %;
* a **review** copy trades texture for size and says so (no grain target);
* **comp** and **archive** EXR are lossless or half-float PIZ (no target).

HEVC masters use x265 ``crf=6`` with ``tune=grain`` (x265's own tuning for
grainy sources: no SAO, weaker deblocking, no adaptive quantisation swings,
psycho-visual RDO that keeps noise-like energy). The previous ``crf=18``
removed 84-85 % of the fixture's grain (σ 1.29 → 0.21 Y' codes at 10 bits) at
0.2-0.4 Mb/s; ``crf=12`` without the tuning still removed 84 %; ``crf=6`` +
``tune=grain`` keeps 95 % at 40 Mb/s (1080p 23.976). A VBV cap of
:data:`MASTER_MAX_BITS_PER_PIXEL` makes x265 signal a level and tier its
bitrate fits (without it, 1080p is signalled Level 4 Main tier, 12 Mb/s).
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from ..color_targets import target_spec
from ..errors import ColorError, InputError
from ..outputs import check_name

#: What a deliverable is for: a ``master`` keeps the picture (grain included),
#: a ``mezzanine`` is the intra file specs ask for at its codec's fixed
#: quantisation (a stated, lower grain target),
#: a ``review`` copy may trade texture for size, ``comp`` plates feed
#: compositing, ``archive`` is the ST 2065-4 archival master.
Purpose = Literal["master", "mezzanine", "review", "comp", "archive"]
PURPOSES: tuple[str, ...] = ("master", "mezzanine", "review", "comp", "archive")

#: Fraction of the source grain σ a master preset keeps (flat patch of the
#: grainy fixture plate, Y' code values; see ``docs/presets.md``).
MASTER_GRAIN_RETENTION = 0.90

#: Peak-rate cap of the HEVC masters (x265 VBV, 1 s buffer), bits per pixel per
#: frame: 1.0 × 1920 × 1080 × 24000/1001 = 49.7 Mb/s, inside HEVC Level 4.1 High
#: tier (50 Mb/s, H.265 Table A.8); 199 Mb/s at UHD 23.976 (Level 5.2 High,
#: 240 Mb/s). Without a cap x265 signals the level of the raster alone (Level
#: 4 Main tier, 12 Mb/s, at 1080p) under a 40 Mb/s stream: a level violation.
MASTER_MAX_BITS_PER_PIXEL = 1.0

#: Bitrate floor of a long-GOP master, in bits per pixel per frame: 0.25 ×
#: 1920 × 1080 × 24000/1001 = 12.4 Mb/s, × 3840 × 2160 × 24 = 49.8 Mb/s, at or
#: above YouTube's recommended HDR upload bitrates for every raster and rate
#: it lists (support.google.com/youtube/answer/1722171: 1080p 10 / 15 Mb/s at
#: 24-30 / 48-60 fps, 1440p 20 / 30, 2160p 44-56 / 66-85).
MASTER_MIN_BITS_PER_PIXEL = 0.25

__all__ = [
    "DeliverySpec",
    "Purpose",
    "PURPOSES",
    "MASTER_GRAIN_RETENTION",
    "MASTER_MIN_BITS_PER_PIXEL",
    "MASTER_MAX_BITS_PER_PIXEL",
    "PRORES_422HQ_GRAIN_RETENTION",
    "PRESETS",
    "carries_alpha",
    "get_preset",
    "load_presets",
    "spec_to_dict",
    "FILE_OPTIONS",
    "PRESET_ID_MAX",
    "TAG_FIELDS",
]


@dataclass(frozen=True)
class DeliverySpec:
    """One deliverable: container, encoder, Y'CbCr layout and the tags it carries.

    Colour tags use FFmpeg's names (``bt2020``, ``bt2020nc``, ``smpte2084``,
    ``arib-std-b67``, ``bt709``), which map one-to-one to the code points of
    ITU-T H.273 (``colr`` box and VUI). A video preset takes ``primaries``,
    ``transfer`` and ``matrix`` from its target
    (:meth:`hdrpipe.color_targets.TargetSpec.ffmpeg_tags`) when it leaves them
    out; one that states them must agree with the target, or it is refused
    (:class:`InputError`): a PQ movie tagged HLG plays wrong everywhere.
    Video frames fed to a writer are the display-encoded R'G'B'(A) signal of
    ``target`` in [0, 1]; EXR frames are scene-linear in ``target``.

    ``mastering_max_luminance`` / ``mastering_min_luminance`` (cd/m²) give the
    SMPTE ST 2086 mastering display used when the caller passes none;
    ``chroma_location`` is the FFmpeg chroma sample location our down-sampling
    filter implements (``"left"`` = H.273 type 0: co-sited horizontally,
    mid-way vertically) and is written into the stream.
    ``needs_light_level_at_open``: the encoder writes MaxCLL/MaxFALL into the
    stream when it opens (x265's HDR10 SEI); hdrpipe opens libx265 with a
    placeholder and patches the SEI at close (:mod:`.hevc_sei`), other encoders
    get the level measured before they open.

    ``purpose`` (:data:`PURPOSES`) says what the deliverable is for;
    ``grain_retention_min`` is the fraction of the source grain σ the preset
    must keep on the grainy fixture plate (``None``: no promise);
    ``min_bits_per_pixel`` its bitrate floor in bits per pixel per frame
    (:meth:`bitrate_floor` in bit/s, checked after encoding);
    ``max_bits_per_pixel`` the encoder's peak-rate cap (x265 VBV,
    :meth:`bitrate_ceiling`), which also makes the encoder signal the HEVC
    level and tier that admit it; ``quality`` says the targets in words for
    ``hdrpipe presets``. ``low_memory``: the preset trades CPU for a lower
    peak, and the CLI runs a job that has one with the lean allocator
    (:func:`hdrpipe.memory.tune_allocator`, docs/memory.md).
    """

    name: str
    description: str
    kind: Literal["video", "exr"]
    target: str
    container: str
    extension: str
    codec: str | None = None
    profile: str | None = None
    pix_fmt: str | None = None
    bit_depth: int = 10
    chroma: Literal["444", "422", "420"] | None = None
    matrix: str | None = None
    primaries: str | None = None
    transfer: str | None = None
    color_range: Literal["tv", "pc"] | None = None
    hdr_metadata: bool = False
    needs_light_level_at_open: bool = False
    options: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    exr_compression: str | None = None
    exr_pixel_type: str | None = None
    mastering_max_luminance: float | None = None
    mastering_min_luminance: float | None = None
    chroma_location: str | None = None
    purpose: Purpose = "master"
    grain_retention_min: float | None = None
    min_bits_per_pixel: float | None = None
    max_bits_per_pixel: float | None = None
    quality: str = ""
    low_memory: bool = False

    def bitrate_floor(self, width: int, height: int, fps: Fraction) -> float | None:
        """Return the lowest acceptable video bitrate in bit/s, or None (no floor).

        ``width`` × ``height`` pixels at ``fps`` frames per second.
        """
        if self.min_bits_per_pixel is None:
            return None
        return float(self.min_bits_per_pixel * width * height * fps)

    def bitrate_ceiling(self, width: int, height: int, fps: Fraction) -> float | None:
        """Return the encoder's peak bitrate cap in bit/s (VBV), or None (no cap)."""
        if self.max_bits_per_pixel is None:
            return None
        return float(self.max_bits_per_pixel * width * height * fps)

    def __post_init__(self) -> None:
        _check_fields(self)
        if not isinstance(self.options, MappingProxyType):
            object.__setattr__(
                self,
                "options",
                MappingProxyType(
                    {
                        str(k): _option_text(self.name, k, v)
                        for k, v in self.options.items()
                    }
                ),
            )
        _check_options(self.name, self.options)
        if self.kind not in ("video", "exr"):
            raise InputError(
                f"preset {self.name!r}: kind must be video or exr, got {self.kind!r}"
            )
        if self.kind == "video":
            _take_target_tags(self)
            missing = [
                n
                for n in (
                    "codec",
                    "pix_fmt",
                    "chroma",
                    "matrix",
                    "primaries",
                    "transfer",
                    "color_range",
                )
                if getattr(self, n) is None
            ]
            if missing:
                raise InputError(
                    f"video preset {self.name!r} lacks {', '.join(missing)}"
                )
            if self.container not in ("mov", "mp4"):
                raise InputError(
                    f"video preset {self.name!r}: container must be mov or mp4"
                )
            if self.chroma not in ("444", "422", "420"):
                raise InputError(
                    f"preset {self.name!r}: chroma must be 444, 422 or 420"
                )
            if self.bit_depth not in (8, 10, 12):
                raise InputError(f"preset {self.name!r}: bit_depth must be 8, 10 or 12")
        elif self.container != "exr":
            raise InputError(f"exr preset {self.name!r}: container must be 'exr'")
        if not _EXTENSION.fullmatch(self.extension):
            raise InputError(
                f"preset {self.name!r}: extension {self.extension!r} must be '.' "
                "and 1-10 letters or digits (e.g. '.mov')"
            )
        if self.purpose not in PURPOSES:
            raise InputError(
                f"preset {self.name!r}: purpose must be one of {', '.join(PURPOSES)}, "
                f"got {self.purpose!r}"
            )
        if self.grain_retention_min is not None and not (
            0.0 < self.grain_retention_min <= 1.0
        ):
            raise InputError(
                f"preset {self.name!r}: grain_retention_min must be in (0, 1], "
                f"got {self.grain_retention_min!r}"
            )
        for name in ("min_bits_per_pixel", "max_bits_per_pixel"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise InputError(
                    f"preset {self.name!r}: {name} must be > 0, got {value!r}"
                )
        if (
            self.min_bits_per_pixel is not None
            and self.max_bits_per_pixel is not None
            and self.max_bits_per_pixel < self.min_bits_per_pixel
        ):
            raise InputError(
                f"preset {self.name!r}: max_bits_per_pixel is below min_bits_per_pixel"
            )


#: A preset id becomes part of every output name (``<name>_<id><ext>``).
PRESET_ID_MAX = 64
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,10}")
_STR_FIELDS = (
    "description",
    "target",
    "container",
    "codec",
    "profile",
    "pix_fmt",
    "matrix",
    "primaries",
    "transfer",
    "color_range",
    "chroma",
    "exr_compression",
    "exr_pixel_type",
    "chroma_location",
)
_REQUIRED = ("description", "target", "container")

#: Encoder options (FFmpeg AVOptions, and keys inside ``x265-params``,
#: ``x264-params``/``x264opts``) that make the encoder read or write a file of
#: its own: a preset could otherwise write outside the output folder or read any
#: file. Refused in every preset.
FILE_OPTIONS = frozenset(
    {
        "analysis-load",
        "analysis-reuse-file",
        "analysis-save",
        "cqmfile",
        "csv",
        "dhdr10-info",
        "dolby-vision-rpu",
        "dump-yuv",
        "lambda-file",
        "passlogfile",
        "qpfile",
        "recon",
        "recon-y4m-exec",
        "scaling-list",
        "stats",
        "tcfile-in",
        "tcfile-out",
        "zonefile",
    }
)
_PARAM_OPTIONS = ("x265-params", "x264-params", "x264opts")


def _check_fields(spec: DeliverySpec) -> None:
    """Refuse values of the wrong type or out of range (user presets are input)."""
    name = spec.name
    check_name(name, "preset id")
    if len(name) > PRESET_ID_MAX:
        raise InputError(f"preset id {name[:40]!r}…: at most {PRESET_ID_MAX} chars")
    for f in _STR_FIELDS:
        value = getattr(spec, f)
        if value is None and f not in _REQUIRED:
            continue
        if not isinstance(value, str):
            raise InputError(
                f"preset {name!r}: {f} must be a string, got {type(value).__name__}"
            )
    if not isinstance(spec.extension, str):
        raise InputError(f"preset {name!r}: extension must be a string")
    for f in ("hdr_metadata", "needs_light_level_at_open"):
        if not isinstance(getattr(spec, f), bool):
            raise InputError(f"preset {name!r}: {f} must be true or false")
    if isinstance(spec.bit_depth, bool) or not isinstance(spec.bit_depth, int):
        raise InputError(f"preset {name!r}: bit_depth must be an integer")
    for f in ("grain_retention_min", "min_bits_per_pixel", "max_bits_per_pixel"):
        value = getattr(spec, f)
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
        ):
            raise InputError(f"preset {name!r}: {f} must be a finite number")
    if not isinstance(spec.options, Mapping):
        raise InputError(
            f"preset {name!r}: options must be a table of name = value, got "
            f"{type(spec.options).__name__}"
        )
    peak = _luminance(name, "mastering_max_luminance", spec.mastering_max_luminance)
    low = _luminance(name, "mastering_min_luminance", spec.mastering_min_luminance)
    if peak is not None and not 0 < peak <= 10_000:
        raise InputError(
            f"preset {name!r}: mastering_max_luminance {peak} cd/m² is outside "
            "(0, 10000] (SMPTE ST 2086)"
        )
    if low is not None and not 0 <= low < (peak if peak is not None else 10_000):
        raise InputError(
            f"preset {name!r}: mastering_min_luminance {low} cd/m² must be >= 0 and "
            "below mastering_max_luminance"
        )


#: The colour tags a video preset takes from its target.
TAG_FIELDS = ("primaries", "transfer", "matrix")


def _take_target_tags(spec: DeliverySpec) -> None:
    """Fill the colour tags ``spec`` leaves out from its target; refuse a tag that
    disagrees with the target. A target the registry does not know is left for
    planning to report (``hdrpipe.color.get_target`` names the known ones)."""
    try:
        target = target_spec(spec.target)
    except ColorError:
        return
    tags = target.ffmpeg_tags()
    if tags is None:
        return
    for name in TAG_FIELDS:
        value = getattr(spec, name)
        if value is None:
            object.__setattr__(spec, name, tags[name])
        elif value != tags[name]:
            raise InputError(
                f"preset {spec.name!r}: {name} {value!r} disagrees with its target "
                f"{target.name!r} ({name} {tags[name]!r}); leave {name} out to take "
                "the target's"
            )


def _luminance(preset: str, field_name: str, value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"preset {preset!r}: {field_name} must be a number")
    if not math.isfinite(value):
        raise InputError(f"preset {preset!r}: {field_name} must be finite")
    return float(value)


def _option_text(preset: str, key: object, value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (str, int)) or (
        isinstance(value, float) and math.isfinite(value)
    ):
        return str(value)
    raise InputError(
        f"preset {preset!r}: option {key!r} must be a string or a number, got "
        f"{type(value).__name__}"
    )


def _check_options(preset: str, options: Mapping[str, str]) -> None:
    """Refuse encoder options that name files (:data:`FILE_OPTIONS`) and NULs."""
    for key, value in options.items():
        if "\0" in key or "\0" in value:
            raise InputError(f"preset {preset!r}: option {key!r} contains NUL")
        keys = [key.lstrip("-")]
        if key in _PARAM_OPTIONS:
            keys += [
                item.split("=", 1)[0].strip().lstrip("-")
                for item in value.replace(",", ":").split(":")
            ]
        named = sorted({k for k in keys if k.lower() in FILE_OPTIONS})
        if named:
            raise InputError(
                f"preset {preset!r}: encoder option(s) {', '.join(named)} name files "
                "the encoder would read or write; hdrpipe writes only its own outputs"
            )


def spec_to_dict(spec: DeliverySpec) -> dict[str, Any]:
    """Return a JSON-friendly dict of ``spec`` (options as a plain dict)."""
    d = {f.name: getattr(spec, f.name) for f in fields(spec)}
    d["options"] = dict(spec.options)
    return d


#: Grain target of the ProRes 422 HQ mezzanine: measured 83-85 % on the fixture
#: plate (640x360 to 1080p), below the master target at any FFmpeg setting
#: (module docstring, docs/presets.md).
PRORES_422HQ_GRAIN_RETENTION = 0.80

# HEVC masters: CRF 6 with x265's grain tuning (module docstring, docs/presets.md).
# One frame thread (bits independent of the machine, least memory) and a
# 5-frame look-ahead instead of medium's 20 (x265's largest memory user: ~11 MB
# per frame at 1080p; with tune=grain there is no cu-tree for a long look-ahead
# to feed): docs/presets.md "Memory" has the measured cost.
_X265_MASTER_OPTIONS = MappingProxyType(
    {
        "preset": "medium",
        "crf": "6",
        "tune": "grain",
        "x265-params": "no-open-gop=1:log-level=error:frame-threads=1:rc-lookahead=5",
    }
)
_X265_MASTER_TARGETS: dict[str, Any] = {
    "purpose": "master",
    "grain_retention_min": MASTER_GRAIN_RETENTION,
    "min_bits_per_pixel": MASTER_MIN_BITS_PER_PIXEL,
    "max_bits_per_pixel": MASTER_MAX_BITS_PER_PIXEL,
    "quality": "keeps >= 90 % of the source grain; bitrate floor "
    "0.25 bit/pixel (12.4 Mb/s at 1080p 23.976), peak cap 1 bit/pixel "
    "(49.7 Mb/s, HEVC Level 4.1 High tier at 1080p)",
}

log = logging.getLogger(__name__)

_PRESET_LIST: tuple[DeliverySpec, ...] = (
    DeliverySpec(
        name="prores4444xq-pq1000",
        description="ProRes 4444 XQ 4:4:4 10-bit (+alpha), Rec.2100 PQ, "
        "ACES 2.0 HDR 1000 nits "
        "(Rec.2020); MOV colr nclc 9/16/9 + mdcv + clli",
        kind="video",
        target="hdr-pq-1000-rec2020",
        container="mov",
        extension=".mov",
        codec="prores_aw",
        profile="4444xq",
        pix_fmt="yuv444p10le",
        bit_depth=10,
        chroma="444",
        color_range="tv",
        hdr_metadata=True,
        needs_light_level_at_open=False,
        options={"vendor": "apl0"},
        mastering_max_luminance=1000.0,
        mastering_min_luminance=0.0001,
        purpose="master",
        grain_retention_min=MASTER_GRAIN_RETENTION,
        quality="keeps >= 90 % of the source grain (intra-only, Apple's XQ data rate)",
    ),
    DeliverySpec(
        name="prores422hq-pq1000",
        description="ProRes 422 HQ 4:2:2 10-bit, Rec.2100 PQ, "
        "ACES 2.0 HDR 1000 nits (Rec.2020); "
        "MOV colr nclc 9/16/9 + mdcv + clli",
        kind="video",
        target="hdr-pq-1000-rec2020",
        container="mov",
        extension=".mov",
        codec="prores_aw",
        profile="hq",
        pix_fmt="yuv422p10le",
        bit_depth=10,
        chroma="422",
        color_range="tv",
        hdr_metadata=True,
        needs_light_level_at_open=False,
        options={"vendor": "apl0"},
        mastering_max_luminance=1000.0,
        mastering_min_luminance=0.0001,
        chroma_location="left",
        # Not a master: the HQ quantisation keeps 83-85 % of the fixture's
        # grain σ even at prores_ks's finest quantiser (docs/presets.md).
        purpose="mezzanine",
        grain_retention_min=PRORES_422HQ_GRAIN_RETENTION,
        quality="mezzanine, not a grain master: keeps >= 80 % of the source "
        "grain (83-85 % measured, at any encoder setting); 4444 XQ or the HEVC "
        "masters keep >= 90 %",
    ),
    DeliverySpec(
        name="hevc-hdr10",
        description="HEVC Main 10 4:2:0, BT.2020 PQ 1000 nits, hvc1 in MP4; "
        "HDR10 SEI + colr nclx + "
        "mdcv + clli",
        kind="video",
        target="hdr-pq-1000-rec2020",
        container="mp4",
        extension=".mp4",
        codec="libx265",
        profile="main10",
        pix_fmt="yuv420p10le",
        bit_depth=10,
        chroma="420",
        color_range="tv",
        hdr_metadata=True,
        needs_light_level_at_open=True,
        options=_X265_MASTER_OPTIONS,
        mastering_max_luminance=1000.0,
        mastering_min_luminance=0.0001,
        chroma_location="left",
        **_X265_MASTER_TARGETS,
    ),
    DeliverySpec(
        name="hevc-hlg",
        description="HEVC Main 10 4:2:0, BT.2100 HLG (ARIB STD-B67, transfer 18) "
        "1000 nits, hvc1 in MP4; colr nclx 9/18/9 + mdcv + clli",
        kind="video",
        target="hlg-1000",
        container="mp4",
        extension=".mp4",
        codec="libx265",
        profile="main10",
        pix_fmt="yuv420p10le",
        bit_depth=10,
        chroma="420",
        color_range="tv",
        # ST 2086 + CTA-861.3 in the container (mdcv/clli), as for every HDR
        # preset, but no x265 SEI: HDR10 SEI signalling is for PQ, and static
        # metadata is optional for HLG. MaxCLL/MaxFALL come from the colour
        # stage's meter on the HLG signal (BT.2100 HLG EOTF, 1000 cd/m² display).
        hdr_metadata=True,
        needs_light_level_at_open=False,
        mastering_max_luminance=1000.0,
        mastering_min_luminance=0.0001,
        options=_X265_MASTER_OPTIONS,
        chroma_location="left",
        **_X265_MASTER_TARGETS,
    ),
    DeliverySpec(
        name="h264-sdr-review",
        description="H.264 High 8-bit 4:2:0, Rec.709 / BT.1886 SDR "
        "(ACES 2.0 SDR 100 nits), "
        "narrow range, for review",
        kind="video",
        target="sdr-rec709",
        container="mp4",
        extension=".mp4",
        codec="libx264",
        profile="high",
        pix_fmt="yuv420p",
        bit_depth=8,
        chroma="420",
        color_range="tv",
        hdr_metadata=False,
        # 4 frame threads whatever the machine (x264's bits depend on them) and
        # a 10-frame look-ahead instead of medium's 40 (docs/presets.md "Memory").
        options={
            "preset": "medium",
            "crf": "18",
            "x264-params": "threads=4:rc-lookahead=10",
        },
        chroma_location="left",
        # Review copies are small: x264 CRF 18 smooths the fixture's fine grain
        # (keeps ~30 % of its σ, ~1 Mb/s at 1080p 23.976; docs/presets.md).
        purpose="review",
        quality="small files; smooths fine grain (keeps ~30 % of the "
        "source grain on the fixture), not a master",
    ),
    DeliverySpec(
        name="exr-acescg",
        description="OpenEXR half ACEScg (AP1 linear) for Nuke comp, PIZ, "
        "chromaticities AP1",
        kind="exr",
        target="acescg",
        container="exr",
        extension=".exr",
        bit_depth=16,
        exr_compression="piz",
        exr_pixel_type="half",
        purpose="comp",
        quality="half float, lossless PIZ",
    ),
    DeliverySpec(
        name="exr-aces",
        description="SMPTE ST 2065-4 ACES container: scanline half ACES2065-1 (AP0), "
        "uncompressed, acesImageContainerFlag — the archival master",
        kind="exr",
        target="aces2065-1",
        container="exr",
        extension=".exr",
        bit_depth=16,
        exr_compression="none",
        exr_pixel_type="half",
        purpose="archive",
        quality="half float ACES2065-1, uncompressed",
    ),
)

#: x265 settings of the low-memory HEVC masters: no B-frames (each B-frame in
#: a row holds another source picture with its analysis data; ~50 bytes per
#: pixel for medium's 4, 0.4 GB at UHD). docs/presets.md "Memory" has the cost.
_X265_LOWMEM_PARAMS = _X265_MASTER_OPTIONS["x265-params"] + ":bframes=0"


def _low_memory(spec: DeliverySpec) -> DeliverySpec:
    """``spec`` without B-frames: the HEVC master in 0.4 GB less at UHD."""
    return replace(
        spec,
        name=f"{spec.name}-lowmem",
        description=f"{spec.description}; no B-frames (fits 2 GB at UHD)",
        options={**spec.options, "x265-params": _X265_LOWMEM_PARAMS},
        quality=f"{spec.quality}; trade: no B-frames, 0.4 GB less at UHD for "
        "Y' 1.2 dB further from the source codes, same grain, and the lean "
        "allocator (+25 % CPU, docs/presets.md)",
        low_memory=True,
    )


_PRESET_LIST += tuple(
    _low_memory(p) for p in _PRESET_LIST if p.name in ("hevc-hdr10", "hevc-hlg")
)

PRESETS: Mapping[str, DeliverySpec] = MappingProxyType(
    {p.name: p for p in _PRESET_LIST}
)
"""The shipped presets by id (docs/design-notes.md). An id never changes meaning."""


def carries_alpha(spec: DeliverySpec) -> bool:
    """True when deliverables of ``spec`` can hold an alpha channel.

    EXR always can; of the movie codecs only ProRes 4444 (4:4:4, ``yuva444p10le``)
    does — 4:2:2 ProRes, HEVC and H.264 have no alpha plane.
    """
    if spec.kind == "exr":
        return True
    return spec.chroma == "444" and (spec.codec or "").startswith("prores")


def get_preset(
    name: str, *, extra: Mapping[str, DeliverySpec] | None = None
) -> DeliverySpec:
    """Return the preset ``name`` from ``extra`` (user presets) or :data:`PRESETS`.

    Raises
    ------
    InputError
        Unknown name; the message lists every known id.
    """
    if extra and name in extra:
        return extra[name]
    if name in PRESETS:
        return PRESETS[name]
    known = sorted(set(PRESETS) | set(extra or {}))
    raise InputError(
        f"unknown delivery preset {name!r}; known presets: {', '.join(known)}"
    )


_FIELD_NAMES = {f.name for f in fields(DeliverySpec)}


def load_presets(path: str | os.PathLike[str]) -> dict[str, DeliverySpec]:
    """Load user presets from a TOML or JSON file.

    The file maps preset ids to tables of :class:`DeliverySpec` fields, either at
    the top level or under a ``presets`` key. ``base = "<id>"`` starts from an
    existing preset (shipped, or earlier in the same file) and overrides only
    the fields given. A shipped id is replaced only by an entry that says
    ``override = true``; every field is type- and range-checked, and encoder
    options that name files (:data:`FILE_OPTIONS`) are refused::

        [presets.prores4444xq-pq1000-ks]
        base = "prores4444xq-pq1000"
        codec = "prores_ks"
        description = "ProRes 4444 XQ via prores_ks"

    Raises
    ------
    InputError
        Missing/unreadable file, bad syntax, unknown field or base, invalid spec.
    """
    p = Path(path)
    try:
        if p.exists() and not p.is_file():  # a FIFO or /dev/zero never ends
            raise InputError(f"{p}: presets file is not a regular file")
        raw = p.read_bytes()
    except OSError as err:
        raise InputError(f"{p}: cannot read presets file: {err}") from err
    try:
        if p.suffix.lower() == ".json":
            doc = json.loads(raw)
        else:
            doc = tomllib.loads(raw.decode("utf-8"))
    except (
        ValueError,
        UnicodeDecodeError,
    ) as err:  # JSONDecodeError and TOMLDecodeError
        raise InputError(f"{p}: cannot parse presets: {err}") from err
    if not isinstance(doc, dict):
        raise InputError(f"{p}: presets file must hold a table/object")
    table = doc.get("presets", doc)
    if not isinstance(table, dict):
        raise InputError(f"{p}: 'presets' must be a table/object")
    out: dict[str, DeliverySpec] = {}
    for name, entry in table.items():
        if not isinstance(entry, dict):
            raise InputError(f"{p}: preset {name!r} must be a table/object")
        entry = dict(entry)
        base_name = entry.pop("base", None)
        override = entry.pop("override", False)
        if not isinstance(override, bool):
            raise InputError(f"{p}: preset {name!r}: override must be true or false")
        if name in PRESETS and not override:
            raise InputError(
                f"{p}: preset {name!r} is a shipped preset; a user preset may not "
                "replace it unless its entry says override = true (or pick a new id, "
                f'with base = "{name}")'
            )
        if name in PRESETS:
            log.warning("%s: user preset %r replaces the shipped one", p, name)
        unknown = sorted(set(entry) - _FIELD_NAMES)
        if unknown:
            raise InputError(
                f"{p}: preset {name!r}: unknown field(s) {', '.join(unknown)}"
            )
        entry["name"] = name
        try:
            if base_name is not None:
                base = get_preset(str(base_name), extra=out)
                if "target" in entry:  # a new target brings its own tags
                    for tag in TAG_FIELDS:
                        entry.setdefault(tag, None)
                if "options" in entry:  # options merge onto the base's
                    if not isinstance(entry["options"], dict):
                        raise InputError("options must be a table of name = value")
                    entry["options"] = {**dict(base.options), **entry["options"]}
                spec = replace(base, **entry)
            else:
                entry.setdefault("description", name)
                spec = DeliverySpec(**entry)
        except (TypeError, ValueError) as err:
            raise InputError(f"{p}: preset {name!r}: {err}") from err
        except InputError as err:
            raise InputError(f"{p}: preset {name!r}: {err}") from err
        out[name] = spec
    return out
