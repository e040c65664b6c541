"""DPX media in a cut: a 10-bit ACEScct DPX sequence beside an ACES EXR master.

References: colour-science ``log_decoding_ACEScct`` (Academy S-2016-001) and
``RGB_to_RGB`` ACEScg → ACES2065-1 (same ACES white: no adaptation). The DPX
codes are read back with OpenImageIO directly, not through hdrpipe.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import OpenImageIO as oiio  # noqa: N813
import opentimelineio as otio
import pytest
from numpy.typing import NDArray

from fixtures.editorial import (
    DPX_CODE_MAX,
    ClipSpec,
    EventSpec,
    frame_id,
    make_clip,
    make_dpx_clip,
    read_id,
    ungraded_cuts,
)
from fixtures.generate import render_frame
from hdrpipe.cli import main
from hdrpipe.editorial import conform_timeline, parse_input_spaces, scan_media
from hdrpipe.engine import ConformJob, conform
from hdrpipe.errors import InputError
from hdrpipe.exr import read_header, read_pixels

colour = pytest.importorskip("colour")

ACES = ClipSpec("A010C001", 1, 1 * 86400, frames=12)
DPX = ClipSpec("D020C002", 2, 2 * 86400 + 100, frames=12)
EVENTS = (EventSpec(ACES, 2, 4), EventSpec(DPX, 3, 5))


@pytest.fixture(scope="module")
def roots(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("dpxmedia")
    make_clip(base / "exr" / ACES.name, ACES)
    make_dpx_clip(base / "dpx" / DPX.name, DPX)
    return base / "exr", base / "dpx"


@pytest.fixture(scope="module")
def cut(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cut") / "dpx_cut.otio"
    otio.adapters.write_to_file(ungraded_cuts(EVENTS), str(path))
    return path


@pytest.fixture(scope="module")
def result(
    roots: tuple[Path, Path], cut: Path, tmp_path_factory: pytest.TempPathFactory
) -> Any:
    # The default profile (ray3): the DPX is judged for the space it is given in.
    job = ConformJob(
        inputs=(cut,),
        deliver=("exr-aces", "h264-sdr-review"),
        outdir=tmp_path_factory.mktemp("out"),
        color_path="exact",
    )
    spaces = parse_input_spaces([f"{roots[1]}=ACEScct"], list(roots))
    return conform_timeline(job, list(roots), handles=2, input_spaces=spaces)


def _dpx_codes(path: Path) -> NDArray[np.float64]:
    """10-bit code values of a DPX, read by OpenImageIO (not hdrpipe)."""
    inp = oiio.ImageInput.open(str(path))
    assert inp is not None, oiio.geterror()
    assert inp.spec().get_int_attribute("oiio:BitsPerSample") == 10
    raw = inp.read_image(0, 0, 0, 3, "float")
    inp.close()
    return np.round(np.asarray(raw, dtype=np.float64) * DPX_CODE_MAX)


def _aces_of_codes(codes: NDArray[np.float64]) -> NDArray[np.float64]:
    ap1 = colour.models.log_decoding_ACEScct(codes / DPX_CODE_MAX)
    return np.asarray(colour.RGB_to_RGB(ap1, "ACEScg", "ACES2065-1"))


def test_dpx_header_timecode_rate_and_storage(roots: tuple[Path, Path]) -> None:
    header = read_header(roots[1] / DPX.name / f"{DPX.name}.1001.dpx")
    assert header.file_format == "dpx"
    assert header.time_code == "02:00:04:04"  # 2 * 86400 + 100 frames at 24 fps
    assert header.frames_per_second == 24
    assert header.chromaticities is None
    assert {c.pixel_type for c in header.channels} == {"uint10"}


def test_dpx_is_matched_by_name_and_timecode(result: Any) -> None:
    rows = result.data["events"]
    assert [r["status"] for r in rows] == ["ok", "ok"]
    row = rows[1]
    assert row["media"].endswith(f"{DPX.name}.####.dpx")
    assert row["by"] == "clip name"
    assert row["source_in"] == "02:00:04:07"  # offset 3
    assert row["used"] == [1004, 1008]
    assert row["pull"] == [1002, 1010]  # ± 2 handles
    assert (row["input_space"], row["input_space_from"]) == (
        "ACEScct",
        "--input-space",
    )
    manifest = json.loads(Path(row["pull_outputs"]["manifest"]).read_text())
    assert manifest["color"]["source_colorspace"] == "ACEScct"


def test_dpx_pull_passes_the_default_profile_for_what_it_is(result: Any) -> None:
    row = result.data["events"][1]
    manifest = json.loads(Path(row["pull_outputs"]["manifest"]).read_text())
    (source,) = manifest["inputs"]
    report = source["validation"]
    assert result.plan.job.profile == "ray3"  # the default, not nuke-comp
    checks = {c["id"]: c for c in report["checks"]}
    assert checks["pixel_type"]["status"] == "pass", checks["pixel_type"]
    assert checks["pixel_type"]["details"]["types"] == ["uint10"]
    chroma = checks["chromaticities"]
    assert chroma["status"] == "pass", chroma
    assert chroma["details"]["declared"] is None
    assert "read as ACEScct, as given" in chroma["message"]
    assert report["status"] != "fail"


def test_master_pixels_match_colour_science(
    result: Any, roots: tuple[Path, Path]
) -> None:
    master = sorted(Path(result.data["master"]["aces"]).parent.glob("*.exr"))
    first, shown = EVENTS[0].frames, EVENTS[1]
    assert len(master) == first + shown.frames
    m_ap1_to_ap0 = np.abs(
        colour.matrix_RGB_to_RGB(
            colour.RGB_COLOURSPACES["ACEScg"],
            colour.RGB_COLOURSPACES["ACES2065-1"],
            chromatic_adaptation_transform=None,
        )
    )
    for k in range(shown.frames):
        index = shown.offset + k
        src = roots[1] / DPX.name / f"{DPX.name}.{1001 + index}.dpx"
        codes = _dpx_codes(src)
        got = read_pixels(master[first + k])[..., :3].astype(np.float64)
        # 1. The conversion of the stored codes: exact but for the half-float
        #    master (11-bit significand: relative rounding <= 2^-11) and the
        #    float32 OCIO maths (~1e-6 relative).
        want = _aces_of_codes(codes)
        worst = np.unravel_index(np.argmax(np.abs(got - want)), got.shape)
        np.testing.assert_allclose(
            got,
            want,
            rtol=2.0**-11 + 2e-5,
            atol=1e-6,
            err_msg=f"{master[first + k]} worst {worst}",
        )
        # 2. The scene the DPX was made from, within 10-bit ACEScct quantisation:
        #    half a code is 0.5 / 1023 in ACEScct; on the log segment (AP1 >=
        #    2^-7) that is a relative 2^(17.52 * 0.5 / 1023) - 1 = 0.594 %; on
        #    the linear segment (slope 10.5402377416545) 0.5 / 1023 / 10.5402...
        #    Per AP0 channel the AP1 errors add through |M(AP1 -> AP0)|.
        scene = render_frame(64, 36, index, seed=DPX.number).astype(np.float64)
        ap1 = np.asarray(colour.RGB_to_RGB(scene, "ACES2065-1", "ACEScg"))
        half_code = np.where(
            ap1 >= 2.0**-7,
            ap1 * (2.0 ** (17.52 * 0.5 / DPX_CODE_MAX) - 1.0),
            0.5 / DPX_CODE_MAX / 10.5402377416545,
        )
        bound = half_code @ m_ap1_to_ap0.T
        bound = bound * 1.001 + np.abs(want) * 2.0**-11 + 1e-6  # half-float store
        body = np.s_[4:, :, :]  # below the id stamp row (stamped after rendering)
        excess = np.abs(got - scene)[body] - bound[body]
        assert excess.max() <= 0, (
            f"{master[first + k]}: {excess.max()} over the quantisation bound at "
            f"{np.unravel_index(np.argmax(excess), excess.shape)}"
        )
        assert read_id(got) == frame_id(DPX.number, index)
    for k in range(first):  # the ACES master beside it, untouched
        assert read_id(read_pixels(master[k])) == frame_id(ACES.number, 2 + k)


def test_dpx_root_without_input_space_is_an_input_error(
    roots: tuple[Path, Path],
    cut: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(InputError, match=r"--input-space .*=SPACE"):
        scan_media(list(roots))
    args = ["conform", "--timeline", str(cut), "-d", "exr-aces", "-o", str(tmp_path)]
    args += ["--media", str(roots[0]), "--media", str(roots[1]), "--no-progress"]
    assert main([*args, "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "DPX sequences need an input colour space" in err
    assert f"--input-space {roots[1]}=SPACE" in err
    # With the root's space the same dry run plans both events.
    assert (
        main([*args, "--dry-run", "--json", "--input-space", f"{roots[1]}=ACEScct"])
        == 0
    )
    rows = json.loads(capsys.readouterr().out)["events"]
    assert [r["input_space"] for r in rows] == ["ACES2065-1", "ACEScct"]


def test_plain_conform_of_a_dpx_needs_a_source_colorspace(
    roots: tuple[Path, Path], tmp_path: Path
) -> None:
    pattern = roots[1] / DPX.name / f"{DPX.name}.####.dpx"
    job = ConformJob(inputs=(pattern,), deliver=("exr-aces",), outdir=tmp_path)
    with pytest.raises(InputError, match="--source-colorspace"):
        conform(job)
    assert not any(tmp_path.iterdir())
