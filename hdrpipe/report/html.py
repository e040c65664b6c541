"""Assemble the self-contained QC HTML page (no network: every image is a data: URI).

Every string that comes from outside (file names, manifest values, check
messages) goes through :func:`esc`: control characters (NUL included) become
U+FFFD and ``& < > " '`` are entity-escaped, so a hostile name is shown, never
run. The only script is the fixed :data:`IMAGE_CHECK_SCRIPT`.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "esc",
    "page",
    "table",
    "findings_table",
    "figure",
    "IMAGE_CHECK_SCRIPT",
    "STYLE",
]

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def esc(value: object) -> str:
    """Text safe inside HTML content and quoted attributes.

    >>> esc('<script>"a\\x00"</script>')
    '&lt;script&gt;&quot;a\\ufffd&quot;&lt;/script&gt;'
    """
    return html.escape(_CONTROL.sub("\ufffd", str(value)), quote=True)


#: Sets ``body[data-images-ok]`` once the page has loaded: "true" when every
#: <img> decoded (complete, non-zero natural width), and ``data-images`` to the
#: count — what the headless-browser test reads back.
IMAGE_CHECK_SCRIPT = """
(function () {
  function check() {
    var imgs = Array.prototype.slice.call(document.images);
    var ok = imgs.every(function (i) { return i.complete && i.naturalWidth > 0; });
    document.body.dataset.imagesOk = ok ? "true" : "false";
    document.body.dataset.images = String(imgs.length);
  }
  if (document.readyState === "complete") { check(); }
  else { window.addEventListener("load", check); }
})();
"""

STYLE = """
:root { --ink: #1d1d1f; --muted: #6e6e73; --line: #d2d2d7; --bg: #fbfbfd;
        --pass: #1e7b34; --warn: #9a6700; --fail: #b42318; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto,
       "Helvetica Neue", Arial, sans-serif; color: var(--ink); background: var(--bg); }
main { max-width: 1180px; margin: 0 auto; padding: 20px 24px 60px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px;
  border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
.meta { color: var(--muted); margin: 0 0 12px; word-break: break-all; }
.status { display: inline-block; padding: 1px 8px; border-radius: 10px; color: #fff;
  font-weight: 600; font-size: 12px; text-transform: uppercase; }
.status.pass { background: var(--pass); } .status.warn { background: var(--warn); }
.status.fail { background: var(--fail); }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; font-size: 13px; }
th, td { text-align: left; vertical-align: top; padding: 4px 8px;
  border-bottom: 1px solid var(--line); word-break: break-word; }
th { background: #f0f0f3; font-weight: 600; }
tr.warn td:first-child { border-left: 4px solid var(--warn); }
tr.fail td:first-child { border-left: 4px solid var(--fail); }
ul.lint { margin: 4px 0 0; padding-left: 18px; color: var(--fail); }
.sheet { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr));
  gap: 10px; }
figure { margin: 0 0 10px; } figure img { height: auto; display: block;
  border: 1px solid var(--line); max-width: 100%; }
figure.frame img { width: 100%; background: #000; }
figcaption { font-size: 12px; color: var(--muted); margin-top: 3px; }
figcaption .flag { color: var(--fail); font-weight: 600; }
.plot img { background: #fff; width: auto; }
.two { display: grid; grid-template-columns: 1fr 1fr; gap: 14px; }
@media (max-width: 900px) { .two { grid-template-columns: 1fr; } }
details pre { white-space: pre-wrap; word-break: break-all; font-size: 11px;
  background: #f5f5f7; padding: 6px; max-height: 260px; overflow: auto; }
.note { color: var(--muted); font-size: 12px; }
nav { font-size: 13px; margin-bottom: 8px; } nav a { margin-right: 10px; }
@media print {
  body { background: #fff; font-size: 10pt; } main { max-width: none; padding: 0; }
  nav, details { display: none; }
  section.shot { break-before: page; } figure, table, .plot { break-inside: avoid; }
  .sheet { grid-template-columns: repeat(3, 1fr); }
  .status { border: 1px solid #000; color: #000; background: none !important; }
}
"""


def table(
    headers: Sequence[str], rows: Iterable[Sequence[object]], *, cls: str = ""
) -> str:
    """A table of escaped cells."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    attr = f' class="{esc(cls)}"' if cls else ""
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _frames_text(frames: Sequence[int], limit: int = 12) -> str:
    shown = ", ".join(str(int(f)) for f in frames[:limit])
    return shown + (f" … (+{len(frames) - limit})" if len(frames) > limit else "")


def findings_table(checks: Sequence[Mapping[str, Any]]) -> str:
    """The validation findings (same ids and statuses as ``validate --json``).

    Rows carry ``data-check`` / ``data-status`` attributes; details are folded
    away as JSON (screen only).
    """
    rows = []
    for c in checks:
        status = str(c.get("status", ""))
        status_cls = status if status in ("pass", "warn", "fail") else "fail"
        details = json.dumps(c.get("details", {}), indent=1, default=str)
        if len(details) > 4000:
            details = details[:4000] + " …"
        rows.append(
            f'<tr class="finding {status_cls}" data-check="{esc(c.get("id", ""))}" '
            f'data-status="{esc(status)}">'
            f"<td><code>{esc(c.get('id', ''))}</code></td>"
            f'<td><span class="status {status_cls}">{esc(status)}</span></td>'
            f"<td>{esc(c.get('message', ''))}</td>"
            f"<td>{esc(_frames_text(list(c.get('frames') or ())))}</td>"
            f"<td><details><summary>details</summary><pre>{esc(details)}</pre>"
            "</details></td></tr>"
        )
    head = "".join(
        f"<th>{h}</th>" for h in ("check", "status", "finding", "frames", "evidence")
    )
    return (
        f'<table class="findings"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def figure(uri: str, caption: str, *, alt: str, cls: str = "plot") -> str:
    """An <img> from a data: URI with an escaped caption (``caption`` may hold HTML
    built by the caller from escaped parts)."""
    return (
        f'<figure class="{esc(cls)}"><img src="{uri}" alt="{esc(alt)}">'
        f"<figcaption>{caption}</figcaption></figure>"
    )


def page(title: str, body: str) -> str:
    """The whole document: escaped title, fixed style and script, ``body`` as built."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">"
        f"<title>{esc(title)}</title><style>{STYLE}</style></head>"
        f"<body><main>{body}</main><script>{IMAGE_CHECK_SCRIPT}</script></body></html>\n"
    )
