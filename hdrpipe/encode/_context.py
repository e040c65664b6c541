"""The context-manager behaviour every deliverable writer shares."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

__all__ = ["WriterContext"]


class WriterContext:
    """``with writer:`` closes on success and aborts on an exception.

    Subclasses provide ``close()``, ``abort()`` and a ``_closed`` flag; an aborted
    writer never leaves a file under its final name.
    """

    _closed: bool

    def close(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def abort(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.abort()
        elif not self._closed:
            self.close()
