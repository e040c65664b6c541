"""Editorial: an edit (EDL / OTIO / FCPXML via OTIO) → matched media → VFX pulls.

``read_timeline`` reads the cut through OpenTimelineIO's adapters into
:class:`Cut` events; ``match_events`` finds each event's EXR sequence under the
media roots; ``conform_timeline`` pulls every matched event (its used source
range ± handles) by running the engine once per event, with the event's ASC
CDL as the look, then assembles the master of the cut (``assemble``) and, on
request, its hand-off (``handoff``: OTIO, EDL, one AMF per event). Who runs
the engine jobs is a :class:`PullRunner` (in process by default; the farm's
splits the job by event, :mod:`hdrpipe.farm.editorial`). The engine never
imports this package.
"""

from __future__ import annotations

from .match import (
    DEFAULT_HANDLES,
    Match,
    MatchError,
    Media,
    match_events,
    parse_input_spaces,
    scan_media,
)
from .pulls import (
    DEFAULT_SHOT_NAME,
    EditorialPlan,
    EditorialResult,
    Pull,
    plan_timeline,
    write_pull_look,
)
from .run import LocalRunner, PullRunner, conform_timeline
from .timeline import Cdl, Cut, Event, Transition, read_timeline

__all__ = [
    "read_timeline",
    "parse_input_spaces",
    "scan_media",
    "match_events",
    "plan_timeline",
    "write_pull_look",
    "conform_timeline",
    "Cut",
    "Event",
    "Transition",
    "Cdl",
    "Media",
    "Match",
    "MatchError",
    "Pull",
    "PullRunner",
    "LocalRunner",
    "EditorialPlan",
    "EditorialResult",
    "DEFAULT_HANDLES",
    "DEFAULT_SHOT_NAME",
]
