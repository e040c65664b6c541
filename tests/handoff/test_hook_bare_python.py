"""The Nuke hook in a Python without hdrpipe's dependencies, as Nuke's own Python is.

A fresh venv (no packages) stands in for Nuke's interpreter: the hook's folder
is run the way NUKE_PATH runs it (``init.py`` puts the checkout on ``sys.path``,
``menu.py`` adds the menu), and "Validate selected Read" runs against a stand-in
for the hdrpipe environment's Python. None of PyAV, OpenTimelineIO, OCIO,
OpenImageIO, OpenEXR or NumPy may be imported (nor importable: the venv is
checked to lack them, so the test cannot pass by finding them).
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOOK_DIR = ROOT / "hdrpipe" / "nuke"
HEAVY = ("av", "opentimelineio", "PyOpenColorIO", "OpenImageIO", "OpenEXR", "numpy")

REPORT = {
    "status": "pass",
    "input": "/shots/sh010/plate.####.exr",
    "frames": {"first": 1001, "last": 1003, "count": 3, "missing": []},
    "checks": [{"id": "continuity", "status": "pass", "message": "no gaps"}],
}

# Runs inside the bare venv: Nuke's start-up sequence, then a menu command.
SCRIPT = textwrap.dedent(
    """
    import importlib.util, json, runpy, sys
    hook_dir, tests_dir, heavy = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
    present = [m for m in heavy if importlib.util.find_spec(m) is not None]
    assert not present, f"the bare venv has {present}"

    runpy.run_path(f"{hook_dir}/init.py")          # NUKE_PATH: init.py
    sys.path.insert(0, tests_dir)
    from fake_nuke import FakeNode, FakeNuke
    node = FakeNode("Read", "Read1", {"first": 1001, "last": 1003})
    nk = FakeNuke(selected=node, filenames={"Read1": "/shots/sh010/plate.####.exr"})
    sys.modules["nuke"] = nk
    runpy.run_path(f"{hook_dir}/menu.py")          # NUKE_PATH: menu.py (GUI)
    from hdrpipe.nuke import hook
    doc = hook.validate_selected(nk)
    print(json.dumps({
        "doc": doc,
        "messages": [c[1][0] for c in nk.calls if c[0] == "message"],
        "commands": [c[1][1] for c in nk.calls if c[0] == "menu.addCommand"],
        "heavy": sorted(m for m in sys.modules if m.split(".")[0] in heavy),
        "hdrpipe": hook.__file__,
    }))
    """
)


def test_hook_runs_in_a_python_without_the_dependencies(tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    venv.EnvBuilder(with_pip=False, system_site_packages=False).create(bare)
    python = bare / "bin" / "python"
    fake = tmp_path / "hdrpipe_python"  # the hdrpipe environment's python
    fake.write_text(
        f"#!{python}\nimport sys\nsys.stdout.write({json.dumps(REPORT)!r})\n",
        encoding="utf-8",
    )
    fake.chmod(0o755)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "HDRPIPE_PYTHON": str(fake),
    }
    run = subprocess.run(
        [
            str(python),
            "-I",  # no PYTHONPATH, no user site: only what init.py adds
            "-c",
            SCRIPT,
            str(HOOK_DIR),
            str(ROOT / "tests" / "handoff"),
            ",".join(HEAVY),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["heavy"] == []
    assert Path(result["hdrpipe"]).resolve() == HOOK_DIR / "hook.py"
    assert result["commands"] == [
        "Validate selected Read",
        "Conform selected Read…",
        "Open QC report…",
    ]
    assert result["doc"] == REPORT
    assert len(result["messages"]) == 1
    assert "status: PASS" in result["messages"][0]
