"""The QC report of a finished job: written beside its manifest, recorded in it.

``OUTDIR/<name>.manifest.json`` → ``OUTDIR/<name>.qc.html``, and the manifest
file gains ``"report": PATH`` (rewritten atomically). Used by ``hdrpipe
conform`` for a job and by the editorial path for each pull and the assembled
cut (a pull's report sits in its own folder beside its manifest: the folder a
vendor receives is complete).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import HdrpipeError
from ..outputs import discard

__all__ = ["report_path", "attach_report", "job_report", "NotKeptError", "warning"]

log = logging.getLogger(__name__)

_MANIFEST_SUFFIX = ".manifest.json"


class NotKeptError(HdrpipeError):
    """The report was written but the manifest could not name it: removed."""


def warning(err: HdrpipeError) -> str:
    """The log line of a report that was not made or not kept."""
    return (
        str(err) if isinstance(err, NotKeptError) else f"QC report not written: {err}"
    )


def report_path(manifest: Path) -> Path:
    """``OUTDIR/<name>.manifest.json`` → ``OUTDIR/<name>.qc.html``."""
    name = manifest.name
    base = (
        name[: -len(_MANIFEST_SUFFIX)]
        if name.endswith(_MANIFEST_SUFFIX)
        else manifest.stem
    )
    return manifest.with_name(f"{base}.qc.html")


def attach_report(
    manifest_path: Path,
    data: Mapping[str, Any],
    *,
    previews: Mapping[str, Mapping[int, tuple[int, Any]]] | None = None,
) -> Path:
    """Write the report of the job ``data`` beside its manifest; record it there.

    ``previews`` are the frames the job's validators kept (``Manifest.previews``).

    A report exists only when the manifest names it: when the manifest cannot
    be rewritten (disk full), the report is removed and the manifest stays as
    first written.

    Raises
    ------
    HdrpipeError
        The report or the manifest could not be written (:class:`ReportError`,
        :class:`~hdrpipe.errors.InputError` for frames gone since the job).
    """
    from ..engine import write_manifest
    from . import write_report

    started = time.monotonic()
    path = write_report(data, report_path(manifest_path), previews=previews)
    log.info(
        "QC report %s written in %.1f s (job %.1f s)",
        path,
        time.monotonic() - started,
        float(data.get("elapsed_seconds") or 0.0),
    )
    try:
        write_manifest(manifest_path, {**data, "report": str(path)})
    except HdrpipeError as err:
        # The manifest as first written stands (complete, atomic); a report it
        # does not name would be an orphan: it goes, like a report not written.
        discard(path)
        raise NotKeptError(
            f"QC report not kept: the manifest could not record it: {err}"
        ) from err
    return path


def job_report(manifest: Any) -> str | None:
    """:func:`attach_report` of an engine :class:`~hdrpipe.engine.Manifest`.

    Returns the report's path, or None when it could not be made (logged as a
    warning: the deliverables are done and verified, the report is a view of
    them).
    """
    try:
        path = attach_report(
            Path(manifest.path), manifest.to_dict(), previews=manifest.previews
        )
    except HdrpipeError as err:
        log.warning("%s (job %s)", warning(err), manifest.path)
        return None
    return str(path)
