"""Logic of the Nuke menu, as plain functions (testable without Nuke).

The functions that touch Nuke take the ``nuke`` module as an argument (``nk``),
so tests pass a recording stand-in. Everything else builds command lines,
parses JSON results and builds node specs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
import webbrowser
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import HandoffError
from ..handoff.manifest import as_manifest
from ..handoff.nuke import NukeNode, deliverable_read, record_base
from ..handoff.nuke import _render_value as render_knob_value
from ..handoff.tcl import quote

__all__ = [
    "DEFAULT_PRESETS",
    "ReadInfo",
    "python_executable",
    "read_info",
    "validate_command",
    "conform_command",
    "parse_json_output",
    "format_report",
    "manifest_from_result",
    "result_read_specs",
    "create_args",
    "create_nodes",
    "parse_progress",
    "run_process",
    "validate_selected",
    "conform_selected",
    "open_report",
]

#: Delivery presets offered by the picker (the minimum set, docs/design-notes.md);
#: override with ``$HDRPIPE_PRESETS`` (space separated).
DEFAULT_PRESETS = (
    "prores4444xq-pq1000",
    "prores422hq-pq1000",
    "hevc-hdr10",
    "hevc-hlg",
    "h264-sdr-review",
    "exr-acescg",
    "exr-aces",
)
_PROGRESS = re.compile(r"(\d+)\s*/\s*(\d+)|(\d+(?:\.\d+)?)\s*%")


@dataclass(frozen=True, slots=True)
class ReadInfo:
    """What the hook needs from a Read node: its file pattern and frame range."""

    name: str
    path: str
    first: int
    last: int


def python_executable(env: Mapping[str, str] | None = None) -> str:
    """Python of the hdrpipe environment: ``$HDRPIPE_PYTHON`` or ``python3`` on PATH."""
    env = os.environ if env is None else env
    exe = env.get("HDRPIPE_PYTHON") or shutil.which("python3")
    if not exe:
        raise HandoffError(
            "hdrpipe: set HDRPIPE_PYTHON to the hdrpipe environment's python"
        )
    return exe


def read_info(nk: Any, node: Any) -> ReadInfo:
    """File pattern (Tcl-evaluated, frame placeholder kept) and range of a Read."""
    if node is None or node.Class() != "Read":
        raise HandoffError("hdrpipe: select a Read node")
    path = nk.filename(node)
    if not path:
        raise HandoffError(f"hdrpipe: Read {node.name()} has no file")
    return ReadInfo(
        node.name(), str(path), int(node["first"].value()), int(node["last"].value())
    )


def validate_command(info: ReadInfo, python: str, profile: str = "ray3") -> list[str]:
    """``hdrpipe validate`` argv (a list: no shell, so no quoting issue)."""
    return [
        python,
        "-m",
        "hdrpipe",
        "validate",
        info.path,
        "--profile",
        profile,
        "--json",
    ]


def conform_command(
    info: ReadInfo,
    python: str,
    presets: Sequence[str],
    outdir: str,
    *,
    fps: str | None = None,
    start_tc: str | None = None,
) -> list[str]:
    """``hdrpipe conform`` argv for the Read's range and the chosen presets."""
    if not presets:
        raise HandoffError("hdrpipe: choose at least one delivery preset")
    argv = [python, "-m", "hdrpipe", "conform", info.path]
    for preset in presets:
        argv += ["--deliver", preset]
    argv += [
        "-o",
        outdir,
        "--frames",
        f"{info.first}-{info.last}",
        "--json",
    ]
    if fps:
        argv += ["--fps", fps]
    if start_tc:
        argv += ["--start-tc", start_tc]
    return argv


def parse_json_output(stdout: str) -> dict[str, Any]:
    """Parse the single JSON document a ``--json`` command prints on stdout."""
    text = stdout.strip()
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise HandoffError(f"hdrpipe: command printed no JSON document: {err}") from err
    if not isinstance(doc, dict):
        raise HandoffError("hdrpipe: expected a JSON object on stdout")
    return doc


def format_report(doc: Mapping[str, Any]) -> str:
    """Human summary of a validate JSON report (for ``nuke.message``)."""
    frames = doc.get("frames") or {}
    lines = [
        f"{doc.get('input', '')}",
        f"status: {str(doc.get('status', '?')).upper()}",
    ]
    if frames:
        lines.append(
            f"frames {frames.get('first')}-{frames.get('last')} "
            f"({frames.get('count')}), missing: {frames.get('missing') or 'none'}"
        )
    for check in doc.get("checks", []):
        lines.append(
            f"[{check.get('status', '?')}] {check.get('id', '?')}: "
            f"{check.get('message', '')}"
        )
    return "\n".join(lines)


