"""hdrpipe: generated HDR ACES2065-1 EXR sequences to post-production deliverables.

The public API, in pipeline order::

    seq = hdrpipe.open_sequence("/shots/sh010/plate.####.exr")
    report = hdrpipe.validate(seq, profile="ray3")
    signal = hdrpipe.Transform(target="hdr-pq-1000-rec2020").apply(frame)
    job = hdrpipe.ConformJob(inputs=[seq], deliver=["hevc-hdr10"], outdir="out")
    manifest = hdrpipe.conform(job)
    hdrpipe.write_nuke_script(manifest, "out/sh010.nk")

Note: ``hdrpipe.validate`` and ``hdrpipe.conform`` are the functions; their stage
packages are imported by full name (``from hdrpipe.timecode import parse_rate``).
"""

from __future__ import annotations

__version__ = "0.1.0"

# Pipeline order (STYLE.md §2), not alphabetical.
from .sequence import Sequence, open_sequence  # 1. ingest
from .validate import Report, validate  # 2. validate
from .color import Transform, targets  # 3. colour
from .engine import ConformJob, Manifest, conform, plan  # 4. conform (the main job)
from .encode import open_writer  # 5. encode
from .handoff import write_nuke_script, write_otio  # 6. handoff
from . import farm  # scale-out: hdrpipe.farm.plan / hdrpipe.farm.run
from .types import ContentLightLevel, FrameRange, MasteringDisplay, Rate
from .errors import (
    ColorError,
    ConformError,
    EncodeError,
    HandoffError,
    HdrpipeError,
    InputError,
    ValidationError,
)

__all__ = [
    "open_sequence",
    "validate",
    "Transform",
    "targets",
    "ConformJob",
    "conform",
    "plan",
    "open_writer",
    "write_nuke_script",
    "write_otio",
    "farm",
    "Sequence",
    "Report",
    "Manifest",
    "Rate",
    "FrameRange",
    "MasteringDisplay",
    "ContentLightLevel",
    "HdrpipeError",
    "InputError",
    "ValidationError",
    "ColorError",
    "ConformError",
    "EncodeError",
    "HandoffError",
    "__version__",
]
