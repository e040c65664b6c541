"""Class 13: looks are input too.

A relative ``--look`` is relative to the working directory (not the OCIO
config's folder), and an extreme but valid CDL never lands ±Inf in a
deliverable: the job fails with a ColorError naming the frame.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from reliability_helpers import tree

from hdrpipe.cli import main
from hdrpipe.engine import ConformJob, conform
from hdrpipe.errors import ColorError
from hdrpipe.exr import read_pixels

_CC = """<?xml version="1.0" encoding="UTF-8"?>
<ColorCorrection id="look">
  <SOPNode><Slope>{s} {s} {s}</Slope><Offset>0 0 0</Offset>
  <Power>{p} {p} {p}</Power></SOPNode>
  <SatNode><Saturation>{sat}</Saturation></SatNode>
</ColorCorrection>
"""


def _cc(folder: Path, slope: float, power: float, sat: float) -> Path:
    path = folder / "grade.cc"
    path.write_text(_CC.format(s=slope, p=power, sat=sat), encoding="utf-8")
    return path


def test_relative_look_is_relative_to_the_working_directory(
    plate: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    _cc(work, 1.1, 1.0, 0.9)
    monkeypatch.chdir(work)
    job = ConformJob(
        inputs=(str(plate),), deliver=("exr-acescg",), outdir="out", look="grade.cc"
    )
    assert job.look == str(work / "grade.cc")  # absolute from job creation on
    manifest = conform(job)
    assert manifest.data["color"]["look"]["file"] == str(work / "grade.cc")
    assert len(list((work / "out" / "plate_exr-acescg").iterdir())) == 3


def test_extreme_cdl_fails_instead_of_writing_inf(
    plate: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _cc(tmp_path, 1e5, 5.0, 50.0)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy overflow warning either
        code = main(
            [
                "conform",
                str(plate),
                "-d",
                "exr-acescg",
                "-o",
                str(out),
                "--look",
                "grade.cc",
                "--no-progress",
            ]
        )
    err = capsys.readouterr().err
    assert code == 1, err
    assert "frame" in err and ("±Inf" in err or "non-finite" in err), err
    assert not out.exists() or tree(out) == []


def test_extreme_cdl_error_names_the_frame(plate: Path, tmp_path: Path) -> None:
    look = _cc(tmp_path, 1e5, 5.0, 50.0)
    with pytest.raises(ColorError, match=r"record frame \d+: .*non-finite"):
        conform(
            ConformJob(
                inputs=(str(plate),),
                deliver=("exr-acescg",),
                outdir=tmp_path / "out",
                look=str(look),
            )
        )


def test_a_moderate_cdl_still_conforms_finite(plate: Path, tmp_path: Path) -> None:
    look = _cc(tmp_path, 1.2, 1.0, 1.2)
    manifest = conform(
        ConformJob(
            inputs=(str(plate),),
            deliver=("exr-acescg",),
            outdir=tmp_path / "out",
            look=str(look),
        )
    )
    import numpy as np

    folder = Path(manifest.outputs[0]["path"]).parent
    for frame in sorted(folder.iterdir()):
        assert np.isfinite(read_pixels(frame)).all()


def test_exr_writer_refuses_samples_beyond_half_range(tmp_path: Path) -> None:
    from fractions import Fraction

    import numpy as np

    from hdrpipe.encode import get_preset, open_writer
    from hdrpipe.types import Rate

    frame = np.full((36, 64, 3), 0.18, np.float32)
    frame[3, 5] = 1e6  # finite in float32, +Inf in half
    writer = open_writer(
        get_preset("exr-acescg"),
        tmp_path / "p.####.exr",
        width=64,
        height=36,
        rate=Rate(Fraction(24)),
    )
    with pytest.raises(ColorError, match=r"frame 1001: 3 sample.*half-float"):
        writer.write(frame)
    writer.abort()
    assert tree(tmp_path) == []
