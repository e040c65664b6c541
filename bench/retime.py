"""Retime benchmark: 24 → 48 in-betweens against a 48 fps ground truth.

The plate is :mod:`fixtures.motion` rendered at 48 fps (camera pan, rotation and
zoom; occluding textured objects; a specular of 100× diffuse white; a fast
mover; grain; a cut), rounded to half floats as an EXR stores it. Even frames
are the 24 fps input, odd frames the truth. Every method makes the in-between
of each input pair at t = 1/2; the score is the PSNR of the in-between against
the truth, both viewed through the SDR review target (``sdr-rec709``: ACES 2.0
SDR 100 nits Rec.709, BT.1886-encoded code values in [0, 1], float, peak 1) —
mean and worst over the in-betweens — and ms per in-between (median of
``--repeat`` runs, methods interleaved in each run: the machine is shared).

Methods
-------
duplicate    the earlier input frame (what ``nearest`` does at t = 1/2)
blend        ``(A + B) / 2`` in scene-linear light
DIS plain    OpenCV DIS (medium preset) on the full-resolution 8-bit log
             structure image, both directions; A sampled at ``x - F_AB(x)/2``,
             B at ``x - F_BA(x)/2``, averaged (no occlusion handling)
hdrpipe flow ``hdrpipe.resample.flow.interpolate`` (the ``--retime flow`` path)
minterpolate FFmpeg's filter on 8-bit frames: each input frame through the SDR
             review view, rounded to 8-bit RGB, piped to ``ffmpeg`` as rawvideo
             rgb24 at 24 fps, converted to yuv444p (BT.709 matrix, full range,
             so no chroma subsampling), ``minterpolate=fps=48`` with the given
             modes, back to rgb24. It is fed one extra input frame before and
             after the scored ones (48 fps frames -2 and N+1 of the same
             plate): without them it repeats the first frame instead of
             interpolating and drops the last in-between. Output ``2j`` is
             fed frame ``j``, output ``2j + 1`` the in-between of fed frames
             ``j``, ``j + 1`` (checked: every even output equals its input to
             within the yuv444p round trip, printed). Its ms/frame is the wall
             time of that ffmpeg run minus the same run with
             ``mi_mode=dup`` (pipe, conversion and encode overhead), over the
             number of in-betweens it made. Rows: FFmpeg's defaults
             (mci/obmc/bilat) and mci/aobmc/bidir.

The minterpolate score is measured on its 8-bit output decoded as code values,
so it carries 8-bit quantisation (about 0.3 dB at these PSNRs) the float
methods do not; the DIS/flow rows never round the image to 8 bits (only their
structure image for motion estimation is 8-bit).

Also prints the 1080p -> UHD reformat cost (separable lanczos3 vs OpenImageIO).

    .venv/bin/python bench/retime.py [--sizes 960x540,1920x1080] [--repeat 3]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fixtures.motion import CUT_FRAME, FRAMES, render_motion_frame  # noqa: E402
from hdrpipe.color import Transform  # noqa: E402
from hdrpipe.resample import flow  # noqa: E402
from hdrpipe.resample.reformat import apply_reformat, plan_reformat, resize  # noqa: E402
from hdrpipe.resample.retime import blend  # noqa: E402

__all__: list[str] = []

Frame = np.ndarray


def _psnr(a: Frame, b: Frame) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10.0 * np.log10(1.0 / max(mse, 1e-12))


def _dis_plain(a: Frame, b: Frame) -> Frame:
    import cv2

    raster = a.shape[:2]
    u8_a, u8_b = flow._to_u8(flow._structure(a, raster), flow._structure(b, raster))
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    fwd = dis.calc(u8_a, u8_b, None)
    bwd = dis.calc(u8_b, u8_a, None)
    grid = flow._grid(*raster)
    wa = flow._remap(a, grid - 0.5 * fwd)
    wb = flow._remap(b, grid - 0.5 * bwd)
    return (wa + wb) * np.float32(0.5)


def _ffmpeg_run(sdr8: list[Frame], vf: str) -> tuple[float, list[Frame]]:
    h, w = sdr8[0].shape[:2]
    cmd = [
        "ffmpeg", "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
        "-s", f"{w}x{h}", "-r", "24", "-i", "-",
        "-vf", f"scale=out_color_matrix=bt709:out_range=full,format=yuv444p,{vf},"
        "scale=in_color_matrix=bt709:in_range=full,format=rgb24",
        "-sws_flags", "accurate_rnd+full_chroma_int+bitexact",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-",
    ]  # fmt: skip
    data = b"".join(f.tobytes() for f in sdr8)
    t0 = time.perf_counter()
    out = subprocess.run(cmd, input=data, capture_output=True, check=True).stdout
    dt = time.perf_counter() - t0
    n = len(out) // (h * w * 3)
    frames = list(np.frombuffer(out, np.uint8).reshape(n, h, w, 3))
    return dt, frames


def _run_size(
    width: int, height: int, repeat: int, frames: int, configs: list[str]
) -> None:
    t0 = time.perf_counter()
    # 48 fps frames -2 … frames + 1: one extra input frame on each side (pre- and
    # post-roll) that only minterpolate sees, so its first and last in-betweens
    # get the context it keeps (it otherwise repeats the first frame and drops
    # the last in-between). Scored: the in-betweens of input frames 0 … frames-1.
    plate = [
        # the half samples an EXR holds
        render_motion_frame(n, width, height).astype(np.float16).astype(np.float32)
        for n in range(-2, frames + 2)
    ]
    inputs_roll, truths = plate[0::2], plate[3:-2:2]
    inputs = inputs_roll[1:-1]
    view = Transform(target="sdr-rec709", color_path="auto")
    sdr_in = [view.apply(f)[..., :3] for f in inputs_roll]
    sdr_truth = [view.apply(f)[..., :3] for f in truths]
    pairs = list(zip(inputs[:-1], inputs[1:], strict=True))
    print(
        f"\n{width}x{height}: {len(inputs)} input frames, {len(pairs)} in-betweens "
        f"(plate {time.perf_counter() - t0:.1f} s, SDR view via the "
        f"{view.color_path_info['path']} colour path)"
    )

    methods: dict[str, Callable[[Frame, Frame], Frame]] = {
        "duplicate": lambda a, b: a,
        "blend": lambda a, b: blend((a, b), (0.5, 0.5)),
        "DIS plain": _dis_plain,
        f"hdrpipe flow ({flow.DEFAULT_PRESET}:{flow.DEFAULT_MAX_SIZE})": (
            lambda a, b: flow.interpolate(a, b, 0.5)
        ),
    }
    for cfg in configs:  # extra rows: preset:max_size
        preset, size = cfg.split(":")
        methods[f"  flow {cfg}"] = lambda a, b, p=preset, m=int(size): flow.interpolate(
            a, b, 0.5, preset=p, max_size=m
        )
    times: dict[str, list[float]] = {m: [] for m in methods}
    scores: dict[str, list[float]] = {}
    for r in range(repeat):
        for name, fn in methods.items():  # interleaved: same load for every method
            dt, outs = 0.0, []
            for a, b in pairs:
                t1 = time.perf_counter()
                outs.append(fn(a, b))
                dt += time.perf_counter() - t1
            times[name].append(1000.0 * dt / len(pairs))
            if r == 0:
                scores[name] = [
                    _psnr(view.apply(o)[..., :3], t)
                    for o, t in zip(outs, sdr_truth, strict=True)
                ]

    if shutil.which("ffmpeg"):
        sdr8 = [np.clip(np.rint(f * 255.0), 0, 255).astype(np.uint8) for f in sdr_in]
        variants = {
            "minterpolate default": "minterpolate=fps=48",
            "minterpolate aobmc/bidir": (
                "minterpolate=fps=48:mi_mode=mci:mc_mode=aobmc:me_mode=bidir"
            ),
        }
        overhead: list[float] = []
        for name in variants:
            times[name] = []
        for r in range(repeat):
            dt, dup = _ffmpeg_run(sdr8, "minterpolate=fps=48:mi_mode=dup")
            overhead.append(dt)
            for name, vf in variants.items():
                dt, outs8 = _ffmpeg_run(sdr8, vf)
                times[name].append(1000.0 * (dt - overhead[-1]) / (len(sdr8) - 1))
                if r == 0:
                    got = [o.astype(np.float32) / 255.0 for o in outs8]
                    even = min(
                        _psnr(g, s.astype(np.float32) / 255.0)
                        for g, s in zip(got[0::2], sdr8, strict=False)
                    )
                    # Fed input j is output 2j; scored pair k is fed j = k+1, k+2.
                    scores[name] = [
                        _psnr(got[2 * k + 3], t) for k, t in enumerate(sdr_truth)
                    ]
                    print(
                        f"  {name}: {len(outs8)} frames out; even outputs vs inputs "
                        f"≥ {even:.1f} dB (yuv444p round trip)"
                    )
        print(f"  ffmpeg overhead (mi_mode=dup run): {np.median(overhead):.2f} s")
    else:
        print("  ffmpeg not found: minterpolate skipped (make bench installs it)")

    cut = [i for i in range(len(pairs)) if 2 * i + 2 == CUT_FRAME]
    print(
        f"  {'method':<32}{'mean dB':>9}{'worst dB':>10}{'cut pair dB':>12}"
        f"{'ms/frame':>10}"
    )
    for name, sc in scores.items():
        cut_db = f"{sc[cut[0]]:.2f}" if cut and cut[0] < len(sc) else "-"
        print(
            f"  {name:<32}{np.mean(sc):9.2f}{np.min(sc):10.2f}{cut_db:>12}"
            f"{np.median(times[name]):10.1f}"
        )
    print("  per in-between dB:")
    for name, sc in scores.items():
        print(f"    {name:<30} " + " ".join(f"{v:5.1f}" for v in sc))


def _reformat(repeat: int) -> None:
    """Time 1080p -> UHD reformat (separable lanczos3) against OpenImageIO."""
    a = render_motion_frame(0, 1920, 1080)
    a = np.ascontiguousarray(np.dstack([a, np.ones_like(a[..., :1])]))
    placement = plan_reformat(1920, 1080, 3840, 2160, "letterbox")
    ms, fast = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        fast = apply_reformat(a, placement)
        ms.append(1000.0 * (time.perf_counter() - t0))
    t0 = time.perf_counter()
    ref = resize(a, (3840, 2160), engine="oiio")
    ms_oiio = 1000.0 * (time.perf_counter() - t0)
    print(
        f"\n{'reformat HD->UHD lanczos3':<28} {min(ms):8.1f} ms/frame (RGBA, separable)"
    )
    print(
        f"{'  same via OIIO resize':<28} {ms_oiio:8.1f} ms/frame   "
        f"max |separable - OIIO| {np.abs(fast - ref).max():.2e}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="960x540,1920x1080")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--frames", type=int, default=FRAMES, help="48 fps frames")
    parser.add_argument(
        "--flow-configs",
        default="",
        help="extra hdrpipe flow rows, comma-separated preset:max_size",
    )
    args = parser.parse_args()
    print("shared 2-core machine: ms/frame is the median of interleaved runs")
    for size in args.sizes.split(","):
        w, h = (int(v) for v in size.split("x"))
        configs = [c for c in args.flow_configs.split(",") if c]
        _run_size(w, h, args.repeat, args.frames, configs)
    _reformat(args.repeat)


if __name__ == "__main__":
    main()
