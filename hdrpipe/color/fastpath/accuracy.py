"""How far a fast path is from the exact one: stress set, error metrics, budget.

Errors are measured on the final signal: p99.9 and max of the per-pixel max
channel error in 10-bit code values (signal × 1023), and max ΔE_ITP (ITU-R
BT.2124 of BT.2100 ICtCp of the decoded display light in Rec.2020; tested
against colour-science's ``delta_E_ITP`` of ``RGB_to_ICtCp``). Budget
(docs/design-notes.md "Colour", issue #9): p99.9 ≤ 1 code value and max ΔE_ITP ≤ 2.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from ...colorimetry import SPACES, decode_to_luminance, matrix_rgb_to_rgb
from ...transfer import eotf_inverse_st2084
from .domains import Shaper

if TYPE_CHECKING:
    from ..targets import Target

__all__ = [
    "BUDGET_P999_CODE10",
    "BUDGET_MAX_DELTA_E_ITP",
    "CODE10",
    "StressSet",
    "BakeErrors",
    "stress_set",
    "signal_errors",
]

#: Accuracy budget against the exact path (docs/design-notes.md "Colour"):
#: p99.9 of the per-pixel max channel error, 10-bit code values …
BUDGET_P999_CODE10 = 1.0


#: … and max ΔE_ITP (ITU-R BT.2124; 1 ≈ one just-noticeable difference).
BUDGET_MAX_DELTA_E_ITP = 2.0


CODE10 = 1023  # 10-bit full-range code values per unit signal


#: ΔE_ITP is computed on at most this many pixels per comparison: all of them
#: below it, else the served pixels with the largest code error plus a stride
#: sample of the rest (colour-science ICtCp costs ~1 µs per pixel).
DELTA_E_PIXELS = 1 << 18


@dataclass(frozen=True, slots=True)
class StressSet:
    """Verification samples in ACEScg (AP1 linear, diffuse white = 1), (N, 3) float32.

    ``groups`` names contiguous slices: ``(name, start, stop)``.
    """

    ap1: NDArray[np.float32] = field(repr=False)
    groups: tuple[tuple[str, int, int], ...]
    seed: int = 0

    def __len__(self) -> int:
        return int(self.ap1.shape[0])


@dataclass(frozen=True, slots=True)
class BakeErrors:
    """Fast-vs-exact error over the pixels the LUT serves (routed ones are exact).

    ``p999_code10`` / ``max_code10``: p99.9 and max over served pixels of the
    per-pixel max channel |Δ signal| × 1023. ``max_delta_e_itp``: ITU-R BT.2124
    ΔE_ITP of the decoded display light. ``served``: fraction of pixels served
    by the LUT. ``samples``: pixels compared.
    """

    p999_code10: float
    max_code10: float
    max_delta_e_itp: float
    served: float
    samples: int
    groups: dict[str, dict[str, float]] = field(default_factory=dict, compare=False)

    @property
    def within_budget(self) -> bool:
        return (
            self.p999_code10 <= BUDGET_P999_CODE10
            and self.max_delta_e_itp <= BUDGET_MAX_DELTA_E_ITP
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["within_budget"] = self.within_budget
        return data

    @staticmethod
    def worst(*errors: BakeErrors | None) -> BakeErrors | None:
        """The element-wise worst of several measurements (``None`` ignored)."""
        found = [e for e in errors if e is not None]
        if not found:
            return None
        return BakeErrors(
            p999_code10=max(e.p999_code10 for e in found),
            max_code10=max(e.max_code10 for e in found),
            max_delta_e_itp=max(e.max_delta_e_itp for e in found),
            served=min(e.served for e in found),
            samples=sum(e.samples for e in found),
        )


def _colour() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import colour

    return colour


def _colorchecker_ap1() -> NDArray[np.float64]:
    """ColorChecker 24 ("After November 2014", colour-science) in ACEScg via CAT02."""
    colour = _colour()
    cc = colour.CCS_COLOURCHECKERS["ColorChecker24 - After November 2014"]
    xyY = np.array(list(cc.data.values()), dtype=np.float64)
    XYZ = colour.xyY_to_XYZ(xyY)
    return np.asarray(
        colour.XYZ_to_RGB(
            XYZ,
            "ACEScg",
            illuminant=cc.illuminant,
            chromatic_adaptation_transform="CAT02",
        ),
        dtype=np.float64,
    )


def stress_set(
    *, n_volume: int = 1 << 17, n_boundary: int = 1 << 14, seed: int = 0
) -> StressSet:
    """Build the verification samples in ACEScg (AP1 linear), (N, 3) float32.

    Groups: ``grey_ramp`` (0.18 × 2^(−10…+8), 1025 steps); ``colorchecker``
    (24 patches × 2^(−6…+6) in ¼ stops); ``ap1_volume`` (``n_volume`` random
    samples: half uniform in the shaper cube, half at random max level
    0.18 × 2^(−12…+10), AP1 saturation and hue, so every grid cell and
    saturation is hit off-node); ``ap1_boundary`` (``n_boundary`` samples with
    one or two components at, just inside or just beyond 0).
    """
    rng = np.random.default_rng(seed)
    groups: list[tuple[str, NDArray[np.float64]]] = []
    ramp = 0.18 * np.exp2(np.linspace(-10.0, 8.0, 1025))
    groups.append(("grey_ramp", np.repeat(ramp[:, None], 3, axis=1)))
    chart = _colorchecker_ap1()
    stops = np.exp2(np.arange(-24, 25) / 4.0)
    groups.append(
        ("colorchecker", (chart[None, :, :] * stops[:, None, None]).reshape(-1, 3))
    )
    half = n_volume // 2
    cube = Shaper().inverse(rng.random((half, 3)))
    level = 0.18 * np.exp2(rng.uniform(-12.0, 10.0, (n_volume - half, 1)))
    u = rng.random((n_volume - half, 3))
    u = (u - u.min(1, keepdims=True)) / np.maximum(
        np.ptp(u, axis=1, keepdims=True), 1e-12
    )
    sat = rng.random((n_volume - half, 1)) ** 0.5
    groups.append(("ap1_volume", np.concatenate([cube, level * (1.0 - sat * u)])))
    level = 0.18 * np.exp2(rng.uniform(-10.0, 9.0, (n_boundary, 1)))
    u = rng.random((n_boundary, 3))
    lowest = np.argmin(u, axis=1)
    edge = rng.choice([0.0, 1e-4, 1e-3, 1e-2, -1e-3, -1e-2], size=n_boundary)
    u[np.arange(n_boundary), lowest] = edge
    two = rng.random(n_boundary) < 0.3  # on an AP1 primary: two components at ~0
    middle = np.argsort(u, axis=1)[:, 1]
    u[two, middle[two]] = edge[two]
    u /= np.maximum(np.abs(u).max(1, keepdims=True), 1e-12)
    groups.append(("ap1_boundary", level * u))
    starts = np.cumsum([0] + [len(g) for _, g in groups])
    return StressSet(
        ap1=np.ascontiguousarray(
            np.concatenate([g for _, g in groups]), dtype=np.float32
        ),
        groups=tuple(
            (name, int(a), int(b))
            for (name, _), a, b in zip(groups, starts[:-1], starts[1:], strict=True)
        ),
        seed=seed,
    )


# ITU-R BT.2100-2, Table 6: linear Rec.2020 RGB → LMS, and PQ L'M'S' → ICtCp.
_RGB_TO_LMS = np.array([[1688, 2146, 262], [683, 2951, 462], [99, 309, 3688]]) / 4096
_LMS_P_TO_ICTCP = (
    np.array([[2048, 2048, 0], [6610, -13613, 7003], [17933, -17390, -543]]) / 4096
)
# ITU-R BT.2124-0, §2: ΔE_ITP = 720 · √(ΔI² + ΔT² + ΔP²), T = Ct / 2, P = Cp.
_ITP_SCALE = np.array([1.0, 0.5, 1.0]) * 720.0


def _itp(light: NDArray[np.floating[Any]], primaries: str) -> NDArray[np.float64]:
    """Display light (cd/m², ``primaries``) → 720·(I, T, P) of BT.2124."""
    rgb = light
    if primaries != "rec2020":
        space = str(SPACES[primaries].colourspace)
        rgb = rgb @ matrix_rgb_to_rgb(space, "ITU-R BT.2020").T
    # ICtCp's PQ is absolute: RGB in cd/m² (L_p = 10 000).
    lms = eotf_inverse_st2084(np.maximum(rgb, 0.0) @ _RGB_TO_LMS.T)
    return np.asarray((lms @ _LMS_P_TO_ICTCP.T) * _ITP_SCALE, np.float64)


def _delta_e_itp(
    signal_a: NDArray[np.float32], signal_b: NDArray[np.float32], target: Target
) -> NDArray[np.float64]:
    """ΔE_ITP (ITU-R BT.2124) between two encoded display signals.

    numpy, not colour-science (whose import costs ~0.4 s before a job's first
    frame); tests check it against colour-science's ``delta_E_ITP``.
    """
    a = decode_to_luminance(signal_a.reshape(-1, 3).astype(np.float64), target)
    b = decode_to_luminance(signal_b.reshape(-1, 3).astype(np.float64), target)
    diff: NDArray[np.float64] = _itp(a, target.primaries) - _itp(b, target.primaries)
    return np.asarray(np.sqrt(np.einsum("ij,ij->i", diff, diff)), np.float64)


def signal_errors(
    exact: NDArray[np.float32],
    fast: NDArray[np.float32],
    target: Target,
    served: NDArray[np.bool_] | None = None,
    groups: Iterable[tuple[str, int, int]] = (),
    *,
    delta_e_pixels: int = 0,
) -> BakeErrors:
    """Compare two encoded display signals (…, 3|4) over the ``served`` pixels.

    Returns p99.9 / max of the per-pixel max channel error in 10-bit code
    values and max ΔE_ITP (see :class:`BakeErrors`). With ``served=None`` every
    pixel counts. ΔE_ITP is computed on at most ``delta_e_pixels`` pixels
    (default :data:`DELTA_E_PIXELS`): the half with the largest code error plus
    a stride sample of the rest.
    """
    limit = delta_e_pixels or DELTA_E_PIXELS
    a = np.asarray(exact, np.float32)[..., :3].reshape(-1, 3)
    b = np.asarray(fast, np.float32)[..., :3].reshape(-1, 3)
    mask = (
        np.ones(a.shape[0], bool) if served is None else np.asarray(served).reshape(-1)
    )
    code = np.abs(a.astype(np.float64) - b).max(axis=1) * CODE10
    code = np.where(
        np.isnan(code), np.inf, code
    )  # a NaN where exact is finite is an error
    both_nan = np.isnan(a).any(1) & np.isnan(b).any(1)
    code[both_nan] = 0.0
    delta = np.zeros(a.shape[0])
    finite = mask & ~both_nan
    if finite.sum() > limit:
        idx = np.flatnonzero(finite)
        top = idx[np.argpartition(code[idx], idx.size - limit // 2)[-(limit // 2) :]]
        stride = idx[:: max(1, 2 * idx.size // limit)]
        finite = np.zeros_like(finite)
        finite[top] = True
        finite[stride] = True
    if finite.any():
        delta[finite] = _delta_e_itp(a[finite], b[finite], target)

    def stats(sel: NDArray[np.bool_]) -> tuple[float, float, float]:
        if not sel.any():
            return 0.0, 0.0, 0.0
        c = code[sel]
        return float(np.percentile(c, 99.9)), float(c.max()), float(delta[sel].max())

    p, mx, de = stats(mask)
    per_group = {}
    for name, start, stop in groups:
        sel = np.zeros_like(mask)
        sel[start:stop] = mask[start:stop]
        gp, gmx, gde = stats(sel)
        per_group[name] = {
            "p999_code10": round(gp, 4),
            "max_code10": round(gmx, 4),
            "max_delta_e_itp": round(gde, 4),
            "served": round(float(mask[start:stop].mean()) if stop > start else 0.0, 4),
        }
    return BakeErrors(
        p999_code10=p,
        max_code10=mx,
        max_delta_e_itp=de,
        served=float(mask.mean()) if mask.size else 0.0,
        samples=int(mask.size),
        groups=per_group,
    )
