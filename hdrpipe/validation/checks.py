"""One function per check id: ``check_<id>(data, rule) -> CheckResult``.

``data`` is the :class:`SequenceData` gathered in one pass over the frames
(headers, unreadable frames, per-frame pixel statistics); ``rule`` is the
profile's parameter mapping for that check (see :mod:`.profiles`).
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..colorimetry import declared_spaces
from ..exr import ExrHeader
from ..sequence import Sequence
from .pixels import FrameStats, effective_bits
from .registry import register_check
from .report import CheckResult, Status, worst

__all__ = [
    "SequenceData",
    "identify_chromaticities",
    "CHROMATICITY_TOLERANCE",
    "check_readable",
    "check_container",
    "check_channels",
    "check_pixel_type",
    "check_chromaticities",
    "check_resolution",
    "check_bit_depth",
    "quantisation_histogram",
    "QUANTISATION_BINS",
    "check_continuity",
    "check_nonfinite",
    "check_negative",
    "check_gamut",
]

#: Max |Δ| of any x or y (CIE 1931) for a declared chromaticity to match a named space.
CHROMATICITY_TOLERANCE = 0.002


@dataclass(frozen=True, slots=True)
class SequenceData:
    """What one pass over a sequence gathered, for the checks to judge."""

    sequence: Sequence
    headers: Mapping[int, ExrHeader]
    unreadable: Mapping[int, str]
    stats: Mapping[int, FrameStats] = field(default_factory=dict)

    @property
    def readable_frames(self) -> tuple[int, ...]:
        return tuple(sorted(self.headers))


# Declared name → published primaries: hdrpipe.colorimetry's spaces that have a
# ``declared`` name (AP0, AP1, Rec.709, Rec.2020, P3-D65, XYZ), in that order.
@functools.lru_cache(maxsize=1)
def _reference_chromaticities() -> tuple[tuple[str, tuple[float, ...]], ...]:
    return tuple(
        (str(space.declared), space.chromaticities) for space in declared_spaces()
    )


def identify_chromaticities(values: tuple[float, ...] | None) -> str | None:
    """Name the declared ``chromaticities`` (published primaries, ± tolerance).

    Returns ``"AP0"``, ``"AP1"``, ``"Rec.709"``, ``"Rec.2020"``, ``"P3-D65"``,
    ``"XYZ"``, ``"unknown"``, or None when the attribute is absent.
    """
    if values is None:
        return None
    if len(values) != 8 or not all(np.isfinite(values)):
        return "unknown"
    for name, ref in _reference_chromaticities():
        if (
            max(abs(a - b) for a, b in zip(values, ref, strict=True))
            <= CHROMATICITY_TOLERANCE
        ):
            return name
    return "unknown"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _frames_text(frames: list[int] | tuple[int, ...], limit: int = 8) -> str:
    shown = ", ".join(str(f) for f in frames[:limit])
    return shown + (f" … (+{len(frames) - limit})" if len(frames) > limit else "")


def _status(severity: Any) -> Status:
    return severity if severity in ("pass", "warn", "fail") else "fail"


@register_check("readable")
def check_readable(data: SequenceData, rule: Mapping[str, Any]) -> CheckResult:
    """Every frame's header and pixels decode (damaged/truncated files fail)."""
    bad = sorted(data.unreadable)
    if not bad:
        n = len(data.headers)
        return CheckResult("readable", "pass", f"{_plural(n, 'frame')} readable")
    errors = {str(f): data.unreadable[f] for f in bad}
    first = data.unreadable[bad[0]]
    return CheckResult(
        "readable",
        _status(rule.get("severity", "fail")),
        f"{_plural(len(bad), 'frame')} unreadable: {_frames_text(bad)} ({first})",
        tuple(bad),
        {"errors": errors},
    )


