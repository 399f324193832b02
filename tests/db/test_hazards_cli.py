"""``load-holidays``: an admin-loaded year takes precedence and ends the fallback."""

from __future__ import annotations

from datetime import datetime

from gridmap.clock import CHINA
from gridmap.hazards.deadlines import work_calendar


def test_load_holidays_from_csv(app, db_session, tmp_path):
    path = tmp_path / "2027.csv"
    path.write_text("日期,上班,名称\n2027-01-01,休,元旦\n2027-01-02,休,元旦\n2027-01-03,休,元旦\n"
                    "2027-01-04,否,元旦调休\n2027-01-09,班,元旦调休\n", encoding="utf-8-sig")
    runner = app.test_cli_runner()
    start = datetime(2026, 12, 31, 10, tzinfo=CHINA)
    assert work_calendar(db_session).add_working_days(start, 1).calendar == "fallback"
    result = runner.invoke(args=["load-holidays", str(path), "--year", "2027", "--source", "国办发明电"])
    assert result.exit_code == 0, result.output
    assert "放假 4 天，调休上班 1 天" in result.output
    deadline = work_calendar(db_session).add_working_days(start, 1)
    assert (deadline.due, deadline.calendar) == (datetime(2027, 1, 5, 10, tzinfo=CHINA), "official")
    bad = tmp_path / "bad.csv"
    bad.write_text("date,is_workday\n2027-13-01,0\n", encoding="utf-8")
    assert runner.invoke(args=["load-holidays", str(bad), "--year", "2027"]).exit_code != 0
    wrong_year = tmp_path / "wrong.csv"
    wrong_year.write_text("date,is_workday\n2028-01-01,0\n", encoding="utf-8")
    failed = runner.invoke(args=["load-holidays", str(wrong_year), "--year", "2027"])
    assert failed.exit_code != 0 and "不属于 2027 年" in failed.output
