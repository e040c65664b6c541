"""What an encode kept of the picture's texture: grain σ of a flat patch.

A preset's grain target (``DeliverySpec.grain_retention_min``)
is judged with these measures (``docs/presets.md``):

* **grain σ** of a plane: the standard deviation of the plane minus its own
  3×3 box mean (a high-pass that removes the slow gradient a flat patch still
  has, and keeps the pixel-scale texture), over the interior of a patch
  (:func:`highpass_sigma`);
* **grain retention**: grain σ of the decoded deliverable's Y' plane over the
  grain σ of the same patch of the reference Y' — the exact colour-transformed
  source in the same code values (the deliverable's bit depth, narrow range) —
  as an RMS over frames (:func:`grain_retention`).

A codec that smooths grain scores below 1; one that adds noise of its own can
score above 1, so the measure is a floor for masters, not a fidelity score.

A master's bitrate floor (``DeliverySpec.bitrate_floor``) is checked after
encoding, not forced (x265 in CRF mode has no minimum-bitrate control):
:func:`bitrate_floor_finding` says when a movie landed below it.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .presets import DeliverySpec

__all__ = [
    "HIGHPASS_BOX",
    "highpass_sigma",
    "grain_retention",
    "bitrate_floor_finding",
]

#: Side of the box mean the high-pass removes, in pixels.
HIGHPASS_BOX = 3


def highpass_sigma(plane: ArrayLike) -> float:
    """Return the σ of ``plane`` minus its 3×3 box mean (interior pixels).

    ``plane``: (H, W) code values (any numeric dtype; H, W ≥ 3). Returns σ in
    the same units. For white noise of σ ``s`` the result is
    ``s * sqrt(1 - 1/9)`` (the pixel's own weight in the mean removed).

    >>> rng = np.random.default_rng(0)
    >>> round(highpass_sigma(rng.normal(0, 2.0, (400, 400))) / 2.0, 2)
    0.94
    """
    a = np.asarray(plane, dtype=np.float64)
    if a.ndim != 2 or min(a.shape) < HIGHPASS_BOX:
        raise ValueError(f"highpass_sigma needs a 2-D plane of >= 3x3, got {a.shape}")
    h, w = a.shape
    mean = np.zeros((h - 2, w - 2))
    for dy in range(3):
        for dx in range(3):
            mean += a[dy : dy + h - 2, dx : dx + w - 2]
    mean /= 9.0
    return float(np.std(a[1:-1, 1:-1] - mean))


def grain_retention(
    decoded: Sequence[ArrayLike], reference: Sequence[ArrayLike]
) -> float:
    """Return RMS grain σ of ``decoded`` patches over that of ``reference`` patches.

    Both are sequences of (H, W) Y' patches in the same code values, frame by
    frame. 1.0 keeps the grain; 0.15 removes 85 % of it.
    """
    if len(decoded) != len(reference) or not decoded:
        raise ValueError(
            f"grain_retention needs as many decoded as reference patches (> 0), "
            f"got {len(decoded)} and {len(reference)}"
        )
    dec = np.sqrt(np.mean([highpass_sigma(d) ** 2 for d in decoded]))
    ref = np.sqrt(np.mean([highpass_sigma(r) ** 2 for r in reference]))
    if ref == 0:
        raise ValueError("the reference patches have no grain to keep")
    return float(dec / ref)


def bitrate_floor_finding(
    spec: DeliverySpec,
    path: Path,
    *,
    frames: int,
    width: int,
    height: int,
    fps: Fraction,
) -> dict[str, Any] | None:
    """Return a ``bitrate_below_floor`` finding when a movie is under its floor.

    The bitrate is the file's size in bits over its duration (``frames / fps``
    seconds), container overhead included. ``None`` for EXR, presets without a
    floor, empty files and movies at or above the floor.
    """
    floor = spec.bitrate_floor(width, height, fps)
    if floor is None or spec.kind != "video" or frames <= 0:
        return None
    bitrate = path.stat().st_size * 8 / float(frames / fps)
    if bitrate >= floor:
        return None
    return {
        "id": "bitrate_below_floor",
        "severity": "warning",
        "message": (
            f"{path}: {bitrate / 1e6:.2f} Mb/s is below the {spec.name} "
            f"{spec.purpose} floor of {floor / 1e6:.2f} Mb/s "
            f"({spec.min_bits_per_pixel} bit/pixel); a recipient's QC may reject it"
        ),
        "details": {"bitrate": round(bitrate), "floor": round(floor)},
    }
