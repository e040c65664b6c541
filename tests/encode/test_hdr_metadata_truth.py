"""One truth for a deliverable's light level and mastering display.

A real conform to ``hevc-hdr10`` and ``prores4444xq-pq1000``; every copy of the
HDR static metadata is read back by a reader independent of hdrpipe:

* FFmpeg's decoders, per frame (PyAV ``frame.side_data``: CONTENT_LIGHT_LEVEL,
  MASTERING_DISPLAY_METADATA), and the colour tags FFmpeg decodes (HEVC VUI,
  ProRes frame header);
* MediaInfo (pymediainfo);
* the tests' own box/NAL parser (``qt_reader``): ``clli``/``mdcv``/``colr``
  boxes, the SEI in every IRAP sample and in the ``hvcC`` arrays;
* the manifest JSON (``hdr`` and the ``probe`` report) and the AMF XML.

All must hold one MaxCLL/MaxFALL and one mastering display, equal to the level
computed here from the source pixels (OCIO's built-in studio config called
directly, colour-science's ST 2084 EOTF, CTA-861.3) and to the BT.2020
primaries of ITU-R BT.2020-2 Table 3 with D65 (never the P3-D65 values).
"""

from __future__ import annotations

import json
import math
import struct
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import av
import colour
import numpy as np
import OpenImageIO as oiio
import PyOpenColorIO as ocio
import pytest
from pymediainfo import MediaInfo
from qt_reader import read_movie, sei_messages

from fixtures.generate import make_plate
from hdrpipe.engine import ConformJob, conform
from hdrpipe.handoff.amf import write_amf

W, H, N = 128, 72, 8
PRESETS = ("hevc-hdr10", "prores4444xq-pq1000")

# ITU-R BT.2020-2 Table 3 (R, G, B) and D65 (CIE 15), in ST 2086 / H.265 D.3.28
# units of 0.00002, in the G, B, R, WP order of the mdcv box and the SEI.
BT2020_UNITS = {
    "G": (8500, 39850),  # 0.170, 0.797
    "B": (6550, 2300),  # 0.131, 0.046
    "R": (35400, 14600),  # 0.708, 0.292
    "WP": (15635, 16450),  # 0.3127, 0.3290
}
# The string copied around the web as "BT.2020" is P3-D65 (SMPTE EG 432-1).
P3_UNITS = {"G": (13250, 34500), "B": (7500, 3000), "R": (34000, 16000)}
# The presets' mastering peak and black: 1000 cd/m², 0.0001 cd/m², in 0.0001 cd/m².
MAX_LUM, MIN_LUM = 10_000_000, 1


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    src = tmp_path_factory.mktemp("truth_src")
    plate = make_plate(src, width=W, height=H, frames=N, seed=11)
    out = tmp_path_factory.mktemp("truth_out")
    manifest = conform(
        ConformJob(
            inputs=(str(plate),),
            deliver=PRESETS,
            outdir=out,
            fps="24",
            start_tc="01:00:00:00",
            color_path="exact",
        )
    )
    data = json.loads(manifest.path.read_text())
    outputs = {o["preset"]: o for o in data["outputs"]}
    return {"plate": plate, "manifest": manifest.path, "outputs": outputs, "dir": out}


@pytest.fixture(scope="module")
def content_level(job: dict[str, Any]) -> tuple[int, int]:
    """CTA-861.3 MaxCLL/MaxFALL of the PQ signal, computed without hdrpipe."""
    config = ocio.Config.CreateFromFile("ocio://studio-config-latest")
    dvt = ocio.DisplayViewTransform(
        src="ACES2065-1",
        display="Rec.2100-PQ - Display",
        view="ACES 2.0 - HDR 1000 nits (Rec.2020)",
    )
    cpu = config.getProcessor(dvt).getDefaultCPUProcessor()
    cll = fall = 0.0
    for i in range(N):
        path = str(job["plate"]).replace("####", f"{1001 + i:04d}")
        pix = oiio.ImageBuf(path).get_pixels(oiio.FLOAT)[..., :3].copy()
        pix = np.ascontiguousarray(pix, dtype=np.float32)
        cpu.applyRGB(pix)
        # CTA-861.3 §3: per pixel max(R, G, B) in cd/m² of the display signal.
        nits = colour.models.eotf_ST2084(pix.astype(np.float64)).max(axis=-1)
        cll, fall = max(cll, float(nits.max())), max(fall, float(nits.mean()))
    return math.floor(cll + 0.5), math.floor(fall + 0.5)


