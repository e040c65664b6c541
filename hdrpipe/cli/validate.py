"""``hdrpipe validate`` and ``hdrpipe info``: check and summarise an EXR sequence.

``validate --json`` prints exactly the JSON document of docs/design-notes.md;
exit code 0 for pass/warn, 1 for fail, 2 when the input is missing or the usage
is wrong.
``--report FILE`` writes the same JSON document to FILE, or the QC HTML page
(``hdrpipe.report``) when FILE ends in ``.html``/``.htm``.
"""

from __future__ import annotations

import json
from contextlib import nullcontext
from fractions import Fraction
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from ..errors import InputError, OutputError, ValidationError
from ..exr import ExrHeader
from ..outputs import atomic_write
from ..sequence import Sequence, open_sequence
from ..validation import CHECKS, PROFILES, identify_chromaticities, validate
from ._app import app, emit_json, stderr, stdout

__all__ = ["validate_command", "info_command", "sequence_info"]

_MARK = {"pass": "ok  ", "warn": "WARN", "fail": "FAIL"}


def _progress(enabled: bool) -> Any:
    if not enabled:
        return nullcontext(None)
    return Progress(
        TextColumn("validate"),
        BarColumn(),
        MofNCompleteColumn(),
        console=stderr,
        transient=True,
    )


@app.command("validate")
def validate_command(
    path: str | None = typer.Argument(
        None, help="Pattern (plate.####.exr, %04d, @, 1001-1048#), file or folder."
    ),
    profile: str = typer.Option(
        "ray3", "--profile", help=f"One of: {', '.join(PROFILES)}."
    ),
    json_out: bool = typer.Option(
        False, "--json", help="Print one JSON document on stdout."
    ),
    report: Path | None = typer.Option(  # noqa: B008 - typer idiom
        None,
        "--report",
        help="Also write the report to FILE: the QC HTML page when FILE ends in "
        ".html/.htm, else the JSON document.",
    ),
    workers: int = typer.Option(
        2, "--workers", min=1, help="Frames decoded concurrently."
    ),
    max_memory: str | None = typer.Option(
        None,
        "--max-memory",
        metavar="SIZE",
        help="Memory budget (8G, 512M): a frame too large to validate whole within "
        "it is checked in strips of rows (default: 80% of the memory available).",
    ),
    source_colorspace: str | None = typer.Option(
        None,
        "--source-colorspace",
        metavar="SPACE",
        help="The OCIO colour space the source is in (as conform "
        "--source-colorspace reads it): judged as that space, e.g. a DPX plate "
        "in ACEScct or an EXR in ACEScg.",
    ),
    list_checks: bool = typer.Option(
        False,
        "--list-checks",
        help="List every check (id, kind, what it checks) and the profiles "
        "that run it, then exit.",
    ),
) -> int:
    """Check a sequence against a profile (exit 0 pass/warn, 1 fail, 2 bad input)."""
    if list_checks:
        _list_checks(json_out)
        return 0
    if path is None:
        raise InputError(
            "missing argument PATH: the sequence to validate (or --list-checks)"
        )
    if profile not in PROFILES:
        raise InputError(
            f"unknown profile {profile!r}: expected one of {', '.join(PROFILES)}"
        )
    if source_colorspace is not None:
        from ..color import colorspace_name

        source_colorspace = colorspace_name(
            source_colorspace, what="--source-colorspace"
        )
    show = not json_out and stderr.is_terminal
    with _progress(show) as bar:
        task = bar.add_task("validate", total=None) if bar is not None else None

        def on_progress(done: int, total: int) -> None:
            if bar is not None:
                bar.update(task, completed=done, total=total)

        result = validate(
            path,
            profile,
            on_progress=on_progress,
            workers=workers,
            max_memory=max_memory,
            source_space=source_colorspace,
        )
    document = result.to_dict()
    if report is not None:
        if report.suffix.lower() in (".html", ".htm"):
            from ..report import write_report

            write_report(result, report, workers=workers)
        else:
            _write_json(report, document)
    if json_out:
        emit_json(document)
    else:
        fr = document["frames"]
        missing = f", {len(fr['missing'])} missing" if fr["missing"] else ""
        stdout.print(
            f"{result.input}: {fr['first']}-{fr['last']} "
            f"({fr['count']} frames{missing}), "
            f"profile {profile}: {result.status.upper()}",
            markup=False,
        )
        for check in result.checks:
            stdout.print(
                f"  {_MARK[check.status]} {check.id:<15} {check.message}", markup=False
            )
        if report is not None:
            stdout.print(f"report: {report}", markup=False)
    return 1 if result.status == "fail" else 0