def manifest_from_result(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The job manifest from ``conform --json`` output.

    Accepted shapes: the manifest itself, ``{"manifest": {...}}`` or
    ``{"manifest": "/path/manifest.json"}``.
    """
    if "schema" in doc:
        return as_manifest(doc)
    inner = doc.get("manifest")
    if isinstance(inner, (Mapping, str)):
        return as_manifest(inner)
    raise HandoffError("hdrpipe: conform output has no manifest")


def result_read_specs(manifest: Mapping[str, Any]) -> list[NukeNode]:
    """Read node specs for every deliverable of a finished job (record-aligned)."""
    doc = as_manifest(manifest)
    base = record_base(doc)
    taken: set[str] = set()
    return [
        deliverable_read(doc, out, base, taken, xpos=i * 110)
        for i, out in enumerate(doc["outputs"])
    ]


def create_args(spec: NukeNode) -> str:
    """Tcl knob/value list for ``nuke.createNode(cls, args)``, each value quoted."""
    return " ".join(
        f"{key} {render_knob_value(value)}"
        for key, value in spec.knobs
        if key not in ("inputs", "xpos", "ypos")
    )


def create_nodes(nk: Any, specs: Sequence[NukeNode]) -> list[Any]:
    """Create nodes from specs with ``nuke.createNode`` (no property panel)."""
    return [nk.createNode(spec.cls, create_args(spec), False) for spec in specs]


def parse_progress(line: str) -> int | None:
    """Percent from a progress line ("12/48" or "25%"), or None."""
    m = _PROGRESS.search(line)
    if not m:
        return None
    if m.group(1):
        done, total = int(m.group(1)), int(m.group(2))
        return max(0, min(100, round(100 * done / total))) if total else None
    return max(0, min(100, round(float(m.group(3)))))


def run_process(
    argv: Sequence[str],
    on_progress: Callable[[int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> tuple[int, str, str]:
    """Run ``argv``; report stderr progress; kill it when ``cancelled()`` turns true."""
    proc = subprocess.Popen(
        list(argv),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
    )
    out_chunks: list[str] = []
    reader = threading.Thread(
        target=lambda: out_chunks.append(proc.stdout.read()),  # type: ignore[union-attr]
        daemon=True,
    )
    reader.start()
    err_lines: list[str] = []
    assert proc.stderr is not None
    for line in iter(proc.stderr.readline, ""):
        err_lines.append(line)
        pct = parse_progress(line)
        if pct is not None and on_progress:
            on_progress(pct)
        if cancelled and cancelled():
            proc.kill()
            break
    rc = proc.wait()
    reader.join()
    return rc, "".join(out_chunks), "".join(err_lines)


# --- the Nuke-touching layer: thin, every call goes through ``nk`` -------------


#: The QC report of the last job "Conform selected Read…" ran in this Nuke
#: session (``conform --json``'s ``report``): "Open QC report…" offers it.
_last_report: list[str] = []


def validate_selected(nk: Any) -> dict[str, Any] | None:
    """Menu command: validate the selected Read and show the report."""
    try:
        info = read_info(nk, nk.selectedNode())
        rc, out, err = run_process(validate_command(info, python_executable()))
        doc = parse_json_output(out)
    except (HandoffError, ValueError, OSError) as exc:
        nk.message(f"hdrpipe validate failed:\n{exc}")
        return None
    nk.message(format_report(doc))
    return doc


def conform_selected(nk: Any, *, background: bool = True) -> threading.Thread | None:
    """Menu command: pick presets, conform in a background process, add Reads."""
    try:
        info = read_info(nk, nk.selectedNode())
    except (HandoffError, ValueError) as exc:
        nk.message(str(exc))
        return None
    presets = tuple(os.environ.get("HDRPIPE_PRESETS", "").split()) or DEFAULT_PRESETS
    panel = nk.Panel("hdrpipe conform")
    panel.addEnumerationPulldown("preset", " ".join(quote(p) for p in presets))
    panel.addFilenameSearch(
        "output folder", str(Path(info.path).parent / "hdrpipe_out")
    )
    if not panel.show():
        return None
    preset, outdir = panel.value("preset"), panel.value("output folder")
    argv = conform_command(info, python_executable(), [preset], outdir)
    task = nk.ProgressTask(f"hdrpipe conform {info.name}")

    def work() -> None:
        rc, out, err = run_process(
            argv,
            on_progress=lambda pct: nk.executeInMainThread(task.setProgress, (pct,)),
            cancelled=task.isCancelled,
        )
        try:
            if rc != 0:
                raise HandoffError(f"conform exited {rc}: {err.strip()[-500:]}")
            manifest = manifest_from_result(parse_json_output(out))
            nk.executeInMainThread(create_nodes, (nk, result_read_specs(manifest)))
            report = manifest.get("report")
            if isinstance(report, str) and report:
                _last_report[:] = [report]
        except HandoffError as exc:
            nk.executeInMainThread(nk.message, (f"hdrpipe conform failed:\n{exc}",))
        finally:
            nk.executeInMainThread(task.setProgress, (100,))

    if not background:
        work()
        return None
    thread = threading.Thread(target=work, name="hdrpipe-conform", daemon=True)
    thread.start()
    return thread


def open_report(
    nk: Any,
    path: str | os.PathLike[str] | None = None,
    *,
    opener: Callable[[str], object] = webbrowser.open,
) -> str | None:
    """Menu command: open a QC report (``<name>.qc.html``) in the web browser.

    Asks for the file with ``nuke.getFilename`` when ``path`` is not given,
    offering the report of the last conform run from this session. Returns the
    ``file://`` URL opened, or None (cancelled, or no such file, which is shown
    with ``nuke.message``).
    """
    if path is None:
        if _last_report:
            path = nk.getFilename("hdrpipe QC report", "*.html", _last_report[0])
        else:
            path = nk.getFilename("hdrpipe QC report", "*.html")
        if not path:
            return None
    report = Path(path)
    if not report.is_file():
        nk.message(f"hdrpipe: no QC report at {report}")
        return None
    url = report.absolute().as_uri()
    opener(url)
    return url
