"""The per-shot sections of the QC report: contact sheet, HDR master, gamut and
bad-pixel maps, generated-footage evidence (HTML built from escaped parts)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .analyse import HISTOGRAM_EDGES, ShotAnalysis
from .html import esc, figure

__all__ = [
    "contact_sheet",
    "sampling",
    "levels_note",
    "light_levels_figure",
    "job_curves_how",
    "hdr_section",
    "maps_section",
    "evidence_section",
    "short",
]


def contact_sheet(a: ShotAnalysis) -> str:
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


def sampling(step: int) -> str:
    if step == 1:
        return "every pixel"
    return f"every {step}th row and column (speculars of a few pixels may be missed)"


def levels_note(hdr_output: Mapping[str, Any] | None) -> str:
    hdr = (hdr_output or {}).get("hdr") or {}
    max_cll, max_fall = hdr.get("max_cll"), hdr.get("max_fall")
    if hdr_output and max_cll is not None:
        return (
            f"Dashed: MaxCLL {esc(max_cll)} / MaxFALL {esc(max_fall)}, the "
            f"{esc(hdr_output.get('preset'))} deliverable's measured values (every "
            "pixel of every frame); "
        )
    return "No HDR deliverable was made, so no MaxCLL/MaxFALL was measured; "


def light_levels_figure(
    curves: tuple[list[int], list[float], list[float]],
    *,
    hdr_output: Mapping[str, Any] | None,
    target: str,
    peak: float | None,
    flagged: Sequence[int],
    how: str,
) -> str:
    """Per-frame MaxRGB and frame-average light with MaxCLL, MaxFALL and the peak."""
    from .plots import light_levels_uri

    frames, max_rgb, average = curves
    hdr = (hdr_output or {}).get("hdr") or {}
    shown = set(frames)
    return figure(
        light_levels_uri(
            frames,
            max_rgb,
            average,
            max_cll=hdr.get("max_cll"),
            max_fall=hdr.get("max_fall"),
            peak=peak,
            flagged=[f for f in flagged if f in shown],
        ),
        f"Per-frame MaxRGB and frame-average light level (CTA-861.3) of "
        f"{esc(target)}, {how}. {levels_note(hdr_output)}dotted: the mastering "
        f"display peak, {esc(peak)} cd/m².",
        alt="light level curves",
    )


def job_curves_how(hdr_output: Mapping[str, Any] | None) -> str:
    return (
        f"on every frame of the {esc((hdr_output or {}).get('preset'))} "
        "deliverable as the job measured it (every pixel)"
    )


def hdr_section(
    a: ShotAnalysis,
    hdr_output: Mapping[str, Any] | None,
    light: tuple[list[int], list[float], list[float]] | None,
    light_figure: str | None = None,
) -> str:
    """False colour, light-level curves (``light_figure`` when drawn already)
    and the luminance histogram of one shot's HDR master."""
    from .analyse import CURVE_FRAMES
    from .plots import false_colour_uri, histogram_uri

    out = []
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
        curves = light
        how = job_curves_how(hdr_output)
    else:
        curves = (list(a.curve_frames), list(a.max_rgb), list(a.frame_average))
        how = (
            f"on {len(curves[0])} frames (at most {CURVE_FRAMES} spread over the "
            f"clip plus the shown ones), {sampling(a.step)}"
        )
    if curves[0]:
        out.append(
            light_figure
            if light_figure is not None
            else light_levels_figure(
                curves,
                hdr_output=hdr_output,
                target=a.hdr_target,
                peak=a.hdr_peak,
                flagged=list(a.flagged),
                how=how,
            )
        )
        out.append(
            figure(
                histogram_uri(HISTOGRAM_EDGES, a.histogram, peak=a.hdr_peak),
                f"Display luminance histogram of the HDR master over frames "
                f"{esc(short(list(a.curve_frames)))} (BT.2100 luma of the decoded "
                f"signal, {sampling(a.step)}).",
                alt="luminance histogram",
            )
        )
    return "".join(out)


def maps_section(a: ShotAnalysis) -> str:
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


def evidence_section(checks: Sequence[Mapping[str, Any]]) -> str:
    from ..validation.generated import UPSCALE_FACTORS
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
                f"frames {esc(short(up.get('frames', [])))}). Estimated native "
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


def short(frames: Sequence[object], limit: int = 8) -> str:
    text = ", ".join(str(f) for f in list(frames)[:limit])
    return text + (" …" if len(frames) > limit else "")
