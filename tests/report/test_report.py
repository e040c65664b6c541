"""QC report: entry points (conform hook, ``hdrpipe report``, ``validate --report``),
what the page carries from the manifest, and the measured gamut maps."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.generate import make_plate
from hdrpipe.cli import main
from hdrpipe.color import Transform
from hdrpipe.report.analyse import analyse_shot
from hdrpipe.report.html import esc
from hdrpipe.sequence import open_sequence


@pytest.fixture(scope="module")
def plate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_plate(
        tmp_path_factory.mktemp("report"), width=256, height=144, frames=10, seed=7
    )


@pytest.fixture(scope="module")
def job(plate: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    out = tmp_path_factory.mktemp("job")
    argv = ["conform", str(plate), "-d", "hevc-hdr10", "-d", "h264-sdr-review"]
    proc = subprocess.run(
        [sys.executable, "-m", "hdrpipe", *argv, "-o", str(out), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    doc: dict[str, object] = json.loads(proc.stdout)
    return doc


def test_conform_writes_the_report_and_points_at_it(job: dict[str, object]) -> None:
    report = Path(str(job["report"]))
    assert report.name == "plate.qc.html" and report.is_file()
    manifest = json.loads((report.parent / "plate.manifest.json").read_text())
    assert manifest["report"] == str(report)
    html = report.read_text(encoding="utf-8")
    # Deliverables with the probe's values and the measured HDR metadata.
    hevc = next(o for o in manifest["outputs"] if o["preset"] == "hevc-hdr10")
    assert esc(hevc["path"]) in html
    assert (
        f"MaxCLL {hevc['hdr']['max_cll']} / MaxFALL {hevc['hdr']['max_fall']}" in html
    )
    assert f"probe {hevc['probe']['max_cll']} / {hevc['probe']['max_fall']}" in html
    # The job's meter keeps every frame's light: the curves need no re-read,
    # and their maxima are the deliverable's MaxCLL / MaxFALL.
    per = hevc["light_level_meter"]["per_frame"]
    assert len(per["max_rgb"]) == len(per["frame_average"]) == manifest["frames"]
    assert round(max(per["max_rgb"])) == hevc["hdr"]["max_cll"]
    assert round(max(per["frame_average"])) == hevc["hdr"]["max_fall"]
    assert "on every frame of the hevc-hdr10 deliverable" in html
    # Colour pipeline: config and each target with its colour path.
    assert esc(manifest["color"]["config"]["name"]) in html
    for target, path in manifest["color"]["color_path"].items():
        assert re.search(
            rf"<td>{re.escape(target)}</td><td>[^<]*</td><td>{path}</td>", html
        )
    # Findings: the same ids, in the same order, as the manifest's validation.
    ids = [c["id"] for c in manifest["inputs"][0]["validation"]["checks"]]
    assert re.findall(r'data-check="([^"]+)"', html) == ids


def test_report_command(
    job: dict[str, object], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = Path(str(job["report"])).parent / "plate.manifest.json"
    out = tmp_path / "again.html"
    assert main(["report", str(manifest), "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert main(["report", str(tmp_path / "nope.manifest.json")]) == 2


def test_validate_report_html_or_json(
    plate: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    html, js = tmp_path / "v.html", tmp_path / "v.json"
    assert main(["validate", str(plate), "--report", str(html)]) == 0
    assert main(["validate", str(plate), "--report", str(js)]) == 0
    capsys.readouterr()
    assert "<!DOCTYPE html>" in html.read_text(encoding="utf-8")
    assert json.loads(js.read_text())["status"] == "pass"


def test_gamut_maps_of_the_fixture(plate: Path) -> None:
    # The fixture holds Rec.2020-primary patches (inside AP1, outside P3-D65) and
    # nothing outside AP1 (it is authored in AP1).
    a = analyse_shot(
        open_sequence(str(plate)),
        hdr=Transform(target="hdr-pq-1000-rec2020", color_path="exact"),
        sdr=Transform(target="sdr-rec709", color_path="exact"),
    )
    assert a.share_ap1 < 1e-3
    assert a.share_p3 is not None and a.share_p3 > 5e-3
    assert sorted(a.contact) == [1001, 1006, 1010]
    assert a.curve_frames == tuple(range(1001, 1011))
    # Every frame holds 100x-diffuse-white speculars: near the 1000-nit peak.
    assert min(a.max_rgb) > 500.0


def test_report_does_not_import_pyplot(plate: Path, tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from hdrpipe.report import write_report\n"
        "from hdrpipe.validation import validate\n"
        f"write_report(validate({str(plate)!r}), {str(tmp_path / 'r.html')!r})\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_nonfinite_map_marks_every_poisoned_pixel(tmp_path: Path) -> None:
    import numpy as np

    from hdrpipe.exr import read_pixels
    from hdrpipe.validation import validate

    pattern = make_plate(
        tmp_path, width=256, height=144, frames=8, variant="nonfinite", seed=2
    )
    checks = [c.to_dict() for c in validate(pattern).checks]
    a = analyse_shot(
        open_sequence(str(pattern)),
        checks=checks,
        hdr=Transform(target="hdr-pq-1000-rec2020", color_path="exact"),
        sdr=Transform(target="sdr-rec709", color_path="exact"),
    )
    frame, mask = a.bad_pixel_maps["nonfinite"]
    px = read_pixels(str(pattern).replace("####", str(frame)), channels="RGB")
    bad = ~np.isfinite(px).all(axis=2)  # 256 px wide: one map cell per pixel
    assert a.step == 1 and frame == 1006
    np.testing.assert_array_equal(mask, bad)
    assert frame in a.contact and a.flagged[frame] == ("nonfinite",)


def test_damaged_frame_is_listed_not_fatal(tmp_path: Path) -> None:
    from hdrpipe.report import write_report
    from hdrpipe.validation import validate

    pattern = make_plate(tmp_path, width=64, height=36, frames=6, variant="truncated")
    html = write_report(validate(pattern), tmp_path / "r.html").read_text("utf-8")
    assert 'data-check="readable" data-status="fail"' in html
    assert "Unreadable frames skipped: 1006" in html
