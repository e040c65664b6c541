"""The Nuke hook's logic, driven through a recording stand-in for ``nuke``."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path
from typing import Any

import pytest
from fake_nuke import FakeNode, FakeNuke
from handoff_helpers import HOSTILE_NAMES

from hdrpipe.errors import HandoffError
from hdrpipe.handoff.tcl import tokenize, unescape_subst
from hdrpipe.nuke import hook


def plate_node(
    path: str = "/abs/shots/sh010/plate.####.exr",
) -> tuple[FakeNode, dict[str, str]]:
    node = FakeNode("Read", "Read1", {"first": 1001, "last": 1048})
    return node, {"Read1": path}


def fake_hdrpipe(tmp_path: Path, stdout: dict[str, Any], rc: int = 0) -> Path:
    """Executable standing in for hdrpipe's python: logs argv, prints progress, JSON."""
    script = tmp_path / "fake_python"
    log = tmp_path / "argv.json"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        f"json.dump(sys.argv[1:], open({str(log)!r}, 'w'))\n"
        "for i in (12, 24, 48):\n"
        "    print(f'frames {i}/48', file=sys.stderr, flush=True)\n"
        f"sys.stdout.write({json.dumps(stdout)!r})\n"
        f"sys.exit({rc})\n",
        encoding="utf-8",
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_commands_are_argv_lists() -> None:
    info = hook.ReadInfo("Read1", HOSTILE_NAMES[0], 1001, 1048)
    assert hook.validate_command(info, "/py") == [
        "/py",
        "-m",
        "hdrpipe",
        "validate",
        HOSTILE_NAMES[0],
        "--profile",
        "ray3",
        "--json",
    ]
    argv = hook.conform_command(
        info,
        "/py",
        ["prores4444xq-pq1000", "exr-acescg"],
        "/out dir",
        fps="24000/1001",
        start_tc="01:00:00:00",
    )
    assert argv == [
        "/py",
        "-m",
        "hdrpipe",
        "conform",
        HOSTILE_NAMES[0],
        "--deliver",
        "prores4444xq-pq1000",
        "--deliver",
        "exr-acescg",
        "-o",
        "/out dir",
        "--frames",
        "1001-1048",
        "--json",
        "--fps",
        "24000/1001",
        "--start-tc",
        "01:00:00:00",
    ]
    with pytest.raises(HandoffError):
        hook.conform_command(info, "/py", [], "/out")


@pytest.mark.parametrize(
    ("line", "pct"),
    [("frames 12/48", 25), ("50%", 50), ("done 48/48", 100), ("hello", None)],
)
def test_parse_progress(line: str, pct: int | None) -> None:
    assert hook.parse_progress(line) == pct


def test_create_args_are_tcl_safe(manifest: dict[str, Any]) -> None:
    # a movie name without '#': Nuke reads every '#' in a file knob as a digit
    movie = f"/abs/out/{HOSTILE_NAMES[0].replace('.####.exr', '')}.mov"
    manifest["outputs"][0]["path"] = movie
    specs = hook.result_read_specs(manifest)
    assert [s.cls for s in specs] == ["Read", "Read", "Read"]
    words = tokenize(hook.create_args(specs[0]))[0]
    knobs = dict(zip(words[::2], words[1::2], strict=True))
    assert unescape_subst(knobs["file"]) == movie
    assert (knobs["frame_mode"], knobs["frame"], knobs["first"], knobs["last"]) == (
        "start at",
        "1001",
        "1",
        "48",
    )


def test_validate_selected_shows_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = {
        "status": "fail",
        "input": "/abs/shots/sh010/plate.####.exr",
        "frames": {"first": 1001, "last": 1048, "count": 47, "missing": [1017]},
        "checks": [
            {
                "id": "continuity",
                "status": "fail",
                "message": "1 frame missing: 1017",
                "frames": [1017],
                "details": {},
            }
        ],
    }
    monkeypatch.setenv("HDRPIPE_PYTHON", str(fake_hdrpipe(tmp_path, report)))
    node, names = plate_node()
    nk = FakeNuke(selected=node, filenames=names)
    assert hook.validate_selected(nk) == report
    assert nk.names() == ["selectedNode", "filename", "message"]
    text = nk.calls[-1][1][0]
    assert "FAIL" in text and "continuity: 1 frame missing: 1017" in text
    argv = json.loads((tmp_path / "argv.json").read_text())
    assert argv == [
        "-m",
        "hdrpipe",
        "validate",
        "/abs/shots/sh010/plate.####.exr",
        "--profile",
        "ray3",
        "--json",
    ]


