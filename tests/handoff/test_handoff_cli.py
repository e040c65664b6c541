"""``hdrpipe handoff`` command (the typer app, without loading other stages)."""

from __future__ import annotations

import json
from pathlib import Path

from handoff_helpers import SAMPLE
from typer.testing import CliRunner

import hdrpipe.cli.handoff  # noqa: F401  (registers the command)
from hdrpipe.cli._app import app
from hdrpipe.errors import HandoffError, InputError


def test_handoff_json(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["handoff", str(SAMPLE), "--nuke", "--edl", "-o", str(tmp_path), "--json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert set(doc["files"]) == {"nuke", "edl"}
    assert (
        Path(doc["files"]["nuke"]).read_text(encoding="utf-8").startswith("#! nuke -nx")
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sh010.edl", "sh010.nk"]


def test_handoff_all_by_default(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["handoff", str(SAMPLE), "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    kinds = [line.split("\t")[0] for line in result.stdout.splitlines()]
    assert kinds == ["nuke", "otio", "edl", "fcpxml", "amf"]


def test_missing_manifest_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["handoff", str(tmp_path / "nope.json"), "-o", str(tmp_path)]
    )
    # main() maps HdrpipeError.exit_code; InputError means exit 2
    assert isinstance(result.exception, HandoffError)
    assert isinstance(result.exception, InputError)
    assert result.exception.exit_code == 2


def test_literal_hash_in_a_source_is_a_usage_error(tmp_path: Path) -> None:
    doc = json.loads(SAMPLE.read_text(encoding="utf-8"))
    doc["inputs"][0]["path"] = "/abs/shots/take#2/plate.####.exr"
    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps(doc), encoding="utf-8")
    result = CliRunner().invoke(
        app, ["handoff", str(manifest), "--nuke", "--otio", "-o", str(tmp_path)]
    )
    assert isinstance(result.exception, HandoffError)
    assert isinstance(result.exception, InputError)
    assert result.exception.exit_code == 2
    assert "literal '#'" in str(result.exception)
    assert "rename or link the file" in str(result.exception)
    assert (tmp_path / "sh010.otio").is_file() and not (tmp_path / "sh010.nk").exists()
