"""Benchmark hdrpipe against the usual ``oiiotool --ociodisplay`` → ffmpeg two-step.

    .venv/bin/python bench/peers.py [--frames 48] [--rss-frames 48,240] [--quick]

On one generated 1080p ACES2065-1 plate (``fixtures.generate.make_plate``, half
PIZ), in the same run:

(a) peer: ``oiiotool`` (the OpenImageIO wheel's, linking OCIO 2.5.1, so with
    ``ocio://studio-config-v4.0.0_aces-v2.0_ocio-v2.5``) ``--ociodisplay
    "Rec.2100-PQ - Display" "ACES 2.0 - HDR 1000 nits (Rec.2020)"`` to 16-bit
    TIFF, then Debian's ffmpeg ``prores_ks`` 4444 XQ with BT.2020 / PQ tags (the
    RGB → Y'CbCr matrix set to BT.2020 explicitly; swscale's default is BT.601);
(b) hdrpipe exact and (c) hdrpipe auto: ``hdrpipe.engine.conform(ConformJob(…,
    deliver=("prores4444xq-pq1000",)))`` in a subprocess with
    ``$HDRPIPE_COLOR_PATH`` = exact / auto (the shipped preset uses prores_aw;
    ``auto+ks`` re-runs auto with a prores_ks preset for a like-for-like encoder).

Reported per workflow: wall time and fps (hdrpipe also after its validation
pass), CPU seconds per frame, peak RSS of the process(es), and the colour error
of the decoded ProRes (PyAV, BT.2020 NCL narrow range in numpy) against the
exact OCIO signal (hdrpipe ``Transform(color_path="exact")``) on sample frames:
p99.9 / max in 10-bit code values and max ΔE_ITP. Also the per-stage CPU cost
(decode, colour exact/fast, encode) and the sum-of-stages CPU limit
(cores ÷ CPU seconds per frame), and peak RSS of auto runs at each
``--rss-frames`` length (flat memory = same RSS).

The machine is shared: wall numbers move with other load (the load average is
printed); CPU seconds per frame do not.

ffmpeg: Debian's ``ffmpeg``; when absent the script runs ``apt-get install -y
ffmpeg`` if root, else prints how to install it and skips (a).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

__all__ = ["main"]

PRESET = "prores4444xq-pq1000"
TARGET = "hdr-pq-1000-rec2020"
PEER_CONFIG = "ocio://studio-config-v4.0.0_aces-v2.0_ocio-v2.5"
PEER_DISPLAY = "Rec.2100-PQ - Display"
PEER_VIEW = "ACES 2.0 - HDR 1000 nits (Rec.2020)"
FIRST = 1001
KS_PRESETS = """\
[presets.prores4444xq-pq1000-ks]
base = "prores4444xq-pq1000"
codec = "prores_ks"
description = "ProRes 4444 XQ via prores_ks"
"""
# ITU-R BT.2020-2 Table 4 (non-constant luminance) luma coefficients.
BT2020_KR, BT2020_KB = 0.2627, 0.0593


# ----------------------------------------------------------------------- helpers


def _python() -> str:
    return sys.executable


def _vm_hwm_mb(pid: int) -> float:
    """Peak RSS (``VmHWM``) of a running process's current image, MB; 0 if gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def _run(cmd: Sequence[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run one child; return wall seconds, its CPU seconds and peak RSS (MB), stdout.

    Peak RSS is the child's ``VmHWM`` polled every 50 ms: ``ru_maxrss`` of a
    child also counts the (large) bench process it was forked from.
    """
    t0 = time.perf_counter()
    peak = 0.0
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(list(cmd), stdout=out, stderr=err, env=env)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, _vm_hwm_mb(proc.pid))
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        stdout, stderr = (
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
        )
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({proc.returncode}):\n{stderr[-3000:]}")
    for line in stdout.splitlines()[-1:]:
        if line.startswith("{") and "vm_hwm_mb" in line:  # the child's own figure
            peak = max(peak, float(json.loads(line)["vm_hwm_mb"]))
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_mb": peak,
        "stdout": stdout,
    }


def _ffmpeg() -> str | None:
    found = shutil.which("ffmpeg")
    if found:
        return found
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        print("ffmpeg not found: running apt-get install -y ffmpeg", file=sys.stderr)
        for cmd in (
            ["apt-get", "install", "-y", "-q", "ffmpeg"],
            ["apt-get", "update", "-q"],
            ["apt-get", "install", "-y", "-q", "ffmpeg"],
        ):
            subprocess.run(cmd, stdout=subprocess.DEVNULL, check=False)
            if shutil.which("ffmpeg"):
                return shutil.which("ffmpeg")
    print(
        "ffmpeg not found: install Debian's ffmpeg (sudo apt-get install -y ffmpeg) "
        "to time the peer workflow; skipping (a)",
        file=sys.stderr,
    )
    return None


def _plate(workdir: Path, frames: int, width: int, height: int) -> Path:
    from fixtures.generate import make_plate

    plate_dir = workdir / f"plate_{width}x{height}"
    stamp = plate_dir / "plate.json"
    want = {"frames": frames, "width": width, "height": height, "seed": 0}
    if stamp.is_file():
        have = json.loads(stamp.read_text())
        if have["frames"] >= frames and dict(have, frames=frames) == want:
            return plate_dir / "plate.####.exr"
    print(
        f"generating {frames} frames {width}x{height} in {plate_dir} …", file=sys.stderr
    )
    shutil.rmtree(plate_dir, ignore_errors=True)
    pattern = make_plate(
        plate_dir, width=width, height=height, frames=frames, workers=2
    )
    stamp.write_text(json.dumps(want))
    return pattern


# ----------------------------------------------------------------------- workflows


def _read_tiffs(tif: Path, indices: Sequence[int]) -> dict[int, NDArray[np.float32]]:
    import OpenImageIO as oiio

    result = {}
    for i in indices:
        inp = oiio.ImageInput.open(str(tif / f"peer.{FIRST + i:04d}.tif"))
        if inp is None:
            raise RuntimeError(oiio.geterror())
        result[i] = np.ascontiguousarray(inp.read_image(format="float")[..., :3])
        inp.close()
    return result


def _peer(
    pattern: Path, out: Path, frames: int, ffmpeg: str, indices: Sequence[int]
) -> dict[str, Any]:
    tif = out / "peer_tif"
    shutil.rmtree(tif, ignore_errors=True)
    tif.mkdir(parents=True)
    oiiotool = str(Path(_python()).parent / "oiiotool")
    last = FIRST + frames - 1
    oiio = _run(
        [
            oiiotool,
            "--colorconfig",
            PEER_CONFIG,
            "--frames",
            f"{FIRST}-{last}",
            str(pattern).replace("####", "#"),
            "--iscolorspace",
            "ACES2065-1",
            "--ociodisplay",
            PEER_DISPLAY,
            PEER_VIEW,
            "-d",
            "uint16",
            "-o",
            str(tif / "peer.#.tif"),
        ]
    )
    movie = out / "peer_prores4444xq.mov"
    ff = _run(
        [
            ffmpeg,
            "-y",
            "-v",
            "error",
            "-framerate",
            "24",
            "-start_number",
            str(FIRST),
            "-i",
            str(tif / "peer.%04d.tif"),
            "-frames:v",
            str(frames),
            "-vf",
            "scale=out_color_matrix=bt2020:out_range=tv,format=yuv444p10le",
            "-c:v",
            "prores_ks",
            "-profile:v",
            "5",
            "-vendor",
            "apl0",
            "-color_primaries",
            "bt2020",
            "-color_trc",
            "smpte2084",
            "-colorspace",
            "bt2020nc",
            "-color_range",
            "tv",
            str(movie),
        ]
    )
    stage_signal = _read_tiffs(tif, indices)
    shutil.rmtree(tif, ignore_errors=True)
    return {
        "stage_signal": stage_signal,
        "name": "peer oiiotool+ffmpeg(ks)",
        "wall": oiio["wall"] + ff["wall"],
        "cpu": oiio["cpu"] + ff["cpu"],
        "rss_mb": max(oiio["rss_mb"], ff["rss_mb"]),
        "steps": {
            "oiiotool_s": round(oiio["wall"], 2),
            "ffmpeg_s": round(ff["wall"], 2),
        },
        "movie": str(movie),
        "frames": frames,
    }


def _hdrpipe(
    pattern: Path, out: Path, frames: int, color_path: str, *, ks: bool = False
) -> dict[str, Any]:
    outdir = out / f"hdrpipe_{color_path}{'_ks' if ks else ''}_{frames}"
    env = dict(os.environ, HDRPIPE_COLOR_PATH=color_path)
    cmd = [_python(), __file__, "_conform", str(pattern), str(outdir), str(frames)]
    if ks:
        presets = out / "ks_presets.toml"
        presets.write_text(KS_PRESETS)
        cmd += ["--presets", str(presets)]
    res = _run(cmd, env=env)
    child = json.loads(res["stdout"].strip().splitlines()[-1])
    return {
        "name": f"hdrpipe {color_path}{' (prores_ks)' if ks else ' (prores_aw)'}",
        "wall": res["wall"],
        "cpu": res["cpu"],
        "rss_mb": res["rss_mb"],
        "after_validation_s": child["after_validation_s"],
        "color_path": child["color_path"],
        "movie": child["movie"],
        "frames": frames,
    }


def _conform_child(argv: Sequence[str]) -> int:
    """Child process: one conform, prints one JSON line (timing marks, colour path)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("pattern")
    ap.add_argument("outdir")
    ap.add_argument("frames", type=int)
    ap.add_argument("--presets")
    a = ap.parse_args(argv)
    from hdrpipe.engine import ConformJob, conform

    preset = PRESET + ("-ks" if a.presets else "")
    job = ConformJob(
        inputs=(a.pattern,),
        deliver=(preset,),
        outdir=a.outdir,
        frames=f"{FIRST}-{FIRST + a.frames - 1}",
        overwrite=True,
        presets_file=a.presets,
        color_path=os.environ.get("HDRPIPE_COLOR_PATH", "auto"),
    )
    marks: list[tuple[float, int, int]] = []
    t0 = time.perf_counter()
    manifest = conform(
        job, on_progress=lambda d, t: marks.append((time.perf_counter(), d, t))
    )
    end = time.perf_counter()
    # conform reports validation as (done, frames), then encoding as (frames + k, …).
    after = next((m[0] for m in marks if m[2] > a.frames), t0)
    color = manifest.data["color"]
    info = next(
        (
            t.get("color_path")
            for t in color.get("transforms", [])
            if t.get("color_path")
        ),
        None,
    )
    print(
        json.dumps(
            {
                "elapsed_s": end - t0,
                "vm_hwm_mb": _vm_hwm_mb(os.getpid()),
                "after_validation_s": end - after,
                "movie": manifest.data["outputs"][0]["path"],
                "color_path": {
                    "requested": os.environ.get("HDRPIPE_COLOR_PATH"),
                    "manifest": color.get("color_path"),
                    "path": None if info is None else info.get("path"),
                    "reason": None if info is None else info.get("reason"),
                    "lut_size": None
                    if not info or not info.get("bake")
                    else info["bake"]["lut_size"],
                },
            }
        )
    )
    return 0


