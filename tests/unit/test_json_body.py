"""An operation's JSON body reads the same whichever parser read it (gridmap.apidoc._json_body:
orjson first, ``json`` for what orjson refuses or reads otherwise)."""

from __future__ import annotations

import json
import math

import pytest
from flask import Flask

from gridmap.apidoc import _json_body
from gridmap.errors import BadRequest

DOCUMENTS = [
    b'{"a": 1, "a": 2}', b"-0", b"1e400", b"[1.5e-320, 0.1, 1E2]", b'"\\ud800"', b"123456789012345678901234567890",
    b"-9223372036854775809", b"18446744073709551615", b'{"x": NaN, "y": -Infinity}', b" {} ", b"1.0",
    b'{"code": "3311020010010010000001"}', '{"地址": "丽阳街8号"}'.encode(), '{"地址": "丽阳街"}'.encode("utf-16"),
    '{"a": [1]}'.encode("utf-32-le"), b"\xef\xbb\xbf{}", b"[" * 50 + b"]" * 50,
]


def _same(a, b) -> bool:
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


@pytest.mark.parametrize("data", DOCUMENTS)
def test_a_body_reads_as_json_reads_it(data):
    app = Flask(__name__)
    with app.test_request_context(data=data, content_type="application/json"):
        got = _json_body()
    assert _same(got, json.loads(data))


@pytest.mark.parametrize("data", [b"", b"{", b"{'a': 1}", b"\xff\xfe\x00", b"[1,]"])
def test_no_json_is_a_400(data):
    app = Flask(__name__)
    with app.test_request_context(data=data, content_type="application/json"), pytest.raises(BadRequest):
        _json_body()
