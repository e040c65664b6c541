"""Tcl word quoting and a minimal Tcl word splitter, for Nuke ``.nk`` scripts.

A ``.nk`` file is a Tcl script (Nuke reads it with its embedded Tcl parser), so
every string written into one must be a Tcl *word* that evaluates to exactly the
intended text, with no variable (``$``), command (``[...]``) or backslash
substitution left for Tcl to perform. The rules used here are the twelve rules of
the Tcl manual page ``Tcl(n)`` (Tcl 8.6): rule [6] braces, rule [4] double quotes,
rule [9] backslash substitution.

Nuke adds a second layer: string knobs such as ``Read.file`` are *evaluated*
with Tcl substitution when used ("[ ] to embed Tcl in a string knob", Foundry,
Nuke User Guide, "Converting Expressions Between Scripting Languages").
:func:`escape_subst` produces the knob text that Tcl ``subst`` turns back into
the literal string; :func:`quote` then makes that knob text a safe word.
"""

from __future__ import annotations

import re

from ..errors import HandoffError

__all__ = ["quote", "tokenize", "escape_subst", "unescape_subst", "TclSyntaxError"]

# Characters that may stand in a bare word without any substitution or
# word-splitting meaning (rules [1]-[9] of Tcl(n)); '#' only matters at the start
# of a command, and knob values are never first in a command.
_BARE_SAFE = re.compile(r"[A-Za-z0-9_./:+,=@%#*!?^~<>|&'-]+")
_DQ_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "$": "\\$",
    "[": "\\[",
    "]": "\\]",
    "{": "\\{",
    "}": "\\}",
    "\n": "\\n",
    "\t": "\\t",
    "\r": "\\r",
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\v": "\\v",
}
_BACKSLASH_SIMPLE = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
}


class TclSyntaxError(HandoffError):
    """A script that the minimal tokenizer cannot split, or that substitutes."""


def _braces_safe(text: str) -> bool:
    """True when ``{text}`` is a braced word whose value is exactly ``text``.

    Tcl(n) rule [6]: no substitution inside braces, but braces nest and a
    backslash-newline is still replaced, and ``\\{``/``\\}`` do not count for
    nesting while staying in the value. So: no backslash at all, balanced braces,
    no control characters (keeps the file line-oriented for Nuke).
    """
    if not text or "\\" in text:
        return False
    depth = 0
    for ch in text:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth < 0:
                return False
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            return False
    return depth == 0


