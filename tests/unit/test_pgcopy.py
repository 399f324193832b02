"""Binary COPY encoding, checked byte for byte against struct-packed rows."""

from __future__ import annotations

import struct

import numpy as np
import pandas as pd
import pytest

from gridmap import pgcopy


def _field(payload: bytes | None) -> bytes:
    return struct.pack("!i", -1) if payload is None else struct.pack("!i", len(payload)) + payload


def test_rows_are_laid_out_as_postgresql_reads_them():
    columns = [
        pgcopy.text(np.array(["甲", "", "b\tc"], dtype=object), empty_is_null=True),
        pgcopy.int4(np.array([7, 0, -2]), null=np.array([False, True, False])),
        pgcopy.int2(np.array([1, 2, 3])),
        pgcopy.text_array(pd.Series(["x|乙", "", "x|乙"])),
        pgcopy.point(np.array([1.5, 0, 0]), np.array([-2.0, 0, 0]), 4326),
    ]
    tags = struct.pack("!iiiii", 1, 0, 25, 2, 1) + _field(b"x") + _field("乙".encode())
    empty = struct.pack("!iii", 0, 0, 25)
    point = struct.pack("<BII", 1, 0x20000001, 4326)
    rows = [
        [_field("甲".encode()), _field(struct.pack("!i", 7)), _field(struct.pack("!h", 1)), _field(tags),
         _field(point + struct.pack("<dd", 1.5, -2.0))],
        [_field(None), _field(None), _field(struct.pack("!h", 2)), _field(empty),
         _field(point + struct.pack("<dd", 0, 0))],
        [_field(b"b\tc"), _field(struct.pack("!i", -2)), _field(struct.pack("!h", 3)), _field(tags),
         _field(point + struct.pack("<dd", 0, 0))],
    ]
    expected = [b"".join([struct.pack("!h", 5), *row]) for row in rows]
    assert bytes(pgcopy.encode(columns)) == pgcopy.HEADER + b"".join(expected) + pgcopy.TRAILER
    second = [pgcopy.rows(c, slice(1, 2)) for c in columns]
    assert bytes(pgcopy.encode(second)) == pgcopy.HEADER + expected[1] + pgcopy.TRAILER
    picked = [pgcopy.rows(c, np.array([True, False, True])) for c in columns]
    assert bytes(pgcopy.encode(picked)) == pgcopy.HEADER + expected[0] + expected[2] + pgcopy.TRAILER


def test_stream_signature_and_trailer_are_postgresql_s():
    # COPY BINARY: the 11-byte signature, flags 0, header extension 0 ... the int16 -1 trailer.
    stream = bytes(pgcopy.encode([pgcopy.text(np.array(["x"], dtype=object))]))
    assert stream.startswith(b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8) and stream.endswith(b"\xff\xff")


def test_text_with_nul_is_refused():
    with pytest.raises(ValueError):
        pgcopy.text(np.array(["a\x00b", "c"], dtype=object))


def test_no_rows_is_an_empty_stream():
    assert bytes(pgcopy.encode([pgcopy.text(np.array([], dtype=object))])) == pgcopy.HEADER + pgcopy.TRAILER
