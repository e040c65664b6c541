"""Data and helpers shared by the handoff tests."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"
SAMPLE = DATA / "sh010_manifest.json"

# File names that break naive quoting: Tcl command/variable substitution,
# unbalanced braces, quotes, backslashes, separators, whitespace, non-ASCII.
HOSTILE_NAMES = [
    "shot [exec rm -rf ~].####.exr",
    "a{b.####.exr",
    "a}b.####.exr",
    "$HOME.####.exr",
    '"q".####.exr',
    "back\\slash.####.exr",
    "semi;colon.####.exr",
    "sp ace.####.exr",
    "ünïcødé.####.exr",
    "new\nline.####.exr",
    "tab\there }{ [x] \\{ $y(z).####.exr",
    "trailing\\",
    "{braced}",
    "#hash.####.exr",
]


def two_shot_manifest(base: dict[str, Any]) -> dict[str, Any]:
    """sh010 with a second 24-frame shot from another plate, concatenated."""
    doc = copy.deepcopy(base)
    second = copy.deepcopy(doc["inputs"][0])
    second.update(
        path="/abs/shots/sh020/plate.%04d.exr",
        name="plate_b",
        first=1,
        last=24,
        frames=24,
        time_code="00:10:00:00",
    )
    doc["inputs"].append(second)
    doc["shots"].append(
        {
            "name": "sh020 plate",
            "input": 1,
            "source_first": 1,
            "source_last": 24,
            "record_first": 48,
            "record_frames": 24,
            "record_in": "01:00:02:00",
            "record_out": "01:00:03:00",
        }
    )
    doc["frames"] = 72
    for out in doc["outputs"]:
        out["frames"] = 72
    return doc


def load_sample() -> dict[str, Any]:
    return json.loads(SAMPLE.read_text(encoding="utf-8"))
