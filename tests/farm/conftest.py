"""Fixtures of the farm tests: a small plate and a single-process reference run.

References are independent of ``hdrpipe.farm``: the engine's single-process
``conform`` of the same job, PyAV-decoded planes, MediaInfo tags and EXR pixels
read with OpenImageIO (helpers in ``farm_helpers.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from farm_helpers import H, N, W, make_job

from fixtures.generate import make_plate
from hdrpipe.engine import conform


@pytest.fixture(scope="session")
def plate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_plate(
        tmp_path_factory.mktemp("farm_src"), width=W, height=H, frames=N, seed=5
    )


@pytest.fixture(scope="session")
def reference(plate: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The same job conformed in one process by the engine (no farm code)."""
    out = tmp_path_factory.mktemp("farm_ref")
    manifest = conform(make_job(plate, out))
    return {"dir": out, "manifest": manifest.to_dict()}
