"""Encode fps per preset at 1080p: full writer (Y'CbCr + encode) vs the encoder alone.

Usage::

    .venv/bin/python bench/encode.py [--frames 12] [--size 1920x1080] [--presets a,b]
                                     [--threads N] [--prores-compare]

For every preset, in the same run and on the same frames, it prints:

* ``full``: ``Writer.write`` on float32 R'G'B' frames (our numpy Y'CbCr + chroma
  filter + PyAV encode), then ``close`` (flush, box patch, MediaInfo verify);
* ``encoder``: the same writer fed pre-converted code planes (``write_planes``),
  i.e. the encoder and muxer alone;
* ``ycbcr``: the numpy conversion alone.

Each figure is the best of ``--repeat`` runs (the machine is shared).

Then, per video preset, what it keeps of the picture (``--no-quality`` skips
it): ``grain_retention`` — high-pass σ of a flat patch of the decoded Y' over
that of the encoder's input Y' (``hdrpipe.encode.quality``) — and the bitrate,
on the fixture plate (``fixtures.generate``, 2 % grain) rendered at ``--size``
through each preset's colour target, next to the preset's targets.

``--hevc-compare`` times the HEVC master (x265 CRF 6, ``tune=grain``) against
the settings it replaced (CRF 18, no tuning) on the same fixture frames, best of
``--repeat``, and prints the ratio with each one's grain retention and bitrate.

``--prores-compare`` encodes the two ProRes profiles with ``prores_ks`` and
``prores_aw`` and prints fps, PSNR of the decoded Y'/Cb/Cr planes against our
input codes and the data rate: the numbers recorded in ``presets.py``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from fixtures.generate import grain_patch, render_frame
from hdrpipe.color import Transform
from hdrpipe.encode import get_preset, open_writer
from hdrpipe.encode.presets import PRESETS
from hdrpipe.encode.quality import grain_retention
from hdrpipe.timecode import Timecode
from hdrpipe.types import ContentLightLevel, Rate

RATE = Rate(Fraction(24000, 1001))
LEVEL = ContentLightLevel(1000, 200)


def make_frames(
    n: int, w: int, h: int, seed: int = 1, grain: float = 0.01
) -> list[np.ndarray]:
    """Display-encoded PQ-like frames: gradients, a bright moving disc, grain."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    out = []
    for i in range(n):
        r = 0.35 + 0.25 * np.sin(2 * np.pi * (xx / w + 0.02 * i))
        g = 0.35 + 0.25 * np.cos(2 * np.pi * (yy / h - 0.015 * i))
        b = 0.3 + 0.2 * np.sin(2 * np.pi * (xx + yy) / (w + h))
        img = np.stack([r, g, b], axis=-1)
        disc = ((xx - w * (0.3 + 0.01 * i)) ** 2 + (yy - h / 2) ** 2) < (h / 8) ** 2
        img[disc] = 0.75
        img += rng.normal(0.0, grain, img.shape).astype(np.float32)
        out.append(np.ascontiguousarray(np.clip(img, 0.0, 1.0), dtype=np.float32))
    return out


def _open(spec, path: Path, w: int, h: int, threads: int | None):  # type: ignore[no-untyped-def]
    return open_writer(
        spec,
        path,
        width=w,
        height=h,
        rate=RATE,
        start_timecode=Timecode.parse("01:00:00:00", RATE),
        light_level=LEVEL if spec.needs_light_level_at_open else None,
        threads=threads,
        overwrite=True,
    )


