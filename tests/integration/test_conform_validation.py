"""conform validates the sources on the frames it decodes anyway: one decode for both.

The stream's validation must judge exactly what ``hdrpipe.validate`` judges, stop
an unforced job as soon as a failure is certain, and never leave an output behind.
"""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import OpenImageIO as oiio
import pytest

import hdrpipe.exr
from fixtures.generate import BROKEN_FRAME_OFFSET, make_plate
from hdrpipe.engine import ConformJob, conform
from hdrpipe.errors import ValidationError
from hdrpipe.validation import validate

FIRST = 1001


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Count the pixel decodes of each file (every pixel read goes through _read)."""
    seen: Counter[str] = Counter()
    lock = threading.Lock()
    real = hdrpipe.exr._read

    def counting(p: Path, *args: Any) -> Any:
        with lock:
            seen[Path(p).name] += 1
        return real(p, *args)

    monkeypatch.setattr(hdrpipe.exr, "_read", counting)
    return seen


def test_each_source_frame_is_decoded_once_and_judged_as_validate(
    tmp_path: Path, decodes: Counter[str], judgements: list[tuple[str, ...]]
) -> None:
    src = make_plate(tmp_path / "src", width=64, height=36, frames=8, seed=4)
    manifest = conform(
        ConformJob(
            inputs=(str(src),),
            deliver=("prores422hq-pq1000", "exr-acescg", "h264-sdr-review"),
            outdir=tmp_path / "out",
        )
    ).to_dict()
    sources = {f"plate.{FIRST + i}.exr" for i in range(8)}
    assert {k: v for k, v in decodes.items() if k in sources} == dict.fromkeys(
        sources, 1
    )
    streamed = manifest["inputs"][0]["validation"]
    standalone = validate(str(src), profile="ray3").to_dict()
    assert streamed["status"] == standalone["status"] == "pass"
    assert streamed["checks"] == standalone["checks"]
    # Judged a fixed number of times, not once per frame: plan's header checks,
    # the stream's header checks, its first problems() and the final report
    # (+ the standalone validate() above).
    assert len(judgements) == 5, judgements


def test_nan_frame_stops_the_job_at_that_frame(
    tmp_path: Path, decodes: Counter[str]
) -> None:
    frames = 24
    src = make_plate(
        tmp_path / "src", width=64, height=36, frames=frames, variant="nonfinite"
    )
    out = tmp_path / "out"
    with pytest.raises(ValidationError, match="NaN"):
        conform(
            ConformJob(inputs=(str(src),), deliver=("prores422hq-pq1000",), outdir=out)
        )
    # The reader stopped at the broken frame (a few frames of queue ahead at most),
    # instead of decoding the clip to the end first.
    read = sorted(int(name.split(".")[1]) for name in decodes)
    assert FIRST + BROKEN_FRAME_OFFSET in read
    assert max(read) <= FIRST + BROKEN_FRAME_OFFSET + 1
    assert not out.exists()  # no file, and no empty folder either


@pytest.mark.parametrize(
    "deliver",
    [
        ("prores422hq-pq1000", "exr-acescg"),
        # HEVC HDR10 (its light level SEI patched at close) among them.
        ("prores422hq-pq1000", "hevc-hdr10", "exr-acescg"),
    ],
    ids=["prores-exr", "with-hevc-hdr10"],
)
def test_failure_judged_after_the_last_frame_leaves_no_output(
    tmp_path: Path, deliver: tuple[str, ...]
) -> None:
    """bit_depth pools the whole clip: its failure comes after the pass, and the
    finished-but-unclosed outputs are discarded, not renamed."""
    src = make_plate(
        tmp_path / "src", width=64, height=36, frames=6, variant="quant10_acescct"
    )
    out = tmp_path / "out"
    with pytest.raises(ValidationError, match="quantised to 10 bits"):
        conform(ConformJob(inputs=(str(src),), deliver=deliver, outdir=out))
    assert not out.exists()
    # A folder that was there before is left, with what was in it.
    out.mkdir()
    (out / "notes.txt").write_text("keep")
    with pytest.raises(ValidationError):
        conform(ConformJob(inputs=(str(src),), deliver=deliver, outdir=out))
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_frames_the_retime_skips_are_validated_too(tmp_path: Path) -> None:
    """48 → 24 fps nearest uses every other frame: a NaN in a skipped one fails too."""
    src = make_plate(
        tmp_path / "src", width=64, height=36, frames=12, fps=48, variant="nonfinite"
    )
    assert BROKEN_FRAME_OFFSET % 2 == 1  # 1006: not one of 1001, 1003, … (used)
    job = ConformJob(
        inputs=(str(src),), deliver=("exr-acescg",), outdir=tmp_path / "out", fps=24
    )
    with pytest.raises(ValidationError, match="NaN"):
        conform(job)
    assert not (tmp_path / "out").exists()
    forced = conform(
        ConformJob(
            inputs=(str(src),),
            deliver=("exr-acescg",),
            outdir=tmp_path / "forced",
            fps=24,
            force=True,
        )
    ).to_dict()
    assert forced["frames"] == 6 and forced["validation_forced"] is True
    nonfinite = {c["id"]: c for c in forced["inputs"][0]["validation"]["checks"]}
    assert nonfinite["nonfinite"]["frames"] == [FIRST + BROKEN_FRAME_OFFSET]


def test_forced_job_holds_a_frame_whose_pixels_are_damaged(tmp_path: Path) -> None:
    """A truncated file has a good header: the damage shows only when decoded."""
    src = make_plate(
        tmp_path / "src", width=64, height=36, frames=8, variant="truncated"
    )
    broken = FIRST + BROKEN_FRAME_OFFSET
    with pytest.raises(ValidationError, match=f"unreadable: {broken}"):
        conform(
            ConformJob(inputs=(str(src),), deliver=("exr-acescg",), outdir=tmp_path)
        )
    manifest = conform(
        ConformJob(
            inputs=(str(src),),
            deliver=("exr-acescg",),
            outdir=tmp_path / "forced",
            force=True,
        )
    ).to_dict()
    checks = {c["id"]: c for c in manifest["inputs"][0]["validation"]["checks"]}
    assert checks["readable"]["status"] == "fail"
    assert checks["readable"]["frames"] == [broken]
    out = sorted(Path(manifest["outputs"][0]["path"]).parent.glob("*.exr"))
    assert len(out) == 8
    pixels = [oiio.ImageBuf(str(p)).get_pixels(oiio.FLOAT) for p in out]
    # Frame 1006 is held by its nearest readable neighbour (the earlier one on a tie).
    np.testing.assert_array_equal(pixels[BROKEN_FRAME_OFFSET], pixels[4])
    assert not np.array_equal(pixels[4], pixels[6])
