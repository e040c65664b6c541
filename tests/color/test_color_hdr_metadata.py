"""ST 2086 mastering display and CTA-861.3 MaxCLL/MaxFALL vs independent references."""

from __future__ import annotations

from collections.abc import Callable

import colour
import numpy as np
import pytest
from numpy.typing import NDArray

from hdrpipe.color import (
    FrameLight,
    LightLevelMeter,
    Transform,
    get_target,
    mastering_display,
)
from hdrpipe.color.hdr_metadata import mastering_display_for
from hdrpipe.errors import ColorError

Plate = Callable[..., NDArray[np.float32]]


# ------------------------------------------------------------------ ST 2086


@pytest.mark.parametrize(
    ("primaries", "expected"),
    [
        # x265 docs / HDR10 practice, 0.00002 units: BT.2020 and P3-D65 with D65 white.
        (
            "rec2020",
            "G(8500,39850)B(6550,2300)R(35400,14600)WP(15635,16450)L(10000000,1)",
        ),
        (
            "p3d65",
            "G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1)",
        ),
        (
            "rec709",
            "G(15000,30000)B(7500,3000)R(32000,16500)WP(15635,16450)L(10000000,1)",
        ),
    ],
    ids=str,
)
def test_mastering_display_x265_string(primaries: str, expected: str) -> None:
    assert mastering_display(primaries).x265() == expected


def test_mastering_display_units_and_luminance() -> None:
    md = mastering_display("rec2020", max_luminance=4000, min_luminance=0.005)
    # ITU-R BT.2020 Table 3 primaries, D65 (0.3127, 0.3290).
    assert (
        md.red == (0.708, 0.292)
        and md.green == (0.170, 0.797)
        and md.blue == (0.131, 0.046)
    )
    assert md.white == (0.3127, 0.3290)
    assert md.luminance_units() == (40_000_000, 50)


def test_mastering_display_for_targets() -> None:
    p3 = mastering_display_for(get_target("hdr-pq-1000-p3d65"))
    assert p3 is not None and p3.x265().startswith(
        "G(13250,34500)"
    )  # P3-limited master
    bt2020 = mastering_display_for(get_target("hdr-pq-1000-rec2020"))
    assert bt2020 is not None and bt2020.x265().startswith("G(8500,39850)")
    assert bt2020.max_luminance == 1000.0
    assert mastering_display_for(get_target("sdr-rec709")) is None
    assert mastering_display_for(get_target("acescg")) is None


def test_mastering_display_rejects_unknown_primaries() -> None:
    with pytest.raises(ColorError, match="rec2020, p3d65, rec709"):
        mastering_display("dci-p3-xyz")


# --------------------------------------------------------------- MaxCLL/FALL


def _reference_cll_fall(
    signals: list[NDArray[np.float32]],
    active: tuple[int, int, int, int] | None,
    decode: Callable[[NDArray[np.float64]], NDArray[np.float64]],
) -> tuple[float, float]:
    """Independent CTA-861.3: decode with colour-science, max of R,G,B per pixel."""
    cll, fall = 0.0, 0.0
    for s in signals:
        light = decode(s[..., :3].astype(np.float64)).max(axis=-1)
        cll = max(cll, float(light.max()))
        if active is not None:
            x, y, w, h = active
            light = light[y : y + h, x : x + w]
        fall = max(fall, float(light.mean()))
    return cll, fall


def test_maxcll_maxfall_on_fixture_sequence(plate: Plate) -> None:
    t = Transform(target="hdr-pq-1000-rec2020", threads=2)
    # Letterboxed 64x36 frames: 64x28 picture, 4-line black mattes top and bottom.
    active = (0, 4, 64, 28)
    signals = []
    for i in range(4):
        picture = plate(64, 28, frame=i)
        frame = np.zeros((36, 64, 3), np.float32)
        frame[4:32] = picture
        signals.append(t(frame))
    meter = LightLevelMeter(t.target)
    for s in signals:
        meter.add(s, active=active)
    cll, fall = _reference_cll_fall(signals, active, colour.models.eotf_ST2084)
    assert meter.frames == 4
    assert meter.max_cll_exact == pytest.approx(cll, rel=1e-6)
    assert meter.max_fall_exact == pytest.approx(fall, rel=1e-6)
    assert (meter.result().max_cll, meter.result().max_fall) == (
        round(cll),
        round(fall),
    )
    # Mattes included: the frame mean is over the full raster (lower).
    with_mattes = LightLevelMeter(t.target, include_mattes=True)
    for s in signals:
        with_mattes.add(s, active=active)
    _, fall_full = _reference_cll_fall(signals, None, colour.models.eotf_ST2084)
    assert with_mattes.max_fall_exact == pytest.approx(fall_full, rel=1e-6)
    assert with_mattes.max_fall_exact < meter.max_fall_exact
    assert with_mattes.to_dict()["include_mattes"] is True


def test_1000_nit_specular_gives_maxcll_1000() -> None:
    """A scene specular of 5000× diffuse white is tone mapped to the 1000-nit peak:
    MaxCLL reports the display light (≈ 1000), not the scene value."""
    frame = np.full((18, 32, 3), 0.18, np.float32)
    frame[8:10, 15:17] = 5000.0
    signal = Transform(target="hdr-pq-1000-rec2020")(frame)
    meter = LightLevelMeter(get_target("hdr-pq-1000-rec2020"))
    meter.add(signal)
    assert 990 <= meter.result().max_cll <= 1000
    ref_cll, ref_fall = _reference_cll_fall([signal], None, colour.models.eotf_ST2084)
    assert meter.result().max_fall == round(ref_fall)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # colour: 0 · inf at black
