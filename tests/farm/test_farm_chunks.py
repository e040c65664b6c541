"""Chunks run in this process (no Dask): stitched output vs a single-process conform."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from farm_helpers import (
    START_TC,
    N,
    decoded_planes,
    exr_pixels,
    make_job,
    mediainfo,
    output_path,
    packet_times,
)

from fixtures.generate import make_plate
from hdrpipe import farm
from hdrpipe.engine import ConformJob, conform
from hdrpipe.errors import ConformError, InputError
from hdrpipe.sequence import open_sequence
from hdrpipe.timecode import parse_rate
from tests.encode.qt_reader import read_movie, sei_messages


@pytest.fixture(scope="module")
def chunked(plate: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The reference job planned in 4 chunks, run in reverse order, then stitched."""
    out = tmp_path_factory.mktemp("farm_chunked")
    plan = farm.plan_job(make_job(plate, out), chunk=5)  # 5+5+5+1: a one-frame tail
    for chunk in reversed(plan.chunks):
        farm.measure_chunk(plan, chunk.index)
    for chunk in reversed(plan.chunks):
        farm.run_chunk(plan, chunk.index)
    manifest = farm.stitch(plan)
    return {"plan": plan, "manifest": manifest.to_dict(), "dir": out}


def test_plan_chunks_cover_the_record_timeline(chunked: dict[str, Any]) -> None:
    plan = chunked["plan"]
    assert [(c.start, c.stop) for c in plan.chunks] == [
        (0, 5),
        (5, 10),
        (10, 15),
        (15, 16),
    ]
    assert plan.frames == N
    # hevc-hdr10's parts carry x265's placeholder SEI, patched at the stitch:
    # no measure pass over the frames before encoding.
    assert plan.measure_targets == ()
    written = json.loads(Path(plan.plan_path).read_text())
    assert farm.FarmPlan.from_dict(written) == plan
    assert Path(plan.plan_path) == chunked["dir"] / "plate.farm.json"


def test_prores_stitched_decodes_identical_to_single_process(
    chunked: dict[str, Any], reference: dict[str, Any]
) -> None:
    ours = decoded_planes(output_path(chunked["manifest"], "prores4444xq-pq1000"))
    theirs = decoded_planes(output_path(reference["manifest"], "prores4444xq-pq1000"))
    assert len(ours) == len(theirs) == N
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        for p, (pa, pb) in enumerate(zip(a, b, strict=True)):
            assert np.array_equal(pa, pb), f"frame {i} plane {p} differs"


@pytest.mark.parametrize("preset", ["prores4444xq-pq1000", "hevc-hdr10"])
def test_stitched_timestamps_rate_and_timecode_exact(
    chunked: dict[str, Any], preset: str
) -> None:
    path = output_path(chunked["manifest"], preset)
    pts, durations, rate = packet_times(path)
    assert rate == Fraction(24000, 1001)
    assert sorted(pts) == list(range(N))
    assert set(durations) == {1}
    video, tc = mediainfo(path)
    assert tc == START_TC
    assert int(video["frame_count"]) == N
    assert video["frame_rate"] == "23.976"


