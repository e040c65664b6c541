"""The validation checks, registered in one table (report order).

Each check function registers itself with :func:`register_check` where it is
defined (:mod:`hdrpipe.validation.checks`, then
:mod:`hdrpipe.validation.generated`), saying whether it judges decoded pixels
and whether it is a generated-footage fault. Everything that lists check ids
derives them from :data:`CHECKS`: the profiles' known ids, the header/pixel
split of the validator, ``hdrpipe validate --list-checks``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from .checks import SequenceData
    from .report import CheckResult

__all__ = ["Check", "CheckFunction", "CHECKS", "register_check", "check_ids"]

CheckFunction = Callable[["SequenceData", Mapping[str, Any]], "CheckResult"]
_F = TypeVar("_F", bound=CheckFunction)


@dataclass(frozen=True)
class Check:
    """A registered check: its id (stable API), function and kind.

    ``pixels``: judges decoded pixels (the others need headers only);
    ``footage``: a fault of generated footage (:mod:`hdrpipe.validation.generated`).
    """

    id: str
    run: CheckFunction
    pixels: bool = False
    footage: bool = False

    @property
    def summary(self) -> str:
        """The first line of the check function's docstring."""
        return (
            (self.run.__doc__ or "").strip().splitlines()[0] if self.run.__doc__ else ""
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "pixels": self.pixels,
            "footage": self.footage,
            "summary": self.summary,
        }


#: Registered checks by id, in report order (registration order).
CHECKS: dict[str, Check] = {}


def register_check(
    check_id: str, *, pixels: bool = False, footage: bool = False
) -> Callable[[_F], _F]:
    """Decorator: register the check function under ``check_id`` (must be new)."""

    def register(run: _F) -> _F:
        if check_id in CHECKS:
            raise ValueError(f"check {check_id!r} is already registered")
        CHECKS[check_id] = Check(
            check_id, run, pixels=pixels or footage, footage=footage
        )
        return run

    return register


def check_ids(
    *, pixels: bool | None = None, footage: bool | None = None
) -> tuple[str, ...]:
    """Registered ids in report order, optionally only pixel/footage checks (or not)."""
    return tuple(
        c.id
        for c in CHECKS.values()
        if (pixels is None or c.pixels == pixels)
        and (footage is None or c.footage == footage)
    )
