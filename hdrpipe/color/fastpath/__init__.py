"""Verified baked-LUT fast path for :class:`~hdrpipe.color.Transform`, hybrid routed.

The exact ACES 2.0 output transform costs ~0.8 s of CPU per 1080p frame
(docs/design-notes.md). For a (config, source, target, look) this module bakes the
exact OCIO processor once into a 3D LUT and evaluates it with OCIO:

``source → ACEScg (AP1, OCIO matrix) → LUT coordinates → Lut3D (tetrahedral)``

The LUT samples the exact path at the AP1 values of its grid nodes, so it
stands in for the whole colour stage: OCIO (look and output transform
included) and the target's numpy post-step (the HLG re-encoding of the PQ
render), which the exact path runs per pixel. Two LUT domains (coordinates)
are tried, in order, until one meets the budget:

* ``rgb-log`` (:class:`Shaper`): clamp AP1 ≥ 0, log2(x + 2⁻¹⁰) per channel over
  0…256 — the PQ targets pass with it;
* ``chroma`` (:class:`ChromaDomain`): log2 of r + g + b and the chromaticity
  (r/s, g/s) over the range a min/max ``floor`` allows — the SDR and HLG views
  bend too much across chroma for the first (SDR: p99.9 2.5 code values) and
  pass with it, routing the more saturated pixels to the exact processor.

A node that lands on one of the exact transform's isolated singular points
(OCIO 2.6's ACES 2.0 SDR view returns black for some bright greens) is
re-sampled next to it (:func:`_bake_lut`).

Hybrid evaluation: the output transform's gamut mapping bends sharply near the
AP1 boundary, where a LUT is off by hundreds of code values. A pixel is served
by the LUT only when, in AP1,

``min(r, g, b) ≥ (1 − threshold) · max(r, g, b)`` and ``max(r, g, b) ≤ ceiling``

and it is inside the domain (AP1 saturation ``(max − min) / max`` below
``threshold``, inside the LUT range, finite); every other pixel (near or
beyond the AP1 boundary, negative components, speculars above the LUT range,
NaN/Inf) goes through the exact processor, so those pixels are bit-identical
to the exact path. ``threshold`` is calibrated per bake on the stress set: the
largest of :data:`SATURATION_THRESHOLDS` whose served samples meet the budget.

Verification (issue #9, docs/design-notes.md "Colour"): each bake is compared with the
exact processor on a stress set (grey ramp −10…+8 stops around 0.18, the
ColorChecker 24 under an exposure sweep, dense AP1-volume samples, the AP1
gamut boundary) and — in ``auto`` mode — on the first frame the Transform
converts. Errors are measured on the final signal over the pixels the LUT
serves: p99.9 and max of the per-pixel max channel error in 10-bit code values
(signal × 1023), and max ΔE_ITP (ITU-R BT.2124, colour-science
``delta_E_ITP`` of ``RGB_to_ICtCp`` of the decoded display light in
Rec.2020). Budget: p99.9 ≤ 1 code value and max ΔE_ITP ≤ 2. A bake over
budget is rejected: ``auto`` uses the exact path (logged at INFO with the
reason), ``fast`` uses it anyway (logged at WARNING).

Colour paths (``Transform(color_path=…)``; when not given, ``$HDRPIPE_COLOR_PATH``,
else ``"exact"``): ``exact`` — OCIO exact processor; ``fast`` — hybrid LUT path
whenever a bake exists (display targets); ``auto`` — hybrid LUT path when the
bake and the first frame are within budget, else exact.

``$HDRPIPE_LUT_SIZE`` overrides the LUT size of Transform bakes (default
:data:`DEFAULT_LUT_SIZE`; experiments and tests).

Cache: bakes are stored as ``<key>.npz`` in ``$HDRPIPE_CACHE`` or
``~/.cache/hdrpipe/luts`` (:mod:`.bake`).

Modules, in the order the data flows: :mod:`.domains` (LUT coordinates),
:mod:`.accuracy` (stress set, error metrics, budget), :mod:`.evaluate` (hybrid
LUT/exact evaluation), :mod:`.bake` (baking, verification, cache),
:mod:`.state` (the colour path a Transform uses).
"""

from __future__ import annotations

from .accuracy import (
    BUDGET_MAX_DELTA_E_ITP,
    BUDGET_P999_CODE10,
    BakeErrors,
    StressSet,
    signal_errors,
    stress_set,
)
from .bake import (
    CACHE_ENV,
    CHROMA_FLOORS,
    DEFAULT_LUT_SIZE,
    SATURATION_THRESHOLDS,
    Bake,
    bake,
    cache_dir,
    clear_memory_cache,
    verify,
)
from .bake import _bake_lut as _bake_lut  # private, for tests
from .bake import _exact_at as _exact_at  # private, for tests
from .domains import ChromaDomain, Domain, Shaper
from .evaluate import FastPath, measure_errors
from .evaluate import _ap1_colorspace as _ap1_colorspace  # private, for tests
from .state import COLOR_PATH_ENV, ColorPath, color_path_state, resolve_color_path

__all__ = [
    "ColorPath",
    "COLOR_PATH_ENV",
    "CACHE_ENV",
    "BUDGET_P999_CODE10",
    "BUDGET_MAX_DELTA_E_ITP",
    "DEFAULT_LUT_SIZE",
    "SATURATION_THRESHOLDS",
    "CHROMA_FLOORS",
    "Shaper",
    "ChromaDomain",
    "Domain",
    "StressSet",
    "BakeErrors",
    "Bake",
    "FastPath",
    "resolve_color_path",
    "color_path_state",
    "cache_dir",
    "clear_memory_cache",
    "stress_set",
    "bake",
    "measure_errors",
    "verify",
    "signal_errors",
]
