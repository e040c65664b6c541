"""The streaming conform pipeline: sources → retime → reformat → colour → writers.

``plan(job)`` turns a :class:`ConformJob` (what the user asked for) into a
:class:`JobPlan` (every output frame's source samples, the raster, the presets,
the output paths) without touching a pixel; ``run(plan)`` streams the frames.
``conform(job)`` does both and returns the :class:`Manifest`.

Streaming: a reader thread decodes, retimes and reformats frames (the only stage
that needs neighbours, kept in a small cache), a colour thread applies one OCIO
transform per distinct colour target (OCIO itself spreads each frame over row
strips), and one thread per deliverable converts and encodes. Stages are joined
by bounded queues, so memory is flat in clip length: at most
``QUEUE_DEPTH`` items wait between two stages.

Choices (documented for users in README):

* Retime ``auto``: ``asis`` when the target rate is the source rate or its NTSC
  (×1000/1001) variant — the usual 24 → 23.976 "play as" pull-down, same frames —
  and ``nearest`` otherwise, which keeps the duration.
* Source rate: the EXR ``framesPerSecond`` attribute, else 24 fps.
* Start timecode: ``start_tc``, else the first source frame's EXR ``timeCode``,
  else 00:00:00:00.
* HEVC HDR10 carries MaxCLL/MaxFALL in an SEI that x265 writes when it opens:
  the encoder opens with a placeholder and the writer patches the measured level
  into every such SEI at close (``hdrpipe.encode.hevc_sei``), so every
  deliverable gets the level measured while it is encoded, in one pass. (A
  preset baking it in at open with another encoder would be measured first,
  over the whole clip; a farm job measures it in a phase of its own.)
* Outputs: ``OUTDIR/<name>_<preset>.<ext>`` for movies,
  ``OUTDIR/<name>_<preset>/<name>.####.exr`` (from frame 1001) for EXR. Existing
  outputs are never replaced unless ``overwrite``; an output path that is a
  source file is refused.
"""

from __future__ import annotations

from .job import (
    DEFAULT_SOURCE_RATE,
    EXR_FIRST_FRAME,
    ConformJob,
    JobPlan,
    Output,
    ProgressCallback,
    Shot,
    plan,
)
from .manifest import Manifest, conform, manifest_data, write_manifest
from .stream import measure, run, transforms_for

__all__ = [
    "ConformJob",
    "JobPlan",
    "Shot",
    "Output",
    "Manifest",
    "plan",
    "measure",
    "run",
    "transforms_for",
    "write_manifest",
    "manifest_data",
    "conform",
    "ProgressCallback",
    "DEFAULT_SOURCE_RATE",
    "EXR_FIRST_FRAME",
]
