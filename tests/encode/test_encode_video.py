"""Every video preset: MediaInfo tags, decode-back PSNR, rate/frames/TC, atomicity."""

from __future__ import annotations

import warnings
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from encode_helpers import decode_planes, make_frames, psnr
from pymediainfo import MediaInfo
from qt_reader import h264_vui, read_movie

from hdrpipe.encode import EncodeResult, get_preset, open_writer, verify
from hdrpipe.encode.video import frame_planes
from hdrpipe.encode.ycbcr import dequantise_alpha, ycbcr_to_rgb
from hdrpipe.errors import EncodeError, InputError
from hdrpipe.timecode import Timecode
from hdrpipe.types import ContentLightLevel, MasteringDisplay, Rate

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import colour

W, H, N = 160, 90, 6
RATE = Rate(Fraction(24000, 1001))
TC = Timecode.parse("01:00:00:00", RATE)


def bt2020_mastering(peak: float = 1000.0) -> MasteringDisplay:
    cs = colour.RGB_COLOURSPACES["ITU-R BT.2020"]
    (r, g, b), w = cs.primaries.tolist(), cs.whitepoint.tolist()
    return MasteringDisplay(tuple(r), tuple(g), tuple(b), tuple(w), peak, 0.0001)  # type: ignore[arg-type]


def measured_light_level(frames: list[np.ndarray]) -> ContentLightLevel:
    """CTA-861.3 on the PQ signal, via colour-science's ST 2084 EOTF (independent
    of hdrpipe).
    """
    cll, fall = 0.0, 0.0
    for f in frames:
        nits = colour.models.eotf_ST2084(f[..., :3].astype(np.float64)).max(axis=-1)
        cll = max(cll, float(nits.max()))
        fall = max(fall, float(nits.mean()))
    return ContentLightLevel(round(cll), round(fall))


# preset, MediaInfo expectations (format, profile prefix, codec id, chroma, bit depth,
# primaries, transfer, matrix), min PSNR (dB) of the decoded R'G'B' against the source.
CASES = {
    "prores4444xq-pq1000": (
        "ProRes",
        "4444 XQ",
        "ap4x",
        "4:4:4",
        "BT.2020",
        "PQ",
        "BT.2020 non-constant",
        50.0,
    ),
    "prores422hq-pq1000": (
        "ProRes",
        "422 HQ",
        "apch",
        "4:2:2",
        "BT.2020",
        "PQ",
        "BT.2020 non-constant",
        45.0,
    ),
    "hevc-hdr10": (
        "HEVC",
        "Main 10",
        "hvc1",
        "4:2:0",
        "BT.2020",
        "PQ",
        "BT.2020 non-constant",
        40.0,
    ),
    "hevc-hlg": (
        "HEVC",
        "Main 10",
        "hvc1",
        "4:2:0",
        "BT.2020",
        "HLG",
        "BT.2020 non-constant",
        40.0,
    ),
    "h264-sdr-review": (
        "AVC",
        "High",
        "avc1",
        "4:2:0",
        "BT.709",
        "BT.709",
        "BT.709",
        38.0,
    ),
}


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    return make_frames(N, W, H)


@pytest.fixture(scope="module")
def encoded(
    tmp_path_factory: pytest.TempPathFactory, frames
) -> dict[str, tuple[EncodeResult, ContentLightLevel]]:
    out = {}
    level = measured_light_level(frames)
    d = tmp_path_factory.mktemp("movies")
    for name in CASES:
        spec = get_preset(name)
        w = open_writer(
            spec,
            d / f"clip{spec.extension}" if False else d / f"{name}{spec.extension}",
            width=W,
            height=H,
            rate=RATE,
            start_timecode=TC,
            mastering=bt2020_mastering() if spec.hdr_metadata else None,
            light_level=level if spec.needs_light_level_at_open else None,
        )
        with w:
            for f in frames:
                w.write(f)
            result = w.close(light_level=level)
        out[name] = (result, level)
    return out


def _mediainfo(path: Path) -> tuple[dict, dict | None]:
    tracks = MediaInfo.parse(str(path)).tracks
    video = next(t for t in tracks if t.track_type == "Video").to_data()
    other = next((t.to_data() for t in tracks if t.track_type == "Other"), None)
    return video, other


