"""Retime benchmark: ms/frame of blend and optical-flow interpolation at 1080p.

Renders a textured square moving over a panning textured background
analytically at t = 0, 0.5, 1 (1920x1080 RGBA float32), interpolates the middle
frame and prints, per method/preset/flow raster: ms per output frame and the
mean absolute error against the true middle frame. Also prints the OpenImageIO
resize cost of 1080p -> UHD (lanczos3) for reformat.

    .venv/bin/python bench/retime.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from hdrpipe.conform import flow
from hdrpipe.conform.reformat import apply_reformat, plan_reformat, resize
from hdrpipe.conform.retime import blend

__all__: list[str] = []

H, W = 1080, 1920


def _background(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return 0.18 * 2.0 ** (
        1.5 * np.sin(0.031 * x + 0.7 * np.sin(0.013 * y))
        + np.cos(0.023 * y + 0.4 * np.sin(0.017 * x))
        + 0.5 * np.sin(0.21 * x) * np.sin(0.19 * y)
    )


def _square(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return 0.5 * 2.0 ** (
        2.0 * np.sin(0.15 * u) * np.cos(0.12 * v) + 0.6 * np.sin(0.5 * (u + v))
    )


def render(t: float) -> np.ndarray:
    """RGBA frame at time t: 6 px/frame pan, 400 px square moving 40,18 px/frame."""
    y, x = np.mgrid[0:H, 0:W].astype(np.float64) + 0.5
    img = _background(x - 6.0 * t, y)
    px, py = 600.0 + 40.0 * t, 300.0 + 18.0 * t
    u, v = x - px, y - py
    inside = (u >= 0) & (u < 400) & (v >= 0) & (v < 400)
    img = np.where(inside, _square(u, v), img)
    alpha = np.ones_like(img)
    return np.ascontiguousarray(
        np.stack([img, 0.8 * img + 0.01, 1.1 * img, alpha], -1), dtype=np.float32
    )


def _time(fn, repeat: int) -> tuple[float, np.ndarray]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best * 1000.0, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    a, truth, b = render(0.0), render(0.5), render(1.0)
    print(f"frames {W}x{H} RGBA float32; square 40,18 px/frame over a 6 px/frame pan")
    ms, out = _time(lambda: blend((a, b), (0.5, 0.5)), args.repeat)
    print(f"{'blend':<28} {ms:8.1f} ms/frame   MAE {np.abs(out - truth).mean():.5f}")
    for preset in ("fast", "medium"):
        for max_size in (480, 960, 1920):
            ms_est, pair = _time(
                lambda p=preset, m=max_size: flow.estimate_flow(
                    a, b, preset=p, max_size=m
                ),
                args.repeat,
            )
            ms_int, out = _time(
                lambda pr=pair: flow.interpolate(a, b, 0.5, flows=pr), args.repeat
            )
            label = f"flow {preset} @{max_size}px"
            print(
                f"{label:<28} {ms_est + ms_int:8.1f} ms/frame   "
                f"MAE {np.abs(out - truth).mean():.5f}   "
                f"(estimate {ms_est:.0f} ms + warp {ms_int:.0f} ms)"
            )
    placement = plan_reformat(W, H, 3840, 2160, "letterbox")
    ms, fast = _time(lambda: apply_reformat(a, placement), args.repeat)
    print(f"{'reformat HD->UHD lanczos3':<28} {ms:8.1f} ms/frame (RGBA, separable)")
    ms, ref = _time(lambda: resize(a, (3840, 2160), engine="oiio"), 1)
    print(
        f"{'  same via OIIO resize':<28} {ms:8.1f} ms/frame   "
        f"max |separable - OIIO| {np.abs(fast - ref).max():.2e}"
    )


if __name__ == "__main__":
    main()
