"""hdrpipe: generated HDR (ACES2065-1 OpenEXR) sequences to post-production deliverables."""

from __future__ import annotations

__version__ = "0.1.0"
