"""``hdrpipe handoff MANIFEST -o DIR``: Nuke, OTIO/EDL/FCPXML and AMF files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..engine.lock import hold
from ..handoff import handoff_paths, load_manifest, lock_name, write_handoff
from ._app import app, emit_json

__all__ = ["handoff"]


@app.command("handoff")
def handoff(
    manifest: Annotated[
        Path, typer.Argument(help="Job manifest JSON written by conform.")
    ],
    outdir: Annotated[
        Path, typer.Option("--out", "-o", help="Directory for the files.")
    ],
    nuke: Annotated[bool, typer.Option("--nuke", help="Nuke .nk script.")] = False,
    otio: Annotated[bool, typer.Option("--otio", help="OpenTimelineIO .otio.")] = False,
    edl: Annotated[
        bool, typer.Option("--edl", help="CMX 3600 EDL (first movie).")
    ] = False,
    fcpxml: Annotated[
        bool, typer.Option("--fcpxml", help="FCPXML (first movie).")
    ] = False,
    amf: Annotated[
        bool, typer.Option("--amf", help="ACES AMF per display-referred deliverable.")
    ] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace existing hand-off files.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document on stdout.")
    ] = False,
) -> int:
    """Write handoff files for a conformed job (every kind when none is selected).

    Holds the job lock of OUTDIR and the job's name, as ``conform`` does: a
    hand-off racing a conform or another hand-off of that name is refused
    (exit 2, naming the holder). A hand-off killed before it ended leaves
    nothing the next job for that name does not clean: its temporaries and
    the files it had written go (a hand-off is all or nothing).

    stdout: one ``kind<TAB>path`` line per file, or one JSON document with --json.
    """
    chosen = {"nuke": nuke, "otio": otio, "edl": edl, "fcpxml": fcpxml, "amf": amf}
    if not any(chosen.values()):
        chosen = dict.fromkeys(chosen, True)
    doc = load_manifest(manifest)
    name = str(doc["name"])
    with hold(outdir, lock_name(name), command="handoff") as lock:
        presets = [str(o["preset"]) for o in doc["outputs"]]
        lock.record_outputs(handoff_paths(outdir, name, presets))
        written = write_handoff(doc, outdir, overwrite=overwrite, **chosen)
    if as_json:
        emit_json(
            {
                "manifest": str(manifest),
                "outdir": str(outdir),
                "files": {k: str(v) for k, v in written.items()},
            }
        )
    else:
        for key, path in written.items():
            if ":" not in key:
                typer.echo(f"{key}\t{path}")
    return 0