def bench_preset(
    name: str, frames: list[np.ndarray], out: Path, threads: int | None, repeat: int
) -> None:
    """Print best-of-``repeat`` fps: full writer, encoder alone, Y'CbCr alone."""
    spec = get_preset(name)
    h, w = frames[0].shape[:2]
    n = len(frames)
    if spec.kind == "exr":
        best = 0.0
        for k in range(repeat):
            t0 = time.perf_counter()
            with _open(spec, out / f"{name}{k}.####.exr", w, h, threads) as wr:
                for f in frames:
                    wr.write(f)
                wr.close()
            best = max(best, n / (time.perf_counter() - t0))
        print(f"{name:<22} full {best:7.2f} fps   (EXR {spec.exr_compression})")
        return
    fps_full = fps_enc = fps_conv = 0.0
    for k in range(repeat):
        wr = _open(spec, out / f"{name}.a{k}{spec.extension}", w, h, threads)
        t0 = time.perf_counter()
        planes = [wr.planes(f) for f in frames]  # type: ignore[attr-defined]
        fps_conv = max(fps_conv, n / (time.perf_counter() - t0))
        t0 = time.perf_counter()
        for p in planes:
            wr.write_planes(p)  # type: ignore[attr-defined]
        wr.close(LEVEL)
        fps_enc = max(fps_enc, n / (time.perf_counter() - t0))
        del planes
        t0 = time.perf_counter()
        with _open(spec, out / f"{name}.b{k}{spec.extension}", w, h, threads) as wr2:
            for f in frames:
                wr2.write(f)
            wr2.close(LEVEL)
        fps_full = max(fps_full, n / (time.perf_counter() - t0))
    print(
        f"{name:<22} full {fps_full:7.2f} fps   encoder alone {fps_enc:7.2f} fps   "
        f"ycbcr alone {fps_conv:7.2f} fps"
    )


def _planes(path: Path) -> list[list[np.ndarray]]:
    out = []
    with av.open(str(path)) as c:
        for fr in c.decode(video=0):
            bits = fr.format.components[0].bits
            planes = []
            for p in fr.planes:
                a = np.frombuffer(p, np.uint16).reshape(-1, p.line_size // 2)[
                    : p.height, : p.width
                ]
                planes.append(
                    a.astype(np.float64) / (1 << (bits - 10))
                )  # in 10-bit code units
            out.append(planes)
    return out


