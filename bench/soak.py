"""Soak test: conforms killed with SIGKILL at random points, each rerun compared.

Usage: ``.venv/bin/python bench/soak.py [--kills 10] [--width 192] [--height 108]
[--frames 12] [--seed N] [--workers 1]``

For each of ``--kills`` trials, alternately a single-process conform and a farm
conform (``--workers N --chunk 4``) of one seeded plate is started as a
subprocess in a session of its own, killed with SIGKILL (the job and its Dask
workers) after a random delay between 0 and the length of a clean run, then
rerun (plain, ``--overwrite`` or, for the farm, ``--resume``, in turn). The
rerun's deliverables (every movie and EXR frame) must be byte-identical to an
uninterrupted run of the same mode, and nothing may be left behind
(temporaries, lock files, hidden folders other than the farm state). Prints
one line per trial and ``N passed, N failed``; exits 1 when any failed.

Outputs are deterministic byte for byte for a given preset, plate and thread
layout: MOV/MP4 headers carry no creation time (FFmpeg writes 0 unless
asked), ProRes is intra-only, x264/x265 give the same stream for the same
settings and thread counts, and EXR frames carry no time stamps. The manifest
records when a job ran (``created``, ``elapsed_seconds``, farm workers), so it
is not compared.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fixtures.generate import make_plate  # noqa: E402

DELIVER = ("prores4444xq-pq1000", "hevc-hdr10", "exr-acescg")


def _cmd(src: Path, out: Path, extra: list[str]) -> list[str]:
    cmd = [sys.executable, "-m", "hdrpipe", "conform", str(src), "-o", str(out)]
    for preset in DELIVER:
        cmd += ["-d", preset]
    return [*cmd, "--no-progress", *extra]


def _deliverables(out: Path) -> dict[str, bytes]:
    found = {}
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out)
        if any(p.startswith(".") for p in rel.parts) or not path.is_file():
            continue
        if path.name.endswith((".manifest.json", ".farm.json", ".qc.html")):
            continue
        found[str(rel)] = path.read_bytes()
    return found


def _leftovers(out: Path) -> list[str]:
    bad = []
    for path in out.rglob("*"):
        rel = path.relative_to(out)
        if rel.parts[0].endswith(".farm") and ".partial" not in path.name:
            continue
        if (
            ".partial" in path.name
            or path.name.endswith(".hdrpipe.lock")
            or path.name.startswith(".")
        ):
            bad.append(str(rel))
    return sorted(bad)


def _run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900)


def _kill_after(cmd: list[str], delay: float) -> None:
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    time.sleep(delay)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--width", type=int, default=192)
    parser.add_argument("--height", type=int, default=108)
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()
    rng = random.Random(args.seed)
    print(f"soak: seed {args.seed}, {args.kills} kills", flush=True)
    farm = ["--workers", str(args.workers), "--chunk", "4"]
    with tempfile.TemporaryDirectory(prefix="hdrpipe-soak-") as tmp:
        root = Path(tmp)
        src = make_plate(
            root / "src",
            width=args.width,
            height=args.height,
            frames=args.frames,
            seed=11,
        )
        modes = {"single": [], "farm": farm}
        reference: dict[str, dict[str, bytes]] = {}
        length: dict[str, float] = {}
        for mode, extra in modes.items():
            began = time.monotonic()
            done = _run(_cmd(src, root / f"ref-{mode}", extra))
            length[mode] = time.monotonic() - began
            if done.returncode != 0:
                print(f"clean {mode} run failed:\n{done.stderr}")
                return 1
            reference[mode] = _deliverables(root / f"ref-{mode}")
            print(f"clean {mode} run: {length[mode]:.1f} s", flush=True)
        reruns = {
            "single": [[], ["--overwrite"]],
            "farm": [["--resume"], [], ["--overwrite"]],
        }
        passed = failed = 0
        for trial in range(args.kills):
            mode = ("single", "farm")[trial % 2]
            rerun = reruns[mode][(trial // 2) % len(reruns[mode])]
            out = root / f"trial{trial:03d}"
            cmd = _cmd(src, out, modes[mode])
            delay = rng.uniform(0.0, length[mode])
            _kill_after(cmd, delay)
            again = [*cmd, *rerun]
            # Killed after its manifest was written (the job was complete, even
            # if it had not exited yet): its outputs stand, and a plain rerun
            # is rightly refused; replace them instead.
            if (out / "plate.manifest.json").exists() and not rerun:
                again.append("--overwrite")
            done = _run(again)
            problems = []
            if done.returncode != 0:
                problems.append(f"rerun exit {done.returncode}: {done.stderr.strip()}")
            else:
                left = _leftovers(out)
                if left:
                    problems.append(f"left behind: {left}")
                ours = _deliverables(out)
                if ours != reference[mode]:
                    differ = sorted(
                        k
                        for k in set(ours) | set(reference[mode])
                        if ours.get(k) != reference[mode].get(k)
                    )
                    problems.append(f"differs from a clean run: {differ}")
            verdict = "ok" if not problems else "FAIL " + "; ".join(problems)
            print(
                f"trial {trial}: {mode} killed at {delay:.2f} s, "
                f"rerun {' '.join(rerun) or 'plain'}: {verdict}",
                flush=True,
            )
            passed += not problems
            failed += bool(problems)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
