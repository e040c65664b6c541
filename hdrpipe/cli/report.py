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
    from ..report.job import report_path

    return report_path(manifest)


def attach_report(
    manifest_path: Path,
    data: dict[str, Any],
    *,
    previews: Mapping[str, Mapping[int, tuple[int, Any]]] | None = None,
) -> str | None:
    """Write the job's QC report beside its manifest and record it there.

    The manifest file gains ``"report": PATH`` (rewritten atomically); returns
    the path, or None when the report could not be made or the manifest could
    not be rewritten to name it (disk full: logged as a warning, the report is
    removed and the manifest stays as first written; the deliverables are done
    and verified, the report is a view of them). A report exists only when
    the manifest names it.
    ``previews`` are the frames the job's validators kept (``Manifest.previews``):
    the report does not decode them again.
    """
    from ..report.job import attach_report as attach
    from ..report.job import warning

    try:
        return str(attach(manifest_path, data, previews=previews))
    except HdrpipeError as err:
        log.warning("%s", warning(err))
        return None


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
