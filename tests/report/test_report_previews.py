"""The frames a job's validator keeps for the QC report (so it does not decode
them again), checked against an independent read of the same files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fixtures.generate import make_plate
from hdrpipe.color import Transform
from hdrpipe.engine import ConformJob, conform
from hdrpipe.exr import read_pixels
from hdrpipe.report.analyse import analyse_shot
from hdrpipe.sequence import open_sequence
from hdrpipe.validation import PREVIEW_WIDTH, Validator


@pytest.fixture(scope="module")
def plate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # 1000 px across: previews keep every 3rd row and column (<= 384 across).
    return make_plate(
        tmp_path_factory.mktemp("previews"), width=1000, height=120, frames=7, seed=4
    )


def _frame(pattern: Path, frame: int) -> str:
    return str(pattern).replace("####", str(frame))


def test_validator_keeps_first_middle_last_decimated(plate: Path) -> None:
    v = Validator(plate, previews=True)
    v.report()
    kept = v.previews()
    assert sorted(kept) == [1001, 1004, 1007]
    for frame, (step, pixels) in kept.items():
        assert step == 3 and pixels.shape == (40, 334, 3)
        assert pixels.shape[1] <= PREVIEW_WIDTH
        full = read_pixels(_frame(plate, frame), channels="RGB")
        np.testing.assert_array_equal(pixels.astype(np.float32), full[::3, ::3, :3])
    assert Validator(plate).previews() == {}


def test_report_uses_the_kept_frames_not_the_files(plate: Path, tmp_path: Path) -> None:
    hdr = Transform(target="hdr-pq-1000-rec2020", color_path="exact")
    sdr = Transform(target="sdr-rec709", color_path="exact")
    v = Validator(plate, previews=True)
    v.report()
    read = analyse_shot(open_sequence(str(plate)), hdr=hdr, sdr=sdr, curves=False)
    reused = analyse_shot(
        open_sequence(str(plate)), hdr=hdr, sdr=sdr, curves=False, previews=v.previews()
    )
    # Same pictures and measurements as decoding the frames again ...
    assert sorted(reused.contact) == sorted(read.contact) == [1001, 1004, 1007]
    for frame in read.contact:
        np.testing.assert_array_equal(reused.contact[frame], read.contact[frame])
    assert reused.max_rgb == read.max_rgb
    # ... and the files are not read: a copy whose middle frame is gone still
    # shows it from the kept preview.
    copy = tmp_path / "copy"
    copy.mkdir()
    for f in range(1001, 1008):
        (copy / Path(_frame(plate, f)).name).write_bytes(
            Path(_frame(plate, f)).read_bytes()
        )
    pattern = copy / plate.name
    seq = open_sequence(str(pattern))
    Path(_frame(pattern, 1004)).write_bytes(b"not an exr")
    without = analyse_shot(seq, hdr=hdr, sdr=sdr, curves=False)
    assert without.unreadable == (1004,)
    kept = analyse_shot(seq, hdr=hdr, sdr=sdr, curves=False, previews=v.previews())
    assert kept.unreadable == () and 1004 in kept.contact


def test_conform_hands_its_previews_over(plate: Path, tmp_path: Path) -> None:
    m = conform(ConformJob(inputs=(plate,), deliver=("exr-aces",), outdir=tmp_path))
    kept = m.previews[str(plate)]
    assert sorted(kept) == [1001, 1004, 1007]
    full = read_pixels(_frame(plate, 1007), channels="RGB")
    np.testing.assert_array_equal(kept[1007][1].astype(np.float32), full[::3, ::3])
