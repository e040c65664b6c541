"""The installed environment is exactly the one uv.lock pins.

``make test`` and CI install with ``uv sync --locked``; this test reads uv.lock
itself (not through uv) and compares every package the lock selects for this
interpreter and platform with what is installed, in both directions.
"""

from __future__ import annotations

import importlib.metadata
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
from packaging.markers import Marker
from packaging.utils import canonicalize_name

LOCK = Path(__file__).resolve().parents[1] / "uv.lock"
PROJECT = "hdrpipe"
EXTRAS = ("test",)  # what make test installs


def _applies(dep: Mapping[str, Any], extra: str = "") -> bool:
    marker = dep.get("marker")
    return marker is None or Marker(marker).evaluate({"extra": extra})


def _locked_closure(lock: Mapping[str, Any]) -> dict[str, str]:
    """Name → version of every package the lock installs here (project excluded)."""
    by_name: dict[str, list[Mapping[str, Any]]] = {}
    for pkg in lock["package"]:
        by_name.setdefault(canonicalize_name(pkg["name"]), []).append(pkg)

    def find(dep: Mapping[str, Any]) -> Mapping[str, Any]:
        candidates = by_name[canonicalize_name(dep["name"])]
        if "version" in dep:
            candidates = [p for p in candidates if p["version"] == dep["version"]]
        assert len(candidates) == 1, f"uv.lock: cannot pick one {dep['name']}"
        return candidates[0]

    found: dict[str, str] = {}
    todo: list[tuple[Mapping[str, Any], Iterable[str]]] = [
        (find({"name": PROJECT}), EXTRAS)
    ]
    while todo:
        pkg, extras = todo.pop()
        deps = [d for d in pkg.get("dependencies", []) if _applies(d)]
        for extra in extras:
            deps += [
                d
                for d in pkg.get("optional-dependencies", {}).get(extra, [])
                if _applies(d, extra)
            ]
        for dep in deps:
            target = find(dep)
            name = canonicalize_name(target["name"])
            extras_needed = tuple(dep.get("extra", ()))
            if name in found and not extras_needed:
                continue
            found[name] = target["version"]
            todo.append((target, extras_needed))
    found.pop(PROJECT, None)
    return found


@pytest.mark.lockcheck
def test_installed_versions_equal_the_lock() -> None:
    lock = tomllib.loads(LOCK.read_text(encoding="utf-8"))
    locked = _locked_closure(lock)
    installed = {
        canonicalize_name(d.metadata["Name"]): d.version
        for d in importlib.metadata.distributions()
    }
    installed.pop(PROJECT, None)
    wrong = {
        name: (version, installed.get(name))
        for name, version in locked.items()
        if installed.get(name) != version
    }
    extra = sorted(set(installed) - set(locked))
    assert not wrong, f"versions differ from uv.lock (lock, installed): {wrong}"
    assert not extra, f"installed but not in uv.lock: {extra}"
    # The core stack is in the closure (guards against an empty walk).
    assert {"numpy", "opencolorio", "openimageio", "av", "pytest"} <= set(locked)


def test_lock_covers_pyproject() -> None:
    """Every requirement of pyproject.toml has a locked version that satisfies it."""
    from packaging.requirements import Requirement

    project = tomllib.loads((LOCK.parent / "pyproject.toml").read_text())["project"]
    lock = tomllib.loads(LOCK.read_text(encoding="utf-8"))
    versions: dict[str, list[str]] = {}
    for pkg in lock["package"]:
        if "version" not in pkg:  # the project itself: its version is dynamic
            assert pkg.get("source", {}).get("editable") == ".", pkg["name"]
            continue
        versions.setdefault(canonicalize_name(pkg["name"]), []).append(pkg["version"])
    reqs = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    for text in reqs:
        req = Requirement(text)
        pinned = versions.get(canonicalize_name(req.name), [])
        assert any(req.specifier.contains(v, prereleases=True) for v in pinned), (
            f"uv.lock has no version of {req.name} within {req.specifier}: {pinned}"
        )