@register_check("container")
def check_container(data: SequenceData, rule: Mapping[str, Any]) -> CheckResult:
    """File structure: parts, tiling, compression, ACES flag, required attributes."""
    statuses: list[Status] = []
    problems: list[str] = []
    flagged: set[int] = set()
    compressions: dict[str, list[int]] = {}
    for f, h in sorted(data.headers.items()):
        compressions.setdefault(h.compression, []).append(f)
    comp_rule: Mapping[str, str] = rule.get("compression", {})
    for comp, frames in compressions.items():
        status = _status(comp_rule.get(comp, "warn")) if comp_rule else "pass"
        if status != "pass":
            statuses.append(status)
            clean = ", ".join(k for k, v in comp_rule.items() if v == "pass") or "none"
            problems.append(
                f"compression {comp} in {_plural(len(frames), 'frame')} "
                f"({status}; this profile passes only: {clean})"
            )
            flagged.update(frames)
    multipart = [f for f, h in data.headers.items() if h.parts > 1]
    if multipart and _status(rule.get("multipart", "pass")) != "pass":
        statuses.append(_status(rule["multipart"]))
        problems.append(f"multi-part files in {_plural(len(multipart), 'frame')}")
        flagged.update(multipart)
    tiled = [f for f, h in data.headers.items() if h.tiled]
    if tiled and _status(rule.get("tiled", "pass")) != "pass":
        statuses.append(_status(rule["tiled"]))
        problems.append(f"tiled files in {_plural(len(tiled), 'frame')}")
        flagged.update(tiled)
    no_flag = [f for f, h in data.headers.items() if h.aces_image_container_flag != 1]
    if no_flag and _status(rule.get("aces_flag", "pass")) != "pass":
        statuses.append(_status(rule["aces_flag"]))
        problems.append(
            f"acesImageContainerFlag != 1 in {_plural(len(no_flag), 'frame')}"
        )
        flagged.update(no_flag)
    missing_attrs: dict[str, list[int]] = {}
    for f, h in data.headers.items():
        present = set(h.attributes) | {"compression"}
        if h.chromaticities is not None:
            present.add("chromaticities")
        if h.aces_image_container_flag is not None:
            present.add("acesImageContainerFlag")
        for name in rule.get("required_attributes", ()):
            if name not in present:
                missing_attrs.setdefault(name, []).append(f)
    if missing_attrs:
        statuses.append(_status(rule.get("missing_attribute", "fail")))
        problems.append("missing attributes: " + ", ".join(sorted(missing_attrs)))
        for frames in missing_attrs.values():
            flagged.update(frames)
    first = data.headers[min(data.headers)] if data.headers else None
    details = {
        "compression": {k: len(v) for k, v in compressions.items()},
        "parts": max((h.parts for h in data.headers.values()), default=0),
        "tiled": bool(tiled),
        "aces_image_container_flag": first.aces_image_container_flag if first else None,
        "missing_attributes": {k: sorted(v) for k, v in missing_attrs.items()},
    }
    status = worst(statuses)
    if status == "pass":
        comp = ", ".join(sorted(compressions)) or "n/a"
        return CheckResult(
            "container", "pass", f"container ok (compression {comp})", details=details
        )
    return CheckResult(
        "container", status, "; ".join(problems), tuple(sorted(flagged)), details
    )


def _channel_set_ok(names: tuple[str, ...], rule: Mapping[str, Any]) -> bool:
    sets = rule.get("allowed_sets")
    if sets is not None:
        allowed = {tuple(sorted(s)) for s in sets}
        prefix = rule.get("stereo_prefix")
        mono = tuple(sorted(n for n in names if not (prefix and n.startswith(prefix))))
        if mono not in allowed:
            return False
        if prefix:
            other = tuple(
                sorted(n[len(prefix) :] for n in names if n.startswith(prefix))
            )
            if other and other not in allowed:
                return False
        return True
    required = rule.get("required", ("R", "G", "B"))
    return all(r in names for r in required)


@register_check("channels")
def check_channels(data: SequenceData, rule: Mapping[str, Any]) -> CheckResult:
    """Channel names are one of the profile's allowed sets (or include R, G, B)."""
    layouts: dict[tuple[str, ...], list[int]] = {}
    for f, h in sorted(data.headers.items()):
        layouts.setdefault(h.channel_names, []).append(f)
    bad = sorted(
        f
        for names, frames in layouts.items()
        if not _channel_set_ok(names, rule)
        for f in frames
    )
    details = {
        "layouts": [{"channels": list(k), "frames": len(v)} for k, v in layouts.items()]
    }
    if not bad:
        text = ", ".join(next(iter(layouts))) if layouts else "n/a"
        return CheckResult("channels", "pass", f"channels {text}", details=details)
    names = data.headers[bad[0]].channel_names
    expect = rule.get("allowed_sets") or [rule.get("required", ("R", "G", "B"))]
    return CheckResult(
        "channels",
        _status(rule.get("severity", "fail")),
        f"{_plural(len(bad), 'frame')} with channels {','.join(names)} "
        f"(expected {' or '.join(','.join(s) for s in expect)})",
        tuple(bad),
        details,
    )