def test_validate_needs_a_read() -> None:
    nk = FakeNuke(selected=FakeNode("Blur", "Blur1"))
    assert hook.validate_selected(nk) is None
    assert nk.names() == ["selectedNode", "message"]


def test_conform_selected_creates_reads(
    manifest: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "HDRPIPE_PYTHON", str(fake_hdrpipe(tmp_path, {"manifest": manifest}))
    )
    node, names = plate_node()
    nk = FakeNuke(
        selected=node,
        filenames=names,
        panel_values={"preset": "prores4444xq-pq1000", "output folder": "/abs/out"},
    )
    hook.conform_selected(nk, background=False)
    created = [c[1] for c in nk.calls if c[0] == "createNode"]
    assert [c[0] for c in created] == ["Read", "Read", "Read"]
    assert all(c[2] is False for c in created)
    files = [
        dict(zip(w[::2], w[1::2], strict=True))["file"]
        for w in (tokenize(c[1])[0] for c in created)
    ]
    assert files == [o["path"] for o in manifest["outputs"]]
    progress = [c[1][0] for c in nk.calls if c[0] == "ProgressTask.setProgress"]
    assert progress == [25, 50, 100, 100]
    argv = json.loads((tmp_path / "argv.json").read_text())
    assert argv[:4] == ["-m", "hdrpipe", "conform", "/abs/shots/sh010/plate.####.exr"]
    assert argv[4:6] == ["--deliver", "prores4444xq-pq1000"]


def test_conform_failure_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "HDRPIPE_PYTHON", str(fake_hdrpipe(tmp_path, {"error": "x"}, rc=1))
    )
    node, names = plate_node()
    nk = FakeNuke(
        selected=node,
        filenames=names,
        panel_values={"preset": "hevc-hdr10", "output folder": "/abs/out"},
    )
    hook.conform_selected(nk, background=False)
    assert "createNode" not in nk.names()
    messages = [c[1][0] for c in nk.calls if c[0] == "message"]
    assert len(messages) == 1 and "exited 1" in messages[0]


def test_menu_registers_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    nk = FakeNuke()
    monkeypatch.setitem(sys.modules, "nuke", nk)
    monkeypatch.delitem(sys.modules, "hdrpipe.nuke.menu", raising=False)
    import hdrpipe.nuke.menu  # noqa: F401

    added = [c[1][:2] for c in nk.calls if c[0] == "menu.addCommand"]
    assert added == [
        ("Nuke/hdrpipe", "Validate selected Read"),
        ("Nuke/hdrpipe", "Conform selected Read…"),
        ("Nuke/hdrpipe", "Open QC report…"),
    ]


def test_open_report_opens_the_file_url(tmp_path: Path) -> None:
    report = tmp_path / "sh 010.qc.html"
    report.write_text("<!DOCTYPE html>", encoding="utf-8")
    opened: list[str] = []
    nk = FakeNuke()
    nk.getFilename = lambda title, pattern: str(report)  # type: ignore[attr-defined]
    assert hook.open_report(nk, opener=opened.append) == report.as_uri()
    assert opened == [report.as_uri()] and "%20" in opened[0]
    assert hook.open_report(nk, tmp_path / "gone.html", opener=opened.append) is None
    assert [c[0] for c in nk.calls] == ["message"] and len(opened) == 1


def test_open_report_offers_the_last_conforms_report(
    manifest: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What ``conform --json`` prints: the manifest with "report" pointing at
    # the QC page; "Open QC report…" then offers that page.
    report = tmp_path / "out" / "sh010.qc.html"
    report.parent.mkdir()
    report.write_text("<!DOCTYPE html>", encoding="utf-8")
    doc = {**manifest, "report": str(report)}
    monkeypatch.setenv("HDRPIPE_PYTHON", str(fake_hdrpipe(tmp_path, doc)))
    monkeypatch.setattr(hook, "_last_report", [])
    node, names = plate_node()
    nk = FakeNuke(
        selected=node,
        filenames=names,
        panel_values={"preset": "prores4444xq-pq1000", "output folder": "/abs/out"},
    )
    hook.conform_selected(nk, background=False)
    offered: list[tuple[str, ...]] = []

    def get_filename(*args: str) -> str:
        offered.append(args)
        return args[2]  # the user accepts the offered file

    nk.getFilename = get_filename  # type: ignore[attr-defined]
    opened: list[str] = []
    assert hook.open_report(nk, opener=opened.append) == report.as_uri()
    assert offered == [("hdrpipe QC report", "*.html", str(report))]
    assert opened == [report.as_uri()]
