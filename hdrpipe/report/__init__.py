"""QC report: one self-contained HTML file per job or validated sequence.

An edge of the data flow (like ``cli``): it reads a job manifest (or a
validation :class:`~hdrpipe.validation.Report`), re-reads the few frames it
needs (decimated, see :mod:`.analyse`) and writes one HTML page with every
image inlined as a ``data:`` URI — no network, opens in a second, prints.

Per shot: the validation findings (same ids as ``validate --json``), a
contact sheet through the SDR review view, a false-colour luminance map of the
HDR master, per-frame MaxRGB and frame-average light (with CTA-861.3
MaxCLL/MaxFALL and the mastering peak), the luminance histogram, out-of-gamut
maps (outside AP1; outside P3-D65 in the Rec.2020 container), NaN/Inf and
negative pixel maps, and the evidence of the generated-footage checks. Per
job: deliverables with their probe results and the colour pipeline.

The library never prints: progress is ``on_progress(done, total)``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._version import __version__
from ..color import Transform
from ..errors import HdrpipeError, InputError, OutputError
from ..outputs import atomic_write
from ..sequence import open_sequence
from ..validation import Report
from .analyse import analyse_shot
from .html import esc, findings_table, page, table
from .sections import (
    contact_sheet,
    evidence_section,
    hdr_section,
    job_curves_how,
    light_levels_figure,
    maps_section,
    short,
)
from .taglint import deliverables_section

__all__ = [
    "write_report",
    "render_report",
    "DEFAULT_HDR_TARGET",
    "REVIEW_TARGET",
    "ReportError",
]

log = logging.getLogger(__name__)

#: The HDR master's target when the job made none (validate reports).
DEFAULT_HDR_TARGET = "hdr-pq-1000-rec2020"
#: The SDR review view of the contact sheet.
REVIEW_TARGET = "sdr-rec709"


class ReportError(HdrpipeError):
    """The report could not be written (unreadable manifest, output not writable)."""


ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class _Shot:
    title: str
    pattern: str
    validation: Mapping[str, Any] | None
    colorspace: str
    hdr_output: Mapping[str, Any] | None
    #: Exact per-frame (frames, MaxRGB, frame average) from the job's meter.
    light: tuple[list[int], list[float], list[float]] | None = None
    #: The source frames the job used ("first-last"), None: all on disk.
    frames: str | None = None


def _job_light(
    manifest: Mapping[str, Any],
    inp: Mapping[str, Any],
    hdr: Mapping[str, Any] | None,
) -> tuple[list[int], list[float], list[float]] | None:
    """This shot's slice of the HDR deliverable's per-frame light levels.

    The meter holds one entry per record frame, in record order. With the
    ``asis`` retime record frames map 1:1 onto source frames, so the curve is
    drawn against source frame numbers; otherwise against record frames
    counted from the shot's first source frame.
    """
    per = ((hdr or {}).get("light_level_meter") or {}).get("per_frame") or {}
    max_rgb, average = per.get("max_rgb") or [], per.get("frame_average") or []
    first, count = int(inp.get("record_first", 0)), int(inp.get("record_frames", 0))
    if not count or len(max_rgb) < first + count or len(average) != len(max_rgb):
        return None
    start = int(inp.get("first", 0))
    frames = list(range(start, start + count))
    return (
        frames,
        [float(v) for v in max_rgb[first : first + count]],
        [float(v) for v in average[first : first + count]],
    )


def _load(subject: object) -> tuple[dict[str, Any] | None, Report | None]:
    if isinstance(subject, Report):
        return None, subject
    from ..handoff.manifest import as_manifest

    try:
        return as_manifest(subject), None
    except HdrpipeError as err:
        raise InputError(f"report: {err}") from err


def _shots(manifest: Mapping[str, Any] | None, report: Report | None) -> list[_Shot]:
    if report is not None:
        return [
            _Shot(
                title=Path(report.input).name,
                pattern=report.input,
                validation=report.to_dict(),
                colorspace="ACES2065-1",
                hdr_output=None,
            )
        ]
    assert manifest is not None
    hdr = next((o for o in manifest.get("outputs", []) if o.get("hdr")), None)
    return [
        _Shot(
            title=str(inp.get("name") or Path(str(inp.get("path", ""))).name),
            pattern=str(inp["path"]),
            validation=inp.get("validation"),
            colorspace=str(inp.get("colorspace") or "ACES2065-1"),
            hdr_output=hdr,
            light=_job_light(manifest, inp, hdr),
            frames=_used_frames(inp),
        )
        for inp in manifest.get("inputs", [])
    ]


def _used_frames(inp: Mapping[str, Any]) -> str | None:
    """The job's source range of an input (a pull uses part of its media)."""
    first, last = inp.get("first"), inp.get("last")
    if isinstance(first, int) and isinstance(last, int) and first <= last:
        return f"{first}-{last}"
    return None


