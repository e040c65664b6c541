"""``hdrpipe targets``: list the named colour targets of the resolved OCIO config."""

from __future__ import annotations

import typer

from ..color import resolve_config, targets
from ._app import app, emit_json, stdout

__all__ = ["targets_command"]


@app.command("targets")
def targets_command(
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document."),
    config: str | None = typer.Option(
        None,
        "--config",
        help="OCIO config (.ocio path or ocio:// URI); default $OCIO, "
        "then hdrpipe's config.",
    ),
) -> int:
    """List the named colour targets (display/view or colorspace) and the config."""
    _, info = resolve_config(config)
    found = targets(info.uri)
    if json_out:
        emit_json({"config": info.to_dict(), "targets": [t.to_dict() for t in found]})
        return 0
    stdout.print(f"config: {info.name} ({info.source}: {info.uri})", markup=False)
    width = max((len(t.name) for t in found), default=0)
    for t in found:
        peak = f"{t.peak_luminance:g} nits" if t.peak_luminance else "scene-linear"
        stdout.print(
            f"{t.name:<{width}}  {t.ocio_name}  [{t.transfer}, {t.primaries}, {peak}]",
            markup=False,
        )
    return 0
