"""The CLI's allocator tuning lets threads share glibc's heaps."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# Eight threads, alive at once, take turns: each allocates 800 buffers of
# 48 KiB (below any mapping threshold: heap memory), keeps every other one and
# frees the rest, as a stream's decode/colour/encode threads leave holes in a
# heap. With glibc's default each thread has an arena of its own and nobody
# reuses another's holes; with two arenas the next thread fills them.
_CHILD = r"""
import sys
import threading
import numpy as np
if sys.argv[1] == "tuned":
    from hdrpipe.memory import tune_allocator
    assert tune_allocator()
N = 8
turn = [threading.Event() for _ in range(N + 1)]
finish = threading.Event()
kept = []
def work(i):
    turn[i].wait()
    buffers = [np.ones(48 << 10, np.uint8) for _ in range(800)]
    kept.append(buffers[::2])
    del buffers
    turn[i + 1].set()
    finish.wait()
threads = [threading.Thread(target=work, args=(i,)) for i in range(N)]
for t in threads:
    t.start()
turn[0].set()
turn[N].wait()
status = open("/proc/self/status").read().splitlines()
print(next(int(l.split()[1]) for l in status if l.startswith("VmRSS")) * 1024)
finish.set()
"""


def _rss(mode: str) -> int:
    # glibc's defaults, whatever an earlier test left in os.environ (Dask's
    # nanny sets MALLOC_TRIM_THRESHOLD_ for its workers in this process).
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, mode],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return int(done.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt")
def test_tuned_allocator_reuses_other_threads_freed_memory() -> None:
    tuned = _rss("tuned")
    plain = _rss("plain")
    # 8 x 400 x 48 KiB = 150 MiB stay held in both; the default also keeps
    # 8 x 400 holes of 48 KiB (measured 326 MB against 213 MB tuned).
    assert plain - tuned > 60 * 2**20, (tuned, plain)


# After a conform through the CLI, 100 buffers of 4 MiB are filled and freed
# (the last one held): a lean allocator has unmapped them, glibc's adaptive
# threshold (raised past 4 MiB by the first large free) keeps them in the heap.
_AFTER_CONFORM = r"""
import sys
import numpy as np
from hdrpipe.cli import main
assert main(sys.argv[1:]) == 0
np.ones(4 << 20, np.uint8)
held = [np.ones(4 << 20, np.uint8) for _ in range(100)]
last = held.pop()
del held
status = open("/proc/self/status").read().splitlines()
print(next(int(l.split()[1]) for l in status if l.startswith("VmRSS")) * 1024)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt")
def test_low_memory_preset_runs_with_the_lean_allocator(tmp_path: Path) -> None:
    from fixtures.generate import make_plate

    plate = make_plate(tmp_path / "src", width=64, height=36, frames=2)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    rss = {}
    for preset in ("hevc-hdr10", "hevc-hdr10-lowmem"):
        args = ["conform", str(plate), "-d", preset, "-o", str(tmp_path / preset)]
        args += ["--no-report", "--no-progress"]
        done = subprocess.run(
            [sys.executable, "-c", _AFTER_CONFORM, *args],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        )
        rss[preset] = int(done.stdout.strip().splitlines()[-1])
    # 396 MiB freed: only the lean process gave them back
    assert rss["hevc-hdr10"] - rss["hevc-hdr10-lowmem"] > 300 * 2**20, rss


# Holes in the heap: 400 buffers of 48 KiB kept between 400 freed ones (150 MiB
# in all, half of it freed). glibc keeps the freed pages resident until
# release_free_memory() gives them back (malloc_trim).
_TRIM = r"""
import sys
import numpy as np
from hdrpipe.memory import release_free_memory
def rss():
    status = open("/proc/self/status").read().splitlines()
    return next(int(l.split()[1]) for l in status if l.startswith("VmRSS")) * 1024
buffers = [np.ones(48 << 10, np.uint8) for _ in range(3200)]
kept = buffers[::2]
del buffers
before = rss()
assert release_free_memory()
print(before - rss())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc_trim")
def test_release_free_memory_gives_freed_heap_pages_back() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    done = subprocess.run(
        [sys.executable, "-c", _TRIM],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    # 1600 holes of 48 KiB: 75 MiB freed but resident before the call.
    assert int(done.stdout.strip()) > 50 * 2**20, done.stdout
