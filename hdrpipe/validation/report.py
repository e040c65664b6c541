"""The validation result model and its JSON form (docs/design-notes.md).

``Report.to_dict()`` is an external contract parsed by farm scripts::

    {"status": "pass|warn|fail", "input": "<PATH as given>",
     "frames": {"first": 1001, "last": 1048, "count": 47, "missing": [1017]},
     "checks": [{"id": "continuity", "status": "fail", "message": "...",
                 "frames": [1017], "details": {}}]}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Status", "STATUSES", "CheckResult", "Report", "worst"]

Status = Literal["pass", "warn", "fail"]
#: Statuses from best to worst.
STATUSES: tuple[Status, ...] = ("pass", "warn", "fail")


def worst(statuses: Iterable[Status]) -> Status:
    """Return the worst status (``"pass"`` for none)."""
    rank = max((STATUSES.index(s) for s in statuses), default=0)
    return STATUSES[rank]


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of one check over a sequence.

    ``frames`` are the frame numbers the finding concerns (sorted); ``details``
    holds JSON-friendly check-specific values (e.g. ``nan``/``inf`` counts).
    """

    id: str
    status: Status
    message: str
    frames: tuple[int, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the check's JSON object (contract keys, in contract order)."""
        return {
            "id": self.id,
            "status": self.status,
            "message": self.message,
            "frames": [int(f) for f in self.frames],
            "details": dict(self.details),
        }


@dataclass(frozen=True, slots=True)
class Report:
    """The result of validating one sequence against one profile.

    ``frames`` is ``{"first", "last", "count", "missing"}``: first/last of the
    range (gaps included), count of frames present on disk, missing frames.
    """

    status: Status
    checks: tuple[CheckResult, ...]
    input: str
    frames: dict[str, Any]
    profile: str = "ray3"

    def check(self, check_id: str) -> CheckResult | None:
        """Return the result of ``check_id``, or None if the profile skipped it."""
        return next((c for c in self.checks if c.id == check_id), None)

    @property
    def passed(self) -> bool:
        """True unless a check failed (warnings allowed)."""
        return self.status != "fail"

    def to_dict(self) -> dict[str, Any]:
        """Return exactly the documented JSON document (docs/design-notes.md)."""
        return {
            "status": self.status,
            "input": self.input,
            "frames": {
                "first": self.frames["first"],
                "last": self.frames["last"],
                "count": self.frames["count"],
                "missing": list(self.frames["missing"]),
            },
            "checks": [c.to_dict() for c in self.checks],
        }
