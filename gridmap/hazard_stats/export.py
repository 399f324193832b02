"""The 平安报表 in words: its items with their level and colour named (the JSON the API returns),
and as a file: CSV (UTF-8 with BOM, for Excel) and XLSX (rows filled by colour). Column headings
are the labels of kind ``safety_report_column``, in catalogue order."""

from __future__ import annotations

import csv
import io
from typing import Any

from gridmap.escape import spreadsheet_cell
from gridmap.labels import label, labels
from gridmap.messages import message

RATES = ("closure_rate", "on_time_rate", "patrol_coverage", "party_visit_coverage", "satisfaction_rate")
FILLS = {"red": "F8D7DA", "yellow": "FFF3CD", "green": "D4EDDA"}
# Each column's width in the XLSX (characters), by its key in ``safety_report_column``.
WIDTHS = {"level_name": 6, "code": 18, "name": 18, "found": 8, "closed": 8, "closure_rate": 9, "on_time_rate": 11,
          "overdue": 8, "mean_handling_hours": 18, "patrol_coverage": 11, "party_visit_coverage": 13,
          "colour_name": 6, "rank": 6, "on_the_spot": 10, "satisfaction_answered": 10, "satisfaction_rate": 12}


def named(report: dict[str, Any]) -> dict[str, Any]:
    """The report with each item's ``level_name`` and ``colour_name``."""
    items = [{**item, "level_name": label(item["level"], "level"), "colour_name": label(item["colour"], "colour")}
             for item in report["items"]]
    return {**report, "items": items}


def _headings() -> list[str]:
    return list(labels("safety_report_column").values())


def _row(item: dict[str, Any]) -> list[Any]:
    return [_cell(item, key) for key in labels("safety_report_column")]


def _cell(item: dict[str, Any], key: str) -> Any:
    """A CSV/XLSX cell: area names come from import files, so no text may start a formula."""
    value = item.get(key)
    if key in RATES and value is not None:
        return f"{value * 100:.1f}%"
    return "—" if value is None else spreadsheet_cell(value)


def to_csv(report: dict[str, Any]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(_headings())
    for item in named(report)["items"]:
        writer.writerow(_row(item))
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # BOM: Excel opens Chinese CSV correctly


def to_xlsx(report: dict[str, Any]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = message("safety_report_sheet", month=report["period"])
    sheet.append(_headings())
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for item in named(report)["items"]:
        sheet.append(_row(item))
        fill = PatternFill("solid", fgColor=FILLS[item["colour"]])
        for cell in sheet[sheet.max_row]:
            cell.fill = fill
    for index, key in enumerate(labels("safety_report_column"), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = WIDTHS[key]
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
