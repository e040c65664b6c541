"""Fixtures for the handoff tests (data lives in handoff_helpers.py)."""

from __future__ import annotations

import shutil
from typing import Any

import pytest
from handoff_helpers import load_sample


@pytest.fixture
def manifest() -> dict[str, Any]:
    return load_sample()


@pytest.fixture
def tclsh() -> str:
    exe = shutil.which("tclsh")
    if exe is None:
        pytest.skip("tclsh not installed")
    return exe
