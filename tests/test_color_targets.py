"""Adding a colour target is one registry entry: transform, tags, probe names, EXR.

Each test registers a target that hdrpipe does not ship (registry entry only)
and checks what the rest of the pipeline makes of it against independent
readers: colour-science for the colour values, MediaInfo and FFmpeg (PyAV) for
the movie's tags, the OpenEXR bindings for the EXR header. The code points are
ITU-T H.273's published numbers, written here as numbers.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import OpenEXR
import pytest
from pymediainfo import MediaInfo

from hdrpipe.color import Transform, get_target, mastering_display_for, targets
from hdrpipe.color_targets import (
    OcioCandidate,
    TargetSpec,
    register_target,
    target_spec,
    unregister_target,
)
from hdrpipe.encode import get_preset, open_writer, verify
from hdrpipe.encode.presets import load_presets
from hdrpipe.encode.probe import expected_tags
from hdrpipe.errors import ColorError, InputError
from hdrpipe.types import ContentLightLevel, Rate
from hdrpipe.validation.checks import identify_chromaticities

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import colour

RATE = Rate(Fraction(24))
P3_PQ = "test-pq-1000-p3d65-container"
P3_LINEAR = "test-linear-p3d65"


@pytest.fixture
def p3_targets() -> Iterator[None]:
    """Two new targets, as a studio would add them: one entry each."""
    register_target(
        TargetSpec(
            P3_PQ,
            "display",
            "pq",
            "p3d65",
            1000.0,
            "ACES 2.0 HDR 1000 nits in a P3-D65 container, ST 2084",
            (
                OcioCandidate(
                    "ST2084-P3-D65 - Display", "ACES 2.0 - HDR 1000 nits (P3 D65)"
                ),
            ),
        )
    )
    register_target(
        TargetSpec(
            P3_LINEAR,
            "colorspace",
            "linear",
            "p3d65",
            None,
            "scene-linear P3-D65",
            (OcioCandidate(colorspace="Linear P3-D65"),),
        )
    )
    try:
        yield
    finally:
        unregister_target(P3_PQ)
        unregister_target(P3_LINEAR)


def _plate() -> np.ndarray:
    """ACES2065-1 values from black to speculars, mid-saturation colours."""
    rng = np.random.default_rng(11)
    grey = np.geomspace(1e-4, 40.0, 36 * 64).reshape(36, 64, 1)
    tint = rng.uniform(0.6, 1.4, (36, 64, 3))
    return (grey * tint).astype(np.float32)


def test_new_display_target_renders_the_p3_container(p3_targets: None) -> None:
    plate = _plate()
    new = Transform(target=P3_PQ, color_path="exact").apply(plate)
    # Independent reference: the shipped P3-limited view in the Rec.2020
    # container, moved to P3-D65 primaries by colour-science (decode PQ,
    # RGB→RGB, encode PQ).
    ref2020 = Transform(target="hdr-pq-1000-p3d65", color_path="exact").apply(plate)
    light = colour.models.eotf_ST2084(ref2020.astype(np.float64))
    p3 = colour.RGB_to_RGB(
        light,
        colour.RGB_COLOURSPACES["ITU-R BT.2020"],
        colour.RGB_COLOURSPACES["P3-D65"],
    )
    ref = colour.models.eotf_inverse_ST2084(np.maximum(p3, 0.0))
    err = np.abs(new.astype(np.float64) - ref) * 1023
    assert float(err.max()) <= 1.0, f"max {err.max():.3f} 10-bit code values"
    assert P3_PQ in [t.name for t in targets()]


def test_new_target_tags_probe_names_and_mastering(
    p3_targets: None, tmp_path: Path
) -> None:
    presets = tmp_path / "presets.toml"
    presets.write_text(
        f'[presets.prores-p3pq]\nbase = "prores422hq-pq1000"\ntarget = "{P3_PQ}"\n'
    )
    spec = load_presets(presets)["prores-p3pq"]
    assert (spec.primaries, spec.transfer, spec.matrix) == (
        "smpte432",
        "smpte2084",
        "bt709",
    )
    md = mastering_display_for(get_target(P3_PQ))
    assert md is not None
    p3 = colour.RGB_COLOURSPACES["P3-D65"]
    assert np.allclose([md.red, md.green, md.blue], p3.primaries, atol=0)
    assert np.allclose(md.white, p3.whitepoint, atol=0)

    frames = [
        Transform(target=P3_PQ, color_path="exact").apply(_plate()) for _ in range(2)
    ]
    nits = colour.models.eotf_ST2084(np.stack(frames).astype(np.float64)).max(axis=-1)
    level = ContentLightLevel(round(float(nits.max())), round(float(nits.mean())))
    path = tmp_path / "p3.mov"
    with open_writer(spec, path, width=64, height=36, rate=RATE, mastering=md) as w:
        for f in frames:
            w.write(f)
        w.close(light_level=level)

    video = next(
        t for t in MediaInfo.parse(str(path)).tracks if t.track_type == "Video"
    )
    data = video.to_data()
    assert data["color_primaries"] == "Display P3"
    assert data["transfer_characteristics"] == "PQ"
    assert data["matrix_coefficients"] == "BT.709"
    assert data["mastering_display_color_primaries"] == "Display P3"
    exp = expected_tags(spec)
    assert (exp["primaries"], exp["transfer"], exp["matrix"]) == (
        "Display P3",
        "PQ",
        "BT.709",
    )
    with av.open(str(path)) as c:
        cc = c.streams.video[0].codec_context
        # ITU-T H.273: ColourPrimaries 12 = SMPTE EG 432-1 (P3-D65),
        # TransferCharacteristics 16 = SMPTE ST 2084, MatrixCoefficients 1 = BT.709.
        assert (int(cc.color_primaries), int(cc.color_trc), int(cc.colorspace)) == (
            12,
            16,
            1,
        )
    verify(
        path,
        spec,
        frames=2,
        rate=RATE,
        start_timecode=None,
        light_level=level,
        mastering=md,
    )


def test_new_scene_linear_target_writes_its_exr_chromaticities(
    p3_targets: None, tmp_path: Path
) -> None:
    spec = replace(get_preset("exr-acescg"), name="exr-p3", target=P3_LINEAR)
    frame = Transform(target=P3_LINEAR).apply(_plate())
    with open_writer(
        spec, tmp_path / "p.####.exr", width=64, height=36, rate=RATE
    ) as w:
        w.write(frame)
        w.close()
    with OpenEXR.File(str(tmp_path / "p.1001.exr")) as f:
        chroma = np.ravel(f.header()["chromaticities"])
    cs = colour.RGB_COLOURSPACES["P3-D65"]
    want = np.concatenate([cs.primaries.ravel(), cs.whitepoint])
    np.testing.assert_allclose(chroma, want, atol=1e-6)
    assert identify_chromaticities(tuple(float(v) for v in chroma)) == "P3-D65"


def test_a_preset_whose_tags_disagree_with_its_target_is_refused(
    tmp_path: Path,
) -> None:
    presets = tmp_path / "presets.toml"
    presets.write_text('[presets.bad]\nbase = "hevc-hlg"\ntransfer = "smpte2084"\n')
    with pytest.raises(InputError, match="transfer 'smpte2084' disagrees .*hlg-1000"):
        load_presets(presets)
    # A new target without tags takes the new target's (not the base's).
    presets.write_text('[presets.sdr]\nbase = "hevc-hlg"\ntarget = "sdr-rec709"\n')
    spec = load_presets(presets)["sdr"]
    assert (spec.primaries, spec.transfer, spec.matrix) == ("bt709", "bt709", "bt709")


def test_registry_refuses_bad_entries() -> None:
    with pytest.raises(ColorError, match="already registered"):
        register_target(target_spec("hlg-1000"))
    with pytest.raises(ColorError, match="unknown primaries"):
        TargetSpec(
            "x",
            "colorspace",
            "linear",
            "ap9",
            None,
            "",
            (OcioCandidate(colorspace="x"),),
        )
    with pytest.raises(ColorError, match="shipped"):
        unregister_target("hlg-1000")
