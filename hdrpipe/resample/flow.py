"""Motion-compensated frame interpolation with OpenCV's DIS optical flow.

Method
------
1. Motion is estimated on a structure image, not on light: a luminance-like
   weighted sum of R, G, B, encoded as ``log2(Y + 2**-10)`` and stretched over
   8 bits between the 0.5th and 99.5th percentiles of the frame pair (DIS
   works on 8-bit single-channel images, and in scene-linear light a specular
   would take every code value). Only this structure image is 8-bit; the
   pixels themselves are warped and blended in float32. Frames larger than
   ``max_size`` pixels on their long side are downscaled first (area filter)
   and the flow is estimated there (default 320: a 1080p flow costs what a
   320×180 one costs; the flow is upsampled bilinearly for the warp).
2. DIS (Kroeger et al., "Fast Optical Flow using Dense Inverse Search",
   ECCV 2016; ``cv2.DISOpticalFlow``) gives the forward flow A→B and the
   backward flow B→A, down to the finest level of the (already reduced)
   raster. ``ultrafast`` (the default) is OpenCV's ultrafast preset, ``fast``
   its fast preset with patch stride 3 (adds the variational refinement of
   Brox et al., ECCV 2004), ``medium`` its medium preset with patch stride 2
   and 12 descent iterations; ``bench/retime.py`` measures them against a
   48 fps ground truth and FFmpeg's ``minterpolate``.
3. Scene cuts: the local zero-mean normalised cross-correlation between each
   structure image and the other one warped onto it by the flow
   (:func:`match_fraction`) tells how much of the texture the flow carries
   across. A continuous shot matches ~99 % of its texture, including under a
   flash or exposure change (correlation ignores gain); two shots match a few
   per cent. Below ``CUT_MATCH`` the pair is a cut (:attr:`FlowPair.cut`) and
   :func:`interpolate` never mixes the two shots: it holds the nearer frame
   (``t <= 0.5`` holds A, as the ``nearest`` retime does).
4. For each pixel ``x`` of the intermediate frame at time ``t``, the motion
   ``u`` of the point found there is solved from each side as a fixed point:
   ``u = F_AB(x - t u)`` (the A pixel that lands on ``x``) and
   ``u = -F_BA(x + (1 - t) u)``. A candidate is trusted when its fixed point
   converged and its source pixel passes the forward/backward consistency
   check ``|w + ŵ|² < 0.01 (|w|² + |ŵ|²) + 0.5`` (Sundaram, Brox, Keutzer,
   "Dense Point Trajectories by GPU-accelerated Large Displacement Optical
   Flow", ECCV 2010, eq. 5) — i.e. it is visible in both frames.
5. Visible in both: A is sampled at ``x - t u`` and B at ``x + (1 - t) u``
   (bilinear, ``cv2.remap``) and blended ``(1 - t, t)`` in scene-linear light.
   A converged point visible in one frame only (occluded in the other) takes
   that frame alone. Where neither holds, the flows disagree and the pixel
   falls back to a plain blend (the confidence map is this per-pixel choice;
   it is upsampled bilinearly, so the fallback fades in over a few pixels
   instead of tearing). Alpha (4th channel) is warped like colour.

Bilinear (not cubic) sampling is used so HDR speculars never ring negative.
Known limit: DIS is coarse-to-fine, so a small object moving much farther than
its own size between frames (e.g. a 45 px bar moving 70 px) is not tracked;
it falls back to the surrounding motion or to a blend there.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from ..errors import ConformError

__all__ = [
    "Preset",
    "PRESETS",
    "CUT_MATCH",
    "FlowPair",
    "match_fraction",
    "estimate_flow",
    "interpolate",
    "FlowCache",
]

log = logging.getLogger(__name__)

Preset = Literal["ultrafast", "fast", "medium"]
#: Preset name → the name of its ``cv2.DISOpticalFlow`` preset constant.
PRESETS: dict[str, str] = {
    "ultrafast": "DISOPTICAL_FLOW_PRESET_ULTRAFAST",
    "fast": "DISOPTICAL_FLOW_PRESET_FAST",
    "medium": "DISOPTICAL_FLOW_PRESET_MEDIUM",
}

#: Long side (pixels) above which the flow is estimated on a downscaled image.
DEFAULT_MAX_SIZE = 320
#: DIS preset used when none is given.
DEFAULT_PRESET: Preset = "ultrafast"

# Structure-image weights: the Y row of the ACEScg (AP1) RGB→XYZ matrix
# (ACES TB-2014-004, NPM for AP1). All positive, so saturated colours keep
# their texture; exact luminance is not needed to estimate motion.
_STRUCTURE_WEIGHTS = np.array(
    [0.2722287168, 0.6740817658, 0.0536895174], dtype=np.float32
)
_LOG_OFFSET = 2.0**-10  # scene-linear offset before log2: black stays finite
_MIN_STOPS = 2.0  # narrowest log2 range stretched over the 8 bits
_FIXED_POINT_ITERATIONS = 4

#: Below this :attr:`FlowPair.match`, a frame pair is a scene cut.
CUT_MATCH = 0.3
_MATCH_WINDOW = 7  # pixels (flow raster) of the local correlation window
_MATCH_NCC = 0.8  # local correlation above which a pixel counts as matched
# Variance (8-bit structure codes²) added to both sides of the correlation: a
# flat area matches a flat area, never a textured one.
_MATCH_FLAT_VAR = 4.0


@dataclass(frozen=True, slots=True)
class FlowPair:
    """Forward (A→B) and backward (B→A) flow of a frame pair.

    ``forward``/``backward`` are float32 (h, w, 2) displacements in pixels of
    the flow raster (h, w), which is the frame raster ``size`` (H, W)
    downscaled to at most ``max_size`` on the long side.
    """

    forward: NDArray[np.float32]
    backward: NDArray[np.float32]
    size: tuple[int, int]
    #: Fraction (0…1) of textured pixels whose neighbourhood the flow matches
    #: in the other frame (see :func:`match_fraction`); 1.0 when not measured.
    match: float = 1.0

    @property
    def cut(self) -> bool:
        """True when the pair straddles a scene cut (``match < CUT_MATCH``)."""
        return self.match < CUT_MATCH


def _check_pair(frame_a: NDArray[np.float32], frame_b: NDArray[np.float32]) -> None:
    if frame_a.shape != frame_b.shape:
        raise ConformError(
            f"flow: frames differ in shape, {frame_a.shape} vs {frame_b.shape}"
        )
    if frame_a.ndim != 3 or frame_a.shape[2] not in (3, 4):
        raise ConformError(f"flow: frames must be (H, W, 3|4), got {frame_a.shape}")


def _flow_raster(height: int, width: int, max_size: int) -> tuple[int, int]:
    scale = min(1.0, max_size / max(height, width))
    return max(8, round(height * scale)), max(8, round(width * scale))


def _structure(
    frame: NDArray[np.float32], raster: tuple[int, int]
) -> NDArray[np.float32]:
    """Return log2 structure image (h, w) float32 of an (H, W, C) frame."""
    import cv2  # on first use: 0.05-0.15 s that jobs without a flow retime skip

    rgb = frame[..., :3]
    h, w = raster
    if (h, w) != rgb.shape[:2]:
        small = cv2.resize(
            np.ascontiguousarray(rgb), (w, h), interpolation=cv2.INTER_AREA
        )
        rgb = np.asarray(small, dtype=np.float32)
    y = np.nan_to_num(rgb @ _STRUCTURE_WEIGHTS, nan=0.0, posinf=65504.0, neginf=0.0)
    log_y = np.log2(np.maximum(y, 0.0) + np.float32(_LOG_OFFSET))
    return np.asarray(log_y, dtype=np.float32)


def _to_u8(
    log_a: NDArray[np.float32], log_b: NDArray[np.float32]
) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    both = np.concatenate([log_a[::2, ::2].ravel(), log_b[::2, ::2].ravel()])
    lo, hi = (float(v) for v in np.percentile(both, (0.5, 99.5)))
    if hi - lo < _MIN_STOPS:
        mid = 0.5 * (hi + lo)
        lo, hi = mid - _MIN_STOPS / 2, mid + _MIN_STOPS / 2
    gain = np.float32(255.0 / (hi - lo))
    out = []
    for lg in (log_a, log_b):
        code = (lg - np.float32(lo)) * gain + np.float32(0.5)
        out.append(np.clip(code, 0, 255).astype(np.uint8))
    return out[0], out[1]


def _match_one(
    u8_a: NDArray[np.uint8], u8_b: NDArray[np.uint8], flow: NDArray[np.float32]
) -> tuple[float, float]:
    """Return (matched, textured) pixel counts of A against B warped by ``flow``."""
    import cv2

    a = u8_a.astype(np.float32)
    b = _remap(u8_b.astype(np.float32), _grid(*a.shape) + flow)
    win = (_MATCH_WINDOW, _MATCH_WINDOW)

    def mean(x: NDArray[np.float32]) -> NDArray[np.float32]:
        return np.asarray(cv2.blur(x, win, borderType=cv2.BORDER_REFLECT))

    mu_a, mu_b = mean(a), mean(b)
    var_a = mean(a * a) - mu_a * mu_a
    var_b = mean(b * b) - mu_b * mu_b
    cov = mean(a * b) - mu_a * mu_b
    flat = np.float32(_MATCH_FLAT_VAR)
    ncc = cov / np.sqrt((np.maximum(var_a, 0) + flat) * (np.maximum(var_b, 0) + flat))
    textured = (var_a > flat) | (var_b > flat)
    return float(np.count_nonzero(textured & (ncc > _MATCH_NCC))), float(
        np.count_nonzero(textured)
    )


def match_fraction(
    u8_a: NDArray[np.uint8],
    u8_b: NDArray[np.uint8],
    forward: NDArray[np.float32],
    backward: NDArray[np.float32],
) -> float:
    """Return the fraction (0…1) of textured pixels the flows carry to a match.

    Each structure image (uint8, (h, w)) is compared with the other one warped
    onto it by the flow ((h, w, 2) float32, pixels) through the local zero-mean
    normalised cross-correlation over a 7×7 window; a pixel is matched above
    0.8. Correlation ignores gain and offset, so a flash or an exposure change
    still matches; a scene cut does not (its flow finds nothing to carry).
    Flat pixels in both images carry no evidence and are not counted; a frame
    pair with no texture at all returns 1.0.
    """
    m_a, n_a = _match_one(u8_a, u8_b, forward)
    m_b, n_b = _match_one(u8_b, u8_a, backward)
    return 1.0 if n_a + n_b == 0 else (m_a + m_b) / (n_a + n_b)


def estimate_flow(
    frame_a: NDArray[np.float32],
    frame_b: NDArray[np.float32],
    *,
    preset: Preset = DEFAULT_PRESET,
    max_size: int = DEFAULT_MAX_SIZE,
) -> FlowPair:
    """Estimate forward and backward DIS optical flow between two frames.

    Parameters
    ----------
    frame_a, frame_b
        Scene-linear float32 (H, W, 3|4) frames of one shape.
    preset
        DIS preset: ``ultrafast``, ``fast`` or ``medium``.
    max_size
        Longest side, in pixels, of the raster the flow is estimated on.

    Returns
    -------
    The :class:`FlowPair`, with :attr:`FlowPair.match` measured (a scene cut
    between the frames shows as :attr:`FlowPair.cut`).
    """
    import cv2

    _check_pair(frame_a, frame_b)
    if preset not in PRESETS:
        raise ConformError(
            f"unknown optical-flow preset {preset!r}; choose {', '.join(PRESETS)}"
        )
    raster = _flow_raster(frame_a.shape[0], frame_a.shape[1], max_size)
    u8_a, u8_b = _to_u8(_structure(frame_a, raster), _structure(frame_b, raster))
    cv: Any = cv2  # the DIS API is missing from some releases' stubs
    try:
        dis = cv.DISOpticalFlow_create(getattr(cv, PRESETS[preset]))
        # The presets stop one pyramid level above the input (finest scale 1);
        # the raster is already reduced to max_size, so go down to its pixels:
        # motion edges are much sharper (MAE on the test square: 0.0097 → 0.0063).
        dis.setFinestScale(0)
        if preset == "medium":
            # Denser patches: on a 6 px-period texture at stride 3, a third of the
            # flow vectors were off by 0.5-1 px; stride 2 gets them all, and 12
            # descent steps per patch (instead of 25) pay for it (bench/retime.py).
            dis.setPatchStride(2)
            dis.setGradientDescentIterations(12)
        elif preset == "fast":
            dis.setPatchStride(3)
        forward = dis.calc(u8_a, u8_b, None)
        backward = dis.calc(u8_b, u8_a, None)
        match = match_fraction(u8_a, u8_b, forward, backward)
    except cv2.error as err:
        raise ConformError(f"DIS optical flow failed: {err}") from err
    return FlowPair(forward, backward, (frame_a.shape[0], frame_a.shape[1]), match)


@functools.lru_cache(maxsize=4)
def _grid(height: int, width: int) -> NDArray[np.float32]:
    """Read-only (H, W, 2) float32 pixel coordinates (x, y) for ``cv2.remap``."""
    grid = np.empty((height, width, 2), dtype=np.float32)
    grid[..., 0] = np.arange(width, dtype=np.float32)[None, :]
    grid[..., 1] = np.arange(height, dtype=np.float32)[:, None]
    grid.flags.writeable = False
    return grid


def _remap(
    image: NDArray[np.float32], coords: NDArray[np.float32]
) -> NDArray[np.float32]:
    """Sample ``image`` bilinearly at (H, W, 2) float32 ``coords`` (edges repeat)."""
    import cv2

    # map2=None: coords hold x and y (OpenCV's stubs, which change between
    # releases, do not admit it; the call goes through an untyped alias).
    cv: Any = cv2
    out = cv.remap(image, coords, None, cv.INTER_LINEAR, borderMode=cv.BORDER_REPLICATE)
    if out.ndim == 2 and image.ndim == 3:
        out = out[..., None]
    return np.asarray(out, dtype=np.float32)


def _sq(v: NDArray[np.float32]) -> NDArray[np.float32]:
    x, y = v[..., 0], v[..., 1]
    return x * x + y * y


def _consistent(
    w: NDArray[np.float32], w_hat: NDArray[np.float32]
) -> NDArray[np.bool_]:
    # Sundaram et al. 2010, eq. 5: |w + ŵ|² < 0.01 (|w|² + |ŵ|²) + 0.5
    return _sq(w + w_hat) < 0.01 * (_sq(w) + _sq(w_hat)) + 0.5


def _motion_field(
    pair: FlowPair, t: float
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Return motion ``u`` (h, w, 2) at time t and the weight of frame A (h, w)."""
    fwd, bwd = pair.forward, pair.backward
    h, w = fwd.shape[:2]
    grid = _grid(h, w)
    t32, s32 = np.float32(t), np.float32(1.0 - t)

    # Per source pixel: is it visible in the other frame (forward/backward check)?
    vis_a = _consistent(fwd, _remap(bwd, grid + fwd)).astype(np.float32)
    vis_b = _consistent(bwd, _remap(fwd, grid + bwd)).astype(np.float32)

    # Fixed points: u = F_AB(x - t u) and u = -F_BA(x + (1 - t) u).
    u_a = fwd
    for _ in range(_FIXED_POINT_ITERATIONS):
        u_a = _remap(fwd, grid - t32 * u_a)
    u_b = -bwd
    for _ in range(_FIXED_POINT_ITERATIONS):
        u_b = -_remap(bwd, grid + s32 * u_b)
    at_a, at_b = grid - t32 * u_a, grid + s32 * u_b
    conv_a = _consistent(_remap(fwd, at_a), -u_a)
    conv_b = _consistent(-_remap(bwd, at_b), -u_b)
    seen_a = _remap(vis_a, at_a) > 0.5
    seen_b = _remap(vis_b, at_b) > 0.5

    good_a, good_b = conv_a & seen_a, conv_b & seen_b
    only_a = conv_a & ~seen_a & ~good_b
    only_b = conv_b & ~seen_b & ~good_a
    # Seen by one frame only on both sides: trust the frame nearer in time.
    a_alone = only_a & (~only_b | (t < 0.5))
    b_alone = only_b & ~a_alone
    both = good_a & good_b & _consistent(u_a, -u_b)

    u = np.where(
        both[..., None],
        0.5 * (u_a + u_b),
        np.where(
            (good_a | a_alone)[..., None],
            u_a,
            np.where((good_b | b_alone)[..., None], u_b, 0),
        ),
    ).astype(np.float32)
    weight_a = np.where(a_alone & ~good_a, 1.0, np.where(b_alone & ~good_b, 0.0, s32))
    weight_a = weight_a.astype(np.float32)
    if log.isEnabledFor(logging.DEBUG):
        log.debug(
            "flow t=%.3f: both %.1f%%, A only %.1f%%, B only %.1f%%, blend %.1f%%",
            t,
            100 * np.mean(good_a | good_b),
            100 * np.mean(a_alone),
            100 * np.mean(b_alone),
            100 * np.mean(~(good_a | good_b | a_alone | b_alone)),
        )
    return u, weight_a


