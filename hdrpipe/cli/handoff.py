"""``hdrpipe handoff MANIFEST -o DIR``: Nuke, OTIO/EDL/FCPXML and AMF files.

One ``--<key>`` flag per registered hand-off format
(:data:`hdrpipe.handoff.HANDOFF_FORMATS`), made from the table when the
command is defined.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated, Any

import typer

from ..engine.lock import hold
from ..handoff import (
    HANDOFF_FORMATS,
    handoff_paths,
    load_manifest,
    lock_name,
    write_handoff,
)
from ._app import app, emit_json

__all__ = ["handoff"]


def handoff(
    manifest: Annotated[
        Path, typer.Argument(help="Job manifest JSON written by conform.")
    ],
    outdir: Annotated[
        Path, typer.Option("--out", "-o", help="Directory for the files.")
    ],
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace existing hand-off files.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document on stdout.")
    ] = False,
    **kinds: bool,
) -> int:
    """Write handoff files for a conformed job (every kind when none is selected).

    Holds the job lock of OUTDIR and the job's name, as ``conform`` does: a
    hand-off racing a conform or another hand-off of that name is refused
    (exit 2, naming the holder). A hand-off killed before it ended leaves
    nothing the next job for that name does not clean: its temporaries and
    the files it had written go (a hand-off is all or nothing).

    stdout: one ``kind<TAB>path`` line per file, or one JSON document with --json.
    """
    chosen = {key: bool(kinds.get(key)) for key in HANDOFF_FORMATS}
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


def _with_format_flags(command: Any) -> Any:
    """Give ``command`` one boolean ``--<key>`` option per registered format."""
    sig = inspect.signature(command, eval_str=True)
    fixed = [p for p in sig.parameters.values() if p.kind is not p.VAR_KEYWORD]
    flags = [
        inspect.Parameter(
            key,
            inspect.Parameter.KEYWORD_ONLY,
            default=False,
            annotation=Annotated[bool, typer.Option(f"--{key}", help=fmt.help)],
        )
        for key, fmt in HANDOFF_FORMATS.items()
    ]
    # Flags in the table's order, before the general options (as --help lists them).
    rest = [p.replace(kind=p.KEYWORD_ONLY) for p in fixed[2:]]
    command.__signature__ = sig.replace(parameters=fixed[:2] + flags + rest)
    return command


app.command("handoff")(_with_format_flags(handoff))
