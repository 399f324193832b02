"""``load-holidays``: an administrator loads a year's official holiday list (CSV)."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from gridmap.errors import AppError

TRUE = {"1", "true", "yes", "y", "是", "班", "上班", "workday"}
FALSE = {"0", "false", "no", "n", "否", "休", "放假", "holiday"}


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
        day = get.get("date") or get.get("日期") or ""
        flag = (get.get("is_workday") or get.get("上班") or get.get("类型") or "").lower()
        try:
            parsed = date.fromisoformat(day)
        except ValueError:
            raise click.BadParameter(f"第 {number} 行：日期“{day}”应为 YYYY-MM-DD") from None
        if flag not in TRUE | FALSE:
            raise click.BadParameter(f"第 {number} 行：上班/放假“{flag}”应为 1/0、是/否、班/休")
        rows.append((parsed, flag in TRUE, get.get("name") or get.get("名称") or ""))
    return rows


@click.command("load-holidays")
@with_appcontext
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--year", required=True, type=int)
@click.option("--source", default="", help="来源，如国务院办公厅通知文号")
def load_holidays_command(path: str, year: int, source: str) -> None:
    """Load YEAR's official holidays and make-up workdays; they take precedence over chinese_calendar."""
    from gridmap.hazards.service import load_holidays

    session = current_app.extensions["gridmap.db"].session()
    try:
        result = load_holidays(session, year, read_holiday_csv(path), source or Path(path).name)
    except AppError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"{year} 年：放假 {result['holidays']} 天，调休上班 {result['workdays']} 天，已导入。")


@click.command("hazard-heatmap-refresh")
@with_appcontext
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="起始日期（含），默认全部")
@click.option("--until", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="截止日期（不含），默认全部")
def heatmap_refresh_command(since, until) -> None:
    """Rebuild the heatmap's daily cells and zoom pyramid for [SINCE, UNTIL) from the hazards (after bulk loads)."""
    from gridmap.hazards.heatmap import refresh_daily, refresh_rollup

    session = current_app.extensions["gridmap.db"].session()
    try:
        result = refresh_daily(session, since.date() if since else None, until.date() if until else None)
        pyramid = refresh_rollup(session, since.date() if since else None, until.date() if until else None)
    finally:
        session.close()
    click.echo(f"热力图按日预聚合已重建：{result['cells']} 个格网日（删除旧的 {result['deleted']} 个）；"
               f"分级汇总（按年、月、日）{pyramid['rows']} 行。")


@click.command("hazard-retention")
@click.option("--keep-months", type=click.IntRange(1, 600), default=None,
              help="保留期（月），默认取 GRIDMAP_HAZARD_RETENTION_MONTHS，否则 36")
@with_appcontext
def hazard_retention_command(keep_months: int | None) -> None:
    """Remove descriptions, photos, notes and people from hazards finished before the retention period."""
    import os

    from gridmap.hazards.retention import redact_finished

    months = keep_months or int(os.environ.get("GRIDMAP_HAZARD_RETENTION_MONTHS", "36"))
    removed = redact_finished(current_app.extensions["gridmap.db"].session(), months)
    click.echo(f"已清除 {removed['hazards']} 件已办结问题的个人信息（照片 {removed['photos']} 张，"
               f"处理意见 {removed['notes']} 条），保留期 {months} 个月。")