@pytest.mark.parametrize("name", list(CASES))
def test_mediainfo_reads_back_the_preset(encoded, name: str) -> None:
    result, level = encoded[name]
    assert result.path.is_file() and not list(result.path.parent.glob(".hdrpipe-*"))
    fmt, prof, fourcc, chroma, prim, trc, mtx, _ = CASES[name]
    v, other = _mediainfo(result.path)
    assert v["format"] == fmt
    assert v["format_profile"] == prof or v["format_profile"].startswith(prof + "@")
    assert v["codec_id"] == fourcc
    assert v["chroma_subsampling"] == chroma
    if (
        fmt != "ProRes"
    ):  # MediaInfo reports no bit depth for ProRes (not in the bitstream)
        assert int(v["bit_depth"]) == get_preset(name).bit_depth
    assert v["color_primaries"] == prim
    assert v["transfer_characteristics"] == trc
    assert v["matrix_coefficients"] == mtx
    if fmt == "ProRes":
        # QuickTime nclc has no range flag and ProRes none in its frame header
        # (narrow by definition, SMPTE RDD 36): MediaInfo shows none, as for Apple's.
        assert "color_range" not in v
    else:
        assert v["color_range"] == "Limited"  # VUI video_full_range_flag 0
    # exact rate, frame count and start timecode
    assert (v["framerate_num"], v["framerate_den"]) == ("24000", "1001")
    assert int(v["frame_count"]) == N
    assert other is not None and other["format"] == "QuickTime TC"
    assert other["time_code_of_first_frame"] == str(TC)
    if get_preset(name).hdr_metadata:
        assert v["mastering_display_color_primaries"] == "BT.2020"
        assert v["mastering_display_luminance"] == "min: 0.0001 cd/m2, max: 1000 cd/m2"
        assert v["maximum_content_light_level"] == f"{level.max_cll} cd/m2"
        assert v["maximum_frameaverage_light_level"] == f"{level.max_fall} cd/m2"
        assert result.light_level == level
        # HDR10: the x265 SEI and our mdcv/clli boxes agree ("Container / Stream");
        # ProRes and HLG carry the boxes only.
        source = "Container / Stream" if name == "hevc-hdr10" else "Container"
        assert v["masteringdisplay_luminance_source"] == source
        assert v["maxcll_source"] == source
    else:
        assert (
            "mastering_display_luminance" not in v
            and "maximum_content_light_level" not in v
        )
    if chroma == "4:2:0" and fmt == "HEVC":
        assert (
            v.get("chromasubsampling_position") == "Type 0"
        )  # the siting our filter uses


@pytest.mark.parametrize("name", list(CASES))
def test_decode_back_psnr(encoded, frames, name: str) -> None:
    result, _ = encoded[name]
    spec = get_preset(name)
    decoded, bits, _ = decode_planes(result.path)
    assert len(decoded) == N
    worst = np.inf
    for planes, src in zip(decoded, frames, strict=True):
        rgb = ycbcr_to_rgb(
            *planes[:3], matrix=spec.matrix, bit_depth=bits, chroma=spec.chroma
        )
        worst = min(worst, psnr(rgb, src))
    assert worst >= CASES[name][-1], f"{name}: worst-frame PSNR {worst:.2f} dB"


def test_prores_4444_carries_alpha(tmp_path: Path) -> None:
    frames = make_frames(3, 64, 36, alpha=True)
    spec = get_preset("prores4444xq-pq1000")
    level = measured_light_level(frames)
    with open_writer(
        spec,
        tmp_path / "a.mov",
        width=64,
        height=36,
        rate=Rate(24),
        has_alpha=True,
        mastering=bt2020_mastering(),
    ) as w:
        for f in frames:
            w.write(f)
        result = w.close(level)
    assert result.probe["has_alpha"] is True
    decoded, bits, fmt = decode_planes(result.path)
    assert fmt.startswith("yuva444")
    for planes, src in zip(decoded, frames, strict=True):
        np.testing.assert_allclose(
            dequantise_alpha(planes[3], bits), src[..., 3], atol=2 / 1023
        )