def interpolate(
    frame_a: NDArray[np.float32],
    frame_b: NDArray[np.float32],
    t: float,
    *,
    preset: Preset = DEFAULT_PRESET,
    max_size: int = DEFAULT_MAX_SIZE,
    flows: FlowPair | None = None,
) -> NDArray[np.float32]:
    """Return the frame at time ``t`` between ``frame_a`` (t=0) and ``frame_b`` (t=1).

    Motion-compensated (see the module docstring); across a scene cut
    (:attr:`FlowPair.cut`) a copy of the nearer frame, ``frame_a`` for
    ``t <= 0.5``.

    Parameters
    ----------
    frame_a, frame_b
        Scene-linear float32 (H, W, 3|4) frames of one shape (RGBA premultiplied).
    t
        Phase in [0, 1].
    preset, max_size
        DIS preset and flow raster size, see :func:`estimate_flow`.
    flows
        A precomputed :class:`FlowPair` of these frames (skips estimation).

    Returns
    -------
    New float32 (H, W, C) C-contiguous array in the same light as the input.
    """
    import cv2

    _check_pair(frame_a, frame_b)
    if not 0.0 <= t <= 1.0:
        raise ConformError(f"flow: phase t must be in [0, 1], got {t}")
    if t == 0.0:
        return np.array(frame_a, dtype=np.float32, order="C")
    if t == 1.0:
        return np.array(frame_b, dtype=np.float32, order="C")
    a = np.ascontiguousarray(frame_a, dtype=np.float32)
    b = np.ascontiguousarray(frame_b, dtype=np.float32)
    if flows is None:
        flows = estimate_flow(a, b, preset=preset, max_size=max_size)
    height, width = a.shape[:2]
    if flows.size != (height, width):
        raise ConformError(
            f"flow: FlowPair is for {flows.size}, frames are {(height, width)}"
        )
    if flows.cut:
        # Nothing moves from one shot into the other: hold the nearer frame
        # (ties to the earlier one, as the ``nearest`` retime does).
        log.info(
            "flow: scene cut (%.0f%% of texture matched), t=%.3f holds frame %s",
            100 * flows.match,
            t,
            "A" if t <= 0.5 else "B",
        )
        return np.array(a if t <= 0.5 else b, dtype=np.float32, order="C")
    try:
        u, weight_a = _motion_field(flows, t)
        h, w = u.shape[:2]
        if (h, w) != (height, width):
            full = (width, height)
            u = np.asarray(cv2.resize(u, full, interpolation=cv2.INTER_LINEAR))
            u *= np.array([width / w, height / h], dtype=np.float32)
            weight_a = np.asarray(
                cv2.resize(weight_a, full, interpolation=cv2.INTER_LINEAR)
            )
        grid = _grid(height, width)
        # Sampling maps built in place: at UHD each (H, W, 2) array is 66 MB.
        coords = np.multiply(u, np.float32(-t))
        coords += grid
        warped_a = _remap(a, coords)
        np.multiply(u, np.float32(1.0 - t), out=coords)
        coords += grid
        warped_b = _remap(b, coords)
    except cv2.error as err:
        raise ConformError(f"flow warp failed: {err}") from err
    # out = w_A * A' + (1 - w_A) * B', in place to spare full-size temporaries.
    warped_a -= warped_b
    warped_a *= weight_a[..., None]
    warped_a += warped_b
    return warped_a