# ----------------------------------------------------------------------- errors


def _decode_rgb(movie: str, indices: Sequence[int]) -> dict[int, NDArray[np.float32]]:
    """Decode frames ``indices`` of a ProRes movie to R'G'B' in [0, 1] (BT.2020 NCL)."""
    import av

    wanted = set(indices)
    result: dict[int, NDArray[np.float32]] = {}
    with av.open(movie) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i not in wanted:
                continue
            fmt = frame.format.name
            bits = (
                12
                if "p12" in fmt
                else 10
                if "p10" in fmt
                else 16
                if "p16" in fmt
                else 8
            )
            planes = []
            for p in range(3):
                plane = frame.planes[p]
                dt = np.uint16 if bits > 8 else np.uint8
                data = np.frombuffer(plane, dtype=dt).reshape(plane.height, -1)
                planes.append(data[:, : plane.width].astype(np.float64))
            scale = 2 ** (bits - 8)
            y = (planes[0] - 16 * scale) / (219 * scale)  # ITU-R BT.2020-2 Table 5
            cb = (planes[1] - 128 * scale) / (224 * scale)
            cr = (planes[2] - 128 * scale) / (224 * scale)
            r = y + 2 * (1 - BT2020_KR) * cr
            b = y + 2 * (1 - BT2020_KB) * cb
            g = (y - BT2020_KR * r - BT2020_KB * b) / (1 - BT2020_KR - BT2020_KB)
            result[i] = np.stack([r, g, b], axis=-1).astype(np.float32)
            if len(result) == len(wanted):
                break
    return result