@register_check("pixel_type")
def check_pixel_type(data: SequenceData, rule: Mapping[str, Any]) -> CheckResult:
    """Storage type of the colour channels is allowed (``half`` for ACES)."""
    allowed = set(rule.get("allowed", ("half",)))
    types: Counter[str] = Counter()
    bad: list[int] = []
    for f, h in sorted(data.headers.items()):
        kinds = {c.pixel_type for c in h.channels}
        types.update(kinds)
        if not kinds <= allowed:
            bad.append(f)
    first = data.headers[min(data.headers)] if data.headers else None
    details = {
        "by_channel": {c.name: c.pixel_type for c in first.channels} if first else {},
        "types": sorted(types),
    }
    if not bad:
        return CheckResult(
            "pixel_type",
            "pass",
            f"pixel type {', '.join(sorted(types))}",
            details=details,
        )
    found = sorted(
        {c.pixel_type for f in bad for c in data.headers[f].channels} - allowed
    )
    return CheckResult(
        "pixel_type",
        _status(rule.get("severity", "fail")),
        f"{_plural(len(bad), 'frame')} stored as {', '.join(found)} "
        f"(expected {', '.join(sorted(allowed))}): {_frames_text(bad)}",
        tuple(bad),
        details,
    )


@register_check("chromaticities")
def check_chromaticities(data: SequenceData, rule: Mapping[str, Any]) -> CheckResult:
    """The ``chromaticities`` attribute declares the expected primaries.

    ``details.declared`` is "AP0", "AP1", "Rec.709", "Rec.2020", "P3-D65",
    "XYZ", "unknown", or None when the attribute is absent.
    """
    expected = tuple(rule.get("expected", ("AP0",)))
    declared_by_frame = {
        f: identify_chromaticities(h.chromaticities) for f, h in data.headers.items()
    }
    counts = Counter(declared_by_frame.values())
    declared = counts.most_common(1)[0][0] if counts else None
    first = data.headers[min(data.headers)] if data.headers else None
    details = {
        "declared": declared,
        "values": list(first.chromaticities)
        if first and first.chromaticities
        else None,
        "expected": list(expected),
        "by_declared": {str(k): v for k, v in counts.items()},
    }
    absent = sorted(f for f, d in declared_by_frame.items() if d is None)
    wrong = sorted(
        f for f, d in declared_by_frame.items() if d is not None and d not in expected
    )
    statuses: list[Status] = []
    parts = []
    given = rule.get("given")  # the colour space the source is read in, if given
    if absent:
        statuses.append(_status(rule.get("absent", "warn")))
        parts.append(
            f"no chromaticities attribute in {_plural(len(absent), 'frame')} "
            + (f"(read as {given}, as given)" if given else "(readers assume Rec.709)")
        )
    if wrong:
        statuses.append(_status(rule.get("mismatch", "fail")))
        names = sorted({str(declared_by_frame[f]) for f in wrong})
        parts.append(
            f"declared {', '.join(names)} in {_plural(len(wrong), 'frame')} "
            f"(expected {' or '.join(expected)})"
            + (f"; read as {given}, as given" if given else "")
        )
    if not parts:
        return CheckResult(
            "chromaticities", "pass", f"chromaticities {declared}", details=details
        )
    return CheckResult(
        "chromaticities",
        worst(statuses),
        "; ".join(parts),
        tuple(sorted(absent + wrong)),
        details,
    )


