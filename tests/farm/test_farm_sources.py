"""A chunk's validation statistics travel through shared storage as data only."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from fixtures.generate import make_plate
from hdrpipe.errors import ConformError
from hdrpipe.farm.sources import ChunkValidator, load_stats, save_stats
from hdrpipe.sequence import open_sequence


def _frames_read(tmp_path: Path) -> dict:
    # real statistics: a fixture plate read by the chunk validator
    plate = make_plate(tmp_path / "src", width=64, height=36, frames=3, seed=5)
    validator = ChunkValidator(open_sequence(str(plate)), "ray3")
    validator.check_headers()
    for frame in validator.sequence.frames:
        validator.read(frame)
    return validator.frames_read()


def test_statistics_round_trip_exactly(tmp_path: Path) -> None:
    frames = _frames_read(tmp_path)
    frames[2001] = (None, "truncated: read error")
    path = save_stats(tmp_path / "validation-0000.json", [frames, {}])
    assert json.loads(path.read_text())["schema"]  # plain JSON, not code
    back = load_stats(path)
    assert [set(f) for f in back] == [set(frames), set()]
    for frame, (stats, error) in frames.items():
        got, got_error = back[0][frame]
        assert got_error == error
        if stats is None:
            assert got is None
            continue
        assert got is not None
        for name in ("pixels", "samples", "nan", "inf", "negative", "outside_ap1"):
            assert getattr(got, name) == getattr(stats, name)
        assert stats.codes and set(got.codes) == set(stats.codes)
        for key, codes in stats.codes.items():
            assert got.codes[key].dtype == np.float64
            np.testing.assert_array_equal(got.codes[key], codes)
        assert stats.footage is not None and got.footage is not None
        assert got.footage.digest == stats.footage.digest
        assert got.footage.p99 == stats.footage.p99
        np.testing.assert_array_equal(got.footage.thumb, stats.footage.thumb)
        assert got.footage.thumb.dtype == np.float32
        if stats.footage.spectrum is not None:
            np.testing.assert_array_equal(got.footage.spectrum, stats.footage.spectrum)


class _Boom:
    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (Path.touch, (Path("/tmp/hdrpipe-pickle-ran"),))


@pytest.mark.parametrize(
    "content",
    [
        pickle.dumps(_Boom()),
        b'{"schema": "hdrpipe.farm.validation/1",'
        b' "shots": [[[1001, {"pixels": 1}, null]]]}',
        b'{"schema": "other", "shots": []}',
        b"{not json",
    ],
    ids=["pickle-payload", "missing-fields", "wrong-schema", "not-json"],
)
def test_hostile_statistics_file_is_a_conform_error(
    tmp_path: Path, content: bytes
) -> None:
    marker = Path("/tmp/hdrpipe-pickle-ran")
    marker.unlink(missing_ok=True)
    path = tmp_path / "validation-0000.json"
    path.write_bytes(content)
    with pytest.raises(ConformError, match="validation statistics unreadable"):
        load_stats(path)
    assert not marker.exists()  # nothing in the file ran


def test_array_of_the_wrong_size_is_refused(tmp_path: Path) -> None:
    frames = _frames_read(tmp_path)
    path = save_stats(tmp_path / "validation-0000.json", [frames])
    doc = json.loads(path.read_text())
    stats = next(s for _f, s, _e in doc["shots"][0] if s is not None)
    key = next(iter(stats["codes"]))
    stats["codes"][key]["shape"] = [stats["codes"][key]["shape"][0] + 1]
    path.write_text(json.dumps(doc))
    with pytest.raises(ConformError, match="bytes"):
        load_stats(path)
