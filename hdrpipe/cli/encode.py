"""``hdrpipe presets`` (delivery presets) and ``hdrpipe probe`` (read-back)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..encode import PRESETS, load_presets, probe
from ..encode.presets import spec_to_dict
from ._app import app, emit_json, stdout

__all__ = ["presets_command", "probe_command"]


@app.command("presets")
def presets_command(
    json_out: Annotated[
        bool, typer.Option("--json", help="Print one JSON document on stdout.")
    ] = False,
    file: Annotated[
        Path | None,
        typer.Option("--file", help="Also list user presets from this TOML/JSON file."),
    ] = None,
) -> int:
    """List the delivery presets (shipped, plus user presets from --file)."""
    specs = dict(PRESETS)
    if file is not None:
        specs.update(load_presets(file))
    if json_out:
        emit_json({"presets": [spec_to_dict(s) for s in specs.values()]})
        return 0
    for s in specs.values():
        what = s.codec or f"exr {s.exr_pixel_type} {s.exr_compression}"
        stdout.print(
            f"{s.name:<24} {s.kind:<5} {what:<18} {s.target:<22} {s.description}"
        )
        stdout.print(f"{'':<24} {s.purpose}: {s.quality or '-'}", highlight=False)
    return 0


@app.command("probe")
def probe_command(
    path: Annotated[Path, typer.Argument(help="A movie deliverable (MOV/MP4).")],
    json_out: Annotated[
        bool, typer.Option("--json", help="Print one JSON document on stdout.")
    ] = False,
) -> int:
    """Read a deliverable back with MediaInfo and PyAV: codec, tags, HDR, rate, TC."""
    info = probe(path)
    if json_out:
        emit_json(info)
        return 0
    for key, value in info.items():
        if key != "boxes":
            stdout.print(f"{key:<18} {value}")
    return 0
