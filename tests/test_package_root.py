"""The package root: light to import, lazy public names, one version."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import hdrpipe
from hdrpipe._version import __version__

ROOT = Path(__file__).resolve().parents[1]
#: What `import hdrpipe` must not load (each costs a second or more, and Nuke's
#: Python, a farm task's or `hdrpipe --help` need none of them up front).
HEAVY = (
    "av",
    "opentimelineio",
    "PyOpenColorIO",
    "OpenImageIO",
    "OpenEXR",
    "numpy",
    "cv2",
    "colour",
    "dask",
    "matplotlib",
)


def _modules_after(code: str) -> list[str]:
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=True,
    )
    return list(json.loads(run.stdout.splitlines()[-1]))


def test_import_root_loads_no_stage() -> None:
    loaded = _modules_after("import hdrpipe; hdrpipe.__version__; dir(hdrpipe)")
    assert [m for m in loaded if m.split(".")[0] in HEAVY] == []
    assert sorted(m for m in loaded if m.startswith("hdrpipe")) == [
        "hdrpipe",
        "hdrpipe._version",
    ]


def test_value_types_and_errors_stay_light() -> None:
    loaded = _modules_after("from hdrpipe import Rate, InputError, HdrpipeError")
    assert [m for m in loaded if m.split(".")[0] in HEAVY] == []


def test_public_names_resolve_to_their_stage() -> None:
    from hdrpipe.handoff import write_nuke_script
    from hdrpipe.sequence import open_sequence
    from hdrpipe.types import Rate

    assert hdrpipe.open_sequence is open_sequence
    assert hdrpipe.write_nuke_script is write_nuke_script
    assert hdrpipe.Rate is Rate
    assert hdrpipe.farm.plan is hdrpipe.farm.plan_job
    assert hdrpipe.__version__ == __version__
    for name in hdrpipe.__all__:
        assert getattr(hdrpipe, name) is not None, name
    assert set(hdrpipe.__all__) <= set(dir(hdrpipe))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        hdrpipe.nope  # noqa: B018


def test_version_is_the_packaged_one() -> None:
    from importlib.metadata import version

    assert version("hdrpipe") == __version__


def test_public_functions_are_not_replaced_by_stage_imports() -> None:
    # Importing every module of the package (as the engine, the CLI and the
    # tests do, in any order) leaves hdrpipe.validate / hdrpipe.conform the
    # documented functions: no stage package has their names.
    code = (
        "import hdrpipe, importlib, pkgutil\n"
        "for m in pkgutil.walk_packages(hdrpipe.__path__, 'hdrpipe.'):\n"
        "    if m.name not in ('hdrpipe.nuke.menu', 'hdrpipe.__main__'):\n"
        "        importlib.import_module(m.name)\n"
        "import hdrpipe as h\n"
        "print(type(h.validate).__name__, type(h.conform).__name__)"
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["function", "function"]