def test_exception_inside_with_leaves_nothing(tmp_path: Path, frames) -> None:
    spec = get_preset("h264-sdr-review")
    final = tmp_path / "x.mp4"
    with (
        pytest.raises(RuntimeError),
        open_writer(spec, final, width=W, height=H, rate=RATE) as w,
    ):
        w.write(frames[0])
        assert not final.exists()
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_refuses_to_overwrite(tmp_path: Path) -> None:
    final = tmp_path / "x.mp4"
    final.write_bytes(b"keep")
    with pytest.raises(InputError):
        open_writer(
            get_preset("h264-sdr-review"), final, width=64, height=36, rate=RATE
        )
    assert final.read_bytes() == b"keep"


def test_hdr10_without_light_level_at_close_fails_and_leaves_nothing(
    tmp_path: Path, frames
) -> None:
    # Opened without MaxCLL/MaxFALL (x265 gets a placeholder, hevc_sei patches it
    # at close): close() must then be given them.
    w = open_writer(
        get_preset("hevc-hdr10"), tmp_path / "x.mp4", width=W, height=H, rate=RATE
    )
    w.write(frames[0])
    with pytest.raises(EncodeError, match="MaxCLL"):
        w.close()
    assert list(tmp_path.iterdir()) == []


def test_prores_without_light_level_fails_and_leaves_nothing(
    tmp_path: Path, frames
) -> None:
    spec = get_preset("prores422hq-pq1000")
    w = open_writer(spec, tmp_path / "p.mov", width=W, height=H, rate=RATE)
    w.write(frames[0])
    with pytest.raises(EncodeError, match="MaxCLL"):
        w.close()
    assert list(tmp_path.iterdir()) == []


def test_verify_raises_on_mismatch(encoded) -> None:
    result, level = encoded["hevc-hdr10"]
    spec = get_preset("hevc-hdr10")
    kw = dict(
        frames=N,
        rate=RATE,
        start_timecode=TC,
        light_level=level,
        mastering=bt2020_mastering(),
    )
    verify(result.path, spec, **kw)  # the real thing passes
    with pytest.raises(EncodeError, match="transfer"):
        # An HLG spec (a preset's tags agree with its target) vs the PQ movie.
        hlg = replace(spec, target="hlg-1000", transfer="arib-std-b67")
        verify(result.path, hlg, **kw)
    with pytest.raises(EncodeError, match="frames"):
        verify(result.path, spec, **{**kw, "frames": N + 1})
    with pytest.raises(EncodeError, match="rate"):
        verify(result.path, spec, **{**kw, "rate": Rate(24)})
    with pytest.raises(EncodeError, match="max_cll"):
        verify(
            result.path,
            spec,
            **{
                **kw,
                "light_level": ContentLightLevel(level.max_cll + 1, level.max_fall),
            },
        )
    with pytest.raises(EncodeError, match="mastering"):
        verify(result.path, spec, **{**kw, "mastering": bt2020_mastering(4000.0)})


def test_drop_frame_timecode_and_2997(tmp_path: Path) -> None:
    rate = Rate(Fraction(30000, 1001), drop_frame=True)
    spec = get_preset("h264-sdr-review")
    with open_writer(
        spec,
        tmp_path / "df.mp4",
        width=64,
        height=36,
        rate=rate,
        start_timecode=Timecode.parse("00:59:59:28", rate),
    ) as w:
        for f in make_frames(3, 64, 36):
            w.write(f)
        result = w.close()
    _, other = _mediainfo(result.path)
    assert other is not None
    assert other["time_code_of_first_frame"] == "00:59:59;28"
    assert result.probe["rate"] == "30000/1001"


