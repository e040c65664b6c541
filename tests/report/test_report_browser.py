"""The QC report rendered by a real browser (Debian's headless Chromium).

``make test`` installs ``chromium`` when it is missing and may (root + apt);
these tests skip only when no chromium binary is there. Each page is loaded
from a file:// URL with the network off: the page's own script reports whether
every image decoded (``body[data-images-ok]``), the console must stay silent,
and the findings table must list exactly the injected faults.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from fixtures.faults import FAULT_FRAMES, FAULTS, make_faulty_plate
from fixtures.generate import make_plate
from hdrpipe.validation import CheckResult, Report, validate
from hdrpipe.validation.profiles import FOOTAGE_CHECKS

CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium not installed (make test installs it as root)"
)
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
    "--virtual-time-budget=10000",
)


def _chromium(tmp: Path, *args: str) -> tuple[str, str]:
    assert CHROMIUM is not None
    profile = tmp / f"chromium-profile-{len(list(tmp.glob('chromium-profile-*')))}"
    proc = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout, proc.stderr


def _load(html: Path, tmp: Path) -> str:
    """The DOM after load; fails on any console message (errors, CSP reports)."""
    dom, err = _chromium(tmp, "--dump-dom", html.as_uri())
    console = [line for line in err.splitlines() if ":CONSOLE" in line]
    assert console == [], console
    body = re.search(r"<body[^>]*>", dom)
    assert body is not None
    assert 'data-images-ok="true"' in body.group(0), body.group(0)
    count = re.search(r'data-images="(\d+)"', body.group(0))
    assert count is not None and int(count.group(1)) == dom.count("<img ")
    return dom


def _findings(dom: str) -> dict[str, str]:
    rows = re.findall(
        r'<tr class="finding [a-z]+" data-check="([^"]+)" '
        r'data-status="([^"]+)"',
        dom,
    )
    return dict(rows)


@pytest.fixture(scope="module")
def plates(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    root = tmp_path_factory.mktemp("report-plates")
    made: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in made:
            made[name] = (
                make_plate(root / name, width=256, height=144, frames=12, seed=3)
                if name == "clean"
                else make_faulty_plate(root / name, name, seed=5)
            )
        return made[name]

    return get


def test_clean_plate_report_renders_with_no_finding(
    plates: Callable[[str], Path], tmp_path: Path
) -> None:
    from hdrpipe.report import write_report

    html = write_report(validate(plates("clean")), tmp_path / "clean.html")
    dom = _load(html, tmp_path)
    findings = _findings(dom)
    assert set(FOOTAGE_CHECKS) <= set(findings)
    assert {k: v for k, v in findings.items() if v != "pass"} == {}
    # Contact sheet: first, middle and last frame, each an inlined PNG.
    assert re.findall(r"<figcaption>frame (\d+)", dom) == ["1001", "1007", "1012"]
    assert "http://" not in dom and "https://" not in dom
    shot = tmp_path / "clean.png"
    _chromium(
        tmp_path,
        "--hide-scrollbars",
        "--window-size=1280,2400",
        f"--screenshot={shot}",
        html.as_uri(),
    )
    assert shot.stat().st_size > 50_000  # a rendered page, not a blank one


@pytest.mark.parametrize("fault", FAULTS)
def test_findings_list_the_injected_fault(
    plates: Callable[[str], Path], tmp_path: Path, fault: str
) -> None:
    from hdrpipe.report import write_report

    html = write_report(validate(plates(fault)), tmp_path / f"{fault}.html")
    dom = _load(html, tmp_path)
    flagged = {k: v for k, v in _findings(dom).items() if v != "pass"}
    assert flagged == {fault: "warn"}
    row = re.search(rf'data-check="{fault}".*?</tr>', dom, re.S)
    assert row is not None
    for offset in FAULT_FRAMES[fault]:
        assert str(1001 + offset) in row.group(0)
    # Flagged frames join the contact sheet, captioned with the check id.
    for offset in FAULT_FRAMES[fault]:
        assert re.search(
            rf"<figcaption>frame {1001 + offset} <span class=\"flag\">[^<]*{fault}", dom
        )


def test_hostile_names_are_shown_not_run(tmp_path: Path) -> None:
    from hdrpipe.report import write_report

    # ("<" and ">" in a folder name: fileseq reads them as a token; see the
    # check message below for markup.)
    folder = tmp_path / "sh\"010'&amp;"
    pattern = make_plate(folder, width=64, height=36, frames=3, seed=1)
    real = validate(pattern)
    evil = CheckResult(
        "readable",
        "warn",
        "bad\x00<img src=x onerror=\"document.body.dataset.pwned='2'\">",
        (1002,),
        {"note": "</pre><script>document.body.dataset.pwned='3'</script>"},
    )
    report = Report(
        status="warn",
        checks=(evil, *real.checks[1:]),
        input=real.input,
        frames=real.frames,
        profile=real.profile,
    )
    html = write_report(report, tmp_path / "hostile.html")
    text = html.read_text(encoding="utf-8")
    assert "\x00" not in text and "\ufffd" in text
    dom = _load(html, tmp_path)
    assert "data-pwned" not in dom
    assert "&lt;script&gt;document.body.dataset.pwned" in dom
    # Escaped in the file; back to the literal name as the browser shows it.
    assert "sh&quot;010&#x27;&amp;amp;" in text
    assert "sh\"010'&amp;amp;" in dom


#: ``make demo``'s deliverables (on a small plate: the same presets and tags).
DEMO_PRESETS = ("prores4444xq-pq1000", "hevc-hdr10", "h264-sdr-review", "exr-acescg")


def _deliverable_rows(dom: str) -> dict[str, tuple[str, str]]:
    """preset → (tag-lint status, the row's HTML) as the browser built the page."""
    rows = re.findall(
        r'(<tr class="deliverable [a-z/]+" data-preset="([^"]+)" '
        r'data-taglint="([^"]+)">.*?</tr>)',
        dom,
        re.S,
    )
    return {preset: (status, row) for row, preset, status in rows}


def test_tag_lint_passes_on_the_demo_and_fails_a_retagged_movie(
    tmp_path: Path,
) -> None:
    import json
    import subprocess
    import sys

    from hdrpipe.cli import main

    plate = make_plate(tmp_path / "plate", width=256, height=144, frames=6, seed=9)
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "hdrpipe", "conform", str(plate), "-o", str(out)]
    for preset in DEMO_PRESETS:
        argv += ["-d", preset]
    proc = subprocess.run([*argv, "--json"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    job = json.loads(proc.stdout)
    dom = _load(Path(job["report"]), tmp_path)
    rows = _deliverable_rows(dom)
    assert sorted(rows) == sorted(DEMO_PRESETS)
    assert {p: s for p, (s, _row) in rows.items()} == dict.fromkeys(
        DEMO_PRESETS, "pass"
    )
    # Re-tag the ProRes master's transfer as BT.709 in its colr box (the
    # bitstream still says PQ): the report made now shows the lint failing,
    # with the mismatches, and the other deliverables still passing.
    movie = Path(
        next(o["path"] for o in job["outputs"] if o["preset"] == DEMO_PRESETS[0])
    )
    data = bytearray(movie.read_bytes())
    at = data.find(b"colrnclc")
    assert at > 0 and data[at + 10 : at + 12] == (16).to_bytes(2, "big")
    data[at + 10 : at + 12] = (1).to_bytes(2, "big")
    movie.write_bytes(bytes(data))
    manifest = out / "plate.manifest.json"
    again = tmp_path / "again.html"
    assert main(["report", str(manifest), "-o", str(again)]) == 0
    rows = _deliverable_rows(_load(again, tmp_path))
    status, row = rows[DEMO_PRESETS[0]]
    assert status == "fail"
    assert '<span class="status fail">fail</span>' in row
    # (the browser's DOM shows the escaped quotes as plain ones)
    assert "colr: expected" in row and "'transfer': 1, " in row
    assert "transfer: expected 'PQ', MediaInfo/PyAV read 'BT.709'" in row
    assert {p: s for p, (s, _r) in rows.items() if p != DEMO_PRESETS[0]} == (
        dict.fromkeys(DEMO_PRESETS[1:], "pass")
    )
    # A deliverable gone since the job fails too.
    movie.unlink()
    assert main(["report", str(manifest), "-o", str(again)]) == 0
    status, row = _deliverable_rows(_load(again, tmp_path))[DEMO_PRESETS[0]]
    assert status == "fail" and "no such file" in row