def test_hevc_stitched_valid_with_hdr10_tags(
    chunked: dict[str, Any], reference: dict[str, Any]
) -> None:
    path = output_path(chunked["manifest"], "hevc-hdr10")
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_tag == "hvc1"
        frames = list(container.decode(stream))
    assert len(frames) == N
    video, _ = mediainfo(path)
    assert video["codec_id"] == "hvc1"
    assert video["format_profile"].startswith("Main 10")
    assert video["color_primaries"] == "BT.2020"
    assert video["transfer_characteristics"] == "PQ"
    assert video["matrix_coefficients"] == "BT.2020 non-constant"
    assert "SMPTE ST 2086" in video["hdr_format"]
    assert video["mastering_display_color_primaries"] == "BT.2020"
    ref_hdr = next(
        o["hdr"]
        for o in reference["manifest"]["outputs"]
        if o["preset"] == "hevc-hdr10"
    )
    assert video["maximum_content_light_level"].startswith(f"{ref_hdr['max_cll']} ")
    assert video["maximum_frameaverage_light_level"].startswith(
        f"{ref_hdr['max_fall']} "
    )
    # Every copy of the light level SEI (H.265 D.2.35), in each IRAP sample and in
    # the hvcC arrays, read with the tests' own parser, holds the job's level.
    movie = read_movie(path)
    copies = [n for t, n in movie.hvcc_nals if t == 39]
    iraps = 0
    for index in range(len(movie.samples)):
        nals = movie.sample_nals(index)
        iraps += any(16 <= (n[0] >> 1) & 0x3F <= 23 for n in nals)
        copies += [n for n in nals if (n[0] >> 1) & 0x3F == 39]
    levels = [
        (int.from_bytes(p[:2], "big"), int.from_bytes(p[2:4], "big"))
        for n in copies
        for t, p in sei_messages(n)
        if t == 144
    ]
    assert iraps >= 4  # one IDR per part at least
    assert len(levels) == iraps + 1
    assert set(levels) == {(ref_hdr["max_cll"], ref_hdr["max_fall"])}
    # Same picture as the single-process encode, within coding noise (10-bit codes).
    ours = decoded_planes(path)
    theirs = decoded_planes(output_path(reference["manifest"], "hevc-hdr10"))
    worst = max(
        float(np.abs(a[0].astype(np.int32) - b[0].astype(np.int32)).mean())
        for a, b in zip(ours, theirs, strict=True)
    )
    assert worst < 4.0, f"mean |ΔY'| {worst} code values"


def test_prores_stitched_light_level_merged_over_chunks(
    chunked: dict[str, Any], reference: dict[str, Any]
) -> None:
    path = output_path(chunked["manifest"], "prores4444xq-pq1000")
    video, _ = mediainfo(path)
    ref_hdr = next(
        o["hdr"]
        for o in reference["manifest"]["outputs"]
        if o["preset"] == "prores4444xq-pq1000"
    )
    assert video["maximum_content_light_level"].startswith(f"{ref_hdr['max_cll']} ")
    assert video["maximum_frameaverage_light_level"].startswith(
        f"{ref_hdr['max_fall']} "
    )
    assert video["codec_id"] == "ap4x"
    # The largest light level of single chunks is not the job's MaxFALL by accident:
    per_chunk = [
        json.loads((chunked["plan"].state / f"chunk-{i:04d}.json").read_text())
        for i in range(len(chunked["plan"].chunks))
    ]
    falls = [
        next(o for o in r["outputs"] if o["preset"] == "prores4444xq-pq1000")[
            "light_level_meter"
        ]["max_fall_exact"]
        for r in per_chunk
    ]
    assert round(max(falls)) == ref_hdr["max_fall"]


def test_exr_chunks_written_in_place_identical(
    chunked: dict[str, Any], reference: dict[str, Any]
) -> None:
    ours = exr_pixels(output_path(chunked["manifest"], "exr-acescg").parent)
    theirs = exr_pixels(output_path(reference["manifest"], "exr-acescg").parent)
    assert sorted(ours) == [f"plate.{1001 + i}.exr" for i in range(N)]
    assert sorted(ours) == sorted(theirs)
    for name in ours:
        assert np.array_equal(ours[name], theirs[name]), name


def test_manifest_has_farm_info_and_validation(
    chunked: dict[str, Any], reference: dict[str, Any]
) -> None:
    data = chunked["manifest"]
    assert data["frames"] == N
    assert data["start_timecode"] == START_TC
    assert data["farm"]["chunk_size"] == 5
    assert [c["record_range"] for c in data["farm"]["chunks"]] == [
        [0, 5],
        [5, 10],
        [10, 15],
        [15, 16],
    ]
    assert (
        data["inputs"][0]["validation"]["status"]
        == reference["manifest"]["inputs"][0]["validation"]["status"]
    )
    assert not list(chunked["dir"].glob("*.partial*"))
    assert not list(chunked["dir"].rglob(".hdrpipe-*"))
    # Parts are removed once stitched; the chunk records stay.
    assert not (chunked["plan"].state / "parts").exists()
    assert len(list(chunked["plan"].state.glob("chunk-*.json"))) == 4


