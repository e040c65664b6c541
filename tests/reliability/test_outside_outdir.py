"""Class 1: nothing is ever written outside ``-o``.

Names (``--name``, preset ids, extensions) are single file-name components,
encoder options that name files are refused, and every output path is checked
after resolution (symlinks included).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reliability_helpers import tree

from hdrpipe.cli import main
from hdrpipe.engine import ConformJob, conform, plan
from hdrpipe.errors import InputError
from hdrpipe.outputs import NAME_MAX_BYTES, check_name, output_path

# Characters a hostile name is made of: separators, dots, NUL, glob and frame
# tokens, quotes, shell and Tcl metacharacters, whitespace, unicode.
HOSTILE = st.lists(
    st.sampled_from(
        list("/\\.\0#%@*?[]{}$;'\" \t\nab0_-") + ["%04d", "..", "é", "名", "$F4"]
    ),
    min_size=1,
    max_size=12,
).map("".join) | st.text(min_size=1, max_size=120)


def _legal(name: str) -> bool:
    return (
        "/" not in name
        and "\0" not in name
        and name not in (".", "..")
        and len(name.encode("utf-8", "surrogateescape")) <= NAME_MAX_BYTES
    )


@settings(max_examples=300, deadline=None)
@given(name=HOSTILE)
def test_name_rule_accepts_exactly_single_components(
    name: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outdir = tmp_path_factory.getbasetemp() / "names-out"
    if _legal(name):
        assert check_name(name) == name
        for suffix in ("", "_hevc-hdr10.mp4", ".manifest.json"):
            path = output_path(outdir, name + suffix)
            # One component directly inside OUTDIR, whatever the characters.
            assert path.parent == outdir.resolve()
            assert path.name == name + suffix
    else:
        with pytest.raises(InputError):
            check_name(name)


@pytest.mark.parametrize(
    "name",
    ["../../esc", "/abs/path", "..", ".", "a/b", "nul\0byte", "x" * 101],
    ids=["dotdot", "absolute", "parent", "self", "slash", "nul", "too-long"],
)
def test_unsafe_job_names_are_refused_before_anything_is_written(
    plate: Path, tmp_path: Path, name: str
) -> None:
    out = tmp_path / "deep" / "out"
    job = ConformJob(
        inputs=(str(plate),), deliver=("exr-acescg",), outdir=out, name=name
    )
    with pytest.raises(InputError, match="name"):
        plan(job, validate_sources=False)
    assert tree(tmp_path) == []


def test_cli_name_escape_exits_2_and_writes_nothing(
    plate: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "a" / "b" / "out"
    code = main(
        [
            "conform",
            str(plate),
            "-d",
            "exr-acescg",
            "-o",
            str(out),
            "--name",
            "../../esc",
        ]
    )
    assert code == 2
    assert "'/'" in capsys.readouterr().err
    assert tree(tmp_path) == []


@pytest.mark.parametrize(
    "name",
    ["sh 010 #3 [v2] %04d $F4 {x}", "é名 ;'\"", "-leading", ".hidden", "a\\b"],
    ids=["tokens", "unicode-quotes", "dash", "dot", "backslash"],
)
def test_legal_hostile_names_stay_inside_outdir(
    plate: Path, tmp_path: Path, name: str
) -> None:
    out = tmp_path / "out"
    manifest = conform(
        ConformJob(inputs=(str(plate),), deliver=("exr-acescg",), outdir=out, name=name)
    )
    folder = out / f"{name}_exr-acescg"
    assert manifest.path == out / f"{name}.manifest.json"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [folder.name, manifest.path.name]
    )
    assert sorted(p.name for p in folder.iterdir()) == [
        f"{name}.{n}.exr" for n in (1001, 1002, 1003)
    ]


def test_a_job_name_at_the_limit_still_gets_its_deliverables(
    plate: Path, tmp_path: Path
) -> None:
    """The name limit leaves room for the suffixes hdrpipe appends (regression:
    an accepted 100-byte name was refused again as ``NAME_preset.mov``)."""
    name = "名" * 33 + "x"  # 100 UTF-8 bytes
    assert len(name.encode()) == NAME_MAX_BYTES
    out = tmp_path / "out"
    manifest = conform(
        ConformJob(
            inputs=(str(plate),),
            deliver=("exr-acescg", "prores422hq-pq1000"),
            outdir=out,
            name=name,
        )
    )
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [
            f"{name}.manifest.json",
            f"{name}_exr-acescg",
            f"{name}_prores422hq-pq1000.mov",
        ]
    )
    assert manifest.path == out / f"{name}.manifest.json"
    with pytest.raises(InputError, match="at most 100"):
        check_name(name + "x")


def test_planted_symlink_out_of_outdir_is_refused(plate: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim"
    victim.mkdir()
    (out / "plate_exr-acescg").symlink_to(victim, target_is_directory=True)
    job = ConformJob(
        inputs=(str(plate),), deliver=("exr-acescg",), outdir=out, overwrite=True
    )
    with pytest.raises(InputError, match="outside the output folder"):
        conform(job)
    assert tree(victim) == []


def test_outdir_that_is_itself_a_symlink_is_fine(plate: Path, tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    manifest = conform(
        ConformJob(inputs=(str(plate),), deliver=("exr-acescg",), outdir=link)
    )
    assert manifest.path.parent == real
    assert (real / "plate.manifest.json").is_file()
    assert os.path.islink(link)