def _reference(pattern: Path, indices: Sequence[int]) -> dict[int, NDArray[np.float32]]:
    from hdrpipe.color import Transform
    from hdrpipe.exr import read_pixels

    exact = Transform(target=TARGET, color_path="exact")
    return {
        i: exact.apply(
            read_pixels(
                str(pattern).replace("####", f"{FIRST + i:04d}"), channels="RGB"
            )
        )
        for i in indices
    }


def _fast_signal(
    pattern: Path, indices: Sequence[int]
) -> dict[int, NDArray[np.float32]]:
    from hdrpipe.color import Transform
    from hdrpipe.exr import read_pixels

    fast = Transform(target=TARGET, color_path="fast")
    return {
        i: fast.apply(
            read_pixels(
                str(pattern).replace("####", f"{FIRST + i:04d}"), channels="RGB"
            )
        )
        for i in indices
    }


def _stage_errors(
    signal: dict[int, NDArray[np.float32]], ref: dict[int, NDArray[np.float32]]
) -> dict[str, float]:
    from hdrpipe.color import get_target
    from hdrpipe.color.fastpath import signal_errors

    a = np.concatenate([ref[i].reshape(-1, 3) for i in sorted(ref)])
    b = np.concatenate([signal[i].reshape(-1, 3) for i in sorted(ref)])
    e = signal_errors(a, b, get_target(TARGET))
    return {"p999": e.p999_code10, "max": e.max_code10, "de": e.max_delta_e_itp}


