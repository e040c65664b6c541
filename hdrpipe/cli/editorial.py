"""``hdrpipe conform --timeline CUT --media DIR``: the editorial path of conform.

Kept apart from ``cli/conform.py`` (which only hands over when ``--timeline`` is
given): the match table as text or JSON on a dry run, the pulls otherwise.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from pathlib import Path

from ..editorial import conform_timeline, parse_input_spaces, plan_timeline
from ..editorial.match import match_table
from ..engine import ConformJob
from ._app import emit_json
from ._progress import ProgressBar

__all__ = ["conform_timeline_command"]

log = logging.getLogger("hdrpipe.cli")


def conform_timeline_command(
    job: ConformJob,
    media: Sequence[Path],
    handles: int,
    shot_name: str,
    dry_run: bool,
    json_out: bool,
    progress: bool,
    *,
    input_spaces: Sequence[str] = (),
    handoff: bool = False,
    workers: int | None = None,
    scheduler: str | None = None,
    chunk: int | None = None,
    resume: bool = False,
    qc_report: bool = True,
) -> int:
    """Dry run: print the match table (text, or JSON with ``--json``); else pull.

    ``--workers``/``--scheduler``/``--resume`` run it on the farm, split by
    event (:class:`hdrpipe.farm.editorial.EditorialFarm`). ``qc_report``: a QC
    report per pull (``OUTDIR/<shot>/<shot>.qc.html``) and for the assembled
    cut (``OUTDIR/<cut>.qc.html``), listed in the JSON and the editorial
    manifest as ``report`` (per event and for the master).
    """
    spaces = parse_input_spaces(input_spaces, media, config=job.config)
    if dry_run:
        planned = plan_timeline(
            job,
            media,
            handles=handles,
            shot_name_template=shot_name,
            input_spaces=spaces,
        )
        document = planned.to_dict()
        if json_out:
            emit_json(document)
        else:
            for line in match_table(planned.matches, planned.cut.rate):
                print(line)
        return 0

    with contextlib.ExitStack() as stack:
        bar = stack.enter_context(ProgressBar(progress))
        runner = None
        if workers is not None or scheduler is not None or resume:
            from ..farm.editorial import EditorialFarm

            runner = stack.enter_context(
                EditorialFarm(
                    chunk=chunk, workers=workers, scheduler=scheduler, resume=resume
                )
            )
        result = conform_timeline(
            job,
            media,
            handles=handles,
            shot_name_template=shot_name,
            input_spaces=spaces,
            on_progress=bar,
            handoff=handoff,
            runner=runner,
            qc_report=qc_report,
        )
    if json_out:
        emit_json({**result.data, "manifest": str(result.path)})
    else:
        for row in result.data["events"]:
            outputs = row.get("pull_outputs") or {}
            for path in outputs.get("outputs", []):
                print(path)
            if outputs.get("report"):
                print(f"report: {outputs['report']}")
            if row["status"] != "ok":
                print(f"event {row['event']} {row['name']}: {row['status']}")
        master = result.data.get("master") or {}
        for kind, path in (master.get("handoff") or {}).items():
            print(f"{kind}: {path}")
        if master.get("report"):
            print(f"report: {master['report']}")
        print(f"manifest: {result.path}")
    return 0
