"""The named colour targets: one registry entry per deliverable colour encoding.

A :class:`TargetSpec` says what a target is — transfer, container primaries,
peak luminance, the OCIO display/view (or colorspace) that renders it — in the
vocabulary of :mod:`hdrpipe.colorimetry`. Everything else is read from it:

* the OCIO transform (:mod:`hdrpipe.color.targets` resolves the first
  candidate the config has; :class:`~hdrpipe.color.Transform` renders it);
* the video tags (:meth:`TargetSpec.ffmpeg_tags`: FFmpeg names, hence the
  H.273 code points of ``colr`` and the VUI, and the names MediaInfo reports),
  which delivery presets take from their target (:mod:`hdrpipe.encode.presets`);
* the EXR ``chromaticities`` of scene-linear deliveries
  (:attr:`TargetSpec.chromaticities`);
* the SMPTE ST 2086 mastering display of HDR targets (:func:`mastering_display`,
  the one place it is derived).

Adding a target is one entry in :data:`_TARGET_LIST` (or, at run time, one
:func:`register_target` call); README.md "Extending hdrpipe" shows one.

Pure data (no OCIO, no numpy beyond :mod:`hdrpipe.colorimetry`): ``encode``
and ``validate`` read it without loading the colour stage.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from .colorimetry import (
    MEDIAINFO_MATRIX,
    MEDIAINFO_PRIMARIES,
    MEDIAINFO_TRANSFER,
    RGBSpace,
    TransferCharacteristic,
    matrix_coefficients,
    rgb_space,
    transfer_characteristic,
)
from .errors import ColorError
from .types import MasteringDisplay

__all__ = [
    "OcioCandidate",
    "TargetSpec",
    "TargetKind",
    "target_spec",
    "target_specs",
    "register_target",
    "unregister_target",
    "mastering_display",
    "ST2086_MIN_LUMINANCE",
    "MASTERING_PRIMARIES",
]

TargetKind = Literal["display", "colorspace"]

#: The primaries a mastering display may be given in (D65 reference displays).
MASTERING_PRIMARIES = ("rec2020", "p3d65", "rec709")

#: Mastering display black (cd/m²) of hdrpipe's HDR targets: 0.0001, the
#: lowest ST 2086 value of common HDR10 reference monitors.
ST2086_MIN_LUMINANCE = 0.0001


@dataclass(frozen=True, slots=True)
class OcioCandidate:
    """One way a config may provide a target: a display/view or a colorspace.

    ``limiting_primaries`` names the gamut (:mod:`hdrpipe.colorimetry`) the
    view limits to when smaller than the container (``"p3d65"`` for a
    P3-limited master in a Rec.2020 container).
    """

    display: str | None = None
    view: str | None = None
    colorspace: str | None = None
    limiting_primaries: str | None = None

    def describe(self) -> str:
        if self.display is not None:
            return f"{self.display!r} / {self.view!r}"
        return repr(self.colorspace)


@dataclass(frozen=True, slots=True)
class TargetSpec:
    """A named colour target (see the module docstring).

    ``transfer`` and ``primaries`` (the container) are names of
    :data:`hdrpipe.colorimetry.TRANSFERS` / :data:`~hdrpipe.colorimetry.SPACES`;
    ``peak_luminance`` in cd/m² (``None`` for scene-referred targets);
    ``candidates`` in order of preference (the first the config has wins);
    ``retarget_from``: peak (cd/m²) of the PQ output transform a retargeted
    target starts from, its signal then mapped to ``peak_luminance`` with the
    BT.2390 EETF; ``matrix`` the FFmpeg Y'CbCr matrix of its videos (default:
    the container's, :attr:`RGBSpace.matrix`).
    """

    name: str
    kind: TargetKind
    transfer: str
    primaries: str
    peak_luminance: float | None
    description: str
    candidates: tuple[OcioCandidate, ...]
    retarget_from: float | None = None
    matrix: str | None = None

    def __post_init__(self) -> None:
        if self.name != self.name.strip().lower() or not self.name:
            raise ColorError(f"target name {self.name!r} must be lower case")
        if self.kind not in ("display", "colorspace"):
            raise ColorError(f"target {self.name!r}: kind must be display/colorspace")
        if not self.candidates:
            raise ColorError(f"target {self.name!r}: no OCIO candidate")
        tc = transfer_characteristic(self.transfer)  # unknown names fail here
        rgb_space(self.primaries)
        for cand in self.candidates:
            if (cand.display is None) != (self.kind == "colorspace"):
                raise ColorError(
                    f"target {self.name!r}: a {self.kind} target's candidates name "
                    + (
                        "a display and view"
                        if self.kind == "display"
                        else "a colorspace"
                    )
                )
            if cand.limiting_primaries is not None:
                rgb_space(cand.limiting_primaries)
        if self.kind == "display" and (not tc.is_display or not self.peak_luminance):
            raise ColorError(
                f"target {self.name!r}: a display target needs a display transfer "
                "and a peak luminance"
            )
        if self.matrix is not None:
            matrix_coefficients(self.matrix)

    @property
    def space(self) -> RGBSpace:
        """The container primaries."""
        return rgb_space(self.primaries)

    @property
    def transfer_characteristic(self) -> TransferCharacteristic:
        return transfer_characteristic(self.transfer)

    @property
    def chromaticities(self) -> tuple[float, ...]:
        """The EXR ``chromaticities`` of this target's (container) primaries."""
        return self.space.chromaticities

    def ffmpeg_tags(self) -> dict[str, str] | None:
        """``{"primaries", "transfer", "matrix"}`` in FFmpeg's names (one-to-one
        with the H.273 code points), or ``None`` when the target has no video
        encoding (scene-referred, or primaries without an H.273 code)."""
        space, tc = self.space, self.transfer_characteristic
        matrix = self.matrix or space.matrix
        if space.ffmpeg is None or tc.ffmpeg is None or matrix is None:
            return None
        return {"primaries": space.ffmpeg, "transfer": tc.ffmpeg, "matrix": matrix}

    def mediainfo_names(self) -> dict[str, str | None] | None:
        """How MediaInfo reports :meth:`ffmpeg_tags` (``None`` when there are none)."""
        tags = self.ffmpeg_tags()
        if tags is None:
            return None
        return {
            "primaries": MEDIAINFO_PRIMARIES.get(tags["primaries"]),
            "transfer": MEDIAINFO_TRANSFER.get(tags["transfer"]),
            "matrix": MEDIAINFO_MATRIX.get(tags["matrix"]),
        }

    @property
    def is_hdr(self) -> bool:
        """PQ or HLG with a peak: the target carries ST 2086 / CTA-861.3 metadata."""
        return self.transfer in ("pq", "hlg") and self.peak_luminance is not None


