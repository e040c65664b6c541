"""The import contracts (`make lint`) hold, and an import that runs back up breaks them.

Each case copies the package, adds a back-reference (a new module, or a line
appended to one) and runs ``lint-imports`` with the project's contracts on the
copy (about half a second each): the unchanged copy passes, every injected
import fails the contract it breaks.
"""

from __future__ import annotations

import os
import pkgutil
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint(tmp_path: Path, injected: dict[str, str]) -> subprocess.CompletedProcess[str]:
    if not LINT_IMPORTS.is_file():
        pytest.skip("lint-imports (the test extra) is not installed")
    copy = tmp_path / "checkout"
    shutil.copytree(
        ROOT / "hdrpipe",
        copy / "hdrpipe",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    for relative, source in injected.items():  # a new module, or appended
        with (copy / relative).open("a", encoding="utf-8") as module:
            module.write(f"\n{source}")
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "pyproject.toml"],
        capture_output=True,
        text=True,
        cwd=copy,
        # the copy, not the installed checkout, is what grimp reads
        env={**os.environ, "PYTHONPATH": str(copy)},
        timeout=120,
    )


def test_every_module_has_a_layer() -> None:
    # A module left out of the layers would be free to import anything.
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    (layers,) = [c["layers"] for c in contracts if c["type"] == "layers"]
    listed = {name.strip().strip("()") for layer in layers for name in layer.split("|")}
    modules = {
        f"hdrpipe.{m.name}" for m in pkgutil.iter_modules([str(ROOT / "hdrpipe")])
    }
    assert modules - listed == set()


def test_the_package_keeps_its_contracts(tmp_path: Path) -> None:
    run = _lint(tmp_path, {})
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


@pytest.mark.parametrize(
    ("module", "source", "broken"),
    [
        # a stage importing a later stage (encode needs nothing of the engine)
        (
            "hdrpipe/encode/_back.py",
            "from ..engine import job\n",
            "Front-ends over orchestration",
        ),
        # the base importing a stage (appended to hdrpipe/types.py)
        (
            "hdrpipe/types.py",
            "from .color import targets\n",
            "Front-ends over orchestration",
        ),
        # encode taking colour from the colour stage instead of its preset
        (
            "hdrpipe/encode/_back.py",
            "from ..color import tonemap\n",
            "Encode writes display-encoded frames",
        ),
        # validation through a colour transform
        (
            "hdrpipe/validation/_back.py",
            "import PyOpenColorIO\n",
            "Validation judges the source as stored",
        ),
        # the Nuke hook importing NumPy
        ("hdrpipe/nuke/_back.py", "import numpy\n", "The Nuke hook runs in Nuke"),
        # hand-off reaching for the engine's Manifest instead of the JSON
        (
            "hdrpipe/handoff/_back.py",
            "from ..engine.manifest import Manifest\n",
            "Hand-off reads the manifest as data",
        ),
        # a cycle between siblings: farm/plan.py imports farm/state.py, which
        # reads the plan's type under TYPE_CHECKING only
        (
            "hdrpipe/farm/state.py",
            "from .plan import FarmPlan as _Plan\n",
            "No import cycles",
        ),
    ],
)
def test_a_back_reference_breaks_a_contract(
    tmp_path: Path, module: str, source: str, broken: str
) -> None:
    run = _lint(tmp_path, {module: source})
    assert run.returncode == 1, run.stdout + run.stderr
    report = " ".join(run.stdout.split())
    assert broken in report
    assert "BROKEN" in report
    where = module.removesuffix(".py").split("/")
    assert ".".join(where) in report or f".{where[-1]} -> " in report
