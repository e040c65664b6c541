"""Tag lint of a job's deliverables, on the files as they are now.

Each deliverable of the manifest is probed again and checked the way the job
checked it when it was written (:func:`hdrpipe.encode.probe.tag_lint`: codec,
profile, bit depth, chroma, colour tags in the container and in the
bitstream, ``colr``/``pasp``/``fiel``/``mdcv``/``clli`` boxes, HEVC SEI, frame
count, rate, start time code) against the preset recorded in the manifest and
the values the job wrote (MaxCLL/MaxFALL, mastering display). A file changed
since the job (re-wrapped, re-tagged, truncated, gone) fails, with every
mismatch listed. EXR plates: every frame is present and the first frame's
header still has the preset's compression and pixel type and the
chromaticities, channels and time code the job wrote.

Probing costs milliseconds per movie (MediaInfo and the container's boxes),
so the report made right after a job lints too.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

from ..errors import HdrpipeError
from ..timecode import Timecode
from ..types import ContentLightLevel, MasteringDisplay, Rate
from .html import esc

__all__ = ["TagLint", "lint_outputs", "parse_x265_mastering", "deliverables_section"]

log = logging.getLogger(__name__)

#: The x265 ``master-display`` string the manifest records (SMPTE ST 2086
#: units: chromaticity in 0.00002, luminance in 0.0001 cd/m²).
_X265 = re.compile(
    r"G\((\d+),(\d+)\)B\((\d+),(\d+)\)R\((\d+),(\d+)\)WP\((\d+),(\d+)\)L\((\d+),(\d+)\)"
)
#: EXR header fields the job wrote and the lint compares with the first frame.
_EXR_KEYS = ("channels", "chromaticities", "aces_image_container_flag")


@dataclass(frozen=True)
class TagLint:
    """One deliverable's tag lint: ``pass`` or ``fail`` with every mismatch."""

    preset: str
    path: str
    status: Literal["pass", "fail"]
    mismatches: tuple[str, ...]


def parse_x265_mastering(text: str) -> MasteringDisplay | None:
    """``G(x,y)B(x,y)R(x,y)WP(x,y)L(max,min)`` → :class:`MasteringDisplay`."""
    m = _X265.fullmatch(text.strip())
    if m is None:
        return None
    v = [int(g) for g in m.groups()]

    def xy(i: int) -> tuple[float, float]:
        return (v[i] / 50000.0, v[i + 1] / 50000.0)

    return MasteringDisplay(
        red=xy(4),
        green=xy(0),
        blue=xy(2),
        white=xy(6),
        max_luminance=v[8] / 10000.0,
        min_luminance=v[9] / 10000.0,
    )


def _spec(manifest: Mapping[str, Any], preset: str) -> Any:
    from ..encode.presets import DeliverySpec

    names = {f.name for f in dataclasses.fields(DeliverySpec)}
    for entry in manifest.get("presets") or ():
        if isinstance(entry, Mapping) and entry.get("name") == preset:
            return DeliverySpec(**{k: v for k, v in entry.items() if k in names})
    return None


def _lint_movie(manifest: Mapping[str, Any], out: Mapping[str, Any]) -> list[str]:
    from ..encode.container import pixel_aspect_ratio
    from ..encode.probe import tag_lint

    spec = _spec(manifest, str(out.get("preset")))
    if spec is None:
        return [f"preset {out.get('preset')!r} is not recorded in the manifest"]
    hdr = out.get("hdr") or {}
    mastering = light = None
    if spec.hdr_metadata:
        mastering = parse_x265_mastering(str(hdr.get("mastering_display") or ""))
        if hdr.get("max_cll") is not None and hdr.get("max_fall") is not None:
            light = ContentLightLevel(int(hdr["max_cll"]), int(hdr["max_fall"]))
    aspect = (manifest.get("raster") or {}).get("pixel_aspect") or 1
    _info, bad = tag_lint(
        str(out["path"]),
        spec,
        frames=int(out.get("frames") or 0),
        rate=Rate(Fraction(str(manifest.get("rate")))),
        start_timecode=_start_timecode(manifest),
        light_level=light,
        mastering=mastering,
        has_alpha=bool(out.get("has_alpha")),
        pixel_aspect=pixel_aspect_ratio(aspect),
    )
    return bad


