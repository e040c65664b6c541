"""Nuke ``menu.py``: adds the "hdrpipe" menu (put this folder on NUKE_PATH)."""

from __future__ import annotations

import nuke  # provided by Nuke

from hdrpipe.nuke import hook

__all__: list[str] = []

_menu = nuke.menu("Nuke").addMenu("hdrpipe")
_menu.addCommand("Validate selected Read", lambda: hook.validate_selected(nuke))
_menu.addCommand("Conform selected Read…", lambda: hook.conform_selected(nuke))
_menu.addCommand("Open QC report…", lambda: hook.open_report(nuke))