@pytest.mark.parametrize("retime", ["blend", "flow"])
def test_neighbour_reading_retimes_chunk_identically(
    plate: Path, tmp_path: Path, retime: str
) -> None:
    # 24 → 30 fps: record frames interpolate between two source frames that may
    # belong to different chunks; each chunk reads whatever it needs.
    fields = {
        "fps": "30",
        "retime": retime,
        "deliver": ("exr-acescg",),
        "start_tc": None,
    }
    single = conform(make_job(plate, tmp_path / "single", **fields))
    plan = farm.plan_job(make_job(plate, tmp_path / "chunked", **fields), chunk=3)
    assert plan.frames == 20 and len(plan.chunks) == 7
    for chunk in plan.chunks:
        farm.run_chunk(plan, chunk.index)
    manifest = farm.stitch(plan).to_dict()
    ours = exr_pixels(output_path(manifest, "exr-acescg").parent)
    theirs = exr_pixels(output_path(single.to_dict(), "exr-acescg").parent)
    assert len(ours) == 20 and sorted(ours) == sorted(theirs)
    for name in ours:
        assert np.array_equal(ours[name], theirs[name]), f"{retime}: {name} differs"


def test_run_chunk_resume_skips_and_rerun_is_idempotent(
    plate: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    plan = farm.plan_job(
        make_job(plate, tmp_path, deliver=("prores422hq-pq1000",), frames="1001-1006"),
        chunk=3,
    )
    first = farm.run_chunk(plan, 0)
    record = plan.state / "chunk-0000.json"
    part = Path(plan.chunks[0].parts["prores422hq-pq1000"])
    stamp = (record.stat().st_mtime_ns, part.stat().st_mtime_ns)
    with caplog.at_level(logging.INFO, logger="hdrpipe.farm"):
        again = farm.run_chunk(plan, 0, resume=True)
    assert "chunk 0 already complete" in caplog.text
    assert again == json.loads(json.dumps(first, default=str))
    assert (record.stat().st_mtime_ns, part.stat().st_mtime_ns) == stamp
    # Without resume the chunk is made again over its own part (idempotent).
    farm.run_chunk(plan, 0)
    assert record.stat().st_mtime_ns != stamp[0]
    # A part that changed on disk makes the chunk incomplete again.
    part.write_bytes(part.read_bytes()[:-10])
    assert farm.complete_record(plan, "chunk", 0) is None
    farm.run_chunk(plan, 0, resume=True)
    assert farm.complete_record(plan, "chunk", 0) is not None
    with pytest.raises(ConformError, match=r"chunk\(s\) \[1\] not complete"):
        farm.stitch(plan)


def _measured_plan(plan: farm.FarmPlan) -> farm.FarmPlan:
    """The plan as hdrpipe wrote it before x265 parts were patched at the stitch:
    the light level measured over the job first, then baked into every part."""
    old = dataclasses.replace(plan, measure_targets=("hdr-pq-1000-rec2020",))
    old.save()
    return old


def test_run_chunk_refuses_before_measure_and_bad_index(
    plate: Path, tmp_path: Path
) -> None:
    plan = farm.plan_job(
        make_job(plate, tmp_path, deliver=("hevc-hdr10",), frames="1001-1004"), chunk=2
    )
    with pytest.raises(InputError, match="no chunk 2"):
        farm.run_chunk(plan, 2)
    with pytest.raises(ConformError, match="measure chunk"):
        farm.run_chunk(_measured_plan(plan), 0)


def test_hevc_patched_at_stitch_same_bytes_as_measured_first(
    plate: Path, tmp_path: Path
) -> None:
    """Parts with the placeholder SEI, patched once stitched, make the same file
    as parts encoded with the job's level measured first (plans of before)."""
    movies = {}
    for tag in ("patched", "measured"):
        job = make_job(
            plate, tmp_path / tag, deliver=("hevc-hdr10",), frames="1001-1005"
        )
        plan = farm.plan_job(job, chunk=2)
        if tag == "measured":
            plan = _measured_plan(plan)
            for chunk in plan.chunks:
                farm.measure_chunk(plan, chunk.index)
        for chunk in plan.chunks:
            farm.run_chunk(plan, chunk.index, threads=1)
        movies[tag] = output_path(farm.stitch(plan).to_dict(), "hevc-hdr10")
    state = tmp_path / "patched" / ".plate.farm"
    assert len(list(state.glob("chunk-*.json"))) == 3
    assert not list(state.glob("measure-*.json"))
    assert movies["patched"].read_bytes() == movies["measured"].read_bytes()


@pytest.mark.parametrize(
    ("chunk", "ok"),
    [(1, True), (48, True), (0, False), (-3, False), (2.5, False)],
    ids=str,
)
def test_plan_job_chunk_size(plate: Path, tmp_path: Path, chunk: Any, ok: bool) -> None:
    job = make_job(plate, tmp_path, deliver=("prores422hq-pq1000",))
    if ok:
        plan = farm.plan_job(job, chunk=chunk)
        sizes = [c.frames for c in plan.chunks]
        assert sum(sizes) == N and max(sizes) == min(chunk, N)
    else:
        with pytest.raises(InputError):
            farm.plan_job(job, chunk=chunk)


def test_farm_plan_rejects_damaged_json(tmp_path: Path) -> None:
    bad = tmp_path / "x.farm.json"
    bad.write_text('{"schema": "something-else"}')
    with pytest.raises(InputError, match="not a farm plan"):
        farm.FarmPlan.load(bad)
    bad.write_text("{not json")
    with pytest.raises(InputError, match="not JSON"):
        farm.FarmPlan.load(bad)


def test_alpha_and_two_shots_across_a_chunk_boundary(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Two RGBA shots (5 + 4 frames) in chunks of 4: chunk 1 spans the cut.
    src = tmp_path_factory.mktemp("farm_rgba")
    a = make_plate(src / "a", name="a", width=64, height=36, frames=5, variant="rgba")
    b = make_plate(src / "b", name="b", width=64, height=36, frames=4, seed=9)
    fields = {"inputs": (str(a), str(b)), "deliver": ("prores4444xq-pq1000",)}
    fields["fps"] = "24"
    single = conform(make_job(a, tmp_path / "single", **fields)).to_dict()
    plan = farm.plan_job(make_job(a, tmp_path / "chunked", **fields), chunk=4)
    assert [(c.start, c.stop) for c in plan.chunks] == [(0, 4), (4, 8), (8, 9)]
    for chunk in plan.chunks:
        farm.run_chunk(plan, chunk.index)
    manifest = farm.stitch(plan).to_dict()
    path = output_path(manifest, "prores4444xq-pq1000")
    with av.open(str(path)) as container:
        assert container.streams.video[0].codec_context.pix_fmt.startswith("yuva")
    ours = decoded_planes(path)
    theirs = decoded_planes(output_path(single, "prores4444xq-pq1000"))
    assert len(ours) == len(theirs) == 9
    for i, (x, y) in enumerate(zip(ours, theirs, strict=True)):
        assert len(x) == 4  # Y', Cb, Cr, A
        assert all(np.array_equal(p, q) for p, q in zip(x, y, strict=True)), i
    assert [s["record_first"] for s in manifest["shots"]] == [0, 5]


def test_job_round_trips_through_plan_json(plate: Path, tmp_path: Path) -> None:
    seq = open_sequence(str(plate), frames="1002-1005")
    job = ConformJob(
        inputs=(seq,),
        deliver=("exr-aces",),
        outdir=os.path.relpath(tmp_path / "o"),
        fps=parse_rate("29.97df"),
        config="ocio://studio-config-latest",
    )
    data = json.loads(json.dumps(farm.job_to_dict(job)))
    back = farm.job_from_dict(data)
    assert back.inputs[0].frames == (1002, 1003, 1004, 1005)
    assert back.fps == "30000/1001df" and parse_rate(back.fps) == parse_rate("29.97df")
    assert Path(back.outdir) == (tmp_path / "o").absolute()
    assert back.config == "ocio://studio-config-latest"


def test_drop_frame_stitch_keeps_drop_frame_timecode(
    plate: Path, tmp_path: Path
) -> None:
    job = make_job(
        plate,
        tmp_path,
        deliver=("prores422hq-pq1000",),
        fps="29.97df",
        start_tc="00:00:59;20",
    )
    plan = farm.plan_job(job, chunk=7)
    for chunk in plan.chunks:
        farm.run_chunk(plan, chunk.index)
    path = output_path(farm.stitch(plan).to_dict(), "prores422hq-pq1000")
    pts, durations, rate = packet_times(path)
    assert rate == Fraction(30000, 1001)
    assert sorted(pts) == list(range(plan.frames)) and plan.frames == 20
    assert set(durations) == {1}
    _, tc = mediainfo(path)
    assert tc == "00:00:59;20"


@pytest.mark.parametrize(
    ("variant", "where"),
    [("nonfinite", "chunk"), ("quant8_acescct", "stitch")],
)
def test_chunks_validate_pixels_and_the_stitch_judges(
    tmp_path: Path, variant: str, where: str
) -> None:
    """The plan checks headers only; NaN/Inf stops the chunk that decodes it, a
    clip-wide failure (bit depth) stops the stitch before anything is published;
    with --force the manifest holds what `hdrpipe.validate` finds."""
    from hdrpipe.errors import ValidationError
    from hdrpipe.validation import validate

    src = make_plate(
        tmp_path / "src", width=64, height=36, frames=8, seed=3, variant=variant
    )
    expected = validate(src)
    failing = sorted(c.id for c in expected.checks if c.status == "fail")
    assert failing, f"the {variant} fixture passes validation"
    deliver = ("prores4444xq-pq1000",)
    plan = farm.plan_job(make_job(src, tmp_path / "out", deliver=deliver), chunk=3)
    movie = tmp_path / "out" / "plate_prores4444xq-pq1000.mov"
    stage = "chunk"
    with pytest.raises(ValidationError, match="fails the 'ray3' profile"):
        for chunk in plan.chunks:
            farm.run_chunk(plan, chunk.index, threads=1)
        stage = "stitch"
        farm.stitch(plan)
    assert stage == where
    assert not movie.exists()

    forced = farm.plan_job(
        make_job(src, tmp_path / "forced", deliver=deliver, force=True), chunk=3
    )
    for chunk in forced.chunks:
        farm.run_chunk(forced, chunk.index, threads=1)
    data = farm.stitch(forced).to_dict()
    report = data["inputs"][0]["validation"]
    assert report["status"] == "fail"
    assert sorted(c["id"] for c in report["checks"] if c["status"] == "fail") == (
        failing
    )
    assert data["validation_forced"] is True


def test_given_source_space_is_judged_alike_in_the_chunks_and_the_stitch(
    tmp_path: Path,
) -> None:
    """An ACEScg plate delivered with --source-colorspace ACEScg passes the ray3
    profile in one process; the farm's chunks and stitch judge it the same."""
    from fixtures.generate import render_frame
    from hdrpipe.exr import AP1_CHROMATICITIES, write_exr

    src = tmp_path / "src"
    for i in range(4):
        px = render_frame(64, 36, i, seed=3)
        write_exr(src / f"cg.{1001 + i}.exr", px, chromaticities=AP1_CHROMATICITIES)
    fields = {"deliver": ("prores4444xq-pq1000",), "source_colorspace": "ACEScg"}
    pattern = src / "cg.####.exr"
    single = conform(make_job(pattern, tmp_path / "single", **fields)).to_dict()
    plan = farm.plan_job(make_job(pattern, tmp_path / "chunked", **fields), chunk=2)
    for chunk in plan.chunks:
        farm.run_chunk(plan, chunk.index, threads=1)
    stitched = farm.stitch(plan).to_dict()
    for doc in (single, stitched):
        (report,) = [s["validation"] for s in doc["inputs"]]
        chroma = next(c for c in report["checks"] if c["id"] == "chromaticities")
        assert chroma["status"] == "pass", chroma
