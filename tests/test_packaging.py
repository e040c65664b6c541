"""The shipped OCIO config: one source at the top of the checkout, in the wheel too."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from hdrpipe.color import config as color_config

ROOT = Path(__file__).resolve().parents[1]


def test_checkout_config_is_the_one_the_install_uses() -> None:
    assert (ROOT / "ocio_configs" / "config.ocio").is_file()
    assert color_config.PROJECT_CONFIG == (ROOT / "ocio_configs" / "config.ocio")
    assert not (ROOT / "hdrpipe" / "ocio_configs").exists()  # no second copy
    _, info = color_config.resolve_config()
    assert Path(info.uri) == ROOT / "ocio_configs" / "config.ocio"


def test_config_is_what_build_config_writes() -> None:
    sys.path.insert(0, str(ROOT / "ocio_configs"))
    try:
        import build_config
    finally:
        sys.path.pop(0)
    assert build_config.OUTPUT == ROOT / "ocio_configs" / "config.ocio"
    assert build_config.main(["--check"]) == 0


def test_declared_packages_are_the_tree() -> None:
    # pyproject.toml lists the packages (a mapped sub-package cannot be
    # discovered): a new sub-package missing from the list would be left out of
    # the wheel.
    setup = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "hdrpipe").rglob("__init__.py")
    }
    assert set(setup["packages"]) == on_disk | {"hdrpipe.ocio_configs"}
    assert setup["package-dir"] == {"hdrpipe.ocio_configs": "ocio_configs"}


def _uv() -> str:
    for candidate in (ROOT / ".venv-tools" / "bin" / "uv", shutil.which("uv")):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    pytest.skip("uv (installed by the Makefile into .venv-tools) is not available")


@pytest.mark.slow
def test_wheel_carries_the_config(tmp_path: Path) -> None:
    uv = _uv()
    env = {k: v for k, v in os.environ.items() if k not in {"OCIO", "VIRTUAL_ENV"}}
    env["UV_PYTHON_DOWNLOADS"] = "never"

    def run(*args: str, cwd: Path = tmp_path) -> str:
        done = subprocess.run(
            args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, f"{args}: {done.stderr[-2000:]}"
        return done.stdout

    # Built from a copy: setuptools leaves build/ and *.egg-info in its source.
    src = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for name in ("hdrpipe", "ocio_configs"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    dist = tmp_path / "dist"
    run(uv, "build", "--wheel", "--out-dir", str(dist), str(src))
    (wheel,) = dist.glob("hdrpipe-*.whl")
    venv = tmp_path / "venv"
    run(uv, "venv", "-q", "--python", sys.executable, str(venv))
    # The wheel's dependencies at the locked versions (from uv's cache after the
    # project's own `uv sync`).
    locked = tmp_path / "locked.txt"
    locked.write_text(
        run(
            uv,
            "export",
            "-q",
            "--locked",
            "--no-hashes",
            "--no-emit-project",
            "--project",
            str(ROOT),
        )
    )
    python = venv / "bin" / "python"
    run(
        uv,
        "pip",
        "install",
        "-q",
        "--python",
        str(python),
        "-c",
        str(locked),
        str(wheel),
    )
    out = json.loads(run(str(venv / "bin" / "hdrpipe"), "targets", "--json"))
    site = Path(
        run(
            str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"
        ).strip()
    )
    assert out["config"]["source"] == "project"
    assert (
        Path(out["config"]["uri"]) == site / "hdrpipe" / "ocio_configs" / "config.ocio"
    )
    assert out["config"]["name"].startswith("hdrpipe-config-")
    assert (site / "hdrpipe" / "ocio_configs" / "README.md").is_file()
