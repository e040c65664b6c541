"""The report's figures as ``data:`` URIs (matplotlib object API, Agg/SVG backends).

Never ``pyplot``: it costs ~1 s to import and keeps global state. Every figure
is a :class:`matplotlib.figure.Figure` saved to memory: line charts as SVG
(text kept as text: small, sharp in print), pictures and maps as PNG.
"""

from __future__ import annotations

import base64
import io
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "warm_up",
    "png_uri",
    "false_colour_uri",
    "light_levels_uri",
    "histogram_uri",
    "maps_uri",
    "series_uri",
    "spectrum_uri",
    "quantisation_uri",
    "FALSE_COLOUR_BANDS",
]

#: False-colour bands of display luminance, cd/m² (upper edges) and colours.
#: 203 cd/m² is HDR reference white (ITU-R BT.2408-7, 2.2); 1000 the usual
#: mastering peak of the presets.
FALSE_COLOUR_BANDS: tuple[tuple[float, str, str], ...] = (
    (0.1, "#000000", "< 0.1"),
    (1.0, "#1f2a6b", "0.1–1"),
    (10.0, "#2f6db5", "1–10"),
    (50.0, "#3fa34d", "10–50"),
    (100.0, "#8cc63e", "50–100"),
    (203.0, "#f2e33a", "100–203"),
    (400.0, "#f59a23", "203–400"),
    (1000.0, "#e8412c", "400–1000"),
    (1e9, "#ff4fd8", "> 1000"),
)

_INK = "#222222"
_ACCENT = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")


class WarmUp(threading.Thread):
    """Loads the plotting library in the background; ``cpu_seconds`` once joined."""

    def __init__(self) -> None:
        super().__init__(name="hdrpipe-report-warm-up", daemon=True)
        self.cpu_seconds = 0.0

    def run(self) -> None:
        start = time.thread_time()
        try:  # a failure here surfaces when the report draws, as a real error
            fig = _figure(1.0, 1.0)
            fig.add_subplot().plot([0, 1], [0, 1])
            _uri(fig, "png")  # fonts, Agg and the PNG writer loaded once
        except Exception:  # noqa: BLE001 - the report raises it properly later
            pass
        self.cpu_seconds = time.thread_time() - start


def warm_up() -> WarmUp:
    """Start loading matplotlib (~0.65 s of a report's ~0.9 s, measured) while
    the job runs, so the report drawn after it starts at once. Returns the
    thread (its ``cpu_seconds`` belong to the report's cost)."""
    thread = WarmUp()
    thread.start()
    return thread


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    # No layout engine: constrained layout costs more than drawing (measured).
    fig = Figure(figsize=(width, height), dpi=96)
    fig.subplots_adjust(left=0.09, right=0.97, top=0.92, bottom=0.18)
    return fig


def _plain_ticks(axis: Any) -> None:
    """Decade ticks labelled as plain numbers (``0.01``, ``1``, ``1000``).

    Log and symlog axes otherwise label ``$10^{2}$`` through mathtext, whose
    parser was most of the report's plotting time, and carry dozens of minor
    ticks, each a handful of artists (both measured); the grid marks decades.
    """
    from matplotlib.ticker import FuncFormatter, NullLocator

    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    axis.set_minor_locator(NullLocator())


def _uri(fig: Any, fmt: str) -> str:
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "hdrpipe"}):
        if fmt == "svg":
            fig.savefig(buf, format=fmt, metadata={"Date": None})
        else:  # zlib level 1: flat maps compress nearly as well, 3x faster
            fig.savefig(buf, format=fmt, pil_kwargs={"compress_level": 1})
    mime = "image/svg+xml" if fmt == "svg" else "image/png"
    return f"data:{mime};base64,{base64.b64encode(buf.getvalue()).decode('ascii')}"


def png_uri(rgb: NDArray[np.uint8]) -> str:
    """A (H, W, 3) uint8 picture as a PNG ``data:`` URI (no axes, 1:1 pixels).

    Encoded by Pillow (matplotlib's own PNG writer) without importing matplotlib.
    """
    from PIL import Image

    buf = io.BytesIO()
    # zlib level 1: graded pictures barely compress further, level 6 costs 3x.
    Image.fromarray(np.ascontiguousarray(rgb), "RGB").save(
        buf, format="png", compress_level=1
    )
    return f"data:image/png;base64,{base64.b64encode(buf.getvalue()).decode('ascii')}"


