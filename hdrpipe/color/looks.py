"""Looks applied in ACES before the output transform: ASC CDL files and LMTs.

* ASC CDL (``.cdl``, ``.cc``, ``.ccc`` — ``grade.ccc#<id>`` picks one correction of
  a collection) is applied in the config's ``color_timing`` role (ACEScct), the
  ASC CDL convention in ACES pipelines, through an OCIO ``FileTransform``.
* LMT files OCIO reads (``.clf``, ``.ctf``, ``.cube``, ``.spi3d``, …) are applied in
  ACES2065-1 (role ``aces_interchange``), as ACES defines LMTs.
* A look defined in the config (e.g. "ACES 1.3 Reference Gamut Compression") is
  applied in its own process space through an OCIO ``LookTransform``.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import PyOpenColorIO as ocio  # noqa: N813

from ..errors import ColorError

__all__ = ["Look", "parse_look", "look_transform"]

_CDL_EXTENSIONS = {".cdl", ".cc", ".ccc"}


@dataclass(frozen=True, slots=True)
class Look:
    """A look applied in ACES before the output transform.

    ``path`` is an ASC CDL file (``.cdl``, ``.cc``, ``.ccc`` — ``cccid`` picks a
    correction of a collection) or an LMT file OCIO reads (``.clf``, ``.ctf``,
    ``.cube``, …); otherwise ``name`` is a look defined in the config.
    ``process_space`` defaults to the config's ``color_timing`` role (ACEScct)
    for CDLs — the ASC CDL convention in ACES — and to ``ACES2065-1`` for LMTs.
    """

    path: Path | None = None
    cccid: str | None = None
    process_space: str | None = None
    name: str | None = None

    @property
    def key(self) -> Hashable:
        stamp: tuple[int, int] = (0, 0)
        if self.path is not None and self.path.exists():
            st = self.path.stat()
            stamp = (st.st_mtime_ns, st.st_size)
        return (str(self.path), stamp, self.cccid, self.process_space, self.name)

    @property
    def label(self) -> str:
        if self.path is None:
            return str(self.name)
        return f"{self.path.name}#{self.cccid}" if self.cccid else self.path.name


def _ccc_ids(path: Path) -> list[str]:
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError):
        return []
    return [
        el.attrib["id"]
        for el in root.iter()
        if el.tag.rsplit("}", 1)[-1] == "ColorCorrection" and "id" in el.attrib
    ]


def parse_look(look: str | os.PathLike[str] | Look, config: Any) -> Look:
    if isinstance(look, Look):
        return look
    text = os.fspath(look)
    path = Path(text)
    # A relative file is relative to the working directory: OCIO would look for
    # it on the config's search path instead.
    if path.is_file():
        return Look(path=path.absolute())
    # "grade.ccc#sh010" picks one correction of a collection.
    if "#" in text:
        head, cccid = text.rsplit("#", 1)
        if Path(head).is_file():
            return Look(path=Path(head).absolute(), cccid=cccid)
    if config.getLook(text) is not None:
        return Look(name=text)
    names = [lk.getName() for lk in config.getLooks()]
    raise ColorError(
        f"look {text!r}: no such file and no such look in the config; config looks: "
        f"{', '.join(names) or '(none)'}; files: ASC CDL (.cdl, .cc, .ccc[#id]) or an "
        "LMT OCIO reads (.clf, .ctf, .cube, …)"
    )


def look_transform(look: Look, config: Any) -> tuple[str, Any]:
    """Return (process space, OCIO transform) for ``look``."""
    if look.path is None:
        ocio_look = config.getLook(look.name)
        space = look.process_space or ocio_look.getProcessSpace() or "ACES2065-1"
        return space, ocio.LookTransform(src=space, dst=space, looks=look.name)
    suffix = look.path.suffix.lower()
    if suffix in _CDL_EXTENSIONS:
        default = "color_timing" if config.getColorSpace("color_timing") else "ACEScct"
        if suffix == ".ccc":
            ids = _ccc_ids(look.path)
            if look.cccid is not None and look.cccid not in ids:
                raise ColorError(
                    f"{look.path}: no ColorCorrection id {look.cccid!r}; available: "
                    f"{', '.join(ids) or '(none with an id)'}"
                )
            if look.cccid is None and len(ids) > 1:
                raise ColorError(
                    f"{look.path}: collection holds {len(ids)} corrections; pick one "
                    f"with '{look.path}#<id>': {', '.join(ids)}"
                )
    else:
        default = (
            "aces_interchange"
            if config.getColorSpace("aces_interchange")
            else ("ACES2065-1")
        )
    space = look.process_space or default
    if config.getColorSpace(space) is None:
        raise ColorError(
            f"look {look.label}: process space {space!r} not in the config"
        )
    space = config.getColorSpace(space).getName()
    tf = ocio.FileTransform(
        src=str(look.path),
        cccId=look.cccid or "",
        interpolation=ocio.INTERP_BEST,
        direction=ocio.TRANSFORM_DIR_FORWARD,
    )
    return space, tf
