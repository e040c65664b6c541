"""Conform: rates, timecode, retime (frame map, blend, optical flow), reformat.

Pure building blocks the engine streams frames through: :func:`parse_rate`
and :class:`Timecode` for time (defined at the base, :mod:`hdrpipe.timecode`,
and re-exported here), :func:`frame_map` + :func:`retime_frame` for changing
rate, :func:`plan_reformat` + :func:`apply_reformat` for the delivery raster.
"""

from __future__ import annotations

from ..timecode import STANDARD_RATES, Timecode, parse_rate
from .flow import FlowCache, FlowPair, estimate_flow, interpolate
from .reformat import (
    Fit,
    Placement,
    apply_reformat,
    fill_display_window,
    parse_raster,
    plan_reformat,
)
from .retime import (
    Method,
    Sample,
    blend,
    frame_map,
    output_count,
    retime_frame,
    sample_at,
)

__all__ = [
    "parse_rate",
    "STANDARD_RATES",
    "Timecode",
    "Method",
    "Sample",
    "output_count",
    "sample_at",
    "frame_map",
    "blend",
    "retime_frame",
    "FlowCache",
    "FlowPair",
    "estimate_flow",
    "interpolate",
    "Fit",
    "Placement",
    "parse_raster",
    "plan_reformat",
    "apply_reformat",
    "fill_display_window",
]