def _luma(path: Path, bits: int) -> list[np.ndarray]:
    """Decoded Y' planes in ``bits``-bit code values."""
    out = []
    with av.open(str(path)) as c:
        for fr in c.decode(video=0):
            p = fr.planes[0]
            stored = fr.format.components[0].bits
            dtype = np.dtype(np.uint8 if stored <= 8 else np.uint16)
            a = np.frombuffer(p, dtype).reshape(-1, p.line_size // dtype.itemsize)
            out.append(
                a[: p.height, : p.width].astype(np.float64) / 2 ** (stored - bits)
            )
    return out


def quality(names: list[str], n: int, w: int, h: int, out: Path) -> None:
    """Print grain retention and bitrate of each video preset on the fixture plate."""
    print(
        f"\nquality on the fixture plate, {w}x{h}, {n} frames at {RATE} fps "
        "(grain: decoded/input high-pass sigma of a flat patch)"
    )
    rows, cols = grain_patch(w, h)
    scene = [render_frame(w, h, i, seed=5) for i in range(n)]
    signals: dict[str, list[np.ndarray]] = {}
    for name in names:
        spec = get_preset(name)
        if spec.kind != "video":
            continue
        if spec.target not in signals:
            tr = Transform(target=spec.target)
            signals[spec.target] = [tr.apply(f) for f in scene]
        frames = signals[spec.target]
        path = out / f"q-{name}{spec.extension}"
        with _open(spec, path, w, h, None) as wr:
            reference = [wr.planes(f)[0][rows, cols] for f in frames]  # type: ignore[attr-defined]
            t0 = time.perf_counter()
            for f in frames:
                wr.write(f)
            wr.close(LEVEL)
            fps = n / (time.perf_counter() - t0)
        decoded = [y[rows, cols] for y in _luma(path, spec.bit_depth)]
        kept = grain_retention(decoded, reference)
        rate = path.stat().st_size * 8 / float(n / RATE.fps)
        floor = spec.bitrate_floor(w, h, RATE.fps)
        target = (
            f">= {spec.grain_retention_min:.0%}" if spec.grain_retention_min else "-"
        )
        print(
            f"  {name:<22} {spec.purpose:<7} grain_retention {kept:6.1%} "
            f"(target {target:>5})   {rate / 1e6:8.2f} Mb/s"
            + (f" (floor {floor / 1e6:.2f})" if floor else "")
            + f"   {fps:6.2f} fps"
        )


def hevc_compare(n: int, w: int, h: int, out: Path, repeat: int) -> None:
    """Writer fps of the shipped HEVC master vs its CRF 18 predecessor."""
    base = get_preset("hevc-hdr10")
    before = {k: v for k, v in base.options.items() if k != "tune"}
    before["crf"] = "18"
    variants = {
        "crf 6 tune=grain (shipped)": base,
        "crf 18 (before)": replace(base, options=before),
    }
    rows, cols = grain_patch(w, h)
    tr = Transform(target=base.target)
    frames = [tr.apply(render_frame(w, h, i, seed=5)) for i in range(n)]
    print(f"\nHEVC master speed, fixture plate {w}x{h}, {n} frames, best of {repeat}")
    best: dict[str, float] = {}
    for label, spec in variants.items():
        for _ in range(repeat):
            path = out / f"hevc-{len(best)}.mp4"
            with _open(spec, path, w, h, None) as wr:
                reference = [wr.planes(f)[0][rows, cols] for f in frames]  # type: ignore[attr-defined]
                t0 = time.perf_counter()
                for f in frames:
                    wr.write(f)
                wr.close(LEVEL)
                best[label] = max(best.get(label, 0.0), n / (time.perf_counter() - t0))
        kept = grain_retention([y[rows, cols] for y in _luma(path, 10)], reference)
        rate = path.stat().st_size * 8 / float(n / RATE.fps)
        print(
            f"  {label:<28} {best[label]:6.2f} fps   grain_retention {kept:6.1%}   "
            f"{rate / 1e6:7.2f} Mb/s"
        )
    shipped, old = best.values()
    print(f"  the shipped master encodes {old / shipped:.1f}x slower than before")


def prores_compare(frames: list[np.ndarray], out: Path, threads: int | None) -> None:
    h, w = frames[0].shape[:2]
    n = len(frames)
    print(
        f"\nProRes encoders, {w}x{h}, {n} frames "
        "(PSNR of decoded planes vs our 10-bit codes, peak 1023)"
    )
    for preset in ("prores4444xq-pq1000", "prores422hq-pq1000"):
        for codec in ("prores_ks", "prores_aw"):
            spec = replace(
                get_preset(preset),
                codec=codec,
                options={} if codec == "prores_aw" else get_preset(preset).options,
            )
            path = out / f"cmp-{preset}-{codec}.mov"
            wr = _open(spec, path, w, h, threads)
            planes = [wr.planes(f) for f in frames]  # type: ignore[attr-defined]
            t0 = time.perf_counter()
            for p in planes:
                wr.write_planes(p)  # type: ignore[attr-defined]
            wr.close(LEVEL)
            dt = time.perf_counter() - t0
            dec = _planes(path)
            res = []
            for k in range(3):
                mse = np.mean(
                    [
                        np.mean((d[k] - s[k].astype(np.float64)) ** 2)
                        for d, s in zip(dec, planes, strict=True)
                    ]
                )
                res.append(10 * np.log10(1023.0**2 / mse) if mse > 0 else float("inf"))
            mb = path.stat().st_size / n / 1e6
            print(
                f"  {preset:<22} {codec:<10} {n / dt:6.2f} fps   PSNR Y/Cb/Cr "
                f"{res[0]:5.1f} / {res[1]:5.1f} / {res[2]:5.1f} dB   {mb:5.2f} MB/frame"
            )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=12)
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--presets", default=",".join(PRESETS))
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--repeat", type=int, default=2, help="best of N runs per preset")
    ap.add_argument("--prores-compare", action="store_true")
    ap.add_argument("--hevc-compare", action="store_true")
    ap.add_argument(
        "--quality",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="grain retention and bitrate per video preset (default on)",
    )
    ap.add_argument(
        "--grain", type=float, default=0.01, help="grain sigma (signal units)"
    )
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    w, h = (int(v) for v in args.size.lower().split("x"))
    frames = make_frames(args.frames, w, h, grain=args.grain)
    print(
        f"encode bench: {w}x{h}, {args.frames} frames, grain {args.grain}, "
        f"av {av.__version__}, FFmpeg {av.ffmpeg_version_info}"
    )
    with tempfile.TemporaryDirectory(prefix="hdrpipe-bench-") as tmp:
        out = Path(tmp)
        if args.prores_compare:
            prores_compare(frames, out, args.threads)
        elif args.hevc_compare:
            hevc_compare(args.frames, w, h, out, args.repeat)
        else:
            for name in args.presets.split(","):
                bench_preset(name, frames, out, args.threads, args.repeat)
            if args.quality:
                quality(args.presets.split(","), args.frames, w, h, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
