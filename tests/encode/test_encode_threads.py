"""Long-GOP bitstreams do not depend on the threads a farm worker gets.

A farm gives each task ``cores // workers`` threads (``--workers 1`` and
``--workers 2`` on one machine, or nodes with other core counts): the movie
bytes must be the same. x265's pool and x264's thread count used to follow
those threads (or the machine's cores) and with them the frame threads,
which change the bits.
"""

from __future__ import annotations

import hashlib
import re
from fractions import Fraction
from pathlib import Path

import pytest
from encode_helpers import make_frames

from hdrpipe.encode import get_preset, open_writer
from hdrpipe.types import ContentLightLevel, Rate

RATE = Rate(Fraction(24))
LEVEL = ContentLightLevel(1000, 400)
WIDTH, HEIGHT, FRAMES = 640, 360, 10


def _encode(tmp: Path, preset: str, threads: int | None) -> bytes:
    spec = get_preset(preset)
    path = tmp / f"{preset}-{threads}{spec.extension}"
    with open_writer(
        spec, path, width=WIDTH, height=HEIGHT, rate=RATE, threads=threads
    ) as writer:
        for frame in make_frames(FRAMES, WIDTH, HEIGHT, seed=3):
            writer.write(frame)
        writer.close(LEVEL)
    return path.read_bytes()


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["hevc-hdr10", "h264-sdr-review"])
def test_bitstream_is_the_same_for_any_worker_share(
    tmp_path: Path, preset: str
) -> None:
    # 1 thread (a worker of a farm with as many workers as cores), 4 threads (a
    # worker on a bigger node), and no share (a single process, every core).
    movies = {t: _encode(tmp_path, preset, t) for t in (1, 4, None)}
    digests = {t: hashlib.sha256(m).hexdigest() for t, m in movies.items()}
    assert len(set(digests.values())) == 1, digests
    # x264 writes its settings into the stream (user data SEI): its frame
    # threads there are the preset's, not the machine's. (x265's settings SEI
    # would list the pool size, so hdrpipe leaves it out.)
    if preset == "h264-sdr-review":
        assert re.search(rb"threads=4\b", movies[1])
        assert re.search(rb"rc_lookahead=10\b", movies[1])
    else:
        assert b"numa-pools=" not in movies[1]