def test_hlg_and_sdr_meters_decode_with_their_eotf(plate: Plate) -> None:
    frame = plate(32, 18)
    hlg = Transform(target="hlg-1000")(frame)
    meter = LightLevelMeter(get_target("hlg-1000"))
    meter.add(hlg)
    cll, fall = _reference_cll_fall(
        [hlg], None, lambda s: colour.models.eotf_BT2100_HLG(s, L_W=1000)
    )
    assert meter.max_cll_exact == pytest.approx(cll, rel=1e-5)
    assert meter.max_fall_exact == pytest.approx(fall, rel=1e-5)
    sdr = Transform(target="sdr-rec709")(frame)
    meter = LightLevelMeter(get_target("sdr-rec709"))
    meter.add(sdr)
    cll, _ = _reference_cll_fall(
        [sdr], None, lambda s: colour.models.eotf_BT1886(s, L_B=0, L_W=100)
    )
    assert meter.max_cll_exact == pytest.approx(cll, rel=1e-5)


def test_merge_and_dict_round_trip() -> None:
    rng = np.random.default_rng(9)
    frames = [rng.random((6, 8, 3)).astype(np.float32) * 0.75 for _ in range(5)]
    target = get_target("hdr-pq-1000-rec2020")
    whole, first, second = (LightLevelMeter(target) for _ in range(3))
    for i, f in enumerate(frames):
        whole.add(f)
        (first if i < 2 else second).add(f)
    merged = LightLevelMeter.from_dict(first.to_dict()).merge(
        LightLevelMeter.from_dict(second.to_dict())
    )
    assert merged.frames == 5
    assert merged.max_cll_exact == whole.max_cll_exact
    assert merged.max_fall_exact == whole.max_fall_exact
    d = merged.to_dict()
    assert {"max_cll", "max_fall", "frames", "include_mattes"} <= set(d)
    assert (d["max_cll"], d["max_fall"]) == (
        whole.result().max_cll,
        whole.result().max_fall,
    )
    with pytest.raises(ColorError, match="include_mattes"):
        whole.merge(LightLevelMeter(target, include_mattes=True))


def test_meter_rejects_scene_targets_and_bad_active_area() -> None:
    with pytest.raises(ColorError, match="scene-referred"):
        LightLevelMeter(get_target("acescg"))
    meter = LightLevelMeter(get_target("hdr-pq-1000-rec2020"))
    with pytest.raises(ColorError, match="outside"):
        meter.add(np.zeros((4, 4, 3), np.float32), active=(0, 0, 5, 4))


@pytest.mark.parametrize("target", ["hdr-pq-1000-rec2020", "hlg-1000", "sdr-rec709"])
def test_bands_measured_apart_add_up_to_the_frame(target: str) -> None:
    """The colour stage measures row bands in its workers: their sum is the frame."""
    rng = np.random.default_rng(3)
    signal = rng.random((37, 50, 3)).astype(np.float32)
    signal[5, 7] = np.nan  # a NaN pixel is black, in any band
    active = (3, 6, 40, 25)
    whole, banded = (LightLevelMeter(get_target(target)) for _ in range(2))
    whole.add(signal, active=active)
    cuts = [0, 1, 6, 20, 30, 31, 37]
    bands = [
        banded.measure(signal[a:b], active=active, first_row=a, frame_height=37)
        for a, b in zip(cuts[:-1], cuts[1:], strict=True)
    ]
    banded.add_light(sum(bands[::-1], FrameLight()))
    assert banded.frames == 1
    assert banded.max_cll_exact == pytest.approx(whole.max_cll_exact, rel=1e-12)
    assert banded.max_fall_exact == pytest.approx(whole.max_fall_exact, rel=1e-12)
    assert sum(b.pixels for b in bands) == 40 * 25


def test_meter_in_the_transform_strips_equals_the_meter_after(plate: Plate) -> None:
    """Transform.apply(on_strip=…) hands every row once, already converted."""
    frame = plate(64, 300)
    t = Transform(target="hdr-pq-1000-rec2020", threads=3, color_path="exact")
    seen: list[tuple[int, int]] = []
    bands: list[FrameLight] = []
    meter = LightLevelMeter(t.target)

    def on_strip(first: int, rows: NDArray[np.float32]) -> None:
        seen.append((first, rows.shape[0]))
        bands.append(meter.measure(rows, first_row=first, frame_height=300))

    signal = t.apply(frame, on_strip=on_strip)
    covered = sorted(seen)
    assert covered[0][0] == 0 and sum(n for _, n in covered) == 300
    assert all(
        a + n == b for (a, n), (b, _) in zip(covered[:-1], covered[1:], strict=True)
    )
    meter.add_light(sum(bands, FrameLight()))
    after = LightLevelMeter(t.target)
    after.add(signal)
    assert meter.max_cll_exact == pytest.approx(after.max_cll_exact, rel=1e-12)
    assert meter.max_fall_exact == pytest.approx(after.max_fall_exact, rel=1e-12)
    cll, fall = _reference_cll_fall([signal], None, colour.models.eotf_ST2084)
    assert meter.max_fall_exact == pytest.approx(fall, rel=1e-6)
