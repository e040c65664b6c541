"""Config resolution, targets, looks and Transform vs direct OCIO and colour-science."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import colour
import numpy as np
import PyOpenColorIO as ocio  # noqa: N813  (the name OCIO documents)
import pytest
from numpy.typing import NDArray

import hdrpipe.color.config as color_config
from hdrpipe.color import (
    Transform,
    get_target,
    resolve_config,
    source_colorspace,
    target_names,
    targets,
)
from hdrpipe.errors import ColorError, ConfigError

Plate = Callable[..., NDArray[np.float32]]
BUILTIN = "ocio://studio-config-latest"
EXPECTED_TARGETS = (
    "hdr-pq-1000-rec2020",
    "hdr-pq-1000-p3d65",
    "hdr-pq-600-rec2020",
    "hlg-1000",
    "sdr-rec709",
    "acescg",
    "acescct",
    "aces2065-1",
)


def _direct(
    display: str, view: str, pixels: NDArray[np.float32]
) -> NDArray[np.float32]:
    """Reference: one applyRGB of the BUILT-IN studio config's display/view."""
    cfg = ocio.Config.CreateFromFile(BUILTIN)
    proc = cfg.getProcessor(
        ocio.DisplayViewTransform(src="ACES2065-1", display=display, view=view)
    ).getDefaultCPUProcessor()
    out = np.ascontiguousarray(pixels, dtype=np.float32).copy()
    proc.applyRGB(out)
    return out


def _test_frame(plate: Plate) -> NDArray[np.float32]:
    frame = plate(64, 36).copy()
    # Add a neutral ramp far into the speculars and a few off-gamut / negative pixels.
    frame[0, :, :] = np.geomspace(1e-4, 5000.0, frame.shape[1], dtype=np.float32)[
        :, None
    ]
    frame[1, :4] = [
        [-0.01, 0.2, 0.3],
        [50.0, 0.0, 0.0],
        [0.0, 0.0, 80.0],
        [0.0, 0.0, 0.0],
    ]
    return frame


# ------------------------------------------------------------------ configs


def test_default_config_is_the_project_config() -> None:
    cfg, info = resolve_config()
    assert info.source == "project"
    assert Path(info.uri) == color_config.PROJECT_CONFIG.resolve()
    assert info.name.startswith("hdrpipe-config-")
    assert info.version.startswith("v1.0.0_studio-config-v5.0.0")
    assert "ACES 2.0 - HDR 1000 nits (Rec.2020)" in cfg.getViews(
        "Rec.2100-HLG - Display"
    )


def test_project_config_is_the_builtin_plus_documented_additions() -> None:
    project = ocio.Config.CreateFromFile(str(color_config.PROJECT_CONFIG))
    builtin = ocio.Config.CreateFromFile(BUILTIN)
    assert [c.getName() for c in project.getColorSpaces()] == [
        c.getName() for c in builtin.getColorSpaces()
    ]
    added = []
    for display in builtin.getDisplays():
        assert set(builtin.getViews(display)) <= set(project.getViews(display))
        added += [
            (display, v)
            for v in project.getViews(display)
            if v not in builtin.getViews(display)
        ]
    assert added == [("Rec.2100-HLG - Display", "ACES 2.0 - HDR 1000 nits (Rec.2020)")]
    readme = (color_config.PROJECT_CONFIG.parent / "README.md").read_text(
        encoding="utf-8"
    )
    assert "Rec.2100-HLG - Display" in readme and "HDR 1000 nits (Rec.2020)" in readme


def test_env_ocio_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "other.ocio"
    other.write_text(ocio.Config.CreateFromFile(BUILTIN).serialize(), encoding="utf-8")
    monkeypatch.setenv("OCIO", str(other))
    cfg, info = resolve_config()
    assert (info.source, info.uri) == ("$OCIO", str(other.resolve()))
    assert info.name == "studio-config-v5.0.0_aces-v2.1_ocio-v2.6"
    # This config lacks our HLG Rec.2020 view: hlg-1000 falls back to the P3 one.
    hlg = get_target("hlg-1000")
    assert (hlg.view, hlg.limiting_primaries) == (
        "ACES 2.0 - HDR 1000 nits (P3 D65)",
        "p3d65",
    )
    assert Transform(target="sdr-rec709").config_info.source == "$OCIO"
    # An explicit argument beats $OCIO.
    assert resolve_config(color_config.PROJECT_CONFIG)[1].source == "argument"