def _errors(movie: str, ref: dict[int, NDArray[np.float32]]) -> dict[str, float]:
    from hdrpipe.color import get_target
    from hdrpipe.color.fastpath import signal_errors

    decoded = _decode_rgb(movie, sorted(ref))
    a = np.concatenate([ref[i].reshape(-1, 3) for i in sorted(ref)])
    b = np.concatenate([decoded[i].reshape(-1, 3) for i in sorted(ref)])
    e = signal_errors(a, np.clip(b, 0.0, 1.0), get_target(TARGET))
    return {"p999": e.p999_code10, "max": e.max_code10, "de": e.max_delta_e_itp}


# ----------------------------------------------------------------------- stages


def _cpu_per_frame(fn: Any, n: int) -> float:
    fn()
    c0 = time.process_time()
    for _ in range(n):
        fn()
    return (time.process_time() - c0) / n


def _stages(pattern: Path, n: int) -> dict[str, float]:
    """CPU seconds per frame of each stage, measured in this process."""
    from hdrpipe.color import LightLevelMeter, Transform
    from hdrpipe.conform.rates import parse_rate
    from hdrpipe.encode import open_writer
    from hdrpipe.encode.presets import get_preset, load_presets
    from hdrpipe.exr import read_pixels
    from hdrpipe.types import ContentLightLevel

    path = str(pattern).replace("####", f"{FIRST:04d}")
    frame = read_pixels(path, channels="RGB")
    stages = {"decode": _cpu_per_frame(lambda: read_pixels(path, channels="RGB"), n)}
    exact = Transform(target=TARGET, color_path="exact", threads=1)
    stages["colour exact"] = _cpu_per_frame(lambda: exact.apply(frame), max(1, n // 2))
    fast = Transform(target=TARGET, color_path="fast", threads=1)
    stages["colour fast"] = _cpu_per_frame(lambda: fast.apply(frame), n)
    signal = exact.apply(frame)
    meter = LightLevelMeter(exact.target)
    stages["meter MaxCLL/FALL"] = _cpu_per_frame(lambda: meter.add(signal), n)
    with tempfile.TemporaryDirectory() as tmp:
        presets = Path(tmp) / "ks.toml"
        presets.write_text(KS_PRESETS)
        for label, spec in (
            ("encode prores_aw", get_preset(PRESET)),
            ("encode prores_ks", load_presets(presets)[PRESET + "-ks"]),
        ):
            writer = open_writer(
                spec,
                Path(tmp) / f"{label[-2:]}.mov",
                width=frame.shape[1],
                height=frame.shape[0],
                rate=parse_rate(Fraction(24)),
                overwrite=True,
            )
            count = 2 * n
            c0 = time.process_time()
            for _ in range(count):
                writer.write(signal)
            writer.close(light_level=ContentLightLevel(1000, 100))
            stages[label] = (time.process_time() - c0) / count
    return stages


# ----------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["_conform"]:
        return _conform_child(argv[1:])
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=48, help="frames timed per workflow")
    ap.add_argument(
        "--rss-frames", default="48,240", help="clip lengths for the RSS check (auto)"
    )
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--workdir", default=str(ROOT / "bench" / "out" / "peers"))
    ap.add_argument(
        "--quick",
        action="store_true",
        help="12 frames, no RSS sweep, no prores_ks rerun",
    )
    ap.add_argument("--skip-peer", action="store_true")
    ap.add_argument("--json", action="store_true", help="also print one JSON document")
    a = ap.parse_args(argv)
    frames = 12 if a.quick else a.frames
    rss_lengths = (
        [] if a.quick else sorted({int(x) for x in a.rss_frames.split(",") if x})
    )
    width, height = (int(v) for v in a.size.lower().split("x"))
    work = Path(a.workdir)
    work.mkdir(parents=True, exist_ok=True)
    cores = len(os.sched_getaffinity(0))
    print(
        f"peers bench: {width}x{height}, {frames} frames, {cores} cores, "
        f"load average {os.getloadavg()[0]:.2f} (shared machine: wall numbers move)",
        file=sys.stderr,
    )
    pattern = _plate(work, max([frames, *rss_lengths]), width, height)
    sample = sorted({0, frames // 2, frames - 1})
    ref = _reference(pattern, sample)

    rows: list[dict[str, Any]] = []
    ffmpeg = None if a.skip_peer else _ffmpeg()
    if ffmpeg:
        rows.append(_peer(pattern, work, frames, ffmpeg, sample))
    rows.append(_hdrpipe(pattern, work, frames, "exact"))
    rows.append(_hdrpipe(pattern, work, frames, "auto"))
    if not a.quick:
        rows.append(_hdrpipe(pattern, work, frames, "auto", ks=True))
    for row in rows:
        row.update(_errors(row["movie"], ref))
    # Colour stage alone (before any encoder): the peer's 16-bit TIFFs, hdrpipe's
    # Transform output, against the same exact reference.
    fast_signal = _fast_signal(pattern, sample)
    for row in rows:
        stage = row.pop("stage_signal", None)
        if stage is None:
            stage = fast_signal if "auto" in row["name"] else ref
        row["colour_stage"] = _stage_errors(stage, ref)
    stages = _stages(pattern, 2 if a.quick else 3)

    peer_fps = frames / rows[0]["wall"] if ffmpeg else None
    peer_cpu = rows[0]["cpu"] / frames if ffmpeg else None
    print(
        f"\n{'workflow':<28}{'wall s':>8}{'fps':>7}{'x peer':>8}{'enc fps':>9}"
        f"{'CPU s/f':>9}{'CPU x':>7}{'RSS MB':>8}{'p99.9':>7}{'max':>7}"
        f"{'ΔE_ITP':>8}  path"
    )
    for row in rows:
        fps = frames / row["wall"]
        enc = row.get("after_validation_s")
        enc_fps = f"{frames / enc:9.2f}" if enc else f"{'':>9}"
        ratio = f"{fps / peer_fps:7.2f}x" if peer_fps else f"{'':>8}"
        cpu_f = row["cpu"] / frames
        cpu_ratio = f"{peer_cpu / cpu_f:6.2f}x" if peer_cpu else f"{'':>7}"
        cp = row.get("color_path") or {}
        path = cp.get("path") or ("peer" if "peer" in row["name"] else "?")
        if cp.get("lut_size"):
            path += f" {cp['lut_size']}³"
        if cp.get("reason") and cp.get("path") != "fast":
            path += f" ({cp['reason']})"
        print(
            f"{row['name']:<28}{row['wall']:>8.1f}{fps:>7.2f}{ratio}{enc_fps}"
            f"{cpu_f:>9.3f}{cpu_ratio}{row['rss_mb']:>8.0f}{row['p999']:>7.2f}"
            f"{row['max']:>7.1f}{row['de']:>8.2f}  {path}"
        )
    print(
        "  x peer: wall-clock fps ratio; CPU x: peer CPU s/frame ÷ this CPU s/frame "
        "(robust to other load); enc fps: after hdrpipe's validation pass"
    )
    print(f"\n{'colour stage only':<28}{'p99.9':>7}{'max':>7}{'ΔE_ITP':>8}")
    for row in rows:
        cs = row["colour_stage"]
        print(f"{row['name']:<28}{cs['p999']:>7.2f}{cs['max']:>7.1f}{cs['de']:>8.2f}")
    print(
        "  errors: decoded ProRes vs exact OCIO signal (hdrpipe studio config), "
        "10-bit code "
        f"values, frames {sample}; ProRes + 10-bit Y'CbCr quantisation included; "
        "colour stage = 16-bit TIFF (peer) / Transform output (hdrpipe) before encoding"
    )

    print(f"\n{'stage (1 thread)':<22}{'CPU s/frame':>12}")
    for name, cpu in stages.items():
        print(f"{name:<22}{cpu:>12.3f}")
    for path_name, colour in (("exact", "colour exact"), ("auto", "colour fast")):
        for enc in ("encode prores_aw", "encode prores_ks"):
            # Validation decodes every frame once more; the meter runs per frame.
            meter = stages["meter MaxCLL/FALL"]
            total = stages["decode"] * 2 + stages[colour] + meter + stages[enc]
            limit = cores / total
            row = next(
                (
                    r
                    for r in rows
                    if r["name"].startswith(f"hdrpipe {path_name}")
                    and enc.split()[-1] in r["name"]
                ),
                None,
            )
            got = (
                f"\n    measured {frames / row['wall']:.2f} fps end-to-end = "
                f"{frames / row['wall'] / limit:.2f}× limit (wall); "
                f"{row['cpu'] / frames:.3f} CPU s/frame: stage sum / measured = "
                f"{total / (row['cpu'] / frames):.2f} (CPU efficiency)"
                if row
                else ""
            )
            print(
                f"CPU limit {path_name:<5} + {enc.split()[-1]}: {limit:6.2f} fps "
                f"(decode×2 + colour + meter + encode = {total:.3f} CPU s/frame){got}"
            )

    rss_rows = []
    for n in rss_lengths:
        same = [r for r in rows if r["name"] == "hdrpipe auto (prores_aw)"]
        res = same[0] if n == frames and same else _hdrpipe(pattern, work, n, "auto")
        rss_rows.append((n, res["rss_mb"], n / res["wall"], res["cpu"] / n))
    if rss_rows:
        print(f"\n{'auto, frames':<22}{'peak RSS MB':>12}{'fps':>8}{'CPU s/f':>9}")
        for n, rss, fps, cpu in rss_rows:
            print(f"{n:<22}{rss:>12.0f}{fps:>8.2f}{cpu:>9.3f}")
    if a.json:
        print(
            json.dumps(
                {"frames": frames, "rows": rows, "stages": stages, "rss": rss_rows},
                default=str,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
