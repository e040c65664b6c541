"""The committed fixture plates fail exactly as fixtures/data/README.md says."""

from __future__ import annotations

import pytest

from fixtures import DATA_DIR
from hdrpipe.validation import validate

ROOT = DATA_DIR / "plate_160x90"
ALL = tuple(range(1001, 1009))

CASES = [
    ("clean", "pass", None, ()),
    ("rgba", "pass", None, ()),
    ("missing", "fail", "continuity", (1003,)),
    ("nonfinite", "fail", "nonfinite", (1006,)),
    ("truncated", "fail", "readable", (1006,)),
    ("wrong_size", "fail", "resolution", (1006,)),
    ("float", "fail", "pixel_type", (1006,)),
    ("rec709_chroma", "fail", "chromaticities", ALL),
    ("no_chroma", "warn", "chromaticities", ALL),
    ("multipart", "fail", "container", ALL),
    ("quant8_acescct", "fail", "bit_depth", ALL),
    ("quant10_acescct", "fail", "bit_depth", ALL),
]


@pytest.mark.parametrize(
    ("variant", "status", "check", "frames"), CASES, ids=[c[0] for c in CASES]
)
def test_committed_plate(
    variant: str, status: str, check: str | None, frames: tuple[int, ...]
) -> None:
    report = validate(ROOT / variant / "plate.####.exr", "ray3")
    assert report.status == status
    flagged = {c.id: c.frames for c in report.checks if c.status != "pass"}
    if check is None:
        assert flagged == {}
    else:
        assert flagged == {check: frames}