def _display(
    name: str, transfer: str, peak: float, description: str,
    *candidates: OcioCandidate, retarget_from: float | None = None,
    primaries: str = "rec2020",
) -> TargetSpec:  # fmt: skip
    return TargetSpec(
        name, "display", transfer, primaries, peak, description, candidates,
        retarget_from,
    )  # fmt: skip


def _colorspace(name: str, transfer: str, primaries: str, description: str,
                *names: str) -> TargetSpec:  # fmt: skip
    return TargetSpec(
        name, "colorspace", transfer, primaries, None, description,
        tuple(OcioCandidate(colorspace=n) for n in names),
    )  # fmt: skip


_PQ = "Rec.2100-PQ - Display"
_HLG = "Rec.2100-HLG - Display"
_VIEW_2020 = "ACES 2.0 - HDR 1000 nits (Rec.2020)"
_VIEW_P3 = "ACES 2.0 - HDR 1000 nits (P3 D65)"

#: The shipped targets, in listing order.
_TARGET_LIST: tuple[TargetSpec, ...] = (
    _display(
        "hdr-pq-1000-rec2020", "pq", 1000.0,
        "ACES 2.0 HDR 1000 nits, Rec.2020 limited, Rec.2100 PQ (ST 2084)",
        OcioCandidate(_PQ, _VIEW_2020),
    ),
    _display(
        "hdr-pq-1000-p3d65", "pq", 1000.0,
        "ACES 2.0 HDR 1000 nits, P3-D65 limited in a Rec.2020 container, Rec.2100 PQ",
        OcioCandidate(_PQ, _VIEW_P3, limiting_primaries="p3d65"),
    ),
    # The 1000-nit master retargeted to a 600 cd/m² display (BT.2390 EETF on the
    # PQ signal, maxRGB: tonemap.retarget_pq), for deliveries to displays that
    # cannot reach 1000; the ACES 2.0 views of other peaks re-render the scene
    # instead. Its ST 2086 peak and MaxCLL are those of the retargeted signal.
    _display(
        "hdr-pq-600-rec2020", "pq", 600.0,
        "ACES 2.0 HDR 1000 nits (Rec.2020) retargeted to a 600-nit display with "
        "the ITU-R BT.2390 EETF (maxRGB), Rec.2100 PQ",
        OcioCandidate(_PQ, _VIEW_2020), retarget_from=1000.0,
    ),
    _display(
        "hlg-1000", "hlg", 1000.0,
        "ACES 2.0 HDR 1000 nits, Rec.2100 HLG (ARIB STD-B67), 1000-nit display",
        OcioCandidate(_HLG, _VIEW_2020),
        # OCIO's built-in studio configs only offer the P3-limited HLG view.
        OcioCandidate(_HLG, _VIEW_P3, limiting_primaries="p3d65"),
    ),
    _display(
        "sdr-rec709", "bt1886", 100.0,
        "ACES 2.0 SDR 100 nits, Rec.709, BT.1886 (gamma 2.4)",
        OcioCandidate(
            "Rec.1886 Rec.709 - Display", "ACES 2.0 - SDR 100 nits (Rec.709)"
        ),
        primaries="rec709",
    ),
    _colorspace(
        "acescg", "linear", "ap1", "ACEScg: scene-linear AP1 (S-2014-004), for comp",
        "ACEScg", "ACES - ACEScg",
    ),
    _colorspace(
        "acescct", "acescct", "ap1", "ACEScct: log AP1 (S-2016-001), for grading",
        "ACEScct", "ACES - ACEScct",
    ),
    _colorspace(
        "aces2065-1", "linear", "ap0",
        "ACES2065-1: scene-linear AP0 (SMPTE ST 2065-1), the archival encoding",
        "ACES2065-1", "ACES - ACES2065-1",
    ),
)  # fmt: skip

