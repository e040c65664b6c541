"""Validation profiles as data: which checks run, their thresholds, warn or fail.

A profile maps check ids (in report order) to the parameters of that check.
A check absent from a profile is not run. Severities are ``"warn"`` or
``"fail"``; ``"pass"`` means "report but never complain".

* ``aces`` — SMPTE ST 2065-4:2013 ACES image container rules: single-part
  scanline OpenEXR, half float, channels B,G,R or A,B,G,R (stereo: plus the
  ``left.``-prefixed set), ``chromaticities`` = AP0, ``acesImageContainerFlag``
  = 1 and the other required attributes; compression none (strict pass),
  lossless PIZ/ZIP/ZIPS/RLE (warn: "ACES EXR" as most tools write it), lossy
  DWAA/DWAB/B44/B44A/PXR24 (fail).
* ``ray3`` — what generated footage must satisfy before conform:
  ACES2065-1, 16-bit half with ≥ 12 bits of real precision, constant
  resolution, no gaps, no NaN/Inf.
* ``nuke-comp`` — lenient: what a comp can load without surprises.

The generated-footage checks (``black``, ``flash``, ``flicker``,
``duplicates``, ``frozen``, ``upscale``; thresholds in
:mod:`hdrpipe.validation.generated`) run in ``ray3`` and ``nuke-comp`` as
warnings: each is a fault a supervisor judges by eye (a flash may be lightning,
a held frame may be intended), so they inform the report and never stop a job.
``aces`` is about the container and does not run them.

A source whose colour space is given explicitly (``--source-colorspace``, or
an editorial ``--input-space``/recognised header, passed on as the pull's
source colour space) is judged for what it is said to be, not refused for not
being AP0 (:func:`profile_for_source`). For a given space other than
ACES2065-1: ``chromaticities`` expects the primaries of the given space when it
is a linear space with known primaries (ACEScg → AP1, "Linear Rec.709 (sRGB)" →
Rec.709 …), else (an encoding such as ACEScct) the profile's; an absent
attribute passes (the given space stands for it) and a contradicting one warns
(the engine reads the given space and records the conflict); ``gamut``, whose
shares assume AP0 data, reports without complaining. A DPX source given a
space (integer code values, no chromaticities) also passes ``pixel_type`` with
its integer storage and is not held to ``bit_depth``'s minimum: its stored
depth is the ``pixel_type`` it reports (``uint10``), its code values are no
half-float lattice to estimate. Every other check (readable, container,
channels, resolution, continuity, non-finite, the footage checks) judges it as
the profile says. Without a given space nothing changes: ``validate`` of a
DPX in ``ray3`` fails ``pixel_type`` (not half), as it should.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ..colorimetry import declared_spaces
from . import checks as _checks  # noqa: F401  (registers every check)
from .registry import CHECKS, check_ids

__all__ = [
    "Profile",
    "PROFILES",
    "CHECK_IDS",
    "PIXEL_CHECKS",
    "FOOTAGE_CHECKS",
    "LOSSLESS",
    "LOSSY",
    "DPX_PIXEL_TYPES",
    "profile_for_source",
]

#: Every check id, in report order (stable API: ids never change meaning);
#: derived from the registered checks (:mod:`hdrpipe.validation.registry`).
CHECK_IDS = check_ids()

#: Checks for faults of generated footage (``hdrpipe.validation.generated``).
FOOTAGE_CHECKS = check_ids(footage=True)

#: The checks that judge decoded pixels (the others need headers only).
PIXEL_CHECKS = check_ids(pixels=True)

LOSSLESS = ("rle", "zips", "zip", "piz")
LOSSY = ("pxr24", "b44", "b44a", "dwaa", "dwab")

# ST 2065-4:2013 section 4.2 / Table 3: required header attributes (OIIO names).
_ACES_REQUIRED_ATTRIBUTES = (
    "acesImageContainerFlag",
    "adoptedNeutral",
    "chromaticities",
    "compression",
    "PixelAspectRatio",
    "screenWindowCenter",
    "screenWindowWidth",
    "openexr:lineOrder",
)
_ACES_CHANNEL_SETS = (("B", "G", "R"), ("A", "B", "G", "R"))


@dataclass(frozen=True, slots=True)
class Profile:
    """A named set of check parameters (see module docstring)."""

    name: str
    description: str
    checks: Mapping[str, Mapping[str, Any]]

    def __post_init__(self) -> None:
        unknown = set(self.checks) - set(CHECKS)
        if unknown:
            raise ValueError(
                f"profile {self.name}: unknown check ids {sorted(unknown)}"
            )

    def rule(self, check_id: str) -> Mapping[str, Any] | None:
        """Parameters of ``check_id`` in this profile, or None when it is not run."""
        return self.checks.get(check_id)

    @property
    def needs_pixels(self) -> bool:
        """True if a pixel check (nonfinite, negative, gamut, bit_depth) runs."""
        return any(CHECKS[c].pixels for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (for ``--json`` listings and manifests)."""
        return {
            "name": self.name,
            "description": self.description,
            "checks": {k: dict(v) for k, v in self.checks.items()},
        }


def _freeze(d: Mapping[str, Mapping[str, Any]]) -> Mapping[str, Mapping[str, Any]]:
    return MappingProxyType({k: MappingProxyType(dict(v)) for k, v in d.items()})


# Generated-footage checks: warnings with the thresholds of ``validate.generated``.
_FOOTAGE_WARN: dict[str, dict[str, Any]] = {
    c: {"severity": "warn"} for c in FOOTAGE_CHECKS
}

_COMPRESSION_ACES = {
    "none": "pass",
    **{c: "warn" for c in LOSSLESS},
    **{c: "fail" for c in LOSSY},
}

