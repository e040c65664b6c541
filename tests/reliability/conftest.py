"""Shared plates for the reliability tests: tiny, seeded, made once per module."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.generate import make_plate


@pytest.fixture(scope="module")
def plate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean 64×36, 3-frame ACES plate ``.../plate.####.exr``."""
    return make_plate(
        tmp_path_factory.mktemp("src"), width=64, height=36, frames=3, seed=7
    )