def _list_checks(json_out: bool) -> None:
    """Print the registered checks (:data:`hdrpipe.validation.CHECKS`)."""
    rows = []
    for check in CHECKS.values():
        row = check.to_dict()
        row["profiles"] = [
            n for n, p in PROFILES.items() if p.rule(check.id) is not None
        ]
        rows.append(row)
    if json_out:
        emit_json({"checks": rows})
        return
    width = max((len(r["id"]) for r in rows), default=0)
    for r in rows:
        kind = "footage" if r["footage"] else "pixels" if r["pixels"] else "header"
        stdout.print(
            f"{r['id']:<{width}}  {kind:<7}  {r['summary']}  "
            f"[{', '.join(r['profiles']) or 'no profile'}]",
            markup=False,
        )


def _write_json(path: Path, document: dict[str, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"{path.parent}: cannot create: {err.strerror}") from err
    atomic_write(path, json.dumps(document, indent=2) + "\n")


def _fps_text(fps: Fraction | None) -> str | None:
    if fps is None:
        return None
    return (
        str(fps.numerator)
        if fps.denominator == 1
        else f"{fps.numerator}/{fps.denominator}"
    )


def sequence_info(seq: Sequence, given: str) -> dict[str, Any]:
    """Summarise a sequence from its first readable frame's header (JSON-friendly)."""
    header: ExrHeader | None = None
    errors: dict[str, str] = {}
    for frame in seq.frames:
        try:
            header = seq.header(frame)
            break
        except InputError as err:
            errors[str(frame)] = str(err)
            if len(errors) >= 3:
                break
    if header is None:
        first_error = next(iter(errors.values()), "no frames")
        raise ValidationError(f"{given}: no readable frame ({first_error})")
    rng = seq.frame_range
    fps = header.frames_per_second
    duration = (Fraction(rng.count) / fps) if fps else None
    return {
        "input": given,
        "pattern": seq.pattern,
        "name": seq.name,
        "frames": {
            "first": rng.first,
            "last": rng.last,
            "count": len(seq.frames),
            "missing": list(seq.missing),
        },
        "padding": seq.padding,
        "width": header.width,
        "height": header.height,
        "data_window": list(header.data_window),
        "display_window": list(header.display_window),
        "channels": [
            {"name": c.name, "pixel_type": c.pixel_type} for c in header.channels
        ],
        "pixel_types": sorted({c.pixel_type for c in header.channels}),
        "compression": header.compression,
        "chromaticities": {
            "declared": identify_chromaticities(header.chromaticities),
            "values": list(header.chromaticities) if header.chromaticities else None,
        },
        "time_code": header.time_code,
        "fps": _fps_text(fps),
        "duration_seconds": float(duration) if duration is not None else None,
        "aces_image_container_flag": header.aces_image_container_flag,
        "parts": header.parts,
        "tiled": header.tiled,
        "multi_view": list(header.multi_view) if header.multi_view else None,
        "header_frame": next(f for f in seq.frames if str(f) not in errors),
        "unreadable_headers": errors,
    }


@app.command("info")
def info_command(
    path: str = typer.Argument(..., help="Pattern, file or folder."),
    json_out: bool = typer.Option(
        False, "--json", help="Print one JSON document on stdout."
    ),
) -> int:
    """Summarise a sequence: frames, gaps, size, channels, compression, colour, TC."""
    info = sequence_info(open_sequence(path), path)
    if json_out:
        emit_json(info)
        return 0
    fr = info["frames"]
    gaps = (
        f"{len(fr['missing'])} missing ({', '.join(map(str, fr['missing'][:8]))})"
        if (fr["missing"])
        else "no gaps"
    )
    chans = ",".join(c["name"] for c in info["channels"])
    chroma = info["chromaticities"]["declared"] or "absent (readers assume Rec.709)"
    duration = (
        f"{info['duration_seconds']:.3f} s"
        if info["duration_seconds"] is not None
        else "unknown (no framesPerSecond)"
    )
    lines = [
        f"sequence     {info['pattern']}",
        f"frames       {fr['first']}-{fr['last']} ({fr['count']} on disk, {gaps})",
        f"size         {info['width']}x{info['height']}"
        + (
            ""
            if info["data_window"] == info["display_window"]
            else f" (data window {info['data_window']})"
        ),
        f"channels     {chans} ({', '.join(info['pixel_types'])})",
        f"compression  {info['compression']}"
        + (f", {info['parts']} parts" if info["parts"] > 1 else "")
        + (", tiled" if info["tiled"] else ""),
        f"colour       chromaticities {chroma}"
        + (
            f", acesImageContainerFlag {info['aces_image_container_flag']}"
            if info["aces_image_container_flag"] is not None
            else ""
        ),
        f"timecode     {info['time_code'] or 'none'}",
        f"fps          {info['fps'] or 'unknown'}",
        f"duration     {duration}",
    ]
    for line in lines:
        stdout.print(line, markup=False)
    return 0
