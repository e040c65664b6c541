"""Editorial fixtures: the stamped media clips (once per session) and the cut."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.editorial import editorial_timeline, make_media, write_cut


@pytest.fixture(scope="session")
def media_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("media")
    make_media(root)
    return root


@pytest.fixture(scope="session")
def cut_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_cut(editorial_timeline(), tmp_path_factory.mktemp("cut"))
