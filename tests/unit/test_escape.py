"""gridmap.escape: each output context's dangerous characters, pinned one by one."""

from __future__ import annotations

import json
import subprocess
import shutil

import pytest

from gridmap.escape import html_attribute, html_text, js_string, json_in_html, spreadsheet_cell


@pytest.mark.parametrize("raw, escaped", [
    ("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("<img src=x onerror=f()>", "&lt;img src=x onerror=f()&gt;"),
    ('"', '"'), ("'", "'"), ("${x}", "${x}"), ("网格", "网格"), (None, ""), (12, "12"),
])
def test_html_text(raw, escaped):
    assert html_text(raw) == escaped


@pytest.mark.parametrize("raw, escaped", [
    ("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&#x27;"), ("`", "&#x60;"),
    ('"><svg onload=f()>', "&quot;&gt;&lt;svg onload=f()&gt;"), (None, ""),
])
def test_html_attribute(raw, escaped):
    assert html_attribute(raw) == escaped


@pytest.mark.parametrize("raw, escaped", [
    ("\\", "\\\\"), ('"', '\\"'), ("'", "\\'"), ("`", "\\`"), ("${x}", "\\${x}"), ("$", "\\$"),
    ("</script>", "\\u003c/script\\u003e"), ("<!--", "\\u003c!--"), ("&", "\\u0026"),
    ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"),
    ("\x00", "\\u0000"), ("\x1b", "\\u001b"), ("\x7f", "\\u007f"), ("网格 1", "网格 1"), (None, ""),
])
def test_js_string(raw, escaped):
    assert js_string(raw) == escaped


def test_js_string_leaves_no_dangerous_character():
    text = "".join(chr(c) for c in range(0x80)) + "\u2028\u2029"
    out = js_string(text)
    for char in "<>&\n\r\u2028\u2029":
        assert char not in out
    # every quote, backtick and dollar is preceded by an (unescaped) backslash
    for i, char in enumerate(out):
        if char in "\"'`$":
            run = len(out[:i]) - len(out[:i].rstrip("\\"))
            assert run % 2 == 1, (i, out)


NODE = shutil.which("node") or shutil.which("nodejs")


@pytest.mark.skipif(NODE is None, reason="no node.js to evaluate the literals")
def test_js_string_reads_back_in_each_kind_of_literal():
    text = "a\\b\"c'd`e${f}g</script>\n\r\t\u2028\u2029\x00网格"
    body = js_string(text)
    script = f'console.log(JSON.stringify(["{body}", \'{body}\', `{body}`]))'
    out = subprocess.run([NODE, "-e", script], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == [text, text, text]


@pytest.mark.parametrize("raw, escaped", [
    ("<", '"\\u003c"'), (">", '"\\u003e"'), ("&", '"\\u0026"'), ("'", '"\\u0027"'),
    ("\u2028", '"\\u2028"'), ("\u2029", '"\\u2029"'), ("</script><!--", '"\\u003c/script\\u003e\\u003c!--"'),
    ({"name": "网格"}, '{"name":"网格"}'), (None, "null"),
])
def test_json_in_html(raw, escaped):
    assert json_in_html(raw) == escaped
    assert json.loads(json_in_html(raw)) == raw


@pytest.mark.parametrize("raw", ["=1+1", "+cmd", "-2+3", "@SUM(1)", "\t=1", "\r=1", "＝1+1", "＋1", "－1", "＠SUM(1)",
                                 '=HYPERLINK("http://127.0.0.1/x","y")'])
def test_spreadsheet_cell_quotes_formula_starts(raw):
    assert spreadsheet_cell(raw) == "'" + raw


@pytest.mark.parametrize("raw", ["网格", "1+1", " =1", "'=1", "", "—", None, -2, 3.5, 0])
def test_spreadsheet_cell_leaves_other_values(raw):
    assert spreadsheet_cell(raw) == raw
