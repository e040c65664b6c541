"""The hand-off format table drives write_handoff, existing_handoff and the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from hdrpipe.handoff import (
    HANDOFF_FORMATS,
    HandoffFile,
    HandoffFormat,
    existing_handoff,
    register_handoff,
    unregister_handoff,
    write_handoff,
)


def _write_shots(doc: Mapping[str, Any], path: Path) -> Path:
    lines = [f"{s['name']},{s['record_in']},{s['record_out']}" for s in doc["shots"]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _shots(doc: Mapping[str, Any], stem: str, overwrite: bool) -> list[HandoffFile]:
    return [HandoffFile("shots", f"{stem}.shots.csv", lambda p: _write_shots(doc, p))]


@pytest.fixture
def shots_format() -> Iterator[HandoffFormat]:
    fmt = register_handoff(
        HandoffFormat(
            "shots",
            "Shot list (test format).",
            _shots,
            lambda stem, _presets: [f"{stem}.shots.csv"],
        )
    )
    try:
        yield fmt
    finally:
        unregister_handoff("shots")
    assert "shots" not in HANDOFF_FORMATS


def test_registered_format_is_written(
    manifest: dict[str, Any], tmp_path: Path, shots_format: HandoffFormat
) -> None:
    written = write_handoff(manifest, tmp_path)
    assert list(written)[:5] == ["nuke", "otio", "edl", "fcpxml", "amf"]
    path = written["shots"]
    assert path == tmp_path / f"{manifest['name']}.shots.csv"
    rows = path.read_text(encoding="utf-8").splitlines()
    assert [r.split(",")[0] for r in rows] == [s["name"] for s in manifest["shots"]]
    # its file is one a rerun without overwrite must refuse up front
    assert path in existing_handoff(tmp_path, manifest["name"], [])


def test_registered_format_can_be_left_out(
    manifest: dict[str, Any], tmp_path: Path, shots_format: HandoffFormat
) -> None:
    written = write_handoff(manifest, tmp_path, shots=False, amf=False)
    assert "shots" not in written and "amf" not in written
    assert {"nuke", "otio", "edl"} <= set(written)
    assert not list(tmp_path.glob("*.shots.csv"))


def test_unknown_format_keyword_refused(
    manifest: dict[str, Any], tmp_path: Path
) -> None:
    with pytest.raises(TypeError, match="csv"):
        write_handoff(manifest, tmp_path, csv=True)
    with pytest.raises(ValueError, match="already registered"):
        register_handoff(HANDOFF_FORMATS["nuke"])


def test_cli_flags_are_the_table(manifest: dict[str, Any], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    import hdrpipe.cli.handoff  # noqa: F401
    from hdrpipe.cli._app import app

    runner = CliRunner()
    doc = tmp_path / "m.json"
    doc.write_text(json.dumps(manifest), encoding="utf-8")
    for key in HANDOFF_FORMATS:
        out = tmp_path / key
        r = runner.invoke(
            app, ["handoff", str(doc), "-o", str(out), f"--{key}", "--json"]
        )
        assert r.exit_code == 0, r.output
        files = json.loads(r.stdout)["files"]
        assert {k.partition(":")[0] for k in files} == {key}
