"""Benchmark hdrpipe against the usual ``oiiotool --ociodisplay`` → ffmpeg two-step.

    .venv/bin/python bench/peers.py [--size 1920x1080|uhd] [--frames 48]
                                    [--rss-frames 48,240] [--presets a,b] [--quick]

On one generated ACES2065-1 plate (``fixtures.generate.make_plate``, half PIZ;
1080p by default, ``--size uhd`` = 3840x2160), in the same run, for each of
``--presets`` (default ProRes 4444 XQ and HEVC HDR10):

(a) peer: ``oiiotool`` (the OpenImageIO wheel's, linking OCIO 2.5.1, so with
    ``ocio://studio-config-v4.0.0_aces-v2.0_ocio-v2.5``) ``--threads 0
    --ociodisplay "Rec.2100-PQ - Display" "ACES 2.0 - HDR 1000 nits
    (Rec.2020)"`` to 16-bit TIFF (``--threads 0``, all cores, is oiiotool's
    documented default, but given explicitly the same transform costs this
    wheel's oiiotool less than half the CPU: the peer at its best; once,
    shared by the peer's encodes), then Debian's ffmpeg: ``prores_ks`` 4444 XQ,
    or ``libx265`` with the ``hevc-hdr10`` preset's own x265 settings
    (CRF, tune, look-ahead, frame threads, VBV cap, HDR10 SEI with the preset's
    mastering display and a fixed MaxCLL/MaxFALL: the peer has no meter), with
    BT.2020 / PQ tags (the RGB → Y'CbCr matrix set to BT.2020 explicitly;
    swscale's default is BT.601);
(b) hdrpipe exact and (c) hdrpipe auto: ``hdrpipe.engine.conform(ConformJob(…,
    deliver=(preset,)))`` in a subprocess with ``$HDRPIPE_COLOR_PATH`` = exact /
    auto (the shipped ProRes preset uses prores_aw; ``auto+ks`` re-runs auto with
    a prores_ks preset for a like-for-like encoder, skipped by ``--quick`` and at
    UHD).

Reported per workflow: wall time and fps end to end (hdrpipe also in steady
state, once its pipeline is full), CPU seconds per frame, peak RSS of the
process(es), and the colour error of the decoded movie (PyAV, BT.2020 NCL
narrow range in numpy; 4:2:0 chroma repeated to full size) against the exact
OCIO signal (hdrpipe ``Transform(color_path="exact")``) on sample frames: p99.9
/ max in 10-bit code values and max ΔE_ITP. Also the per-stage CPU cost, each
stage alone on one thread over frames spread across the clip (decode,
validation statistics, colour exact/fast, meter, encode; measured in fresh
processes right before and right after each run and averaged, so a first bake
happens before the run), the sum-of-stages CPU limit (cores ÷ their sum of CPU
seconds per frame: what perfect overlap would reach) and each run as a fraction
of it, and peak RSS of auto runs at each ``--rss-frames`` length (flat memory =
same RSS; none by default at UHD).

The machine is shared: wall numbers move with other load (the load average is
printed); CPU seconds per frame move less.

ffmpeg: Debian's ``ffmpeg``; when absent the script runs ``apt-get install -y
ffmpeg`` if root, else prints how to install it and skips (a).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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
#: Deliverables timed by default: the ProRes master and the HEVC HDR10 master.
PRESETS = (PRESET, "hevc-hdr10")
#: ``--size`` names.
SIZES = {"1080p": "1920x1080", "uhd": "3840x2160"}
#: MaxCLL/MaxFALL the peer's x265 is given (it has no meter).
PEER_LIGHT_LEVEL = "1000,400"
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


def _peer_tiffs(
    pattern: Path, out: Path, frames: int, indices: Sequence[int]
) -> dict[str, Any]:
    """The peer's colour step: ``oiiotool --ociodisplay`` to 16-bit TIFFs."""
    tif = out / "peer_tif"
    shutil.rmtree(tif, ignore_errors=True)
    tif.mkdir(parents=True)
    oiiotool = str(Path(_python()).parent / "oiiotool")
    last = FIRST + frames - 1
    oiio = _run(
        [
            oiiotool,
            # All cores, said explicitly: this wheel's oiiotool without it spent
            # 24-25 CPU s (13-14 s wall) per UHD frame, with it 11 CPU s (8 s
            # wall), the same TIFF (oiiotool --diff); measured 2026-12-05.
            "--threads",
            "0",
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
    oiio["stage_signal"] = _read_tiffs(tif, indices)
    oiio["tif"] = tif
    return oiio


def _peer_x265_params(width: int, height: int) -> str:
    """The ``hevc-hdr10`` preset's x265 settings as an ffmpeg ``-x265-params``."""
    from hdrpipe.encode import get_preset
    from hdrpipe.encode.video import default_mastering

    spec = get_preset("hevc-hdr10")
    params = [
        p
        for p in spec.options["x265-params"].split(":")
        if p and not p.startswith("log-level=")
    ]
    kbps = int(spec.bitrate_ceiling(width, height, Fraction(24)) // 1000)
    params += [
        "log-level=error",
        "hdr10=1",
        "repeat-headers=1",
        f"master-display={default_mastering(spec).x265()}",
        f"max-cll={PEER_LIGHT_LEVEL}",
        "chromaloc=0",
        f"vbv-maxrate={kbps}",
        f"vbv-bufsize={kbps}",
    ]
    return ":".join(params)


def _peer(
    tiffs: dict[str, Any],
    out: Path,
    frames: int,
    ffmpeg: str,
    preset: str,
    size: tuple[int, int],
) -> dict[str, Any]:
    """The peer's encode of ``preset`` from the shared TIFFs (oiiotool counted in)."""
    if preset == PRESET:
        movie = out / "peer_prores4444xq.mov"
        pix, name = "yuv444p10le", "peer oiiotool+ffmpeg(ks)"
        codec = ["-c:v", "prores_ks", "-profile:v", "5", "-vendor", "apl0"]
    elif preset == "hevc-hdr10":
        from hdrpipe.encode import get_preset

        options = get_preset(preset).options
        movie = out / "peer_hevc_hdr10.mp4"
        pix, name = "yuv420p10le", "peer oiiotool+ffmpeg(x265)"
        codec = ["-c:v", "libx265", "-preset", options["preset"]]
        codec += ["-crf", options["crf"], "-tune", options["tune"]]
        codec += ["-x265-params", _peer_x265_params(*size), "-tag:v", "hvc1"]
    else:
        raise SystemExit(f"no peer command for preset {preset!r}")
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
            str(tiffs["tif"] / "peer.%04d.tif"),
            "-frames:v",
            str(frames),
            "-vf",
            f"scale=out_color_matrix=bt2020:out_range=tv,format={pix}",
            *codec,
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
    return {
        "stage_signal": tiffs["stage_signal"],
        "name": name,
        "preset": preset,
        "wall": tiffs["wall"] + ff["wall"],
        "cpu": tiffs["cpu"] + ff["cpu"],
        "rss_mb": max(tiffs["rss_mb"], ff["rss_mb"]),
        "steps": {
            "oiiotool_s": round(tiffs["wall"], 2),
            "ffmpeg_s": round(ff["wall"], 2),
        },
        "movie": str(movie),
        "frames": frames,
    }


def _hdrpipe(
    pattern: Path,
    out: Path,
    frames: int,
    color_path: str,
    *,
    preset: str = PRESET,
    ks: bool = False,
    stage_samples: int = 0,
) -> dict[str, Any]:
    outdir = out / f"hdrpipe_{preset}_{color_path}{'_ks' if ks else ''}_{frames}"
    env = dict(os.environ, HDRPIPE_COLOR_PATH=color_path)
    cmd = [_python(), __file__, "_conform", str(pattern), str(outdir), str(frames)]
    cmd += ["--preset", preset]
    if ks:
        presets = out / "ks_presets.toml"
        presets.write_text(KS_PRESETS)
        cmd += ["--presets", str(presets)]

    def measure_stages(used: str) -> dict[str, float]:
        stage_cmd = [_python(), __file__, "_stages", str(pattern), str(frames)]
        stage_cmd += [str(stage_samples), used, preset + ("-ks" if ks else "")]
        found: dict[str, float] = json.loads(
            _run(stage_cmd)["stdout"].strip().splitlines()[-1]
        )
        return found

    # The stages are measured right before and right after the run, each time
    # in a fresh process, and averaged: this machine is shared and its speed
    # drifts over minutes (one measurement after the run alone put the same
    # exact run anywhere from 0.80x to 0.95x of its limit).
    used = "fast" if color_path != "exact" else "exact"
    before = measure_stages(used) if stage_samples else None
    res = _run(cmd, env=env)
    child = json.loads(res["stdout"].strip().splitlines()[-1])
    stages = None
    if stage_samples and before is not None:
        ran = "fast" if (child["color_path"] or {}).get("path") == "fast" else "exact"
        if ran != used:  # auto fell back to exact: what it ran is what counts
            before = measure_stages(ran)
        after = measure_stages(ran)
        stages = {k: (before[k] + after[k]) / 2 for k in after}
    encoder = "prores_ks" if ks else "prores_aw" if preset == PRESET else "x265"
    return {
        "stages": stages,
        "preset": preset,
        "name": f"hdrpipe {color_path} ({encoder})",
        "wall": res["wall"],
        "cpu": res["cpu"],
        "rss_mb": res["rss_mb"],
        "first_frame_s": child["first_frame_s"],
        "steady_fps": child["steady_fps"],
        "steady_cpu": child["steady_cpu"],
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
    ap.add_argument("--preset", default=PRESET)
    a = ap.parse_args(argv)
    from hdrpipe.engine import ConformJob, conform

    preset = a.preset + ("-ks" if a.presets else "")
    job = ConformJob(
        inputs=(a.pattern,),
        deliver=(preset,),
        outdir=a.outdir,
        frames=f"{FIRST}-{FIRST + a.frames - 1}",
        overwrite=True,
        presets_file=a.presets,
        color_path=os.environ.get("HDRPIPE_COLOR_PATH", "auto"),
    )
    marks: list[tuple[float, float]] = []

    def cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    t0, c0 = time.perf_counter(), cpu()
    manifest = conform(
        job, on_progress=lambda d, t: marks.append((time.perf_counter(), cpu()))
    )
    end = time.perf_counter()
    # Steady state: from the first quarter of the frames to the last one (the
    # pipeline is full, set-up and the first-frame colour check are behind).
    k = len(marks) // 4
    steady = (len(marks) - 1 - k) / (marks[-1][0] - marks[k][0])
    steady_cpu = (marks[-1][1] - marks[k][1]) / (len(marks) - 1 - k)
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
                "first_frame_s": marks[0][0] - t0,
                "steady_fps": steady,
                "steady_cpu": steady_cpu,
                "setup_cpu": marks[0][1] - c0,
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
    """Decode frames ``indices`` of a movie to R'G'B' in [0, 1] (BT.2020 NCL).

    Subsampled chroma is repeated to full size (no filter): both workflows'
    HEVC pay the same 4:2:0 error.
    """
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
                data = data[:, : plane.width].astype(np.float64)
                if data.shape != (frame.height, frame.width):  # 4:2:x: repeat
                    data = np.repeat(
                        np.repeat(data, frame.height // data.shape[0], axis=0),
                        frame.width // data.shape[1],
                        axis=1,
                    )
                planes.append(data)
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


def _cpu_per_frame(fn: Any, items: Sequence[Any], reps: int = 1) -> float:
    """CPU seconds of ``fn(item)`` per item, after one warm-up call.

    Process CPU time, not this thread's: OpenImageIO decodes an EXR on its own
    helper threads (measured: 0.068 CPU s per 1080p PIZ frame, of which the
    calling thread shows only ~0.035). This process does nothing else meanwhile.
    """
    fn(items[0])
    c0 = time.process_time()
    for _ in range(reps):
        for item in items:
            fn(item)
    return (time.process_time() - c0) / (reps * len(items))


def _stages(
    pattern: Path, frames: int, samples: int, colour: str, preset: str
) -> dict[str, float]:
    """CPU seconds per frame of each stage of one run, alone, on one thread.

    Measured on ``samples`` frames spread over the clip (the exact transform's
    cost varies ~15 % with content): decode (stored half), validation
    statistics, colour ``colour`` ("exact" or "fast", from the half samples as
    the stream feeds it), CTA-861.3 meter, encode (Y'CbCr + ``preset``'s codec;
    a ``-ks`` suffix: the prores_ks variant of the ProRes preset).
    """
    from hdrpipe.color import LightLevelMeter, Transform
    from hdrpipe.encode import open_writer
    from hdrpipe.encode.presets import get_preset, load_presets
    from hdrpipe.exr import decode
    from hdrpipe.timecode import parse_rate
    from hdrpipe.types import ContentLightLevel
    from hdrpipe.validation.pixels import frame_stats

    picks = sorted(
        {round(i * (frames - 1) / max(samples - 1, 1)) for i in range(samples)}
    )
    paths = [str(pattern).replace("####", f"{FIRST + i:04d}") for i in picks]
    decoded = [decode(p, channels="RGBA") for p in paths]
    halves = [d.pixels(widen=False) for d in decoded]
    stages = {
        "decode": _cpu_per_frame(lambda p: decode(p, channels="RGBA"), paths, 2),
        "validate stats": _cpu_per_frame(lambda d: frame_stats(d.stored), decoded, 2),
    }
    transform = Transform(target=TARGET, color_path=colour, threads=1)
    stages[f"colour {colour}"] = _cpu_per_frame(
        transform.apply, halves, 1 if colour == "exact" else 2
    )
    signals = [transform.apply(h) for h in halves]
    meter = LightLevelMeter(transform.target)
    stages["meter MaxCLL/FALL"] = _cpu_per_frame(meter.measure, signals, 2)
    with tempfile.TemporaryDirectory() as tmp:
        presets = Path(tmp) / "ks.toml"
        presets.write_text(KS_PRESETS)
        spec = (
            load_presets(presets)[preset]
            if preset.endswith("-ks")
            else get_preset(preset)
        )
        encoder = spec.codec
        writer = open_writer(
            spec,
            Path(tmp) / f"stage{spec.extension}",
            width=signals[0].shape[1],
            height=signals[0].shape[0],
            rate=parse_rate(Fraction(24)),
            overwrite=True,
        )
        c0 = time.process_time()
        for signal in signals * 2:
            writer.write(signal)
        writer.close(light_level=ContentLightLevel(1000, 100))
        stages[f"encode {encoder}"] = (time.process_time() - c0) / (2 * len(signals))
    return stages


def _stages_child(argv: Sequence[str]) -> int:
    pattern, frames, samples, colour, preset = argv
    print(json.dumps(_stages(Path(pattern), int(frames), int(samples), colour, preset)))
    return 0


# ----------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["_conform"]:
        return _conform_child(argv[1:])
    if argv[:1] == ["_stages"]:
        return _stages_child(argv[1:])
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=48, help="frames timed per workflow")
    ap.add_argument(
        "--rss-frames",
        default=None,
        help="clip lengths for the RSS check (auto, first preset; default 48,240 "
        "at 1080p, none at UHD)",
    )
    ap.add_argument("--size", default="1920x1080", help="WIDTHxHEIGHT, or 1080p / uhd")
    ap.add_argument(
        "--presets",
        default=",".join(PRESETS),
        help=f"deliverables to time (peer commands exist for {', '.join(PRESETS)})",
    )
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
    width, height = (
        int(v) for v in SIZES.get(a.size.lower(), a.size).lower().split("x")
    )
    uhd = width * height > 1920 * 1080
    rss_frames = a.rss_frames if a.rss_frames is not None else "" if uhd else "48,240"
    rss_lengths = (
        [] if a.quick else sorted({int(x) for x in rss_frames.split(",") if x})
    )
    presets = [p for p in a.presets.split(",") if p]
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
    tiffs = _peer_tiffs(pattern, work, frames, sample) if ffmpeg else None
    samples = 3 if a.quick or uhd else 6
    for preset in presets:
        if ffmpeg and tiffs is not None:
            rows.append(_peer(tiffs, work, frames, ffmpeg, preset, (width, height)))
        for colour in ("exact", "auto"):
            rows.append(
                _hdrpipe(
                    pattern,
                    work,
                    frames,
                    colour,
                    preset=preset,
                    stage_samples=samples,
                )
            )
        if preset == PRESET and not (a.quick or uhd):
            rows.append(
                _hdrpipe(pattern, work, frames, "auto", ks=True, stage_samples=samples)
            )
    if tiffs is not None:
        shutil.rmtree(tiffs["tif"], ignore_errors=True)
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

    peers = {r["preset"]: r for r in rows if r["name"].startswith("peer")}
    print(
        f"\n{'preset':<20}{'workflow':<28}{'wall s':>8}{'fps':>7}{'x peer':>8}"
        f"{'steady':>8}{'CPU s/f':>9}{'CPU x':>7}{'RSS MB':>8}{'p99.9':>7}{'max':>7}"
        f"{'ΔE_ITP':>8}  path"
    )
    for row in rows:
        peer = peers.get(row["preset"])
        peer_fps = frames / peer["wall"] if peer else None
        peer_cpu = peer["cpu"] / frames if peer else None
        fps = frames / row["wall"]
        steady = row.get("steady_fps")
        enc_fps = f"{steady:8.2f}" if steady else f"{'':>8}"
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
            f"{row['preset']:<20}{row['name']:<28}{row['wall']:>8.1f}{fps:>7.2f}{ratio}{enc_fps}"
            f"{cpu_f:>9.3f}{cpu_ratio}{row['rss_mb']:>8.0f}{row['p999']:>7.2f}"
            f"{row['max']:>7.1f}{row['de']:>8.2f}  {path}"
        )
    print(
        "  x peer: wall-clock fps ratio vs the peer of the same preset (its oiiotool "
        "step included); CPU x: peer CPU s/frame ÷ this CPU s/frame "
        "(robust to other load); steady: fps once the pipeline is full (from the "
        "first quarter of the frames to the last)"
    )
    print(f"\n{'colour stage only':<48}{'p99.9':>7}{'max':>7}{'ΔE_ITP':>8}")
    for row in rows:
        cs = row["colour_stage"]
        print(
            f"{row['preset']:<20}{row['name']:<28}{cs['p999']:>7.2f}{cs['max']:>7.1f}{cs['de']:>8.2f}"
        )
    print(
        "  errors: decoded movie vs exact OCIO signal (hdrpipe studio config), "
        "10-bit code "
        f"values, frames {sample}; codec + 10-bit Y'CbCr quantisation included "
        "(HEVC: 4:2:0 chroma repeated, no filter); "
        "colour stage = 16-bit TIFF (peer) / Transform output (hdrpipe) before encoding"
    )

    print(
        "\nSum-of-stages CPU limit = cores ÷ Σ stage CPU s/frame (each stage alone, "
        "in process CPU time,\nmeasured in fresh processes right before and right "
        "after the run it belongs to, averaged)"
    )
    for row in rows:
        stages = row.get("stages")
        if not stages:
            continue
        total = sum(stages.values())
        limit = cores / total
        parts = ", ".join(f"{k} {v:.3f}" for k, v in stages.items())
        print(
            f"{row['preset']} {row['name']}: {parts} = {total:.3f} CPU s/frame "
            f"→ {limit:.2f} fps"
        )
        print(
            f"    end-to-end {frames / row['wall']:.2f} fps = "
            f"{frames / row['wall'] / limit:.2f}× limit (set-up included); "
            f"steady {row['steady_fps']:.2f} fps = {row['steady_fps'] / limit:.2f}× "
            f"limit; CPU s/frame {row['cpu'] / frames:.3f} end-to-end, "
            f"{row['steady_cpu']:.3f} steady (stage sum ÷ steady = "
            f"{total / row['steady_cpu']:.2f})"
        )

    rss_rows = []
    for n in rss_lengths:
        same = [r for r in rows if r["preset"] == presets[0] and "auto" in r["name"]]
        res = (
            same[0]
            if n == frames and same
            else _hdrpipe(pattern, work, n, "auto", preset=presets[0])
        )
        rss_rows.append((n, res["rss_mb"], n / res["wall"], res["cpu"] / n))
    if rss_rows:
        head = f"auto {presets[0]}, frames"
        print(f"\n{head:<36}{'peak RSS MB':>12}{'fps':>8}{'CPU s/f':>9}")
        for n, rss, fps, cpu in rss_rows:
            print(f"{n:<36}{rss:>12.0f}{fps:>8.2f}{cpu:>9.3f}")
    if a.json:
        print(
            json.dumps(
                {"frames": frames, "rows": rows, "rss": rss_rows},
                default=str,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
