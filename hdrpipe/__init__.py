"""hdrpipe: generated HDR ACES2065-1 EXR sequences to post-production deliverables.

The public API, in pipeline order::

    seq = hdrpipe.open_sequence("/shots/sh010/plate.####.exr")
    report = hdrpipe.validate(seq, profile="ray3")
    signal = hdrpipe.Transform(target="hdr-pq-1000-rec2020").apply(frame)
    job = hdrpipe.ConformJob(inputs=[seq], deliver=["hevc-hdr10"], outdir="out")
    manifest = hdrpipe.conform(job)
    hdrpipe.write_nuke_script(manifest, "out/sh010.nk")

``import hdrpipe`` is light: it loads the standard library only, and each
public name imports its stage on first use (PEP 562), so a process that needs
one stage (the Nuke hook, a farm task, ``hdrpipe --help``) does not pay for
OpenImageIO, OCIO, PyAV and OpenTimelineIO. ``hdrpipe.validate`` and
``hdrpipe.conform`` are the functions; the stage packages behind them have
other names, so a submodule import never replaces a function.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:  # what mypy and IDEs see; at run time __getattr__ imports
    from . import farm
    from .color import Transform, targets
    from .encode import open_writer
    from .engine import ConformJob, Manifest, conform, plan
    from .errors import (
        ColorError,
        ConformError,
        EncodeError,
        HandoffError,
        HdrpipeError,
        InputError,
        ValidationError,
    )
    from .handoff import write_nuke_script, write_otio
    from .sequence import Sequence, open_sequence
    from .types import ContentLightLevel, FrameRange, MasteringDisplay, Rate
    from .validation import Report, validate

#: Public name → module that defines it, in pipeline order (not alphabetical).
_LAZY: dict[str, str] = {
    # 1. ingest
    "open_sequence": "hdrpipe.sequence",
    "Sequence": "hdrpipe.sequence",
    # 2. validate
    "validate": "hdrpipe.validation",
    "Report": "hdrpipe.validation",
    # 3. colour
    "Transform": "hdrpipe.color",
    "targets": "hdrpipe.color",
    # 4. conform (the main job)
    "ConformJob": "hdrpipe.engine",
    "Manifest": "hdrpipe.engine",
    "conform": "hdrpipe.engine",
    "plan": "hdrpipe.engine",
    # 5. encode
    "open_writer": "hdrpipe.encode",
    # 6. handoff
    "write_nuke_script": "hdrpipe.handoff",
    "write_otio": "hdrpipe.handoff",
    # value types and errors (standard library only)
    "Rate": "hdrpipe.types",
    "FrameRange": "hdrpipe.types",
    "MasteringDisplay": "hdrpipe.types",
    "ContentLightLevel": "hdrpipe.types",
    "HdrpipeError": "hdrpipe.errors",
    "InputError": "hdrpipe.errors",
    "ValidationError": "hdrpipe.errors",
    "ColorError": "hdrpipe.errors",
    "ConformError": "hdrpipe.errors",
    "EncodeError": "hdrpipe.errors",
    "HandoffError": "hdrpipe.errors",
}
#: Sub-packages offered as attributes (scale-out: hdrpipe.farm.plan / .run).
_SUBMODULES = ("farm",)

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


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use and cache the name here."""
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