def test_cli_probe_json(encoded) -> None:
    import json

    from typer.testing import CliRunner

    import hdrpipe.cli.encode  # noqa: F401
    from hdrpipe.cli._app import app

    result, level = encoded["prores4444xq-pq1000"]
    r = CliRunner().invoke(app, ["probe", str(result.path), "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert (doc["codec_id"], doc["rate"], doc["frames"], doc["start_timecode"]) == (
        "ap4x",
        "24000/1001",
        N,
        str(TC),
    )
    assert (doc["max_cll"], doc["max_fall"]) == (level.max_cll, level.max_fall)
    assert doc["boxes"]["colr"] == [
        {"type": "nclc", "primaries": 9, "transfer": 16, "matrix": 9}
    ]
    assert (doc["boxes"]["pasp"], doc["boxes"]["fiel"]) == ([1, 1], [1, 0])
    r = CliRunner().invoke(app, ["probe", str(result.path.with_name("missing.mov"))])
    assert r.exit_code != 0


@pytest.mark.parametrize("name", ["prores4444xq-pq1000", "prores422hq-pq1000"])
def test_prores_frame_header_carries_colour(encoded, name: str) -> None:
    # Apple ProRes frame header (SMPTE RDD 36 §5.1.1): 'icpf', header size, version,
    # creator, width, height, flags, reserved, color_primaries, transfer, matrix.
    import av

    result, _ = encoded[name]
    with av.open(str(result.path)) as c:
        data = bytes(next(c.demux(video=0)))
    assert data[4:8] == b"icpf"
    assert (data[22], data[23], data[24]) == (
        9,
        16,
        9,
    )  # H.273 BT.2020 / PQ / BT.2020 NCL
    with av.open(str(result.path)) as c:
        frame = next(c.decode(video=0))
    assert (
        int(frame.color_primaries),
        int(frame.color_trc),
        int(frame.colorspace),
    ) == (9, 16, 9)


@pytest.mark.parametrize("name", list(CASES))
def test_ffmpeg_reads_our_ycbcr_with_our_tags(encoded, frames, name: str) -> None:
    # Independent of our inverse: FFmpeg's swscale converts the decoded frames to RGB
    # using the matrix/range the stream declares, so wrong tags show up here.
    import av

    result, _ = encoded[name]
    with av.open(str(result.path)) as c:
        got = [f.reformat(format="gbrpf32le").to_ndarray() for f in c.decode(video=0)]
    worst = min(psnr(g, s) for g, s in zip(got, frames, strict=True))
    assert worst >= 38.0, f"{name}: worst-frame PSNR via swscale {worst:.2f} dB"


@pytest.mark.parametrize(
    "change",
    [
        {"pix_fmt": "yuv420p10le"},  # 4:4:4 preset, 4:2:0 pixel format
        {"pix_fmt": "yuv444p"},  # 10-bit preset, 8-bit pixel format
        {"color_range": "pc"},  # we only write narrow range
        {"matrix": "bt2020c"},  # constant luminance is not implemented
    ],
    ids=["chroma", "bits", "full-range", "cl-matrix"],
)
def test_inconsistent_user_preset_is_refused(tmp_path: Path, change) -> None:
    # Refused when the preset is made (a matrix other than its target's) or
    # when the writer opens (a layout the encoder cannot write): never written.
    with pytest.raises(InputError):
        spec = replace(get_preset("prores4444xq-pq1000"), **change)
        open_writer(spec, tmp_path / "x.mov", width=64, height=36, rate=RATE)
    assert list(tmp_path.iterdir()) == []


def test_hevc_in_mov_gets_hvc1_and_boxes(tmp_path: Path, frames) -> None:
    spec = replace(
        get_preset("hevc-hdr10"), name="hevc-mov", container="mov", extension=".mov"
    )
    level = measured_light_level(frames[:2])
    with open_writer(
        spec,
        tmp_path / "h.mov",
        width=W,
        height=H,
        rate=RATE,
        start_timecode=TC,
        light_level=level,
    ) as w:
        for f in frames[:2]:
            w.write(f)
        result = w.close(level)
    v, other = _mediainfo(result.path)
    assert v["codec_id"] == "hvc1" and v["color_range"] == "Limited"
    assert v["maximum_content_light_level"] == f"{level.max_cll} cd/m2"
    assert result.probe["boxes"]["mdcv"] is not None


def test_repair_dts_of_flushed_packets() -> None:
    import av

    from hdrpipe.encode.video import _repair_dts

    def packets(pts: list[int], dts: list[int]) -> list[av.Packet]:
        out = []
        for t, d in zip(pts, dts, strict=True):
            p = av.Packet(b"\x00")
            p.pts, p.dts = t, d
            out.append(p)
        return out

    # Valid input (what x265 gives for longer clips) is left alone.
    good = packets([0, 3, 2, 1], [-2, -1, 0, 1])
    assert [p.dts for p in _repair_dts(good, None, Path("x"))] == [-2, -1, 0, 1]
    # Uninitialised DTS (seen from libx265 on 2-frame clips) → smallest valid delay.
    bad = packets([0, 3, 2, 1], [-4480643225784285108, 7, 0, 1])
    fixed = [p.dts for p in _repair_dts(bad, None, Path("x"))]
    assert fixed == [-2, -1, 0, 1]
    assert all(d <= p.pts for d, p in zip(fixed, bad, strict=True))
    # Increasing and ≤ pts but absurdly early (seen under load): the MOV muxer fails.
    odd = packets([0, 1], [-94523699644848, -94523699644847])
    assert [p.dts for p in _repair_dts(odd, None, Path("x"))] == [0, 1]


def _packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as c:
        return [bytes(p) for p in c.demux(video=0) if p.size]


@pytest.mark.parametrize("codec", ["prores_aw", "prores_ks"])
def test_prores_frame_threads_give_the_single_thread_bitstream(
    tmp_path: Path, codec: str
) -> None:
    # ProRes is opened with frame threads (several frames in flight): the
    # bitstream and frame order must be those of one thread, frame for frame.
    frames = make_frames(8, W, H, seed=11)  # every frame different
    spec = replace(get_preset("prores4444xq-pq1000"), codec=codec)
    made = {}
    for threads in (1, 2):
        path = tmp_path / f"{codec}_{threads}.mov"
        with open_writer(
            spec, path, width=W, height=H, rate=RATE, threads=threads
        ) as w:
            for f in frames:
                w.write(f)
            w.close(light_level=ContentLightLevel(1000, 100))
        made[threads] = _packets(path)
    assert len(made[1]) == len(frames)
    assert len(set(made[1])) == len(frames)  # distinct frames, so order is tested
    assert made[2] == made[1]


# Container details QC tools check (docs/container-metadata.md), read back with the
# tests' own box/NAL parser and MediaInfo. Expected values from the specifications:
# QuickTime File Format (colr nclc, fiel, pasp, vendor), ISO/IEC 14496-12 §12.1.4/5
# (pasp, colr nclx), ITU-T H.264 Annex E (VUI), H.273 code points (9/16/9 = BT.2020
# primaries, PQ, BT.2020 non-constant; 1/1/1 = BT.709).
CONTAINER = {
    # preset: (colr payload, fiel payload, vendor)
    "prores4444xq-pq1000": (b"nclc\x00\x09\x00\x10\x00\x09", b"\x01\x00", b"appl"),
    "prores422hq-pq1000": (b"nclc\x00\x09\x00\x10\x00\x09", b"\x01\x00", b"appl"),
    "hevc-hdr10": (b"nclx\x00\x09\x00\x10\x00\x09\x00", None, b"\0\0\0\0"),
    "hevc-hlg": (b"nclx\x00\x09\x00\x12\x00\x09\x00", None, b"\0\0\0\0"),
    "h264-sdr-review": (b"nclx\x00\x01\x00\x01\x00\x01\x00", None, b"\0\0\0\0"),
}


@pytest.mark.parametrize("name", list(CONTAINER))
def test_container_details_qc_tools_check(encoded, name: str) -> None:
    result, _level = encoded[name]
    colr, fiel, vendor = CONTAINER[name]
    movie = read_movie(result.path)
    assert movie.box("colr") == colr
    assert movie.box("pasp") == (1).to_bytes(4, "big") * 2  # hSpacing = vSpacing
    assert movie.box("fiel") == fiel
    assert movie.vendor == vendor
    v, _other = _mediainfo(result.path)
    assert v["pixel_aspect_ratio"] == "1.000"
    if not name.startswith("hevc"):  # MediaInfo gives HEVC no scan type
        assert v["scan_type"] == "Progressive"  # fiel 1 (ProRes), SPS (H.264)
    if name.startswith("prores"):
        # The ProRes frame header's creator (SMPTE RDD 36 §5.1.1, bytes 8-11 of
        # the frame after the 'icpf' id): 'apl0' as Apple's encoder writes it.
        frame = movie.samples[0]
        assert frame[4:8] == b"icpf" and frame[12:16] == b"apl0"
        assert v["writing_library"] == "Apple"


def test_h264_vui_says_constant_frame_rate(encoded) -> None:
    result, _level = encoded["h264-sdr-review"]
    movie = read_movie(result.path)
    (sps,) = movie.avcc_sps
    vui = h264_vui(sps)
    # H.264 E.2.1: frame rate = time_scale / (2 * num_units_in_tick) = 24000/1001,
    # fixed_frame_rate_flag 1 for a constant-rate stream; square pixels (idc 1).
    assert vui["timing_info_present_flag"] == 1
    assert Fraction(vui["time_scale"], 2 * vui["num_units_in_tick"]) == RATE.fps
    assert vui["fixed_frame_rate_flag"] == 1
    assert vui["aspect_ratio_idc"] == 1
    assert (vui["video_full_range_flag"], vui["colour_primaries"]) == (0, 1)
    v, _other = _mediainfo(result.path)
    assert v["frame_rate_mode"] == "CFR"


@pytest.mark.parametrize("name", ["prores4444xq-pq1000", "hevc-hdr10"])
def test_verify_fails_when_container_and_bitstream_disagree(
    encoded, tmp_path: Path, name: str
) -> None:
    # The colr box says BT.709 while the bitstream (ProRes frame header / HEVC
    # VUI) says BT.2020 PQ: MediaInfo reports both, and verify refuses the file
    # even when told to expect BT.709 (the bitstream still disagrees).
    import shutil

    from hdrpipe.encode import isobmff

    result, level = encoded[name]
    path = tmp_path / result.path.name
    shutil.copy(result.path, path)
    colr = (
        isobmff.colr_nclc(1, 1, 1)
        if name.startswith("prores")
        else isobmff.colr_nclx(1, 1, 1, full_range=False)
    )
    isobmff.patch_video_sample_entry(path, colr=colr)
    spec = get_preset(name)
    spec709 = replace(  # tags agree with the target, or the preset is refused
        spec, target="sdr-rec709", primaries="bt709", transfer="bt709", matrix="bt709"
    )
    kw = dict(
        frames=N,
        rate=RATE,
        start_timecode=TC,
        light_level=level,
        mastering=bt2020_mastering(),
    )
    with pytest.raises(EncodeError, match="colour_primaries: container says 'BT.709'"):
        verify(path, spec709, **kw)
    verify(result.path, spec, **kw)  # the untouched file agrees with itself


@pytest.mark.parametrize(
    ("name", "alpha"),
    [("hevc-hdr10", False), ("prores4444xq-pq1000", True), ("h264-sdr-review", False)],
)
def test_frame_made_band_by_band_is_the_prepared_frame(
    tmp_path: Path, name: str, alpha: bool
) -> None:
    """begin_frame() filled in bands (any order, odd rows) gives prepare()'s planes."""
    frame = make_frames(1, 64, 36, alpha=alpha)[0]
    spec = get_preset(name)
    with open_writer(
        spec,
        tmp_path / f"a{spec.extension}",
        width=64,
        height=36,
        rate=Rate(24),
        has_alpha=alpha,
        mastering=bt2020_mastering() if spec.hdr_metadata else None,
        light_level=ContentLightLevel(1000, 400)
        if spec.needs_light_level_at_open
        else None,
    ) as w:
        want = [p.copy() for p in frame_planes(w.prepare(frame))]
        made = w.begin_frame()
        for lo, hi in ((19, 36), (0, 7), (7, 19)):
            made.band(lo, frame[lo:hi])
        got = frame_planes(made.finish())
        w.abort()
    assert len(got) == (4 if alpha else 3)
    for ours, ref in zip(got, want, strict=True):
        np.testing.assert_array_equal(ours, ref)
