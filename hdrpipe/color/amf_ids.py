"""ACES transform IDs of an OCIO config's colour spaces, views and looks.

ACES configs (the OCIO studio configs, hdrpipe's own) list the ACES transform
IDs (``urn:ampas:aces:transformId:v2.0:…``) each object stands for in its
``amf_transform_ids`` interchange attribute (OCIO 2.2+ ``interchange:`` block),
one ID per line. ACES Metadata Files name transforms by these IDs, so the IDs
are read from the config that made the pixels, never built from names: a
combination the config does not define (e.g. a Rec.2020-limited view on the HLG
display) has no ID, and saying so is better than inventing one.

An output transform is an ACES 2.0 ``Output.*`` ID listed by both the view's
view transform (the rendering) and the display's colour space (the encoding).
"""

from __future__ import annotations

from typing import Any

from ..errors import ColorError

__all__ = [
    "AMF_IDS_KEY",
    "transform_ids",
    "output_transform_id",
    "to_aces_transform_id",
    "csc_transform_ids",
    "look_transform_id",
]

AMF_IDS_KEY = "amf_transform_ids"
_USE_DISPLAY_NAME = "<USE_DISPLAY_NAME>"


def transform_ids(item: Any) -> tuple[str, ...]:
    """The ACES transform IDs an OCIO colour space, view transform or look lists."""
    if item is None:
        return ()
    text = item.getInterchangeAttribute(AMF_IDS_KEY) or ""
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def _kind(tid: str) -> str:
    """The transform kind of an ID: ``Output``, ``InvOutput``, ``CSC``, ``Look``…"""
    return tid.rsplit(":", 1)[-1].split(".", 1)[0]


def output_transform_id(config: Any, display: str, view: str) -> str:
    """Return the ACES ``Output.*`` transform ID of ``display``/``view`` in ``config``.

    Raises
    ------
    ColorError
        The pair is not in the config, or the config lists no single ACES
        output transform for it.
    """
    if view not in config.getViews(display):
        raise ColorError(f"OCIO config has no view {view!r} on display {display!r}")
    view_tf = config.getDisplayViewTransformName(display, view)
    space = config.getDisplayViewColorSpaceName(display, view)
    if space == _USE_DISPLAY_NAME:
        space = display
    rendering = {
        t
        for t in transform_ids(config.getViewTransform(view_tf))
        if _kind(t) == "Output"
    }
    encoding = {
        t for t in transform_ids(config.getColorSpace(space)) if _kind(t) == "Output"
    }
    found = sorted(rendering & encoding)
    if len(found) != 1:
        raise ColorError(
            f"OCIO config {config.getName()!r} defines "
            f"{'no' if not found else 'more than one'} ACES output transform ID for "
            f"display {display!r} / view {view!r} (view transform {view_tf!r} lists "
            f"{len(rendering)}, colour space {space!r} lists {len(encoding)}, "
            f"common: {', '.join(found) or 'none'})"
        )
    return found[0]


def to_aces_transform_id(config: Any, colorspace: str) -> str | None:
    """The ACES ``CSC.*_to_ACES`` ID of ``colorspace``; None for ACES2065-1 itself."""
    cs = config.getColorSpace(colorspace)
    if cs is None:
        raise ColorError(f"OCIO config has no colour space {colorspace!r}")
    aces = config.getColorSpace("aces_interchange")
    if aces is not None and cs.getName() == aces.getName():
        return None
    found = [
        t
        for t in transform_ids(cs)
        if _kind(t) in ("CSC", "Input") and "_to_ACES." in t
    ]
    if len(found) != 1:
        raise ColorError(
            f"OCIO config {config.getName()!r}: colour space {cs.getName()!r} lists "
            f"no single ACES transform ID to ACES2065-1 ({len(found)} found)"
        )
    return found[0]


def csc_transform_ids(config: Any, colorspace: str) -> tuple[str, str]:
    """ACES IDs (ACES2065-1 → ``colorspace``, ``colorspace`` → ACES2065-1)."""
    cs = config.getColorSpace(colorspace)
    ids = transform_ids(cs)
    to = [t for t in ids if _kind(t) == "CSC" and ".ACES_to_" in t]
    back = [t for t in ids if _kind(t) == "CSC" and "_to_ACES." in t]
    if cs is None or len(to) != 1 or len(back) != 1:
        raise ColorError(
            f"OCIO config {config.getName()!r}: colour space {colorspace!r} lists no "
            "ACES transform IDs to and from ACES2065-1"
        )
    return to[0], back[0]


def look_transform_id(config: Any, name: str) -> str | None:
    """The ACES ``Look.*`` ID of the config look ``name`` (None when it has none)."""
    found = [t for t in transform_ids(config.getLook(name)) if _kind(t) == "Look"]
    return found[0] if len(found) == 1 else None