def false_colour_uri(luminance: NDArray[np.float32], title: str) -> str:
    """Display luminance (cd/m²) in :data:`FALSE_COLOUR_BANDS`, with its key."""
    from matplotlib.colors import BoundaryNorm, ListedColormap

    bounds = [0.0] + [b for b, _c, _l in FALSE_COLOUR_BANDS]
    cmap = ListedColormap([c for _b, c, _l in FALSE_COLOUR_BANDS])
    norm = BoundaryNorm(bounds, cmap.N)
    h, w = luminance.shape
    fig = _figure(7.0, max(2.2, 5.6 * h / w + 0.5))
    fig.subplots_adjust(left=0.02, right=0.84, top=0.92, bottom=0.03)
    ax = fig.add_subplot()
    im = ax.imshow(luminance, cmap=cmap, norm=norm, interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(title, fontsize=9, color=_INK)
    bar = fig.colorbar(im, ax=ax, fraction=0.05, pad=0.02)
    mids = [(a + b) / 2 for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    bar.set_ticks(mids[:-1] + [bounds[-2] * 1.5])
    bar.set_ticklabels([lbl for _b, _c, lbl in FALSE_COLOUR_BANDS])
    bar.ax.tick_params(labelsize=7)
    bar.set_label("cd/m²", fontsize=8)
    return _uri(fig, "png")


def light_levels_uri(
    frames: Sequence[int],
    max_rgb: Sequence[float],
    average: Sequence[float],
    *,
    max_cll: float | None,
    max_fall: float | None,
    peak: float | None,
    flagged: Sequence[int] = (),
) -> str:
    """Per-frame MaxRGB and frame-average light with MaxCLL, MaxFALL and the peak."""
    fig = _figure(7.5, 2.8)
    ax = fig.add_subplot()
    ax.plot(frames, max_rgb, marker=".", color=_ACCENT[1], label="frame MaxRGB")
    ax.plot(frames, average, marker=".", color=_ACCENT[0], label="frame average")
    if max_cll:
        ax.axhline(
            max_cll, color=_ACCENT[1], ls="--", lw=1, label=f"MaxCLL {max_cll:g}"
        )
    if max_fall:
        ax.axhline(
            max_fall, color=_ACCENT[0], ls="--", lw=1, label=f"MaxFALL {max_fall:g}"
        )
    if peak:
        ax.axhline(peak, color=_INK, ls=":", lw=1, label=f"mastering peak {peak:g}")
    for f in flagged:
        ax.axvline(f, color="#bbbbbb", lw=0.8, zorder=0)
    ax.set_yscale("symlog", linthresh=1.0)
    _plain_ticks(ax.yaxis)
    top = max([*max_rgb, max_cll or 0.0, peak or 0.0, 1.0])
    ax.set_ylim(0.0, top * 2.0)
    ax.set_xlabel("frame", fontsize=8)
    ax.set_ylabel("cd/m²", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(True, alpha=0.3)
    fig.subplots_adjust(right=0.76)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _uri(fig, "svg")


def histogram_uri(
    edges: Sequence[float], counts: Sequence[int], *, peak: float | None
) -> str:
    """Luminance histogram of the HDR master (log cd/m² axis)."""
    fig = _figure(7.5, 2.4)
    ax = fig.add_subplot()
    e = np.asarray(edges)
    c = np.asarray(counts, np.float64)
    total = c.sum() or 1.0
    ax.stairs(c / total * 100.0, e, fill=True, color=_ACCENT[0], alpha=0.7)
    ax.set_xscale("log")
    _plain_ticks(ax.xaxis)
    ax.axvline(203.0, color=_INK, ls=":", lw=1, label="reference white 203")
    if peak:
        ax.axvline(peak, color=_ACCENT[1], ls="--", lw=1, label=f"peak {peak:g}")
    ax.set_xlabel("display luminance, cd/m²", fontsize=8)
    ax.set_ylabel("% of pixels", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, loc="upper right")
    ax.grid(True, alpha=0.3)
    return _uri(fig, "svg")


def maps_uri(panels: Sequence[tuple[str, NDArray[Any]]], *, label: str) -> str:
    """Side-by-side heat maps (0 … 1) with one shared colour bar."""
    h, w = panels[0][1].shape
    cols = len(panels)
    fig = _figure(3.6 * cols + 0.8, max(2.0, 3.6 * h / w + 0.6))
    fig.subplots_adjust(left=0.02, right=0.86, top=0.88, bottom=0.04, wspace=0.05)
    axes = fig.subplots(1, cols, squeeze=False)[0]
    im = None
    for ax, (title, data) in zip(axes, panels, strict=True):
        im = ax.imshow(
            np.asarray(data, np.float32),
            cmap="magma",
            vmin=0.0,
            vmax=1.0,
            interpolation="nearest",
        )
        ax.set_title(title, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    bar = fig.colorbar(im, ax=list(axes), fraction=0.04, pad=0.02)
    bar.set_label(label, fontsize=7)
    bar.ax.tick_params(labelsize=7)
    return _uri(fig, "png")


def series_uri(
    series: Mapping[str, Sequence[float]],
    marks: Mapping[str, Sequence[int]],
) -> str:
    """Per-frame scene luminance (mean, median, p99) with flagged frames marked."""
    fig = _figure(7.5, 2.6)
    ax = fig.add_subplot()
    frames = list(series.get("frames", ()))
    for i, key in enumerate(("mean", "p50", "p99")):
        values = np.maximum(np.asarray(series.get(key, ()), np.float64), 1e-6)
        if len(values) == len(frames) and frames:
            ax.plot(frames, values, marker=".", lw=1, color=_ACCENT[i], label=key)
    for i, (check, flagged) in enumerate(marks.items()):
        for j, f in enumerate(flagged):
            ax.axvline(
                f,
                color=_ACCENT[(i + 1) % len(_ACCENT)],
                ls="--",
                lw=1,
                label=check if j == 0 else None,
            )
    ax.set_yscale("log", base=2)
    _plain_ticks(ax.yaxis)
    ax.set_xlabel("frame", fontsize=8)
    ax.set_ylabel("scene luminance (1.0 = diffuse white)", fontsize=7)
    ax.tick_params(labelsize=7)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, ncols=3, loc="lower right")
    return _uri(fig, "svg")


def spectrum_uri(
    frequencies: Sequence[float],
    spectrum: Sequence[float],
    *,
    factor: float,
    candidates: Sequence[float],
) -> str:
    """Radial power spectrum with each candidate source Nyquist marked."""
    fig = _figure(7.5, 2.4)
    ax = fig.add_subplot()
    ax.plot(frequencies, np.asarray(spectrum) * 10.0, color=_ACCENT[0])
    for s in candidates:
        found = abs(s - factor) < 1e-6
        ax.axvline(
            0.5 / s,
            color=_ACCENT[1] if found else "#bbbbbb",
            ls="--" if found else ":",
            lw=1.2 if found else 0.8,
            label=f"Nyquist of 1/{s:.3g} size" if found else None,
        )
    ax.set_xlabel("spatial frequency, cycles/pixel", fontsize=8)
    ax.set_ylabel("power, dB", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(True, alpha=0.3)
    if factor != 1.0:
        ax.legend(fontsize=7, loc="upper right")
    return _uri(fig, "svg")


def quantisation_uri(edges: Sequence[float], counts: Sequence[int], title: str) -> str:
    """Histogram of code-value offsets to the nearest code (bit-depth evidence)."""
    fig = _figure(4.5, 2.2)
    ax = fig.add_subplot()
    ax.stairs(
        np.asarray(counts, np.float64), np.asarray(edges), fill=True, color=_ACCENT[2]
    )
    ax.set_xlabel("offset to nearest code value", fontsize=8)
    ax.set_ylabel("samples", fontsize=8)
    ax.set_title(title, fontsize=8)
    ax.tick_params(labelsize=7)
    return _uri(fig, "svg")
