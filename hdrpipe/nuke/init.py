"""Nuke ``init.py``: makes ``import hdrpipe`` work inside Nuke (no UI here).

NUKE_PATH points at this folder (``hdrpipe/nuke``); the repository root, two
levels up, goes on ``sys.path`` unless hdrpipe is already importable.
"""

from __future__ import annotations

import importlib.util
import os
import sys

__all__: list[str] = []

if importlib.util.find_spec("hdrpipe") is None:
    sys.path.insert(
        0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    )
