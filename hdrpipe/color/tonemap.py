"""Named tone mappers.

The ACES 2.0 output transforms (evaluated by OCIO) are the reference; this module
adds the ITU-R BT.2390 EETF to retarget a PQ master to a lower peak.

``TONE_MAPPERS`` names every option a job can ask for:

* ``"aces2"`` — the ACES 2.0 output transform of the target (OCIO, :class:`Transform`).
* ``"bt2390-eetf"`` — :func:`eetf_bt2390`, applied to an already encoded PQ signal
  (e.g. a 1000-nit master retargeted to a 600-nit display).

The target ``hdr-pq-600-rec2020`` (:mod:`.ocio`) uses it: the ACES 2.0 1000-nit
Rec.2020 PQ output, then :func:`retarget_pq` (``maxrgb``) to 600 cd/m², with the
ST 2086 peak and MaxCLL of the retargeted signal. Both colour paths apply it (the
fast path bakes it into its LUT and is verified against the exact path).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import ColorError
from ..transfer import eotf_inverse_st2084, eotf_st2084

__all__ = ["TONE_MAPPERS", "eetf_bt2390", "retarget_pq"]

TONE_MAPPERS: dict[str, str] = {
    "aces2": "ACES 2.0 output transform of the target (OCIO), the reference",
    "bt2390-eetf": "ITU-R BT.2390 EETF (Hermite knee in PQ) to retarget a PQ master "
    "to a lower peak luminance",
}


def eetf_bt2390(
    E_p: ArrayLike,
    *,
    source_peak: float = 1000.0,
    target_peak: float = 600.0,
    source_black: float = 0.0,
    target_black: float = 0.0,
) -> NDArray[np.floating[Any]]:
    """Retarget a PQ signal mastered for ``source_peak`` to a ``target_peak`` display.

    ``E_p``: PQ code values in [0, 1] (any shape; per-channel R'G'B' or PQ
    luminance). Peaks and blacks in cd/m². Returns PQ code values, same dtype.

    The EETF of ITU-R BT.2390-7 (2019) §5.4.1 (moved to Report ITU-R BT.2408-7
    Annex 5 in later editions), with ``PQ`` = ST 2084 inverse EOTF:

    * ``E1 = (E' - PQ(L_B)) / (PQ(L_W) - PQ(L_B))`` — source range normalised,
      clipped to [0, 1] (the domain of the EETF);
    * ``minLum = (PQ(L_min) - PQ(L_B)) / (PQ(L_W) - PQ(L_B))``, likewise ``maxLum``;
    * knee start ``KS = 1.5 maxLum - 0.5``;
    * ``E2 = E1`` for ``E1 < KS``, else the Hermite spline ``P(E1)`` with
      ``T = (E1 - KS) / (1 - KS)`` and
      ``P = (2T³ - 3T² + 1) KS + (T³ - 2T² + T)(1 - KS) + (-2T³ + 3T²) maxLum``;
    * black lift ``E3 = E2 + minLum (1 - E2)⁴``;
    * ``E4 = E3 (PQ(L_W) - PQ(L_B)) + PQ(L_B)``.

    Below the knee the signal passes unchanged; the source peak lands exactly on
    the target peak. When ``target_peak >= source_peak`` nothing needs
    compressing and the signal is returned unchanged (clipped to the source range).
    """
    x = np.asarray(E_p)
    x = x.astype(np.result_type(x.dtype, np.float32), copy=False)
    if not (source_peak > source_black >= 0 and target_peak > target_black >= 0):
        raise ColorError(
            f"BT.2390 EETF needs peak > black >= 0 cd/m², got source {source_black}.."
            f"{source_peak}, target {target_black}..{target_peak}"
        )
    # Parameters in float64, then evaluated in the signal's precision.
    pq_b, pq_w = (
        float(eotf_inverse_st2084(np.float64(v))) for v in (source_black, source_peak)
    )
    span = pq_w - pq_b
    min_lum = (float(eotf_inverse_st2084(np.float64(target_black))) - pq_b) / span
    max_lum = (float(eotf_inverse_st2084(np.float64(target_peak))) - pq_b) / span
    dt = x.dtype.type
    E1 = np.clip((x - dt(pq_b)) / dt(span), dt(0.0), dt(1.0))
    if max_lum >= 1.0:
        E2 = E1
    else:
        KS = 1.5 * max_lum - 0.5
        T = (E1 - dt(KS)) / dt(1.0 - KS)
        T2 = T * T
        T3 = T2 * T
        P = (
            (dt(2.0) * T3 - dt(3.0) * T2 + dt(1.0)) * dt(KS)
            + (T3 - dt(2.0) * T2 + T) * dt(1.0 - KS)
            + (dt(-2.0) * T3 + dt(3.0) * T2) * dt(max_lum)
        )
        E2 = np.where(E1 < dt(KS), E1, P)
    E3 = E2 + dt(min_lum) * (dt(1.0) - E2) ** 4 if min_lum > 0 else E2
    return np.asarray(E3 * dt(span) + dt(pq_b), dtype=x.dtype)


def retarget_pq(
    frame: NDArray[np.float32],
    *,
    source_peak: float = 1000.0,
    target_peak: float = 600.0,
    method: Literal["rgb", "maxrgb"] = "maxrgb",
) -> NDArray[np.float32]:
    """Retarget a PQ frame (H, W, 3|4) with the BT.2390 EETF; alpha untouched.

    ``method="rgb"`` applies the EETF to each of R'G'B' (BT.2390 allows it; it
    desaturates highlights). ``"maxrgb"`` (default) applies it to max(R', G', B')
    and scales the three linear components by the same ratio, keeping
    chromaticity (a common way to apply the curve; the ratio step itself is not
    part of BT.2390's equations).
    """
    out = np.array(frame, dtype=np.float32, copy=True)
    rgb = out[..., :3]
    if method == "rgb":
        out[..., :3] = eetf_bt2390(
            rgb, source_peak=source_peak, target_peak=target_peak
        )
        return out
    if method != "maxrgb":
        raise ColorError(
            f"retarget_pq: unknown method {method!r}; available: rgb, maxrgb"
        )
    m = rgb.max(axis=-1)
    m_new = eetf_bt2390(m, source_peak=source_peak, target_peak=target_peak)
    lin, lin_new = (
        eotf_st2084(m.astype(np.float64)),
        eotf_st2084(m_new.astype(np.float64)),
    )
    ratio = np.divide(lin_new, lin, out=np.ones_like(lin), where=lin > 0)
    light = eotf_st2084(rgb.astype(np.float64)) * ratio[..., None]
    out[..., :3] = eotf_inverse_st2084(light).astype(np.float32)
    return out
