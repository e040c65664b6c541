"""Broken fixture plates for the validation tests (tiny, generated once per session)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from fixtures.generate import make_plate

W, H, N = 64, 36, 8


@pytest.fixture(scope="session")
def plate(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str | None], Path]:
    """``plate(variant)`` → the '####' pattern of a 64×36, 8-frame plate (cached)."""
    root = tmp_path_factory.mktemp("plates")
    made: dict[str | None, Path] = {}

    def get(variant: str | None = None) -> Path:
        if variant not in made:
            made[variant] = make_plate(
                root / str(variant),
                width=W,
                height=H,
                frames=N,
                variant=variant,
                seed=11,
            )
        return made[variant]

    return get
