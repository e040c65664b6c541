"""A source whose colour space is given is judged for that space, not for AP0."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fixtures.editorial import ClipSpec, make_dpx_clip
from fixtures.generate import render_frame
from hdrpipe.exr import AP0_CHROMATICITIES, AP1_CHROMATICITIES, write_exr
from hdrpipe.validation import PROFILES, validate
from hdrpipe.validation.profiles import profile_for_source

pytest.importorskip("colour")  # the DPX fixture encodes ACEScct with it


def _plate(folder: Path, chromaticities: tuple[float, ...] | None) -> Path:
    for i in range(3):
        px = render_frame(64, 36, i, seed=3)
        write_exr(folder / f"p.{1001 + i}.exr", px, chromaticities=chromaticities)
    return folder / "p.####.exr"


def _checks(report: Any) -> dict[str, Any]:
    return {c.id: c for c in report.checks}


@pytest.fixture(scope="module")
def dpx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("dpx")
    return make_dpx_clip(folder, ClipSpec("D", 1, 86400, frames=3))


@pytest.mark.parametrize(
    ("declared", "given", "chroma", "gamut_severity"),
    [
        (AP0_CHROMATICITIES, None, "pass", "warn"),
        (AP1_CHROMATICITIES, None, "fail", "warn"),  # ray3 refuses AP1 as such
        (AP1_CHROMATICITIES, "ACEScg", "pass", "pass"),
        (None, None, "warn", "warn"),
        (None, "ACEScg", "pass", "pass"),
        (AP0_CHROMATICITIES, "ACEScg", "warn", "pass"),  # header contradicts
        (AP0_CHROMATICITIES, "ACES2065-1", "pass", "warn"),
    ],
    ids=[
        "aces",
        "ap1-not-given",
        "ap1-given-acescg",
        "absent-not-given",
        "absent-given",
        "ap0-given-acescg",
        "ap0-given-aces",
    ],
)
def test_ray3_judges_the_given_space(
    tmp_path: Path,
    declared: tuple[float, ...] | None,
    given: str | None,
    chroma: str,
    gamut_severity: str,
) -> None:
    report = validate(_plate(tmp_path, declared), "ray3", source_space=given)
    assert _checks(report)["chromaticities"].status == chroma
    rule = profile_for_source(PROFILES["ray3"], given).rule("gamut")
    assert rule is not None and rule["severity"] == gamut_severity
    assert _checks(report)["pixel_type"].status == "pass"  # half stays required


def test_dpx_storage_without_a_given_space_fails_ray3(dpx: Path) -> None:
    # Plain validation of a DPX tells the truth about it: ray3 wants half floats.
    checks = _checks(validate(dpx, "ray3"))
    assert checks["pixel_type"].status == "fail"
    assert "uint10" in checks["pixel_type"].message
    assert checks["chromaticities"].status == "warn"


def test_dpx_with_a_given_space_passes_ray3(dpx: Path) -> None:
    report = validate(dpx, "ray3", source_space="ACEScct")
    checks = _checks(report)
    assert report.status != "fail", [c.message for c in report.checks]
    assert checks["pixel_type"].status == "pass"
    assert checks["chromaticities"].message.endswith("(read as ACEScct, as given)")
    assert report.profile == "ray3"


def test_profile_for_source_changes_nothing_else() -> None:
    base = PROFILES["ray3"]
    assert profile_for_source(base, None) is base
    given = profile_for_source(base, "ACEScg", dpx=True)
    changed = {"chromaticities", "gamut", "pixel_type", "bit_depth"}
    assert set(given.checks) == set(base.checks)
    for check_id in set(base.checks) - changed:
        assert dict(given.checks[check_id]) == dict(base.checks[check_id]), check_id
    assert given.checks["chromaticities"]["expected"] == ("AP1",)
    # An encoding without known primaries keeps the profile's expectation.
    cct = profile_for_source(base, "ACEScct")
    assert cct.checks["chromaticities"]["expected"] == ("AP0",)
    assert cct.checks["chromaticities"]["absent"] == "pass"
    assert "uint10" in given.checks["pixel_type"]["allowed"]
    assert given.checks["bit_depth"]["min_effective_bits"] is None


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any, str]:
    import json

    from hdrpipe.cli import main

    code = main(["validate", "--json", *args])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out else None), err


def test_cli_validates_a_dpx_in_the_given_space_whole_or_in_strips(
    dpx: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    validation = importlib.import_module("hdrpipe.validation")
    whole: list[str] = []
    real_decode = validation.decode

    def decode(path: Any, *args: Any, **kwargs: Any) -> Any:
        whole.append(str(path))
        return real_decode(path, *args, **kwargs)

    monkeypatch.setattr(validation, "decode", decode)
    code, plain, err = _cli(capsys, str(dpx))
    assert code == 1 and plain["status"] == "fail", err  # uint10, as stored
    code, given, err = _cli(capsys, str(dpx), "--source-colorspace", "acescct")
    assert code == 0, err  # an alias of the config's ACEScct
    by_id = {c["id"]: c for c in given["checks"]}
    assert by_id["pixel_type"]["status"] == "pass"
    assert by_id["chromaticities"]["message"].endswith("(read as ACEScct, as given)")
    # A budget under one 64x36 DPX frame's decode (about 28 kB): checked in
    # strips of rows, with the same result.
    assert len(whole) == 2 * 3  # two runs, three frames decoded whole
    code, strips, err = _cli(
        capsys, str(dpx), "--source-colorspace", "ACEScct", "--max-memory", "12k"
    )
    assert code == 0, err
    assert len(whole) == 6  # none decoded whole this time
    assert strips["checks"] == given["checks"]


def test_cli_refuses_an_unknown_source_space(
    dpx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc, err = _cli(capsys, str(dpx), "--source-colorspace", "ACES-typo")
    assert code == 2 and doc is None
    assert "--source-colorspace 'ACES-typo': no such colour space" in err
    assert "ACEScct" in err  # the spaces the config has are listed
