"""The typer application shared by every ``hdrpipe`` sub-command module.

Conventions every command follows (docs/design-notes.md, "CLI conventions"):

* stdout carries data only: one JSON document with ``--json``, otherwise a short
  human summary or paths. Logs, warnings and progress go to stderr.
* A command returns its exit code (``0`` done, ``1`` ran and failed); library
  errors propagate as :class:`~hdrpipe.errors.HdrpipeError` and ``main`` maps
  them (``InputError`` → 2). Never a traceback unless ``--debug``.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import typer
from rich.console import Console

__all__ = ["app", "emit_json", "stderr", "stdout", "state"]

app = typer.Typer(
    name="hdrpipe",
    help="Turn generated HDR ACES2065-1 EXR sequences into deliverables.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

stderr = Console(stderr=True, highlight=False, soft_wrap=True)
stdout = Console(highlight=False, soft_wrap=True)


class _State:
    debug: bool = False


state = _State()


@app.callback()
def _root(
    verbose: int = typer.Option(
        0, "--verbose", "-v", count=True, help="More log output on stderr (-vv: debug)."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only errors on stderr."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
) -> None:
    """hdrpipe: ingest, validate, colour, conform, encode and hand off HDR plates."""
    level = (
        logging.ERROR
        if quiet
        else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("hdrpipe: %(levelname)s: %(message)s"))
    # "libav": FFmpeg's own messages, which hdrpipe.encode routes into logging.
    for name in ("hdrpipe", "libav"):
        root = logging.getLogger(name)
        root.handlers.clear()
        root.addHandler(handler)
        root.setLevel(logging.DEBUG if debug else level)
        root.propagate = False
    state.debug = debug


def emit_json(document: Any) -> None:
    """Print exactly one JSON document on stdout."""
    sys.stdout.write(json.dumps(document, indent=2, sort_keys=False, default=str))
    sys.stdout.write("\n")
    sys.stdout.flush()
