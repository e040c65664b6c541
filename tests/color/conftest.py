"""Shared fixtures for the colour tests: a clean $OCIO and quiet colour-science."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator

import numpy as np
import pytest
from numpy.typing import NDArray

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import colour  # noqa: F401  (imported once, its optional-dependency warnings muted)


@pytest.fixture(autouse=True)
def _no_ocio_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts without $OCIO so the project config is the default."""
    monkeypatch.delenv("OCIO", raising=False)
    yield


def _plate(width: int = 64, height: int = 36, frame: int = 0) -> NDArray[np.float32]:
    try:
        from fixtures.generate import render_frame
    except ImportError:  # pragma: no cover - fixture module missing/in flux
        rng = np.random.default_rng(frame)
        return (rng.random((height, width, 3)) ** 4 * 50).astype(np.float32)
    return render_frame(width, height, frame, seed=7)


@pytest.fixture()
def plate() -> Callable[..., NDArray[np.float32]]:
    """``plate(width=64, height=36, frame=0)``: an ACES2065-1 frame from the project's
    fixture generator (grey ramp, ColorChecker, gamut-edge patches, speculars)."""
    return _plate