def _look(record: object) -> Any:
    """The job's look from the manifest's record (``color.look``), for Transform.

    The engine records a look as a mapping (``kind``, ``file``, ``cccid``,
    ``process_space``, ``name``; see ``color.looks.look_record``); a plain
    string (a file or config look name) is passed on as it is.
    """
    from ..color.looks import Look

    if record is None or isinstance(record, str):
        return record
    if isinstance(record, Mapping):
        if record.get("file"):
            space = record.get("process_space")
            return Look(
                path=Path(str(record["file"])),
                cccid=str(record["cccid"]) if record.get("cccid") else None,
                process_space=str(space) if space else None,
            )
        if record.get("name"):
            return Look(name=str(record["name"]))
    raise InputError(f"report: unreadable look record in the manifest: {record!r}")


def _look_label(record: object) -> str:
    if isinstance(record, Mapping):
        text = record.get("file") or record.get("name") or ""
        if record.get("cccid"):
            text = f"{text}#{record['cccid']}"
        space = record.get("process_space")
        return f"{text} (in {space})" if space else str(text)
    return str(record) if record else "none"


def _flagged_frames(checks: Sequence[Mapping[str, Any]]) -> list[int]:
    """Frames a check did not pass on (what the contact sheet adds and marks)."""
    frames = {
        int(f)
        for c in checks
        if c.get("status") != "pass"
        for f in (c.get("frames") or ())
    }
    return sorted(frames)


def _status_badge(status: object) -> str:
    s = str(status)
    cls = s if s in ("pass", "warn", "fail") else "fail"
    return f'<span class="status {cls}">{esc(s)}</span>'


def _colour(manifest: Mapping[str, Any] | None, shots: Sequence[_Shot]) -> str:
    if manifest is None:
        from ..color import resolve_config

        _cfg, info = resolve_config(None)
        return table(
            ("config", "source", "views in this report"),
            [
                (
                    f"{info.name} ({info.source}: {info.uri})",
                    ", ".join(sorted({s.colorspace for s in shots})),
                    f"{DEFAULT_HDR_TARGET} (HDR maps), {REVIEW_TARGET} (contact sheet)",
                )
            ],
        )
    color = manifest.get("color") or {}
    cfg = color.get("config") or {}
    head = table(
        ("config", "source colourspace", "look"),
        [
            (
                f"{cfg.get('name', '')} "
                f"({cfg.get('source', '')}: {cfg.get('uri', '')})",
                color.get("source_colorspace", ""),
                _look_label(color.get("look")),
            )
        ],
    )
    rows = []
    for t in color.get("transforms", []):
        cp = t.get("color_path") or {}
        err = (
            f"p99.9 {cp.get('p999_code10')} / max {cp.get('max_code10')} code values "
            f"(10-bit), max ΔE_ITP {cp.get('max_delta_e_itp')}, "
            f"exact share {cp.get('routed_exact_fraction')}"
            if cp.get("path") == "fast"
            else (cp.get("reason") or "exact OCIO processor")
        )
        rows.append(
            (
                (t.get("target") or {}).get("name", ""),
                t.get("pipeline") or t.get("description", ""),
                cp.get("path", ""),
                err,
            )
        )
    return head + table(("target", "transform", "colour path", "measured error"), rows)


