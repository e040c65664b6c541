"""The colour stage's worker pool: OCIO calls spread over threads.

OCIO's ``applyRGB`` releases the GIL, so row strips of a frame (and the
millions of points of a bake) run in parallel on a shared thread pool, one per
thread count. A worker of the pool never waits on the pool (it would deadlock
once every worker waits): calls made from a worker run serially.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

__all__ = ["STRIP_PIXELS", "call_each", "default_threads", "in_pool_worker"]

#: Pixels per row strip handed to one ``applyRGB`` call.
STRIP_PIXELS = 1 << 17

_POOL_THREAD_PREFIX = "hdrpipe-ocio"

_pool_lock = threading.Lock()
_pools: dict[int, ThreadPoolExecutor] = {}


def _pool(threads: int) -> ThreadPoolExecutor:
    with _pool_lock:
        pool = _pools.get(threads)
        if pool is None:
            pool = ThreadPoolExecutor(
                threads, thread_name_prefix=f"{_POOL_THREAD_PREFIX}{threads}"
            )
            _pools[threads] = pool
        return pool


def in_pool_worker() -> bool:
    """True in a worker of a colour pool: it must not wait on a pool's tasks."""
    return threading.current_thread().name.startswith(_POOL_THREAD_PREFIX)


def call_each(fn: Callable[[Any], object], items: list[Any], threads: int) -> None:
    """``fn(item)`` for every item: on the colour pool when ``threads`` > 1 (the
    calls must release the GIL to gain), serially in a pool worker (it must not
    wait on its own pool) or for a single item.
    """
    if threads > 1 and len(items) > 1 and not in_pool_worker():
        for future in [_pool(threads).submit(fn, item) for item in items]:
            future.result()
        return
    for item in items:
        fn(item)


def default_threads() -> int:
    """The CPUs this process may use (at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)