def _path(job: dict[str, Any], preset: str) -> Path:
    return Path(job["outputs"][preset]["path"])


def _ffmpeg_side_data(path: Path) -> tuple[set[tuple[int, int]], list[Any], int]:
    """Per decoded frame: FFmpeg's content light level and mastering display.

    AVContentLightMetadata: MaxCLL, MaxFALL (unsigned, native order);
    AVMasteringDisplayMetadata: display_primaries[3][2] (R, G, B) and
    white_point[2] as AVRational, min then max luminance, has_primaries,
    has_luminance (libavutil/mastering_display_metadata.h).
    """
    levels: set[tuple[int, int]] = set()
    displays: list[Any] = []
    frames = 0
    with av.open(str(path)) as c:
        for frame in c.decode(video=0):
            frames += 1
            by_type = {sd.type.name: bytes(sd) for sd in frame.side_data}
            cl = by_type["CONTENT_LIGHT_LEVEL"]
            levels.add(struct.unpack("=II", cl[:8]))
            v = struct.unpack("=22i", by_type["MASTERING_DISPLAY_METADATA"][:88])
            q = [_units(v[2 * k], v[2 * k + 1]) for k in range(8)]
            lum = [(v[16 + 2 * k], v[17 + 2 * k]) for k in range(2)]
            display = {
                "R": (q[0], q[1]),
                "G": (q[2], q[3]),
                "B": (q[4], q[5]),
                "WP": (q[6], q[7]),
                "min_luminance": round(lum[0][0] * 10_000 / lum[0][1]),
                "max_luminance": round(lum[1][0] * 10_000 / lum[1][1]),
                "has": (v[20], v[21]),
            }
            if display not in displays:
                displays.append(display)
            assert (frame.color_primaries, frame.color_trc, frame.colorspace) == (
                9,
                16,
                9,
            )
    return levels, displays, frames


def _units(num: int, den: int) -> int:
    """An AVRational chromaticity in ST 2086 units of 0.00002 (exact or fail)."""
    units = num * 50_000 / den
    assert units == round(units), f"{num}/{den} is not a whole 0.00002 unit"
    return round(units)


def _sei_copies(path: Path) -> tuple[list[tuple[int, int]], list[bytes], int]:
    """Every H.265 light level (D.2.35) and mastering display (D.2.28) SEI payload,
    in band and in hvcC, read with the tests' own parser; IRAP sample count."""
    movie = read_movie(path)
    nals = [n for t, n in movie.hvcc_nals if t == 39]
    in_hvcc = [t for n in nals for t, _p in sei_messages(n)]
    assert in_hvcc.count(144) == 1 and in_hvcc.count(137) == 1, "hvcC copies"
    iraps = 0
    for index in range(len(movie.samples)):
        sample = movie.sample_nals(index)
        irap = any(16 <= (n[0] >> 1) & 0x3F <= 23 for n in sample)
        iraps += irap
        seis = [n for n in sample if (n[0] >> 1) & 0x3F == 39]
        kinds = [t for n in seis for t, _p in sei_messages(n)]
        if irap:
            assert kinds.count(144) == 1 and kinds.count(137) == 1, index
        nals += seis
    cll = [
        struct.unpack(">HH", p[:4])
        for n in nals
        for t, p in sei_messages(n)
        if t == 144
    ]
    mdcv = [p for n in nals for t, p in sei_messages(n) if t == 137]
    assert len(cll) == len(mdcv) == iraps + 1  # one per IRAP, one in hvcC
    return cll, mdcv, iraps


def _mdcv_units(payload: bytes) -> dict[str, Any]:
    # mdcv box (ISO/IEC 14496-12 §12.1.6) and H.265 D.2.28 share the layout.
    v = struct.unpack(">8HII", payload[:24])
    return {
        "G": (v[0], v[1]),
        "B": (v[2], v[3]),
        "R": (v[4], v[5]),
        "WP": (v[6], v[7]),
        "max_luminance": v[8],
        "min_luminance": v[9],
    }


WANT_DISPLAY = {**BT2020_UNITS, "max_luminance": MAX_LUM, "min_luminance": MIN_LUM}


