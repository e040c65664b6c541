"""Tcl quoting: every word must evaluate to exactly its text, checked by tclsh."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest
from handoff_helpers import HOSTILE_NAMES
from hypothesis import given
from hypothesis import strategies as st

from hdrpipe.handoff.tcl import (
    TclSyntaxError,
    escape_subst,
    quote,
    tokenize,
    unescape_subst,
)

# exec is replaced by a recorder before anything is evaluated, so a quoting bug
# shows up as "EXECUTED" on stderr instead of running a command.
_PRELUDE = (
    "rename exec {}\n"
    'proc exec args { puts stderr "EXECUTED $args"; return EXECUTED }\n'
    "fconfigure stdout -encoding utf-8 -translation lf\n"
)


def _tcl_values(tclsh: str, tmp_path: Path, words: list[str], subst: bool) -> list[str]:
    """Evaluate ``set x WORD`` in tclsh (then ``subst`` if asked); return the values."""
    expr = "[subst $x]" if subst else "$x"
    body = "".join(
        f"set x {w}\nputs [binary encode hex [encoding convertto utf-8 {expr}]]\n"
        for w in words
    )
    script = tmp_path / "words.tcl"
    script.write_text(body, encoding="utf-8")
    driver = tmp_path / "driver.tcl"
    driver.write_text(
        _PRELUDE + f"source -encoding utf-8 {{{script}}}\n", encoding="utf-8"
    )
    proc = subprocess.run(
        [tclsh, str(driver)], capture_output=True, timeout=30, check=False
    )
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    assert b"EXECUTED" not in proc.stderr
    lines = proc.stdout.decode("ascii").splitlines()
    return [bytes.fromhex(line).decode("utf-8") for line in lines]


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=range(len(HOSTILE_NAMES)))
def test_quote_round_trips_through_tokenizer(name: str) -> None:
    assert tokenize(f"set x {quote(name)}") == [["set", "x", name]]


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=range(len(HOSTILE_NAMES)))
def test_quoted_word_has_no_live_substitution(name: str) -> None:
    word = quote(name)
    # The strict tokenizer refuses any $ or [ that Tcl would substitute.
    tokenize(f"set x {word}")
    if word.startswith("{"):
        assert "\\" not in word and word.count("{") == word.count("}")
    else:
        for i, ch in enumerate(word):
            if ch in "$[":
                backslashes = len(word[:i]) - len(word[:i].rstrip("\\"))
                assert backslashes % 2 == 1, f"unescaped {ch!r} at {i} in {word!r}"


def test_tclsh_evaluates_hostile_words_exactly(tclsh: str, tmp_path: Path) -> None:
    words = [quote(n) for n in HOSTILE_NAMES]
    assert _tcl_values(tclsh, tmp_path, words, subst=False) == HOSTILE_NAMES


def test_tclsh_subst_of_knob_text_is_literal(tclsh: str, tmp_path: Path) -> None:
    # Nuke evaluates file knobs with Tcl substitution: escape_subst must defuse it.
    words = [quote(escape_subst(n)) for n in HOSTILE_NAMES]
    assert _tcl_values(tclsh, tmp_path, words, subst=True) == HOSTILE_NAMES


def test_tclsh_random_strings(tclsh: str, tmp_path: Path) -> None:
    rng = random.Random(20261125)
    alphabet = list('ab {}[]$"\\;#\t\n\r\x01\x7f') + ["é", "→", "\u00a0"]
    texts = [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        for _ in range(300)
    ]
    assert _tcl_values(tclsh, tmp_path, [quote(t) for t in texts], subst=False) == texts
    assert (
        _tcl_values(
            tclsh, tmp_path, [quote(escape_subst(t)) for t in texts], subst=True
        )
        == texts
    )


@given(st.text())
def test_quote_tokenize_round_trip(text: str) -> None:
    assert tokenize(f"set x {quote(text)}") == [["set", "x", text]]


@given(st.text())
def test_escape_subst_round_trip(text: str) -> None:
    assert unescape_subst(escape_subst(text)) == text


@pytest.mark.parametrize(
    ("script", "words"),
    [
        ("a b c", [["a", "b", "c"]]),
        ('a {b c} "d e"', [["a", "b c", "d e"]]),
        ("a {x {y} z}", [["a", "x {y} z"]]),
        ('a "\\u00e9\\n\\x41\\101"', [["a", "é\nAA"]]),
        ("# comment\na b; c d", [["a", "b"], ["c", "d"]]),
        ("a \\\n b", [["a", "b"]]),
    ],
    ids=[
        "bare",
        "braced-quoted",
        "nested",
        "escapes",
        "comment-semicolon",
        "continuation",
    ],
)
def test_tokenize_accepts(script: str, words: list[list[str]]) -> None:
    assert tokenize(script) == words


@pytest.mark.parametrize(
    "script",
    [
        "set x [exec rm]",
        "set x $HOME",
        'set x "a[b]"',
        "set x {a",
        'set x "a',
        "set x {a}b",
    ],
    ids=[
        "command",
        "variable",
        "quoted-command",
        "open-brace",
        "open-quote",
        "extra-chars",
    ],
)
def test_tokenize_rejects(script: str) -> None:
    with pytest.raises(TclSyntaxError):
        tokenize(script)


def test_tokenize_keeps_substitution_text_when_allowed() -> None:
    assert tokenize("set N1 [stack 0]\npush $N1", allow_substitution=True) == [
        ["set", "N1", "[stack 0]"],
        ["push", "$N1"],
    ]


def test_module_doctests() -> None:
    import doctest

    from hdrpipe.handoff import fcpxml, tcl, text

    for module in (tcl, text, fcpxml):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0, module.__name__