@register_check("resolution")
def check_resolution(data: SequenceData, rule: Mapping[str, Any]) -> CheckResult:
    """Every frame has the same display window size (and the expected one, if set)."""
    sizes = {f: (h.width, h.height) for f, h in data.headers.items()}
    counts = Counter(sizes.values())
    expected = rule.get("expected")
    ref = (
        tuple(expected)
        if expected
        else (counts.most_common(1)[0][0] if counts else (0, 0))
    )
    details = {
        "width": ref[0],
        "height": ref[1],
        "sizes": {f"{w}x{h}": n for (w, h), n in counts.items()},
    }
    bad = sorted(f for f, s in sizes.items() if s != ref)
    if not bad:
        return CheckResult("resolution", "pass", f"{ref[0]}x{ref[1]}", details=details)
    odd = sorted({f"{sizes[f][0]}x{sizes[f][1]}" for f in bad})
    return CheckResult(
        "resolution",
        _status(rule.get("severity", "fail")),
        f"{_plural(len(bad), 'frame')} not {ref[0]}x{ref[1]} ({', '.join(odd)}): "
        f"{_frames_text(bad)}",
        tuple(bad),
        details,
    )


@register_check("bit_depth", pixels=True)
def check_bit_depth(data: SequenceData, rule: Mapping[str, Any]) -> CheckResult:
    """Storage type per channel and the effective precision of the content.

    Content quantised to 8/10/12 bits in ACEScct or PQ before being stored as
    half sits on a lattice of code values; ``details.effective_bits`` is 8, 10,
    12, or 16 when no such lattice is found.
    """
    first = data.headers[min(data.headers)] if data.headers else None
    storage = {c.name: c.pixel_type for c in first.channels} if first else {}
    pooled: dict[str, list[np.ndarray]] = {}
    for st in data.stats.values():
        for enc, values in st.codes.items():
            pooled.setdefault(enc, []).append(values)
    codes = {enc: np.unique(np.concatenate(v)) for enc, v in pooled.items() if v}
    estimate = effective_bits(codes)
    bits = int(estimate["effective_bits"])
    details = {
        "storage": storage,
        **estimate,
        "histogram": quantisation_histogram(codes, estimate),
    }
    need = rule.get("min_effective_bits")
    how = (
        f" ({estimate['encoding']} {estimate['range']} range)"
        if estimate["encoding"]
        else ""
    )
    if need is not None and bits < int(need):
        return CheckResult(
            "bit_depth",
            _status(rule.get("severity", "fail")),
            f"content is quantised to {bits} bits{how}; at least {need} required",
            tuple(sorted(data.stats)),
            details,
        )
    text = (
        "no quantisation found (native precision)"
        if bits == 16
        else (f"content quantised to {bits} bits{how}")
    )
    return CheckResult("bit_depth", "pass", text, details=details)


#: Bins of the ``bit_depth`` evidence histogram over −0.5 … 0.5 code value.
QUANTISATION_BINS = 20


def quantisation_histogram(
    codes: Mapping[str, np.ndarray], estimate: Mapping[str, Any]
) -> dict[str, Any] | None:
    """Evidence for ``bit_depth``: where sampled code values sit between codes.

    The distinct code values of the encoding found quantised (else ACEScct) are
    scaled to integer codes at the depth found (else 10 bits, full range); the
    histogram of their distance to the nearest integer (−0.5 … 0.5 code value,
    ``QUANTISATION_BINS`` bins) is a spike at 0 for quantised content and flat
    for native half. None when nothing was sampled.
    """
    encoding = estimate.get("encoding") or "ACEScct"
    values = codes.get(encoding)
    if values is None or values.size == 0:
        return None
    bits = int(estimate["effective_bits"])
    bits = bits if bits < 16 else 10
    rng = estimate.get("range") or "full"
    if rng == "narrow":
        x = values * 219.0 * 2 ** (bits - 8) + 16.0 * 2 ** (bits - 8)
    else:
        x = values * (2.0**bits - 1)
    counts, edges = np.histogram(
        x - np.round(x), bins=QUANTISATION_BINS, range=(-0.5, 0.5)
    )
    return {
        "encoding": encoding,
        "bits": bits,
        "range": rng,
        "edges": [round(float(e), 3) for e in edges],
        "counts": [int(c) for c in counts],
        "distinct_codes": int(np.unique(np.round(x)).size),
        "samples": int(values.size),
    }


@register_check("continuity")
def check_continuity(data: SequenceData, rule: Mapping[str, Any]) -> CheckResult:
    """No frame of the range is missing on disk."""
    missing = list(data.sequence.missing)
    details = {
        "first": data.sequence.frame_range.first,
        "last": data.sequence.frame_range.last,
    }
    if not missing:
        return CheckResult("continuity", "pass", "no missing frames", details=details)
    return CheckResult(
        "continuity",
        _status(rule.get("severity", "fail")),
        f"{_plural(len(missing), 'frame')} missing: {_frames_text(missing)}",
        tuple(missing),
        details,
    )