def quote(text: str) -> str:
    """Return a Tcl word that evaluates to exactly ``text``, with no substitution.

    A bare word when the text only holds inert characters, a braced word when the
    braces are balanced and there is no backslash (Tcl(n) rule [6]), otherwise a
    double-quoted word (rule [4]) where ``\\ " $ [ ] { }`` are backslash-escaped
    and control characters written as ``\\n``, ``\\t`` … or ``\\uXXXX`` (rule [9]).

    Examples
    --------
    >>> quote("plate.####.exr")
    'plate.####.exr'
    >>> quote("sp ace")
    '{sp ace}'
    >>> quote("shot [exec rm -rf ~].exr")
    '{shot [exec rm -rf ~].exr}'
    >>> quote("a}b")
    '"a\\\\}b"'
    """
    if not isinstance(text, str):
        raise HandoffError(f"Tcl quote: expected str, got {type(text).__name__}")
    if text and _BARE_SAFE.fullmatch(text) and not text.startswith(("#", "{", '"')):
        return text
    if _braces_safe(text):
        return "{" + text + "}"
    out = ['"']
    for ch in text:
        if ch in _DQ_ESCAPES:
            out.append(_DQ_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def escape_subst(text: str) -> str:
    """Return knob text that Tcl ``subst`` evaluates to exactly ``text``.

    Nuke evaluates string/file knobs with Tcl substitution, so ``[`` ``]`` ``$``
    and ``\\`` in a file name are backslash-escaped (Tcl(n) rule [9]).

    >>> escape_subst("a[b]$c")
    'a\\\\[b\\\\]\\\\$c'
    """
    return re.sub(r"([\\\[\]$])", r"\\\1", text)


def unescape_subst(text: str) -> str:
    """Inverse of :func:`escape_subst` (only the four escapes it writes)."""
    return re.sub(r"\\([\\\[\]$])", r"\1", text)


def _backslash(script: str, i: int) -> tuple[str, int]:
    """Decode the backslash sequence starting at ``script[i] == '\\'``."""
    if i + 1 >= len(script):
        return "\\", i + 1
    ch = script[i + 1]
    if ch in _BACKSLASH_SIMPLE:
        return _BACKSLASH_SIMPLE[ch], i + 2
    if ch == "\n":  # backslash-newline + following blanks -> one space
        j = i + 2
        while j < len(script) and script[j] in " \t":
            j += 1
        return " ", j
    if ch in "uUx":
        maxlen = {"u": 4, "U": 8, "x": 2}[ch]
        m = re.match(f"[0-9a-fA-F]{{1,{maxlen}}}", script[i + 2 : i + 2 + maxlen])
        if m:
            return chr(int(m.group(0), 16)), i + 2 + len(m.group(0))
        return ch, i + 2
    m = re.match(r"[0-7]{1,3}", script[i + 1 : i + 4])
    if m:
        return chr(int(m.group(0), 8) & 0xFF), i + 1 + len(m.group(0))
    return ch, i + 2


def _substitution(script: str, i: int, allow: bool) -> tuple[str, int]:
    """Handle ``$`` or ``[`` at ``i``: raise, or copy it through verbatim."""
    if not allow:
        raise TclSyntaxError(
            f"unquoted Tcl substitution {script[i : i + 20]!r} at offset {i}"
        )
    if script[i] == "$":
        m = re.match(r"\$(\{[^}]*\}|[A-Za-z0-9_:]+)", script[i:])
        end = i + (len(m.group(0)) if m else 1)
        return script[i:end], end
    depth, j = 0, i
    while j < len(script):
        if script[j] == "\\":
            j += 2
            continue
        if script[j] == "[":
            depth += 1
        elif script[j] == "]":
            depth -= 1
            if depth == 0:
                return script[i : j + 1], j + 1
        j += 1
    raise TclSyntaxError(f"unterminated command substitution at offset {i}")


def tokenize(script: str, *, allow_substitution: bool = False) -> list[list[str]]:
    """Split a Tcl script into commands of words, applying Tcl(n) quoting rules.

    Braced words keep their text verbatim (minus the outer braces), double-quoted
    and bare words get backslash substitution. Variable and command substitution
    (``$x``, ``[cmd]``) raise :class:`TclSyntaxError` unless
    ``allow_substitution`` is set, in which case their text is kept verbatim.
    Comments (``#`` where a command starts) are skipped.

    >>> tokenize('Read {\\n file {a b}\\n name "x\\\\[1\\\\]"\\n}')
    [['Read', '\\n file {a b}\\n name "x\\\\[1\\\\]"\\n']]
    """
    commands: list[list[str]] = []
    words: list[str] = []
    i, n = 0, len(script)
    while i < n:
        ch = script[i]
        if ch in " \t":
            i += 1
            continue
        if ch == "\\" and i + 1 < n and script[i + 1] == "\n":
            i += 2
            continue
        if ch in "\n;":
            if words:
                commands.append(words)
                words = []
            i += 1
            continue
        if ch == "#" and not words:
            while i < n and script[i] != "\n":
                i += 2 if script[i] == "\\" else 1
            continue
        if ch == "{":
            depth, j = 1, i + 1
            while j < n and depth:
                if script[j] == "\\":
                    j += 2
                    continue
                depth += {"{": 1, "}": -1}.get(script[j], 0)
                j += 1
            if depth:
                raise TclSyntaxError(f"missing close-brace for word at offset {i}")
            word = script[i + 1 : j - 1].replace("\\\n", " ")
            i = j
        elif ch == '"':
            buf: list[str] = []
            j = i + 1
            while True:
                if j >= n:
                    raise TclSyntaxError(f"missing close-quote for word at offset {i}")
                c = script[j]
                if c == '"':
                    j += 1
                    break
                if c == "\\":
                    text, j = _backslash(script, j)
                    buf.append(text)
                elif c in "$[":
                    text, j = _substitution(script, j, allow_substitution)
                    buf.append(text)
                else:
                    buf.append(c)
                    j += 1
            word, i = "".join(buf), j
        else:
            buf = []
            j = i
            while j < n and script[j] not in " \t\n;":
                c = script[j]
                if c == "\\":
                    if j + 1 < n and script[j + 1] == "\n":
                        break
                    text, j = _backslash(script, j)
                    buf.append(text)
                elif c in "$[":
                    text, j = _substitution(script, j, allow_substitution)
                    buf.append(text)
                else:
                    buf.append(c)
                    j += 1
            word, i = "".join(buf), j
        if (
            i < n
            and script[i] not in " \t\n;"
            and not (script[i] == "\\" and i + 1 < n and script[i + 1] == "\n")
        ):
            raise TclSyntaxError(
                "extra characters after close-brace/quote at offset "
                f"{i}: {script[i : i + 10]!r}"
            )
        words.append(word)
    if words:
        commands.append(words)
    return commands
