"""Colour stage: OCIO config resolution, named targets, the frame Transform, looks,
tone mapping (ACES 2.0 reference + BT.2390 EETF), PQ/HLG/BT.1886 transfer
functions and HDR static metadata (ST 2086, CTA-861.3 MaxCLL/MaxFALL).
"""

from __future__ import annotations

from ..colorimetry import decode_to_luminance, encode_from_luminance
from ..transfer import (
    eotf_bt1886,
    eotf_bt2100_hlg,
    eotf_inverse_bt1886,
    eotf_inverse_bt2100_hlg,
    eotf_inverse_st2084,
    eotf_st2084,
    oetf_bt2100_hlg,
    oetf_inverse_bt2100_hlg,
    ootf_bt2100_hlg,
    ootf_inverse_bt2100_hlg,
)
from .config import ConfigInfo, colorspace_name, resolve_config
from .hdr_metadata import (
    FrameLight,
    LightLevelMeter,
    mastering_display,
    mastering_display_for,
)
from .looks import Look
from .targets import Target, get_target, source_colorspace, target_names, targets
from .tonemap import TONE_MAPPERS, eetf_bt2390, retarget_pq
from .transform import Transform

__all__ = [
    "Transform",
    "Target",
    "Look",
    "targets",
    "target_names",
    "get_target",
    "resolve_config",
    "colorspace_name",
    "ConfigInfo",
    "source_colorspace",
    "FrameLight",
    "LightLevelMeter",
    "mastering_display",
    "mastering_display_for",
    "TONE_MAPPERS",
    "eetf_bt2390",
    "retarget_pq",
    "eotf_inverse_st2084",
    "eotf_st2084",
    "oetf_bt2100_hlg",
    "oetf_inverse_bt2100_hlg",
    "ootf_bt2100_hlg",
    "ootf_inverse_bt2100_hlg",
    "eotf_bt2100_hlg",
    "eotf_inverse_bt2100_hlg",
    "eotf_bt1886",
    "eotf_inverse_bt1886",
    "decode_to_luminance",
    "encode_from_luminance",
]
