"""Transfer functions: SMPTE ST 2084 (PQ), ITU-R BT.2100 HLG and ITU-R BT.1886.

Pure, vectorised numpy. ``float32`` in gives ``float32`` out, ``float64`` gives
``float64``; integers are promoted to ``float64``. Signals (``N``, ``E_p``, ``V``)
are normalised code values in [0, 1]; display light (``C``, ``F_D``, ``L``) is in
cd/m²; scene light (``E``) is normalised [0, 1] as in BT.2100.

A leaf module (numpy only) at the package root: ``validate`` (PQ code values
of a plate), the colour stage, the fast path's error metrics and the colour
vocabulary (:mod:`hdrpipe.colorimetry`, whose transfer characteristics point
here) share this one implementation.

Names follow colour-science in snake_case (``eotf_inverse_st2084`` is
``colour.models.eotf_inverse_ST2084``).

References
----------
* SMPTE ST 2084:2014, "High Dynamic Range Electro-Optical Transfer Function of
  Mastering Reference Displays", equations 5.1 (EOTF) and 5.2 (inverse EOTF).
* ITU-R BT.2100-2 (07/2018), Table 4 (PQ) and Table 5 (HLG: OETF, inverse OETF,
  OOTF with system gamma 1.2 at L_W = 1000 cd/m², EOTF with black level lift β).
* ITU-R BT.1886 (03/2011), Annex 1, reference EOTF.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .errors import ColorError

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
]

# SMPTE ST 2084:2014 §5 constants, written as the standard writes them.
ST2084_M1 = 2610 / 16384
ST2084_M2 = 2523 / 4096 * 128
ST2084_C1 = 3424 / 4096
ST2084_C2 = 2413 / 4096 * 32
ST2084_C3 = 2392 / 4096 * 32

# ITU-R BT.2100-2 Table 5, HLG OETF constants.
HLG_A = 0.17883277
HLG_B = 1 - 4 * HLG_A
HLG_C = 0.5 - HLG_A * np.log(4 * HLG_A)

# ITU-R BT.2100-2 Table 5 (OOTF): Y_S = 0.2627 R_S + 0.6780 G_S + 0.0593 B_S.
BT2100_LUMA_WEIGHTS = (0.2627, 0.6780, 0.0593)

# ITU-R BT.1886 Annex 1: gamma 2.4.
BT1886_GAMMA = 2.4

FloatArray = NDArray[np.floating[Any]]


def _as_float(x: ArrayLike) -> FloatArray:
    a = np.asarray(x)
    return a.astype(np.result_type(a.dtype, np.float32), copy=False)


# --------------------------------------------------------------------------- PQ


def eotf_inverse_st2084(C: ArrayLike, L_p: float = 10_000.0) -> FloatArray:
    """Encode absolute display luminance ``C`` (cd/m², any shape) to the PQ signal N.

    SMPTE ST 2084:2014 eq. 5.2 (= ITU-R BT.2100-2 Table 4, inverse EOTF).
    Negative light has no PQ code and maps to 0 (``validate`` counts it).

    >>> round(float(eotf_inverse_st2084(100.0)), 9)
    0.508078422
    """
    C = _as_float(C)
    dt = C.dtype.type
    Y_p = np.maximum(C / dt(L_p), dt(0.0)) ** dt(ST2084_M1)
    N = ((dt(ST2084_C1) + dt(ST2084_C2) * Y_p) / (dt(1.0) + dt(ST2084_C3) * Y_p)) ** dt(
        ST2084_M2
    )
    return np.asarray(N, dtype=C.dtype)


def eotf_st2084(N: ArrayLike, L_p: float = 10_000.0) -> FloatArray:
    """Decode the PQ signal ``N`` in [0, 1] to display luminance in cd/m².

    SMPTE ST 2084:2014 eq. 5.1 (= ITU-R BT.2100-2 Table 4, EOTF). Signals below
    code 0 decode to 0 cd/m² (the max(…, 0) of the equation).

    >>> round(float(eotf_st2084(0.508078421517399)), 6)
    100.0
    """
    N = _as_float(N)
    # Evaluated in float64: the 1/m2 and 1/m1 powers amplify float32 rounding to
    # ~6e-5 relative (0.4 cd/m² near 10 000); the result keeps the input dtype.
    # In place on one float64 copy (same operations, same order as written:
    # N' = max(N, 0)^(1/m2); C = L_p (max(N' - c1, 0) / (c2 - c3 N'))^(1/m1)).
    x = np.array(N, dtype=np.float64)
    np.maximum(x, 0.0, out=x)
    np.power(x, 1.0 / ST2084_M2, out=x)
    den = x * -ST2084_C3
    den += ST2084_C2
    x -= ST2084_C1
    np.maximum(x, 0.0, out=x)
    x /= den
    np.power(x, 1.0 / ST2084_M1, out=x)
    x *= L_p
    return x if N.dtype == np.float64 else np.asarray(x, dtype=N.dtype)


# -------------------------------------------------------------------------- HLG


def oetf_bt2100_hlg(E: ArrayLike) -> FloatArray:
    """Encode normalised scene light ``E`` in [0, 1] to the HLG signal E'.

    ITU-R BT.2100-2 Table 5, OETF: ``E' = sqrt(3 E)`` for ``E <= 1/12``,
    ``a ln(12 E - b) + c`` above. BT.2100 defines ``E`` on [0, 1]; negative
    light has no HLG code and maps to 0.

    >>> round(float(oetf_bt2100_hlg(1.0 / 12.0)), 12)
    0.5
    """
    E = _as_float(E)
    dt = E.dtype.type
    E = np.maximum(E, dt(0.0))
    low = np.sqrt(dt(3.0) * E)
    with np.errstate(divide="ignore", invalid="ignore"):
        high = dt(HLG_A) * np.log(np.maximum(dt(12.0) * E - dt(HLG_B), dt(1e-30))) + dt(
            HLG_C
        )
    return np.asarray(np.where(E <= dt(1.0 / 12.0), low, high), dtype=E.dtype)


def oetf_inverse_bt2100_hlg(E_p: ArrayLike) -> FloatArray:
    """Decode the HLG signal ``E'`` in [0, 1] to normalised scene light E.

    ITU-R BT.2100-2 Table 5, inverse OETF: ``E = E'^2 / 3`` for ``E' <= 1/2``,
    ``(exp((E' - c) / a) + b) / 12`` above. Negative signal maps to 0.
    """
    E_p = _as_float(E_p)
    dt = E_p.dtype.type
    E_p = np.maximum(E_p, dt(0.0))
    low = E_p * E_p / dt(3.0)
    with np.errstate(over="ignore"):
        high = (np.exp((E_p - dt(HLG_C)) / dt(HLG_A)) + dt(HLG_B)) / dt(12.0)
    return np.asarray(np.where(E_p <= dt(0.5), low, high), dtype=E_p.dtype)


def gamma_bt2100_hlg(L_W: float = 1000.0) -> float:
    """Return the HLG system gamma for a display of nominal peak ``L_W`` cd/m².

    ITU-R BT.2100-2 Table 5 note: ``γ = 1.2 + 0.42 log10(L_W / 1000)`` (1.2 at
    1000 cd/m²).
    """
    return float(1.2 + 0.42 * np.log10(L_W / 1000.0))


def _rgb_last_axis(x: FloatArray, name: str) -> None:
    if x.ndim == 0 or x.shape[-1] != 3:
        raise ColorError(
            f"{name}: the HLG OOTF mixes R, G and B (BT.2100 Table 5): expected an "
            f"array whose last axis is RGB (3), got shape {x.shape}"
        )


def _luma(x: FloatArray) -> FloatArray:
    dt = x.dtype.type
    w_r, w_g, w_b = (dt(w) for w in BT2100_LUMA_WEIGHTS)
    return np.asarray(
        w_r * x[..., 0] + w_g * x[..., 1] + w_b * x[..., 2], dtype=x.dtype
    )


def ootf_bt2100_hlg(E: ArrayLike, L_W: float = 1000.0, L_B: float = 0.0) -> FloatArray:
    """Map normalised scene light RGB ``E`` (…, 3) to display light in cd/m².

    ITU-R BT.2100-2 Table 5, OOTF: ``F_D = α Y_S^(γ-1) E`` with ``α = L_W`` and
    ``Y_S = 0.2627 R_S + 0.6780 G_S + 0.0593 B_S``. In BT.2100-2 the black level
    ``L_B`` is handled by the EOTF's β lift, so the OOTF ignores it (kept for
    signature symmetry).
    """
    del L_B  # BT.2100-2: black lift lives in the EOTF (β), not the OOTF
    E = _as_float(E)
    _rgb_last_axis(E, "ootf_bt2100_hlg")
    dt = E.dtype.type
    gamma = gamma_bt2100_hlg(L_W)
    Y_S = np.abs(_luma(E))
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = dt(L_W) * Y_S ** dt(gamma - 1.0)
    return np.asarray(E * scale[..., None], dtype=E.dtype)


def ootf_inverse_bt2100_hlg(F_D: ArrayLike, L_W: float = 1000.0) -> FloatArray:
    """Map display light RGB ``F_D`` (…, 3, cd/m²) back to normalised scene light.

    Inverse of :func:`ootf_bt2100_hlg` (ITU-R BT.2100-2 Table 5):
    ``E = (Y_D / α)^((1 - γ) / γ) F_D / α`` with ``Y_D`` the BT.2100 luminance of
    ``F_D``; black (``Y_D = 0``) maps to 0.
    """
    F_D = _as_float(F_D)
    _rgb_last_axis(F_D, "ootf_inverse_bt2100_hlg")
    dt = F_D.dtype.type
    gamma = gamma_bt2100_hlg(L_W)
    Y_D = np.abs(_luma(F_D))
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(
            Y_D > 0,
            (Y_D / dt(L_W)) ** dt((1.0 - gamma) / gamma) / dt(L_W),
            dt(0.0),
        )
    return np.asarray(F_D * scale[..., None], dtype=F_D.dtype)


def _hlg_beta(L_W: float, L_B: float) -> float:
    # ITU-R BT.2100-2 Table 5, EOTF: β = sqrt(3 (L_B / L_W)^(1/γ)).
    gamma = gamma_bt2100_hlg(L_W)
    return float(np.sqrt(3.0 * (L_B / L_W) ** (1.0 / gamma)))


def eotf_bt2100_hlg(
    E_p: ArrayLike, L_W: float = 1000.0, L_B: float = 0.0
) -> FloatArray:
    """Decode an HLG signal RGB ``E'`` (…, 3) to display light in cd/m².

    ITU-R BT.2100-2 Table 5, EOTF:
    ``F_D = OOTF[OETF⁻¹[max(0, (1 - β) E' + β)]]``, β the black level lift.
    """
    E_p = _as_float(E_p)
    _rgb_last_axis(E_p, "eotf_bt2100_hlg")
    dt = E_p.dtype.type
    beta = dt(_hlg_beta(L_W, L_B))
    lifted = np.maximum((dt(1.0) - beta) * E_p + beta, dt(0.0))
    return ootf_bt2100_hlg(oetf_inverse_bt2100_hlg(lifted), L_W)


def eotf_inverse_bt2100_hlg(
    F_D: ArrayLike, L_W: float = 1000.0, L_B: float = 0.0
) -> FloatArray:
    """Encode display light RGB ``F_D`` (…, 3, cd/m²) to the HLG signal E'.

    Inverse of :func:`eotf_bt2100_hlg`: ``E' = (OETF[OOTF⁻¹[F_D]] - β) / (1 - β)``
    (ITU-R BT.2100-2 Table 5).
    """
    F_D = _as_float(F_D)
    dt = F_D.dtype.type
    beta = dt(_hlg_beta(L_W, L_B))
    E_p = oetf_bt2100_hlg(ootf_inverse_bt2100_hlg(F_D, L_W))
    return np.asarray((E_p - beta) / (dt(1.0) - beta), dtype=F_D.dtype)


# ----------------------------------------------------------------------- BT.1886


def _bt1886_ab(L_W: float, L_B: float) -> tuple[float, float]:
    # ITU-R BT.1886 Annex 1: a = (L_W^(1/γ) - L_B^(1/γ))^γ,
    # b = L_B^(1/γ) / (L_W^(1/γ) - L_B^(1/γ)).
    g = 1.0 / BT1886_GAMMA
    span = L_W**g - L_B**g
    return span**BT1886_GAMMA, L_B**g / span


def eotf_bt1886(V: ArrayLike, L_W: float = 100.0, L_B: float = 0.0) -> FloatArray:
    """Decode the BT.1886 video signal ``V`` in [0, 1] to screen luminance in cd/m².

    ITU-R BT.1886 Annex 1: ``L = a max(V + b, 0)^γ``, γ = 2.4.

    >>> float(eotf_bt1886(1.0))
    100.0
    """
    V = _as_float(V)
    dt = V.dtype.type
    a, b = _bt1886_ab(L_W, L_B)
    return np.asarray(
        dt(a) * np.maximum(V + dt(b), dt(0.0)) ** dt(BT1886_GAMMA), dtype=V.dtype
    )


def eotf_inverse_bt1886(
    L: ArrayLike, L_W: float = 100.0, L_B: float = 0.0
) -> FloatArray:
    """Encode screen luminance ``L`` (cd/m²) to the BT.1886 video signal V.

    Inverse of ITU-R BT.1886 Annex 1: ``V = (L / a)^(1/γ) - b``; negative light
    maps to the black code.
    """
    L = _as_float(L)
    dt = L.dtype.type
    a, b = _bt1886_ab(L_W, L_B)
    V = (np.maximum(L, dt(0.0)) / dt(a)) ** dt(1.0 / BT1886_GAMMA) - dt(b)
    return np.asarray(V, dtype=L.dtype)
