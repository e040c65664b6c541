"""The exact colour stage of a Transform, as values: what the fast path bakes.

A :class:`~hdrpipe.color.Transform` builds one :class:`ExactStage` — the OCIO
processor (and where it ends, :class:`OcioEnd`), the numpy steps after it
(:class:`PostStep`), the target, the worker count — and hands it to
:mod:`.fastpath`, which bakes and verifies exactly that and never reaches into
the Transform. Neither module imports the other's internals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from ..transfer import eotf_inverse_bt2100_hlg, eotf_st2084
from .config import ConfigInfo
from .looks import Look
from .targets import Target
from .tonemap import retarget_pq

__all__ = ["OcioEnd", "PostStep", "ExactStage", "HasExactStage", "as_stage"]


@dataclass(frozen=True, slots=True)
class OcioEnd:
    """Where the OCIO part of a Transform ends: a display/view or a colorspace."""

    display: str | None = None
    view: str | None = None
    colorspace: str | None = None

    def describe(self) -> str:
        if self.display:
            return f"{self.display} / {self.view}"
        return str(self.colorspace)


@dataclass(frozen=True, slots=True)
class PostStep:
    """The numpy steps after OCIO, applied in place to the signal.

    ``hlg_peak``: the OCIO stage rendered PQ; re-encode it as HLG for a display
    of this peak (cd/m², BT.2100-2: PQ signal → display light → HLG signal).
    ``retarget``: ``(source_peak, target_peak)`` of the BT.2390 EETF (maxRGB)
    applied to a PQ signal. Part of the final signal: the fast path bakes and
    verifies it too.
    """

    hlg_peak: float | None = None
    retarget: tuple[float, float] | None = None

    def __call__(self, rgb: NDArray[np.float32]) -> None:
        if self.hlg_peak is not None:
            rgb[...] = eotf_inverse_bt2100_hlg(eotf_st2084(rgb), L_W=self.hlg_peak)
        if self.retarget is not None:
            source_peak, target_peak = self.retarget
            rgb[...] = retarget_pq(
                rgb, source_peak=source_peak, target_peak=target_peak
            )

    def describe(self) -> str:
        """The pipeline text of the steps (``""`` when there are none)."""
        text = ""
        if self.hlg_peak is not None:
            text += f" -> BT.2100-2 PQ to HLG ({self.hlg_peak:g} cd/m² display)"
        if self.retarget is not None:
            text += (
                f" -> BT.2390 EETF {self.retarget[0]:g} to {self.retarget[1]:g} "
                "cd/m² (maxRGB)"
            )
        return text


@dataclass(frozen=True, slots=True, eq=False)
class ExactStage:
    """Everything that defines a Transform's exact final signal.

    ``config`` is the OCIO config the processors come from; ``processor`` the
    OCIO ``Processor`` of the OCIO part (``source`` → look → ``end``) and
    ``cpu`` its default CPU processor; ``post`` the numpy steps after it;
    ``threads`` the worker count; ``description`` names it in logs.
    """

    config: Any
    config_info: ConfigInfo
    source: str
    target: Target
    look: Look | None
    end: OcioEnd
    processor: Any
    cpu: Any
    post: PostStep
    threads: int
    description: str

    @property
    def exact_stage(self) -> ExactStage:
        return self


class HasExactStage(Protocol):
    """A Transform, or the stage itself: what the fast path's entry points take."""

    @property
    def exact_stage(self) -> ExactStage: ...


def as_stage(source: HasExactStage) -> ExactStage:
    """The :class:`ExactStage` of a Transform (or the stage itself)."""
    return source.exact_stage
