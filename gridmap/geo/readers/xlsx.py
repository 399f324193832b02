"""Excel workbooks (.xlsx): the first worksheet; numbers as text without a trailing ".0" when
integral (phone numbers and codes), dates as ISO; a one-cell title row above the header is
skipped. openpyxl parses the XML through defusedxml."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gridmap.geo import safe_open
from gridmap.geo.file_errors import EmptyFileError, FileReadError, GeoFileError
from gridmap.geo.readers.common import cell_str, unique_names


def _header_index(rows: list[tuple]) -> int:
    """Index of the header among the first rows: skips blank and one-cell title rows."""
    filled = [sum(1 for v in r if v is not None and str(v).strip() != "") for r in rows]
    for i, count in enumerate(filled):
        if count == 0:
            continue
        if count == 1 and any(c >= 2 for c in filled[i + 1 :]):
            continue  # a title such as "莲都区某社区住户表" above the real header
        return i
    return 0


def _rows(path: str) -> tuple[int, list, list[tuple]]:
    """The header's index among the sheet's rows, the header, and the rows below it."""
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)  # XML through defusedxml
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - openpyxl raises zip, XML, Key and Value errors
        raise safe_open.refused_xml() if safe_open.is_refused_xml(exc) else FileReadError("xlsx_invalid") from None
    try:
        if not wb.worksheets:
            raise EmptyFileError()
        ws = wb.worksheets[0]
        ws.reset_dimensions()  # trust the cells, not a possibly wrong <dimension>
        rows = ws.iter_rows(values_only=True)
        head: list[tuple] = []
        for row in rows:
            head.append(row)
            if len(head) >= 6:
                break
        if not head:
            raise EmptyFileError()
        h = _header_index(head)
        body = head[h + 1 :]
        body.extend(rows)
        return h, list(head[h]), body
    except (GeoFileError, MemoryError):
        raise
    except Exception as exc:  # noqa: BLE001
        raise safe_open.refused_xml() if safe_open.is_refused_xml(exc) else FileReadError("xlsx_unreadable") from None
    finally:
        wb.close()


def read(path: str) -> pd.DataFrame:
    h, header, body = _rows(path)
    width = max([len(header)] + [len(r) for r in body])
    header = header + [None] * (width - len(header))
    while width > 0 and header[width - 1] is None and all(len(r) < width or r[width - 1] is None for r in body):
        width -= 1  # trailing columns with neither header nor data
    if width == 0:
        raise EmptyFileError()
    keep = [i for i, r in enumerate(body) if any(v is not None and v != "" for v in r)]
    if not keep:
        raise EmptyFileError()
    names = unique_names(header[:width])
    columns = {}
    for j, name in enumerate(names):
        columns[name] = np.fromiter(
            (cell_str(body[i][j]) if j < len(body[i]) else "" for i in keep), dtype=object, count=len(keep)
        )
    frame = pd.DataFrame(columns, index=pd.Index(keep, dtype=np.int64) if len(keep) != len(body) else None)
    frame.attrs["header_row"] = h + 1
    return frame
