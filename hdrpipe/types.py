"""Small frozen value types shared by every stage (time, ranges, HDR metadata)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from .errors import InputError

__all__ = ["Rate", "FrameRange", "MasteringDisplay", "ContentLightLevel"]


@dataclass(frozen=True, slots=True)
class Rate:
    """Frame rate as an exact fraction, e.g. ``Rate(Fraction(24000, 1001))``.

    ``drop_frame`` only affects how timecode is labelled (29.97/59.94 DF).
    """

    fps: Fraction
    drop_frame: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.fps, Fraction):
            object.__setattr__(self, "fps", Fraction(self.fps))
        if self.fps <= 0:
            raise InputError(f"frame rate must be positive, got {self.fps}")

    def __str__(self) -> str:
        text = (
            str(self.fps.numerator)
            if self.fps.denominator == 1
            else (f"{self.fps.numerator}/{self.fps.denominator}")
        )
        return text + ("df" if self.drop_frame else "")

    @property
    def timebase(self) -> int:
        """Integer timecode base (24 for 23.976, 30 for 29.97)."""
        return round(self.fps)


@dataclass(frozen=True, slots=True)
class FrameRange:
    """Inclusive frame range, ``FrameRange(1001, 1100)`` is 100 frames."""

    first: int
    last: int

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise InputError(f"frame range {self.first}-{self.last}: last < first")

    @property
    def count(self) -> int:
        return self.last - self.first + 1

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(range(self.first, self.last + 1))

    def __contains__(self, frame: object) -> bool:
        return isinstance(frame, int) and self.first <= frame <= self.last

    def __str__(self) -> str:
        return f"{self.first}-{self.last}"


@dataclass(frozen=True, slots=True)
class MasteringDisplay:
    """SMPTE ST 2086 mastering display colour volume, in physical units.

    Chromaticities are CIE 1931 xy; luminances in cd/m². The integer encodings
    used by x265 ``master-display`` and the ISO BMFF ``mdcv`` box are derived:
    xy in 0.00002 units, luminance in 0.0001 cd/m².
    """

    red: tuple[float, float]
    green: tuple[float, float]
    blue: tuple[float, float]
    white: tuple[float, float]
    max_luminance: float
    min_luminance: float

    def xy_units(self) -> dict[str, tuple[int, int]]:
        """Return G, B, R, WP xy in 0.00002 units (ST 2086 / CTA-861.3 order)."""

        def q(xy: tuple[float, float]) -> tuple[int, int]:
            return round(xy[0] / 0.00002), round(xy[1] / 0.00002)

        return {
            "G": q(self.green),
            "B": q(self.blue),
            "R": q(self.red),
            "WP": q(self.white),
        }

    def luminance_units(self) -> tuple[int, int]:
        """Return (max, min) luminance in 0.0001 cd/m²."""
        return round(self.max_luminance / 0.0001), round(self.min_luminance / 0.0001)

    def x265(self) -> str:
        """Format as x265's ``master-display``: ``G(x,y)B(..)R(..)WP(..)L(max,min)``."""
        u = self.xy_units()
        lmax, lmin = self.luminance_units()
        return "".join(f"{k}({u[k][0]},{u[k][1]})" for k in ("G", "B", "R", "WP")) + (
            f"L({lmax},{lmin})"
        )


@dataclass(frozen=True, slots=True)
class ContentLightLevel:
    """CTA-861.3 content light level: MaxCLL and MaxFALL in cd/m² (integers)."""

    max_cll: int
    max_fall: int

    def __post_init__(self) -> None:
        for name in ("max_cll", "max_fall"):
            value = getattr(self, name)
            if not 0 <= value <= 65535:
                raise InputError(
                    f"{name} must fit uint16 (0..65535 cd/m²), got {value}"
                )
