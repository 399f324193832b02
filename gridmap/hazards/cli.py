"""``load-holidays``: an administrator loads a year's official holiday list (CSV);
``hazard-retention``: finished hazards lose their personal data after the retention period."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from gridmap.errors import AppError
from gridmap.messages import message

# What a cell of the holiday CSV may say, in English or Chinese.
WORKDAY_ALIASES = {"1", "true", "yes", "y", "是", "班", "上班", "workday"}
HOLIDAY_ALIASES = {"0", "false", "no", "n", "否", "休", "放假", "holiday"}
# The columns' names: date, whether it is a working day, the holiday's name.
DATE_ALIASES = ("date", "日期")
WORKDAY_COLUMN_ALIASES = ("is_workday", "上班", "类型")
NAME_ALIASES = ("name", "名称")


def _first(row: dict[str, str], names: tuple[str, ...]) -> str:
    return next((row[n] for n in names if row.get(n)), "")


def read_holiday_csv(path: str | Path) -> list[tuple[date, bool, str]]:
    """Rows ``date,is_workday,name`` (or 日期,上班,名称); UTF-8 with or without BOM, or GBK."""
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("gbk")
    rows = []
    for number, row in enumerate(csv.DictReader(text.splitlines()), start=2):
        get = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
        day = _first(get, DATE_ALIASES)
        flag = _first(get, WORKDAY_COLUMN_ALIASES).lower()
        try:
            parsed = date.fromisoformat(day)
        except ValueError:
            raise click.BadParameter(message("holiday_csv_bad_date", row=number, day=day)) from None
        if flag not in WORKDAY_ALIASES | HOLIDAY_ALIASES:
            raise click.BadParameter(message("holiday_csv_bad_flag", row=number, flag=flag))
        rows.append((parsed, flag in WORKDAY_ALIASES, _first(get, NAME_ALIASES)))
    return rows


@click.command("load-holidays")
@with_appcontext
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--year", required=True, type=int)
@click.option("--source", default="", help=message("cli_help_holiday_source"))
def load_holidays_command(path: str, year: int, source: str) -> None:
    """Load YEAR's official holidays and make-up workdays; they take precedence over chinese_calendar."""
    from gridmap.hazards.deadlines import load_holidays

    session = current_app.extensions["gridmap.db"].session()
    try:
        result = load_holidays(session, year, read_holiday_csv(path), source or Path(path).name)
    except AppError as error:
        raise click.ClickException(error.message) from None
    click.echo(message("holidays_loaded", year=year, holidays=result["holidays"], workdays=result["workdays"]))


@click.command("hazard-retention")
@click.option("--keep-months", type=click.IntRange(1, 600), default=None, help=message("cli_help_keep_months"))
@with_appcontext
def hazard_retention_command(keep_months: int | None) -> None:
    """Remove descriptions, photos, notes and people from hazards finished before the retention period."""
    from gridmap.hazards.retention import redact_finished

    months = keep_months or current_app.config["GRIDMAP"].hazard_retention_months
    removed = redact_finished(current_app.extensions["gridmap.db"].session(), months)
    click.echo(message("hazards_redacted", hazards=removed["hazards"], photos=removed["photos"],
                       notes=removed["notes"], months=months))
