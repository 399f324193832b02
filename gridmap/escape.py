"""Text is text everywhere: one escaping function per output context. Pure (no Flask, no DB).

Every string a user (or an import file) can write reaches an output through exactly one of:

- ``html_text``: element content in HTML (Jinja's autoescape does this for templates; map
  builders call it for the HTML that folium and Leaflet put into ``innerHTML``);
- ``html_attribute``: a quoted attribute value (``href="…"``, ``title="…"``);
- ``js_string``: the inside of a JavaScript string literal, '…', "…" or a template literal
  `…`, in a ``<script>`` element (folium's popups and tooltips);
- ``json_in_html``: a JSON value written into a page's ``<script>`` element (page config
  blocks, ``<script type="application/json">``);
- ``spreadsheet_cell``: a CSV or XLSX cell, so that no text becomes a live formula;
- PDF: our PDFs (contact handbook, wall map) are HTML pages printed by Chromium, so their
  context is HTML: ``html_text`` / ``html_attribute`` through the Jinja templates'
  autoescape, nothing else. There is no second PDF writer.

Layered on top, the Content-Security-Policy (gridmap.web) runs only scripts carrying the
response's nonce, so one missed escape is a display bug, not an exploit.
"""

from __future__ import annotations

import json
from typing import Any

_HTML_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_HTML_ATTRIBUTE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;",
                                 "`": "&#x60;"})

# Inside any JavaScript string literal in an HTML <script> element. Every character that could
# end the literal (quotes, backtick, line terminators), start an interpolation (``$`` of ``${``),
# change an escape (backslash) or end the script element (``<`` of ``</script``, ``<!--``) is
# written as an escape sequence; ``>`` and ``&`` too, so the text is inert in any HTML parser state.
_JS = {"\\": "\\\\", '"': '\\"', "'": "\\'", "`": "\\`", "$": "\\$", "<": "\\u003c", ">": "\\u003e",
       "&": "\\u0026", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_JS.update({chr(c): f"\\u{c:04x}" for c in range(0x20) if chr(c) not in _JS})
_JS[chr(0x7F)] = "\\u007f"
_JS_STRING = str.maketrans(_JS)

_JSON_IN_HTML = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "'": "\\u0027",
                               "\u2028": "\\u2028", "\u2029": "\\u2029"})

# A spreadsheet (Excel, WPS, LibreOffice) reads a cell starting with one of these as a formula,
# DDE call or, for tab and carriage return, strips them and looks again. The full-width forms
# are included because WPS and an IME-converting Excel on Chinese systems can normalise them to
# ASCII; a cell starting with any of them gets a leading apostrophe (OWASP's "CSV injection"
# advice), which Excel shows as text. The cost: such a cell reads back with the apostrophe.
FORMULA_STARTS = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def html_text(value: Any) -> str:
    """Element content: ``&``, ``<`` and ``>`` as entities (None → "")."""
    return _str(value).translate(_HTML_TEXT)


def html_attribute(value: Any) -> str:
    """A quoted attribute value: ``& < > " ' ` `` as entities (None → ""). The value of a URL
    attribute must also have a safe scheme; we only put our own paths there."""
    return _str(value).translate(_HTML_ATTRIBUTE)


def js_string(value: Any) -> str:
    """The inside of a JavaScript string or template literal in a <script> element (None → "").
    The caller writes the quotes: ``"…"``, ``'…'`` or `` `…` `` all read back the same text."""
    return _str(value).translate(_JS_STRING)


def json_in_html(value: Any) -> str:
    """``value`` as JSON that is safe inside a <script> element: ``< > & '`` and U+2028/2029 as
    ``\\u`` escapes, so no ``</script>`` or ``<!--`` can appear; JSON.parse reads it unchanged."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).translate(_JSON_IN_HTML)


def spreadsheet_cell(value: Any) -> Any:
    """A CSV/XLSX cell value: text starting with a formula character gets a leading ``'``;
    numbers, None and other text pass unchanged (a negative number stays a number)."""
    if isinstance(value, str) and value and value[0] in FORMULA_STARTS:
        return "'" + value
    return value
