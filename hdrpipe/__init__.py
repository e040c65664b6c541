"""hdrpipe: generated HDR ACES2065-1 EXR sequences to post-production deliverables.

The public API, in pipeline order::

    seq = hdrpipe.open_sequence("/shots/sh010/plate.####.exr")
    report = hdrpipe.validate(seq, profile="ray3")
    signal = hdrpipe.Transform(target="hdr-pq-1000-rec2020").apply(frame)
    job = hdrpipe.ConformJob(inputs=[seq], deliver=["hevc-hdr10"], outdir="out")
    manifest = hdrpipe.conform(job)
    hdrpipe.write_nuke_script(manifest, "out/sh010.nk")

Note: ``hdrpipe.validate`` and ``hdrpipe.conform`` are the functions; their stage
packages are imported by full name (``from hdrpipe.conform.rates import parse_rate``).
"""

from __future__ import annotations

__version__ = "0.1.0"

from .color import Transform, targets  # noqa: E402  (3. colour)
from .encode import open_writer  # noqa: E402  (5. encode)
from .engine import ConformJob, Manifest, conform, plan  # noqa: E402  (4. conform)
from .errors import (  # noqa: E402
    ColorError,
    ConformError,
    EncodeError,
    HandoffError,
    HdrpipeError,
    InputError,
    ValidationError,
)
from .handoff import write_nuke_script, write_otio  # noqa: E402  (6. handoff)
from .sequence import Sequence, open_sequence  # noqa: E402  (1. ingest)
from .types import ContentLightLevel, FrameRange, MasteringDisplay, Rate  # noqa: E402
from .validate import Report, validate  # noqa: E402  (2. validate)

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
