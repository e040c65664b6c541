"""Named targets resolved in an OCIO config, and a plate's source colorspace.

The targets themselves are data (:mod:`hdrpipe.color_targets`: transfer,
primaries, peak, the display/view or colorspace candidates); this module finds
the first candidate the resolved config provides and returns the
:class:`Target` a :class:`~hdrpipe.color.Transform` renders.

Display targets go through an OCIO ``DisplayViewTransform``: with ACES 2.0
configs a plain colorspace-to-display-colorspace conversion skips the output
transform's tone mapping.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass
from typing import Any, Literal

from ..color_targets import TargetSpec, target_spec, target_specs
from ..colorimetry import declared_spaces
from ..errors import ColorError
from .config import ConfigInfo, resolve_config

__all__ = [
    "Target",
    "targets",
    "get_target",
    "resolve_target",
    "target_names",
    "target_in",
    "source_colorspace",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Target:
    """A named output: one OCIO display/view or one colorspace of the resolved config.

    ``transfer`` and ``primaries`` are names of :mod:`hdrpipe.colorimetry`'s
    tables; ``primaries`` are the container primaries of the signal;
    ``limiting_primaries`` the gamut the output transform limits to when
    smaller (``"p3d65"`` for a P3-limited master in a Rec.2020 container).
    ``peak_luminance`` in cd/m² (``None`` for scene-referred targets).
    """

    name: str
    kind: Literal["display", "colorspace"]
    display: str | None
    view: str | None
    colorspace: str | None
    transfer: str
    primaries: str
    limiting_primaries: str | None
    peak_luminance: float | None
    description: str
    #: Peak (cd/m²) of the PQ output transform a retargeted target starts from;
    #: its signal is then mapped to ``peak_luminance`` with the BT.2390 EETF.
    retarget_from: float | None = None

    @property
    def is_display(self) -> bool:
        return self.kind == "display"

    @property
    def ocio_name(self) -> str:
        """``"<display> / <view>"`` for display targets, else the colorspace name."""
        if self.kind == "display":
            return f"{self.display} / {self.view}"
        return str(self.colorspace)

    @property
    def spec(self) -> TargetSpec:
        """The registry entry of this target (:mod:`hdrpipe.color_targets`)."""
        return target_spec(self.name)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def target_names() -> tuple[str, ...]:
    """Return every target name hdrpipe knows, in listing order."""
    return tuple(target_specs())


def resolve_target(spec: TargetSpec, config: Any) -> Target | None:
    """The :class:`Target` of ``spec`` in OCIO ``config``: its first candidate the
    config provides, or ``None`` when it has none."""
    for cand in spec.candidates:
        if spec.kind == "display":
            if cand.display in config.getDisplaysAll() and cand.view in config.getViews(
                cand.display
            ):
                return Target(
                    spec.name,
                    "display",
                    cand.display,
                    cand.view,
                    None,
                    spec.transfer,
                    spec.primaries,
                    cand.limiting_primaries,
                    spec.peak_luminance,
                    spec.description,
                    spec.retarget_from,
                )
        else:
            cs = config.getColorSpace(cand.colorspace)
            if cs is not None:
                return Target(
                    spec.name,
                    "colorspace",
                    None,
                    None,
                    cs.getName(),
                    spec.transfer,
                    spec.primaries,
                    None,
                    None,
                    spec.description,
                )
    return None


def targets(config: str | os.PathLike[str] | None = None) -> tuple[Target, ...]:
    """Return the named targets available in the resolved config, in listing order.

    A target whose display/view or colorspace the config lacks is left out (and
    logged at INFO); :func:`get_target` explains why it is unavailable.
    """
    cfg, info = resolve_config(config)
    found = []
    for spec in target_specs().values():
        target = resolve_target(spec, cfg)
        if target is None:
            log.info("target %s not available in config %s", spec.name, info.uri)
        else:
            found.append(target)
    return tuple(found)


def get_target(
    name: str | Target, config: str | os.PathLike[str] | None = None
) -> Target:
    """Return the target ``name`` resolved in ``config`` (default resolution order).

    Raises
    ------
    ColorError
        Unknown name (the message lists the available ones) or a target the
        config cannot provide.
    """
    cfg, info = resolve_config(config)
    return target_in(name, cfg, info)


def target_in(name: str | Target, cfg: Any, info: ConfigInfo) -> Target:
    """:func:`get_target` in an already resolved config ``cfg`` (``info``)."""
    if isinstance(name, Target):
        return name
    spec = target_spec(name)
    target = resolve_target(spec, cfg)
    if target is None:
        wanted = " or ".join(c.describe() for c in spec.candidates)
        raise ColorError(f"target {spec.name!r}: config {info.uri} has no {wanted}")
    return target


def source_colorspace(
    declared: str | None, override: str | None = None, *, assumed: str = "ACES2065-1"
) -> tuple[str, str | None]:
    """Pick a sequence's source colorspace; say when that is a guess or a conflict.

    ``declared`` is the ``chromaticities`` check's ``details.declared`` ("AP0",
    "AP1", "Rec.709", "Rec.2020", "P3-D65", "XYZ", "unknown" or ``None``);
    ``override`` an explicit OCIO colorspace. Returns ``(colorspace, warning)``;
    the warning (``None`` when all agree) must be reported as a validation
    warning, never dropped: a declared encoding that differs from the one used
    changes every pixel. The OCIO colorspace of each declared name is
    :attr:`hdrpipe.colorimetry.RGBSpace.ocio_linear`.
    """
    by_declared = {
        str(s.declared): str(s.ocio_linear)
        for s in declared_spaces()
        if s.ocio_linear is not None
    }
    if override:
        implied = by_declared.get(declared or "")
        if implied is not None and implied != override:
            return override, (
                f"file declares {declared} chromaticities ({implied}) but the source "
                f"colorspace is overridden to {override!r}"
            )
        return override, None
    if declared is None:
        return assumed, f"no chromaticities attribute: assuming {assumed}"
    if declared not in by_declared:
        return (
            assumed,
            f"chromaticities {declared!r} not recognised: assuming {assumed}",
        )
    return by_declared[declared], (
        None
        if by_declared[declared] == assumed
        else f"file declares {declared} chromaticities: using "
        f"{by_declared[declared]!r}, not {assumed!r}"
    )
