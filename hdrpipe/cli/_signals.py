"""SIGTERM and SIGHUP end a command the way Ctrl-C does: unwound, cleaned, exit 128+N.

Farm managers, container runtimes and ``kill`` send SIGTERM; a closed terminal
sends SIGHUP. Python's default for both is to die on the spot, leaving every
temporary behind. Here the first one raises :class:`Terminated` in the main
thread (like ``KeyboardInterrupt`` for SIGINT), so the same ``except
BaseException`` clean-up paths run: writers abort, temporaries go, the job
lock is released. Further signals while cleaning up are ignored (a manager
that must stop us sends SIGKILL, which a rerun cleans up after).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

__all__ = ["Terminated", "terminate_on", "HANDLED"]

HANDLED = (signal.SIGTERM, signal.SIGHUP)


class Terminated(BaseException):  # noqa: N818 - a signal, like KeyboardInterrupt
    """The process got SIGTERM or SIGHUP; ``signum`` says which."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        """128 + signal number: 143 for SIGTERM, 129 for SIGHUP (shell convention)."""
        return 128 + self.signum


@contextlib.contextmanager
def terminate_on(signals: tuple[int, ...] = HANDLED) -> Iterator[None]:
    """Inside ``with``, the first of ``signals`` raises :class:`Terminated`."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    raised = False

    def handler(signum: int, _frame: FrameType | None) -> None:
        nonlocal raised
        if raised:
            return
        raised = True
        raise Terminated(signum)

    previous = {s: signal.signal(s, handler) for s in signals}
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)
