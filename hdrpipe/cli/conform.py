"""``hdrpipe conform``: the main job, a thin layer over ``hdrpipe.engine.conform``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ..editorial.match import DEFAULT_HANDLES
from ..editorial.pulls import DEFAULT_SHOT_NAME
from ..engine import ConformJob, conform, plan
from ..engine.job import job_name, job_specs
from ..engine.lock import hold
from ..errors import InputError
from ..memory import tune_allocator
from ._app import app, emit_json, stderr
from ._job import job_command
from ._progress import ProgressBar

__all__ = ["conform_command", "summary_lines"]


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
@job_command
def conform_command(
    job: ConformJob,
    handoff: bool = typer.Option(
        False,
        "--handoff",
        help="Also write the Nuke script, OTIO, EDL, FCPXML and AMF into OUTDIR.",
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
    timeline: Path | None = typer.Option(
        None,
        "--timeline",
        help="Edit (.edl/.otio/.fcpxml; .xml/.aaf with their OTIO adapter): pull "
        "every event from --media (--fps is the edit's rate, needed for an EDL).",
    ),
    media: list[Path] | None = typer.Option(
        None, "--media", help="With --timeline: folder of EXR masters (repeatable)."
    ),
    handles: int = typer.Option(
        DEFAULT_HANDLES, "--handles", help="With --timeline: frames of handle."
    ),
    shot_name: str = typer.Option(
        DEFAULT_SHOT_NAME,
        "--shot-name",
        help="With --timeline: shot name template ({event} {reel} {name} "
        "{index:03d} {track}).",
    ),
    input_space: list[str] | None = typer.Option(
        None,
        "--input-space",
        help="With --timeline: OCIO colour space of media without recognised EXR "
        "chromaticities (required for DPX): SPACE for every --media folder, or "
        "DIR=SPACE (repeatable).",
    ),
    qc_report: bool = typer.Option(
        True,
        "--report/--no-report",
        help="Write OUTDIR/<name>.qc.html (QC report); with --timeline one per "
        "pull (OUTDIR/<shot>/<shot>.qc.html) and one for the assembled cut.",
    ),
) -> int:
    """Conform EXR sequence(s) to HDR/SDR deliverables, with a manifest."""
    if timeline is not None:
        from .editorial import conform_timeline_command

        if tuple(job.inputs) != (timeline,):
            raise InputError("give input PATHs or --timeline, not both")
        return conform_timeline_command(
            job,
            media or [],
            handles,
            shot_name,
            dry_run,
            json_out,
            progress,
            input_spaces=input_space or [],
            handoff=handoff,
            workers=workers,
            scheduler=scheduler,
            chunk=chunk,
            resume=resume,
            qc_report=qc_report,
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
            "pixel_aspect": planned.pixel_aspect,
            "outputs": [
                {
                    "preset": o.spec.name,
                    "path": str(o.path),
                    "has_alpha": o.has_alpha,
                    "findings": [dict(f) for f in o.findings],
                }
                for o in planned.outputs
            ],
            "memory": planned.memory.to_dict() if planned.memory else None,
        }
        if planned.memory is not None:
            memory = planned.memory.to_dict()
            stderr.print(
                f"estimated peak memory {memory['estimated_peak']} "
                f"(budget {memory['budget']}, "
                f"{memory['frames_in_flight_per_stage']} frame(s) in flight per stage)",
                markup=False,
            )
        if json_out:
            emit_json(document)
        else:
            for out in document["outputs"]:
                print(out["path"])
        return 0
    if handoff and not job.overwrite:
        # Refused now, not after the deliverables are made.
        from ..handoff import existing_handoff

        planned = plan(job, validate_sources=False)
        found = existing_handoff(job.outdir, planned.name, list(job.deliver))
        if found:
            raise InputError(
                f"hand-off file(s) exist: {', '.join(map(str, found))} "
                "(use --overwrite to replace them)"
            )
    if any(spec.low_memory for spec in job_specs(job)):
        tune_allocator(lean=True)  # the preset's stated trade: peak over CPU
    distributed = workers is not None or scheduler is not None or resume
    if workers is not None and scheduler is not None:
        raise InputError("give --workers (local cluster) or --scheduler, not both")
    # One lock for the job and its hand-off: a second job for OUTDIR + name is
    # refused (exit 2); what a killed run left is cleaned first.
    command = "conform --workers" if distributed else "conform"
    if qc_report:  # the plotting library loads while the job runs
        from ..report.plots import warm_up

        warm_up()
    with (
        hold(job.outdir, job_name(job), command=command, keep_outputs=resume) as lock,
        ProgressBar(progress) as bar,
    ):
        if distributed:
            from ..farm import conform_distributed

            manifest = conform_distributed(
                job,
                chunk=chunk,
                workers=workers,
                scheduler=scheduler,
                resume=resume,
                on_progress=bar,
                lock=lock,
            )
        else:
            manifest = conform(job, on_progress=bar, lock=lock)
        data = manifest.to_dict()
        if qc_report:  # the QC page; the manifest file and --json point at it
            from .report import attach_report

            data["report"] = attach_report(
                manifest.path,
                data,
                previews=manifest.previews,
            )
        if handoff:
            from ..handoff import handoff_paths, write_handoff

            # In the lock's record too: a kill while they are written leaves
            # temporaries that the next job for this name removes.
            presets = [str(o["preset"]) for o in data["outputs"]]
            targets = handoff_paths(manifest.path.parent, str(data["name"]), presets)
            lock.record_outputs(targets)
            written = write_handoff(data, manifest.path.parent, overwrite=job.overwrite)
            data = {
                **data,
                "handoff": {kind: str(path) for kind, path in written.items()},
            }
    if json_out:
        emit_json(data)
    else:
        for line in summary_lines(data):
            print(line)
        print(f"manifest: {manifest.path}")
        if data.get("report"):
            print(f"report: {data['report']}")
        printed: set[str] = set()
        for kind, path in data.get("handoff", {}).items():
            if path not in printed:  # "amf" repeats the first "amf:<preset>"
                printed.add(path)
                print(f"{kind}: {path}")
    return 0
