"""``hdrpipe farm plan | run-chunk | status | stitch`` through the CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from farm_helpers import mediainfo

from hdrpipe.cli import main


def test_farm_cli_plan_chunks_status_stitch(
    plate: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    common = ["-d", "prores422hq-pq1000", "-o", str(out), "--frames", "1001-1005"]
    assert main(["farm", "plan", str(plate), *common, "--chunk", "2", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert [c["record_range"] for c in plan["chunks"]] == [[0, 2], [2, 4], [4, 5]]
    path = plan["plan_path"]
    assert path == str(out / "plate.farm.json")
    assert main(["farm", "run-chunk", path, "9"]) == 2  # no such chunk: usage error
    capsys.readouterr()
    for index in (2, 0):
        assert main(["farm", "run-chunk", path, str(index)]) == 0
    capsys.readouterr()
    assert main(["farm", "status", path, "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["chunk"] == {"complete": [0, 2], "total": 3}
    assert main(["farm", "stitch", path]) == 1  # chunk 1 missing: ran and failed
    capsys.readouterr()
    assert main(["farm", "run-chunk", path, "1"]) == 0
    capsys.readouterr()
    assert main(["farm", "stitch", path, "--json"]) == 0
    manifest = json.loads(capsys.readouterr().out)
    # No --start-tc: the plate's first EXR timeCode (fixtures: 01:00:00:00 at 1001).
    assert manifest["start_timecode"] == "01:00:00:00"
    movie = out / "plate_prores422hq-pq1000.mov"
    assert manifest["outputs"][0]["path"] == str(movie)
    video, tc = mediainfo(movie)
    assert int(video["frame_count"]) == 5
    assert tc == "01:00:00:00"