PROFILES: Mapping[str, Profile] = MappingProxyType(
    {
        "aces": Profile(
            name="aces",
            description="SMPTE ST 2065-4 ACES image container rules",
            checks=_freeze(
                {
                    "readable": {"severity": "fail"},
                    "container": {
                        "multipart": "fail",
                        "tiled": "fail",
                        "compression": _COMPRESSION_ACES,
                        "aces_flag": "fail",
                        "required_attributes": _ACES_REQUIRED_ATTRIBUTES,
                        "missing_attribute": "fail",
                    },
                    "channels": {
                        "allowed_sets": _ACES_CHANNEL_SETS,
                        "stereo_prefix": "left.",
                        "severity": "fail",
                    },
                    "pixel_type": {"allowed": ("half",), "severity": "fail"},
                    "chromaticities": {
                        "expected": ("AP0",),
                        "absent": "fail",
                        "mismatch": "fail",
                    },
                    "resolution": {"severity": "fail"},
                    "bit_depth": {"min_effective_bits": None, "severity": "warn"},
                    "continuity": {"severity": "fail"},
                    "nonfinite": {"severity": "fail"},
                    "negative": {"severity": "warn"},
                    "gamut": {"max_outside_ap1": 0.001, "severity": "warn"},
                }
            ),
        ),
        "ray3": Profile(
            name="ray3",
            description="generated ACES2065-1 half footage, ready for conform",
            checks=_freeze(
                {
                    "readable": {"severity": "fail"},
                    "container": {
                        "multipart": "fail",
                        "tiled": "pass",
                        "compression": {
                            "none": "pass",
                            **{c: "pass" for c in LOSSLESS},
                            **{c: "warn" for c in LOSSY},
                        },
                        "aces_flag": "pass",
                    },
                    "channels": {"required": ("R", "G", "B"), "severity": "fail"},
                    "pixel_type": {"allowed": ("half",), "severity": "fail"},
                    "chromaticities": {
                        "expected": ("AP0",),
                        "absent": "warn",
                        "mismatch": "fail",
                    },
                    "resolution": {"severity": "fail"},
                    "bit_depth": {"min_effective_bits": 12, "severity": "fail"},
                    "continuity": {"severity": "fail"},
                    "nonfinite": {"severity": "fail"},
                    "negative": {"severity": "warn"},
                    "gamut": {"max_outside_ap1": 0.001, "severity": "warn"},
                    **_FOOTAGE_WARN,
                }
            ),
        ),
        "nuke-comp": Profile(
            name="nuke-comp",
            description="lenient: loads in a Nuke comp without surprises",
            checks=_freeze(
                {
                    "readable": {"severity": "fail"},
                    "container": {
                        "multipart": "pass",
                        "tiled": "pass",
                        "compression": {
                            "none": "pass",
                            **{c: "pass" for c in LOSSLESS},
                            **{c: "warn" for c in LOSSY},
                        },
                        "aces_flag": "pass",
                    },
                    "channels": {"required": ("R", "G", "B"), "severity": "fail"},
                    "pixel_type": {"allowed": ("half", "float"), "severity": "warn"},
                    "chromaticities": {
                        "expected": ("AP0", "AP1"),
                        "absent": "warn",
                        "mismatch": "warn",
                    },
                    "resolution": {"severity": "warn"},
                    "bit_depth": {"min_effective_bits": 10, "severity": "warn"},
                    "continuity": {"severity": "warn"},
                    "nonfinite": {"severity": "fail"},
                    "negative": {"severity": "pass"},
                    "gamut": {"max_outside_ap1": None, "severity": "pass"},
                    **_FOOTAGE_WARN,
                }
            ),
        ),
    }
)


#: DPX sample storage as :func:`hdrpipe.exr.read_header` names it (stored depth).
DPX_PIXEL_TYPES = ("uint1", "uint8", "uint10", "uint12", "uint16")
_ACES = "ACES2065-1"


def profile_for_source(
    profile: Profile, source_space: str | None, *, dpx: bool = False
) -> Profile:
    """The profile a source is judged by when its colour space is given.

    ``source_space`` is the OCIO colour space the job reads the source in
    when given explicitly (None: not given, ``profile`` is returned as is);
    ``dpx`` says the source is a DPX sequence. See the module docstring for
    what changes. The name stays ``profile.name``; the description says what
    the profile was adapted to.
    """
    if source_space is None:
        return profile
    checks = {k: dict(v) for k, v in profile.checks.items()}
    notes = [f"source given as {source_space}"]
    if source_space != _ACES:
        primaries = {
            str(s.ocio_linear): str(s.declared)
            for s in declared_spaces()
            if s.ocio_linear is not None
        }.get(source_space)
        if (rule := checks.get("chromaticities")) is not None:
            # Primaries known (a linear space): only they agree with the given
            # space; else (an encoding such as ACEScct) the profile's stand.
            expected = (
                (primaries,)
                if primaries is not None
                else tuple(rule.get("expected", ("AP0",)))
            )
            rule.update(
                expected=expected, absent="pass", mismatch="warn", given=source_space
            )
        if (rule := checks.get("gamut")) is not None:
            rule["severity"] = "pass"
    if dpx:
        if (rule := checks.get("pixel_type")) is not None:
            allowed = tuple(rule.get("allowed", ("half",)))
            rule["allowed"] = allowed + tuple(
                t for t in DPX_PIXEL_TYPES if t not in allowed
            )
        if (rule := checks.get("bit_depth")) is not None:
            rule["min_effective_bits"] = None
        notes.append("DPX storage")
    return Profile(
        name=profile.name,
        description=f"{profile.description} ({'; '.join(notes)})",
        checks=_freeze(checks),
    )
