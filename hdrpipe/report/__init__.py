"""QC report: one self-contained HTML file per job or validated sequence.

An edge of the data flow (like ``cli``): it reads a job manifest (or a
validation :class:`~hdrpipe.validate.Report`), re-reads the few frames it
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._version import __version__
from ..color import Transform
from ..errors import HdrpipeError, InputError, OutputError
from ..outputs import atomic_write
from ..sequence import open_sequence
from ..validate import Report
from .analyse import HISTOGRAM_EDGES, ShotAnalysis, analyse_shot
from .html import esc, figure, findings_table, page, table

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
        )
        for inp in manifest.get("inputs", [])
    ]


def _status_badge(status: object) -> str:
    s = str(status)
    cls = s if s in ("pass", "warn", "fail") else "fail"
    return f'<span class="status {cls}">{esc(s)}</span>'


def _contact_sheet(a: ShotAnalysis) -> str:
    from .plots import png_uri

    items = []
    for frame, rgb in sorted(a.contact.items()):
        flags = a.flagged.get(frame, ())
        flag = f' <span class="flag">{esc(", ".join(flags))}</span>' if flags else ""
        items.append(
            figure(
                png_uri(rgb),
                f"frame {frame}{flag}",
                alt=f"frame {frame} ({a.sdr_target})",
                cls="frame",
            )
        )
    if not items:
        return '<p class="note">no readable frame to show</p>'
    return f'<div class="sheet">{"".join(items)}</div>'


def _sampling(step: int) -> str:
    if step == 1:
        return "every pixel"
    return f"every {step}th row and column (speculars of a few pixels may be missed)"


def _hdr_section(
    a: ShotAnalysis,
    hdr_output: Mapping[str, Any] | None,
    light: tuple[list[int], list[float], list[float]] | None,
) -> str:
    from .analyse import CURVE_FRAMES
    from .plots import false_colour_uri, histogram_uri, light_levels_uri

    out = []
    hdr = (hdr_output or {}).get("hdr") or {}
    max_cll, max_fall = hdr.get("max_cll"), hdr.get("max_fall")
    levels = (
        f"Dashed: MaxCLL {esc(max_cll)} / MaxFALL {esc(max_fall)}, the "
        f"{esc(hdr_output.get('preset'))} deliverable's measured values (every "
        "pixel of every frame); "
        if hdr_output and max_cll is not None
        else "No HDR deliverable was made, so no MaxCLL/MaxFALL was measured; "
    )
    if a.false_colour is not None:
        out.append(
            figure(
                false_colour_uri(
                    a.false_colour,
                    f"frame {a.false_colour_frame}: display luminance, {a.hdr_target}",
                ),
                f"False colour of the HDR master ({esc(a.hdr_target)}), the brightest "
                f"contact-sheet frame ({a.false_colour_frame}); bands in cd/m², "
                "203 = HDR reference white (BT.2408).",
                alt="false-colour luminance map",
            )
        )
    if light is not None:
        frames, max_rgb, average = light
        how = (
            f"on every frame of the {esc((hdr_output or {}).get('preset'))} "
            "deliverable as the job measured it (every pixel)"
        )
    else:
        frames = list(a.curve_frames)
        max_rgb, average = list(a.max_rgb), list(a.frame_average)
        how = (
            f"on {len(frames)} frames (at most {CURVE_FRAMES} spread over the clip "
            f"plus the shown ones), {_sampling(a.step)}"
        )
    if frames:
        flagged = [f for f in a.flagged if f in set(frames)]
        out.append(
            figure(
                light_levels_uri(
                    frames,
                    max_rgb,
                    average,
                    max_cll=max_cll,
                    max_fall=max_fall,
                    peak=a.hdr_peak,
                    flagged=flagged,
                ),
                f"Per-frame MaxRGB and frame-average light level (CTA-861.3) of "
                f"{esc(a.hdr_target)}, {how}. {levels}dotted: the mastering "
                f"display peak, {esc(a.hdr_peak)} cd/m².",
                alt="light level curves",
            )
        )
        out.append(
            figure(
                histogram_uri(HISTOGRAM_EDGES, a.histogram, peak=a.hdr_peak),
                f"Display luminance histogram of the HDR master over frames "
                f"{esc(_short(list(a.curve_frames)))} (BT.2100 luma of the decoded "
                f"signal, {_sampling(a.step)}).",
                alt="luminance histogram",
            )
        )
    return "".join(out)


def _maps_section(a: ShotAnalysis) -> str:
    from .plots import maps_uri

    out = []
    panels = []
    if a.outside_ap1 is not None:
        panels.append((f"outside AP1 ({a.share_ap1:.3%})", a.outside_ap1))
    if a.outside_p3 is not None and a.share_p3 is not None:
        panels.append((f"outside P3-D65 in Rec.2020 ({a.share_p3:.3%})", a.outside_p3))
    if panels:
        out.append(
            figure(
                maps_uri(panels, label="share of shown frames"),
                "Out-of-gamut pixels on the contact-sheet frames: the source outside "
                "AP1, and the HDR master's Rec.2020 signal outside P3-D65 (the "
                "gamut HDR delivery specs expect mastering to stay within).",
                alt="out-of-gamut maps",
            )
        )
    bad = []
    for kind, (frame, mask) in sorted(a.bad_pixel_maps.items()):
        label = "NaN/Inf" if kind == "nonfinite" else "negative"
        bad.append((f"{label} pixels, frame {frame} ({int(mask.sum())} blocks)", mask))
    if bad:
        out.append(
            figure(
                maps_uri(bad, label="block holds such a pixel"),
                f"Where the NaN/Inf and negative samples are (blocks of "
                f"{a.step}×{a.step} pixels, first flagged frame of each check).",
                alt="NaN Inf negative maps",
            )
        )
    else:
        out.append('<p class="note">No NaN, Inf or negative samples flagged.</p>')
    return "".join(out)


def _evidence_section(checks: Sequence[Mapping[str, Any]]) -> str:
    from ..validate.generated import UPSCALE_FACTORS
    from .plots import quantisation_uri, series_uri, spectrum_uri

    by_id = {str(c.get("id")): c for c in checks}
    out = []
    series = (by_id.get("flicker") or {}).get("details", {}).get("series")
    if series and series.get("frames"):
        marks: dict[str, list[int]] = {
            cid: list(by_id[cid].get("frames") or ())
            for cid in ("black", "flash", "flicker", "duplicates", "frozen")
            if cid in by_id and by_id[cid].get("frames")
        }
        out.append(
            figure(
                series_uri(series, marks),
                "Scene luminance per frame (every frame, decimated), with the frames "
                "the black / flash / flicker / duplicates / frozen checks flagged.",
                alt="luminance per frame",
            )
        )
    up = (by_id.get("upscale") or {}).get("details", {})
    if up.get("spectrum"):
        out.append(
            figure(
                spectrum_uri(
                    up["frequencies"],
                    up["spectrum"],
                    factor=float(up.get("factor", 1.0)),
                    candidates=UPSCALE_FACTORS,
                ),
                f"Radially averaged power spectrum (log luminance, centred crop, "
                f"frames {esc(_short(up.get('frames', [])))}). Estimated native "
                f"resolution {esc(up.get('native_width'))}×"
                f"{esc(up.get('native_height'))}; fall across each candidate "
                f"Nyquist (dB): {esc(up.get('drops_db'))}.",
                alt="power spectrum",
            )
        )
    hist = (by_id.get("bit_depth") or {}).get("details", {}).get("histogram")
    if hist and hist.get("counts"):
        bits = (by_id.get("bit_depth") or {}).get("details", {}).get("effective_bits")
        out.append(
            figure(
                quantisation_uri(
                    hist["edges"],
                    hist["counts"],
                    f"{hist['encoding']} at {hist['bits']} bits ({hist['range']})",
                ),
                f"Bit-depth evidence: distance of sampled {esc(hist['encoding'])} "
                f"code values to the nearest {esc(hist['bits'])}-bit code. A spike at "
                f"0 is quantised content; flat is native half. Effective bits: "
                f"{esc(bits)}.",
                alt="bit depth histogram",
            )
        )
    if not out:
        return (
            '<p class="note">No evidence recorded (profile without these checks).</p>'
        )
    return "".join(out)


def _short(frames: Sequence[object], limit: int = 8) -> str:
    text = ", ".join(str(f) for f in list(frames)[:limit])
    return text + (" …" if len(frames) > limit else "")


def _deliverables(manifest: Mapping[str, Any]) -> str:
    rows = []
    keys = (
        "codec",
        "profile",
        "bit_depth",
        "chroma",
        "primaries",
        "transfer",
        "matrix",
        "range",
    )
    for out in manifest.get("outputs", []):
        probe = out.get("probe") or {}
        hdr = out.get("hdr") or {}
        mastering = probe.get("mastering_display") or {}
        rows.append(
            (
                out.get("preset", ""),
                out.get("path", ""),
                " · ".join(
                    f"{k} {probe[k]}" for k in keys if probe.get(k) not in (None, "")
                )
                or "—",
                (
                    f"MaxCLL {hdr.get('max_cll')} / MaxFALL {hdr.get('max_fall')}; "
                    f"probe {probe.get('max_cll')} / {probe.get('max_fall')}; "
                    f"mastering {mastering.get('primaries', '')} "
                    f"{mastering.get('max_luminance', '')} cd/m²"
                )
                if hdr
                else "—",
                out.get("frames", ""),
            )
        )
    if not rows:
        return '<p class="note">No deliverables.</p>'
    return table(("preset", "file", "probe", "HDR metadata", "frames"), rows)


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
                color.get("look") or "none",
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
) -> str:
    """Return the report HTML of a manifest (mapping, path, Manifest) or a Report.

    ``on_progress(done, total)`` counts shots.

    Raises
    ------
    InputError
        The manifest cannot be read, or a shot's frames are gone.
    """
    started = time.monotonic()
    manifest, report = _load(subject)
    shots = _shots(manifest, report)
    config = None
    look = None
    if manifest is not None:
        config = ((manifest.get("color") or {}).get("config") or {}).get("uri")
        look = (manifest.get("color") or {}).get("look")
    sections = []
    statuses = []
    for i, shot in enumerate(shots):
        seq = open_sequence(shot.pattern)
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
        a = analyse_shot(
            seq,
            checks=checks,
            hdr=hdr,
            sdr=sdr,
            name=shot.title,
            workers=workers,
            curves=shot.light is None,
        )
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
            f"{esc(_short(frames.get('missing') or []) or 'none')}) · "
            f"{a.width}×{a.height}</p>"
            "<h3>Validation findings</h3>"
            + findings_table(checks)
            + f"<h3>Contact sheet ({esc(a.sdr_target)} review view)</h3>"
            + _contact_sheet(a)
            + f"<h3>HDR master ({esc(a.hdr_target)})</h3>"
            + _hdr_section(a, shot.hdr_output, shot.light)
            + "<h3>Gamut and bad pixels</h3>"
            + _maps_section(a)
            + "<h3>Generated-footage evidence</h3>"
            + _evidence_section(checks)
            + (
                f'<p class="note">Unreadable frames skipped: '
                f"{esc(_short(list(a.unreadable)))}</p>"
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
            + _deliverables(manifest)
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
) -> Path:
    """Write the QC HTML of ``subject`` to ``path`` atomically; return the path.

    ``subject`` is a job manifest (:class:`~hdrpipe.engine.Manifest`, its
    mapping, or the path of its JSON) or a validation
    :class:`~hdrpipe.validate.Report` (its ``input`` is re-read).

    Raises
    ------
    InputError
        Unreadable manifest or missing frames.
    ReportError
        The file cannot be written.
    """
    text = render_report(subject, on_progress=on_progress, workers=workers)
    out = Path(path)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        # A view of the job, regenerated whole: replaced like the manifest it
        # belongs to (the job itself refuses an existing manifest).
        atomic_write(out, text, overwrite=True)
    except (OSError, OutputError) as err:
        raise ReportError(f"report: cannot write {out}: {err}") from err
    return out