@register_check("nonfinite", pixels=True)
def check_nonfinite(data: SequenceData, rule: Mapping[str, Any]) -> CheckResult:
    """No NaN or ±Inf sample (``details.nan``/``details.inf`` count samples)."""
    nan = sum(s.nan for s in data.stats.values())
    inf = sum(s.inf for s in data.stats.values())
    bad = sorted(f for f, s in data.stats.items() if s.nan or s.inf)
    per = {str(f): {"nan": data.stats[f].nan, "inf": data.stats[f].inf} for f in bad}
    details = {"nan": nan, "inf": inf, "by_frame": per}
    if not bad:
        return CheckResult("nonfinite", "pass", "no NaN/Inf samples", details=details)
    return CheckResult(
        "nonfinite",
        _status(rule.get("severity", "fail")),
        f"{nan} NaN and {inf} Inf samples in {_plural(len(bad), 'frame')}: "
        f"{_frames_text(bad)}",
        tuple(bad),
        details,
    )


@register_check("negative", pixels=True)
def check_negative(data: SequenceData, rule: Mapping[str, Any]) -> CheckResult:
    """Count negative (finite, non-zero) samples (``details.count``)."""
    count = sum(s.negative for s in data.stats.values())
    samples = sum(s.samples for s in data.stats.values())
    bad = sorted(f for f, s in data.stats.items() if s.negative)
    details = {
        "count": count,
        "share": (count / samples) if samples else 0.0,
        "by_frame": {str(f): data.stats[f].negative for f in bad},
    }
    if not bad:
        return CheckResult("negative", "pass", "no negative samples", details=details)
    return CheckResult(
        "negative",
        _status(rule.get("severity", "warn")),
        f"{count} negative samples in {_plural(len(bad), 'frame')}: "
        f"{_frames_text(bad)}",
        tuple(bad),
        details,
    )


@register_check("gamut", pixels=True)
def check_gamut(data: SequenceData, rule: Mapping[str, Any]) -> CheckResult:
    """Share of pixels outside AP1 and outside Rec.2020 (AP0 data converted).

    Frames over ``GAMUT_SAMPLE_PIXELS`` are tested on every n-th row
    (``details.pixels_tested`` < ``details.pixels_total``); the shares are then
    estimates, the ``pixels_outside_*`` counts are of tested pixels.
    """
    pixels = sum(s.gamut_pixels for s in data.stats.values())
    ap1 = sum(s.outside_ap1 for s in data.stats.values())
    r2020 = sum(s.outside_rec2020 for s in data.stats.values())
    share_ap1 = ap1 / pixels if pixels else 0.0
    share_2020 = r2020 / pixels if pixels else 0.0
    details = {
        "outside_ap1": share_ap1,
        "outside_rec2020": share_2020,
        "pixels_outside_ap1": ap1,
        "pixels_outside_rec2020": r2020,
        "pixels_tested": pixels,
        "pixels_total": sum(s.pixels for s in data.stats.values()),
    }
    text = f"{share_ap1:.3%} of pixels outside AP1, {share_2020:.3%} outside Rec.2020"
    limit_ap1 = rule.get("max_outside_ap1")
    limit_2020 = rule.get("max_outside_rec2020")
    over = (limit_ap1 is not None and share_ap1 > limit_ap1) or (
        limit_2020 is not None and share_2020 > limit_2020
    )
    if not over:
        return CheckResult("gamut", "pass", text, details=details)
    frames = tuple(
        sorted(
            f
            for f, s in data.stats.items()
            if (
                limit_ap1 is not None
                and s.gamut_pixels
                and s.outside_ap1 / s.gamut_pixels > limit_ap1
            )
            or (
                limit_2020 is not None
                and s.gamut_pixels
                and s.outside_rec2020 / s.gamut_pixels > limit_2020
            )
        )
    )
    return CheckResult(
        "gamut", _status(rule.get("severity", "warn")), text, frames, details
    )


# The generated-footage checks register after these (report order).
from . import generated as _generated  # noqa: E402, F401
