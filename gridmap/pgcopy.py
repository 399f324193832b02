"""PostgreSQL binary COPY data built column-wise with numpy: no per-row Python.

A column is every row's payload as (blob, starts, lengths): row i's bytes are
``blob[starts[i]:starts[i] + lengths[i]]``, and a length of -1 is SQL NULL. ``encode``
lays a slice of rows out in the binary COPY format (header; per row a field count
and, per field, a big-endian int32 length and the bytes; trailer) with a few
vectorised gathers, so a million rows cost milliseconds per column, the server
receives numbers and geometries in their binary forms (int4recv, geometry_recv
with WKB) instead of parsing text, and nothing needs CSV quoting or escaping.

Every bulk write (the household, party-member, key-place and area imports) goes through
``copy`` (or ``copy_chunks``, which encodes the next chunk while the server ingests this one).
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Self

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from gridmap.db import raw_cursor

# ``progress(stage, done, total)``: stage is a code (labels kind "import_stage").
Progress = Callable[[str, int, int], None]
COPY_CHUNK = 100_000
FIRST_COPY_CHUNK = 20_000

HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
TRAILER = struct.pack("!h", -1)
TEXT_OID = 25
EWKB_POINT = np.dtype([("order", "u1"), ("type", "<u4"), ("srid", "<u4"), ("x", "<f8"), ("y", "<f8")])
EWKB_POINT_WITH_SRID = 0x20000001


@dataclass
class Column:
    blob: np.ndarray  # uint8
    starts: np.ndarray  # int64 per row
    lengths: np.ndarray  # int64 per row, -1 = NULL
    width: int = 0  # fixed-width forms (numbers, points): blob is rows x width, laid out in 2-D


def _fixed(data: np.ndarray, null: np.ndarray | None) -> Column:
    """Rows of a fixed-width binary form: ``data`` is (n, width) uint8."""
    n, width = data.shape
    lengths = np.full(n, width, dtype=np.int64)
    if null is not None:
        lengths[null] = -1
    return Column(np.ascontiguousarray(data).reshape(-1), np.arange(n, dtype=np.int64) * width, lengths, width)


def int4(values: np.ndarray, null: np.ndarray | None = None) -> Column:
    return _fixed(np.asarray(values).astype(">i4").view(np.uint8).reshape(-1, 4), null)


def int2(values: np.ndarray, null: np.ndarray | None = None) -> Column:
    return _fixed(np.asarray(values).astype(">i2").view(np.uint8).reshape(-1, 2), null)


def point(lon: np.ndarray, lat: np.ndarray, srid: int) -> Column:
    """Points as little-endian EWKB with their SRID (what geometry_recv reads)."""
    rows = np.empty(len(lon), dtype=EWKB_POINT)
    rows["order"], rows["type"], rows["srid"] = 1, EWKB_POINT_WITH_SRID, srid
    rows["x"], rows["y"] = lon, lat
    return _fixed(rows.view(np.uint8).reshape(-1, EWKB_POINT.itemsize), None)


def geometry(geoms: np.ndarray, srid: int) -> Column:
    """Any geometries as EWKB with their SRID (None is NULL)."""
    return binary(shapely.to_wkb(shapely.set_srid(np.asarray(geoms, dtype=object), srid), include_srid=True))


def binary(values: np.ndarray) -> Column:
    """Byte strings as they are (None is NULL)."""
    present = np.array([v is not None for v in values], dtype=bool)
    lengths = np.array([len(v) if v is not None else -1 for v in values], dtype=np.int64)
    sizes = np.maximum(lengths, 0)
    starts = (np.cumsum(sizes) - sizes).astype(np.int64)
    blob = np.frombuffer(b"".join(v for v, p in zip(values, present) if p), dtype=np.uint8)
    return Column(blob, starts, lengths)


def text(values: np.ndarray, empty_is_null: bool = False) -> Column:
    """Strings as UTF-8. All the strings are joined with NUL (which PostgreSQL text
    cannot hold, so the uploads have none) and encoded at once; the NULs mark the cuts."""
    values = np.asarray(values, dtype=object)
    blob = np.frombuffer("\x00".join(values).encode("utf-8"), dtype=np.uint8)
    cuts = np.flatnonzero(blob == 0)
    if len(cuts) != max(len(values) - 1, 0):
        raise ValueError("text for PostgreSQL cannot contain NUL characters")
    starts = np.concatenate(([0], cuts + 1)).astype(np.int64)[:len(values)]
    ends = np.concatenate((cuts, [len(blob)])).astype(np.int64)[:len(values)]
    lengths = ends - starts
    if empty_is_null:
        lengths[lengths == 0] = -1
    return Column(blob, starts, lengths)


def text_array(joined: pd.Series) -> Column:
    """``text[]`` from 'a|b' strings ('' = empty array). Tag lists repeat a lot: each
    distinct list is encoded once (array_recv form) and rows point at it."""
    codes, distinct = pd.factorize(joined, sort=False, use_na_sentinel=False)
    bodies = []
    for value in distinct:
        elements = [e.encode("utf-8") for e in value.split("|")] if value else []
        if not elements:
            bodies.append(struct.pack("!iii", 0, 0, TEXT_OID))
            continue
        body = struct.pack("!iiiii", 1, 0, TEXT_OID, len(elements), 1)
        bodies.append(body + b"".join(struct.pack("!i", len(e)) + e for e in elements))
    sizes = np.array([len(b) for b in bodies], dtype=np.int64)
    offsets = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64) if len(bodies) else sizes
    blob = np.frombuffer(b"".join(bodies), dtype=np.uint8)
    return Column(blob, offsets[codes], sizes[codes])


def _gather(out: np.ndarray, destinations: np.ndarray, blob: np.ndarray, starts: np.ndarray,
            lengths: np.ndarray) -> None:
    """out[destinations[i] + k] = blob[starts[i] + k] for k < lengths[i], all rows at once:
    byte j of the run belongs to row i, at offset j - (run start of row i) within it."""
    total = int(lengths.sum())
    if total == 0:
        return
    index = np.int32 if max(len(out), len(blob)) < 2**31 else np.int64
    shift = (np.cumsum(lengths) - lengths).astype(index)
    run = np.arange(total, dtype=index)
    out[run + np.repeat(destinations.astype(index) - shift, lengths)] = \
        blob[run + np.repeat(starts.astype(index) - shift, lengths)]


def _fixed_rows(out: np.ndarray, destinations: np.ndarray, column: Column) -> None:
    """A fixed-width column's non-NULL rows written as one 2-D block (a third of _gather's time)."""
    present = column.lengths >= 0
    data = column.blob.reshape(-1, column.width)[column.starts // column.width]
    if not present.all():
        data, destinations = data[present], destinations[present]
    out[destinations[:, None] + np.arange(column.width)] = data


def encode(columns: list[Column]) -> memoryview:
    """All rows of ``columns`` as one binary COPY stream (``rows`` picks a chunk)."""
    n = len(columns[0].lengths)
    lengths = [c.lengths for c in columns]
    payloads = [np.maximum(length, 0) for length in lengths]
    row_sizes = 2 + 4 * len(columns) + sum(payloads, np.zeros(n, dtype=np.int64))
    row_starts = len(HEADER) + np.cumsum(row_sizes) - row_sizes
    out = np.empty(len(HEADER) + int(row_sizes.sum()) + len(TRAILER), dtype=np.uint8)
    out[:len(HEADER)] = np.frombuffer(HEADER, dtype=np.uint8)
    out[len(out) - len(TRAILER):] = np.frombuffer(TRAILER, dtype=np.uint8)
    out[row_starts] = 0
    out[row_starts + 1] = len(columns)
    position = row_starts + 2
    word = np.arange(4)
    for column, length, payload in zip(columns, lengths, payloads):
        out[position[:, None] + word] = length.astype(">i4").view(np.uint8).reshape(-1, 4)
        if column.width:
            _fixed_rows(out, position + 4, column)
        else:
            _gather(out, position + 4, column.blob, column.starts, payload)
        position = position + 4 + payload
    return memoryview(out)


def rows(column: Column, which: np.ndarray | slice) -> Column:
    """Some rows of ``column``: a boolean mask or a slice (the blob is shared, not copied)."""
    return Column(column.blob, column.starts[which], column.lengths[which], column.width)


def copy_chunks(session: Session, table: str, names: tuple[str, ...], total: int,
                encode_chunk: Callable[[int, int], memoryview], progress: Progress | None = None,
                stage: str = "") -> None:
    """Binary COPY of rows [0, total) into ``table`` in chunks. ``encode_chunk(start, stop)``
    builds the next chunk in a thread while the server ingests this one (psycopg2 releases
    the GIL while it waits), so Python and PostgreSQL work on the two cores at once."""
    if total == 0:
        return
    statement = f"COPY {table} ({', '.join(names)}) FROM STDIN WITH (FORMAT binary)"
    # A small first chunk: the server waits for it, nothing overlaps its encoding.
    bounds = [0, *range(min(FIRST_COPY_CHUNK, total), total, COPY_CHUNK), total]
    with raw_cursor(session) as cursor, ThreadPoolExecutor(max_workers=1) as encoder:
        pending = encoder.submit(encode_chunk, bounds[0], bounds[1])
        for index in range(1, len(bounds)):
            chunk = pending.result()
            if index + 1 < len(bounds):
                pending = encoder.submit(encode_chunk, bounds[index], bounds[index + 1])
            cursor.copy_expert(statement, io.BytesIO(chunk), size=len(chunk))  # one read: no GIL per 8 kB
            if progress is not None:
                progress(stage, bounds[index], total)


class Pipe:
    """Binary COPY streams sent one after another into ``table``, each in a thread while the
    caller builds the next (psycopg2 releases the GIL while it waits for the server): at most
    one stream in flight. ``wait`` before using the session for anything else; leave the
    ``with`` block (it waits) before the transaction ends."""

    def __init__(self, session: Session, table: str, names: tuple[str, ...]):
        self.statement = f"COPY {table} ({', '.join(names)}) FROM STDIN WITH (FORMAT binary)"
        self.cursor = raw_cursor(session)
        self.sender = ThreadPoolExecutor(max_workers=1)
        self.pending = None

    def send(self, stream: memoryview) -> None:
        self.wait()
        self.pending = self.sender.submit(self.cursor.copy_expert, self.statement, io.BytesIO(stream),
                                          size=len(stream))

    def wait(self) -> None:
        pending, self.pending = self.pending, None
        if pending is not None:
            pending.result()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind, error, trace) -> None:
        try:
            if kind is None:
                self.wait()
            elif self.pending is not None:
                self.pending.exception()  # the error already raised wins; the stream's is dropped
        finally:
            self.sender.shutdown()
            self.cursor.close()


def temp_table(session: Session, name: str, ddl: str) -> None:
    """Create the temporary table ``name`` by ``ddl`` (``ON COMMIT DROP``), dropping one an
    earlier statement of this transaction left."""
    session.execute(sql_text(f"DROP TABLE IF EXISTS {name}"))
    session.execute(sql_text(ddl))


def staged(session: Session, name: str, ddl: str, columns: dict[str, Column], sql: str):
    """Rows through a fresh temporary table into their owner's table: ``ddl`` creates ``name``,
    the columns are COPYed into it, and ``sql`` (an upsert from it) runs; its one result row."""
    temp_table(session, name, ddl)
    copy(session, name, columns)
    return session.execute(sql_text(sql)).one()


def copy(session: Session, table: str, columns: dict[str, Column]) -> None:
    """Binary COPY of whole columns (name → Column, all of one length) into ``table``."""
    names = tuple(columns)
    total = len(next(iter(columns.values())).lengths) if columns else 0

    def encode_chunk(start: int, stop: int) -> memoryview:
        return encode([rows(columns[name], slice(start, stop)) for name in names])

    copy_chunks(session, table, names, total, encode_chunk)
