"""Encode test helpers: synthetic display-referred frames and a PyAV plane decoder."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
from numpy.typing import NDArray

__all__ = ["make_frames", "decode_planes", "psnr"]


def make_frames(
    n: int, width: int, height: int, *, alpha: bool = False, seed: int = 7
) -> list[NDArray[np.float32]]:
    """Return ``n`` smooth-but-textured R'G'B'(A) frames in [0.05, 0.95] that move
    a little.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    frames = []
    for i in range(n):
        r = 0.5 + 0.4 * np.sin(2 * np.pi * (xx / width + 0.03 * i))
        g = 0.5 + 0.4 * np.cos(2 * np.pi * (yy / height - 0.02 * i))
        b = 0.5 + 0.4 * np.sin(2 * np.pi * ((xx + yy) / (width + height)))
        rgb = np.stack([r, g, b], axis=-1) + rng.normal(0.0, 0.004, (height, width, 3))
        if alpha:
            a = np.clip((xx / width)[..., None], 0.0, 1.0)
            rgb = np.concatenate([rgb, a], axis=-1)
        frames.append(np.ascontiguousarray(np.clip(rgb, 0.05, 0.95), dtype=np.float32))
    return frames


def _plane(plane: av.video.plane.VideoPlane, dtype: type) -> NDArray:
    itemsize = np.dtype(dtype).itemsize
    buf = np.frombuffer(plane, dtype=dtype).reshape(-1, plane.line_size // itemsize)
    return buf[: plane.height, : plane.width].copy()


def decode_planes(path: Path) -> tuple[list[list[NDArray]], int, str]:
    """Decode every frame of ``path``; return ([Y, Cb, Cr(, A)] per frame, bit
    depth, pix_fmt).
    """
    out = []
    with av.open(str(path)) as c:
        for frame in c.decode(video=0):
            bits = frame.format.components[0].bits
            dtype = np.uint8 if bits <= 8 else np.uint16
            out.append([_plane(p, dtype) for p in frame.planes])
            fmt = frame.format.name
    return out, bits, fmt


def psnr(a: NDArray, b: NDArray, peak: float = 1.0) -> float:
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(peak * peak / mse)
