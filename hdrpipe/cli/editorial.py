"""``hdrpipe conform --timeline CUT --media DIR``: the editorial path of conform.

Kept apart from ``cli/conform.py`` (which only hands over when ``--timeline`` is
given): the match table as text or JSON on a dry run, the pulls otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from ..editorial import conform_timeline, plan_timeline
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
) -> int:
    """Dry run: print the match table (text, or JSON with ``--json``); else pull."""
    if dry_run:
        planned = plan_timeline(
            job, media, handles=handles, shot_name_template=shot_name
        )
        document = planned.to_dict()
        if json_out:
            emit_json(document)
        else:
            for line in match_table(planned.matches, planned.cut.rate):
                print(line)
        return 0

    with ProgressBar(progress) as bar:
        result = conform_timeline(
            job, media, handles=handles, shot_name_template=shot_name, on_progress=bar
        )
    if json_out:
        emit_json({**result.data, "manifest": str(result.path)})
    else:
        for row in result.data["events"]:
            outputs = row.get("pull_outputs") or {}
            for path in outputs.get("outputs", []):
                print(path)
            if row["status"] != "ok":
                print(f"event {row['event']} {row['name']}: {row['status']}")
        print(f"manifest: {result.path}")
    return 0
