"""Check ids come from the registered checks: the CLI listing, the profiles and
the reports all agree with :data:`hdrpipe.validation.CHECKS`."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from hdrpipe.cli import main
from hdrpipe.validation import (
    CHECK_IDS,
    CHECKS,
    HEADER_CHECKS,
    PROFILES,
    CheckResult,
    Profile,
    register_check,
)
from hdrpipe.validation.checks import SequenceData


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().out


def test_list_checks_json_is_the_registry(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _cli(capsys, "validate", "--list-checks", "--json")
    assert code == 0
    rows = json.loads(out)["checks"]
    assert [r["id"] for r in rows] == list(CHECKS)
    assert {r["id"] for r in rows} == set(CHECK_IDS)
    for r in rows:
        assert r["summary"] and r["pixels"] == CHECKS[r["id"]].pixels
        assert r["profiles"] == [
            n for n, p in PROFILES.items() if p.rule(r["id"]) is not None
        ]
    footage = {r["id"] for r in rows if r["footage"]}
    assert footage == {"black", "flash", "flicker", "duplicates", "frozen", "upscale"}
    assert {r["id"] for r in rows if not r["pixels"]} == set(HEADER_CHECKS)


def test_list_checks_text_names_every_check(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out = _cli(capsys, "validate", "--list-checks")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == list(CHECKS)


def test_report_json_check_ids_come_from_the_registry(
    plate: Callable[[str | None], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _cli(capsys, "validate", "--json", str(plate(None)))
    assert code in (0, 1)
    ids = [c["id"] for c in json.loads(out)["checks"]]
    ray3 = [c for c in CHECKS if PROFILES["ray3"].rule(c) is not None]
    assert ids == ray3


@pytest.fixture
def extra_check() -> Iterator[str]:
    def check_frame_count(data: SequenceData, rule: Mapping[str, Any]) -> CheckResult:
        """At least ``min`` frames on disk."""
        n = len(data.headers) + len(data.unreadable)
        ok = n >= int(rule["min"])
        return CheckResult("frame_count", "pass" if ok else "fail", f"{n} frames")

    register_check("frame_count")(check_frame_count)
    try:
        yield "frame_count"
    finally:
        CHECKS.pop("frame_count")


def test_registered_check_is_listed_and_known_to_profiles(
    extra_check: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_check("readable")(CHECKS["readable"].run)
    code, out = _cli(capsys, "validate", "--list-checks", "--json")
    assert code == 0
    rows = {r["id"]: r for r in json.loads(out)["checks"]}
    assert list(rows)[-1] == extra_check
    assert rows[extra_check]["summary"] == "At least ``min`` frames on disk."
    assert rows[extra_check]["profiles"] == []
    profile = Profile("count", "test profile", {extra_check: {"min": 1000}})
    assert profile.rule(extra_check) == {"min": 1000} and not profile.needs_pixels
    with pytest.raises(ValueError, match="unknown check ids"):
        Profile("bad", "unknown id", {"no_such_check": {}})
