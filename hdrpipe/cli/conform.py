"""``hdrpipe conform``: the main job, a thin layer over ``hdrpipe.engine.conform``."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ..engine import ConformJob, conform, plan
from ..errors import InputError
from ._app import app, emit_json, stderr

__all__ = ["conform_command", "ProgressBar", "summary_lines"]


class ProgressBar:
    """Thread-safe adapter from ``on_progress(done, total)`` to a rich bar on stderr."""

    def __init__(self, enabled: bool) -> None:
        self._progress = Progress(
            TextColumn("conform"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[fps]} fps"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=stderr,
            disable=not enabled,
            transient=False,
        )
        self._task = self._progress.add_task("conform", total=None, fps="-")
        self._lock = threading.Lock()
        self._started = False

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._started:
            self._progress.stop()

    def __call__(self, done: int, total: int) -> None:
        with self._lock:
            if not self._started:  # no empty bar when the job fails before any work
                self._progress.start()
                self._started = True
            task = self._progress.tasks[0]
            speed = task.speed
            self._progress.update(
                self._task,
                completed=done,
                total=total,
                fps=f"{speed:.1f}" if speed else "-",
            )


def summary_lines(manifest: dict[str, Any]) -> list[str]:
    lines = [
        f"{manifest['name']}: {manifest['frames']} frames at {manifest['rate']} fps "
        f"({manifest['retime']}), start {manifest['start_timecode']}, "
        f"{manifest['raster']['width']}x{manifest['raster']['height']}"
    ]
    for out in manifest["outputs"]:
        probe = out.get("probe") or {}
        bits = [out["preset"]]
        for key in (
            "codec",
            "codec_id",
            "profile",
            "bit_depth",
            "chroma",
            "primaries",
            "transfer",
        ):
            if probe.get(key) not in (None, ""):
                bits.append(f"{key}={probe[key]}")
        if out.get("hdr"):
            bits.append(
                f"MaxCLL={out['hdr']['max_cll']} MaxFALL={out['hdr']['max_fall']}"
            )
        lines.append(f"  {out['path']}")
        lines.append(f"      {' '.join(str(b) for b in bits)}")
    return lines


@app.command("conform")
def conform_command(
    paths: list[str] = typer.Argument(
        ..., help="Input sequence(s), concatenated in order."
    ),
    deliver: list[str] = typer.Option(
        ...,
        "--deliver",
        "-d",
        help="Delivery preset id (repeatable; see `hdrpipe presets`).",
    ),
    outdir: Path = typer.Option(..., "--outdir", "-o", help="Output directory."),
    fps: str | None = typer.Option(
        None,
        "--fps",
        help="Delivery rate: 24, 23.976, 24000/1001, 25, 29.97df, 48, 59.94 ...",
    ),
    retime: str = typer.Option(
        "auto",
        "--retime",
        help="auto | asis | nearest | blend | flow "
        "(auto: asis for NTSC pull-down, else nearest).",
    ),
    start_tc: str | None = typer.Option(
        None, "--start-tc", help="Start timecode HH:MM:SS:FF."
    ),
    frames: str | None = typer.Option(None, "--frames", help="Source frame range A-B."),
    reformat: str | None = typer.Option(
        None, "--reformat", help="Delivery raster: WxH, hd, uhd, dci4k ..."
    ),
    fit: str = typer.Option(
        "letterbox", "--fit", help="letterbox | pillarbox | crop | stretch."
    ),
    config: str | None = typer.Option(
        None, "--config", help="OCIO config (path or ocio:// URI)."
    ),
    look: str | None = typer.Option(
        None, "--look", help="CDL (.cdl/.cc/.ccc) or LMT file applied in ACES."
    ),
    name: str | None = typer.Option(
        None, "--name", help="Base name of outputs (default: the first input's)."
    ),
    source_colorspace: str | None = typer.Option(
        None,
        "--source-colorspace",
        help="Override the source encoding (default from chromaticities).",
    ),
    profile: str = typer.Option(
        "ray3", "--profile", help="Validation profile the sources must pass."
    ),
    force: bool = typer.Option(
        False, "--force", help="Conform sources that fail validation."
    ),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace existing outputs."
    ),
    include_mattes: bool = typer.Option(
        False, "--include-mattes", help="Count letterbox/pillarbox bars in MaxFALL."
    ),
    presets_file: Path | None = typer.Option(
        None, "--presets-file", help="User presets (TOML/JSON)."
    ),
    handoff: bool = typer.Option(
        False,
        "--handoff",
        help="Also write the Nuke script, OTIO, EDL, FCPXML and AMF into OUTDIR.",
    ),
    color_path: str = typer.Option(
        "auto",
        "--color-path",
        help="auto | exact | fast: the verified baked-LUT fast path where it meets "
        "the accuracy budget (auto), the exact OCIO transform, or the LUT always.",
    ),
    workers: int | None = typer.Option(
        None, "--workers", help="Run in chunks on a local Dask cluster of N workers."
    ),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="Run in chunks on a Dask cluster (tcp://HOST:PORT)."
    ),
    chunk: int = typer.Option(48, "--chunk", help="Frames per farm chunk."),
    resume: bool = typer.Option(
        False, "--resume", help="Farm runs: skip chunks an interrupted run completed."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Validate and plan; write nothing."
    ),
    json_out: bool = typer.Option(
        False, "--json", help="Print the manifest as JSON on stdout."
    ),
    progress: bool = typer.Option(
        True, "--progress/--no-progress", help="Progress bar on stderr."
    ),
) -> int:
    """Conform EXR sequence(s) to HDR/SDR deliverables, with a manifest."""
    job = ConformJob(
        inputs=tuple(paths),
        deliver=tuple(deliver),
        outdir=outdir,
        fps=fps,
        retime=retime,
        start_tc=start_tc,
        frames=frames,
        reformat=reformat,
        fit=fit,
        config=config,
        look=look,
        name=name,
        source_colorspace=source_colorspace,
        profile=profile,
        force=force,
        overwrite=overwrite,
        include_mattes=include_mattes,
        presets_file=presets_file,
        color_path=color_path,
    )
    if dry_run:
        planned = plan(job)
        document: dict[str, Any] = {
            "name": planned.name,
            "frames": planned.frames,
            "rate": str(planned.rate),
            "retime": planned.retime,
            "start_timecode": str(planned.start_timecode),
            "raster": [planned.width, planned.height],
            "outputs": [
                {"preset": o.spec.name, "path": str(o.path)} for o in planned.outputs
            ],
        }
        if json_out:
            emit_json(document)
        else:
            for out in document["outputs"]:
                print(out["path"])
        return 0
    distributed = workers is not None or scheduler is not None or resume
    if workers is not None and scheduler is not None:
        raise InputError("give --workers (local cluster) or --scheduler, not both")
    with ProgressBar(progress) as bar:
        if distributed:
            from ..farm import conform_distributed

            manifest = conform_distributed(
                job,
                chunk=chunk,
                workers=workers,
                scheduler=scheduler,
                resume=resume,
                on_progress=bar,
            )
        else:
            manifest = conform(job, on_progress=bar)
    data = manifest.to_dict()
    if handoff:
        from ..handoff import write_handoff

        written = write_handoff(data, manifest.path.parent)
        data = {**data, "handoff": {kind: str(path) for kind, path in written.items()}}
    if json_out:
        emit_json(data)
    else:
        for line in summary_lines(data):
            print(line)
        print(f"manifest: {manifest.path}")
        for kind, path in data.get("handoff", {}).items():
            print(f"{kind}: {path}")
    return 0
