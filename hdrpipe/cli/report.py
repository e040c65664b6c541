"""``hdrpipe report``: the QC HTML of a finished job, from its manifest."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import typer

from ..errors import HdrpipeError, InputError
from ._app import app, emit_json, stdout

__all__ = ["report_command", "default_report_path", "attach_report"]

log = logging.getLogger("hdrpipe.cli")


def default_report_path(manifest: Path) -> Path:
    """``OUTDIR/<name>.manifest.json`` → ``OUTDIR/<name>.qc.html``."""
    name = manifest.name
    suffix = ".manifest.json"
    base = name[: -len(suffix)] if name.endswith(suffix) else manifest.stem
    return manifest.with_name(f"{base}.qc.html")


def attach_report(
    manifest_path: Path,
    data: dict[str, Any],
    *,
    previews: Mapping[str, Mapping[int, tuple[int, Any]]] | None = None,
) -> str | None:
    """Write the job's QC report beside its manifest and record it there.

    The manifest file gains ``"report": PATH`` (rewritten atomically); returns
    the path, or None when the report could not be made (logged as a warning:
    the deliverables are done and verified, the report is a view of them).
    ``previews`` are the frames the job's validators kept (``Manifest.previews``):
    the report does not decode them again.
    """
    from ..engine import write_manifest
    from ..report import write_report

    started = time.monotonic()
    try:
        path = write_report(
            data,
            default_report_path(manifest_path),
            previews=previews,
        )
    except HdrpipeError as err:
        log.warning("QC report not written: %s", err)
        return None
    seconds = time.monotonic() - started
    log.info(
        "QC report %s written in %.1f s (job %.1f s)",
        path,
        seconds,
        float(data.get("elapsed_seconds") or 0.0),
    )
    write_manifest(manifest_path, {**data, "report": str(path)})
    return str(path)


@app.command("report")
def report_command(
    manifest: Path = typer.Argument(  # noqa: B008 - typer idiom
        ..., help="Job manifest (OUTDIR/<name>.manifest.json)."
    ),
    output: Path | None = typer.Option(  # noqa: B008 - typer idiom
        None, "--output", "-o", help="HTML file (default: <name>.qc.html beside it)."
    ),
    json_out: bool = typer.Option(
        False, "--json", help='Print {"report": PATH, "seconds": S} on stdout.'
    ),
) -> int:
    """Write the QC report (one self-contained HTML file) of a conform job."""
    from ..report import write_report

    if not manifest.is_file():
        raise InputError(f"{manifest}: no such manifest")
    path = output if output is not None else default_report_path(manifest)
    started = time.monotonic()
    written = write_report(manifest, path)
    seconds = time.monotonic() - started
    log.info("report written in %.1f s", seconds)
    if json_out:
        emit_json({"report": str(written), "seconds": round(seconds, 3)})
    else:
        stdout.print(str(written), markup=False)
    return 0
