"""The hdrpipe version: one definition, read by the package root, the manifest
writer, the QC report and the build (``[tool.setuptools.dynamic]`` in
pyproject.toml reads it without importing the package).

A module of its own so that what records the version (the job manifest) does
not import the package root, the only arrow that would run back up the layers.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
