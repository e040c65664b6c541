"""Data and helpers shared by the handoff tests."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from lxml import etree

DATA = Path(__file__).parent / "data"
SAMPLE = DATA / "sh010_manifest.json"

# The AMF 2.0 XSD and the schemas it imports (ASC CDL, SMPTE ST 433, XML-DSig),
# all local files (data/aces-amf/README.md); libxml2 validates, never the network.
AMF_SCHEMA = etree.XMLSchema(
    etree.parse(
        str(DATA / "aces-amf" / "acesMetadataFile.xsd"),
        etree.XMLParser(no_network=True, resolve_entities=False),
    )
)


def amf_schema_errors(doc: Path | ET.Element) -> list[str]:
    """libxml2's XML Schema errors for an AMF file or element ([] when valid)."""
    if isinstance(doc, Path):
        tree = etree.parse(str(doc), etree.XMLParser(no_network=True))
    else:
        tree = etree.ElementTree(etree.fromstring(ET.tostring(doc)))
    if AMF_SCHEMA.validate(tree):
        return []
    return [f"{e.line}: {e.message}" for e in AMF_SCHEMA.error_log]


def assert_amf_valid(doc: Path | ET.Element) -> None:
    errors = amf_schema_errors(doc)
    assert not errors, "AMF 2.0 XSD: " + "; ".join(errors)


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