@pytest.mark.parametrize("preset", PRESETS)
def test_one_light_level_and_one_mastering_display_everywhere(
    job: dict[str, Any], content_level: tuple[int, int], preset: str
) -> None:
    path = _path(job, preset)
    record = job["outputs"][preset]
    manifest_level = (record["hdr"]["max_cll"], record["hdr"]["max_fall"])

    # The level equals the one computed here from the source pixels (±1 cd/m²
    # for the float rounding of two OCIO evaluations on either side of a .5).
    assert all(
        abs(a - b) <= 1 for a, b in zip(manifest_level, content_level, strict=True)
    )
    assert content_level[0] > 100  # the plate has HDR highlights: not a trivial 0
    level = manifest_level

    # Own parser: the container boxes.
    movie = read_movie(path)
    clli, mdcv = movie.box("clli"), movie.box("mdcv")
    assert clli is not None and mdcv is not None
    assert struct.unpack(">HH", clli) == level
    assert _mdcv_units(mdcv) == WANT_DISPLAY
    for k, xy in P3_UNITS.items():
        assert _mdcv_units(mdcv)[k] != xy
    colr = movie.box("colr")
    assert colr is not None and struct.unpack(">HHH", colr[4:10]) == (9, 16, 9)

    # Own parser: every SEI copy (HEVC only; ProRes has no SEI).
    if preset == "hevc-hdr10":
        cll, mdcvs, iraps = _sei_copies(path)
        assert iraps >= 1
        assert set(cll) == {level}
        assert {json.dumps(_mdcv_units(p)) for p in mdcvs} == {
            json.dumps(_mdcv_units(mdcv))
        }

    # FFmpeg: every decoded frame carries the same level and display.
    levels, displays, frames = _ffmpeg_side_data(path)
    assert frames == N
    assert levels == {level}
    assert displays == [{**WANT_DISPLAY, "has": (1, 1)}]

    # MediaInfo.
    video = next(
        t for t in MediaInfo.parse(str(path)).tracks if t.track_type == "Video"
    ).to_data()
    assert video["maximum_content_light_level"] == f"{level[0]} cd/m2"
    assert video["maximum_frameaverage_light_level"] == f"{level[1]} cd/m2"
    assert video["mastering_display_color_primaries"] == "BT.2020"
    assert video["mastering_display_luminance"] == "min: 0.0001 cd/m2, max: 1000 cd/m2"
    assert video["color_primaries"] == "BT.2020"
    assert video["transfer_characteristics"] == "PQ"
    # MediaInfo found container and bitstream copies equal where the bitstream
    # carries them (HEVC SEI; ProRes has colour in its frame header only).
    both = "Container / Stream"
    source = both if preset == "hevc-hdr10" else "Container"
    for key in ("maxcll", "maxfall", "masteringdisplay_colorprimaries"):
        assert video[f"{key}_source"] == source, key
    assert video["masteringdisplay_luminance_source"] == source
    for key in ("colour_primaries", "transfer_characteristics", "matrix_coefficients"):
        assert video[f"{key}_source"] == both, key

    # Manifest: the hdr entry and the probe report.
    md = record["hdr"]["mastering_display"]
    assert md == "G(8500,39850)B(6550,2300)R(35400,14600)WP(15635,16450)L(10000000,1)"
    probe = record["probe"]
    assert (probe["max_cll"], probe["max_fall"]) == level
    assert probe["boxes"]["clli"] == {"max_cll": level[0], "max_fall": level[1]}
    assert probe["mastering_display"]["primaries"] == "BT.2020"
    if preset == "hevc-hdr10":
        sei = probe["hevc_sei"]
        want = [{"max_cll": level[0], "max_fall": level[1]}]
        assert sei["in_band"]["content_light_level"] == want
        assert sei["hvcC"]["content_light_level"] == want

    # AMF: the output transform names the same display: Rec.2100 (BT.2020
    # primaries, D65) limited, 1000 cd/m² peak (= the mastering max luminance),
    # ST 2084 encoding.
    amf = write_amf(job["manifest"], job["dir"] / f"{preset}.amf", output=preset)
    ns = {"aces": "urn:ampas:aces:amf:v2.0"}
    root = ET.parse(amf).getroot()
    tid = root.find("aces:pipeline/aces:outputTransform/aces:transformId", ns)
    assert tid is not None and tid.text is not None
    peak = MAX_LUM // 10_000
    assert tid.text.endswith(
        f"Output.Academy.Rec2100-D65_{peak}nit_in_Rec2100-D65_ST2084.a2.v1"
    )
