"""Class 4: existing hand-off files are never replaced without ``--overwrite``."""

from __future__ import annotations

from pathlib import Path

import pytest

from hdrpipe.cli import main
from hdrpipe.engine import ConformJob, conform
from hdrpipe.errors import HandoffError
from hdrpipe.handoff import write_handoff


@pytest.fixture
def conformed(plate: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    conform(
        ConformJob(inputs=(str(plate),), deliver=("prores422hq-pq1000",), outdir=out)
    )
    return out


def test_handoff_refuses_existing_files_before_writing_any(conformed: Path) -> None:
    (conformed / "plate.edl").write_text("mine\n", encoding="utf-8")
    with pytest.raises(HandoffError, match="plate.edl.*--overwrite"):
        write_handoff(conformed / "plate.manifest.json", conformed)
    assert (conformed / "plate.edl").read_text(encoding="utf-8") == "mine\n"
    # Refused up front: not even the files that did not exist were written.
    assert not (conformed / "plate.nk").exists()
    assert not (conformed / "plate.otio").exists()


def test_cli_handoff_needs_overwrite_to_replace(
    conformed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = str(conformed / "plate.manifest.json")
    nk = conformed / "plate.nk"
    nk.write_text("# my edits\n", encoding="utf-8")
    assert main(["handoff", manifest, "--nuke", "-o", str(conformed)]) == 1
    assert "--overwrite" in capsys.readouterr().err
    assert nk.read_text(encoding="utf-8") == "# my edits\n"
    assert (
        main(["handoff", manifest, "--nuke", "-o", str(conformed), "--overwrite"]) == 0
    )
    assert nk.read_text(encoding="utf-8").startswith("#! nuke")


def test_conform_handoff_keeps_existing_files_without_overwrite(
    plate: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "plate.nk").write_text("# my edits\n", encoding="utf-8")
    args = ["conform", str(plate), "-d", "exr-acescg", "-o", str(out), "--handoff"]
    assert main([*args, "--no-progress"]) == 2
    assert "plate.nk" in capsys.readouterr().err
    assert (out / "plate.nk").read_text(encoding="utf-8") == "# my edits\n"
    assert sorted(p.name for p in out.iterdir()) == ["plate.nk"]  # refused up front
