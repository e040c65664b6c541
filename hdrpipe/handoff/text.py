"""Text that any hand-off format can carry: names and paths made safe, reversibly.

File and shot names may hold any character a file system allows (POSIX: every
byte but ``/`` and NUL in a name component; NUL can still reach a manifest).
Two carriers need care:

* XML 1.0 (FCPXML, AMF) cannot hold most C0 control characters at all, not even
  as character references (W3C XML 1.0 fifth edition, section 2.2 production
  [2] ``Char``): :func:`xml_text` writes them as ``\\xNN`` text.
* Line-oriented formats (CMX 3600 EDL) end a field at any line break, and their
  readers strip leading and trailing blanks: :func:`line_text` writes breaks,
  controls and edge blanks as backslash escapes.

A backslash is left as it is (names with backslashes stay readable), so
:func:`unescape` restores the original text exactly unless the name itself
already held a ``\\xNN``/``\\uNNNN`` sequence.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..errors import HandoffError
from ..outputs import atomic_write

__all__ = ["xml_text", "line_text", "unescape", "write_text"]

# XML 1.0 section 2.2, production [2]: #x9 | #xA | #xD | [#x20-#xD7FF] |
# [#xE000-#xFFFD] | [#x10000-#x10FFFF]; everything else cannot appear.
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Python's str.splitlines() (what OTIO's CMX 3600 reader splits on) breaks at
# \n \r \v \f \x1c-\x1e \x85 \u2028 \u2029; escape every C0/C1 control too.
_LINE_BAD = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_UNESCAPE = re.compile(r"\\(x[0-9a-f]{2}|u[0-9a-f]{4})")


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def xml_text(text: str) -> str:
    """Return ``text`` with the characters XML 1.0 forbids written as ``\\xNN``.

    Tab, newline and carriage return are legal XML and left alone (ElementTree
    writes them as character references inside attributes).

    >>> xml_text("a\\x00b")
    'a\\\\x00b'
    """
    return _XML_BAD.sub(lambda m: _escape(m.group(0)), text)


def line_text(text: str) -> str:
    """Return ``text`` as one line with no control character and no edge blank.

    >>> line_text("new\\nline ")
    'new\\\\x0aline\\\\x20'
    """
    body = _LINE_BAD.sub(lambda m: _escape(m.group(0)), text)
    # Readers strip() fields: every Unicode blank at either edge is escaped.
    lead = len(body) - len(body.lstrip())
    trail = len(body.rstrip()) if body.strip() else lead
    head = "".join(_escape(c) for c in body[:lead])
    tail = "".join(_escape(c) for c in body[trail:]) if trail > lead else ""
    return head + body[lead:trail] + tail


def unescape(text: str) -> str:
    """Invert :func:`xml_text` and :func:`line_text`.

    >>> unescape(line_text(" a\\tb\\n"))
    ' a\\tb\\n'
    """

    def one(m: re.Match[str]) -> str:
        return chr(int(m.group(1)[1:], 16))

    return _UNESCAPE.sub(one, text)


def write_text(
    path: str | os.PathLike[str], text: str, failure: str, *, overwrite: bool = True
) -> Path:
    """Write a hand-off file atomically (:func:`hdrpipe.outputs.atomic_write`).

    A folder that cannot be made is a :class:`HandoffError` reading
    ``"<path>: <failure>: <reason>"``; write failures are the helper's
    :class:`~hdrpipe.errors.OutputError`.
    """
    out = Path(path)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(out, text, overwrite=overwrite)
    except OSError as err:
        raise HandoffError(f"{out}: {failure}: {err}") from err
    return out