def test_builtin_is_the_last_resort(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # resolve_config reads the shipped config's path where it lives (.config).
    monkeypatch.setattr(color_config, "PROJECT_CONFIG", tmp_path / "missing.ocio")
    _, info = resolve_config()
    assert (info.source, info.uri) == ("builtin", BUILTIN)


@pytest.mark.parametrize(
    "how", ["missing-file", "garbage-file", "bad-uri", "env-missing"], ids=str
)
def test_unreadable_config_is_a_config_error(
    how: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    garbage = tmp_path / "bad.ocio"
    garbage.write_text("ocio_profile_version: 2\ncolorspaces: [\n", encoding="utf-8")
    arg = {
        "missing-file": str(tmp_path / "nope.ocio"),
        "garbage-file": str(garbage),
        "bad-uri": "ocio://no-such-config",
        "env-missing": None,
    }[how]
    if how == "env-missing":
        monkeypatch.setenv("OCIO", str(tmp_path / "nope.ocio"))
    with pytest.raises(ConfigError) as err:
        resolve_config(arg)
    assert isinstance(err.value, ColorError) and err.value.exit_code == 2
    assert "\n" not in str(err.value)


# ------------------------------------------------------------------ targets


def test_targets_listing() -> None:
    found = targets()
    assert tuple(t.name for t in found) == EXPECTED_TARGETS == target_names()
    pq = get_target("hdr-pq-1000-rec2020")
    assert (pq.display, pq.view) == (
        "Rec.2100-PQ - Display",
        "ACES 2.0 - HDR 1000 nits (Rec.2020)",
    )
    assert (pq.transfer, pq.primaries, pq.peak_luminance) == ("pq", "rec2020", 1000.0)
    p3 = get_target("hdr-pq-1000-p3d65")
    assert (p3.primaries, p3.limiting_primaries) == ("rec2020", "p3d65")
    sdr = get_target("sdr-rec709")
    assert (sdr.display, sdr.transfer, sdr.peak_luminance) == (
        "Rec.1886 Rec.709 - Display",
        "bt1886",
        100.0,
    )
    assert get_target("acescct").colorspace == "ACEScct"
    assert get_target("aces2065-1").peak_luminance is None


def test_unknown_target_lists_the_available_ones() -> None:
    with pytest.raises(ColorError) as err:
        get_target("hdr-pq-4000")
    for name in EXPECTED_TARGETS:
        assert name in str(err.value)
    with pytest.raises(ColorError, match="hdr-pq-1000-rec2020"):
        Transform(target="nope")


# ---------------------------------------------------------------- transforms


@pytest.mark.parametrize(
    ("target", "display", "view"),
    [
        (
            "hdr-pq-1000-rec2020",
            "Rec.2100-PQ - Display",
            "ACES 2.0 - HDR 1000 nits (Rec.2020)",
        ),
        (
            "hdr-pq-1000-p3d65",
            "Rec.2100-PQ - Display",
            "ACES 2.0 - HDR 1000 nits (P3 D65)",
        ),
        (
            "sdr-rec709",
            "Rec.1886 Rec.709 - Display",
            "ACES 2.0 - SDR 100 nits (Rec.709)",
        ),
    ],
    ids=lambda v: str(v)[:24],
)
def test_display_targets_equal_direct_builtin_ocio(
    target: str, display: str, view: str, plate: Plate
) -> None:
    frame = _test_frame(plate)
    ours = Transform(target=target, threads=2)(frame)
    ref = _direct(display, view, frame)
    diff = np.abs(ours.astype(np.float64) - ref)
    worst = np.unravel_index(np.argmax(diff), diff.shape)
    assert diff.max() <= 1e-6, f"worst pixel {worst}: {ours[worst]} vs {ref[worst]}"


def test_mid_grey_is_pq_0_3298() -> None:
    # docs/design-notes.md "Colour": 18 % grey ACES2065-1 -> PQ ACES 2.0 1000-nit
    # (Rec.2020) = 0.3298.
    out = Transform(target="hdr-pq-1000-rec2020")(np.full((2, 2, 3), 0.18, np.float32))
    np.testing.assert_allclose(out, 0.3298, atol=5e-5)


def test_strips_are_identical_to_one_applyrgb_call(plate: Plate) -> None:
    frame = _test_frame(plate)
    one = Transform(target="hdr-pq-1000-rec2020", threads=1)
    whole = frame.copy()
    one.processor.getDefaultCPUProcessor().applyRGB(whole)
    for threads in (1, 2, 3, 7):
        out = Transform(target="hdr-pq-1000-rec2020", threads=threads)(frame)
        assert np.array_equal(out, whole), threads
    # A wide frame is cut into several strips even on one thread.
    wide = np.tile(frame, (1, 96, 1))  # 36 x 6144: two strips of <= 21 rows
    whole = wide.copy()
    one.processor.getDefaultCPUProcessor().applyRGB(whole)
    assert np.array_equal(one(wide), whole)


def test_alpha_passes_through_and_input_is_untouched(plate: Plate) -> None:
    rgb = _test_frame(plate)
    alpha = (
        np.random.default_rng(0).random(rgb.shape[:2] + (1,)).astype(np.float32) * 3 - 1
    )
    alpha[0, 0, 0] = np.nan
    rgba = np.concatenate([rgb, alpha], axis=2)
    before = rgba.copy()
    t = Transform(target="sdr-rec709", threads=2)
    out = t(rgba)
    assert (
        out.dtype == np.float32 and out.shape == rgba.shape and out.flags.c_contiguous
    )
    assert np.array_equal(out[..., 3], rgba[..., 3], equal_nan=True)
    assert np.array_equal(out[..., :3], t(rgb))
    assert np.array_equal(rgba, before, equal_nan=True)


@pytest.mark.parametrize("channels", [3, 4])
def test_half_input_is_widened_exactly(plate: Plate, channels: int) -> None:
    """Decoded half samples go in as float16: the result is that of their float32."""
    rgb = _test_frame(plate)
    if channels == 4:
        rgb = np.concatenate([rgb, np.full(rgb.shape[:2] + (1,), 0.5, np.float32)], 2)
    half = rgb.astype(np.float16)
    half[1, 2, 0] = np.inf
    half[2, 1, 1] = np.nan
    t = Transform(target="hdr-pq-1000-rec2020", threads=2, color_path="exact")
    out = t(half)
    assert out.dtype == np.float32 and out.shape == half.shape
    assert np.array_equal(out, t(half.astype(np.float32)), equal_nan=True)
    # A strided (non-contiguous) input is read correctly as well.
    assert np.array_equal(t(half[:, ::-1]), t(half[:, ::-1].copy()), equal_nan=True)


def test_bad_frame_shape_is_a_color_error() -> None:
    with pytest.raises(ColorError, match="expected an"):
        Transform(target="acescg")(np.zeros((4, 4, 2), np.float32))


def test_processors_are_cached() -> None:
    a = Transform(target="hdr-pq-1000-rec2020")
    b = Transform("ACES2065-1", "hdr-pq-1000-rec2020")
    assert a.processor is b.processor
    assert Transform(target="sdr-rec709").processor is not a.processor


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # colour: log2 of negative AP1
def test_colorspace_targets_match_colour_science(plate: Plate) -> None:
    frame = plate(32, 18)
    acescg = Transform(target="acescg")(frame)
    ref = colour.RGB_to_RGB(frame.astype(np.float64), "ACES2065-1", "ACEScg")
    np.testing.assert_allclose(acescg, ref, rtol=1e-4, atol=1e-6)
    cct = Transform(target="acescct")(frame)
    np.testing.assert_allclose(
        cct, colour.models.log_encoding_ACEScct(ref), rtol=1e-5, atol=1e-5
    )
    assert np.array_equal(Transform(target="aces2065-1")(frame), frame)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # colour: 0 · inf at black
def test_hlg_target_matches_pq_through_colour_bt2100(plate: Plate) -> None:
    """A 1000-nit PQ signal converted to HLG (and back) by colour-science matches the
    hlg-1000 target within 1 code value at 10 bits."""
    frame = _test_frame(plate)
    pq = Transform(target="hdr-pq-1000-rec2020")(frame).astype(np.float64)
    hlg = Transform(target="hlg-1000")(frame).astype(np.float64)
    light = colour.models.eotf_ST2084(pq)
    hlg_ref = colour.models.eotf_inverse_BT2100_HLG(light, L_W=1000)
    assert np.max(np.abs(hlg - hlg_ref)) * 1023 <= 1.0
    pq_back = colour.models.eotf_inverse_ST2084(
        colour.models.eotf_BT2100_HLG(hlg, L_W=1000)
    )
    assert np.max(np.abs(pq_back - pq)) * 1023 <= 1.0


# ------------------------------------------------------------------- looks

_CC = """<?xml version="1.0" encoding="UTF-8"?>
<ColorCorrection id="{id}">
  <SOPNode><Slope>{s}</Slope><Offset>{o}</Offset><Power>{p}</Power></SOPNode>
  <SatNode><Saturation>{sat}</Saturation></SatNode>
</ColorCorrection>
"""


def _cc(
    id_: str,
    slope: tuple[float, ...],
    offset: tuple[float, ...],
    power: tuple[float, ...],
    sat: float,
) -> str:
    def j(v: tuple[float, ...]) -> str:
        return " ".join(f"{x:g}" for x in v)

    return _CC.format(id=id_, s=j(slope), o=j(offset), p=j(power), sat=sat)


def _asc_cdl(
    x: NDArray[np.float64],
    slope: tuple[float, ...],
    offset: tuple[float, ...],
    power: tuple[float, ...],
    sat: float,
) -> NDArray[np.float64]:
    # ASC CDL v1.2: out = clamp(in * slope + offset)^power, then saturation around
    # Rec.709 luma (0.2126, 0.7152, 0.0722).
    y = np.clip(x * np.array(slope) + np.array(offset), 0.0, 1.0) ** np.array(power)
    luma = y @ np.array([0.2126, 0.7152, 0.0722])
    return np.clip(luma[..., None] + sat * (y - luma[..., None]), 0.0, 1.0)


def test_cdl_look_is_applied_in_acescct(tmp_path: Path) -> None:
    grade = ((1.1, 0.95, 0.9), (0.02, -0.01, 0.0), (0.9, 1.05, 1.2), 0.8)
    path = tmp_path / "sh010.cc"
    path.write_text(_cc("sh010", *grade), encoding="utf-8")
    cct_in = np.random.default_rng(1).uniform(0.1, 0.7, (6, 8, 3)).astype(np.float32)
    out = Transform(source="ACEScct", target="acescct", look=path)(cct_in)
    # OCIO evaluates pow with a fast SIMD approximation (~1e-5).
    np.testing.assert_allclose(
        out, _asc_cdl(cct_in.astype(np.float64), *grade), atol=2e-5
    )


def test_ccc_collection_by_id_and_errors(tmp_path: Path) -> None:
    a = ((1.0, 1.0, 1.0), (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), 1.0)
    b = ((0.8, 0.8, 0.8), (0.05, 0.05, 0.05), (1.0, 1.0, 1.0), 0.5)
    body = "".join(_cc(i, *g).split("?>", 1)[1] for i, g in (("a", a), ("b", b)))
    path = tmp_path / "reel.ccc"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ColorCorrectionCollection xmlns="urn:ASC:CDL:v1.01">'
        f"{body}</ColorCorrectionCollection>\n",
        encoding="utf-8",
    )
    cct_in = np.random.default_rng(2).uniform(0.1, 0.7, (4, 4, 3)).astype(np.float32)
    out = Transform(source="ACEScct", target="acescct", look=f"{path}#b")(cct_in)
    np.testing.assert_allclose(out, _asc_cdl(cct_in.astype(np.float64), *b), atol=2e-5)
    with pytest.raises(ColorError, match="available: a, b"):
        Transform(source="ACEScct", target="acescct", look=f"{path}#zz")
    with pytest.raises(ColorError, match="pick one"):
        Transform(source="ACEScct", target="acescct", look=path)


def test_look_before_the_output_transform(tmp_path: Path, plate: Plate) -> None:
    frame = _test_frame(plate)
    identity = tmp_path / "identity.cdl"
    identity.write_text(
        _cc("id", (1, 1, 1), (0, 0, 0), (1, 1, 1), 1.0), encoding="utf-8"
    )
    base = Transform(target="hdr-pq-1000-rec2020")(frame)
    graded = Transform(target="hdr-pq-1000-rec2020", look=identity)
    assert graded.look is not None and "identity.cdl" in graded.description
    # An identity CDL leaves the ACES 2.0 output unchanged (pixels inside the
    # ASC CDL's [0, 1] ACEScct clamp: below ~222 scene-linear, above ~-0.0001).
    inside = (frame > 0).all(axis=-1) & (frame < 200).all(axis=-1)
    np.testing.assert_allclose(graded(frame)[inside], base[inside], atol=2e-6)
    # A config look (the ACES 1.3 gamut compressor LMT) changes out-of-gamut pixels.
    lmt = Transform(
        target="hdr-pq-1000-rec2020", look="ACES 1.3 Reference Gamut Compression"
    )
    assert not np.array_equal(lmt(frame), base)


def test_unknown_look_lists_config_looks() -> None:
    with pytest.raises(ColorError, match="ACES 1.3 Reference Gamut Compression"):
        Transform(target="sdr-rec709", look="no-such-look.cdl")


# ------------------------------------------------------------ source colour


@pytest.mark.parametrize(
    ("declared", "override", "expected", "warns"),
    [
        ("AP0", None, "ACES2065-1", False),
        (None, None, "ACES2065-1", True),
        ("AP1", None, "ACEScg", True),
        ("unknown", None, "ACES2065-1", True),
        ("AP0", "ACES2065-1", "ACES2065-1", False),
        ("AP1", "ACES2065-1", "ACES2065-1", True),
    ],
    ids=["ap0", "absent", "ap1", "unknown", "override-agrees", "override-conflicts"],
)
def test_source_colorspace(
    declared: str | None, override: str | None, expected: str, warns: bool
) -> None:
    colorspace, warning = source_colorspace(declared, override)
    assert colorspace == expected
    assert (warning is not None) == warns


@pytest.mark.parametrize("channels", [3, 4])
def test_apply_strips_hands_over_the_whole_frame_once(
    plate: Plate, channels: int
) -> None:
    """Without a result frame, the bands ``on_strip`` sees are apply()'s rows."""
    rgb = np.tile(_test_frame(plate), (1, 96, 1))  # 36 x 6144: several strips
    if channels == 4:
        rgb = np.concatenate([rgb, np.full(rgb.shape[:2] + (1,), 0.5, np.float32)], 2)
    half = rgb.astype(np.float16)
    t = Transform(target="hdr-pq-1000-rec2020", threads=3, color_path="exact")
    want = t(half)
    got = np.full(half.shape, np.nan, np.float32)
    seen: list[tuple[int, int]] = []

    def on_strip(first: int, rows: NDArray[np.float32]) -> None:
        seen.append((first, rows.shape[0]))
        got[first : first + rows.shape[0]] = rows

    assert t.apply_strips(half, on_strip) is None
    assert len(seen) > 1
    assert sorted(seen) == sorted(set(seen))  # no band twice
    assert sum(n for _, n in seen) == half.shape[0]
    assert np.array_equal(got, want)
