"""``hdrpipe targets``: JSON listing, $OCIO, and exit 2 on an unreadable config."""

from __future__ import annotations

import json
from pathlib import Path

import PyOpenColorIO as ocio  # noqa: N813  (the name OCIO documents)
import pytest

import hdrpipe.cli as cli


@pytest.fixture(autouse=True)
def _only_colour_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    # Other stages' command modules are developed in parallel; load only ours.
    monkeypatch.setattr(cli, "_COMMAND_MODULES", ("color",))


def test_targets_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["targets", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["config"]["source"] == "project"
    assert doc["config"]["name"].startswith("hdrpipe-config-")
    names = [t["name"] for t in doc["targets"]]
    assert names == [
        "hdr-pq-1000-rec2020",
        "hdr-pq-1000-p3d65",
        "hdr-pq-600-rec2020",
        "hlg-1000",
        "sdr-rec709",
        "acescg",
        "acescct",
        "aces2065-1",
    ]
    hlg = doc["targets"][names.index("hlg-1000")]
    assert (hlg["display"], hlg["view"]) == (
        "Rec.2100-HLG - Display",
        "ACES 2.0 - HDR 1000 nits (Rec.2020)",
    )


def test_targets_human(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["targets"]) == 0
    out = capsys.readouterr().out
    assert (
        "hdr-pq-1000-rec2020  Rec.2100-PQ - Display / "
        "ACES 2.0 - HDR 1000 nits (Rec.2020)" in out
    )
    assert "[pq, rec2020, 1000 nits]" in out


def test_targets_uses_env_ocio(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "studio.ocio"
    other.write_text(
        ocio.Config.CreateFromFile("ocio://studio-config-latest").serialize(),
        encoding="utf-8",
    )
    monkeypatch.setenv("OCIO", str(other))
    assert cli.main(["targets", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["config"]["source"], doc["config"]["uri"]) == (
        "$OCIO",
        str(other.resolve()),
    )


@pytest.mark.parametrize("config", ["/nonexistent", "ocio://no-such-config"], ids=str)
def test_unreadable_config_exits_2_with_one_line(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["targets", "--config", config]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert (
        len(lines) == 1
        and lines[0].startswith("hdrpipe: error: ")
        and "OCIO config" in lines[0]
    )