def render_report(
    subject: object,
    *,
    on_progress: ProgressCallback | None = None,
    workers: int = 2,
    previews: Mapping[str, Mapping[int, tuple[int, Any]]] | None = None,
) -> str:
    """Return the report HTML of a manifest (mapping, path, Manifest) or a Report.

    ``on_progress(done, total)`` counts shots. ``previews`` (input pattern →
    frame → (step, decimated RGB); a :class:`~hdrpipe.engine.Manifest`'s own by
    default) are frames the job's validator kept: they are not decoded again.
    The report's transforms take the exact colour path: on three decimated
    frames it costs less than building a fast path's LUT processors (measured).

    Raises
    ------
    InputError
        The manifest cannot be read, or a shot's frames are gone.
    """
    started = time.monotonic()
    if previews is None:
        previews = getattr(subject, "previews", None)
    manifest, report = _load(subject)
    shots = _shots(manifest, report)
    config = None
    look = None
    if manifest is not None:
        config = ((manifest.get("color") or {}).get("config") or {}).get("uri")
        look = _look((manifest.get("color") or {}).get("look"))
    sections = []
    statuses = []
    for i, shot in enumerate(shots):
        seq = open_sequence(shot.pattern, frames=shot.frames)
        hdr_target = (shot.hdr_output or {}).get("target") or DEFAULT_HDR_TARGET
        hdr = Transform(
            source=shot.colorspace,
            target=hdr_target,
            look=look,
            config=config,
            color_path="exact",
        )
        sdr = Transform(
            source=shot.colorspace,
            target=REVIEW_TARGET,
            look=look,
            config=config,
            color_path="exact",
        )
        checks = list((shot.validation or {}).get("checks") or [])
        with ThreadPoolExecutor(max_workers=1) as analyst:
            pending = analyst.submit(
                analyse_shot,
                seq,
                checks=checks,
                hdr=hdr,
                sdr=sdr,
                name=shot.title,
                workers=workers,
                curves=shot.light is None,
                previews=(previews or {}).get(shot.pattern),
            )
            # Meanwhile, the figures that need no pixel: matplotlib is Python and
            # holds the GIL, decoding and OCIO release it (wall time, measured).
            evidence = evidence_section(checks)
            light_figure = None
            if shot.light is not None and shot.light[0]:
                light_figure = light_levels_figure(
                    shot.light,
                    hdr_output=shot.hdr_output,
                    target=hdr.target.name,
                    peak=hdr.target.peak_luminance,
                    flagged=_flagged_frames(checks),
                    how=job_curves_how(shot.hdr_output),
                )
            a = pending.result()
        if on_progress is not None:
            on_progress(i + 1, len(shots))
        status = (shot.validation or {}).get("status", "n/a")
        statuses.append(str(status))
        frames = (shot.validation or {}).get("frames") or {}
        sections.append(
            f'<section class="shot" id="shot-{i}">'
            f"<h2>{esc(shot.title)} {_status_badge(status)}</h2>"
            f'<p class="meta">{esc(shot.pattern)} · frames '
            f"{esc(frames.get('first', ''))}–{esc(frames.get('last', ''))} "
            f"({esc(frames.get('count', len(seq.frames)))} on disk, missing: "
            f"{esc(short(frames.get('missing') or []) or 'none')}) · "
            f"{a.width}×{a.height}</p>"
            "<h3>Validation findings</h3>"
            + findings_table(checks)
            + f"<h3>Contact sheet ({esc(a.sdr_target)} review view)</h3>"
            + contact_sheet(a)
            + f"<h3>HDR master ({esc(a.hdr_target)})</h3>"
            + hdr_section(a, shot.hdr_output, shot.light, light_figure)
            + "<h3>Gamut and bad pixels</h3>"
            + maps_section(a)
            + "<h3>Generated-footage evidence</h3>"
            + evidence
            + (
                f'<p class="note">Unreadable frames skipped: '
                f"{esc(short(list(a.unreadable)))}</p>"
                if a.unreadable
                else ""
            )
            + "</section>"
        )
    worst = next((s for s in ("fail", "warn", "pass") if s in statuses), "n/a")
    if manifest is not None:
        title = f"hdrpipe QC — {manifest.get('name', '')}"
        meta = (
            f"job {esc(manifest.get('name', ''))} · {esc(manifest.get('frames', ''))} "
            f"frames at {esc(manifest.get('rate', ''))} fps from "
            f"{esc(manifest.get('start_timecode', ''))} · created "
            f"{esc(manifest.get('created', ''))} · job time "
            f"{esc(manifest.get('elapsed_seconds', ''))} s · hdrpipe "
            f"{esc(manifest.get('hdrpipe_version', ''))}"
        )
        job = (
            '<section id="deliverables"><h2>Deliverables</h2>'
            + deliverables_section(manifest)
            + "</section>"
        )
    else:
        assert report is not None
        title = f"hdrpipe QC — {Path(report.input).name}"
        meta = f"validate, profile {esc(report.profile)} · hdrpipe {esc(__version__)}"
        job = ""
    colour = (
        '<section id="colour"><h2>Colour pipeline</h2>'
        + _colour(manifest, shots)
        + "</section>"
    )
    nav = "".join(
        f'<a href="#shot-{i}">{esc(s.title)}</a>' for i, s in enumerate(shots)
    )
    elapsed = time.monotonic() - started
    body = (
        f"<h1>{esc(title)} {_status_badge(worst)}</h1>"
        f'<p class="meta">{meta}</p>'
        f'<nav>{nav}<a href="#colour">colour</a>'
        + ('<a href="#deliverables">deliverables</a>' if manifest else "")
        + "</nav>"
        + "".join(sections)
        + job
        + colour
        + f'<p class="note">Report made in {elapsed:.1f} s; pictures and maps on '
        "decimated frames.</p>"
    )
    return page(title, body)


def write_report(
    subject: object,
    path: str | os.PathLike[str],
    *,
    on_progress: ProgressCallback | None = None,
    workers: int = 2,
    previews: Mapping[str, Mapping[int, tuple[int, Any]]] | None = None,
) -> Path:
    """Write the QC HTML of ``subject`` to ``path`` atomically; return the path.

    ``subject`` is a job manifest (:class:`~hdrpipe.engine.Manifest`, its
    mapping, or the path of its JSON) or a validation
    :class:`~hdrpipe.validation.Report` (its ``input`` is re-read).
    ``previews`` as in :func:`render_report`.

    Raises
    ------
    InputError
        Unreadable manifest or missing frames.
    ReportError
        The file cannot be written.
    """
    text = render_report(
        subject,
        on_progress=on_progress,
        workers=workers,
        previews=previews,
    )
    out = Path(path)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        # A view of the job, regenerated whole: replaced like the manifest it
        # belongs to (the job itself refuses an existing manifest).
        atomic_write(out, text, overwrite=True)
    except (OSError, OutputError) as err:
        raise ReportError(f"report: cannot write {out}: {err}") from err
    return out