class FlowCache:
    """Memoise the :class:`FlowPair` of source frame pairs (thread-safe, LRU).

    24 → 60 style maps reuse one pair for several output frames; the cache
    estimates its flow once. Keys are the source frame numbers.
    """

    def __init__(
        self,
        maxsize: int = 4,
        *,
        preset: Preset = DEFAULT_PRESET,
        max_size: int = DEFAULT_MAX_SIZE,
    ) -> None:
        self.maxsize = maxsize
        self.preset: Preset = preset
        self.max_size = max_size
        self._pairs: OrderedDict[tuple[int, int], FlowPair] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(
        self, a: int, b: int, frame_a: NDArray[np.float32], frame_b: NDArray[np.float32]
    ) -> FlowPair:
        """Return the flows of source frames ``a``→``b``, estimating them on a miss."""
        key = (a, b)
        with self._lock:
            pair = self._pairs.get(key)
            if pair is not None:
                self._pairs.move_to_end(key)
                self.hits += 1
                return pair
        pair = estimate_flow(
            frame_a, frame_b, preset=self.preset, max_size=self.max_size
        )
        with self._lock:
            self.misses += 1
            self._pairs[key] = pair
            self._pairs.move_to_end(key)
            while len(self._pairs) > self.maxsize:
                self._pairs.popitem(last=False)
        return pair

    def interpolate(
        self,
        a: int,
        b: int,
        frame_a: NDArray[np.float32],
        frame_b: NDArray[np.float32],
        t: float,
    ) -> NDArray[np.float32]:
        """:func:`interpolate` with the cached flows of source frames ``a``→``b``."""
        if t in (0.0, 1.0):
            return interpolate(frame_a, frame_b, t)
        return interpolate(frame_a, frame_b, t, flows=self.get(a, b, frame_a, frame_b))
