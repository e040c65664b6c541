"""Session-wide test settings: keep every cache inside pytest's tmp dir."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True, scope="session")
def _hermetic_lut_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    # The colour fast path caches its baked LUTs on disk ($HDRPIPE_CACHE, else
    # ~/.cache/hdrpipe): tests must not read a stale bake nor write to $HOME.
    mp = pytest.MonkeyPatch()
    mp.setenv("HDRPIPE_CACHE", str(tmp_path_factory.mktemp("lut-cache")))
    mp.delenv("HDRPIPE_COLOR_PATH", raising=False)
    yield
    mp.undo()


@pytest.fixture
def judgements(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    """The check-id tuples every Validator judges from now on, in order."""
    from hdrpipe.validation import Validator

    seen: list[tuple[str, ...]] = []
    real = Validator._judge

    def counting(self: Validator, ids: tuple[str, ...]) -> object:
        seen.append(ids)
        return real(self, ids)

    monkeypatch.setattr(Validator, "_judge", counting)
    return seen
