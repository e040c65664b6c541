"""The OCIO side of the colour stage, by concern (this module re-exports them):

* :mod:`.config` — which OCIO config a job uses (:func:`resolve_config`);
* :mod:`.targets` — the named targets of :mod:`hdrpipe.color_targets` resolved
  in that config (:class:`Target`), and a plate's source colorspace;
* :mod:`.transform` — the frame :class:`Transform` and its processor cache;
* :mod:`.pool` — the worker pool the strips and bakes run on;
* :mod:`.stage` — the exact stage a Transform hands to :mod:`.fastpath`.
"""

from __future__ import annotations

from .config import BUILTIN_CONFIG, PROJECT_CONFIG, ConfigInfo, resolve_config
from .targets import Target, get_target, source_colorspace, target_names, targets
from .transform import StripCallback, Transform, clear_caches

__all__ = [
    "BUILTIN_CONFIG",
    "PROJECT_CONFIG",
    "ConfigInfo",
    "Target",
    "Transform",
    "StripCallback",
    "resolve_config",
    "targets",
    "get_target",
    "target_names",
    "source_colorspace",
    "clear_caches",
]
