"""Pulls of the test cut: exact range ± handles, source timecode, the event's CDL."""

from __future__ import annotations

import json
from pathlib import Path

import colour
import numpy as np
import pytest
from numpy.typing import NDArray

from fixtures.editorial import EVENTS, frame_id, read_id
from fixtures.generate import acescct_decode, acescct_encode
from hdrpipe.editorial import conform_timeline
from hdrpipe.engine import ConformJob
from hdrpipe.exr import read_header, read_pixels

HANDLES = 2
# Used source frames of each event (first frame 1001 = offset 0), from the cut's
# definition: A 10+12, B 12+10 plus the 6-frame dissolve, C 15+10, D 30 back 8.
USED = [(1011, 1022), (1013, 1028), (1016, 1025), (1024, 1031)]

# ACES2065-1 <-> ACEScg (AP0 <-> AP1, the same ACES white: no adaptation).
_AP0_TO_AP1 = (
    colour.models.RGB_COLOURSPACE_ACESCG.matrix_XYZ_to_RGB
    @ colour.models.RGB_COLOURSPACE_ACES2065_1.matrix_RGB_to_XYZ
)


def asc_cdl_in_acescct(
    ap0: NDArray[np.floating],
    slope: tuple[float, ...],
    offset: tuple[float, ...],
    power: tuple[float, ...],
    sat: float,
) -> NDArray[np.float64]:
    """The ASC CDL v1.2 (SOP, then saturation with Rec.709 luma) in ACEScct.

    Without v1.2's [0, 1] clamps: in ACEScct 1.0 is ~222x diffuse white, and the
    speculars of HDR masters sit above it (the grade must not clip them); power
    applies to positive values only, negative values pass unchanged.
    """
    cct = acescct_encode(np.asarray(ap0, np.float64) @ _AP0_TO_AP1.T)
    sop = cct * np.asarray(slope) + np.asarray(offset)
    sop = np.where(sop > 0, np.abs(sop) ** np.asarray(power), sop)
    luma = sop @ np.asarray([0.2126, 0.7152, 0.0722])
    out = luma[..., None] + sat * (sop - luma[..., None])
    return acescct_decode(out) @ np.linalg.inv(_AP0_TO_AP1).T


@pytest.fixture(scope="module")
def pulled(
    media_root: Path,
    cut_files: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, object]:
    out = tmp_path_factory.mktemp("pulls")
    job = ConformJob(
        inputs=(cut_files["edl"],),
        deliver=("exr-aces",),
        outdir=out,
        fps="24",
        color_path="exact",
    )
    result = conform_timeline(job, [media_root], handles=HANDLES)
    return {"out": out, "data": result.data, "path": result.path}


def _frames(row: dict[str, object]) -> list[Path]:
    outputs = row["pull_outputs"]
    assert isinstance(outputs, dict)
    (pattern,) = outputs["outputs"]
    folder = Path(pattern).parent
    return sorted(folder.glob("*.exr"))


def test_pulls_hold_the_used_range_plus_handles(pulled: dict[str, object]) -> None:
    data = pulled["data"]
    assert isinstance(data, dict)
    rows = data["events"]
    assert [r["shot"] for r in rows] == [
        f"{n:03d}_{e.clip.name}" for n, e in enumerate(EVENTS, 1)
    ]
    for row, spec, (lo, hi) in zip(rows, EVENTS, USED, strict=True):
        frames = _frames(row)
        assert len(frames) == hi - lo + 1 + 2 * HANDLES
        # Every plate frame is the source frame it should be (stamped id).
        for i, path in enumerate(frames):
            index = lo - HANDLES - 1001 + i
            assert read_id(read_pixels(path)) == frame_id(spec.clip.number, index)
        # Source timecode on the first and last plate frame.
        first_tc = spec.clip.tc_start + lo - HANDLES - 1001
        for path, tc in (
            (frames[0], first_tc),
            (frames[-1], first_tc + len(frames) - 1),
        ):
            ff, ss = tc % 24, tc // 24
            expected = f"{ss // 3600:02d}:{ss // 60 % 60:02d}:{ss % 60:02d}:{ff:02d}"
            assert read_header(path).time_code == expected
    assert json.loads(Path(str(pulled["path"])).read_text()) == data


def test_each_pull_carries_its_event_cdl(
    pulled: dict[str, object], media_root: Path
) -> None:
    data = pulled["data"]
    assert isinstance(data, dict)
    for row, spec, (lo, _hi) in zip(data["events"], EVENTS, USED, strict=True):
        frame = _frames(row)[HANDLES]  # the event's first used frame
        source = media_root / spec.clip.name / f"{spec.clip.name}.{lo:04d}.exr"
        expected = asc_cdl_in_acescct(
            read_pixels(source)[..., :3],
            spec.slope,
            spec.offset_cdl,
            spec.power,
            spec.saturation,
        )
        got = read_pixels(frame)[..., :3].astype(np.float64)
        err = np.abs(got - expected) / np.maximum(np.abs(expected), 1e-3)
        worst = np.unravel_index(np.argmax(err), err.shape)
        assert err.max() < 4e-3, (
            f"{row['shot']}: worst {got[worst]} vs {expected[worst]} at {worst}"
        )
        # Recorded: the CDL in the editorial manifest, the .cc and the .nk.
        assert row["cdl"] == {
            "slope": list(spec.slope),
            "offset": list(spec.offset_cdl),
            "power": list(spec.power),
            "saturation": spec.saturation,
        }
        nk = Path(row["pull_outputs"]["nuke"]).read_text()
        node = nk[nk.index("OCIOCDLTransform {") :].split("\n}\n", 1)[0]
        for knob, values in (
            ("slope", spec.slope),
            ("offset", spec.offset_cdl),
            ("power", spec.power),
        ):
            line = next(x for x in node.splitlines() if x.strip().startswith(knob))
            numbers = [float(v) for v in line.split("{", 1)[1].rstrip("}").split()]
            assert numbers == list(values), f"{row['shot']}: {knob}"
        assert f"saturation {spec.saturation}" in node


def test_planned_pulls_are_plain_jobs_with_their_cdl_file(
    media_root: Path, cut_files: dict[str, Path], tmp_path: Path
) -> None:
    import xml.etree.ElementTree as ET

    from hdrpipe.editorial import plan_timeline, write_pull_look

    job = ConformJob(
        inputs=(cut_files["otio"],), deliver=("exr-acescg",), outdir=tmp_path
    )
    planned = plan_timeline(job, [media_root], handles=3)
    assert not any(tmp_path.iterdir())  # planning writes nothing
    for pull, spec, (lo, hi) in zip(planned.pulls, EVENTS, USED, strict=True):
        assert pull.job.frames == pull.frames
        assert (pull.frames.first, pull.frames.last) == (lo - 3, hi + 3)
        assert pull.job.deliver == ("exr-acescg",)
        assert pull.job.fps is None and pull.job.start_tc is None
        cc = write_pull_look(pull)
        assert cc is not None and cc == Path(str(pull.job.look))
        assert cc.parent == tmp_path / pull.name
        root = ET.parse(cc).getroot()
        values = {
            el.tag: [float(v) for v in (el.text or "").split()] for el in root.iter()
        }
        assert values["Slope"] == list(spec.slope)
        assert values["Offset"] == list(spec.offset_cdl)
        assert values["Power"] == list(spec.power)
        assert values["Saturation"] == [spec.saturation]
