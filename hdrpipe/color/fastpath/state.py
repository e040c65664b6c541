"""What a :class:`~hdrpipe.color.Transform` evaluates with, and why: the colour path."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np
from numpy.typing import NDArray

from ...errors import ColorError, InputError
from .accuracy import (
    BUDGET_MAX_DELTA_E_ITP,
    BUDGET_P999_CODE10,
    BakeErrors,
    signal_errors,
)
from .bake import DEFAULT_LUT_SIZE, Bake, bake
from .evaluate import FastPath, _apply_cpu, _served

if TYPE_CHECKING:
    from ..stage import ExactStage

log = logging.getLogger(__name__)

__all__ = ["ColorPath", "COLOR_PATH_ENV", "resolve_color_path", "color_path_state"]

ColorPath = Literal["auto", "exact", "fast"]


#: Environment variable a :class:`Transform` reads when ``color_path`` is not given.
COLOR_PATH_ENV = "HDRPIPE_COLOR_PATH"


#: Frames checked against the exact path before ``auto`` commits to the LUT.
AUTO_FRAME_CHECKS = 1


#: The frame check computes the exact reference on every n-th row.
CHECK_ROW_STRIDE = 4


def resolve_color_path(color_path: str | None) -> ColorPath:
    """Return ``color_path``, else ``$HDRPIPE_COLOR_PATH``, else ``"exact"``.

    Raises
    ------
    InputError
        Not one of ``auto``, ``exact``, ``fast``.
    """
    value = color_path if color_path else os.environ.get(COLOR_PATH_ENV, "") or "exact"
    value = value.strip().lower()
    if value not in get_args(ColorPath):
        where = "color_path" if color_path else f"${COLOR_PATH_ENV}"
        raise InputError(f"{where}={value!r}: expected one of auto, exact, fast")
    return value  # type: ignore[return-value]


class _ColorPathState:
    """What a Transform evaluates with, and why (owned by the Transform)."""

    def __init__(self, stage: ExactStage, requested: ColorPath, size: int) -> None:
        self.requested: ColorPath = requested
        self.fast: FastPath | None = None
        self.baked: Bake | None = None
        self.reason: str | None = None
        self.frame_errors: BakeErrors | None = None
        self._checks_left = 0
        self._lock = threading.Lock()
        if requested == "exact":
            return
        if not stage.target.is_display:
            self.reason = "scene-referred target: the exact path is already cheap"
            return
        try:
            baked = bake(stage, size=size)
        except ColorError as err:
            self.reason = f"no bake: {err}"
            log.info(
                "%s: fast path unavailable, using exact: %s", stage.description, err
            )
            return
        self.baked = baked
        if not baked.accepted and requested == "auto":
            self.reason = baked.reason
            log.info("%s: using the exact path: %s", stage.description, baked.reason)
            return
        if not baked.accepted:
            log.warning(
                "%s: fast path forced although %s", stage.description, baked.reason
            )
        self.fast = FastPath(stage, baked)
        if requested == "auto":
            self._checks_left = AUTO_FRAME_CHECKS

    @property
    def active(self) -> bool:
        return self.fast is not None

    @property
    def needs_frame_check(self) -> bool:
        return self._checks_left > 0

    def check_frame(
        self,
        stage: ExactStage,
        out: NDArray[np.float32],
        evaluate: Callable[..., None],
        source: NDArray[np.floating[Any]] | None = None,
    ) -> None:
        """Convert ``source`` (default: ``out`` itself) into ``out`` by LUT, check it
        against exact, and fall back (redo ``out`` exactly) if over budget.

        ``evaluate(out, fast, source=...)`` converts strips in the pool. The exact
        reference is computed on every :data:`CHECK_ROW_STRIDE`-th row (all rows
        of frames under 64 rows): a quarter of a real frame costs a quarter of the
        exact stage and still holds ~500 000 pixels at 1080p.
        """
        with self._lock:
            if self._checks_left <= 0 or self.fast is None:
                evaluate(out, self.fast is not None, source=source)
                return
            if source is None:  # out is converted in place: keep what it held
                source = out.copy()
            evaluate(out, True, source=source)
            rows = slice(None, None, CHECK_ROW_STRIDE if out.shape[0] >= 64 else 1)
            exact = np.ascontiguousarray(source[rows], dtype=np.float32)
            evaluate(exact, False)
            ap1 = np.ascontiguousarray(source[rows][..., :3], dtype=np.float32)
            _apply_cpu(self.fast._p.to_ap1, ap1, stage.threads)
            served = _served(ap1, self.fast.bake)
            errors = signal_errors(
                exact, out[rows], stage.target, served, delta_e_pixels=1 << 16
            )
            self.frame_errors = BakeErrors.worst(self.frame_errors, errors)
            self._checks_left -= 1
            if not errors.within_budget:
                self.reason = (
                    f"first frame over budget: p99.9 {errors.p999_code10:.2f} "
                    f"code values, max ΔE_ITP {errors.max_delta_e_itp:.2f}"
                )
                log.info("%s: using the exact path: %s", stage.description, self.reason)
                self.fast = None
                self._checks_left = 0
                evaluate(out, False, source=source)

    def info(self) -> dict[str, Any]:
        fast = self.fast
        baked = self.baked
        worst = BakeErrors.worst(
            None if baked is None else baked.errors, self.frame_errors
        )
        return {
            "requested": self.requested,
            "path": "exact" if fast is None else "fast",
            "reason": self.reason,
            "bake": None if baked is None else baked.to_dict(),
            "frame_errors": None
            if self.frame_errors is None
            else self.frame_errors.to_dict(),
            "p999_code10": None if worst is None else round(worst.p999_code10, 4),
            "max_code10": None if worst is None else round(worst.max_code10, 4),
            "max_delta_e_itp": None
            if worst is None
            else round(worst.max_delta_e_itp, 4),
            "routed_exact_fraction": None
            if fast is None
            else round(fast.routed_fraction, 5),
            "budget": {
                "p999_code10": BUDGET_P999_CODE10,
                "max_delta_e_itp": BUDGET_MAX_DELTA_E_ITP,
            },
        }


def color_path_state(stage: ExactStage, color_path: str | None) -> _ColorPathState:
    """Resolve ``color_path`` for a Transform's exact stage (``Transform.__init__``
    calls it): bake and verify ``stage`` when the path asks for it."""
    text = os.environ.get("HDRPIPE_LUT_SIZE", "") or str(DEFAULT_LUT_SIZE)
    try:
        size = int(text)
    except ValueError as err:
        raise InputError(f"$HDRPIPE_LUT_SIZE={text!r}: expected an integer") from err
    return _ColorPathState(stage, resolve_color_path(color_path), size)
