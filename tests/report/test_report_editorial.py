"""Editorial conform (``--timeline``): a QC report per pull and one for the
assembled cut, pointed at from the JSON and the manifests; ``--no-report``."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import opentimelineio as otio
import pytest

from fixtures.editorial import ClipSpec, EventSpec, editorial_timeline, make_clip
from fixtures.faults import FAULT_FRAMES, make_faulty_plate

#: A clean clip and one with a flash frame, both 01:00:00:00 at 24 fps.
CLEAN = ClipSpec("A010C001", 1, 86400, frames=24)
FLASH = ClipSpec("F050C005", 5, 86400, frames=12)
FLASH_FRAME = 1001 + FAULT_FRAMES["flash"][0]


def _findings(html: str) -> dict[str, str]:
    rows = re.findall(r'data-check="([^"]+)" data-status="([^"]+)"', html)
    return {check: status for check, status in rows if status != "pass"}


@pytest.fixture(scope="module")
def cut(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("editorial-report")
    media = root / "media"
    make_clip(media / CLEAN.name, CLEAN, width=128, height=72)
    make_faulty_plate(
        media / FLASH.name, "flash", name=FLASH.name, width=128, height=72, seed=3
    )
    # (The fixture cut dissolves out of its second event: the clean one, which
    # has the frames for it.)
    timeline = editorial_timeline((EventSpec(FLASH, 0, 12), EventSpec(CLEAN, 4, 10)))
    path = root / "cut.otio"
    otio.adapters.write_to_file(timeline, str(path))
    return path, media


def _conform(cut: tuple[Path, Path], out: Path, *extra: str) -> dict[str, object]:
    timeline, media = cut
    argv = [
        sys.executable, "-m", "hdrpipe", "conform", "--timeline", str(timeline),
        "--media", str(media), "--fps", "24", "--handles", "0", "-o", str(out),
        "-d", "exr-aces", "-d", "h264-sdr-review", "--no-progress", "--json",
        *extra,
    ]  # fmt: skip
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    doc: dict[str, object] = json.loads(proc.stdout)
    return doc


def test_each_pull_and_the_cut_get_a_report(
    cut: tuple[Path, Path], tmp_path: Path
) -> None:
    doc = _conform(cut, tmp_path / "out")
    events = {e["event"]: e for e in doc["events"]}  # type: ignore[attr-defined]
    assert len(events) == 2
    reports = {}
    for index, event in events.items():
        pull = event["pull_outputs"]
        report = Path(pull["report"])
        shot = event["shot"]
        # Beside the pull's manifest, in the pull's folder, and recorded there.
        assert report == tmp_path / "out" / shot / f"{shot}.qc.html"
        assert json.loads(Path(pull["manifest"]).read_text())["report"] == str(report)
        reports[index] = report.read_text(encoding="utf-8")
    flash, clean = reports[1], reports[2]
    # The injected flash is in the faulty shot's report, at its frame, and
    # nowhere in the clean shot's.
    assert _findings(flash).get("flash") == "warn"
    row = re.search(r'data-check="flash".*?</tr>', flash, re.S)
    assert row is not None and str(FLASH_FRAME) in row.group(0)
    assert re.search(rf"<figcaption>frame {FLASH_FRAME} <span", flash)
    assert "flash" not in _findings(clean)
    # Each report shows its pull's frames and deliverables, not its neighbour's.
    assert "exr-aces" in clean and f"{CLEAN.name}.####.exr" in clean
    assert f"{FLASH.name}.####.exr" not in clean
    # The assembled cut: its report beside its manifest, in the JSON and the
    # editorial manifest.
    master = doc["master"]
    assert isinstance(master, dict)
    cut_report = Path(master["report"])
    assert cut_report.is_file() and cut_report.name.endswith(".qc.html")
    assert json.loads(Path(master["manifest"]).read_text())["report"] == str(cut_report)
    written = json.loads(Path(str(doc["manifest"])).read_text())
    assert written["master"]["report"] == str(cut_report)
    assert [e["pull_outputs"]["report"] for e in written["events"]] == [
        str(tmp_path / "out" / e["shot"] / f"{e['shot']}.qc.html")
        for e in written["events"]
    ]
    assert "h264-sdr-review" in cut_report.read_text(encoding="utf-8")


def test_no_report(cut: tuple[Path, Path], tmp_path: Path) -> None:
    doc = _conform(cut, tmp_path / "out", "--no-report")
    assert all(
        e["pull_outputs"]["report"] is None
        for e in doc["events"]  # type: ignore[attr-defined]
    )
    assert doc["master"]["report"] is None  # type: ignore[index]
    assert list((tmp_path / "out").rglob("*.qc.html")) == []
