"""The design notes the code cites are in the repository, and say what the code does."""

from __future__ import annotations

import re
from pathlib import Path

from hdrpipe.encode.presets import PRESETS
from hdrpipe.nuke.hook import DEFAULT_PRESETS

ROOT = Path(__file__).resolve().parents[1]
NOTES = ROOT / "docs" / "design-notes.md"
SCANNED = ("hdrpipe", "tests", "bench", "fixtures", "ocio_configs", "docs")
# Team documents outside the checkout; spelled in parts so this file is no hit.
OUTSIDE = re.compile(
    "|".join(("DESIGN" + r"\.md", "STACK" + "-NOTES", "STYLE" + r"\.md"))
)


def _texts() -> list[tuple[Path, str]]:
    files = [ROOT / "README.md"]
    for top in SCANNED:
        files += [p for p in (ROOT / top).rglob("*") if p.suffix in (".py", ".md")]
    return [(p, p.read_text(encoding="utf-8")) for p in files]


def test_no_citation_of_documents_outside_the_repository() -> None:
    hits = [
        f"{p.relative_to(ROOT)}:{text[: m.start()].count(chr(10)) + 1}"
        for p, text in _texts()
        for m in OUTSIDE.finditer(text)
    ]
    assert hits == []


def test_cited_docs_exist() -> None:
    cited = {m for _, text in _texts() for m in re.findall(r"docs/([\w-]+\.md)", text)}
    assert "design-notes.md" in cited
    assert sorted(c for c in cited if not (ROOT / "docs" / c).is_file()) == []


def test_minimum_preset_set_is_the_nuke_menu_default() -> None:
    # docs/nuke.md: the picker offers the minimum set of the design notes.
    section = NOTES.read_text(encoding="utf-8").split("## Delivery presets")[1]
    section = section.split("\n## ")[0]
    table = re.findall(r"^\| `([\w-]+)` \|", section, flags=re.MULTILINE)
    assert tuple(table) == DEFAULT_PRESETS
    assert set(table) <= set(PRESETS)
