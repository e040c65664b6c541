"""The transfer functions of the colour stage (implemented once, in
:mod:`hdrpipe.transfer`, a leaf module that ``validate`` reads too) and the
decoding of a target's signal to display light (:mod:`hdrpipe.colorimetry`,
from the target's transfer characteristic)."""

from __future__ import annotations

from ..colorimetry import decode_to_luminance, encode_from_luminance
from ..transfer import (
    BT1886_GAMMA,
    BT2100_LUMA_WEIGHTS,
    HLG_A,
    HLG_B,
    HLG_C,
    ST2084_C1,
    ST2084_C2,
    ST2084_C3,
    ST2084_M1,
    ST2084_M2,
    eotf_bt1886,
    eotf_bt2100_hlg,
    eotf_inverse_bt1886,
    eotf_inverse_bt2100_hlg,
    eotf_inverse_st2084,
    eotf_st2084,
    gamma_bt2100_hlg,
    oetf_bt2100_hlg,
    oetf_inverse_bt2100_hlg,
    ootf_bt2100_hlg,
    ootf_inverse_bt2100_hlg,
)

__all__ = [
    "ST2084_M1",
    "ST2084_M2",
    "ST2084_C1",
    "ST2084_C2",
    "ST2084_C3",
    "HLG_A",
    "HLG_B",
    "HLG_C",
    "BT2100_LUMA_WEIGHTS",
    "BT1886_GAMMA",
    "eotf_inverse_st2084",
    "eotf_st2084",
    "oetf_bt2100_hlg",
    "oetf_inverse_bt2100_hlg",
    "gamma_bt2100_hlg",
    "ootf_bt2100_hlg",
    "ootf_inverse_bt2100_hlg",
    "eotf_bt2100_hlg",
    "eotf_inverse_bt2100_hlg",
    "eotf_bt1886",
    "eotf_inverse_bt1886",
    "decode_to_luminance",
    "encode_from_luminance",
]
