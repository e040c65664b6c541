"""Fixtures of the reliability tests: small seeded plates and clean reference runs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from reliability_helpers import DELIVER, conform_cmd, deliverables

from fixtures.generate import make_plate


@pytest.fixture(scope="module")
def plate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean 64×36, 3-frame ACES plate ``.../plate.####.exr``."""
    return make_plate(
        tmp_path_factory.mktemp("src"), width=64, height=36, frames=3, seed=7
    )


@pytest.fixture(scope="session")
def small_plate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """192×108, 12 frames: a conform takes about as long as its start-up."""
    return make_plate(
        tmp_path_factory.mktemp("rel_src"), width=192, height=108, frames=12, seed=7
    )


def _clean_run(src: Path, out: Path, *extra: str) -> dict[str, bytes]:
    done = subprocess.run(
        conform_cmd(src, out, *extra, deliver=DELIVER),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return deliverables(out)


@pytest.fixture(scope="session")
def reference(
    small_plate: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, bytes]:
    """The deliverables of an uninterrupted single-process run."""
    return _clean_run(small_plate, tmp_path_factory.mktemp("rel_ref") / "out")


@pytest.fixture(scope="session")
def farm_reference(
    small_plate: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, bytes]:
    """The deliverables of an uninterrupted farm run (chunks of 4, 1 worker)."""
    out = tmp_path_factory.mktemp("rel_farm_ref") / "out"
    return _clean_run(small_plate, out, "--workers", "1", "--chunk", "4")