def _lint_plates(manifest: Mapping[str, Any], out: Mapping[str, Any]) -> list[str]:
    from ..encode.probe import probe
    from ..sequence import open_sequence

    seq = open_sequence(str(out["path"]))
    bad = []
    want = int(out.get("frames") or 0)
    if len(seq.frames) != want or seq.missing:
        bad.append(
            f"frames: expected {want}, found {len(seq.frames)} "
            f"(missing: {list(seq.missing)[:8]})"
        )
    info = probe(seq.path(seq.frames[0]))
    spec = _spec(manifest, str(out.get("preset")))
    if spec is not None and spec.exr_compression is not None:
        if info["compression"] != spec.exr_compression:
            bad.append(
                f"compression: expected {spec.exr_compression!r}, "
                f"read {info['compression']!r}"
            )
    if spec is not None and spec.exr_pixel_type is not None:
        if info["pixel_types"] != [spec.exr_pixel_type]:
            bad.append(
                f"pixel type: expected {spec.exr_pixel_type!r}, "
                f"read {info['pixel_types']!r}"
            )
    written = out.get("probe") or {}
    for key in _EXR_KEYS:
        if key in written and written[key] != info.get(key):
            bad.append(f"{key}: the job wrote {written[key]!r}, read {info.get(key)!r}")
    return bad


def lint_outputs(manifest: Mapping[str, Any]) -> list[TagLint]:
    """Tag lint of every deliverable of ``manifest`` (files probed again now)."""
    results = []
    for out in manifest.get("outputs") or ():
        preset, path = str(out.get("preset", "")), str(out.get("path", ""))
        try:
            if out.get("kind") == "exr":
                bad = _lint_plates(manifest, out)
            elif not Path(path).is_file():
                bad = [f"{path}: no such file"]
            else:
                bad = _lint_movie(manifest, out)
        except (HdrpipeError, OSError, ValueError, TypeError, KeyError) as err:
            # A missing/damaged file or an unreadable manifest entry: that
            # deliverable fails the lint, the report goes on.
            log.info("tag lint of %s: %s", path, err)
            bad = [f"cannot be checked: {err}"]
        results.append(TagLint(preset, path, "fail" if bad else "pass", tuple(bad)))
    return results


def _tag_lint_cell(lint: TagLint | None) -> str:
    """The tag-lint verdict of one deliverable, with every mismatch listed."""
    if lint is None:
        return "—"
    badge = f'<span class="status {lint.status}">{lint.status}</span>'
    if not lint.mismatches:
        return f'{badge} <span class="note">tags match the preset</span>'
    items = "".join(f"<li>{esc(m)}</li>" for m in lint.mismatches)
    return f'{badge}<ul class="lint">{items}</ul>'


def deliverables_section(manifest: Mapping[str, Any]) -> str:
    """The deliverables table: probe, HDR metadata, frames and tag lint."""
    lints = {(t.preset, t.path): t for t in lint_outputs(manifest)}
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
        cells = (
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
        lint = lints.get((str(out.get("preset", "")), str(out.get("path", ""))))
        status = lint.status if lint is not None else "n/a"
        rows.append(
            f'<tr class="deliverable {esc(status)}" '
            f'data-preset="{esc(out.get("preset", ""))}" '
            f'data-taglint="{esc(status)}">'
            + "".join(f"<td>{esc(c)}</td>" for c in cells)
            + f'<td class="taglint">{_tag_lint_cell(lint)}</td></tr>'
        )
    if not rows:
        return '<p class="note">No deliverables.</p>'
    head = "".join(
        f"<th>{h}</th>"
        for h in ("preset", "file", "probe", "HDR metadata", "frames", "tag lint")
    )
    return (
        f'<table class="deliverables"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
        '<p class="note">Tag lint: each file probed again when this report was '
        "made and checked against its preset and the values the job wrote "
        "(codec, profile, bit depth, chroma, colour tags in container and "
        "bitstream, colr/pasp/fiel/mdcv/clli boxes, HEVC SEI, frame count, rate, "
        "start time code; EXR: frames present, compression, pixel type, "
        "chromaticities, channels).</p>"
    )


def _start_timecode(manifest: Mapping[str, Any]) -> Timecode | None:
    """The manifest's start timecode as a value (None when it records none)."""
    if manifest.get("start_timecode") is None:
        return None
    from ..handoff.manifest import start_timecode

    return start_timecode(manifest)