_lock = threading.Lock()
_targets: dict[str, TargetSpec] = {t.name: t for t in _TARGET_LIST}


def target_specs() -> Mapping[str, TargetSpec]:
    """Every registered target by name, in listing order (a read-only snapshot)."""
    with _lock:
        return MappingProxyType(dict(_targets))


def target_spec(name: str) -> TargetSpec:
    """The registered target ``name`` (case and surrounding blanks ignored).

    Raises
    ------
    ColorError
        Unknown name; the message lists the registered ones.
    """
    with _lock:
        spec = _targets.get(name.strip().lower())
        if spec is None:
            raise ColorError(
                f"unknown target {name!r}; available: {', '.join(_targets)}"
            )
        return spec


def register_target(spec: TargetSpec, *, replace: bool = False) -> TargetSpec:
    """Add ``spec`` to the registry (a studio's own target, or a test's).

    A name already registered is refused unless ``replace`` is true.
    """
    with _lock:
        if spec.name in _targets and not replace:
            raise ColorError(f"target {spec.name!r} is already registered")
        _targets[spec.name] = spec
    return spec


def unregister_target(name: str) -> None:
    """Remove a target added with :func:`register_target` (shipped ones stay)."""
    if any(t.name == name for t in _TARGET_LIST):
        raise ColorError(f"target {name!r} is a shipped target")
    with _lock:
        _targets.pop(name, None)


def mastering_display(
    primaries: str = "rec2020",
    *,
    max_luminance: float = 1000.0,
    min_luminance: float = ST2086_MIN_LUMINANCE,
) -> MasteringDisplay:
    """Return the SMPTE ST 2086 mastering display for named ``primaries``.

    ``primaries`` is any name :func:`hdrpipe.colorimetry.rgb_space` knows
    (``"rec2020"``, ``"p3d65"``, FFmpeg's ``"smpte432"``…); the xy are the
    published ones of that table (tested equal to colour-science's
    ``RGB_COLOURSPACES``), never pasted strings: the string copied around the
    web, ``G(13250,34500)B(7500,3000)R(34000,16000)``, is P3-D65, not BT.2020.
    Luminances in cd/m². The only place a mastering display is derived: the
    colour stage (from a target) and the encoder (from a preset) both call it.

    >>> mastering_display("p3d65").x265()
    'G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1)'
    """
    try:
        space = rgb_space(primaries)
    except ColorError:
        space = None
    if space is None or space.name not in MASTERING_PRIMARIES:
        raise ColorError(
            f"unknown mastering primaries {primaries!r}; available: "
            + ", ".join(MASTERING_PRIMARIES)
        )
    if not max_luminance > min_luminance >= 0:
        raise ColorError(
            f"mastering display luminance must satisfy max > min >= 0 cd/m², got "
            f"max {max_luminance}, min {min_luminance}"
        )
    return MasteringDisplay(
        red=space.red,
        green=space.green,
        blue=space.blue,
        white=space.white,
        max_luminance=float(max_luminance),
        min_luminance=float(min_luminance),
    )
