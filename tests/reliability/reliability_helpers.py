"""Small helpers shared by the reliability tests."""

from __future__ import annotations

from pathlib import Path


def tree(folder: Path) -> list[str]:
    """Every path under ``folder`` (files, folders, symlinks), relative, sorted."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))
