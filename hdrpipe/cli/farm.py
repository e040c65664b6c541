"""``hdrpipe farm …``: plan a chunked conform, run chunks, stitch, or run all on Dask.

::

    hdrpipe farm plan PATH... -d PRESET... -o OUTDIR [--chunk 48] [conform options]
    hdrpipe farm measure-chunk PLAN N      # if the plan lists measure_targets: first
    hdrpipe farm run-chunk PLAN N [--resume]
    hdrpipe farm stitch PLAN
    hdrpipe farm run PLAN [--workers N | --scheduler tcp://HOST:PORT] [--resume]
    hdrpipe farm status PLAN

stdout carries data only (the plan path, one JSON document with ``--json``, or
the manifest summary); logs and progress go to stderr.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ..engine import ConformJob
from ..engine.job import job_name
from ..engine.lock import acquire, hold
from ..farm import (
    DEFAULT_CHUNK,
    FarmPlan,
    clean_attempts,
    complete_record,
    measure_chunk,
    plan_job,
    run,
    run_chunk,
    stitch,
)
from ._app import app, emit_json
from ._job import job_command
from ._progress import ProgressBar
from .conform import summary_lines

__all__ = ["farm_app"]

farm_app = typer.Typer(
    help="Chunked, resumable conform on Dask or any render farm.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.add_typer(farm_app, name="farm")


_THREADS_HELP = (
    "Threads for this task's colour pool, ProRes frame threads and x265 pool "
    "(default: every core; with K tasks per machine give cores/K)."
)


def _print_manifest(data: dict[str, Any], path: Path, json_out: bool) -> None:
    if json_out:
        emit_json(data)
        return
    for line in summary_lines(data):
        print(line)
    print(f"manifest: {path}")


@farm_app.command("plan")
@job_command
def plan_command(
    job: ConformJob,
    chunk: int = typer.Option(
        DEFAULT_CHUNK, "--chunk", min=1, help="Record frames per chunk."
    ),
    json_out: bool = typer.Option(
        False, "--json", help="Print the plan as JSON on stdout."
    ),
) -> int:
    """Plan a conform job in chunks (header checks); write OUTDIR/<name>.farm.json."""
    with hold(job.outdir, job_name(job), command="farm plan"):
        farm = plan_job(job, chunk=chunk)
    if json_out:
        emit_json(farm.to_dict())
    else:
        print(farm.plan_path)
    return 0


@farm_app.command("measure-chunk")
def measure_chunk_command(
    plan: Path = typer.Argument(..., help="The plan written by `hdrpipe farm plan`."),
    index: int = typer.Argument(..., help="Chunk index (0-based)."),
    resume: bool = typer.Option(
        False, "--resume", help="Skip the chunk if already measured."
    ),
    json_out: bool = typer.Option(
        False, "--json", help="Print the measure record as JSON."
    ),
    threads: int | None = typer.Option(None, "--threads", min=1, help=_THREADS_HELP),
) -> int:
    """Measure MaxCLL/MaxFALL of one chunk (plans listing measure_targets; first)."""
    record = measure_chunk(FarmPlan.load(plan), index, resume=resume, threads=threads)
    if json_out:
        emit_json(record)
    return 0


@farm_app.command("run-chunk")
def run_chunk_command(
    plan: Path = typer.Argument(..., help="The plan written by `hdrpipe farm plan`."),
    index: int = typer.Argument(..., help="Chunk index (0-based)."),
    resume: bool = typer.Option(
        False, "--resume", help="Skip the chunk if already complete."
    ),
    json_out: bool = typer.Option(
        False, "--json", help="Print the chunk record as JSON."
    ),
    threads: int | None = typer.Option(None, "--threads", min=1, help=_THREADS_HELP),
) -> int:
    """Make one chunk's record frames (movie parts, EXR frames); record completion."""
    farm = FarmPlan.load(plan)
    # Two tasks of one chunk (a manager's retry racing a task thought dead) are
    # safe (attempt-unique names), but one is enough: the second is refused, and
    # the temporaries of an attempt that was killed are removed.
    with acquire(farm.state, f"chunk-{index:04d}", command="farm run-chunk") as lock:
        if lock.stale is not None and 0 <= index < len(farm.chunks):
            clean_attempts(farm, index)
        record = run_chunk(farm, index, resume=resume, threads=threads)
    if json_out:
        emit_json(record)
    else:
        for out in record["outputs"]:
            print(out["path"])
    return 0


@farm_app.command("stitch")
def stitch_command(
    plan: Path = typer.Argument(..., help="The plan written by `hdrpipe farm plan`."),
    json_out: bool = typer.Option(
        False, "--json", help="Print the manifest as JSON on stdout."
    ),
    keep_parts: bool = typer.Option(
        False, "--keep-parts", help="Keep the movie parts after stitching."
    ),
) -> int:
    """Remux every movie's parts losslessly, verify, and write the manifest."""
    farm = FarmPlan.load(plan)
    with hold(farm.outdir, farm.name, command="farm stitch") as lock:
        lock.record_outputs([out["path"] for out in farm.outputs])
        manifest = stitch(farm, keep_parts=keep_parts)
    _print_manifest(manifest.to_dict(), manifest.path, json_out)
    return 0


@farm_app.command("run")
def run_command(
    plan: Path = typer.Argument(..., help="The plan written by `hdrpipe farm plan`."),
    workers: int | None = typer.Option(
        None, "--workers", min=1, help="Local Dask worker processes (default 2)."
    ),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="Existing Dask scheduler tcp://HOST:PORT."
    ),
    resume: bool = typer.Option(
        False, "--resume", help="Keep chunks already complete."
    ),
    json_out: bool = typer.Option(
        False, "--json", help="Print the manifest as JSON on stdout."
    ),
    progress: bool = typer.Option(
        True, "--progress/--no-progress", help="Progress bar on stderr."
    ),
    keep_parts: bool = typer.Option(
        False, "--keep-parts", help="Keep the movie parts after stitching."
    ),
) -> int:
    """Run every chunk of a plan on Dask, stitch, write the manifest."""
    farm = FarmPlan.load(plan)
    with ProgressBar(progress) as bar:
        manifest = run(
            farm,
            workers=workers,
            scheduler=scheduler,
            resume=resume,
            on_progress=bar,
            keep_parts=keep_parts,
        )
    _print_manifest(manifest.to_dict(), manifest.path, json_out)
    return 0


@farm_app.command("status")
def status_command(
    plan: Path = typer.Argument(..., help="The plan written by `hdrpipe farm plan`."),
    json_out: bool = typer.Option(False, "--json", help="Print the status as JSON."),
) -> int:
    """Show which chunks are complete."""
    farm = FarmPlan.load(plan)
    phases = (["measure"] if farm.measure_targets else []) + ["chunk"]
    status: dict[str, dict[str, Any]] = {
        phase: {
            "complete": [
                c.index
                for c in farm.chunks
                if complete_record(farm, phase, c.index) is not None
            ],
            "total": len(farm.chunks),
        }
        for phase in phases
    }
    if json_out:
        emit_json({"plan": farm.plan_path, "frames": farm.frames, **status})
    else:
        for phase, entry in status.items():
            print(f"{phase}: {len(entry['complete'])}/{entry['total']} complete")
    return 0
