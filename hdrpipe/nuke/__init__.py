"""hdrpipe inside Nuke: a menu that validates / conforms the selected Read node.

Nuke's Python usually lacks hdrpipe's dependencies (OpenImageIO, OCIO, PyAV), so
the work runs in a separate process with the hdrpipe environment's Python
(``$HDRPIPE_PYTHON``, else ``python3`` on PATH) and the hook only builds commands,
parses their JSON and creates nodes. See ``docs/nuke.md`` for installation.
"""

from __future__ import annotations

__all__: list[str] = []
