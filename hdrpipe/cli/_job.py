"""The conform-job options, defined once for every command that builds a ConformJob.

``hdrpipe conform`` and ``hdrpipe farm plan`` take the same job description;
:func:`job_command` gives a command function those options and calls it with the
:class:`~hdrpipe.engine.ConformJob` they describe (as ``job=``), so the two
commands can never drift apart.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from ..engine import ConformJob
from ..engine.job import ALPHA_CHOICES, COLOR_PATHS, FITS, RETIME_CHOICES

__all__ = ["job_command"]

_KW = inspect.Parameter.KEYWORD_ONLY

# (name, type, typer parameter) in the order `--help` lists them.
_JOB_OPTIONS: tuple[tuple[str, Any, Any], ...] = (
    (
        "paths",
        list[str],
        typer.Argument(
            None, metavar="PATH", help="Input sequence(s), in order (or --timeline)."
        ),
    ),
    (
        "deliver",
        list[str],
        typer.Option(
            ...,
            "--deliver",
            "-d",
            help="Delivery preset id (repeatable; see `hdrpipe presets`).",
        ),
    ),
    ("outdir", Path, typer.Option(..., "--outdir", "-o", help="Output directory.")),
    (
        "fps",
        str | None,
        typer.Option(
            None,
            "--fps",
            help="Delivery rate: 24, 23.976, 24000/1001, 25, 29.97df, 48, 59.94 ...",
        ),
    ),
    (
        "retime",
        str,
        typer.Option(
            "auto",
            "--retime",
            help=f"{' | '.join(RETIME_CHOICES)} "
            "(auto: asis for NTSC pull-down, else nearest).",
        ),
    ),
    (
        "start_tc",
        str | None,
        typer.Option(None, "--start-tc", help="Start timecode HH:MM:SS:FF."),
    ),
    ("frames", str | None, typer.Option(None, "--frames", help="Source frames A-B.")),
    (
        "reformat",
        str | None,
        typer.Option(None, "--reformat", help="Raster: WxH, hd, uhd, dci4k ..."),
    ),
    (
        "fit",
        str,
        typer.Option(
            "letterbox",
            "--fit",
            help=f"{' | '.join(FITS)} (none: source pixels 1:1, centred).",
        ),
    ),
    (
        "config",
        str | None,
        typer.Option(None, "--config", help="OCIO config (path or ocio:// URI)."),
    ),
    (
        "look",
        str | None,
        typer.Option(
            None, "--look", help="CDL (.cdl/.cc/.ccc) or LMT, applied in ACES."
        ),
    ),
    (
        "name",
        str | None,
        typer.Option(None, "--name", help="Base name of outputs (default: 1st input)."),
    ),
    (
        "source_colorspace",
        str | None,
        typer.Option(
            None,
            "--source-colorspace",
            help="Override the source encoding (default from chromaticities).",
        ),
    ),
    (
        "profile",
        str,
        typer.Option("ray3", "--profile", help="Validation profile sources must pass."),
    ),
    (
        "force",
        bool,
        typer.Option(False, "--force", help="Conform sources that fail validation."),
    ),
    ("overwrite", bool, typer.Option(False, "--overwrite", help="Replace outputs.")),
    (
        "include_mattes",
        bool,
        typer.Option(False, "--include-mattes", help="Count matte bars in MaxFALL."),
    ),
    (
        "presets_file",
        Path | None,
        typer.Option(None, "--presets-file", help="User presets (TOML/JSON)."),
    ),
    (
        "color_path",
        str,
        typer.Option(
            "auto",
            "--color-path",
            help=f"{' | '.join(COLOR_PATHS)}: the verified baked-LUT fast path "
            "where it meets the accuracy budget (auto), the exact OCIO transform, "
            "or the LUT.",
        ),
    ),
    (
        "alpha",
        str,
        typer.Option(
            "keep",
            "--alpha",
            help=f"{' | '.join(ALPHA_CHOICES)}: a source alpha stays in "
            "deliverables that carry it (ProRes 4444, EXR) and the others get "
            "the premultiplied RGB with a warning (keep); RGB only everywhere "
            "(drop); or refuse, exit 2 (error).",
        ),
    ),
    (
        "max_memory",
        str | None,
        typer.Option(
            None,
            "--max-memory",
            metavar="SIZE",
            help="Memory budget (8G, 512M, 2GiB): a job whose estimated peak "
            "exceeds it is refused before the first frame (default: 80% of the "
            "memory available).",
        ),
    ),
)


def job_command(fn: Callable[..., int]) -> Callable[..., int]:
    """Give a typer command the job options; it is called with ``job=ConformJob``."""
    own = [p for p in inspect.signature(fn).parameters.values() if p.name != "job"]
    names = [name for name, _type, _param in _JOB_OPTIONS]

    @functools.wraps(fn)
    def command(**kwargs: Any) -> int:
        fields = {name: kwargs.pop(name) for name in names}
        paths = tuple(fields.pop("paths") or ())
        if not paths and kwargs.get("timeline") is not None:
            paths = (kwargs["timeline"],)  # an editorial job's one input is the edit
        job = ConformJob(
            inputs=paths,
            deliver=tuple(fields.pop("deliver")),
            **fields,
        )
        return fn(job=job, **kwargs)

    params = [
        inspect.Parameter(name, _KW, default=default, annotation=kind)
        for name, kind, default in _JOB_OPTIONS
    ]
    params += [p.replace(kind=_KW) for p in own]
    signature = inspect.Signature(params, return_annotation=int)
    command.__signature__ = signature  # type: ignore[attr-defined]
    # typer resolves the annotations, so give it real types, not strings.
    own_hints = typing.get_type_hints(fn)
    own_hints.pop("job", None)
    command.__annotations__ = {
        **{name: kind for name, kind, _default in _JOB_OPTIONS},
        **own_hints,
    }
    return command
