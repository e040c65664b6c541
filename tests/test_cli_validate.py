"""`hdrpipe validate` / `hdrpipe info`: JSON contract, exit codes, clean errors."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import pytest

from fixtures.generate import make_plate
from hdrpipe.cli import main

DATA = Path(__file__).parent / "data" / "openexr-images"
DAMAGED = sorted((DATA / "Damaged").iterdir())
HDRPIPE = Path(sys.executable).parent / "hdrpipe"


@pytest.fixture(scope="module")
def plates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cli")
    return {
        "clean": make_plate(root / "clean", width=48, height=27, frames=6, seed=1),
        "missing": make_plate(
            root / "missing", width=48, height=27, frames=6, variant="missing"
        ),
    }


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_json_pass(
    plates: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "validate", "--json", str(plates["clean"]))
    doc = json.loads(out)
    assert code == 0 and doc["status"] == "pass"
    assert doc["input"] == str(plates["clean"])
    assert doc["frames"] == {"first": 1001, "last": 1006, "count": 6, "missing": []}
    assert "Traceback" not in err


def test_validate_json_fail_and_report_file(
    plates: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "qc" / "report.json"
    code, out, _ = _run(
        capsys,
        "validate",
        str(plates["missing"]),
        "--json",
        "--report",
        str(report),
        "--profile",
        "ray3",
        "--workers",
        "1",
    )
    doc = json.loads(out)
    assert code == 1 and doc["status"] == "fail"
    continuity = next(c for c in doc["checks"] if c["id"] == "continuity")
    assert continuity == {
        "id": "continuity",
        "status": "fail",
        "message": "1 frame missing: 1003",
        "frames": [1003],
        "details": {"first": 1001, "last": 1006},
    }
    assert json.loads(report.read_text()) == doc


def test_validate_human_summary(
    plates: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(
        capsys, "validate", str(plates["missing"]), "--profile", "nuke-comp"
    )
    assert code == 0  # nuke-comp: a gap is only a warning
    assert "WARN continuity" in out and "1003" in out


@pytest.mark.parametrize(
    "args",
    [
        ["validate", "/nonexistent/plate.####.exr"],
        ["validate", "/nonexistent-dir"],
        ["info", "/nonexistent/plate.####.exr"],
    ],
    ids=["pattern", "dir", "info"],
)
def test_input_not_found_exits_2(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, *args)
    assert code == 2
    assert out == ""
    assert err.startswith("hdrpipe: error:") and err.count("\n") == 1
    assert "Traceback" not in err


def test_bad_profile_and_usage_exit_2(
    plates: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(capsys, "validate", str(plates["clean"]), "--profile", "bogus")[0] == 2
    assert _run(capsys, "validate", str(plates["clean"]), "--workers", "0")[0] == 2


def test_info_json(plates: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "info", "--json", str(plates["missing"]))
    info = json.loads(out)
    assert code == 0
    assert info["frames"] == {
        "first": 1001,
        "last": 1006,
        "count": 5,
        "missing": [1003],
    }
    assert (info["width"], info["height"]) == (48, 27)
    assert info["channels"] == [{"name": c, "pixel_type": "half"} for c in "RGB"]
    assert info["compression"] == "piz"
    assert info["chromaticities"]["declared"] == "AP0"
    assert info["time_code"] == "01:00:00:00"
    assert info["fps"] == "24"
    assert info["duration_seconds"] == pytest.approx(float(Fraction(6, 24)))
    assert info["aces_image_container_flag"] == 1


def test_info_human(
    plates: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "info", str(plates["missing"]))
    assert code == 0
    for text in (
        "1001-1006",
        "1 missing (1003)",
        "48x27",
        "R,G,B (half)",
        "piz",
        "AP0",
        "01:00:00:00",
        "0.250 s",
    ):
        assert text in out, text


def test_info_on_damaged_file_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "info", str(DAMAGED[0]))
    assert code == 1 and out == "" and "no readable frame" in err


def test_rec709_declared_null_with_warning(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(
        capsys, "validate", "--json", str(DATA / "Chromaticities" / "Rec709.exr")
    )
    doc = json.loads(out)
    chroma = next(c for c in doc["checks"] if c["id"] == "chromaticities")
    assert (
        code == 0
        and chroma["status"] == "warn"
        and chroma["details"]["declared"] is None
    )


@pytest.mark.parametrize("path", DAMAGED, ids=[p.name[:40] for p in DAMAGED])
def test_damaged_in_process(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "validate", "--json", str(path))
    doc = json.loads(out)
    readable = next(c for c in doc["checks"] if c["id"] == "readable")
    assert code == 1 and doc["status"] == "fail" and readable["status"] == "fail"
    assert "Traceback" not in err


def _subprocess_validate(path: Path) -> None:
    start = time.monotonic()
    proc = subprocess.run(
        [str(HDRPIPE), "validate", "--json", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert time.monotonic() - start < 30
    assert proc.returncode == 1, (proc.returncode, proc.stderr)  # < 0 would be a signal
    assert "Traceback" not in proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["status"] == "fail"
    assert next(c for c in doc["checks"] if c["id"] == "readable")["status"] == "fail"


def test_damaged_file_subprocess() -> None:
    _subprocess_validate(DAMAGED[-1])


@pytest.mark.slow
def test_all_damaged_files_subprocess() -> None:
    for path in DAMAGED:
        _subprocess_validate(path)
