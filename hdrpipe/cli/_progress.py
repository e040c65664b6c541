"""The conform progress bar on stderr, shared by ``conform``, ``farm`` and the
edit conform (``conform --timeline``)."""

from __future__ import annotations

import threading

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ._app import stderr

__all__ = ["ProgressBar"]


class ProgressBar:
    """Thread-safe adapter from ``on_progress(done, total)`` to a rich bar on stderr."""

    def __init__(self, enabled: bool) -> None:
        self._progress = Progress(
            TextColumn("conform"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[fps]} fps"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=stderr,
            disable=not enabled,
            transient=False,
        )
        self._task = self._progress.add_task("conform", total=None, fps="-")
        self._lock = threading.Lock()
        self._started = False
        # Until the first frame: headers are checked, OCIO processors built and, the
        # first time a (config, target, look) is seen, its LUT baked (seconds).
        self._status = (
            stderr.status("conform: checking headers, preparing colour transforms …")
            if enabled
            else None
        )

    def __enter__(self) -> ProgressBar:
        if self._status is not None:
            self._status.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop_status()
        if self._started:
            self._progress.stop()

    def _stop_status(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def __call__(self, done: int, total: int) -> None:
        with self._lock:
            if not self._started:  # no empty bar when the job fails before any work
                self._stop_status()
                self._progress.start()
                self._started = True
            task = self._progress.tasks[0]
            speed = task.speed
            self._progress.update(
                self._task,
                completed=done,
                total=total,
                fps=f"{speed:.1f}" if speed else "-",
            )
