"""Class 9 (ingest): any legal file or folder name is discovered and read.

Each case writes a tiny 3-frame plate ``<folder>/<stem>.####.exr`` (8×8) and
checks that a pattern, one file and the folder each open to exactly those frames,
and that ``hdrpipe info --json`` and ``hdrpipe validate --json`` report them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtures.generate import make_plate
from hdrpipe.cli import main
from hdrpipe.errors import InputError
from hdrpipe.sequence import open_sequence

FRAMES = (1001, 1002, 1003)

#: (folder, stem) pairs a user can legally give; each broke a parser once or could.
HOSTILE = [
    ("my shots", "plate with spaces"),
    ("it's", 'say "hi"'),
    ("$HOME", "$F4"),
    ("a;rm -rf x", "b;c"),
    ("{a,b}", "{1..3}"),
    ("back\\slash", "c:\\plate"),
    ("new\nline", "plate\nnext"),
    (".hidden", ".plate"),
    ("ünïcødé 日本", "プレート"),
    ("glob*?[ab]", "p*?[0-9]"),
    ("a<b>c", "<UDIM>"),
    ("<1-10>", "x<f>"),
    ("at@at", "name.@"),
    ("hash#1", "take#2"),
    ("pct%04d", "shot.%04d"),
    ("1001-1010#", "a1-10#"),
    ("v2.2.0", "shot_v2.2.0"),
    ("1001", "1001"),
    ("-5", "-12"),
    ("###", "####"),
]
IDS = [
    "spaces",
    "quotes",
    "dollar",
    "semicolon",
    "braces",
    "backslash",
    "newline",
    "leading-dot",
    "unicode",
    "glob",
    "angle-udim",
    "angle-range",
    "at-token",
    "hash-in-name",
    "printf-in-name",
    "range-like",
    "version-like",
    "number-only",
    "negative-like",
    "hashes-only",
]


def _plate(root: Path, folder: str, stem: str) -> Path:
    return make_plate(
        root / folder, name=stem, width=8, height=8, frames=len(FRAMES), seed=1
    )


def _info(path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    capsys.readouterr()
    code = main(["info", "--json", str(path)])
    out, err = capsys.readouterr()
    assert code == 0, err
    document = json.loads(out)
    assert isinstance(document, dict)
    return document


def _validate(path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    capsys.readouterr()
    code = main(["validate", "--json", str(path)])
    out, err = capsys.readouterr()
    assert code == 0, err
    document = json.loads(out)
    assert isinstance(document, dict)
    return document


def _check(plate: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = plate.parent
    files = sorted(os.listdir(folder))
    assert len(files) == len(FRAMES), files
    stem = plate.name[: -len(".####.exr")]
    for pattern in (plate, folder / f"{stem}.%04d.exr", folder / f"{stem}.@.exr"):
        seq = open_sequence(pattern)
        assert seq.frames == FRAMES, pattern
        assert seq.missing == ()
        assert [seq.path(f).name for f in FRAMES] == files
        assert all(seq.path(f).parent == folder for f in FRAMES)
    seq = open_sequence(folder)
    assert seq.frames == FRAMES
    assert seq.path(1002) == folder / files[1]
    one = open_sequence(folder / files[0])
    assert one.frames == (1001,)
    assert one.path(1001) == folder / files[0]
    # A pattern of what was found reopens to the same frames (the engine does so).
    assert open_sequence(seq.pattern, frames="1002-1003").frames == (1002, 1003)
    document = _info(plate, capsys)
    assert document["frames"] == {
        "first": 1001,
        "last": 1003,
        "count": 3,
        "missing": [],
    }
    assert document["width"] == 8
    assert _info(folder, capsys)["pattern"] == seq.pattern
    report = _validate(plate, capsys)
    assert report["status"] == "pass"
    assert report["frames"] == document["frames"]


@pytest.mark.parametrize(("folder", "stem"), HOSTILE, ids=IDS)
def test_hostile_names_are_discovered(
    folder: str, stem: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _check(_plate(tmp_path, folder, stem), capsys)


@pytest.mark.parametrize(
    "name",
    ["a<b>.exr", "shot_v2.2.0.exr", "a1-10#.exr", "1001.exr", "x[1-3].####.exr"],
    ids=["angle", "version", "range-hash", "number", "glob-hash"],
)
def test_an_existing_file_is_read_as_a_single_file(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plate = _plate(tmp_path, "src<1>", "p")
    target = tmp_path / "single" / name
    target.parent.mkdir()
    (plate.parent / "p.1001.exr").rename(target)
    seq = open_sequence(target)
    assert len(seq.frames) == 1
    assert seq.path(seq.frames[0]) == target
    assert _info(target, capsys)["frames"]["count"] == 1  # type: ignore[index]


def test_digits_that_are_no_frame_set_belong_to_the_stem(tmp_path: Path) -> None:
    folder = tmp_path / "x"
    make_plate(folder, name="v1x", width=8, height=8, frames=2, seed=1)
    for old in sorted(folder.iterdir()):  # v1x.1001.exr -> v1x1001.exr
        old.rename(folder / old.name.replace("v1x.", "v1x"))
    seq = open_sequence(folder / "v1x####.exr")
    assert seq.frames == (1001, 1002)
    assert seq.path(1002) == folder / "v1x1002.exr"


@pytest.mark.parametrize(
    "name",
    [
        "nothing<here>.exr",
        "a[.exr",
        "x1-10#.exr",
        "gone.####.exr",
        "%%.@.exr",
        "p.1x#.exr",
        "p.1,,2#.exr",
    ],
    ids=["angle", "bracket", "range", "pattern", "percent", "no-set", "bad-set"],
)
def test_a_missing_path_is_an_input_error(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "in<a>"
    folder.mkdir()
    with pytest.raises(InputError):
        open_sequence(folder / name)
    assert main(["info", "--json", str(folder / name)]) == 2
    err = capsys.readouterr().err
    assert "internal error" not in err and str(folder) in err


_NAME = st.text(
    st.characters(
        blacklist_categories=("Cs",), blacklist_characters="/\x00", max_codepoint=0x2FF
    )
    | st.sampled_from("*?[]<>@#%$;{}\\\"' \n.-0123456789"),
    min_size=1,
    max_size=12,
).filter(lambda s: s not in {".", ".."} and len(s.encode()) < 200)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(folder=_NAME, stem=_NAME)
def test_generated_names_are_discovered(
    folder: str,
    stem: str,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _check(_plate(tmp_path_factory.mktemp("gen"), folder, stem), capsys)


def test_conform_under_a_hostile_folder_stays_under_outdir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plate = _plate(tmp_path / "in", "a<b> [c]*?;$x {1..2}\n", "p#1 v2.0")
    out = tmp_path / "o<u>t [x]"
    before = {p for p in tmp_path.rglob("*")}
    code = main(
        ["conform", str(plate), "-o", str(out), "-d", "exr-acescg", "--no-progress"]
    )
    assert code == 0, capsys.readouterr().err
    made = {p for p in tmp_path.rglob("*")} - before
    assert made and all(p.is_relative_to(out) for p in made), made
    frames = sorted(p for p in made if p.suffix == ".exr")
    assert len(frames) == len(FRAMES), made


# A dash before the frame digits: a separator after a name character, a sign
# after a separator ("." "_" "-") or at the start of the name.
_WORD = st.text(
    st.characters(
        whitelist_categories=("L", "N"), max_codepoint=0x2FF, blacklist_characters="-"
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=60, deadline=None)
@given(
    head=st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"),
        max_size=8,
    ),
    last=_WORD,
    frame=st.integers(0, 99999),
    pad=st.integers(1, 6),
)
def test_a_dash_after_a_name_character_is_a_separator(
    head: str, last: str, frame: int, pad: int
) -> None:
    import tempfile

    stem = f"{head}{last}-"
    number = f"{frame:0{pad}d}"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{stem}{number}.exr"
        path.write_bytes(b"")  # discovery reads names only
        seq = open_sequence(path)
        assert seq.frames == (frame,), path.name
        assert seq.path(frame) == path
        assert Path(seq.pattern).name.startswith(stem)
        folder = open_sequence(Path(tmp))
        assert folder.frames == (frame,)
        assert folder.path(frame) == path


@settings(max_examples=60, deadline=None)
@given(
    stem=st.one_of(
        st.just(""),
        st.builds(
            lambda w, sep: w + sep, _WORD, st.sampled_from([".", "_", "-", ".v1."])
        ),
    ),
    frame=st.integers(1, 9999),
)
def test_a_dash_after_a_separator_is_a_minus_sign(stem: str, frame: int) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        # Padding counts the sign (fileseq's rule): frame -5 at 4 digits is "-005".
        names = [f"{stem}{-frame:04d}.exr", f"{stem}{frame + 1:04d}.exr"]
        for name in names:
            (folder / name).write_bytes(b"")
        seq = open_sequence(folder)
        assert seq.frames == (-frame, frame + 1), names
        assert [seq.path(f).name for f in seq.frames] == names
        assert open_sequence(folder / names[0]).frames == (-frame,)


def test_dash_numbered_plate_reads_positive_frames(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plate = _plate(tmp_path, "in", "plate")
    for old in sorted(plate.parent.iterdir()):  # plate.1001.exr -> plate-1001.exr
        old.rename(old.with_name(old.name.replace("plate.", "plate-")))
    folder = plate.parent
    for path in (folder, folder / "plate-####.exr", folder / "plate-1001.exr"):
        seq = open_sequence(path)
        assert seq.frames[0] == 1001, path
        assert seq.name == "plate"
    ranged = open_sequence(folder / "plate-1002-1003#.exr")
    assert ranged.frames == (1002, 1003)
    document = _info(folder, capsys)
    assert document["frames"] == {
        "first": 1001,
        "last": 1003,
        "count": 3,
        "missing": [],
    }
    assert document["pattern"] == str(folder.resolve() / "plate-####.exr")
