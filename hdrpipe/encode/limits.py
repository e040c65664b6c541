"""Frame sizes an encoder accepts, checked when a job is planned (not at frame 1).

Each encoder has size rules FFmpeg only reports as ``avcodec_open2(...)
returned 22`` when the stream opens. :func:`check_frame_size` states the rules
we know (:data:`SIZE_RULES`, measured with the bundled FFmpeg 8.1) and then
opens the encoder on its own, without a file, at the real size and pixel
format, so a size refused for a reason we do not list is still refused at
planning time, with the preset named.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import av

from ..errors import InputError
from .presets import DeliverySpec
from .video import _pix_fmt

__all__ = ["check_frame_size", "SIZE_RULES"]

log = logging.getLogger(__name__)

#: Encoder → (minimum width, minimum height, even width, even height), beyond
#: the chroma subsampling's own parity (4:2:2 even width, 4:2:0 both).
#: Measured: prores_aw refuses odd widths; libx265 anything under 16x16;
#: libx264 odd sizes.
SIZE_RULES: Mapping[str, tuple[int, int, bool, bool]] = {
    "prores_aw": (2, 1, True, False),
    "prores_ks": (1, 1, False, False),
    "libx265": (16, 16, False, False),
    "libx264": (2, 2, True, True),
}


def _rule_text(spec: DeliverySpec) -> str:
    rule = SIZE_RULES.get(spec.codec or "")
    parts = []
    if spec.chroma == "420":
        parts.append("even width and height (4:2:0)")
    elif spec.chroma == "422":
        parts.append("an even width (4:2:2)")
    if rule is not None:
        min_w, min_h, even_w, even_h = rule
        if min_w > 1 or min_h > 1:
            parts.append(f"at least {min_w}x{min_h}")
        if even_w and spec.chroma not in ("420", "422"):
            parts.append("an even width")
        if even_h and spec.chroma != "420":
            parts.append("an even height")
    return ", ".join(parts) or "a size its encoder accepts"


def _refuse(spec: DeliverySpec, width: int, height: int, why: str) -> InputError:
    return InputError(
        f"preset {spec.name!r} ({spec.codec}) cannot encode {width}x{height}: "
        f"it needs {_rule_text(spec)}{why} (choose another --reformat)"
    )


def _refused_by_encoder(
    spec: DeliverySpec, width: int, height: int, err: Exception
) -> InputError:
    """The size meets every rule we know, yet the encoder refuses it (too large…)."""
    return InputError(
        f"preset {spec.name!r} ({spec.codec}) cannot encode {width}x{height}: "
        f"the encoder refuses this size (FFmpeg: {err}); choose another --reformat"
    )


def check_frame_size(
    spec: DeliverySpec, width: int, height: int, *, has_alpha: bool = False
) -> None:
    """Refuse a frame size the preset's encoder cannot open (video presets only).

    Raises
    ------
    InputError
        The size breaks the chroma subsampling's parity, a known encoder rule,
        or the encoder refuses to open at it (FFmpeg's reason appended).
    """
    if spec.kind != "video":
        return
    if width < 1 or height < 1:
        raise _refuse(spec, width, height, "")
    odd_w = spec.chroma in ("420", "422") and width % 2
    odd_h = spec.chroma == "420" and height % 2
    rule = SIZE_RULES.get(spec.codec or "")
    if rule is not None:
        min_w, min_h, even_w, even_h = rule
        odd_w = odd_w or (even_w and width % 2)
        odd_h = odd_h or (even_h and height % 2)
        if width < min_w or height < min_h:
            raise _refuse(spec, width, height, "")
    if odd_w or odd_h:
        raise _refuse(spec, width, height, "")
    _try_open(spec, width, height, has_alpha)


def _try_open(spec: DeliverySpec, width: int, height: int, has_alpha: bool) -> None:
    """Open the encoder alone (no file, no frame): cheap, it allocates lazily."""
    options: dict[str, str] = {}
    if spec.codec == "prores_ks" and spec.profile:
        options["profile"] = spec.profile
    if spec.codec == "libx265":
        options["x265-params"] = "log-level=none"
    try:
        context: Any = av.CodecContext.create(spec.codec or "", "w")
        context.width, context.height = width, height
        context.pix_fmt = _pix_fmt(spec, has_alpha)
        context.time_base = Fraction(1, 24)
        context.framerate = Fraction(24)
        context.options = options
        context.open()
    except InputError:
        raise
    except (av.error.FFmpegError, ValueError) as err:
        raise _refused_by_encoder(spec, width, height, err) from err
    finally:
        context = None
