"""Non-ACES media in a cut: input space from the EXR header or ``--input-space``.

References: colour-science ``RGB_to_RGB`` with the Bradford chromatic
adaptation (the CAT of the ACES CSC transforms the OCIO studio config uses).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import opentimelineio as otio
import pytest
from numpy.typing import NDArray

from fixtures.editorial import (
    ClipSpec,
    EventSpec,
    frame_id,
    make_clip,
    read_id,
    ungraded_cuts,
)
from hdrpipe.cli import main
from hdrpipe.editorial import conform_timeline, parse_input_spaces, plan_timeline
from hdrpipe.engine import ConformJob
from hdrpipe.errors import InputError
from hdrpipe.exr import REC709_CHROMATICITIES, read_pixels

colour = pytest.importorskip("colour")

CG = ClipSpec("CG010", 5, 5 * 86400, frames=12)  # ACEScg, no chromaticities
R709 = ClipSpec("R709", 6, 6 * 86400, frames=12)  # linear Rec.709, declared
EVENTS = (EventSpec(CG, 2, 4), EventSpec(R709, 3, 4))


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mixed")
    make_clip(root / "cg" / CG.name, CG, chromaticities=None)
    make_clip(root / "709" / R709.name, R709, chromaticities=REC709_CHROMATICITIES)
    return root


@pytest.fixture(scope="module")
def cut(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cut") / "mixed.otio"
    otio.adapters.write_to_file(ungraded_cuts(EVENTS), str(path))
    return path


def _reference(src: Path, space: str) -> NDArray[np.float64]:
    rgb = read_pixels(src)[..., :3].astype(np.float64)
    return np.asarray(
        colour.RGB_to_RGB(
            rgb, space, "ACES2065-1", chromatic_adaptation_transform="Bradford"
        )
    )


@pytest.fixture(scope="module")
def result(media: Path, cut: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    job = ConformJob(
        inputs=(cut,),
        deliver=("exr-aces", "h264-sdr-review"),
        outdir=tmp_path_factory.mktemp("out"),
        color_path="exact",
        # The default profile (ray3): each source is judged for the space it is
        # read in (given or declared), not refused for not being AP0.
    )
    # One plain space for the root: the Rec.709 clip's header wins over it.
    spaces = parse_input_spaces(["ACEScg"], [media])
    return conform_timeline(job, [media], handles=0, input_spaces=spaces)


def test_input_space_and_its_origin_are_recorded(result: Any) -> None:
    assert result.plan.job.profile == "ray3"
    rows = result.data["events"]
    assert [(r["input_space"], r["input_space_from"]) for r in rows] == [
        ("ACEScg", "--input-space"),
        ("Linear Rec.709 (sRGB)", "chromaticities"),
    ]
    manifests = [
        json.loads(Path(r["pull_outputs"]["manifest"]).read_text()) for r in rows
    ]
    assert [m["color"]["source_colorspace"] for m in manifests] == [
        "ACEScg",
        "Linear Rec.709 (sRGB)",
    ]
    chroma = [
        next(
            c
            for c in m["inputs"][0]["validation"]["checks"]
            if c["id"] == "chromaticities"
        )
        for m in manifests
    ]
    # ACEScg without the attribute passes as given; Rec.709 passes as declared.
    assert [(c["status"], c["details"]["declared"]) for c in chroma] == [
        ("pass", None),
        ("pass", "Rec.709"),
    ]


@pytest.mark.parametrize(
    ("event", "clip", "space"),
    [(0, CG, "ACEScg"), (1, R709, "ITU-R BT.709")],
    ids=["acescg-by-flag", "rec709-by-header"],
)
def test_pulls_and_master_match_colour_science(
    result: Any, media: Path, event: int, clip: ClipSpec, space: str
) -> None:
    row = result.data["events"][event]
    plate = sorted(Path(row["pull_outputs"]["outputs"][0]).parent.glob("*.exr"))
    master = sorted(Path(result.data["master"]["aces"]).parent.glob("*.exr"))
    spec = EVENTS[event]
    folder = "cg" if clip is CG else "709"
    for k in range(spec.frames):
        src = media / folder / clip.name / f"{clip.name}.{1001 + spec.offset + k}.exr"
        want = _reference(src, space)
        for got_path in (plate[k], master[event * 4 + k]):
            got = read_pixels(got_path)[..., :3].astype(np.float64)
            worst = np.unravel_index(np.argmax(np.abs(got - want)), got.shape)
            np.testing.assert_allclose(
                got, want, rtol=2e-3, atol=2e-4, err_msg=f"{got_path} worst {worst}"
            )
        assert read_id(read_pixels(master[event * 4 + k])) == frame_id(
            clip.number, spec.offset + k
        )


def test_input_space_per_root_and_its_refusals(media: Path, cut: Path) -> None:
    cg, r709 = media / "cg", media / "709"
    spaces = parse_input_spaces([f"{cg}=acescg", "lin_rec709"], [cg, r709])
    assert spaces == {cg.resolve(): "ACEScg", r709.resolve(): "Linear Rec.709 (sRGB)"}
    planned = plan_timeline(
        ConformJob(inputs=(cut,), deliver=("exr-aces",), outdir=media / "x"),
        [cg, r709],
        input_spaces=spaces,
    )
    assert [p.job.source_colorspace for p in planned.pulls] == [
        "ACEScg",
        "Linear Rec.709 (sRGB)",
    ]
    for bad in (["NoSuchSpace"], [f"{media}/nowhere=ACEScg"], ["ACEScg", "ACES2065-1"]):
        with pytest.raises(InputError, match="--input-space"):
            parse_input_spaces(bad, [cg, r709])


def test_cli_input_space(
    media: Path, cut: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["conform", "--timeline", str(cut), "-d", "exr-aces", "-o", str(tmp_path)]
    base += ["--media", str(media), "--no-progress", "--dry-run", "--json"]
    assert main([*base, "--input-space", f"{media}=ACEScg"]) == 0
    rows = json.loads(capsys.readouterr().out)["events"]
    assert [r["input_space"] for r in rows] == ["ACEScg", "Linear Rec.709 (sRGB)"]
    assert main([*base, "--input-space", "Not A Space"]) == 2
    assert "Not A Space" in capsys.readouterr().err
