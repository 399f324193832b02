"""CSV (.csv): UTF-8 (with or without BOM), else GB18030 (Excel's Chinese CSV); the separator
sniffed from the header line among , TAB ; | . Values are not stripped or converted.

``read`` parses the whole file; ``read_parts`` parses it a few megabytes at a time (each
part cut at a line end outside quotes, parsed with the header line in front), so a file of
millions of rows is never held in memory whole.
"""

from __future__ import annotations

import codecs
import io
import os
import re
from collections.abc import Iterator

import pandas as pd

from gridmap.geo.file_errors import EmptyFileError, FileReadError
from gridmap.geo.readers.common import unique_names

_CHUNK = 1 << 20
PART_BYTES = 8 << 20  # ~80,000 rows of a typical household file per part
_FIELDS_RE = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def _utf8_name(path: str) -> str:
    """utf-8-sig only when the file starts with a BOM: pandas parses plain utf-8 natively, ~15% faster."""
    with open(path, "rb") as f:
        return "utf-8-sig" if f.read(3) == codecs.BOM_UTF8 else "utf-8"


def _encoding(path: str) -> str:
    """UTF-8 when the whole file is valid UTF-8, else gb18030 (Excel's Chinese CSV)."""
    for encoding in (_utf8_name(path), "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with open(path, "rb") as f:
                while chunk := f.read(_CHUNK):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            continue
    raise FileReadError("csv_encoding_unknown")


def _separator(path: str, encoding: str) -> str:
    with open(path, encoding=encoding, newline="") as f:
        first = f.readline()
    counts = {sep: first.count(sep) for sep in (",", "\t", ";", "|")}
    best = max(counts, key=lambda s: counts[s])
    return best if counts[best] > 0 else ","


def read(path: str) -> pd.DataFrame:
    """Parse as UTF-8 first: pandas decodes every field strictly, so a clean parse means the
    file is UTF-8 without a separate pass over it. A decoding or parse error falls back to
    the full scan of _encoding (a GBK byte can look like a separator to a UTF-8 parse)."""
    if os.path.getsize(path) == 0:
        raise EmptyFileError()
    utf8 = _utf8_name(path)
    try:
        frame = _parse(path, utf8, _separator(path, utf8))
    except (UnicodeDecodeError, FileReadError) as error:
        encoding = _encoding(path)
        if encoding == utf8:
            raise error if isinstance(error, FileReadError) else FileReadError("csv_syntax") from None
        frame = _parse(path, encoding, _separator(path, encoding))
    frame.columns = unique_names([str(c) if not str(c).startswith("Unnamed: ") else "" for c in frame.columns])
    frame.attrs["header_row"] = 1
    return frame


def read_parts(path: str) -> Iterator[pd.DataFrame]:
    """The file's rows a part at a time (same columns, values and errors as ``read``). Each
    frame's index continues the previous one's: row positions among data rows, as ``read``
    gives them. The encoding is settled first by a scan of the whole file (a part cannot
    change it half-way); the separator from the header line."""
    if os.path.getsize(path) == 0:
        raise EmptyFileError()
    encoding = _encoding(path)
    sep = _separator(path, encoding)
    names: list[str] | None = None
    rows = lines = 0
    dummy = b""
    for header, body in _cut(path, PART_BYTES):
        try:
            frame = _parse(io.BytesIO(header + dummy + body), encoding, sep)
        except FileReadError as error:
            if error.why != "csv_row_width":
                raise
            line = str(int(error.why_params["line"]) + lines - bool(dummy))  # a part counts from its header
            raise FileReadError("csv_row_width", **{**error.why_params, "line": line}) from None
        if names is None:
            names = unique_names([str(c) if not str(c).startswith("Unnamed: ") else "" for c in frame.columns])
            # Later parts start with a well-formed row of empty fields: pandas would take a first
            # row one field too wide for an index column instead of reporting its width.
            dummy = ('""' + sep * (len(names) - 1) + "\n").encode(encoding)
        else:
            frame = frame.iloc[1:]
        frame.columns = names
        frame.index = pd.RangeIndex(rows, rows + len(frame))
        frame.attrs["header_row"] = 1
        rows += len(frame)
        lines += body.count(b"\n")
        yield frame


def _cut(path: str, part_bytes: int) -> Iterator[tuple[bytes, bytes]]:
    """(header, part) pairs: the header is the file's first non-blank record (with any blank
    lines before it); each part ends at a line end outside quotes (an even number of quote
    characters before it: neither byte occurs inside a GB18030 or UTF-8 character)."""
    header: bytes | None = None
    carry = b""
    yielded = False
    with open(path, "rb") as handle:
        while True:
            block = handle.read(part_bytes)
            data = carry + block
            if header is None:
                stop = _header_end(data)
                if stop < 0 and block:
                    carry = data
                    continue
                header, data = (data, b"") if stop < 0 else (data[:stop], data[stop:])
            if not block:
                if data or not yielded:
                    yield header, data
                return
            stop = _last_line_end(data)
            if stop > 0:
                yield header, data[:stop]
                yielded = True
                data = data[stop:]
            carry = data


def _header_end(data: bytes) -> int:
    """Just past the first non-blank record's line end (-1: not in ``data`` yet)."""
    start = 0
    while True:
        newline = data.find(b"\n", start)
        while newline >= 0 and data.count(b'"', start, newline) % 2:
            newline = data.find(b"\n", newline + 1)
        if newline < 0:
            return -1
        if data[start:newline].strip():
            return newline + 1
        start = newline + 1


def _last_line_end(data: bytes) -> int:
    """Just past the last line end outside quotes (-1: none)."""
    newline = data.rfind(b"\n")
    before = data.count(b'"', 0, newline) if newline >= 0 else 0
    while newline >= 0:
        if before % 2 == 0:
            return newline + 1
        previous = data.rfind(b"\n", 0, newline)
        before -= data.count(b'"', max(previous, 0), newline)
        newline = previous
    return -1


def _parse(source, encoding: str, sep: str) -> pd.DataFrame:
    try:
        return pd.read_csv(
            source,
            sep=sep,
            dtype=str,
            encoding=encoding,
            keep_default_na=False,
            na_filter=False,
            engine="c",
            skip_blank_lines=True,
        )
    except pd.errors.EmptyDataError:
        raise EmptyFileError() from None
    except pd.errors.ParserError as exc:
        m = _FIELDS_RE.search(str(exc))
        if m:
            expected, line, saw = m.groups()
            raise FileReadError("csv_row_width", line=line, saw=saw, expected=expected) from None
        raise FileReadError("csv_syntax") from None
