"""The CLI's allocator tuning gives freed frame-sized buffers back to the system."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

# 100 frame-sized buffers (4 MiB, a 1080p 10-bit plane pair) are filled and
# freed while the last one is still held, as a stream's stages do; glibc's
# default then keeps the freed ones in its heap (its mapping threshold has
# grown past 4 MiB after the first free), the tuned allocator unmaps them.
_CHILD = r"""
import sys
import numpy as np
if sys.argv[1] == "tuned":
    from hdrpipe.memory import tune_allocator
    assert tune_allocator()
np.ones(4 << 20, np.uint8)  # one large free first (raises glibc's threshold)
held = [np.ones(4 << 20, np.uint8) for _ in range(100)]
last = held.pop()
del held
status = open("/proc/self/status").read().splitlines()
rss = next(int(l.split()[1]) for l in status if l.startswith("VmRSS"))
print(rss * 1024)
"""


def _rss_after_free(mode: str) -> int:
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
def test_tuned_allocator_returns_freed_frames() -> None:
    tuned = _rss_after_free("tuned")
    plain = _rss_after_free("plain")
    # 396 MiB were freed: the tuned process no longer holds them.
    assert tuned < 200 * 2**20, (tuned, plain)
    assert plain - tuned > 300 * 2**20, (tuned, plain)
